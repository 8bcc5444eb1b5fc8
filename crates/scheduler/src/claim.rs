//! Claiming: one statement picks a batch of due jobs (`FOR UPDATE SKIP LOCKED` inside the
//! selecting CTE) and gives each a lease with a fresh fencing token.
//!
//! A job is claimable when it is `available`, `scheduled` or `retryable` with `run_at <= now()`
//! (due jobs are claimed directly; there is no separate promotion write), its zone is in the
//! requested set and not paused, and no earlier-accepted (smaller id) unfinished job on the same
//! `resource` exists. Order: `priority`, then `run_at`, then `id`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::error::{Result, SchedulerError};
use crate::job::{JOB_COLUMNS, Job, JobError, Progress};
use crate::lease::{self, LeaseAck, RetryDecision, RetryPolicy};

/// The lease of one claimed attempt: every write of the attempt is fenced by `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job_id: i64,
    /// Fencing token: incremented on every claim of the job.
    pub token: i64,
    pub owner: String,
}

/// What to claim.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    /// Zones to claim from (paused zones are skipped).
    pub zones: Vec<String>,
    /// Lease owner id (worker instance).
    pub owner: String,
    /// At most this many jobs.
    pub limit: usize,
    /// Initial lease duration.
    pub lease: Duration,
}

/// Shared flags of a running attempt, updated by heartbeats and progress calls.
#[derive(Debug, Default)]
pub struct JobControl {
    cancel_requested: AtomicBool,
    lease_lost: AtomicBool,
    changed: Notify,
}

impl JobControl {
    pub(crate) fn set_cancel_requested(&self) {
        if !self.cancel_requested.swap(true, Ordering::SeqCst) {
            self.changed.notify_waiters();
        }
    }

    pub(crate) fn set_lease_lost(&self) {
        if !self.lease_lost.swap(true, Ordering::SeqCst) {
            self.changed.notify_waiters();
        }
    }

    pub fn cancel_requested(&self) -> bool {
        self.cancel_requested.load(Ordering::SeqCst)
    }

    pub fn lease_lost(&self) -> bool {
        self.lease_lost.load(Ordering::SeqCst)
    }
}

/// A claimed job: the row as claimed, its lease, and fenced operations on it.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub job: Job,
    pub lease: Lease,
    pool: PgPool,
    control: Arc<JobControl>,
}

impl ClaimedJob {
    pub(crate) fn new(job: Job, pool: PgPool) -> Self {
        let lease = Lease {
            job_id: job.id,
            token: job.lease_token,
            owner: job.lease_owner.clone().unwrap_or_default(),
        };
        let control = Arc::new(JobControl::default());
        if job.cancel_requested {
            control.set_cancel_requested();
        }
        Self {
            job,
            lease,
            pool,
            control,
        }
    }

    pub fn id(&self) -> i64 {
        self.job.id
    }

    pub(crate) fn control(&self) -> &Arc<JobControl> {
        &self.control
    }

    /// A cancel was requested (seen at claim, or by a later heartbeat/progress/snooze call).
    pub fn is_cancel_requested(&self) -> bool {
        self.control.cancel_requested()
    }

    /// A heartbeat found the lease superseded: stop; no write of this attempt will be accepted.
    pub fn is_lease_lost(&self) -> bool {
        self.control.lease_lost()
    }

    /// Resolves when a cancel is requested or the lease is lost (use in `select!`).
    pub async fn interrupted(&self) {
        loop {
            let changed = self.control.changed.notified();
            if self.is_cancel_requested() || self.is_lease_lost() {
                return;
            }
            changed.await;
        }
    }

    fn track(&self, result: Result<LeaseAck>) -> Result<LeaseAck> {
        match &result {
            Ok(ack) if ack.cancel_requested => self.control.set_cancel_requested(),
            Err(SchedulerError::Fenced { .. }) | Err(SchedulerError::NotFound(_)) => {
                self.control.set_lease_lost()
            }
            _ => {}
        }
        result
    }

    /// Extends the lease to `now() + extend`. Reports a pending cancel request.
    pub async fn heartbeat(&self, extend: Duration) -> Result<LeaseAck> {
        self.track(lease::heartbeat(&self.pool, &self.lease, extend).await)
    }

