//! The scheduler service: keeps the queue healthy. Background tasks (each named, each logging
//! its failures with its name, a panic stopping the service with an error naming it):
//!
//! * `rescuer`: running jobs whose lease expired go back to `available` (attempt kept, the lost
//!   lease recorded in the error history), or to `failed` when attempts are exhausted, or to
//!   `cancelled` when a cancel was requested.
//! * `cron`: fires due recurring schedules (see [`crate::schedule`]).
//! * `pruner`: deletes finished jobs older than the retention, and zone lease epochs that
//!   expired longer ago than theirs (never a zone's current one).
//!
//! Due `scheduled`/`retryable` jobs need no promotion: the claim query takes them directly
//! (`run_at <= now()`), which saves one write per delayed job.

use std::future::Future;
use std::time::Duration;

use sqlx::{PgPool, Row};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::{Result, SchedulerError};
use crate::job::JobState;
use crate::notify::JOB_EVENTS_CHANNEL;
use crate::schedule::fire_due_schedules;
use crate::zone_lease::prune_lease_history;

/// A job put back by the rescuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rescued {
    pub id: i64,
    /// `available`, `failed` or `cancelled`.
    pub state: JobState,
    pub kind: String,
    pub zone: String,
}

/// Rescues up to `limit` running jobs whose lease expired.
pub async fn rescue_expired(pool: &PgPool, limit: i64) -> Result<Vec<Rescued>> {
    let rows = sqlx::query(
        "WITH expired AS ( \
           SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < now() \
           ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED \
         ), upd AS ( \
           UPDATE jobs j SET \
             state = CASE WHEN j.cancel_requested THEN 'cancelled' \
                          WHEN j.attempt >= j.max_attempts THEN 'failed' \
                          ELSE 'available' END, \
             run_at = now(), \
             finished_at = CASE WHEN j.cancel_requested OR j.attempt >= j.max_attempts \
                                THEN now() END, \
             errors = j.errors || jsonb_build_array(jsonb_build_object( \
                 'attempt', j.attempt, 'at', now(), 'kind', 'lease_expired', \
                 'message', 'lease of ' || coalesce(j.lease_owner, '?') || ' expired', \
                 'details', jsonb_build_object('token', j.lease_token, \
                                               'lease_expires_at', j.lease_expires_at), \
                 'owner', j.lease_owner)), \
             lease_owner = NULL, lease_expires_at = NULL, updated_at = now() \
           FROM expired WHERE j.id = expired.id \
           RETURNING j.id, j.state, j.kind, j.zone \
         ) \
         SELECT id, state, kind, zone, pg_notify($2, id::text) FROM upd",
    )
    .bind(limit)
    .bind(JOB_EVENTS_CHANNEL)
    .fetch_all(pool)
    .await?;
    let rescued = rows
        .iter()
        .map(|r| {
            let state: String = r.try_get("state")?;
            Ok(Rescued {
                id: r.try_get("id")?,
                state: state.parse()?,
                kind: r.try_get("kind")?,
                zone: r.try_get("zone")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    for job in &rescued {
        tracing::warn!(job_id = job.id, kind = %job.kind, zone = %job.zone, state = %job.state,
            "rescued job with expired lease");
    }
    Ok(rescued)
}

/// Deletes up to `limit` finished jobs: completed ones older than `completed_retention`,
/// failed and cancelled ones older than `failed_retention` (by `finished_at`). Pruning also
/// frees their idempotency keys.
pub async fn prune_finished(
    pool: &PgPool,
    completed_retention: Duration,
    failed_retention: Duration,
    limit: i64,
) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM jobs WHERE id IN ( \
           SELECT id FROM jobs \
           WHERE state IN ('completed', 'failed', 'cancelled') \
             AND finished_at < now() - least($1, $2) * interval '1 second' \
             AND ((state = 'completed' AND finished_at < now() - $1 * interval '1 second') \
               OR (state <> 'completed' AND finished_at < now() - $2 * interval '1 second')) \
           LIMIT $3)",
    )
    .bind(completed_retention.as_secs_f64())
    .bind(failed_retention.as_secs_f64())
    .bind(limit)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Settings of [`SchedulerService`].
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Apply migrations at start-up.
    pub migrate_on_start: bool,
    pub rescue_interval: Duration,
    pub rescue_batch: i64,
    pub cron_interval: Duration,
    pub cron_batch: i64,
    pub prune_interval: Duration,
    pub prune_batch: i64,
    pub completed_retention: Duration,
    pub failed_retention: Duration,
    /// How long an expired zone lease epoch stays in `zone_lease_history`.
    pub lease_history_retention: Duration,
    /// How often queue depth and age are sampled into the metrics.
    pub metrics_interval: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            migrate_on_start: true,
            rescue_interval: Duration::from_secs(5),
            rescue_batch: 1000,
            cron_interval: Duration::from_secs(1),
            cron_batch: 100,
            prune_interval: Duration::from_secs(60),
            prune_batch: 10_000,
            completed_retention: Duration::from_secs(7 * 24 * 3600),
            failed_retention: Duration::from_secs(30 * 24 * 3600),
            lease_history_retention: Duration::from_secs(30 * 24 * 3600),
            metrics_interval: Duration::from_secs(15),
        }
    }
}

