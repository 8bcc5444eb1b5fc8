//! Recurring schedules: slots in IANA time zones, each local slot recorded and fired once
//! (across daylight saving time and across scheduler instances), catch-up after an outage.
//! Time is injected (`fire_due_schedules_at`): days and weeks of slots run in milliseconds,
//! without sleeping.
mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use common::db;
use fleet_scheduler::*;
use serde_json::{Value, json};
use sqlx::PgPool;
use time::OffsetDateTime;
use time::macros::datetime;

fn spec(name: &str, cron: &str) -> ScheduleSpec {
    ScheduleSpec::new(
        name,
        cron,
        NewJob::new("backup.run", "fr-par-1", json!({"policy": name})).caller("policies"),
    )
}

/// Fires `name` at each of its slots (plus `lag`) until its next slot is at or past `until`,
/// as a scheduler whose firer is never down would. Returns what fired and every instant the
/// schedule was due at, in order.
async fn drive(
    pool: &PgPool,
    name: &str,
    until: OffsetDateTime,
    lag: time::Duration,
) -> (Vec<Fired>, Vec<OffsetDateTime>) {
    let mut fired = Vec::new();
    let mut due = Vec::new();
    for _ in 0..100_000 {
        let s = get_schedule(pool, name).await.unwrap().unwrap();
        if s.next_run_at >= until {
            return (fired, due);
        }
        due.push(s.next_run_at);
        fired.extend(
            fire_due_schedules_at(pool, s.next_run_at + lag, 10)
                .await
                .unwrap(),
        );
    }
    panic!("schedule {name} never reached {until}");
}

/// Every slot record of `name`, oldest first.
async fn slots(pool: &PgPool, name: &str) -> Vec<Slot> {
    let mut all = list_slots(pool, name, None, 1000).await.unwrap();
    all.reverse();
    all
}

