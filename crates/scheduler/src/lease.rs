//! Fenced writes of a running attempt: heartbeat, progress, complete (one or a batch), fail,
//! retry with back-off, snooze, cancel, release.
//!
//! Every statement matches `id = $id AND lease_token = $token AND state = 'running'`, so an
//! attempt whose lease expired and was re-claimed (a newer token exists) cannot change the job:
//! the call returns [`SchedulerError::Fenced`]. Each write also sends a job-change `NOTIFY`
//! (one per statement) for `WaitOperation`-style watchers.

use std::time::Duration;

use serde_json::Value;
use sqlx::{PgPool, Row};
use time::OffsetDateTime;

use crate::claim::Lease;
use crate::error::{Result, SchedulerError};
use crate::job::{JobError, JobState, Progress};
use crate::notify::JOB_EVENTS_CHANNEL;

/// What a heartbeat, progress or snooze call learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseAck {
    /// A cancel was requested: stop at this step and return `Outcome::Cancelled`.
    pub cancel_requested: bool,
}

/// Exponential back-off with jitter: attempt `n` waits
/// `min(max, base * 2^(n-1)) * (1 + jitter * random())`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
    /// 0.0 – 1.0.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max: Duration::from_secs(3600),
            jitter: 0.2,
        }
    }
}

/// Where a retry sent the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryDecision {
    /// `Retryable`, or `Failed` when attempts are exhausted.
    pub state: JobState,
    pub run_at: OffsetDateTime,
}

/// One completion of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub job_id: i64,
    pub token: i64,
    pub result: Value,
}

/// Builds the `Fenced`/`NotFound` error after a fenced write matched no row.
pub(crate) async fn lost(pool: &PgPool, lease: &Lease) -> SchedulerError {
    let row = sqlx::query("SELECT state, lease_token FROM jobs WHERE id = $1")
        .bind(lease.job_id)
        .fetch_optional(pool)
        .await;
    match row {
        Ok(None) => SchedulerError::NotFound(lease.job_id),
        Ok(Some(row)) => {
            let state: String = match row.try_get("state") {
                Ok(s) => s,
                Err(e) => return e.into(),
            };
            let state = match state.parse() {
                Ok(s) => s,
                Err(e) => return e,
            };
            SchedulerError::Fenced {
                job_id: lease.job_id,
                token: lease.token,
                current_token: row.try_get("lease_token").unwrap_or(-1),
                state,
            }
        }
        Err(e) => e.into(),
    }
}

/// Runs a fenced single-job update that returns `cancel_requested`.
async fn fenced_ack(
    pool: &PgPool,
    lease: &Lease,
    query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> Result<LeaseAck> {
    match query.fetch_optional(pool).await? {
        Some(row) => Ok(LeaseAck {
            cancel_requested: row.try_get("cancel_requested")?,
        }),
        None => Err(lost(pool, lease).await),
    }
}

const FENCE: &str = "id = $1 AND lease_token = $2 AND state = 'running'";

/// Extends the lease to `now() + extend`.
pub async fn heartbeat(pool: &PgPool, lease: &Lease, extend: Duration) -> Result<LeaseAck> {
    let q = sqlx::query(
        "UPDATE jobs SET lease_expires_at = now() + $3 * interval '1 second' \
         WHERE id = $1 AND lease_token = $2 AND state = 'running' \
         RETURNING cancel_requested",
    )
    .bind(lease.job_id)
    .bind(lease.token)
    .bind(extend.as_secs_f64());
    fenced_ack(pool, lease, q).await
}

/// Extends many leases in one statement. Returns `(job_id, cancel_requested)` for the leases
/// still held; a lease missing from the answer is lost.
pub async fn heartbeat_many(
    pool: &PgPool,
    leases: &[(i64, i64)],
    extend: Duration,
) -> Result<Vec<(i64, bool)>> {
    if leases.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = leases.iter().map(|l| l.0).collect();
    let tokens: Vec<i64> = leases.iter().map(|l| l.1).collect();
    let rows = sqlx::query(
        "UPDATE jobs SET lease_expires_at = now() + $3 * interval '1 second' \
         FROM unnest($1::int8[], $2::int8[]) AS u(id, token) \
         WHERE jobs.id = u.id AND jobs.lease_token = u.token AND jobs.state = 'running' \
         RETURNING jobs.id, jobs.cancel_requested",
    )
    .bind(&ids)
    .bind(&tokens)
    .bind(extend.as_secs_f64())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("cancel_requested")?)))
        .collect()
}

