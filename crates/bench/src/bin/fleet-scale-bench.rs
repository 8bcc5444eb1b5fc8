//! Fleet-scale benchmark of the worker: zone ownership, job handlers and zone watchers.
//!
//! `cargo run --release -p fleet-bench --bin fleet-scale-bench -- --servers 1000 --zones 7 --rate-limit 20`
//!
//! Starts a private Postgres (unless `DATABASE_URL` is set) and the emulator in a child
//! process (this binary re-executed with `--serve-emulator`) limited to `--rate-limit`
//! requests/s per zone with 2 s transitions. In this process it runs the scheduler service and
//! 2 real workers ([`fleet_worker::Worker`], built with [`Worker::from_parts`]) that share the
//! zones through their leases; once each holds its share, it enqueues one `create_server` job
//! with `start = true` per server, waits until all are done and prints, as its last line,
//! `wall_s=… bound_s=… ratio=… failed=… duplicates=… rate_limited=… requests=…` where
//! `bound_s = 2 × servers ÷ (zones × rate) + 2`.
//!
//! `--inflight N` instead runs one worker and keeps N operations in flight at once (servers
//! that stay `starting`), and reports the peak RSS (`VmHWM`) of this process: the worker
//! (ownership, runners, handlers, watchers, Postgres pool, HTTP client) and the scheduler
//! service, without the emulator, which holds the N servers in its own process.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fleet_core::{CreateServerRequest, ListServersQuery, Zone};
use fleet_emulator::{Emulator, Quotas};
use fleet_jobs::{CreateServerJob, JobSpec, parse_job_tag};
use fleet_scaleway::{Client, Config, RateLimitConfig};
use fleet_scheduler::{NewJob, SchedulerConfig};
use fleet_worker::jobs::JobSettings;
use fleet_worker::{Worker, WorkerConfig, WorkerHandle, jobs_factory};
use futures::TryStreamExt;
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "0b7e9f3a-5c2d-4e1f-8a6b-9c0d1e2f3a4b";

/// The hidden flag that turns this binary into the emulator's process.
const SERVE_EMULATOR: &str = "--serve-emulator";

struct Args {
    servers: usize,
    zones: usize,
    rate: f64,
    transition: Duration,
    inflight: Option<usize>,
    concurrency: Option<usize>,
    db_connections: Option<u32>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        servers: 1000,
        zones: 7,
        rate: 20.0,
        transition: Duration::from_secs(2),
        inflight: None,
        concurrency: None,
        db_connections: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--servers" => args.servers = value.parse()?,
            "--zones" => args.zones = value.parse()?,
            "--rate-limit" => args.rate = value.parse()?,
            "--transition-ms" => args.transition = Duration::from_millis(value.parse()?),
            "--inflight" => args.inflight = Some(value.parse()?),
            "--concurrency" => args.concurrency = Some(value.parse()?),
            "--db-connections" => args.db_connections = Some(value.parse()?),
            other => bail!(
                "unknown flag {other} (--servers, --zones, --rate-limit, --transition-ms, \
                 --inflight, --concurrency, --db-connections)"
            ),
        }
    }
    if args.zones == 0 || args.zones > Zone::ALL.len() {
        bail!("--zones must be 1 to {}", Zone::ALL.len());
    }
    if args.rate <= 0.0 {
        bail!("--rate-limit must be positive");
    }
    Ok(args)
}

/// `VmHWM` (peak) and `VmRSS` (now) of this process, in kB.
fn rss_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

// ---------------------------------------------------------------------------------------
// The emulator's process.

/// `--serve-emulator --listen ADDR --transition-ms N --rate-limit R`: serves the emulator,
/// prints `listening http://ADDR` once bound, answers `stats` lines on stdin with
/// `requests=… rate_limited=…`, and exits when stdin closes (its parent is gone).
async fn serve_emulator(mut flags: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let mut listen: SocketAddr = "127.0.0.1:0".parse()?;
    let mut transition = Duration::from_secs(2);
    let mut rate = 20.0f64;
    while let Some(flag) = flags.next() {
        let value = flags
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => listen = value.parse()?,
            "--transition-ms" => transition = Duration::from_millis(value.parse()?),
            "--rate-limit" => rate = value.parse()?,
            other => bail!("unknown emulator flag {other}"),
        }
    }
    let quotas = Quotas {
        servers: 1_000_000,
        volumes: 1_000_000,
        ..Quotas::default()
    };
    let emu = Emulator::builder()
        .listen(listen)
        .transition(transition)
        .rate_limit(rate, rate.ceil() as u32)
        .quotas(quotas)
        .start()
        .await?;
    println!("listening {}", emu.base_url());
    // Stdin is read on a thread of its own (blocking reads); its end is the parent's.
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = lines.recv().await {
        if line.trim() == "stats" {
            let log = emu.call_log();
            let rate_limited = log.iter().filter(|c| c.status == 429).count();
            println!("requests={} rate_limited={rate_limited}", log.len());
        }
    }
    emu.shutdown().await;
    Ok(())
}

