//! Recurring schedules: cron-expression job templates in the `schedules` table.
//!
//! [`fire_due_schedules`] locks due rows (`FOR UPDATE SKIP LOCKED`), enqueues one job per due
//! schedule and advances `next_run_at` with a conditional `UPDATE … WHERE next_run_at = <old>`,
//! all in one transaction; the job also carries the idempotency key
//! `schedule:<name>:<fire time>`. So however many scheduler replicas run, an occurrence fires
//! once. Missed occurrences (all replicas down) are coalesced into one run; the next is computed
//! from now. Cron syntax: 5 fields (minutes) or 6 (seconds first), via `croner`; times in UTC.

use std::str::FromStr as _;

use croner::Cron;
use croner::parser::{CronParser, Seconds};
use serde_json::Value;
use sqlx::{PgPool, Row};
use time::OffsetDateTime;

use crate::enqueue::enqueue_many_tx;
use crate::error::{Result, SchedulerError};
use crate::job::NewJob;

/// A schedule to create or replace.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleSpec {
    pub name: String,
    /// Cron expression, 5 or 6 fields, UTC.
    pub cron: String,
    /// Template of the job to enqueue (`run_at` and `idempotency_key` are ignored).
    pub job: NewJob,
    pub enabled: bool,
}

/// A stored schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub name: String,
    pub cron: String,
    pub kind: String,
    pub zone: String,
    pub project: Option<String>,
    pub resource: Option<String>,
    pub args: Value,
    pub priority: i16,
    pub max_attempts: i32,
    pub caller: String,
    pub enabled: bool,
    pub next_run_at: OffsetDateTime,
    pub last_run_at: Option<OffsetDateTime>,
    pub last_job_id: Option<i64>,
}

/// One firing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub name: String,
    pub fire_at: OffsetDateTime,
    pub job_id: i64,
}

fn parse_cron(expr: &str) -> Result<Cron> {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(expr)
        .or_else(|_| Cron::from_str(expr))
        .map_err(|e| SchedulerError::Invalid(format!("cron expression {expr:?}: {e}")))
}

/// The first occurrence of `cron` strictly after `after` (UTC).
pub fn next_fire(cron: &str, after: OffsetDateTime) -> Result<OffsetDateTime> {
    let cron = parse_cron(cron)?;
    let nanos = after.unix_timestamp_nanos();
    let secs = nanos.div_euclid(1_000_000_000) as i64;
    let sub = nanos.rem_euclid(1_000_000_000) as u32;
    let start = chrono::DateTime::from_timestamp(secs, sub)
        .ok_or_else(|| SchedulerError::Invalid(format!("time out of range: {after}")))?;
    let next = cron
        .find_next_occurrence(&start, false)
        .map_err(|e| SchedulerError::Invalid(format!("cron has no next occurrence: {e}")))?;
    let next_nanos =
        i128::from(next.timestamp()) * 1_000_000_000 + i128::from(next.timestamp_subsec_nanos());
    OffsetDateTime::from_unix_timestamp_nanos(next_nanos)
        .map_err(|e| SchedulerError::Invalid(format!("next occurrence out of range: {e}")))
}

/// Creates or replaces a schedule; its first run is the next occurrence after now.
pub async fn upsert_schedule(pool: &PgPool, spec: &ScheduleSpec) -> Result<Schedule> {
    if spec.name.is_empty() {
        return Err(SchedulerError::Invalid(
            "schedule name must not be empty".into(),
        ));
    }
    let now: OffsetDateTime = sqlx::query_scalar("SELECT now()").fetch_one(pool).await?;
    let next = next_fire(&spec.cron, now)?;
    let job = &spec.job;
    let row = sqlx::query(
        "INSERT INTO schedules (name, cron, kind, zone, project, resource, args, priority, \
                                max_attempts, caller, enabled, next_run_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (name) DO UPDATE SET cron = EXCLUDED.cron, kind = EXCLUDED.kind, \
             zone = EXCLUDED.zone, project = EXCLUDED.project, resource = EXCLUDED.resource, \
             args = EXCLUDED.args, priority = EXCLUDED.priority, \
             max_attempts = EXCLUDED.max_attempts, caller = EXCLUDED.caller, \
             enabled = EXCLUDED.enabled, next_run_at = EXCLUDED.next_run_at, updated_at = now() \
         RETURNING *",
    )
    .bind(&spec.name)
    .bind(&spec.cron)
    .bind(&job.kind)
    .bind(&job.zone)
    .bind(&job.project)
    .bind(&job.resource)
    .bind(&job.args)
    .bind(job.priority)
    .bind(job.max_attempts)
    .bind(&job.caller)
    .bind(spec.enabled)
    .bind(next)
    .fetch_one(pool)
    .await?;
    schedule_from_row(&row)
}