/// Records progress.
pub async fn record_progress(
    pool: &PgPool,
    lease: &Lease,
    progress: &Progress,
) -> Result<LeaseAck> {
    let progress = serde_json::to_value(progress)
        .map_err(|e| SchedulerError::Invalid(format!("progress: {e}")))?;
    let q = sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH upd AS (UPDATE jobs SET progress = $3, updated_at = now() WHERE {FENCE} \
                      RETURNING id, cancel_requested) \
         SELECT cancel_requested, pg_notify($4, id::text) FROM upd"
    )))
    .bind(lease.job_id)
    .bind(lease.token)
    .bind(progress)
    .bind(JOB_EVENTS_CHANNEL);
    fenced_ack(pool, lease, q).await
}

/// Completes the job.
pub async fn complete(pool: &PgPool, lease: &Lease, result: &Value) -> Result<()> {
    let fenced = complete_many(
        pool,
        &[Completion {
            job_id: lease.job_id,
            token: lease.token,
            result: result.clone(),
        }],
    )
    .await?;
    if fenced.is_empty() {
        Ok(())
    } else {
        Err(lost(pool, lease).await)
    }
}

/// Completes many jobs in one statement (one commit). Returns the ids whose completion was
/// rejected by the fence (lease superseded or job no longer running).
pub async fn complete_many(pool: &PgPool, items: &[Completion]) -> Result<Vec<i64>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = items.iter().map(|c| c.job_id).collect();
    let tokens: Vec<i64> = items.iter().map(|c| c.token).collect();
    let results: Vec<&Value> = items.iter().map(|c| &c.result).collect();
    let done: Vec<i64> = sqlx::query_scalar(
        "WITH upd AS ( \
           UPDATE jobs SET state = 'completed', result = u.result, finished_at = now(), \
                  updated_at = now(), lease_owner = NULL, lease_expires_at = NULL \
           FROM unnest($1::int8[], $2::int8[], $3::jsonb[]) AS u(id, token, result) \
           WHERE jobs.id = u.id AND jobs.lease_token = u.token AND jobs.state = 'running' \
           RETURNING jobs.id \
         ), notified AS ( \
           SELECT pg_notify($4, string_agg(id::text, ',')) \
           FROM (SELECT id, (row_number() OVER ()) / 500 AS chunk FROM upd) AS s GROUP BY chunk \
         ) \
         SELECT upd.id FROM upd CROSS JOIN (SELECT count(*) FROM notified) AS n",
    )
    .bind(&ids)
    .bind(&tokens)
    .bind(&results)
    .bind(JOB_EVENTS_CHANNEL)
    .fetch_all(pool)
    .await?;
    if done.len() == items.len() {
        return Ok(Vec::new());
    }
    let done: std::collections::HashSet<i64> = done.into_iter().collect();
    Ok(ids.into_iter().filter(|id| !done.contains(id)).collect())
}

const ERROR_ENTRY: &str = "jsonb_build_array(jsonb_build_object('attempt', attempt, 'at', now(), \
     'kind', $3::text, 'message', $4::text, 'details', $5::jsonb, 'owner', lease_owner))";

/// Fails the job for good (no further attempt), recording the error.
pub async fn fail(pool: &PgPool, lease: &Lease, error: &JobError) -> Result<()> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH upd AS (UPDATE jobs SET state = 'failed', errors = errors || {ERROR_ENTRY}, \
                      finished_at = now(), updated_at = now(), lease_owner = NULL, \
                      lease_expires_at = NULL WHERE {FENCE} RETURNING id) \
         SELECT id, pg_notify($6, id::text) FROM upd"
    )))
    .bind(lease.job_id)
    .bind(lease.token)
    .bind(&error.kind)
    .bind(&error.message)
    .bind(&error.details)
    .bind(JOB_EVENTS_CHANNEL)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(_) => Ok(()),
        None => Err(lost(pool, lease).await),
    }
}

