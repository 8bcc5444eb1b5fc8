//! Recurring schedules: cron-expression job templates in the `schedules` table, read in an IANA
//! time zone, each of whose slots is recorded once in `schedule_slots`.
//!
//! # Slots
//!
//! A schedule's cron expression (5 fields, minutes first, or 6 with seconds first, and an
//! optional 7th, the year; `croner` syntax) names wall-clock times of its `time_zone`, an IANA name such as `Europe/Paris`
//! (empty means `UTC`; an unknown name is [`SchedulerError::Invalid`]). Each occurrence is a
//! *slot*, identified by its local wall-clock time `slot_local` (`YYYY-MM-DDTHH:MM:SS` in the
//! schedule's zone) and due at the instant `slot_at`. `(schedule, slot_local)` is the primary
//! key of `schedule_slots`: each local slot is recorded, and fires, at most once. Local times
//! only move forward except in a fall-back night's repeated hour, so a slot whose `slot_local`
//! is not later than the latest recorded one is that hour's second pass: the firer passes over
//! it (the primary key is the backstop) and does not count it as missed either.
//!
//! Daylight saving time, as `croner` resolves it and this module keeps it:
//!
//! * **Fall back** (a local hour repeats; Paris, 2026-10-25, 02:00–02:59 twice): a fixed-time
//!   pattern (one value each in the second, minute and hour fields, as `0 30 2 * * *`) yields
//!   the earlier instant only. An interval pattern (a wildcard, step, range or list in one of
//!   them, as `0 */30 * * * *`) yields the repeated times twice; the second pass is passed
//!   over (no record, no job) while `next_run_at` moves on. So every local slot fires once,
//!   and that day has 48 half-hour records.
//! * **Spring forward** (a local hour is skipped; Paris, 2026-03-29, 02:00–02:59): a fixed-time
//!   slot inside the gap moves to the first instant after it (`0 30 2 * * *` fires at 03:00
//!   local that day, `slot_local` `2026-03-29T03:00:00`); interval occurrences inside the gap
//!   do not exist (`0 */30 * * * *` has 46 slots that day).
//!
//! # Firing
//!
//! [`fire_due_schedules_at`] locks due rows (`enabled AND next_run_at <= now`, oldest first, at
//! most `limit`, `FOR UPDATE SKIP LOCKED`) and resolves each one's due slots in one
//! transaction: for every slot its record (an insert that yields to the primary key) and its
//! job ([`enqueue_many_tx`]), then the conditional advance `UPDATE … WHERE next_run_at = <old>`.
//! The job carries the template's args (a JSON object) plus
//! `"slot": {"at": <RFC 3339 UTC>, "local": <slot_local>, "late": <bool>, "missed": <n>}` and
//! the idempotency key `schedule:<name>:<slot_local>[<time_zone>]` (the zone bracketed as in
//! RFC 9557), so even without the record a second job for one local slot cannot be made.
//! However many scheduler replicas run, a slot fires once. [`fire_due_schedules`] is the same
//! with the database's `now()`.
//!
//! # Catch-up
//!
//! A due slot is *on time* while `now - slot_at <= late_after` (default 60 s, at least 1 s),
//! else *late*: every scheduler was down when it fell due. On-time slots each fire (outcome
//! `fired`). The late ones, always the oldest of the due slots, are resolved together:
//!
//! * when an on-time slot follows them, it fires as usual and the late ones are folded into its
//!   record (a run is happening now anyway, whatever the policy);
//! * otherwise [`CatchUp`] decides the fate of the latest late slot: [`CatchUp::RunLateOnce`]
//!   fires it once (outcome `fired_late`, `slot.late = true`), [`CatchUp::Skip`] records it
//!   `skipped` with no job. The earlier late slots are folded into that record.
//!
//! Folded slots get no record of their own: the record's `missed` counts them and
//! `first_missed_at` is the earliest. Either way `next_run_at` moves to the first slot after
//! `now`. A schedule three hours down on an hourly slot (last fired 10:00, back at 13:30) gets
//! one record for 13:00 with `missed = 2` (11:00, 12:00) and fires next at 14:00.
//!
//! Bounds, so that a `* * * * * *` schedule down for a month costs no 2.6 million steps: the
//! firer steps through at most [`MISSED_COUNT_CAP`] late slots and then jumps to the last one
//! (a backward search from `now - late_after`), so `missed` is exact up to the cap and is the
//! cap beyond it. And it fires at most [`MAX_FIRES_PER_CALL`] on-time slots of one schedule per
//! call, leaving the rest due for the next call.
//!
//! # Changing a schedule
//!
//! [`upsert_schedule_at`] creates a schedule whose first slot is the next after `now`. Replacing
//! one that was and stays enabled with the same cron and zone keeps its pending `next_run_at`,
//! so a policy that re-applies its schedules loses no slot; any other replacement starts at the
//! next slot after `now`. A changed zone also drops the records whose `slot_local` is not
//! earlier than the new first slot's: they name wall-clock times of the old zone that the new
//! zone has yet to reach, and would otherwise stand in for its slots. [`set_schedule_enabled`]
//! re-enabling a schedule starts it at the next slot after `now`: the disabled time is not
//! missed. A row the firer cannot use (its cron, zone or args no longer parse) is disabled, with
//! an error log, and the others still fire; so is one whose cron has no slot left (a pattern
//! limited to past years), once its last slot is resolved.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{Datelike as _, Timelike as _};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::enqueue::{enqueue_many_tx, validate};
use crate::error::{Result, SchedulerError};
use crate::job::NewJob;