/// Deletes a schedule. Returns whether it existed.
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

fn schedule_from_row(r: &sqlx::postgres::PgRow) -> Result<Schedule> {
    Ok(Schedule {
        name: r.try_get("name")?,
        cron: r.try_get("cron")?,
        kind: r.try_get("kind")?,
        zone: r.try_get("zone")?,
        project: r.try_get("project")?,
        resource: r.try_get("resource")?,
        args: r.try_get("args")?,
        priority: r.try_get("priority")?,
        max_attempts: r.try_get("max_attempts")?,
        caller: r.try_get("caller")?,
        enabled: r.try_get("enabled")?,
        next_run_at: r.try_get("next_run_at")?,
        last_run_at: r.try_get("last_run_at")?,
        last_job_id: r.try_get("last_job_id")?,
    })
}

/// Enqueues one job for every due schedule (at most `limit`) and advances it. Safe to call
/// from any number of replicas at once: each occurrence fires exactly once.
pub async fn fire_due_schedules(pool: &PgPool, limit: i64) -> Result<Vec<Fired>> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(
        "SELECT *, now() AS db_now FROM schedules WHERE enabled AND next_run_at <= now() \
         ORDER BY next_run_at LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut fired = Vec::new();
    for row in &rows {
        let schedule = schedule_from_row(row)?;
        let now: OffsetDateTime = row.try_get("db_now")?;
        let next = match next_fire(&schedule.cron, now) {
            Ok(next) => next,
            Err(err) => {
                tracing::error!(schedule = %schedule.name, error = %err,
                    "schedule has an unusable cron expression, disabling it");
                sqlx::query(
                    "UPDATE schedules SET enabled = false, updated_at = now() WHERE name = $1",
                )
                .bind(&schedule.name)
                .execute(&mut *tx)
                .await?;
                continue;
            }
        };
        let fire_at = schedule.next_run_at;
        let mut job = NewJob::new(&schedule.kind, &schedule.zone, schedule.args.clone())
            .priority(schedule.priority)
            .max_attempts(schedule.max_attempts)
            .caller(&schedule.caller)
            .idempotency_key(format!(
                "schedule:{}:{}",
                schedule.name,
                fire_at.unix_timestamp_nanos() / 1000
            ));
        job.project = schedule.project.clone();
        job.resource = schedule.resource.clone();
        let enqueued = enqueue_many_tx(&mut tx, std::slice::from_ref(&job))
            .await?
            .pop()
            .ok_or_else(|| SchedulerError::Corrupt("enqueue returned no row".into()))?;
        let advanced = sqlx::query(
            "UPDATE schedules SET next_run_at = $2, last_run_at = $3, last_job_id = $4, \
                    updated_at = now() \
             WHERE name = $1 AND next_run_at = $3",
        )
        .bind(&schedule.name)
        .bind(next)
        .bind(fire_at)
        .bind(enqueued.id)
        .execute(&mut *tx)
        .await?;
        if advanced.rows_affected() != 1 {
            // Cannot happen while we hold the row lock; refuse to commit a double fire.
            return Err(SchedulerError::Corrupt(format!(
                "schedule {} moved while locked",
                schedule.name
            )));
        }
        if enqueued.created {
            tracing::info!(schedule = %schedule.name, job_id = enqueued.id, kind = %schedule.kind,
                zone = %schedule.zone, "schedule fired");
            fired.push(Fired {
                name: schedule.name.clone(),
                fire_at,
                job_id: enqueued.id,
            });
        }
    }
    tx.commit().await?;
    Ok(fired)
}
