//! Fleet-scale benchmark of the job handlers and the zone watchers.
//!
//! `cargo run --release -p fleet-worker --bin fleet-scale-bench -- --servers 1000 --zones 7 --rate-limit 20`
//!
//! Starts a private Postgres (unless `DATABASE_URL` is set) and an in-process emulator
//! limited to `--rate-limit` requests/s per zone with 2 s transitions; runs 2 workers that
//! split the zones (per zone: a scheduler runner, `ZoneJobs` and its watcher); enqueues one
//! `create_server` job with `start = true` per server; waits until all are done and prints,
//! as its last line, `wall_s=… bound_s=… ratio=… failed=… duplicates=… rate_limited=…
//! requests=…` where `bound_s = 2 × servers ÷ (zones × rate) + 2`.
//!
//! `--inflight N` instead keeps N operations in flight at once (servers that stay
//! `starting`) and reports the process's peak RSS (`VmHWM`, emulator included).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fleet_core::{CreateServerRequest, ListServersQuery, Zone};
use fleet_emulator::{Emulator, Quotas, RunningEmulator};
use fleet_jobs::{CreateServerJob, JobSpec, parse_job_tag};
use fleet_scaleway::{Client, Config, RateLimitConfig};
use fleet_scheduler::{Listener, NewJob, Runner, RunnerConfig};
use fleet_worker::context::{ZoneContext, ZoneGuard};
use fleet_worker::jobs::{JobSettings, ZoneJobs};
use futures::TryStreamExt;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "0b7e9f3a-5c2d-4e1f-8a6b-9c0d1e2f3a4b";