/// The zone of a schedule that names none.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// How long a due slot stays on time unless the schedule says otherwise.
pub const DEFAULT_LATE_AFTER: Duration = Duration::from_secs(60);

/// The smallest `late_after` accepted: the firer polls every second by default, so a shorter
/// window would make every slot late.
pub const MIN_LATE_AFTER: Duration = Duration::from_secs(1);

/// At most this many late slots are stepped through (and counted in `missed`) per outage.
pub const MISSED_COUNT_CAP: i32 = 100_000;

/// At most this many on-time slots of one schedule are fired per call of the firer.
pub const MAX_FIRES_PER_CALL: usize = 1_000;

/// The key of the job args that describes the slot (reserved in templates).
pub const SLOT_ARG: &str = "slot";

/// What the firer does with due slots that are late (every scheduler was down when they fell
/// due). Stored in `schedules.catch_up`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CatchUp {
    /// Fire the latest late slot once (outcome `fired_late`); fold the earlier ones into its
    /// record.
    #[default]
    RunLateOnce,
    /// Fire nothing: record the latest late slot as `skipped`, folding the earlier ones into it.
    Skip,
}

impl CatchUp {
    /// Every policy.
    pub const ALL: [CatchUp; 2] = [CatchUp::RunLateOnce, CatchUp::Skip];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CatchUp::RunLateOnce => "run_late_once",
            CatchUp::Skip => "skip",
        }
    }

    /// The policy of a stored spelling; anything else is [`SchedulerError::Invalid`].
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                SchedulerError::Invalid(format!(
                    "unknown catch-up policy {s:?} (expected \"run_late_once\" or \"skip\")"
                ))
            })
    }
}

impl fmt::Display for CatchUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CatchUp {
    type Err = SchedulerError;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// How a slot was resolved. Stored in `schedule_slots.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotOutcome {
    /// Fired on time.
    Fired,
    /// Fired late, as the catch-up of an outage ([`CatchUp::RunLateOnce`]).
    FiredLate,
    /// Not fired: the catch-up of an outage under [`CatchUp::Skip`].
    Skipped,
}

impl SlotOutcome {
    /// Every outcome.
    pub const ALL: [SlotOutcome; 3] = [
        SlotOutcome::Fired,
        SlotOutcome::FiredLate,
        SlotOutcome::Skipped,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SlotOutcome::Fired => "fired",
            SlotOutcome::FiredLate => "fired_late",
            SlotOutcome::Skipped => "skipped",
        }
    }

    /// The outcome of a stored spelling; anything else is [`SchedulerError::Invalid`].
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| SchedulerError::Invalid(format!("unknown slot outcome {s:?}")))
    }

    /// Whether a job was enqueued for the slot.
    pub fn has_job(self) -> bool {
        !matches!(self, SlotOutcome::Skipped)
    }
}

impl fmt::Display for SlotOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SlotOutcome {
    type Err = SchedulerError;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// A schedule to create or replace.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleSpec {
    pub name: String,
    /// Cron expression, 5 fields (minutes first) or 6 (seconds first), in `time_zone`.
    pub cron: String,
    /// IANA time zone the cron fields are read in (`Europe/Paris`); empty means UTC.
    pub time_zone: String,
    /// Template of the job to enqueue: `args` must be a JSON object without a `slot` key
    /// (added at each firing); `run_at` and `idempotency_key` are ignored.
    pub job: NewJob,
    pub enabled: bool,
    /// What to do with slots found late.
    pub catch_up: CatchUp,
    /// How long after `slot_at` a due slot is still on time (at least [`MIN_LATE_AFTER`]).
    pub late_after: Duration,
}

