//! Shared setup of the ownership and zone-call tests: a fresh database, an emulator, workers
//! with short leases, a zone work that calls its zone continuously, and the call-log check
//! that no zone was called by two workers in overlapping lease epochs.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fleet_core::{ListIpsQuery, Zone};
use fleet_emulator::{CallRecord, Emulator, RunningEmulator};
use fleet_scaleway::{Client, Config, RateLimitConfig, RetryPolicy};
use fleet_scheduler::{ClaimedJob, Outcome};
use fleet_worker::context::ZoneContext;
use fleet_worker::{Worker, WorkerConfig, WorkerHandle, ZoneWork, ZoneWorkFactory};
use futures::future::BoxFuture;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The emulator tenant (any UUID key is its own tenant, with this id as its project).
pub const SECRET: &str = "7c4f1d2e-9a3b-4c5d-8e6f-0a1b2c3d4e5f";

/// A fresh, migrated database.
pub async fn db() -> (String, PgPool) {
    let url = fleet_pgcluster::testing::fresh_database().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(30)
        .connect(&url)
        .await
        .expect("database connects");
    fleet_scheduler::migrate(&pool)
        .await
        .expect("migrations apply");
    (url, pool)
}

pub async fn emulator() -> RunningEmulator {
    Emulator::builder()
        .transition(Duration::from_millis(100))
        .seed(11)
        .start()
        .await
        .expect("emulator starts")
}

pub fn scaleway_config(emu: &RunningEmulator) -> Config {
    Config::new(SECRET)
        .with_api_url(emu.base_url())
        .with_retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            max_retry_after: Duration::from_secs(2),
        })
        .with_rate_limit(RateLimitConfig::unlimited())
        .with_timeouts(Duration::from_secs(2), Duration::from_secs(5))
}

/// A worker config for tests: loopback listener, short lease.
pub fn worker_config(
    url: &str,
    emu: &RunningEmulator,
    zones: &[Zone],
    ttl: Duration,
) -> WorkerConfig {
    let mut config = WorkerConfig::new(url, scaleway_config(emu));
    config.zones = Some(zones.to_vec());
    config.listen = "127.0.0.1:0".parse().expect("address parses");
    config.lease_ttl = ttl;
    config.concurrency = 4;
    config.job_lease = Duration::from_secs(5);
    config
}

/// Zone work that lists its zone's IPs every few milliseconds while it holds the zone, so
/// that the call log shows who called each zone when. Jobs complete at once.
pub struct ChattyWork {
    ctx: ZoneContext,
}

impl ZoneWork for ChattyWork {
    fn run_watcher(
        self: Arc<Self>,
        shutdown: CancellationToken,
    ) -> BoxFuture<'static, anyhow::Result<()>> {
        Box::pin(async move {
            loop {
                if shutdown.is_cancelled() || self.ctx.guard.check().is_err() {
                    return Ok(());
                }
                // Cancelled with the guard: an error here means the lease is gone.
                let _ = self
                    .ctx
                    .client
                    .list_ips(self.ctx.zone, &ListIpsQuery::default())
                    .await;
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    () = tokio::time::sleep(Duration::from_millis(15)) => {}
                }
            }
        })
    }

    fn handle(self: Arc<Self>, _job: ClaimedJob) -> BoxFuture<'static, Outcome> {
        Box::pin(async { Outcome::Complete(serde_json::Value::Null) })
    }
}

pub fn chatty() -> ZoneWorkFactory {
    Arc::new(|ctx| Arc::new(ChattyWork { ctx }) as Arc<dyn ZoneWork>)
}

/// A running worker.
pub struct Running {
    pub handle: WorkerHandle,
    pub addr: std::net::SocketAddr,
    pub advertise: String,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    pub fn id(&self) -> String {
        self.handle.id().to_owned()
    }

    /// Graceful stop; returns the run result.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("worker stops in time")
            .expect("worker task joins")
    }
}

pub async fn start(
    config: &WorkerConfig,
    pool: &PgPool,
    client: &Client,
    work: ZoneWorkFactory,
) -> Running {
    let worker = Worker::from_parts(config, pool.clone(), client.clone(), work)
        .await
        .expect("worker builds");
    let handle = worker.handle();
    let addr = worker.local_addr();
    let advertise = worker.advertise_address().to_owned();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(worker.run(shutdown.clone()));
    Running {
        handle,
        addr,
        advertise,
        shutdown,
        task,
    }
}

/// Polls `check` every 10 ms until it returns `Some`, panicking after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The calls of one (zone, epoch): who made them and when.
#[derive(Debug)]
pub struct EpochCalls {
    pub worker: String,
    pub first: SystemTime,
    pub last: SystemTime,
    pub count: usize,
}

/// Groups the log by zone and lease epoch (from `X-Fleet-Caller: {worker}/{epoch}`), and
/// asserts that each epoch of a zone belongs to one worker and that a zone's epochs follow
/// each other in time without overlapping.
pub fn assert_no_overlap(log: &[CallRecord]) -> BTreeMap<String, BTreeMap<i64, EpochCalls>> {
    let mut zones: BTreeMap<String, BTreeMap<i64, EpochCalls>> = BTreeMap::new();
    for call in log {
        let (Some(zone), Some(caller)) = (&call.zone, &call.caller) else {
            continue;
        };
        let (worker, epoch) = caller
            .rsplit_once('/')
            .unwrap_or_else(|| panic!("caller header {caller:?} is not worker/epoch"));
        let epoch: i64 = epoch.parse().expect("epoch is a number");
        let entry = zones
            .entry(zone.clone())
            .or_default()
            .entry(epoch)
            .or_insert_with(|| EpochCalls {
                worker: worker.to_owned(),
                first: call.at,
                last: call.at,
                count: 0,
            });
        assert_eq!(
            entry.worker, worker,
            "epoch {epoch} of {zone} was used by two workers"
        );
        entry.first = entry.first.min(call.at);
        entry.last = entry.last.max(call.at);
        entry.count += 1;
    }
    for (zone, epochs) in &zones {
        let ordered: Vec<(&i64, &EpochCalls)> = epochs.iter().collect();
        for pair in ordered.windows(2) {
            let ((e1, a), (e2, b)) = (pair[0], pair[1]);
            assert!(
                a.last < b.first,
                "{zone}: epoch {e1} ({}) called until {:?}, after epoch {e2} ({}) started at {:?}",
                a.worker,
                a.last,
                b.worker,
                b.first
            );
        }
    }
    zones
}
