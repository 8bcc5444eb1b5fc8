//! The worker loop: claims batches when slots are free (woken by NOTIFY or a poll), runs the
//! handler of each job on its own task, heartbeats the leases of running jobs in one statement,
//! and writes completions in batches (a background completer flushes every few milliseconds or
//! every N jobs with one fenced `UPDATE … FROM unnest(ids, tokens, results)`).
//!
//! An optional claim gate ([`Runner::with_claim_gate`]) is asked before each claim how many of
//! the free slots may be filled now (e.g. what a rate budget can serve); without one the
//! runner claims into every free slot.
//!
//! Graceful stop: stop claiming, wait up to `shutdown_grace` for in-flight handlers, then abort
//! the rest and release their jobs (available again, attempt not consumed), and flush pending
//! completions.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use serde_json::Value;
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::sync::broadcast::error::TryRecvError;
use tokio::sync::{Notify, Semaphore, broadcast, mpsc};
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::claim::{ClaimRequest, ClaimedJob, JobControl, Lease, claim};
use crate::error::{Result, SchedulerError};
use crate::job::{JobError, Progress};
use crate::lease::{self, Completion, RetryPolicy};
use crate::notify::{Listener, ListenerEvent};

/// What a handler decided for its job.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Done; store `result`.
    Complete(Value),
    /// Run again at `until` (not consuming an attempt), optionally recording progress: the
    /// "poll later without holding a slot" step.
    Snooze {
        until: OffsetDateTime,
        progress: Option<Progress>,
    },
    /// Failed this attempt; retry with back-off (or fail when attempts are exhausted).
    Retry(JobError),
    /// Failed for good.
    Fail(JobError),
    /// Stopped because a cancel was requested.
    Cancelled,
    /// Stopped because a cancel was requested, with the handler's record of it (what it
    /// undid, what it left) as the job's last error entry.
    CancelledWith(JobError),
}

/// Runner settings.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Zones whose jobs this runner claims.
    pub zones: Vec<String>,
    /// Lease owner id (unique per runner instance).
    pub owner: String,
    /// Maximum jobs in flight.
    pub concurrency: usize,
    /// Maximum jobs per claim.
    pub claim_batch: usize,
    /// Lease duration given at claim and by every heartbeat.
    pub lease: Duration,
    /// How often leases of running jobs are extended (well below `lease`).
    pub heartbeat_interval: Duration,
    /// Polling fallback when no notification arrives.
    pub poll_interval: Duration,
    /// With a backlog and few free slots, wait at most this long for more slots to free up
    /// before claiming (batches claims).
    pub fetch_cooldown: Duration,
    /// Flush completions when this many are pending...
    pub completion_batch: usize,
    /// ...or this long after the first pending one.
    pub completion_delay: Duration,
    /// Back-off of `Outcome::Retry`.
    pub retry: RetryPolicy,
    /// On stop, how long in-flight handlers may run before they are aborted and released.
    pub shutdown_grace: Duration,
}