impl ScheduleSpec {
    /// An enabled schedule in UTC, [`CatchUp::RunLateOnce`], on time for [`DEFAULT_LATE_AFTER`].
    pub fn new(name: impl Into<String>, cron: impl Into<String>, job: NewJob) -> Self {
        Self {
            name: name.into(),
            cron: cron.into(),
            time_zone: DEFAULT_TIME_ZONE.into(),
            job,
            enabled: true,
            catch_up: CatchUp::default(),
            late_after: DEFAULT_LATE_AFTER,
        }
    }

    pub fn time_zone(mut self, time_zone: impl Into<String>) -> Self {
        self.time_zone = time_zone.into();
        self
    }

    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    pub fn catch_up(mut self, catch_up: CatchUp) -> Self {
        self.catch_up = catch_up;
        self
    }

    pub fn late_after(mut self, late_after: Duration) -> Self {
        self.late_after = late_after;
        self
    }
}

/// A stored schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub name: String,
    pub cron: String,
    /// IANA name, `UTC` when none was given.
    pub time_zone: String,
    pub kind: String,
    pub zone: String,
    pub project: Option<String>,
    pub resource: Option<String>,
    pub args: Value,
    pub priority: i16,
    pub max_attempts: i32,
    pub caller: String,
    pub enabled: bool,
    pub catch_up: CatchUp,
    pub late_after: Duration,
    /// The next slot to resolve.
    pub next_run_at: OffsetDateTime,
    /// The `slot_at` of the last slot that got a job, and that job.
    pub last_run_at: Option<OffsetDateTime>,
    pub last_job_id: Option<i64>,
}

/// One firing: a job enqueued for a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub name: String,
    /// The slot's instant (`slot_at`).
    pub fire_at: OffsetDateTime,
    pub job_id: i64,
    /// The slot's local wall-clock time, `YYYY-MM-DDTHH:MM:SS` in the schedule's zone.
    pub slot_local: String,
    /// Fired as the catch-up of an outage (outcome `fired_late`).
    pub late: bool,
}

/// The record of one slot (`schedule_slots`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub schedule: String,
    /// `YYYY-MM-DDTHH:MM:SS` in the schedule's zone: the slot's identity.
    pub slot_local: String,
    pub slot_at: OffsetDateTime,
    pub outcome: SlotOutcome,
    /// The enqueued job; `None` when skipped.
    pub job_id: Option<i64>,
    /// Earlier slots of the same outage folded into this record.
    pub missed: i32,
    /// The earliest of them.
    pub first_missed_at: Option<OffsetDateTime>,
    /// The firer's `now` when it resolved the slot.
    pub recorded_at: OffsetDateTime,
}

fn parse_cron(expr: &str) -> Result<Cron> {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(expr)
        .or_else(|_| Cron::from_str(expr))
        .map_err(|e| SchedulerError::Invalid(format!("cron expression {expr:?}: {e}")))
}

fn parse_time_zone(name: &str) -> Result<Tz> {
    let name = if name.is_empty() {
        DEFAULT_TIME_ZONE
    } else {
        name
    };
    name.parse::<Tz>().map_err(|_| {
        SchedulerError::Invalid(format!(
            "unknown time zone {name:?}: expected an IANA time zone name such as \
             \"Europe/Paris\" or \"UTC\""
        ))
    })
}

/// A parsed cron expression in its zone.
struct Timing {
    cron: Cron,
    tz: Tz,
}

impl Timing {
    fn new(cron: &str, time_zone: &str) -> Result<Self> {
        Ok(Self {
            cron: parse_cron(cron)?,
            tz: parse_time_zone(time_zone)?,
        })
    }

    fn zoned(&self, t: OffsetDateTime) -> Result<chrono::DateTime<Tz>> {
        let nanos = t.unix_timestamp_nanos();
        let secs = i64::try_from(nanos.div_euclid(1_000_000_000))
            .map_err(|_| SchedulerError::Invalid(format!("time out of range: {t}")))?;
        let sub = nanos.rem_euclid(1_000_000_000) as u32;
        let utc = chrono::DateTime::from_timestamp(secs, sub)
            .ok_or_else(|| SchedulerError::Invalid(format!("time out of range: {t}")))?;
        Ok(utc.with_timezone(&self.tz))
    }

    fn instant(at: &chrono::DateTime<Tz>) -> Result<OffsetDateTime> {
        let nanos =
            i128::from(at.timestamp()) * 1_000_000_000 + i128::from(at.timestamp_subsec_nanos());
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .map_err(|e| SchedulerError::Invalid(format!("occurrence out of range: {e}")))
    }

    /// The first slot strictly after `after`.
    fn next_after(&self, after: OffsetDateTime) -> Result<OffsetDateTime> {
        let next = self
            .cron
            .find_next_occurrence(&self.zoned(after)?, false)
            .map_err(|e| SchedulerError::Invalid(format!("cron has no next occurrence: {e}")))?;
        Self::instant(&next)
    }

