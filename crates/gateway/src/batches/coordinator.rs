//! The batch coordinator: a scheduler runner on the pseudo-zone [`BATCH_ZONE`] that every
//! gateway runs, whose handler is one [`tick`] of a batch.
//!
//! A tick is one transaction under the batch row's lock: it records the outcome of every
//! child whose job finished, derives the counts from the children and their jobs (no counter
//! is kept), halts the batch once failures exceed `max_failures`, skips the children that will
//! never start, enqueues the next children as ordinary jobs (at
//! [`CHILD_PRIORITY`]) as the policy allows ([`children_to_start`]: the current wave, within
//! `max_in_flight` overall and each zone's limit) and records each job id in the same
//! transaction.
//! A tick killed half-way commits nothing; a second tick (another gateway, or a re-run after a
//! lost lease) waits on the lock and sees what the first committed, so no child starts twice.
//! Each child job also carries the idempotency key `batch-{id}-{position}`: even a replayed
//! enqueue returns the existing job.

use std::time::Duration;

use fleet_scheduler::{ClaimedJob, JobError, NewJob, Outcome, Progress, Runner, RunnerConfig};
use serde_json::json;
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::rollout::{Wave, children_to_start};
use super::{
    BATCH_ZONE, BatchRow, BatchState, CHILD_PRIORITY, ChildOutcome, ChildRow, Event, ProgressState,
    load_batch, load_children, to_proto,
};
use crate::errors::GatewayError;

/// Coordinator pacing.
#[derive(Debug, Clone, Copy)]
pub struct CoordinatorSettings {
    /// How long a batch waits between ticks while children are in flight.
    pub tick: Duration,
    /// Batches coordinated at once by one gateway.
    pub concurrency: usize,
}

impl Default for CoordinatorSettings {
    fn default() -> Self {
        Self {
            tick: Duration::from_millis(250),
            concurrency: 16,
        }
    }
}

/// Runs the coordinator until `shutdown`.
pub async fn run(
    pool: PgPool,
    owner: String,
    settings: CoordinatorSettings,
    shutdown: CancellationToken,
) {
    let mut config = RunnerConfig::new(vec![BATCH_ZONE.to_owned()], owner);
    config.concurrency = settings.concurrency;
    config.claim_batch = settings.concurrency;
    // Snoozed ticks become due without a notification: poll at the tick's pace.
    config.poll_interval = settings.tick;
    config.shutdown_grace = Duration::from_secs(2);
    let handler_pool = pool.clone();
    let handler = move |job: ClaimedJob| {
        let pool = handler_pool.clone();
        async move { handle(&pool, &job, settings.tick).await }
    };
    let runner = Runner::new(pool, config, handler);
    if let Err(err) = runner.run(shutdown).await {
        tracing::warn!(error = %err, "batch coordinator stopped with an error");
    }
}

async fn handle(pool: &PgPool, job: &ClaimedJob, tick_every: Duration) -> Outcome {
    match tick(pool, job.id(), job.is_cancel_requested()).await {
        Ok(Tick::Done { result, progress }) => {
            // The final counts stay in the metadata (a completion records no progress).
            if let Err(err) = job.record_progress(&progress).await {
                return Outcome::Retry(JobError::new("batch_tick", err.to_string()));
            }
            Outcome::Complete(result)
        }
        Ok(Tick::Again(progress)) => Outcome::Snooze {
            until: OffsetDateTime::now_utc() + tick_every,
            progress: Some(progress),
        },
        Err(GatewayError::NotFound { name, .. }) => Outcome::Fail(JobError::new(
            "batch_missing",
            format!("batch {name} has no batches row"),
        )),
        Err(err) => Outcome::Retry(JobError::new("batch_tick", err.to_string())),
    }
}

/// What a tick decided.
#[derive(Debug)]
pub enum Tick {
    /// Every child finished (or will never start): the final Batch as JSON, and the last
    /// progress.
    Done {
        result: serde_json::Value,
        progress: Progress,
    },
    /// Children are pending or in flight: tick again later, showing this progress.
    Again(Progress),
}