/// Records the error and schedules the next attempt after an exponential, jittered back-off
/// (or `error.retry_after`); fails the job when `attempt >= max_attempts`.
pub async fn retry(
    pool: &PgPool,
    lease: &Lease,
    error: &JobError,
    policy: &RetryPolicy,
) -> Result<RetryDecision> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH upd AS (UPDATE jobs SET \
             state = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'retryable' END, \
             run_at = CASE WHEN attempt >= max_attempts THEN run_at ELSE now() + \
                 coalesce($7, least($9, $8 * power(2.0::float8, greatest(attempt - 1, 0))) \
                              * (1 + $10 * random())) * interval '1 second' END, \
             finished_at = CASE WHEN attempt >= max_attempts THEN now() END, \
             errors = errors || {ERROR_ENTRY}, updated_at = now(), \
             lease_owner = NULL, lease_expires_at = NULL \
           WHERE {FENCE} RETURNING id, state, run_at) \
         SELECT state, run_at, pg_notify($6, id::text) FROM upd"
    )))
    .bind(lease.job_id)
    .bind(lease.token)
    .bind(&error.kind)
    .bind(&error.message)
    .bind(&error.details)
    .bind(JOB_EVENTS_CHANNEL)
    .bind(error.retry_after.map(|d| d.as_secs_f64()))
    .bind(policy.base.as_secs_f64())
    .bind(policy.max.as_secs_f64())
    .bind(policy.jitter.clamp(0.0, 1.0))
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => {
            let state: String = row.try_get("state")?;
            Ok(RetryDecision {
                state: state.parse()?,
                run_at: row.try_get("run_at")?,
            })
        }
        None => Err(lost(pool, lease).await),
    }
}

/// Reschedules the job at `until` (state `scheduled`) without consuming an attempt, optionally
/// recording progress. Used to poll remote state without holding a worker slot.
pub async fn snooze(
    pool: &PgPool,
    lease: &Lease,
    until: OffsetDateTime,
    progress: Option<&Progress>,
) -> Result<LeaseAck> {
    let progress = progress
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| SchedulerError::Invalid(format!("progress: {e}")))?;
    let q = sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH upd AS (UPDATE jobs SET state = 'scheduled', run_at = $3, \
                      attempt = greatest(attempt - 1, 0), progress = coalesce($4, progress), \
                      updated_at = now(), lease_owner = NULL, lease_expires_at = NULL \
                      WHERE {FENCE} RETURNING id, cancel_requested) \
         SELECT cancel_requested, pg_notify($5, id::text) FROM upd"
    )))
    .bind(lease.job_id)
    .bind(lease.token)
    .bind(until)
    .bind(progress)
    .bind(JOB_EVENTS_CHANNEL);
    fenced_ack(pool, lease, q).await
}

/// Finishes the job as cancelled (the handler saw the cancel request and stopped).
pub async fn finish_cancelled(
    pool: &PgPool,
    lease: &Lease,
    reason: Option<&JobError>,
) -> Result<()> {
    let reason = reason
        .cloned()
        .unwrap_or_else(|| JobError::new("cancelled", "cancelled by request"));
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH upd AS (UPDATE jobs SET state = 'cancelled', errors = errors || {ERROR_ENTRY}, \
                      finished_at = now(), updated_at = now(), lease_owner = NULL, \
                      lease_expires_at = NULL WHERE {FENCE} RETURNING id) \
         SELECT id, pg_notify($6, id::text) FROM upd"
    )))
    .bind(lease.job_id)
    .bind(lease.token)
    .bind(&reason.kind)
    .bind(&reason.message)
    .bind(&reason.details)
    .bind(JOB_EVENTS_CHANNEL)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(_) => Ok(()),
        None => Err(lost(pool, lease).await),
    }
}

/// Gives the job back (available now) without consuming an attempt: graceful stop.
pub async fn release(pool: &PgPool, lease: &Lease) -> Result<()> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE jobs SET state = 'available', run_at = now(), \
                attempt = greatest(attempt - 1, 0), updated_at = now(), lease_owner = NULL, \
                lease_expires_at = NULL WHERE {FENCE} RETURNING id"
    )))
    .bind(lease.job_id)
    .bind(lease.token)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(_) => Ok(()),
        None => Err(lost(pool, lease).await),
    }
}