    /// The last slot strictly before `before`.
    fn last_before(&self, before: OffsetDateTime) -> Result<OffsetDateTime> {
        let no_previous = |e: croner::errors::CronError| {
            SchedulerError::Invalid(format!("cron has no previous occurrence: {e}"))
        };
        // croner works in whole seconds: an inclusive search from `before`'s second finds a slot
        // at that second, which is before `before` unless `before` is that very second.
        let found = self
            .cron
            .find_previous_occurrence(&self.zoned(before)?, true)
            .map_err(no_previous)?;
        let found = if Self::instant(&found)? < before {
            found
        } else {
            self.cron
                .find_previous_occurrence(&found, false)
                .map_err(no_previous)?
        };
        Self::instant(&found)
    }

    /// `YYYY-MM-DDTHH:MM:SS`, the wall-clock time of `at` in the zone.
    fn local(&self, at: OffsetDateTime) -> Result<String> {
        let t = self.zoned(at)?.naive_local();
        Ok(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ))
    }
}

/// The first slot of `cron`, read in `time_zone` (an IANA name; empty means UTC), strictly
/// after `after`.
pub fn next_fire(cron: &str, time_zone: &str, after: OffsetDateTime) -> Result<OffsetDateTime> {
    Timing::new(cron, time_zone)?.next_after(after)
}

/// A checked spec: its zone's canonical name, its first slot after `now` and its window.
struct Checked {
    time_zone: String,
    timing: Timing,
    first: OffsetDateTime,
    late_after_ms: i64,
}

fn check_spec(spec: &ScheduleSpec, now: OffsetDateTime) -> Result<Checked> {
    if spec.name.is_empty() {
        return Err(SchedulerError::Invalid(
            "schedule name must not be empty".into(),
        ));
    }
    let timing = Timing::new(&spec.cron, &spec.time_zone)?;
    let first = timing.next_after(now)?;
    let mut template = spec.job.clone();
    template.idempotency_key = None;
    validate(&template)?;
    match &spec.job.args {
        Value::Object(map) if map.contains_key(SLOT_ARG) => {
            return Err(SchedulerError::Invalid(format!(
                "schedule {:?}: job args must not have the key {SLOT_ARG:?}, which each \
                 firing sets",
                spec.name
            )));
        }
        Value::Object(_) => {}
        other => {
            return Err(SchedulerError::Invalid(format!(
                "schedule {:?}: job args must be a JSON object, not {other}",
                spec.name
            )));
        }
    }
    if spec.late_after < MIN_LATE_AFTER {
        return Err(SchedulerError::Invalid(format!(
            "schedule {:?}: late_after must be at least {} ms",
            spec.name,
            MIN_LATE_AFTER.as_millis()
        )));
    }
    let late_after_ms = i64::try_from(spec.late_after.as_millis()).map_err(|_| {
        SchedulerError::Invalid(format!("schedule {:?}: late_after is too large", spec.name))
    })?;
    Ok(Checked {
        time_zone: timing.tz.name().to_owned(),
        timing,
        first,
        late_after_ms,
    })
}

/// [`upsert_schedule_at`] at the database's `now()`.
pub async fn upsert_schedule(pool: &PgPool, spec: &ScheduleSpec) -> Result<Schedule> {
    let now = db_now(pool).await?;
    upsert_schedule_at(pool, spec, now).await
}