/// One tick of batch `id` (see the module doc). `cancel_requested`: the parent operation was
/// cancelled through the Operations service.
pub async fn tick(pool: &PgPool, id: i64, cancel_requested: bool) -> Result<Tick, GatewayError> {
    let mut tx = pool.begin().await?;
    let Some(mut batch) = load_batch(&mut tx, id, true).await? else {
        return Err(GatewayError::NotFound {
            resource_type: "batch".into(),
            name: super::batch_name(id),
        });
    };
    record_outcomes(&mut tx, id).await?;
    let mut children = load_children(&mut tx, id).await?;
    let (counts, _) = super::count(&children);

    let mut next = batch.state;
    let mut reason = batch.reason.clone();
    if cancel_requested && matches!(next, BatchState::Running | BatchState::Paused) {
        next = BatchState::Cancelled;
        reason = "the parent operation was cancelled".into();
    }
    let limits = &batch.spec.limits;
    if next == BatchState::Running && counts.failed > limits.max_failures {
        next = BatchState::Halted;
        // Before any child of the rest has started, the failures are the canary's.
        let canary_only = limits.canary > 0
            && children
                .iter()
                .filter(|c| Wave::of(limits, c) == Wave::Rest)
                .all(|c| c.outcome == ChildOutcome::Pending);
        let wave = if canary_only {
            " in the canary wave"
        } else {
            ""
        };
        reason = format!(
            "{} children failed{wave}, more than max_failures {}: no new child starts",
            counts.failed, limits.max_failures
        );
    }
    if next.skips_pending() {
        sqlx::query(
            "UPDATE batch_children SET outcome = 'skipped' \
             WHERE batch_id = $1 AND job_id IS NULL AND outcome IS NULL",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    if next.starts_children() {
        let starting = children_to_start(limits, &children);
        start_children(&mut tx, &batch, &starting).await?;
    }
    let open = children_open(&mut tx, id).await?;
    if open == 0 && next == BatchState::Running {
        next = BatchState::Completed;
    }
    if next != batch.state || reason != batch.reason {
        let event = match next {
            BatchState::Cancelled if cancel_requested => {
                Some(Event::now("cancelled", "operations"))
            }
            BatchState::Halted => Some(Event::now("halted", "coordinator")),
            BatchState::Completed => Some(Event::now("completed", "coordinator")),
            _ => None,
        };
        sqlx::query(
            "UPDATE batches SET state = $2, reason = $3, updated_at = now(), \
               events = events || $4::jsonb WHERE id = $1",
        )
        .bind(id)
        .bind(next.as_str())
        .bind(&reason)
        .bind(Event::array(event.as_ref()))
        .execute(&mut *tx)
        .await?;
        batch = load_batch(&mut tx, id, false).await?.ok_or_else(|| {
            GatewayError::Internal(format!("batch {id} vanished inside its transaction"))
        })?;
    }
    children = load_children(&mut tx, id).await?;
    tx.commit().await?;

    let progress = progress(&batch, &children);
    if open == 0 {
        let result = fleet_proto::json::to_json(&to_proto(&batch, &children, true));
        return Ok(Tick::Done { result, progress });
    }
    Ok(Tick::Again(progress))
}

/// The job progress of a batch: counts in its message and `state.batch`.
fn progress(batch: &BatchRow, children: &[ChildRow]) -> Progress {
    let progress_state = ProgressState::new(batch, children);
    let counts = progress_state.counts;
    let done = counts.succeeded + counts.failed + counts.cancelled + counts.skipped;
    Progress {
        step: Some(batch.state.as_str().to_owned()),
        percent: Some(if counts.total == 0 {
            100.0
        } else {
            done as f32 * 100.0 / counts.total as f32
        }),
        message: Some(format!(
            "{done}/{} done ({} failed), {} in flight, {} pending",
            counts.total, counts.failed, counts.in_flight, counts.pending
        )),
        upstream_ids: Vec::new(),
        state: json!({ ProgressState::KEY: progress_state }),
    }
}

/// Records the outcome of every child whose job has finished since the last tick.
async fn record_outcomes(conn: &mut sqlx::PgConnection, id: i64) -> Result<(), GatewayError> {
    sqlx::query(
        "UPDATE batch_children c SET \
           outcome = CASE j.state WHEN 'completed' THEN 'succeeded' ELSE j.state END, \
           error = CASE WHEN j.state = 'completed' THEN NULL \
                        ELSE left(j.errors -> -1 ->> 'message', 500) END \
         FROM jobs j \
         WHERE c.batch_id = $1 AND c.outcome IS NULL AND j.id = c.job_id \
           AND j.state IN ('completed', 'failed', 'cancelled')",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Children neither finished nor skipped.
async fn children_open(conn: &mut sqlx::PgConnection, id: i64) -> Result<i64, GatewayError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM batch_children WHERE batch_id = $1 AND outcome IS NULL",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?)
}

/// Enqueues each child's job ([`super::BatchAction::child_job`]) and records its id, in the
/// caller's transaction.
async fn start_children(
    conn: &mut sqlx::PgConnection,
    batch: &BatchRow,
    children: &[&ChildRow],
) -> Result<(), GatewayError> {
    if children.is_empty() {
        return Ok(());
    }
    let mut jobs = Vec::with_capacity(children.len());
    let mut methods = Vec::with_capacity(children.len());
    for child in children {
        let (child_job, _) = batch.spec.action.child_job(batch.id, child)?;
        let spec = child_job.spec;
        let mut job = NewJob::new(spec.kind(), child.zone.clone(), spec.to_args())
            .caller(batch.caller.clone())
            .priority(CHILD_PRIORITY)
            .resource(child_job.resource)
            .idempotency_key(format!("batch-{}-{}", batch.id, child.position));
        if let Some(project) = &child.project {
            job = job.project(project.clone());
        }
        jobs.push(job);
        methods.push(child_job.method);
    }
    let enqueued = fleet_scheduler::enqueue_many_tx(&mut *conn, &jobs).await?;
    let positions: Vec<i32> = children.iter().map(|c| c.position).collect();
    let ids: Vec<i64> = enqueued.iter().map(|e| e.id).collect();
    sqlx::query(
        "UPDATE batch_children c SET job_id = u.job_id \
         FROM unnest($2::int4[], $3::int8[]) AS u(position, job_id) \
         WHERE c.batch_id = $1 AND c.position = u.position",
    )
    .bind(batch.id)
    .bind(&positions)
    .bind(&ids)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO gateway_operations (job_id, method) \
         SELECT * FROM unnest($1::int8[], $2::text[]) ON CONFLICT (job_id) DO NOTHING",
    )
    .bind(&ids)
    .bind(&methods)
    .execute(&mut *conn)
    .await?;
    tracing::info!(
        batch_id = batch.id,
        started = ids.len(),
        action = %batch.spec.action.label(),
        "batch children started"
    );
    Ok(())
}