impl RunnerConfig {
    /// Defaults for `zones` and `owner`: 32 slots, batches of 64, 60 s leases heartbeated every
    /// 20 s, 1 s polling, completions flushed every 2 ms or 500 jobs.
    pub fn new(zones: Vec<String>, owner: impl Into<String>) -> Self {
        Self {
            zones,
            owner: owner.into(),
            concurrency: 32,
            claim_batch: 64,
            lease: Duration::from_secs(60),
            heartbeat_interval: Duration::from_secs(20),
            poll_interval: Duration::from_secs(1),
            fetch_cooldown: Duration::from_millis(2),
            completion_batch: 500,
            completion_delay: Duration::from_millis(2),
            retry: RetryPolicy::default(),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Counters of a runner (monotonic).
#[derive(Debug, Default)]
pub struct RunnerCounters {
    pub claimed: AtomicU64,
    pub completed: AtomicU64,
    pub snoozed: AtomicU64,
    pub retried: AtomicU64,
    pub failed: AtomicU64,
    pub cancelled: AtomicU64,
    /// Writes rejected because the lease had been superseded.
    pub fenced: AtomicU64,
    pub released: AtomicU64,
    /// Outcome writes that failed with a database error (the job is rescued on lease expiry).
    pub write_errors: AtomicU64,
}

impl RunnerCounters {
    fn inc(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

struct Inflight {
    control: Arc<JobControl>,
    lease: Lease,
    abort: Option<AbortHandle>,
}

type InflightMap = Arc<Mutex<HashMap<(i64, i64), Inflight>>>;

struct CompletionMsg {
    completion: Completion,
    kind: String,
    zone: String,
}

/// Decides how many jobs the runner may claim now (e.g. what a rate budget can serve).
pub trait ClaimGate: Send + Sync {
    /// Asked before each claim with the number of jobs the runner could claim now (free
    /// slots, capped by the batch size); answers how many it may claim now. It may wait (for
    /// budget) before answering; `0` means none now: the runner asks again after its next
    /// poll tick, notification or freed slot. Answers above the question are capped to it.
    fn allow(&self, free: usize) -> BoxFuture<'static, usize>;

    /// The claim that followed a non-zero answer took `jobs` jobs (fewer than allowed when
    /// fewer were due), before any of them started.
    fn claimed(&self, jobs: usize) {
        let _ = jobs;
    }
}

/// A plain function is a gate that needs no report of what was claimed.
impl<F> ClaimGate for F
where
    F: Fn(usize) -> BoxFuture<'static, usize> + Send + Sync,
{
    fn allow(&self, free: usize) -> BoxFuture<'static, usize> {
        self(free)
    }
}

/// Runs jobs of some zones with an async handler.
pub struct Runner<H> {
    pool: PgPool,
    config: RunnerConfig,
    handler: Arc<H>,
    listener: Option<Listener>,
    counters: Arc<RunnerCounters>,
    gate: Option<Arc<dyn ClaimGate>>,
}

impl<H, Fut> Runner<H>
where
    H: Fn(ClaimedJob) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    /// A runner; call [`Runner::run`] to start it.
    pub fn new(pool: PgPool, config: RunnerConfig, handler: H) -> Self {
        Self {
            pool,
            config,
            handler: Arc::new(handler),
            listener: None,
            counters: Arc::new(RunnerCounters::default()),
            gate: None,
        }
    }

    /// Claims only as many jobs as `gate` allows at each claim (e.g. what a rate budget can
    /// serve now). Without a gate the runner claims into every free slot.
    pub fn with_claim_gate(mut self, gate: Arc<dyn ClaimGate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Wake on enqueue notifications from `listener` (otherwise the runner only polls).
    pub fn with_listener(mut self, listener: Listener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// The runner's counters (readable while it runs).
    pub fn counters(&self) -> Arc<RunnerCounters> {
        self.counters.clone()
    }

    /// Runs until `shutdown` is cancelled, then stops gracefully.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let config = &self.config;
        if config.zones.is_empty() || config.concurrency == 0 || config.claim_batch == 0 {
            return Err(SchedulerError::Invalid(
                "runner needs zones, concurrency > 0 and claim_batch > 0".into(),
            ));
        }
        let sem = Arc::new(Semaphore::new(config.concurrency));
        let slot_freed = Arc::new(Notify::new());
        let inflight: InflightMap = Arc::new(Mutex::new(HashMap::new()));

        let (completion_tx, completion_rx) = mpsc::unbounded_channel();
        let completer = tokio::spawn(completer(
            self.pool.clone(),
            completion_rx,
            config.completion_batch.max(1),
            config.completion_delay,
            self.counters.clone(),
        ));
        let heartbeat_stop = CancellationToken::new();
        let heartbeater = tokio::spawn(heartbeater(
            self.pool.clone(),
            inflight.clone(),
            config.lease,
            config.heartbeat_interval,
            heartbeat_stop.clone(),
        ));

        let mut wake = self.listener.as_ref().map(|l| l.subscribe());
        let mut poll = tokio::time::interval(config.poll_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let batch_target = (config.claim_batch.min(config.concurrency) / 2).max(1);
        let mut more_pending = true;
        let mut last_full = false;
        let request = ClaimRequest {
            zones: config.zones.clone(),
            owner: config.owner.clone(),
            limit: 0,
            lease: config.lease,
        };
        tracing::info!(owner = %config.owner, zones = ?config.zones, concurrency = config.concurrency,
            "runner started");

        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let free = sem.available_permits();
            if free == 0 || !more_pending {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = poll.tick() => more_pending = true,
                    woke = next_wake(&mut wake, &config.zones) => {
                        if woke { more_pending = true; }
                    }
                    _ = slot_freed.notified(), if free == 0 => {}
                }
                drain_wakes(&mut wake, &config.zones, &mut more_pending);
                continue;
            }
            if last_full && free < batch_target {
                // Backlog: let a few more slots free up so the next claim is a real batch.
                let deadline = Instant::now() + config.fetch_cooldown;
                while sem.available_permits() < batch_target {
                    tokio::select! {
                        _ = slot_freed.notified() => {}
                        _ = tokio::time::sleep_until(deadline) => break,
                        _ = shutdown.cancelled() => break,
                    }
                }
            }
            let mut limit = sem.available_permits().min(config.claim_batch);
            if limit == 0 {
                continue;
            }
            if let Some(gate) = &self.gate {
                let allowed = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    allowed = gate.allow(limit) => allowed,
                };
                if allowed == 0 {
                    // Nothing may be claimed now: ask again after the next poll tick,
                    // notification or freed slot.
                    more_pending = false;
                    last_full = false;
                    continue;
                }
                limit = limit.min(allowed);
            }
            let request = ClaimRequest {
                limit,
                ..request.clone()
            };
            let jobs = match claim(&self.pool, &request).await {
                Ok(jobs) => jobs,
                Err(err) => {
                    tracing::error!(owner = %config.owner, error = %err, "claim failed");
                    more_pending = false;
                    last_full = false;
                    continue;
                }
            };
            if let Some(gate) = &self.gate {
                gate.claimed(jobs.len());
            }
            last_full = jobs.len() == limit;
            more_pending = last_full;
            RunnerCounters::inc(&self.counters.claimed, jobs.len() as u64);
            for job in jobs {
                self.spawn_job(job, &sem, &inflight, &completion_tx, &slot_freed)
                    .await;
            }
        }

        // Graceful stop: wait for in-flight handlers, then abort and release the rest.
        let deadline = Instant::now() + config.shutdown_grace;
        while sem.available_permits() < config.concurrency {
            tokio::select! {
                _ = slot_freed.notified() => {}
                _ = tokio::time::sleep_until(deadline) => break,
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
        self.release_leftovers(&inflight).await;
        heartbeat_stop.cancel();
        drop(completion_tx);
        if let Err(err) = completer.await {
            tracing::error!(error = %err, "completer task failed");
        }
        if let Err(err) = heartbeater.await {
            tracing::error!(error = %err, "heartbeat task failed");
        }
        tracing::info!(owner = %config.owner, "runner stopped");
        Ok(())
    }

    /// Runs the handler of one claimed job in a free slot, tracked for heartbeats and stop.
    async fn spawn_job(
        &self,
        job: ClaimedJob,
        sem: &Arc<Semaphore>,
        inflight: &InflightMap,
        completion_tx: &mpsc::UnboundedSender<CompletionMsg>,
        slot_freed: &Arc<Notify>,
    ) {
        let Ok(permit) = sem.clone().try_acquire_owned() else {
            // Cannot happen (only the claim loop takes permits); give the job back.
            if let Err(err) = job.release().await {
                tracing::error!(job_id = job.id(), error = %err, "release failed");
            }
            return;
        };
        let key = (job.lease.job_id, job.lease.token);
        lock(inflight).insert(
            key,
            Inflight {
                control: job.control().clone(),
                lease: job.lease.clone(),
                abort: None,
            },
        );
        let task = tokio::spawn(run_one(
            job,
            self.handler.clone(),
            self.pool.clone(),
            completion_tx.clone(),
            self.config.retry,
            self.counters.clone(),
            inflight.clone(),
            slot_freed.clone(),
            permit,
        ));
        if let Some(entry) = lock(inflight).get_mut(&key) {
            entry.abort = Some(task.abort_handle());
        }
    }

    /// On stop, after the grace period: aborts the handlers still running and releases their
    /// jobs.
    async fn release_leftovers(&self, inflight: &InflightMap) {
        let leftovers: Vec<Inflight> = lock(inflight).drain().map(|(_, v)| v).collect();
        for entry in leftovers {
            if let Some(abort) = &entry.abort {
                abort.abort();
            }
            match lease::release(&self.pool, &entry.lease).await {
                Ok(()) => RunnerCounters::inc(&self.counters.released, 1),
                Err(err) => tracing::warn!(job_id = entry.lease.job_id, error = %err,
                    "could not release job on stop"),
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits for a relevant wake-up; returns `false` if the listener is gone (then waits forever:
/// polling takes over).
async fn next_wake(
    wake: &mut Option<broadcast::Receiver<ListenerEvent>>,
    zones: &[String],
) -> bool {
    let Some(rx) = wake.as_mut() else {
        return std::future::pending().await;
    };
    loop {
        match rx.recv().await {
            Ok(ListenerEvent::Enqueued { zone }) if zones.contains(&zone) => return true,
            Ok(ListenerEvent::Reconnected) => return true,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => return true,
            Err(broadcast::error::RecvError::Closed) => {
                *wake = None;
                return false;
            }
        }
    }
}

/// Debounce: consume wake-ups already queued.
fn drain_wakes(
    wake: &mut Option<broadcast::Receiver<ListenerEvent>>,
    zones: &[String],
    more_pending: &mut bool,
) {
    let Some(rx) = wake.as_mut() else { return };
    loop {
        match rx.try_recv() {
            Ok(ListenerEvent::Enqueued { zone }) if zones.contains(&zone) => *more_pending = true,
            Ok(ListenerEvent::Reconnected) | Err(TryRecvError::Lagged(_)) => *more_pending = true,
            Ok(_) => {}
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Closed) => {
                *wake = None;
                return;
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_one<H, Fut>(
    job: ClaimedJob,
    handler: Arc<H>,
    pool: PgPool,
    completions: mpsc::UnboundedSender<CompletionMsg>,
    retry: RetryPolicy,
    counters: Arc<RunnerCounters>,
    inflight: InflightMap,
    slot_freed: Arc<Notify>,
    permit: tokio::sync::OwnedSemaphorePermit,
) where
    H: Fn(ClaimedJob) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let lease = job.lease.clone();
    let kind = job.job.kind.clone();
    let zone = job.job.zone.clone();
    let span = fleet_telemetry::propagation::job_run_span(
        &kind,
        job.job.id,
        &zone,
        job.job.attempt,
        &job.job.trace_context,
    );
    let started = std::time::Instant::now();
    let outcome = match AssertUnwindSafe(handler(job).instrument(span))
        .catch_unwind()
        .await
    {
        Ok(outcome) => outcome,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "handler panicked".to_owned());
            tracing::error!(job_id = lease.job_id, %kind, %zone, %message, "job handler panicked");
            Outcome::Retry(JobError::new("panic", message))
        }
    };
    let job_id = lease.job_id;
    crate::metrics::record_run(&kind, &zone, &outcome, started.elapsed());
    let written = match outcome {
        Outcome::Complete(result) => {
            let msg = CompletionMsg {
                completion: Completion {
                    job_id,
                    token: lease.token,
                    result,
                },
                kind: kind.clone(),
                zone: zone.clone(),
            };
            if let Err(mpsc::error::SendError(msg)) = completions.send(msg) {
                // Completer gone (stopping): write directly.
                lease::complete(&pool, &lease, &msg.completion.result)
                    .await
                    .map(|()| RunnerCounters::inc(&counters.completed, 1))
            } else {
                Ok(())
            }
        }
        Outcome::Snooze { until, progress } => {
            lease::snooze(&pool, &lease, until, progress.as_ref())
                .await
                .map(|_| RunnerCounters::inc(&counters.snoozed, 1))
        }
        Outcome::Retry(error) => {
            lease::retry(&pool, &lease, &error, &retry)
                .await
                .map(|decision| {
                    if decision.state.is_terminal() {
                        RunnerCounters::inc(&counters.failed, 1)
                    } else {
                        RunnerCounters::inc(&counters.retried, 1)
                    }
                })
        }
        Outcome::Fail(error) => lease::fail(&pool, &lease, &error)
            .await
            .map(|()| RunnerCounters::inc(&counters.failed, 1)),
        Outcome::Cancelled => lease::finish_cancelled(&pool, &lease, None)
            .await
            .map(|()| RunnerCounters::inc(&counters.cancelled, 1)),
        Outcome::CancelledWith(reason) => lease::finish_cancelled(&pool, &lease, Some(&reason))
            .await
            .map(|()| RunnerCounters::inc(&counters.cancelled, 1)),
    };
    match written {
        Ok(()) => {}
        Err(err @ (SchedulerError::Fenced { .. } | SchedulerError::NotFound(_))) => {
            RunnerCounters::inc(&counters.fenced, 1);
            tracing::warn!(job_id, %kind, %zone, error = %err, "outcome rejected: lease lost");
        }
        Err(err) => {
            RunnerCounters::inc(&counters.write_errors, 1);
            tracing::error!(job_id, %kind, %zone, error = %err,
                "could not record job outcome; it will be rescued when its lease expires");
        }
    }
    lock(&inflight).remove(&(job_id, lease.token));
    drop(permit);
    slot_freed.notify_one();
}

/// Batches completions: one fenced statement per flush.
async fn completer(
    pool: PgPool,
    mut rx: mpsc::UnboundedReceiver<CompletionMsg>,
    batch_size: usize,
    delay: Duration,
    counters: Arc<RunnerCounters>,
) {
    let mut batch: Vec<CompletionMsg> = Vec::with_capacity(batch_size);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        let deadline = Instant::now() + delay;
        while batch.len() < batch_size {
            match rx.try_recv() {
                Ok(msg) => {
                    batch.push(msg);
                    continue;
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(msg)) => batch.push(msg),
                Ok(None) | Err(_) => break,
            }
        }
        flush(&pool, &mut batch, &counters).await;
    }
}

async fn flush(pool: &PgPool, batch: &mut Vec<CompletionMsg>, counters: &RunnerCounters) {
    let items: Vec<Completion> = batch.iter().map(|m| m.completion.clone()).collect();
    let mut backoff = Duration::from_millis(20);
    for attempt in 1..=5 {
        match lease::complete_many(pool, &items).await {
            Ok(fenced) => {
                RunnerCounters::inc(&counters.completed, (items.len() - fenced.len()) as u64);
                if !fenced.is_empty() {
                    RunnerCounters::inc(&counters.fenced, fenced.len() as u64);
                    for msg in batch
                        .iter()
                        .filter(|m| fenced.contains(&m.completion.job_id))
                    {
                        tracing::warn!(job_id = msg.completion.job_id, kind = %msg.kind,
                            zone = %msg.zone, "completion rejected: lease lost");
                    }
                }
                batch.clear();
                return;
            }
            Err(err) => {
                tracing::warn!(attempt, jobs = items.len(), error = %err, "completion flush failed");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
    }
    RunnerCounters::inc(&counters.write_errors, items.len() as u64);
    for msg in batch.iter() {
        tracing::error!(job_id = msg.completion.job_id, kind = %msg.kind, zone = %msg.zone,
            "could not record completion; the job will be rescued when its lease expires");
    }
    batch.clear();
}

/// Extends the leases of all in-flight jobs in one statement per tick.
async fn heartbeater(
    pool: PgPool,
    inflight: InflightMap,
    lease: Duration,
    interval: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let held: Vec<((i64, i64), Arc<JobControl>)> = lock(&inflight)
            .iter()
            .map(|(k, v)| (*k, v.control.clone()))
            .collect();
        if held.is_empty() {
            continue;
        }
        let keys: Vec<(i64, i64)> = held.iter().map(|(k, _)| *k).collect();
        match lease::heartbeat_many(&pool, &keys, lease).await {
            Ok(alive) => {
                let alive: HashMap<i64, bool> = alive.into_iter().collect();
                for ((id, _), control) in &held {
                    match alive.get(id) {
                        Some(true) => control.set_cancel_requested(),
                        Some(false) => {}
                        None => {
                            tracing::warn!(job_id = id, "lease lost (heartbeat fenced)");
                            control.set_lease_lost();
                        }
                    }
                }
            }
            Err(err) => tracing::warn!(jobs = keys.len(), error = %err, "heartbeat failed"),
        }
    }
}