/// (id, idempotency key, args) of every enqueued job, by id.
async fn jobs(pool: &PgPool) -> Vec<(i64, String, Value)> {
    sqlx::query_as("SELECT id, idempotency_key, args FROM jobs ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

fn locals(slots: &[Slot]) -> Vec<&str> {
    slots.iter().map(|s| s.slot_local.as_str()).collect()
}

/// Local slots of a day: `date` + `T{hh}:{mm}:00` for every listed (hour, minute).
fn day_locals(date: &str, times: impl IntoIterator<Item = (u32, u32)>) -> Vec<String> {
    times
        .into_iter()
        .map(|(h, m)| format!("{date}T{h:02}:{m:02}:00"))
        .collect()
}

fn half_hours(hours: impl IntoIterator<Item = u32>) -> Vec<(u32, u32)> {
    hours.into_iter().flat_map(|h| [(h, 0), (h, 30)]).collect()
}

fn secs(n: i64) -> time::Duration {
    time::Duration::seconds(n)
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Each job is one slot's, as its record says, with the slot in its args.
async fn assert_jobs_match_records(pool: &PgPool, name: &str) {
    let records = slots(pool, name).await;
    let by_job: HashMap<i64, &Slot> = records
        .iter()
        .filter_map(|s| s.job_id.map(|id| (id, s)))
        .collect();
    let jobs = jobs(pool).await;
    assert_eq!(
        by_job.len(),
        records.iter().filter(|s| s.outcome.has_job()).count(),
        "two records share a job"
    );
    let mine: Vec<_> = jobs
        .iter()
        .filter(|(_, _, args)| args["policy"] == name)
        .collect();
    assert_eq!(
        mine.len(),
        by_job.len(),
        "jobs without a record, or records without a job"
    );
    let mut job_locals = HashSet::new();
    for (id, key, args) in mine {
        let slot = by_job
            .get(id)
            .unwrap_or_else(|| panic!("job {id} has no record"));
        assert_eq!(args["slot"]["local"], slot.slot_local.as_str());
        assert_eq!(args["slot"]["at"], rfc3339(slot.slot_at).as_str());
        assert_eq!(args["slot"]["late"], slot.outcome == SlotOutcome::FiredLate);
        assert_eq!(args["slot"]["missed"], slot.missed);
        assert!(
            key.starts_with(&format!("schedule:{name}:{}[", slot.slot_local)),
            "{key}"
        );
        assert!(
            job_locals.insert(slot.slot_local.clone()),
            "two jobs for {}",
            slot.slot_local
        );
    }
}

#[tokio::test]
async fn next_fire_in_a_time_zone() {
    let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(); // 2023-11-14 22:13:20 UTC
    assert_eq!(
        next_fire("0 * * * *", "UTC", t).unwrap().unix_timestamp(),
        1_700_002_800
    );
    assert_eq!(
        next_fire("*/10 * * * * *", "", t).unwrap().unix_timestamp(),
        1_700_000_010
    );
    // 03:00 in Paris (UTC+1 in November) is 02:00 UTC.
    assert_eq!(
        next_fire("0 3 * * *", "Europe/Paris", t).unwrap(),
        datetime!(2023-11-15 02:00 UTC)
    );
    // 20:00 on weekdays in New York (UTC-5): 22:13 UTC is 17:13 there on Tuesday the 14th, so
    // that evening's 20:00 (01:00 UTC on the 15th) is next.
    assert_eq!(
        next_fire("0 20 * * 1-5", "America/New_York", t).unwrap(),
        datetime!(2023-11-15 01:00 UTC)
    );
    let err = next_fire("0 3 * * *", "Europe/Pariss", t).unwrap_err();
    assert!(
        matches!(&err, SchedulerError::Invalid(m) if m.contains("\"Europe/Pariss\"")),
        "{err}"
    );
    assert!(matches!(
        next_fire("not a cron", "UTC", t),
        Err(SchedulerError::Invalid(_))
    ));
}

#[tokio::test]
async fn bad_specs_are_refused_and_nothing_is_stored() {
    let pool = db().await;
    let now = datetime!(2026-06-01 12:00 UTC);
    let bad = [
        (
            spec("tz", "0 3 * * *").time_zone("Mars/Olympus_Mons"),
            "Mars/Olympus_Mons",
        ),
        (spec("cron", "not a cron"), "cron expression"),
        (spec("cron61", "61 * * * *"), "cron expression"),
        (spec("", "0 3 * * *"), "name"),
        (
            ScheduleSpec::new(
                "args",
                "0 3 * * *",
                NewJob::new("k", "fr-par-1", json!([1])),
            ),
            "JSON object",
        ),
        (
            ScheduleSpec::new(
                "slot",
                "0 3 * * *",
                NewJob::new("k", "fr-par-1", json!({"slot": 1})),
            ),
            "\"slot\"",
        ),
        (
            spec("late", "0 3 * * *").late_after(Duration::from_millis(999)),
            "late_after",
        ),
        (
            ScheduleSpec::new("kind", "0 3 * * *", NewJob::new("", "fr-par-1", json!({}))),
            "kind",
        ),
    ];
    for (spec, needle) in &bad {
        match upsert_schedule_at(&pool, spec, now).await {
            Err(SchedulerError::Invalid(m)) => assert!(m.contains(needle), "{m}"),
            other => panic!("{:?} accepted: {other:?}", spec.name),
        }
    }
    assert!(list_schedules(&pool).await.unwrap().is_empty());
    // A refused replacement leaves the stored schedule as it was.
    let good = upsert_schedule_at(&pool, &spec("nightly", "0 3 * * *"), now)
        .await
        .unwrap();
    assert_eq!(good.time_zone, "UTC");
    assert!(matches!(
        upsert_schedule_at(
            &pool,
            &spec("nightly", "0 3 * * *").time_zone("Nowhere"),
            now
        )
        .await,
        Err(SchedulerError::Invalid(_))
    ));
    assert_eq!(get_schedule(&pool, "nightly").await.unwrap().unwrap(), good);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM schedule_slots")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_day_of_half_hours_in_paris_fires_each_slot_once() {
    let pool = db().await;
    // 2026-06-15 in Paris (UTC+2): 2026-06-14 22:00 UTC to 2026-06-15 22:00 UTC.
    let s = upsert_schedule_at(
        &pool,
        &spec("halfhourly", "0 */30 * * * *").time_zone("Europe/Paris"),
        datetime!(2026-06-14 21:59:59 UTC),
    )
    .await
    .unwrap();
    assert_eq!(s.next_run_at, datetime!(2026-06-14 22:00 UTC));
    assert_eq!(s.time_zone, "Europe/Paris");
    let started = Instant::now();
    let (fired, _) = drive(
        &pool,
        "halfhourly",
        datetime!(2026-06-15 22:00 UTC),
        secs(3),
    )
    .await;
    let elapsed = started.elapsed();
    eprintln!("48 slots driven in {elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");

    let want = day_locals("2026-06-15", half_hours(0..24));
    assert_eq!(want.len(), 48);
    let fired_locals: Vec<&str> = fired.iter().map(|f| f.slot_local.as_str()).collect();
    assert_eq!(fired_locals, want);
    for (i, f) in fired.iter().enumerate() {
        assert_eq!(
            f.fire_at,
            datetime!(2026-06-14 22:00 UTC) + time::Duration::minutes(30 * i as i64)
        );
        assert!(!f.late);
    }
    let records = slots(&pool, "halfhourly").await;
    assert_eq!(locals(&records), want);
    assert!(
        records.iter().all(|r| r.outcome == SlotOutcome::Fired
            && r.missed == 0
            && r.first_missed_at.is_none())
    );
    // Recorded at the firer's (injected) now.
    assert_eq!(records[0].recorded_at, datetime!(2026-06-14 22:00:03 UTC));
    let jobs = jobs(&pool).await;
    assert_eq!(jobs.len(), 48);
    assert_eq!(
        jobs[0].1,
        "schedule:halfhourly:2026-06-15T00:00:00[Europe/Paris]"
    );
    assert_eq!(
        jobs[0].2,
        json!({"policy": "halfhourly", "slot": {
            "at": "2026-06-14T22:00:00Z", "local": "2026-06-15T00:00:00", "late": false, "missed": 0
        }})
    );
    assert_jobs_match_records(&pool, "halfhourly").await;
    let s = get_schedule(&pool, "halfhourly").await.unwrap().unwrap();
    assert_eq!(s.next_run_at, datetime!(2026-06-15 22:00 UTC));
    assert_eq!(s.last_job_id, Some(jobs[47].0));
    assert_eq!(s.last_run_at, Some(datetime!(2026-06-15 21:30 UTC)));
}

#[tokio::test]
async fn a_fixed_time_fires_once_each_local_day_across_both_dst_changes() {
    let pool = db().await;
    upsert_schedule_at(
        &pool,
        &spec("nightly", "0 30 2 * * *").time_zone("Europe/Paris"),
        datetime!(2026-03-27 12:00 UTC),
    )
    .await
    .unwrap();
    drive(&pool, "nightly", datetime!(2026-03-31 00:00 UTC), secs(1)).await;
    // Jump to the autumn without firing anything in between.
    set_schedule_enabled(&pool, "nightly", false, datetime!(2026-03-31 00:00 UTC))
        .await
        .unwrap();
    set_schedule_enabled(&pool, "nightly", true, datetime!(2026-10-23 12:00 UTC))
        .await
        .unwrap();
    drive(&pool, "nightly", datetime!(2026-10-27 00:00 UTC), secs(1)).await;

    let records = slots(&pool, "nightly").await;
    let got: Vec<(&str, OffsetDateTime)> = records
        .iter()
        .map(|r| (r.slot_local.as_str(), r.slot_at))
        .collect();
    assert_eq!(
        got,
        [
            ("2026-03-28T02:30:00", datetime!(2026-03-28 01:30 UTC)), // CET
            // Spring forward: 02:30 does not exist; the slot moves to 03:00 CEST.
            ("2026-03-29T03:00:00", datetime!(2026-03-29 01:00 UTC)),
            ("2026-03-30T02:30:00", datetime!(2026-03-30 00:30 UTC)), // CEST
            ("2026-10-24T02:30:00", datetime!(2026-10-24 00:30 UTC)), // CEST
            // Fall back: 02:30 happens twice; it fires once, at the first (CEST).
            ("2026-10-25T02:30:00", datetime!(2026-10-25 00:30 UTC)),
            ("2026-10-26T02:30:00", datetime!(2026-10-26 01:30 UTC)), // CET
        ]
    );
    assert!(records.iter().all(|r| r.outcome == SlotOutcome::Fired));
    // One job per local day.
    let mut per_day: BTreeMap<String, usize> = BTreeMap::new();
    for (_, _, args) in jobs(&pool).await {
        let local = args["slot"]["local"].as_str().unwrap().to_owned();
        *per_day.entry(local[..10].to_owned()).or_default() += 1;
    }
    assert_eq!(per_day.len(), 6);
    assert!(per_day.values().all(|&n| n == 1), "{per_day:?}");
    assert_jobs_match_records(&pool, "nightly").await;
}

#[tokio::test]
async fn half_hours_on_the_fall_back_day_fire_every_local_slot_once() {
    let pool = db().await;
    // 2026-10-25 in Paris: 2026-10-24 22:00 UTC (CEST) to 2026-10-25 23:00 UTC (CET), 25 hours.
    upsert_schedule_at(
        &pool,
        &spec("halfhourly", "0 */30 * * * *").time_zone("Europe/Paris"),
        datetime!(2026-10-24 21:59:59 UTC),
    )
    .await
    .unwrap();
    let (fired, due) = drive(
        &pool,
        "halfhourly",
        datetime!(2026-10-25 23:00 UTC),
        secs(2),
    )
    .await;
    // croner yields 50 instants: 02:00 and 02:30 local come twice...
    assert_eq!(due.len(), 50);
    assert!(due.contains(&datetime!(2026-10-25 00:00 UTC))); // 02:00 CEST
    assert!(due.contains(&datetime!(2026-10-25 01:00 UTC))); // 02:00 CET
    // ...and each local slot fires once, at its first instant.
    let want = day_locals("2026-10-25", half_hours(0..24));
    assert_eq!(
        fired
            .iter()
            .map(|f| f.slot_local.as_str())
            .collect::<Vec<_>>(),
        want
    );
    let records = slots(&pool, "halfhourly").await;
    assert_eq!(records.len(), 48);
    assert_eq!(locals(&records), want);
    let at = |local: &str| {
        records
            .iter()
            .find(|r| r.slot_local == local)
            .unwrap()
            .slot_at
    };
    assert_eq!(at("2026-10-25T02:00:00"), datetime!(2026-10-25 00:00 UTC));
    assert_eq!(at("2026-10-25T02:30:00"), datetime!(2026-10-25 00:30 UTC));
    assert_eq!(at("2026-10-25T03:00:00"), datetime!(2026-10-25 02:00 UTC));
    let jobs = jobs(&pool).await;
    assert_eq!(jobs.len(), 48);
    let job_locals: HashSet<&str> = jobs
        .iter()
        .map(|(_, _, a)| a["slot"]["local"].as_str().unwrap())
        .collect();
    assert_eq!(job_locals.len(), 48);
    assert_jobs_match_records(&pool, "halfhourly").await;
    // Nothing was late: the second pass was passed over, not folded.
    assert!(
        records
            .iter()
            .all(|r| r.outcome == SlotOutcome::Fired && r.missed == 0)
    );
}

#[tokio::test]
async fn half_hours_on_the_spring_forward_day_skip_the_gap() {
    let pool = db().await;
    // 2026-03-29 in Paris: 2026-03-28 23:00 UTC (CET) to 2026-03-29 22:00 UTC (CEST), 23 hours.
    upsert_schedule_at(
        &pool,
        &spec("halfhourly", "0 */30 * * * *").time_zone("Europe/Paris"),
        datetime!(2026-03-28 22:59:59 UTC),
    )
    .await
    .unwrap();
    let (fired, due) = drive(
        &pool,
        "halfhourly",
        datetime!(2026-03-29 22:00 UTC),
        secs(2),
    )
    .await;
    assert_eq!(due.len(), 46);
    let want = day_locals("2026-03-29", half_hours((0..2).chain(3..24)));
    assert_eq!(want.len(), 46);
    assert_eq!(
        fired
            .iter()
            .map(|f| f.slot_local.as_str())
            .collect::<Vec<_>>(),
        want
    );
    let records = slots(&pool, "halfhourly").await;
    assert_eq!(locals(&records), want);
    assert!(!records.iter().any(|r| r.slot_local.contains("T02:")));
    // 01:30 CET and then 03:00 CEST are half an hour apart.
    let at = |local: &str| {
        records
            .iter()
            .find(|r| r.slot_local == local)
            .unwrap()
            .slot_at
    };
    assert_eq!(at("2026-03-29T01:30:00"), datetime!(2026-03-29 00:30 UTC));
    assert_eq!(at("2026-03-29T03:00:00"), datetime!(2026-03-29 01:00 UTC));
    assert_eq!(jobs(&pool).await.len(), 46);
    assert_jobs_match_records(&pool, "halfhourly").await;
}

/// An hourly schedule fired at 10:00, then every scheduler down until 13:30: 11:00, 12:00 and
/// 13:00 are all late (13:00 by half an hour). The latest, 13:00, is resolved once, and the
/// two before it are folded into its record.
async fn three_hours_down(catch_up: CatchUp) -> (PgPool, Vec<Fired>) {
    let pool = db().await;
    upsert_schedule_at(
        &pool,
        &spec("hourly", "0 0 * * * *").catch_up(catch_up),
        datetime!(2026-06-01 09:59 UTC),
    )
    .await
    .unwrap();
    let first = fire_due_schedules_at(&pool, datetime!(2026-06-01 10:00:04 UTC), 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert!(!first[0].late);
    let back = fire_due_schedules_at(&pool, datetime!(2026-06-01 13:30 UTC), 10)
        .await
        .unwrap();
    let s = get_schedule(&pool, "hourly").await.unwrap().unwrap();
    assert_eq!(s.next_run_at, datetime!(2026-06-01 14:00 UTC));
    (pool, back)
}

/// After the outage, firing resumes at the next slot as usual.
async fn resumes_at_14(pool: &PgPool, jobs_before: usize) {
    let next = fire_due_schedules_at(pool, datetime!(2026-06-01 14:00:01 UTC), 10)
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].slot_local, "2026-06-01T14:00:00");
    assert!(!next[0].late);
    let records = slots(pool, "hourly").await;
    let last = records.last().unwrap();
    assert_eq!(
        (last.outcome, last.missed, last.first_missed_at),
        (SlotOutcome::Fired, 0, None)
    );
    assert_eq!(jobs(pool).await.len(), jobs_before + 1);
    assert_jobs_match_records(pool, "hourly").await;
}

#[tokio::test]
async fn run_late_once_fires_the_latest_missed_slot_once() {
    let (pool, back) = three_hours_down(CatchUp::RunLateOnce).await;
    assert_eq!(back.len(), 1, "{back:?}");
    assert!(back[0].late);
    assert_eq!(back[0].slot_local, "2026-06-01T13:00:00");
    assert_eq!(back[0].fire_at, datetime!(2026-06-01 13:00 UTC));
    let records = slots(&pool, "hourly").await;
    assert_eq!(
        locals(&records),
        ["2026-06-01T10:00:00", "2026-06-01T13:00:00"]
    );
    let late = &records[1];
    assert_eq!(late.outcome, SlotOutcome::FiredLate);
    assert_eq!(late.missed, 2);
    assert_eq!(late.first_missed_at, Some(datetime!(2026-06-01 11:00 UTC)));
    assert_eq!(late.job_id, Some(back[0].job_id));
    assert_eq!(late.recorded_at, datetime!(2026-06-01 13:30 UTC));
    let jobs = jobs(&pool).await;
    assert_eq!(jobs.len(), 2);
    assert_eq!(
        jobs[1].2["slot"],
        json!({"at": "2026-06-01T13:00:00Z", "local": "2026-06-01T13:00:00", "late": true, "missed": 2})
    );
    let s = get_schedule(&pool, "hourly").await.unwrap().unwrap();
    assert_eq!(s.last_job_id, Some(back[0].job_id));
    assert_eq!(s.last_run_at, Some(datetime!(2026-06-01 13:00 UTC)));
    resumes_at_14(&pool, 2).await;
}

#[tokio::test]
async fn skip_records_the_missed_slots_without_a_job() {
    let (pool, back) = three_hours_down(CatchUp::Skip).await;
    assert!(back.is_empty(), "{back:?}");
    let records = slots(&pool, "hourly").await;
    assert_eq!(
        locals(&records),
        ["2026-06-01T10:00:00", "2026-06-01T13:00:00"]
    );
    let skipped = &records[1];
    assert_eq!(skipped.outcome, SlotOutcome::Skipped);
    assert_eq!(skipped.job_id, None);
    assert_eq!(skipped.missed, 2);
    assert_eq!(
        skipped.first_missed_at,
        Some(datetime!(2026-06-01 11:00 UTC))
    );
    assert_eq!(jobs(&pool).await.len(), 1);
    // The last run is still 10:00's.
    let s = get_schedule(&pool, "hourly").await.unwrap().unwrap();
    assert_eq!(s.last_run_at, Some(datetime!(2026-06-01 10:00 UTC)));
    resumes_at_14(&pool, 1).await;
}

#[tokio::test]
async fn an_on_time_slot_after_an_outage_takes_the_missed_ones_into_its_record() {
    let pool = db().await;
    // Every minute, Skip: down from just after 00:00 until 30 s after the next midnight, when
    // that midnight's slot is still on time. It fires as usual, and the 1,439 minutes between
    // are folded into its record.
    upsert_schedule_at(
        &pool,
        &spec("minutely", "0 * * * * *").catch_up(CatchUp::Skip),
        datetime!(2026-06-01 00:00 UTC) - secs(1),
    )
    .await
    .unwrap();
    fire_due_schedules_at(&pool, datetime!(2026-06-01 00:00:01 UTC), 10)
        .await
        .unwrap();
    let started = Instant::now();
    let back = fire_due_schedules_at(&pool, datetime!(2026-06-02 00:00:30 UTC), 10)
        .await
        .unwrap();
    eprintln!(
        "a day of missed minutes resolved in {:?}",
        started.elapsed()
    );
    assert_eq!(back.len(), 1);
    assert!(!back[0].late);
    assert_eq!(back[0].slot_local, "2026-06-02T00:00:00");
    let records = slots(&pool, "minutely").await;
    assert_eq!(records.len(), 2);
    assert_eq!(
        (
            records[1].outcome,
            records[1].missed,
            records[1].first_missed_at
        ),
        (
            SlotOutcome::Fired,
            1439,
            Some(datetime!(2026-06-01 00:01 UTC))
        )
    );
    assert_eq!(jobs(&pool).await[1].2["slot"]["missed"], 1439);
    assert_eq!(
        get_schedule(&pool, "minutely")
            .await
            .unwrap()
            .unwrap()
            .next_run_at,
        datetime!(2026-06-02 00:01 UTC)
    );
}

#[tokio::test]
async fn a_month_of_missed_seconds_is_bounded() {
    let pool = db().await;
    // Every 2 s, on time for 1 s: back at an odd second plus a half, no slot is on time.
    upsert_schedule_at(
        &pool,
        &spec("busy", "*/2 * * * * *").late_after(Duration::from_secs(1)),
        datetime!(2026-06-01 00:00 UTC) - secs(1),
    )
    .await
    .unwrap();
    let back_at = datetime!(2026-07-01 00:00:01.5 UTC);
    let started = Instant::now();
    let back = fire_due_schedules_at(&pool, back_at, 10).await.unwrap();
    let elapsed = started.elapsed();
    eprintln!("a month of 2-second slots resolved in {elapsed:?}");
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    assert_eq!(back.len(), 1);
    assert!(back[0].late);
    assert_eq!(back[0].fire_at, datetime!(2026-07-01 00:00 UTC));
    let records = slots(&pool, "busy").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, SlotOutcome::FiredLate);
    // 1,296,000 slots were missed before it; the count stops at the cap.
    assert_eq!(records[0].missed, MISSED_COUNT_CAP);
    assert_eq!(
        records[0].first_missed_at,
        Some(datetime!(2026-06-01 00:00 UTC))
    );
    assert_eq!(
        get_schedule(&pool, "busy")
            .await
            .unwrap()
            .unwrap()
            .next_run_at,
        datetime!(2026-07-01 00:00:02 UTC)
    );
}

#[tokio::test]
async fn re_enabling_does_not_count_the_disabled_time_as_missed() {
    let pool = db().await;
    assert!(get_schedule(&pool, "hourly").await.unwrap().is_none());
    assert!(
        set_schedule_enabled(&pool, "hourly", true, datetime!(2026-06-01 10:00 UTC))
            .await
            .unwrap()
            .is_none()
    );
    upsert_schedule_at(
        &pool,
        &spec("hourly", "0 0 * * * *"),
        datetime!(2026-06-01 09:59 UTC),
    )
    .await
    .unwrap();
    fire_due_schedules_at(&pool, datetime!(2026-06-01 10:00:01 UTC), 10)
        .await
        .unwrap();
    let off = set_schedule_enabled(&pool, "hourly", false, datetime!(2026-06-01 10:30 UTC))
        .await
        .unwrap()
        .unwrap();
    assert!(!off.enabled);
    // Disabled: nothing fires however late it gets.
    assert!(
        fire_due_schedules_at(&pool, datetime!(2026-06-01 13:00:01 UTC), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let on = set_schedule_enabled(&pool, "hourly", true, datetime!(2026-06-01 15:20 UTC))
        .await
        .unwrap()
        .unwrap();
    assert!(on.enabled);
    assert_eq!(on.next_run_at, datetime!(2026-06-01 16:00 UTC));
    // Enabling an enabled schedule keeps its pending slot.
    let again = set_schedule_enabled(&pool, "hourly", true, datetime!(2026-06-01 17:20 UTC))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.next_run_at, datetime!(2026-06-01 16:00 UTC));
    let fired = fire_due_schedules_at(&pool, datetime!(2026-06-01 16:00:02 UTC), 10)
        .await
        .unwrap();
    assert_eq!(fired.len(), 1);
    assert!(!fired[0].late);
    let records = slots(&pool, "hourly").await;
    assert_eq!(
        locals(&records),
        ["2026-06-01T10:00:00", "2026-06-01T16:00:00"]
    );
    assert_eq!((records[1].missed, records[1].first_missed_at), (0, None));
}

#[tokio::test]
async fn upserts_keep_the_pending_slot_and_a_new_zone_gets_its_own_slots() {
    let pool = db().await;
    let evening = spec("evening", "0 0 20 * * *");
    upsert_schedule_at(&pool, &evening, datetime!(2026-06-01 12:00 UTC))
        .await
        .unwrap();
    // Re-applied after its slot fell due but before a firer ran: the slot is kept.
    let s = upsert_schedule_at(&pool, &evening, datetime!(2026-06-01 20:00:00.5 UTC))
        .await
        .unwrap();
    assert_eq!(s.next_run_at, datetime!(2026-06-01 20:00 UTC));
    let fired = fire_due_schedules_at(&pool, datetime!(2026-06-01 20:00:01 UTC), 10)
        .await
        .unwrap();
    assert_eq!(fired.len(), 1);
    // Moved to New York at 21:00 UTC (17:00 there): 20:00 local is still to come today, and
    // fires although a UTC slot had the same wall-clock label.
    let s = upsert_schedule_at(
        &pool,
        &evening.clone().time_zone("America/New_York"),
        datetime!(2026-06-01 21:00 UTC),
    )
    .await
    .unwrap();
    assert_eq!(s.next_run_at, datetime!(2026-06-02 00:00 UTC));
    let fired = fire_due_schedules_at(&pool, datetime!(2026-06-02 00:00:01 UTC), 10)
        .await
        .unwrap();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].slot_local, "2026-06-01T20:00:00");
    let keys: Vec<String> = jobs(&pool).await.into_iter().map(|(_, k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "schedule:evening:2026-06-01T20:00:00[UTC]",
            "schedule:evening:2026-06-01T20:00:00[America/New_York]"
        ]
    );
    let records = slots(&pool, "evening").await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].slot_at, datetime!(2026-06-02 00:00 UTC));
}

