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
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fleet_bench::emulator_process::{EmulatorProcess, run_or_serve};
use fleet_bench::roles::{
    WorkerSetup, database_url, enqueue_creates, join_workers, prepare_database, scaleway_config,
    wait_until_done,
};
use fleet_core::{ListServersQuery, Zone};
use fleet_jobs::parse_job_tag;
use fleet_scaleway::Client;
use fleet_scheduler::SchedulerConfig;
use futures::TryStreamExt;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

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
    run_or_serve(bench)
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
    let workers = WorkerSetup {
        database_url: &url,
        emulator_url: &emu.base_url,
        rate,
        zones: &zones,
        concurrency,
        db_connections,
    }
    .start_sharing(workers_n, &stop)
    .await?;

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
    join_workers(workers).await;
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