/// Creates or replaces a schedule. A new one's first slot is the next after `now`; a
/// replacement keeps its pending `next_run_at` when it was and stays enabled with the same cron
/// and zone, and otherwise also starts at the next slot after `now` (module docs). Refuses an
/// empty name, a bad cron expression, an unknown zone, a bad job template or a `late_after`
/// under [`MIN_LATE_AFTER`] with [`SchedulerError::Invalid`], storing nothing.
///
/// `db` is a pool, or a connection already in a transaction (a savepoint then, so the change
/// commits with the caller's).
pub async fn upsert_schedule_at<'c>(
    db: impl sqlx::Acquire<'c, Database = sqlx::Postgres>,
    spec: &ScheduleSpec,
    now: OffsetDateTime,
) -> Result<Schedule> {
    let checked = check_spec(spec, now)?;
    let mut tx = db.begin().await?;
    let old = sqlx::query(
        "SELECT cron, time_zone, enabled, next_run_at FROM schedules WHERE name = $1 FOR UPDATE",
    )
    .bind(&spec.name)
    .fetch_optional(&mut *tx)
    .await?;
    let mut next = checked.first;
    if let Some(old) = &old {
        let (cron, time_zone, enabled): (String, String, bool) = (
            old.try_get("cron")?,
            old.try_get("time_zone")?,
            old.try_get("enabled")?,
        );
        let same_timing = cron == spec.cron && time_zone == checked.time_zone;
        if same_timing && enabled && spec.enabled {
            next = old.try_get("next_run_at")?;
        }
        if time_zone != checked.time_zone {
            sqlx::query("DELETE FROM schedule_slots WHERE schedule = $1 AND slot_local >= $2")
                .bind(&spec.name)
                .bind(checked.timing.local(checked.first)?)
                .execute(&mut *tx)
                .await?;
        }
    }
    let job = &spec.job;
    let row = sqlx::query(
        "INSERT INTO schedules (name, cron, time_zone, kind, zone, project, resource, args, \
                                priority, max_attempts, caller, enabled, catch_up, \
                                late_after_ms, next_run_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (name) DO UPDATE SET cron = EXCLUDED.cron, time_zone = EXCLUDED.time_zone, \
             kind = EXCLUDED.kind, zone = EXCLUDED.zone, project = EXCLUDED.project, \
             resource = EXCLUDED.resource, args = EXCLUDED.args, priority = EXCLUDED.priority, \
             max_attempts = EXCLUDED.max_attempts, caller = EXCLUDED.caller, \
             enabled = EXCLUDED.enabled, catch_up = EXCLUDED.catch_up, \
             late_after_ms = EXCLUDED.late_after_ms, next_run_at = EXCLUDED.next_run_at, \
             updated_at = now() \
         RETURNING *",
    )
    .bind(&spec.name)
    .bind(&spec.cron)
    .bind(&checked.time_zone)
    .bind(&job.kind)
    .bind(&job.zone)
    .bind(&job.project)
    .bind(&job.resource)
    .bind(&job.args)
    .bind(job.priority)
    .bind(job.max_attempts)
    .bind(&job.caller)
    .bind(spec.enabled)
    .bind(spec.catch_up.as_str())
    .bind(checked.late_after_ms)
    .bind(next)
    .fetch_one(&mut *tx)
    .await?;
    let schedule = schedule_from_row(&row)?;
    tx.commit().await?;
    Ok(schedule)
}

/// Deletes a schedule and its slot records. Returns whether it existed.
pub async fn delete_schedule(pool: &PgPool, name: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM schedules WHERE name = $1")
        .bind(name)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// All schedules, by name.
pub async fn list_schedules(pool: &PgPool) -> Result<Vec<Schedule>> {
    let rows = sqlx::query("SELECT * FROM schedules ORDER BY name")
        .fetch_all(pool)
        .await?;
    rows.iter().map(schedule_from_row).collect()
}

/// One schedule, if it exists.
pub async fn get_schedule(pool: &PgPool, name: &str) -> Result<Option<Schedule>> {
    let row = sqlx::query("SELECT * FROM schedules WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(schedule_from_row).transpose()
}

/// Enables or disables a schedule; `None` if it does not exist. Enabling a disabled schedule
/// starts it at its next slot after `now`, so the slots of the disabled time are neither fired
/// nor counted as missed. Enabling an enabled one, or disabling, leaves `next_run_at` alone.
///
/// `db` is a pool, or a connection in the caller's transaction.
pub async fn set_schedule_enabled<'c>(
    db: impl sqlx::Acquire<'c, Database = sqlx::Postgres>,
    name: &str,
    enabled: bool,
    now: OffsetDateTime,
) -> Result<Option<Schedule>> {
    let mut tx = db.begin().await?;
    let Some(row) = sqlx::query("SELECT * FROM schedules WHERE name = $1 FOR UPDATE")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(None);
    };
    let current = schedule_from_row(&row)?;
    let next = if enabled && !current.enabled {
        next_fire(&current.cron, &current.time_zone, now)?
    } else {
        current.next_run_at
    };
    let row = sqlx::query(
        "UPDATE schedules SET enabled = $2, next_run_at = $3, updated_at = now() \
         WHERE name = $1 RETURNING *",
    )
    .bind(name)
    .bind(enabled)
    .bind(next)
    .fetch_one(&mut *tx)
    .await?;
    let schedule = schedule_from_row(&row)?;
    tx.commit().await?;
    Ok(Some(schedule))
}

/// The slot records of `schedule`, newest (`slot_at`) first, those before `before` when given
/// (the page after one ending at `before`), at most `limit` (clamped to 1–1000).
pub async fn list_slots(
    pool: &PgPool,
    schedule: &str,
    before: Option<OffsetDateTime>,
    limit: i64,
) -> Result<Vec<Slot>> {
    let rows = sqlx::query(
        "SELECT * FROM schedule_slots \
         WHERE schedule = $1 AND ($2::timestamptz IS NULL OR slot_at < $2) \
         ORDER BY slot_at DESC LIMIT $3",
    )
    .bind(schedule)
    .bind(before)
    .bind(limit.clamp(1, 1000))
    .fetch_all(pool)
    .await?;
    rows.iter().map(slot_from_row).collect()
}

