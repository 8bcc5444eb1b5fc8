//! Durable Postgres job queue of the fleet platform: schema, enqueue/claim/lease API, the worker
//! loop ([`Runner`]) and the scheduler service ([`SchedulerService`]: lease rescue, cron,
//! pruning), plus queue statistics and recurring schedules ([`schedule`]: cron expressions in
//! IANA time zones, each slot recorded and fired once, catch-up after outages).
//!
//! # State machine
//!
//! ```text
//!            enqueue (run_at > now)                 enqueue (run_at <= now)
//!                 │                                        │
//!                 ▼                                        ▼
//!            ┌──────────┐                           ┌───────────┐
//!            │scheduled │                           │ available │◄──── rescue (lease expired,
//!            └────┬─────┘                           └─────┬─────┘       attempts left) /
//!                 │ claim (run_at <= now)                 │ claim        release (stop)
//!                 └───────────────┐   ┌───────────────────┘
//!                                 ▼   ▼           ┌───────────┐
//!   snooze (attempt not consumed) ┌───────┐ retry │ retryable │── claim (run_at <= now) ──┐
//!   scheduled ◄───────────────────│running│──────►└───────────┘                           │
//!                                 └───┬───┘◄──────────────────────────────────────────────┘
//!                 complete ┌──────────┼──────────┐ fail / retry with attempts exhausted /
//!                          ▼          ▼          ▼ rescue with attempts exhausted
//!                     completed   cancelled    failed
//! ```
//!
//! | from | event | to |
//! |---|---|---|
//! | — | enqueue, `run_at` absent or past | `available` |
//! | — | enqueue, `run_at` in the future | `scheduled` |
//! | `available`, `scheduled`, `retryable` | claim: `run_at <= now()`, zone not paused, no earlier unfinished job on the same resource; `attempt += 1`, `lease_token += 1`, lease set | `running` |
//! | `available`, `scheduled`, `retryable`, never run (`started_at` null) | [`cancel_job`] | `cancelled` |
//! | `available`, `scheduled`, `retryable`, has run (`started_at` set) | [`cancel_job`] | `available` now with `cancel_requested = true` (its handler runs once more to undo its partial work, and returns [`Outcome::Cancelled`]) |
//! | `running` | [`cancel_job`] | `running` with `cancel_requested = true` (the handler sees it at its next heartbeat / progress / snooze call, or at its next claim, and returns [`Outcome::Cancelled`]) |
//! | `running` | complete (fenced) | `completed` |
//! | `running` | fail (fenced) | `failed` |
//! | `running` | retry (fenced), `attempt < max_attempts` | `retryable`, `run_at = now() + backoff` |
//! | `running` | retry (fenced), `attempt >= max_attempts` | `failed` |
//! | `running` | snooze (fenced): `attempt -= 1`, progress recorded | `scheduled`, `run_at = until` |
//! | `running` | finish cancelled (fenced) | `cancelled` |
//! | `running` | release (fenced, graceful stop): `attempt -= 1` | `available` |
//! | `running` | rescue: lease expired, attempts left (attempt kept, lost lease recorded in `errors`) | `available` |
//! | `running` | rescue: lease expired, `attempt >= max_attempts` | `failed` |
//! | `running` | rescue: lease expired, `cancel_requested` | `cancelled` |
//! | `completed`, `failed`, `cancelled` | pruned after the retention | (deleted) |
//!
//! Every write of a running attempt is fenced by its lease token: a superseded attempt gets
//! [`SchedulerError::Fenced`] and changes nothing.
//!
//! # Resource serialization
//!
//! A job may name a `resource` (e.g. `fr-par-1/server/<uuid>`). A job is claimable only when no
//! job with a smaller id on the same resource is unfinished (`scheduled`, `available`,
//! `running`, `retryable`); so jobs on one resource run one at a time, in acceptance order, and a
//! second job waits instead of failing. Acceptance order equals id order because enqueue takes a
//! transaction-scoped advisory lock on each resource before drawing ids, so on one resource ids
//! are drawn in commit order. The check is a probe of a partial index
//! (`jobs_resource_unfinished_idx`) inside the claim statement, so it holds under any number
//! of concurrent claimers (the earlier job is unfinished in every snapshot until it commits a
//! terminal state).
//!
//! # Wake-ups
//!
//! Enqueue sends one `NOTIFY` per call and zone in the enqueuing transaction; [`Listener`]
//! forwards it to runners, which coalesce bursts into one claim and also poll (default 1 s).
//! Fenced writes and cancels notify job ids on a second channel for watchers
//! ([`wait_for_change`]).

pub mod claim;
pub mod enqueue;
pub mod error;
pub mod job;
pub mod lease;
pub mod metrics;
pub mod notify;
pub mod ops;
pub mod runner;
pub mod schedule;
pub mod service;
pub mod stats;
pub mod wake;
pub mod zone_lease;
pub mod zones;

pub use claim::{ClaimRequest, ClaimedJob, JobControl, Lease, claim};
pub use enqueue::{Enqueued, enqueue, enqueue_many, enqueue_many_tx, enqueue_tx};
pub use error::{Result, SchedulerError};
pub use job::{ErrorEntry, Job, JobError, JobState, NewJob, Progress};
pub use lease::{
    Completion, LeaseAck, RetryDecision, RetryPolicy, complete, complete_many, fail,
    finish_cancelled, heartbeat, heartbeat_many, record_progress, release, retry, snooze,
};
pub use notify::{Listener, ListenerEvent};
pub use ops::{CancelOutcome, JobFilter, JobPage, cancel_job, get_job, list_jobs, wait_for_change};
pub use runner::{Outcome, Runner, RunnerConfig, RunnerCounters};
pub use schedule::{
    CatchUp, DEFAULT_LATE_AFTER, DEFAULT_TIME_ZONE, Fired, MAX_FIRES_PER_CALL, MIN_LATE_AFTER,
    MISSED_COUNT_CAP, Schedule, ScheduleSpec, Slot, SlotOutcome, delete_schedule,
    fire_due_schedules, fire_due_schedules_at, get_schedule, list_schedules, list_slots, next_fire,
    set_schedule_enabled, upsert_schedule, upsert_schedule_at,
};
pub use service::{Rescued, SchedulerConfig, SchedulerService, prune_finished, rescue_expired};
pub use stats::{QueueStat, queue_stats};
pub use wake::wake_jobs;
pub use zone_lease::{
    LeaseEpoch, WorkerMember, ZoneLease, heartbeat_worker, lease_history, leave_workers,
    live_workers, prune_lease_history, release_zone, renew_zone, try_acquire_zone, zone_owner,
    zone_owners,
};
pub use zones::{ZonePause, list_zone_pauses, pause_zone, resume_zone};

/// The migrations of `migrations/` (shared by the workspace), embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Applies pending migrations. Safe to run from several processes at once: sqlx's migrator
/// holds a Postgres advisory lock while it migrates.
pub async fn migrate(pool: &sqlx::PgPool) -> Result<()> {
    MIGRATOR.run(pool).await?;
    Ok(())
}
