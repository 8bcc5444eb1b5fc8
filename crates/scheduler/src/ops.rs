//! Operations-service queries: get, list (keyset-paginated), cancel, and waiting for a change.

use std::time::Duration;

use sqlx::{PgExecutor, PgPool, Row};
use time::OffsetDateTime;
use tokio::sync::broadcast::error::RecvError;

use crate::error::{Result, SchedulerError};
use crate::job::{JOB_COLUMNS, Job, JobState};
use crate::notify::{JOB_EVENTS_CHANNEL, Listener, ListenerEvent};

/// Gets a job by id.
pub async fn get_job<'e>(executor: impl PgExecutor<'e>, id: i64) -> Result<Job> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await?
    .ok_or(SchedulerError::NotFound(id))
}

/// Filters for [`list_jobs`]; `None`/empty means "any".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    pub states: Vec<JobState>,
    pub kind: Option<String>,
    pub zone: Option<String>,
    pub resource: Option<String>,
    pub caller: Option<String>,
    pub project: Option<String>,
}

/// A page of jobs, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next_after: Option<i64>,
}

/// Lists jobs matching `filter`, newest (highest id) first, `limit` per page (1–1000). `after`
/// is the previous page's `next_after` (keyset pagination on id).
pub async fn list_jobs(
    pool: &PgPool,
    filter: &JobFilter,
    after: Option<i64>,
    limit: u32,
) -> Result<JobPage> {
    let limit = limit.clamp(1, 1000) as i64;
    let states: Option<Vec<&str>> =
        (!filter.states.is_empty()).then(|| filter.states.iter().map(|s| s.as_str()).collect());
    let mut jobs: Vec<Job> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs \
         WHERE ($1::int8 IS NULL OR id < $1) \
           AND ($2::text[] IS NULL OR state = ANY ($2)) \
           AND ($3::text IS NULL OR kind = $3) \
           AND ($4::text IS NULL OR zone = $4) \
           AND ($5::text IS NULL OR resource = $5) \
           AND ($6::text IS NULL OR caller = $6) \
           AND ($7::text IS NULL OR project = $7) \
         ORDER BY id DESC LIMIT $8"
    )))
    .bind(after)
    .bind(states)
    .bind(&filter.kind)
    .bind(&filter.zone)
    .bind(&filter.resource)
    .bind(&filter.caller)
    .bind(&filter.project)
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    let next_after = if jobs.len() as i64 > limit {
        jobs.truncate(limit as usize);
        jobs.last().map(|j| j.id)
    } else {
        None
    };
    Ok(JobPage { jobs, next_after })
}

/// What [`cancel_job`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The job was waiting (scheduled/available/retryable) and is now cancelled.
    Cancelled,
    /// The job is running, or has run and waits: `cancel_requested` is set; its handler sees
    /// it at its next step (a waiting one is made claimable at once for that).
    Requested,
    /// The job had already finished in this state.
    AlreadyFinished(JobState),
}

/// Cancels a job: at once when it never ran, cooperatively when it is running or has run.
///
/// A job that has run (`started_at` set) may hold partial work upstream (a server it
/// created): while it waits (`scheduled`, `retryable`, `available` after a rescue) it is
/// made `available` now with `cancel_requested`, so that its handler runs once more, undoes
/// what it made and returns [`crate::Outcome::Cancelled`]. A job that never ran is cancelled
/// at once.
pub async fn cancel_job(pool: &PgPool, id: i64) -> Result<CancelOutcome> {
    let row = sqlx::query(
        "WITH upd AS ( \
           UPDATE jobs SET cancel_requested = true, updated_at = now(), \
                  state = CASE WHEN state = 'running' THEN 'running' \
                               WHEN started_at IS NOT NULL THEN 'available' \
                               ELSE 'cancelled' END, \
                  run_at = CASE WHEN state <> 'running' AND started_at IS NOT NULL \
                                THEN now() ELSE run_at END, \
                  finished_at = CASE WHEN state = 'running' OR started_at IS NOT NULL \
                                     THEN NULL ELSE now() END \
           WHERE id = $1 AND state IN ('scheduled', 'available', 'retryable', 'running') \
           RETURNING id, state) \
         SELECT state, pg_notify($2, id::text) FROM upd",
    )
    .bind(id)
    .bind(JOB_EVENTS_CHANNEL)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => {
            let state: String = row.try_get("state")?;
            Ok(if state == "running" || state == "available" {
                CancelOutcome::Requested
            } else {
                CancelOutcome::Cancelled
            })
        }
        None => {
            let job = get_job(pool, id).await?;
            Ok(CancelOutcome::AlreadyFinished(job.state))
        }
    }
}

/// Waits until job `id` changes after `since` (its `updated_at`; `None` = wait until it
/// finishes), finishes, or `timeout` passes; returns the job as last read. With a listener, wakes on the job's change
/// notification; it also re-reads every `poll` as a fallback (claims do not notify).
pub async fn wait_for_change(
    pool: &PgPool,
    listener: Option<&Listener>,
    id: i64,
    since: Option<OffsetDateTime>,
    timeout: Duration,
    poll: Duration,
) -> Result<Job> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut events = listener.map(|l| l.subscribe());
    loop {
        let job = get_job(pool, id).await?;
        let changed = since.is_some_and(|since| job.updated_at > since);
        if changed || job.state.is_terminal() {
            return Ok(job);
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok(job);
        }
        let wait_until = (now + poll).min(deadline);
        match events.as_mut() {
            Some(rx) => loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(wait_until) => break,
                    event = rx.recv() => match event {
                        Ok(ListenerEvent::JobsChanged { ids }) if ids.contains(&id) => break,
                        Ok(ListenerEvent::Reconnected) | Err(RecvError::Lagged(_)) => break,
                        Ok(_) => {}
                        Err(RecvError::Closed) => {
                            tokio::time::sleep_until(wait_until).await;
                            break;
                        }
                    },
                }
            },
            None => tokio::time::sleep_until(wait_until).await,
        }
    }
}