fn slot_from_row(r: &sqlx::postgres::PgRow) -> Result<Slot> {
    let outcome: String = r.try_get("outcome")?;
    Ok(Slot {
        schedule: r.try_get("schedule")?,
        slot_local: r.try_get("slot_local")?,
        slot_at: r.try_get("slot_at")?,
        outcome: SlotOutcome::parse(&outcome)
            .map_err(|e| SchedulerError::Corrupt(e.to_string()))?,
        job_id: r.try_get("job_id")?,
        missed: r.try_get("missed")?,
        first_missed_at: r.try_get("first_missed_at")?,
        recorded_at: r.try_get("recorded_at")?,
    })
}

fn schedule_from_row(r: &sqlx::postgres::PgRow) -> Result<Schedule> {
    let catch_up: String = r.try_get("catch_up")?;
    let late_after_ms: i64 = r.try_get("late_after_ms")?;
    Ok(Schedule {
        name: r.try_get("name")?,
        cron: r.try_get("cron")?,
        time_zone: r.try_get("time_zone")?,
        kind: r.try_get("kind")?,
        zone: r.try_get("zone")?,
        project: r.try_get("project")?,
        resource: r.try_get("resource")?,
        args: r.try_get("args")?,
        priority: r.try_get("priority")?,
        max_attempts: r.try_get("max_attempts")?,
        caller: r.try_get("caller")?,
        enabled: r.try_get("enabled")?,
        catch_up: CatchUp::parse(&catch_up).map_err(|e| SchedulerError::Corrupt(e.to_string()))?,
        late_after: Duration::from_millis(u64::try_from(late_after_ms).map_err(|_| {
            SchedulerError::Corrupt(format!("negative late_after_ms {late_after_ms}"))
        })?),
        next_run_at: r.try_get("next_run_at")?,
        last_run_at: r.try_get("last_run_at")?,
        last_job_id: r.try_get("last_job_id")?,
    })
}

async fn db_now(pool: &PgPool) -> Result<OffsetDateTime> {
    Ok(sqlx::query_scalar("SELECT now()").fetch_one(pool).await?)
}

/// [`fire_due_schedules_at`] at the database's `now()`.
pub async fn fire_due_schedules(pool: &PgPool, limit: i64) -> Result<Vec<Fired>> {
    let now = db_now(pool).await?;
    fire_due_schedules_at(pool, now, limit).await
}