    /// Records progress (fenced). Reports a pending cancel request.
    pub async fn record_progress(&self, progress: &Progress) -> Result<LeaseAck> {
        self.track(lease::record_progress(&self.pool, &self.lease, progress).await)
    }

    /// Completes the job with `result`.
    pub async fn complete(&self, result: &Value) -> Result<()> {
        lease::complete(&self.pool, &self.lease, result).await
    }

    /// Fails the job for good.
    pub async fn fail(&self, error: &JobError) -> Result<()> {
        lease::fail(&self.pool, &self.lease, error).await
    }

    /// Schedules a retry with back-off, or fails the job when attempts are exhausted.
    pub async fn retry(&self, error: &JobError, policy: &RetryPolicy) -> Result<RetryDecision> {
        lease::retry(&self.pool, &self.lease, error, policy).await
    }

    /// Reschedules at `until` without consuming an attempt.
    pub async fn snooze(
        &self,
        until: OffsetDateTime,
        progress: Option<&Progress>,
    ) -> Result<LeaseAck> {
        self.track(lease::snooze(&self.pool, &self.lease, until, progress).await)
    }

    /// Finishes the job as cancelled.
    pub async fn cancelled(&self, reason: Option<&JobError>) -> Result<()> {
        lease::finish_cancelled(&self.pool, &self.lease, reason).await
    }

    /// Gives the job back (available now) without consuming an attempt.
    pub async fn release(&self) -> Result<()> {
        lease::release(&self.pool, &self.lease).await
    }
}

/// Claims up to `request.limit` due jobs. Returns them in claim order.
pub async fn claim(pool: &PgPool, request: &ClaimRequest) -> Result<Vec<ClaimedJob>> {
    if request.zones.is_empty() || request.limit == 0 {
        return Ok(Vec::new());
    }
    let jobs: Vec<Job> = sqlx::query_as(sqlx::AssertSqlSafe(claim_sql()))
        .bind(&request.zones)
        .bind(request.limit as i64)
        .bind(&request.owner)
        .bind(request.lease.as_secs_f64())
        .fetch_all(pool)
        .await?;
    let mut jobs = jobs;
    jobs.sort_by_key(|j| (j.priority, j.run_at, j.id));
    Ok(jobs
        .into_iter()
        .map(|job| ClaimedJob::new(job, pool.clone()))
        .collect())
}

/// The claim statement (`$1` zones, `$2` limit, `$3` owner, `$4` lease seconds); public for the
/// plan regression test.
#[doc(hidden)]
pub fn claim_sql() -> String {
    format!(
        "WITH open_zones AS ( \
           SELECT array_agg(z) AS zones FROM unnest($1::text[]) AS z \
           WHERE NOT EXISTS (SELECT 1 FROM zone_pauses p WHERE p.zone = z \
                             AND (p.paused_until IS NULL OR p.paused_until > now())) \
         ), picked AS ( \
           SELECT j.id FROM jobs j \
           WHERE j.state IN ('available', 'scheduled', 'retryable') \
             AND j.run_at <= now() \
             AND j.zone = ANY ((SELECT zones FROM open_zones)::text[]) \
             AND (j.resource IS NULL OR NOT EXISTS ( \
                   SELECT 1 FROM jobs b \
                   WHERE b.resource = j.resource AND b.id < j.id \
                     AND b.state IN ('scheduled', 'available', 'running', 'retryable'))) \
           ORDER BY j.priority, j.run_at, j.id \
           LIMIT $2 \
           FOR UPDATE OF j SKIP LOCKED \
         ) \
         UPDATE jobs SET state = 'running', attempt = jobs.attempt + 1, lease_owner = $3, \
                lease_expires_at = now() + $4 * interval '1 second', \
                lease_token = jobs.lease_token + 1, \
                started_at = coalesce(jobs.started_at, now()), updated_at = now() \
         FROM picked WHERE jobs.id = picked.id \
         RETURNING {cols}",
        cols = JOB_COLUMNS
            .split(", ")
            .map(|c| format!("jobs.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}