struct Args {
    servers: usize,
    zones: usize,
    rate: f64,
    transition: Duration,
    inflight: Option<usize>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        servers: 1000,
        zones: 7,
        rate: 20.0,
        transition: Duration::from_secs(2),
        inflight: None,
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
            other => bail!(
                "unknown flag {other} (--servers, --zones, --rate-limit, --transition-ms, --inflight)"
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

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

struct ZoneWorker {
    runner: JoinHandle<()>,
    watcher: JoinHandle<()>,
}

fn client(emu: &RunningEmulator, rate: f64, caller: &str) -> anyhow::Result<Client> {
    // A little under the emulator's limit, with small bursts, so the client's bucket never
    // runs ahead of the server's.
    let burst = ((rate / 4.0).ceil() as u32).max(1);
    let config = Config::new(SECRET)
        .with_api_url(emu.base_url())
        .with_rate_limit(RateLimitConfig::uniform(rate * 0.98, burst))
        .with_timeouts(Duration::from_secs(5), Duration::from_secs(30));
    Ok(Client::new(config)?.with_caller(caller))
}

#[allow(clippy::too_many_arguments)]
fn start_zone(
    pool: &PgPool,
    emu: &RunningEmulator,
    rate: f64,
    zone: Zone,
    owner: &str,
    listener: &Listener,
    concurrency: usize,
    stop: &CancellationToken,
) -> anyhow::Result<ZoneWorker> {
    let ctx = ZoneContext {
        zone,
        client: client(emu, rate, &format!("{owner}/1"))?,
        pool: pool.clone(),
        guard: ZoneGuard::new(zone, 1),
        worker_id: owner.to_owned(),
    };
    let jobs = ZoneJobs::with_settings(ctx, JobSettings::default());
    let mut config = RunnerConfig::new(vec![zone.as_str().to_owned()], format!("{owner}-{zone}"));
    config.concurrency = concurrency;
    config.claim_batch = concurrency.min(200);
    config.poll_interval = Duration::from_millis(200);
    let handler = jobs.clone();
    let runner = Runner::new(pool.clone(), config, move |job| {
        let jobs = handler.clone();
        async move { jobs.handle(job).await }
    })
    .with_listener(listener.clone());
    let runner_stop = stop.clone();
    let runner = tokio::spawn(async move {
        if let Err(err) = runner.run(runner_stop).await {
            tracing::error!(zone = %zone, error = %err, "runner stopped");
        }
    });
    let watcher_stop = stop.clone();
    let watcher = tokio::spawn(async move {
        if let Err(err) = jobs.run_watcher(watcher_stop).await {
            tracing::error!(zone = %zone, error = %err, "watcher stopped");
        }
    });
    Ok(ZoneWorker { runner, watcher })
}

async fn count_states(pool: &PgPool) -> anyhow::Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, count(*) FROM jobs GROUP BY state")
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let _cluster;
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) => url,
        Err(_) => {
            let cluster =
                fleet_pgcluster::Cluster::start(fleet_pgcluster::ClusterConfig::temporary())
                    .context("starting a private postgres")?;
            let url = cluster.url("postgres");
            _cluster = cluster;
            url
        }
    };
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(40)
        .connect(&url)
        .await?;
    fleet_scheduler::migrate(&pool).await?;
    sqlx::query("TRUNCATE jobs CASCADE").execute(&pool).await?;

    let (servers, rate, transition, concurrency) = match args.inflight {
        Some(n) => (n, 5000.0, Duration::from_secs(3600), 2000),
        None => (args.servers, args.rate, args.transition, 64),
    };
    let zones: Vec<Zone> = Zone::ALL[..args.zones].to_vec();
    let quotas = Quotas {
        servers: 1_000_000,
        volumes: 1_000_000,
        ..Quotas::default()
    };
    let emu = Emulator::builder()
        .transition(transition)
        .rate_limit(rate, rate.ceil() as u32)
        .quotas(quotas)
        .start()
        .await?;

    let stop = CancellationToken::new();
    let mut workers = Vec::new();
    let listeners = [
        Listener::start(&pool, stop.clone()),
        Listener::start(&pool, stop.clone()),
    ];
    for (i, zone) in zones.iter().enumerate() {
        let owner = format!("worker-{}", i % 2);
        workers.push(start_zone(
            &pool,
            &emu,
            rate,
            *zone,
            &owner,
            &listeners[i % 2],
            concurrency,
            &stop,
        )?);
    }

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
        fleet_scheduler::enqueue_many(&pool, chunk).await?;
    }

    if let Some(n) = args.inflight {
        // Wait until every operation has been started and is waiting (snoozed) on its server.
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM jobs WHERE state = 'scheduled' \
                 AND progress->>'step' = 'poweron_waiting'",
            )
            .fetch_one(&pool)
            .await?;
            if waiting as usize >= n {
                break;
            }
            if started.elapsed() > Duration::from_secs(600) {
                bail!("only {waiting} of {n} operations in flight after 10 minutes");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        // Let a few watcher rounds run with everything pending.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let rss = peak_rss_kb();
        stop.cancel();
        println!(
            "inflight={n} peak_rss_mb={:.1} setup_s={:.1} (worker, scheduler and emulator in one process)",
            rss as f64 / 1024.0,
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }

    let (failed, done) = loop {
        let counts = count_states(&pool).await?;
        let completed = counts.get("completed").copied().unwrap_or(0);
        let failed = counts.get("failed").copied().unwrap_or(0)
            + counts.get("cancelled").copied().unwrap_or(0);
        if (completed + failed) as usize >= servers {
            break (failed, completed);
        }
        if started.elapsed() > Duration::from_secs(1800) {
            bail!("not done after 30 minutes: {counts:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let wall = started.elapsed().as_secs_f64();
    let log = emu.call_log();
    let requests = log.len();
    let rate_limited = log.iter().filter(|c| c.status == 429).count();
    stop.cancel();
    for w in workers {
        let _ = w.runner.await;
        let _ = w.watcher.await;
    }

    // Duplicates: servers carrying a job tag beyond one per job.
    let checker = client(&emu, rate, "bench-check")?;
    let mut per_job: HashMap<i64, usize> = HashMap::new();
    for zone in &zones {
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
    let duplicates: usize = per_job.values().map(|n| n.saturating_sub(1)).sum();
    let bound = 2.0 * servers as f64 / (zones.len() as f64 * rate) + transition.as_secs_f64();
    eprintln!("completed={done} servers_found={}", per_job.len());
    println!(
        "wall_s={wall:.2} bound_s={bound:.2} ratio={:.3} failed={failed} duplicates={duplicates} rate_limited={rate_limited} requests={requests}",
        wall / bound
    );
    Ok(())
}
