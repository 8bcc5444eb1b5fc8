//! The measured side of the fleet benchmarks: Postgres, the scheduler service and real
//! workers ([`fleet_worker::Worker`], built with [`Worker::from_parts`]) sharing the zones
//! through their leases, and the `create_server` jobs that fill a zone with servers.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fleet_core::{CreateServerRequest, Zone};
use fleet_jobs::{CreateServerJob, JobSpec};
use fleet_scaleway::{Client, Config, RateLimitConfig};
use fleet_scheduler::NewJob;
use fleet_worker::jobs::JobSettings;
use fleet_worker::{Worker, WorkerConfig, WorkerHandle, jobs_factory};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The Scaleway secret every bench client sends (the emulator takes any UUID).
pub const SECRET: &str = "0b7e9f3a-5c2d-4e1f-8a6b-9c0d1e2f3a4b";

/// A client of the emulator at `base_url`, a little under its `rate` per zone with small
/// bursts, so the client's bucket never runs ahead of the server's.
pub fn scaleway_config(base_url: &str, rate: f64) -> Config {
    let burst = ((rate / 4.0).ceil() as u32).max(1);
    Config::new(SECRET)
        .with_api_url(base_url)
        .with_rate_limit(RateLimitConfig::uniform(rate * 0.98, burst))
        .with_timeouts(Duration::from_secs(5), Duration::from_secs(30))
}

/// `DATABASE_URL`, or a private cluster kept alive by the returned guard.
pub fn database_url() -> anyhow::Result<(Option<fleet_pgcluster::Cluster>, String)> {
    match std::env::var("DATABASE_URL") {
        Ok(url) => Ok((None, url)),
        Err(_) => {
            let cluster =
                fleet_pgcluster::Cluster::start(fleet_pgcluster::ClusterConfig::temporary())
                    .context("starting a private postgres")?;
            let url = cluster.url("postgres");
            Ok((Some(cluster), url))
        }
    }
}

/// The bench's own connections (enqueue, progress), apart from the workers' pools, on an
/// emptied schema.
pub async fn prepare_database(url: &str) -> anyhow::Result<PgPool> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(url)
        .await?;
    fleet_scheduler::migrate(&pool).await?;
    sqlx::query("TRUNCATE jobs CASCADE").execute(&pool).await?;
    sqlx::query("DELETE FROM zone_leases")
        .execute(&pool)
        .await?;
    sqlx::query("DELETE FROM fleet_workers")
        .execute(&pool)
        .await?;
    Ok(pool)
}

/// What every worker of a run shares.
pub struct WorkerSetup<'a> {
    pub database_url: &'a str,
    pub emulator_url: &'a str,
    /// Requests/s per zone of the emulator.
    pub rate: f64,
    /// The zones the workers share.
    pub zones: &'a [Zone],
    /// Job slots per zone.
    pub concurrency: usize,
    /// Postgres pool of each worker.
    pub db_connections: u32,
}

/// A worker running until the stop token fires.
pub struct RunningWorker {
    pub handle: WorkerHandle,
    pub task: JoinHandle<anyhow::Result<()>>,
}

impl WorkerSetup<'_> {
    /// Starts worker `bench-worker-{index}` until `stop`.
    pub async fn start(
        &self,
        index: usize,
        stop: &CancellationToken,
    ) -> anyhow::Result<RunningWorker> {
        let mut config = WorkerConfig::new(
            self.database_url,
            scaleway_config(self.emulator_url, self.rate),
        );
        config.zones = Some(self.zones.to_vec());
        config.listen = "127.0.0.1:0".parse()?;
        config.worker_id = Some(format!("bench-worker-{index}"));
        config.lease_ttl = Duration::from_secs(3);
        config.concurrency = self.concurrency;
        config.db_max_connections = self.db_connections;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(self.db_connections)
            .connect(self.database_url)
            .await?;
        let client = Client::new(config.scaleway.clone())?;
        let worker =
            Worker::from_parts(&config, pool, client, jobs_factory(JobSettings::default())).await?;
        let handle = worker.handle();
        let task = tokio::spawn(worker.run(stop.clone()));
        Ok(RunningWorker { handle, task })
    }

    /// Starts `count` workers and waits until they hold every zone between them, each its
    /// fair share; prints the shares on stderr.
    pub async fn start_sharing(
        &self,
        count: usize,
        stop: &CancellationToken,
    ) -> anyhow::Result<Vec<RunningWorker>> {
        let mut workers = Vec::new();
        for i in 0..count {
            workers.push(self.start(i, stop).await?);
        }
        wait_for_shares(&workers, self.zones.len()).await?;
        let shares: Vec<String> = workers
            .iter()
            .map(|w| format!("{}={:?}", w.handle.id(), w.handle.held_zones()))
            .collect();
        eprintln!("zones held: {}", shares.join(" "));
        Ok(workers)
    }
}

/// Waits for each worker's task after the stop token fired, reporting failures on stderr.
pub async fn join_workers(workers: Vec<RunningWorker>) {
    for w in workers {
        match w.task.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("worker failed: {err:#}"),
            Err(err) => eprintln!("worker task failed: {err}"),
        }
    }
}

/// Waits until the workers hold every zone between them, each its fair share.
async fn wait_for_shares(workers: &[RunningWorker], zones: usize) -> anyhow::Result<()> {
    let floor = zones / workers.len();
    let ceil = zones.div_ceil(workers.len());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let held: Vec<usize> = workers
            .iter()
            .map(|w| w.handle.held_zones().len())
            .collect();
        if held.iter().sum::<usize>() == zones && held.iter().all(|n| (floor..=ceil).contains(n)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("zones not shared after 60 s: {held:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn count_states(pool: &PgPool) -> anyhow::Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, count(*) FROM jobs GROUP BY state")
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Enqueues one `create_server` job with `start = true` per server (`bench-{i}`), spread
/// over `zones` in turn; returns when the enqueue started.
pub async fn enqueue_creates(
    pool: &PgPool,
    servers: usize,
    zones: &[Zone],
) -> anyhow::Result<Instant> {
    let jobs: Vec<NewJob> = (0..servers)
        .map(|i| {
            let zone = zones[i % zones.len()];
            let spec = JobSpec::CreateServer(CreateServerJob {
                request: CreateServerRequest {
                    name: Some(format!("bench-{i}")),
                    commercial_type: Some("DEV1-S".into()),
                    image: Some("ubuntu_noble".into()),
                    ..Default::default()
                },
                start: true,
                ..Default::default()
            });
            NewJob::new(spec.kind(), zone.as_str(), spec.to_args()).caller("bench")
        })
        .collect();
    let started = Instant::now();
    for chunk in jobs.chunks(1000) {
        fleet_scheduler::enqueue_many(pool, chunk).await?;
    }
    Ok(started)
}

/// Waits until `total` jobs have ended; returns (failed or cancelled, completed).
pub async fn wait_until_done(
    pool: &PgPool,
    total: usize,
    started: Instant,
) -> anyhow::Result<(i64, i64)> {
    loop {
        let counts = count_states(pool).await?;
        let completed = counts.get("completed").copied().unwrap_or(0);
        let failed = counts.get("failed").copied().unwrap_or(0)
            + counts.get("cancelled").copied().unwrap_or(0);
        if (completed + failed) as usize >= total {
            return Ok((failed, completed));
        }
        if started.elapsed() > Duration::from_secs(1800) {
            bail!("not done after 30 minutes: {counts:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