impl SchedulerConfig {
    /// Checks the settings and builds the service.
    pub fn build(self, pool: PgPool) -> Result<SchedulerService> {
        for (name, d) in [
            ("rescue_interval", self.rescue_interval),
            ("cron_interval", self.cron_interval),
            ("prune_interval", self.prune_interval),
            ("metrics_interval", self.metrics_interval),
        ] {
            if d.is_zero() {
                return Err(SchedulerError::Invalid(format!("{name} must be positive")));
            }
        }
        if self.rescue_batch < 1 || self.cron_batch < 1 || self.prune_batch < 1 {
            return Err(SchedulerError::Invalid(
                "batch sizes must be positive".into(),
            ));
        }
        Ok(SchedulerService { pool, config: self })
    }
}

/// The service: run it until a shutdown token is cancelled.
#[derive(Debug, Clone)]
pub struct SchedulerService {
    pool: PgPool,
    config: SchedulerConfig,
}

impl SchedulerService {
    /// Migrates (if configured), then runs the background tasks until `shutdown`. Returns an
    /// error if a task panicked (naming it).
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        if self.config.migrate_on_start {
            crate::migrate(&self.pool).await?;
        }
        let c = self.config.clone();
        let mut tasks = JoinSet::new();
        let mut names = std::collections::HashMap::new();
        let mut spawn = |name: &'static str, interval: Duration, f: TaskFn| {
            let handle = tasks.spawn(periodic(name, interval, shutdown.clone(), f));
            names.insert(handle.id(), name);
        };
        let pool = self.pool.clone();
        let batch = c.rescue_batch;
        spawn(
            "rescuer",
            c.rescue_interval,
            Box::new(move || {
                let pool = pool.clone();
                Box::pin(async move {
                    while rescue_expired(&pool, batch).await?.len() as i64 == batch {}
                    Ok(())
                })
            }),
        );
        let pool = self.pool.clone();
        let batch = c.cron_batch;
        spawn(
            "cron",
            c.cron_interval,
            Box::new(move || {
                let pool = pool.clone();
                Box::pin(async move {
                    while fire_due_schedules(&pool, batch).await?.len() as i64 >= batch {}
                    Ok(())
                })
            }),
        );
        let pool = self.pool.clone();
        let (batch, completed, failed) = (c.prune_batch, c.completed_retention, c.failed_retention);
        let lease_history = c.lease_history_retention;
        spawn(
            "pruner",
            c.prune_interval,
            Box::new(move || {
                let pool = pool.clone();
                Box::pin(async move {
                    loop {
                        let n = prune_finished(&pool, completed, failed, batch).await?;
                        if n > 0 {
                            tracing::info!(task = "pruner", deleted = n, "pruned finished jobs");
                        }
                        if (n as i64) < batch {
                            break;
                        }
                    }
                    loop {
                        let n = prune_lease_history(&pool, lease_history, batch).await?;
                        if n > 0 {
                            tracing::info!(
                                task = "pruner",
                                deleted = n,
                                "pruned expired zone lease epochs"
                            );
                        }
                        if (n as i64) < batch {
                            return Ok(());
                        }
                    }
                })
            }),
        );
        let pool = self.pool.clone();
        let previous = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::new()));
        spawn(
            "queue-metrics",
            c.metrics_interval,
            Box::new(move || {
                let pool = pool.clone();
                let previous = previous.clone();
                Box::pin(async move {
                    let mut previous = previous.lock().await;
                    crate::metrics::sample_queue(&pool, &mut previous).await
                })
            }),
        );
        tracing::info!("scheduler service started");
        let mut failure = None;
        while let Some(joined) = tasks.join_next_with_id().await {
            match joined {
                Ok((_, ())) => {}
                Err(err) => {
                    let name = names.get(&err.id()).copied().unwrap_or("unknown");
                    tracing::error!(task = name, error = %err, "scheduler task died");
                    if failure.is_none() {
                        failure = Some(SchedulerError::TaskFailed {
                            task: name,
                            reason: err.to_string(),
                        });
                    }
                    shutdown.cancel();
                }
            }
        }
        tracing::info!("scheduler service stopped");
        failure.map_or(Ok(()), Err)
    }
}

type TaskFuture = std::pin::Pin<Box<dyn Future<Output = Result<()>> + Send>>;
type TaskFn = Box<dyn Fn() -> TaskFuture + Send + Sync>;

async fn periodic(name: &'static str, interval: Duration, shutdown: CancellationToken, f: TaskFn) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failures = 0u32;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let run = tokio::select! {
            _ = shutdown.cancelled() => return,
            run = f() => run,
        };
        match run {
            Ok(()) => {
                if failures > 0 {
                    tracing::info!(task = name, after_failures = failures, "task recovered");
                }
                failures = 0;
            }
            Err(err) => {
                failures += 1;
                tracing::error!(task = name, failures, error = %err, "scheduler task iteration failed");
            }
        }
    }
}