/// Resolves the due slots of every due schedule (`next_run_at <= now`, at most `limit`
/// schedules) as of `now`: records each, enqueues the jobs and advances the schedules, in one
/// transaction (module docs). Returns the jobs enqueued. Safe to call from any number of
/// replicas at once: each local slot fires at most once.
pub async fn fire_due_schedules_at(
    pool: &PgPool,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Fired>> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(
        "SELECT * FROM schedules WHERE enabled AND next_run_at <= $1 \
         ORDER BY next_run_at LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut fired = Vec::new();
    for row in &rows {
        let schedule = schedule_from_row(row)?;
        let usable = Timing::new(&schedule.cron, &schedule.time_zone).and_then(|timing| {
            if schedule.args.is_object() {
                Ok(timing)
            } else {
                Err(SchedulerError::Invalid(
                    "job args are not a JSON object".into(),
                ))
            }
        });
        let timing = match usable {
            Ok(timing) => timing,
            Err(err) => {
                disable_unusable(&mut tx, &schedule.name, &err).await?;
                continue;
            }
        };
        // A savepoint per schedule: one whose slots cannot be computed is disabled without
        // holding up the others.
        let fired_before = fired.len();
        let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
        match resolve_due_slots(&mut savepoint, &schedule, &timing, now, &mut fired).await {
            Ok(()) => savepoint.commit().await?,
            Err(err @ SchedulerError::Invalid(_)) => {
                savepoint.rollback().await?;
                fired.truncate(fired_before);
                disable_unusable(&mut tx, &schedule.name, &err).await?;
            }
            Err(err) => return Err(err),
        }
    }
    tx.commit().await?;
    Ok(fired)
}

async fn disable_unusable(conn: &mut PgConnection, name: &str, err: &SchedulerError) -> Result<()> {
    tracing::error!(schedule = %name, error = %err, "schedule is unusable, disabling it");
    sqlx::query("UPDATE schedules SET enabled = false, updated_at = now() WHERE name = $1")
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

/// A slot to record, with the earlier ones folded into it.
struct SlotWrite<'a> {
    slot_at: OffsetDateTime,
    slot_local: &'a str,
    outcome: SlotOutcome,
    missed: i32,
    first_missed_at: Option<OffsetDateTime>,
}

/// The late slots of an outage, not yet folded into a record.
struct Late {
    /// How many (more than [`MISSED_COUNT_CAP`] when the count was cut short).
    count: i32,
    first_at: OffsetDateTime,
    last_at: OffsetDateTime,
}

/// Resolves one locked schedule's due slots and advances it (or, when its cron has no slot
/// left, disables it).
async fn resolve_due_slots(
    conn: &mut PgConnection,
    schedule: &Schedule,
    timing: &Timing,
    now: OffsetDateTime,
    fired: &mut Vec<Fired>,
) -> Result<()> {
    // `None` once the cron has no further slot (a pattern limited to past years).
    let next = |after: OffsetDateTime| timing.next_after(after).ok();
    // Slots before the horizon are late.
    let horizon = time::Duration::try_from(schedule.late_after)
        .ok()
        .and_then(|late_after| now.checked_sub(late_after));
    // Local times only move forward, except in the repeated hour of a fall-back night: a slot
    // whose local time is not later than the latest one resolved is that hour's second pass,
    // and neither fires nor counts as missed (the first pass had it).
    let mut high_water: Option<String> =
        sqlx::query_scalar("SELECT max(slot_local) FROM schedule_slots WHERE schedule = $1")
            .bind(&schedule.name)
            .fetch_one(&mut *conn)
            .await?;
    let mut cursor = Some(schedule.next_run_at);
    let mut late: Option<Late> = None;
    if let Some(horizon) = horizon.filter(|h| schedule.next_run_at < *h) {
        let mut steps = 0;
        while let Some(at) = cursor
            && at < horizon
            && steps < MISSED_COUNT_CAP
        {
            let local = timing.local(at)?;
            if high_water.as_ref().is_none_or(|seen| local > *seen) {
                let l = late.get_or_insert(Late {
                    count: 0,
                    first_at: at,
                    last_at: at,
                });
                l.count += 1;
                l.last_at = at;
                high_water = Some(local);
            }
            cursor = next(at);
            steps += 1;
        }
        if let Some(at) = cursor
            && at < horizon
        {
            // The cap: jump to the outage's last slot; `missed` records the cap.
            let last = timing.last_before(horizon)?;
            let l = late.get_or_insert(Late {
                count: 0,
                first_at: at,
                last_at: at,
            });
            l.count = MISSED_COUNT_CAP.saturating_add(2);
            l.last_at = last;
            cursor = next(last);
        }
    }

    // On-time slots: each fires; the first one recorded takes the late ones into its record.
    let mut last_job: Option<(OffsetDateTime, i64)> = None;
    let mut fires = 0;
    while let Some(at) = cursor
        && at <= now
        && fires < MAX_FIRES_PER_CALL
    {
        let slot_local = timing.local(at)?;
        if high_water.as_ref().is_none_or(|seen| slot_local > *seen) {
            let write = SlotWrite {
                slot_at: at,
                slot_local: &slot_local,
                outcome: SlotOutcome::Fired,
                missed: late.as_ref().map_or(0, |l| l.count.min(MISSED_COUNT_CAP)),
                first_missed_at: late.as_ref().map(|l| l.first_at),
            };
            if let Some(job) = record_slot(conn, schedule, timing, &write, now, fired).await? {
                late = None;
                last_job = job.map(|id| (at, id)).or(last_job);
            }
            high_water = Some(slot_local);
        } else {
            tracing::debug!(schedule = %schedule.name, slot_local,
                "repeated local time, passing over it");
        }
        cursor = next(at);
        fires += 1;
    }

    // Late slots with no on-time slot after them: the catch-up policy decides.
    if let Some(l) = late {
        let slot_local = timing.local(l.last_at)?;
        let write = SlotWrite {
            slot_at: l.last_at,
            slot_local: &slot_local,
            outcome: match schedule.catch_up {
                CatchUp::RunLateOnce => SlotOutcome::FiredLate,
                CatchUp::Skip => SlotOutcome::Skipped,
            },
            missed: (l.count - 1).min(MISSED_COUNT_CAP),
            first_missed_at: (l.first_at < l.last_at).then_some(l.first_at),
        };
        if let Some(Some(id)) = record_slot(conn, schedule, timing, &write, now, fired).await? {
            last_job = Some((l.last_at, id));
        }
    }

    if cursor.is_none() {
        tracing::info!(schedule = %schedule.name, "schedule has no slot left, disabling it");
    }
    let advanced = sqlx::query(
        "UPDATE schedules SET next_run_at = coalesce($2, next_run_at), \
                enabled = $2::timestamptz IS NOT NULL, \
                last_run_at = coalesce($3, last_run_at), \
                last_job_id = coalesce($4, last_job_id), updated_at = now() \
         WHERE name = $1 AND next_run_at = $5",
    )
    .bind(&schedule.name)
    .bind(cursor)
    .bind(last_job.map(|(at, _)| at))
    .bind(last_job.map(|(_, id)| id))
    .bind(schedule.next_run_at)
    .execute(&mut *conn)
    .await?;
    if advanced.rows_affected() != 1 {
        // Cannot happen while we hold the row lock; refuse to commit a double fire.
        return Err(SchedulerError::Corrupt(format!(
            "schedule {} moved while locked",
            schedule.name
        )));
    }
    Ok(())
}

/// Records one slot and, unless skipped, enqueues its job. `None` when the local slot already
/// has a record (the second pass of a repeated hour): nothing is written. Otherwise the job's
/// id, if any; a job enqueued for real is also pushed onto `fired`.
async fn record_slot(
    conn: &mut PgConnection,
    schedule: &Schedule,
    timing: &Timing,
    write: &SlotWrite<'_>,
    now: OffsetDateTime,
    fired: &mut Vec<Fired>,
) -> Result<Option<Option<i64>>> {
    let inserted = sqlx::query(
        "INSERT INTO schedule_slots (schedule, slot_local, slot_at, outcome, missed, \
                                     first_missed_at, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (schedule, slot_local) DO NOTHING",
    )
    .bind(&schedule.name)
    .bind(write.slot_local)
    .bind(write.slot_at)
    .bind(write.outcome.as_str())
    .bind(write.missed)
    .bind(write.first_missed_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        // The primary key: each local slot is recorded, and fires, once.
        tracing::debug!(schedule = %schedule.name, slot_local = write.slot_local,
            "slot already recorded, passing over it");
        return Ok(None);
    }
    if !write.outcome.has_job() {
        tracing::warn!(schedule = %schedule.name, slot_local = write.slot_local,
            missed = write.missed, "late slot skipped (catch-up: skip)");
        return Ok(Some(None));
    }
    let late = write.outcome == SlotOutcome::FiredLate;
    let mut args = schedule.args.clone();
    let Value::Object(map) = &mut args else {
        return Err(SchedulerError::Corrupt(format!(
            "schedule {} has non-object args",
            schedule.name
        )));
    };
    let at = write
        .slot_at
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .map_err(|e| SchedulerError::Invalid(format!("slot time {}: {e}", write.slot_at)))?;
    map.insert(
        SLOT_ARG.into(),
        json!({"at": at, "local": write.slot_local, "late": late, "missed": write.missed}),
    );
    let mut job = NewJob::new(&schedule.kind, &schedule.zone, args)
        .priority(schedule.priority)
        .max_attempts(schedule.max_attempts)
        .caller(&schedule.caller)
        .idempotency_key(format!(
            "schedule:{}:{}[{}]",
            schedule.name,
            write.slot_local,
            timing.tz.name()
        ));
    job.project = schedule.project.clone();
    job.resource = schedule.resource.clone();
    let (job_id, created) = match enqueue_many_tx(conn, std::slice::from_ref(&job)).await {
        Ok(mut enqueued) => {
            let enqueued = enqueued
                .pop()
                .ok_or_else(|| SchedulerError::Corrupt("enqueue returned no row".into()))?;
            (enqueued.id, enqueued.created)
        }
        // The local slot's key names an earlier job (of a deleted and re-created schedule):
        // that job is the slot's, and no second one is made.
        Err(SchedulerError::IdempotencyConflict { existing_id, .. }) => (existing_id, false),
        Err(err) => return Err(err),
    };
    sqlx::query("UPDATE schedule_slots SET job_id = $3 WHERE schedule = $1 AND slot_local = $2")
        .bind(&schedule.name)
        .bind(write.slot_local)
        .bind(job_id)
        .execute(&mut *conn)
        .await?;
    if created {
        tracing::info!(schedule = %schedule.name, job_id, kind = %schedule.kind,
            zone = %schedule.zone, slot_local = write.slot_local, late, missed = write.missed,
            "schedule fired");
        fired.push(Fired {
            name: schedule.name.clone(),
            fire_at: write.slot_at,
            job_id,
            slot_local: write.slot_local.to_owned(),
            late,
        });
    } else {
        tracing::warn!(schedule = %schedule.name, job_id, slot_local = write.slot_local,
            "the slot's job already existed, none enqueued");
    }
    Ok(Some(Some(job_id)))
}