#[tokio::test]
async fn a_schedule_with_no_slot_left_fires_its_last_and_is_disabled() {
    let pool = db().await;
    // croner's optional 7th field is the year: one slot, 2026-06-01 12:00.
    let s = upsert_schedule_at(
        &pool,
        &spec("once", "0 0 12 1 6 * 2026"),
        datetime!(2026-05-01 00:00 UTC),
    )
    .await
    .unwrap();
    assert_eq!(s.next_run_at, datetime!(2026-06-01 12:00 UTC));
    let started = Instant::now();
    let fired = fire_due_schedules_at(&pool, datetime!(2026-06-01 12:00:01 UTC), 10)
        .await
        .unwrap();
    eprintln!("last slot resolved in {:?}", started.elapsed());
    assert_eq!(fired.len(), 1);
    let s = get_schedule(&pool, "once").await.unwrap().unwrap();
    assert!(!s.enabled);
    assert_eq!(s.last_job_id, Some(fired[0].job_id));
    assert!(
        fire_due_schedules_at(&pool, datetime!(2027-01-01 00:00 UTC), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Past its last slot it cannot be created again.
    assert!(matches!(
        upsert_schedule_at(
            &pool,
            &spec("once", "0 0 12 1 6 * 2026"),
            datetime!(2026-07-01 00:00 UTC)
        )
        .await,
        Err(SchedulerError::Invalid(_))
    ));
}

#[tokio::test]
async fn list_slots_pages_newest_first() {
    let pool = db().await;
    upsert_schedule_at(
        &pool,
        &spec("hourly", "0 0 * * * *"),
        datetime!(2026-06-01 00:00 UTC) - secs(1),
    )
    .await
    .unwrap();
    drive(&pool, "hourly", datetime!(2026-06-01 10:00 UTC), secs(1)).await;
    let page = list_slots(&pool, "hourly", None, 4).await.unwrap();
    assert_eq!(
        locals(&page),
        [
            "2026-06-01T09:00:00",
            "2026-06-01T08:00:00",
            "2026-06-01T07:00:00",
            "2026-06-01T06:00:00"
        ]
    );
    let next = list_slots(&pool, "hourly", Some(page[3].slot_at), 4)
        .await
        .unwrap();
    assert_eq!(next[0].slot_local, "2026-06-01T05:00:00");
    let last = list_slots(&pool, "hourly", Some(next[3].slot_at), 4)
        .await
        .unwrap();
    assert_eq!(
        locals(&last),
        ["2026-06-01T01:00:00", "2026-06-01T00:00:00"]
    );
    assert!(
        list_slots(&pool, "other", None, 4)
            .await
            .unwrap()
            .is_empty()
    );
    // Deleting the schedule deletes its records.
    assert!(delete_schedule(&pool, "hourly").await.unwrap());
    assert!(
        list_slots(&pool, "hourly", None, 4)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_firers_with_injected_times_never_double_fire() {
    let pool = db().await;
    let start = datetime!(2026-10-24 22:00 UTC); // through the Paris fall-back night
    let names = ["a", "b", "c"];
    for (i, name) in names.iter().enumerate() {
        upsert_schedule_at(
            &pool,
            &spec(name, "0 */10 * * * *")
                .time_zone("Europe/Paris")
                .catch_up(if i == 2 {
                    CatchUp::Skip
                } else {
                    CatchUp::RunLateOnce
                }),
            start - secs(1),
        )
        .await
        .unwrap();
    }
    let end = start + time::Duration::hours(6);
    let mut tasks = Vec::new();
    for t in 0..6i64 {
        let pool = pool.clone();
        // Each firer has its own clock: different steps, some far enough apart to find slots
        // late (and so fold them), all racing on the same rows.
        let step = secs(45 + 70 * t);
        tasks.push(tokio::spawn(async move {
            let mut fired = Vec::new();
            let mut now = start + secs(t);
            while now < end {
                fired.extend(fire_due_schedules_at(&pool, now, 2).await.unwrap());
                now += step;
            }
            fired
        }));
    }
    let mut fired = Vec::new();
    for t in tasks {
        fired.extend(t.await.unwrap());
    }
    let mut seen = HashSet::new();
    for f in &fired {
        assert!(
            seen.insert((f.name.clone(), f.slot_local.clone())),
            "{} {} fired twice",
            f.name,
            f.slot_local
        );
    }
    let jobs = jobs(&pool).await;
    assert_eq!(jobs.len(), fired.len());
    for name in names {
        assert_jobs_match_records(&pool, name).await;
        // Every local slot up to the schedule's next one is accounted for exactly once: by its
        // own record or folded into a later one. 22:00 UTC (00:00 CEST) to the next run, with
        // 02:00–02:50 local counted once although the clock shows it twice.
        let s = get_schedule(&pool, name).await.unwrap().unwrap();
        let mut local_slots = HashSet::new();
        let mut at = start;
        while at < s.next_run_at {
            let local = at
                .checked_add(time::Duration::hours(
                    if at < datetime!(2026-10-25 01:00 UTC) {
                        2
                    } else {
                        1
                    },
                ))
                .unwrap();
            local_slots.insert(local);
            at += time::Duration::minutes(10);
        }
        let records = slots(&pool, name).await;
        let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &records {
            *outcomes.entry(r.outcome.as_str()).or_default() += 1;
        }
        let folded: i32 = records.iter().map(|r| r.missed).sum();
        eprintln!(
            "{name}: {outcomes:?}, {folded} folded, next {}",
            s.next_run_at
        );
        let accounted: i64 = records.iter().map(|r| 1 + i64::from(r.missed)).sum();
        assert_eq!(accounted, local_slots.len() as i64, "{name}: {records:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_firing_fires_each_occurrence_once() {
    let pool = db().await;
    let s = upsert_schedule(&pool, &spec("nightly", "0 0 * * *"))
        .await
        .unwrap();
    assert!(s.next_run_at > OffsetDateTime::now_utc());
    assert_eq!(list_schedules(&pool).await.unwrap().len(), 1);
    for round in 0..5 {
        // Make an occurrence due (a distinct second each round: slots are identified by their
        // local time to the second), then race 8 "replicas".
        sqlx::query(
            "UPDATE schedules \
             SET next_run_at = date_trunc('second', now()) - make_interval(secs => 5 - $1) \
             WHERE name = 'nightly'",
        )
        .bind(round as f64)
        .execute(&pool)
        .await
        .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                fire_due_schedules(&pool, 10).await.unwrap()
            }));
        }
        let mut fired = Vec::new();
        for t in tasks {
            fired.extend(t.await.unwrap());
        }
        assert_eq!(fired.len(), 1, "round {round}: {fired:?}");
        let s = &list_schedules(&pool).await.unwrap()[0];
        assert!(s.next_run_at > OffsetDateTime::now_utc());
        assert_eq!(s.last_job_id, Some(fired[0].job_id));
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'backup.run'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_services_never_double_fire() {
    let pool = db().await;
    upsert_schedule(&pool, &spec("every-second", "* * * * * *"))
        .await
        .unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let mut services = Vec::new();
    for _ in 0..2 {
        let config = SchedulerConfig {
            cron_interval: Duration::from_millis(20),
            rescue_interval: Duration::from_millis(100),
            ..SchedulerConfig::default()
        };
        let service = config.build(pool.clone()).unwrap();
        services.push(tokio::spawn(service.run(shutdown.clone())));
    }
    common::eventually(
        "three occurrences fired",
        Duration::from_secs(30),
        || async {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
                .fetch_one(&pool)
                .await
                .unwrap();
            (n >= 3).then_some(())
        },
    )
    .await;
    shutdown.cancel();
    for s in services {
        s.await.unwrap().unwrap();
    }
    let keys: Vec<String> = sqlx::query_scalar("SELECT idempotency_key FROM jobs ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let distinct: HashSet<&String> = keys.iter().collect();
    assert_eq!(distinct.len(), keys.len());
    // Each job is one slot's, and no slot has two.
    assert_jobs_match_records(&pool, "every-second").await;
}

#[tokio::test]
async fn delete_schedule_stops_it() {
    let pool = db().await;
    upsert_schedule(&pool, &spec("x", "* * * * *"))
        .await
        .unwrap();
    assert!(delete_schedule(&pool, "x").await.unwrap());
    assert!(!delete_schedule(&pool, "x").await.unwrap());
    assert!(fire_due_schedules(&pool, 10).await.unwrap().is_empty());
}

#[test]
fn catch_up_and_outcome_spellings_round_trip() {
    for c in CatchUp::ALL {
        assert_eq!(CatchUp::parse(c.as_str()).unwrap(), c);
        assert_eq!(c.to_string().parse::<CatchUp>().unwrap(), c);
    }
    assert_eq!(CatchUp::default(), CatchUp::RunLateOnce);
    assert!(matches!(
        CatchUp::parse("later"),
        Err(SchedulerError::Invalid(m)) if m.contains("\"later\"")
    ));
    for o in SlotOutcome::ALL {
        assert_eq!(SlotOutcome::parse(o.as_str()).unwrap(), o);
    }
    assert!(SlotOutcome::parse("maybe").is_err());
}