/// The emulator's child process; killed when dropped.
struct EmulatorProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    base_url: String,
}

impl EmulatorProcess {
    async fn spawn(transition: Duration, rate: f64) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("locating this binary")?;
        let mut child = tokio::process::Command::new(exe)
            .arg(SERVE_EMULATOR)
            .args(["--listen", "127.0.0.1:0"])
            .args(["--transition-ms", &transition.as_millis().to_string()])
            .args(["--rate-limit", &rate.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the emulator process")?;
        let stdin = child.stdin.take().context("emulator stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().context("emulator stdout")?).lines();
        let base_url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = stdout.next_line().await? {
                if let Some(url) = line.strip_prefix("listening ") {
                    return Ok(url.to_owned());
                }
            }
            bail!("the emulator process exited before listening")
        })
        .await
        .context("the emulator process did not start within 30 s")??;
        Ok(Self {
            child,
            stdin,
            stdout,
            base_url,
        })
    }

    /// `(requests, rate_limited)` from the emulator's call log.
    async fn stats(&mut self) -> anyhow::Result<(usize, usize)> {
        self.stdin.write_all(b"stats\n").await?;
        self.stdin.flush().await?;
        let line = self
            .stdout
            .next_line()
            .await?
            .context("the emulator process exited")?;
        let mut requests = None;
        let mut rate_limited = None;
        for part in line.split_whitespace() {
            match part.split_once('=') {
                Some(("requests", v)) => requests = Some(v.parse()?),
                Some(("rate_limited", v)) => rate_limited = Some(v.parse()?),
                _ => {}
            }
        }
        Ok((
            requests.context("no requests= in the stats")?,
            rate_limited.context("no rate_limited= in the stats")?,
        ))
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

// ---------------------------------------------------------------------------------------
// The measured process: scheduler service and workers.

fn scaleway_config(base_url: &str, rate: f64) -> Config {
    // A little under the emulator's limit, with small bursts, so the client's bucket never
    // runs ahead of the server's.
    let burst = ((rate / 4.0).ceil() as u32).max(1);
    Config::new(SECRET)
        .with_api_url(base_url)
        .with_rate_limit(RateLimitConfig::uniform(rate * 0.98, burst))
        .with_timeouts(Duration::from_secs(5), Duration::from_secs(30))
}

struct RunningWorker {
    handle: WorkerHandle,
    task: JoinHandle<anyhow::Result<()>>,
}

#[allow(clippy::too_many_arguments)]
async fn start_worker(
    url: &str,
    base_url: &str,
    rate: f64,
    zones: &[Zone],
    index: usize,
    concurrency: usize,
    db_connections: u32,
    stop: &CancellationToken,
) -> anyhow::Result<RunningWorker> {
    let mut config = WorkerConfig::new(url, scaleway_config(base_url, rate));
    config.zones = Some(zones.to_vec());
    config.listen = "127.0.0.1:0".parse()?;
    config.worker_id = Some(format!("bench-worker-{index}"));
    config.lease_ttl = Duration::from_secs(3);
    config.concurrency = concurrency;
    config.db_max_connections = db_connections;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(db_connections)
        .connect(url)
        .await?;
    let client = Client::new(config.scaleway.clone())?;
    let worker =
        Worker::from_parts(&config, pool, client, jobs_factory(JobSettings::default())).await?;
    let handle = worker.handle();
    let task = tokio::spawn(worker.run(stop.clone()));
    Ok(RunningWorker { handle, task })
}

async fn count_states(pool: &PgPool) -> anyhow::Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, count(*) FROM jobs GROUP BY state")
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
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

/// `DATABASE_URL`, or a private cluster kept alive by the returned guard.
fn database_url() -> anyhow::Result<(Option<fleet_pgcluster::Cluster>, String)> {
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
async fn prepare_database(url: &str) -> anyhow::Result<PgPool> {
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

/// Enqueues one `create_server` job with `start = true` per server, spread over the zones;
/// returns when the enqueue started.
async fn enqueue_creates(pool: &PgPool, servers: usize, zones: &[Zone]) -> anyhow::Result<Instant> {
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

/// Waits until every operation has been started and is waiting (snoozed) on its server.
async fn wait_in_flight(pool: &PgPool, n: usize, started: Instant) -> anyhow::Result<()> {
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE state = 'scheduled' \
             AND progress->>'step' = 'poweron_waiting'",
        )
        .fetch_one(pool)
        .await?;
        if waiting as usize >= n {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(900) {
            bail!("only {waiting} of {n} operations in flight after 15 minutes");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until every job has ended; returns (failed or cancelled, completed).
async fn wait_until_done(
    pool: &PgPool,
    servers: usize,
    started: Instant,
) -> anyhow::Result<(i64, i64)> {
    loop {
        let counts = count_states(pool).await?;
        let completed = counts.get("completed").copied().unwrap_or(0);
        let failed = counts.get("failed").copied().unwrap_or(0)
            + counts.get("cancelled").copied().unwrap_or(0);
        if (completed + failed) as usize >= servers {
            return Ok((failed, completed));
        }
        if started.elapsed() > Duration::from_secs(1800) {
            bail!("not done after 30 minutes: {counts:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Servers carrying each job's tag (more than one per job is a duplicate).
async fn servers_per_job(
    base_url: &str,
    rate: f64,
    zones: &[Zone],
) -> anyhow::Result<HashMap<i64, usize>> {
    let checker = Client::new(scaleway_config(base_url, rate))?.with_caller("bench-check");
    let mut per_job: HashMap<i64, usize> = HashMap::new();
    for zone in zones {
        let all: Vec<fleet_core::Server> = checker
            .list_servers_all(*zone, ListServersQuery::default())
            .try_collect()
            .await?;
        for server in all {
            if let Some(id) = server.tags.iter().find_map(|t| parse_job_tag(t)) {
                *per_job.entry(id).or_default() += 1;
            }
        }
    }
    Ok(per_job)
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut raw = std::env::args().skip(1).peekable();
    if raw.peek().map(String::as_str) == Some(SERVE_EMULATOR) {
        raw.next();
        return runtime.block_on(serve_emulator(raw));
    }
    runtime.block_on(bench())
}

async fn bench() -> anyhow::Result<()> {
    let args = parse_args()?;
    let (_cluster, url) = database_url()?;
    let pool = prepare_database(&url).await?;

    let inflight = args.inflight;
    let (servers, rate, transition, workers_n) = match inflight {
        Some(n) => (n, 5000.0, Duration::from_secs(3600), 1),
        None => (args.servers, args.rate, args.transition, 2),
    };
    let concurrency = args
        .concurrency
        .unwrap_or(if inflight.is_some() { 256 } else { 64 });
    let db_connections = args.db_connections.unwrap_or(8);
    let zones: Vec<Zone> = Zone::ALL[..args.zones].to_vec();
    let mut emu = EmulatorProcess::spawn(transition, rate).await?;

    let stop = CancellationToken::new();
    let scheduler = SchedulerConfig {
        migrate_on_start: false,
        ..SchedulerConfig::default()
    }
    .build(pool.clone())?;
    let scheduler = tokio::spawn(scheduler.run(stop.clone()));
    let mut workers = Vec::new();
    for i in 0..workers_n {
        workers.push(
            start_worker(
                &url,
                &emu.base_url,
                rate,
                &zones,
                i,
                concurrency,
                db_connections,
                &stop,
            )
            .await?,
        );
    }
    wait_for_shares(&workers, zones.len()).await?;
    let shares: Vec<String> = workers
        .iter()
        .map(|w| format!("{}={:?}", w.handle.id(), w.handle.held_zones()))
        .collect();
    eprintln!("zones held: {}", shares.join(" "));

    let started = enqueue_creates(&pool, servers, &zones).await?;

    if let Some(n) = inflight {
        wait_in_flight(&pool, n, started).await?;
        let setup = started.elapsed().as_secs_f64();
        // Let the watcher run rounds over everything pending (and the jobs come back to it at
        // their fallback polls) before reading the peak.
        tokio::time::sleep(Duration::from_secs(40)).await;
        let (peak, now) = rss_kb();
        let (requests, _) = emu.stats().await?;
        stop.cancel();
        for w in workers {
            let _ = w.task.await;
        }
        let _ = scheduler.await;
        emu.stop().await;
        println!(
            "inflight={n} peak_rss_mb={:.1} rss_mb={:.1} setup_s={setup:.1} requests={requests} \
             (worker + scheduler process; emulator in a child process)",
            peak as f64 / 1024.0,
            now as f64 / 1024.0,
        );
        return Ok(());
    }

    let (failed, done) = wait_until_done(&pool, servers, started).await?;
    let wall = started.elapsed().as_secs_f64();
    let (requests, rate_limited) = emu.stats().await?;
    stop.cancel();
    for w in workers {
        match w.task.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("worker failed: {err:#}"),
            Err(err) => eprintln!("worker task failed: {err}"),
        }
    }
    let _ = scheduler.await;

    let per_job = servers_per_job(&emu.base_url, rate, &zones).await?;
    emu.stop().await;
    let duplicates: usize = per_job.values().map(|n| n.saturating_sub(1)).sum();
    let bound = 2.0 * servers as f64 / (zones.len() as f64 * rate) + transition.as_secs_f64();
    let (peak, _) = rss_kb();
    eprintln!(
        "completed={done} servers_found={} peak_rss_mb={:.1}",
        per_job.len(),
        peak as f64 / 1024.0
    );
    println!(
        "wall_s={wall:.2} bound_s={bound:.2} ratio={:.3} failed={failed} duplicates={duplicates} rate_limited={rate_limited} requests={requests}",
        wall / bound
    );
    Ok(())
}
