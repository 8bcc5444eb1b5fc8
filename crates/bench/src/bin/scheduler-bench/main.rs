//! Benchmark of the job queue: drain throughput through the real worker loop, enqueue→start
//! latency at a light offered load, and the raw batched claim+complete ceiling of the same
//! database. Starts a private cluster (fsync and synchronous_commit on) unless `DATABASE_URL`
//! is set. The last line is machine-readable:
//! `drain_jobs_per_sec=… enqueue_to_start_p50_ms=… enqueue_to_start_p99_ms=… ceiling_jobs_per_sec=…`
//!
//! `--compare graphile` then drains the same job count with runners shaped like graphile-worker's
//! processes, runs graphile-worker itself on another database of the same cluster (see
//! `graphile.rs`), and prints one more last line with both systems' figures.

mod graphile;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use fleet_pgcluster::{Cluster, ClusterConfig};
use fleet_scheduler::{
    ClaimedJob, Listener, NewJob, Outcome, Runner, RunnerConfig, RunnerCounters, enqueue,
    enqueue_many,
};
use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection as _, PgPool};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(about = "Benchmark the fleet-scheduler job queue")]
struct Args {
    /// No-op jobs to drain (and to run through the ceiling loop).
    #[arg(long, default_value_t = 100_000)]
    jobs: usize,
    /// Runner concurrency (slots) for the drain.
    #[arg(long, default_value_t = 2000)]
    concurrency: usize,
    /// Jobs per claim for the drain.
    #[arg(long, default_value_t = 1000)]
    claim_batch: usize,
    /// Jobs per completion flush for the drain.
    #[arg(long, default_value_t = 1000)]
    completion_batch: usize,
    /// Offered load of the latency phase (jobs/s).
    #[arg(long, default_value_t = 100)]
    latency_rate: u32,
    /// Duration of the latency phase (s).
    #[arg(long, default_value_t = 5)]
    latency_secs: u64,
    /// Connections of the raw ceiling loop.
    #[arg(long, default_value_t = 4)]
    ceiling_clients: usize,
    /// Batch size of the raw ceiling loop.
    #[arg(long, default_value_t = 1000)]
    ceiling_batch: i64,
    /// Also run another job queue on the same cluster and print both systems' figures.
    #[arg(long, value_enum)]
    compare: Option<Compare>,
    /// graphile-worker processes (and runners of the graphile-shaped fleet drain).
    #[arg(long, default_value_t = 2)]
    graphile_processes: usize,
    /// graphile-worker `concurrentJobs` per process.
    #[arg(long, default_value_t = 24)]
    graphile_concurrency: usize,
    /// graphile-worker `localQueue.size` per process (its performance page's value).
    #[arg(long, default_value_t = 500)]
    graphile_local_queue: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Compare {
    /// graphile-worker 0.17.3 (npm), driven by crates/bench/graphile/bench.mjs.
    Graphile,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let (_cluster, admin_url) = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => (None, url),
        _ => {
            let mut config = ClusterConfig::temporary();
            for (k, v) in [
                ("fsync", "on"),
                ("synchronous_commit", "on"),
                ("full_page_writes", "on"),
                ("shared_buffers", "256MB"),
                ("max_wal_size", "4GB"),
                ("checkpoint_timeout", "30min"),
                ("wal_buffers", "16MB"),
            ] {
                config.settings.push((k.into(), v.into()));
            }
            let cluster = Cluster::start(config)?;
            let url = cluster.url("postgres");
            (Some(cluster), url)
        }
    };
    let url = {
        let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
        sqlx::raw_sql("DROP DATABASE IF EXISTS scheduler_bench")
            .execute(&mut conn)
            .await?;
        sqlx::raw_sql("CREATE DATABASE scheduler_bench")
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        fleet_pgcluster::testing::with_database(&admin_url, "scheduler_bench")
    };
    let pool = PgPoolOptions::new()
        .max_connections(12)
        .connect(&url)
        .await?;
    fleet_scheduler::migrate(&pool).await?;
    let settings: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, setting FROM pg_settings \
         WHERE name IN ('fsync', 'synchronous_commit', 'server_version', 'wal_sync_method')",
    )
    .fetch_all(&pool)
    .await?;
    println!("postgres settings: {settings:?}");
    let logged: String =
        sqlx::query_scalar("SELECT relpersistence::text FROM pg_class WHERE relname = 'jobs'")
            .fetch_one(&pool)
            .await?;
    println!("jobs table persistence: {logged} (p = logged)");

    let drain_rate = drain(&pool, args.jobs, vec![(pool.clone(), drain_config(&args))]).await?;
    let (p50, p99) = latency(&pool, &args).await?;
    let ceiling = ceiling(&pool, &args).await?;
    println!(
        "drain_jobs_per_sec={drain_rate:.0} enqueue_to_start_p50_ms={p50:.2} \
         enqueue_to_start_p99_ms={p99:.2} ceiling_jobs_per_sec={ceiling:.0}"
    );
    if args.compare == Some(Compare::Graphile) {
        println!("graphile-shaped drain (same jobs, one runner per graphile process):");
        let runners = graphile_shaped_runners(&url, &args).await?;
        let shaped = drain(&pool, args.jobs, runners).await?;
        let load = graphile::Load {
            jobs: args.jobs,
            latency_rate: args.latency_rate,
            latency_secs: args.latency_secs,
        };
        let shape = graphile::Shape {
            processes: args.graphile_processes,
            concurrency: args.graphile_concurrency,
            local_queue: args.graphile_local_queue,
        };
        let g = graphile::run(&admin_url, load, shape).await?;
        println!(
            "fleet_drain_per_s={drain_rate:.0} fleet_shaped_drain_per_s={shaped:.0} \
             graphile_drain_per_s={:.0} ratio={:.2} shaped_ratio={:.2} \
             fleet_p50_ms={p50:.2} fleet_p99_ms={p99:.2} graphile_p50_ms={:.2} graphile_p99_ms={:.2}",
            g.drain_per_s,
            drain_rate / g.drain_per_s,
            shaped / g.drain_per_s,
            g.p50_ms,
            g.p99_ms
        );
    }
    pool.close().await;
    Ok(())
}

async fn reset(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::raw_sql("TRUNCATE jobs CASCADE").execute(pool).await?;
    Ok(())
}

async fn fill(pool: &PgPool, zone: &str, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mut left = n;
    while left > 0 {
        let k = left.min(5000);
        let jobs: Vec<NewJob> = (0..k)
            .map(|_| NewJob::new("noop", zone, json!({})))
            .collect();
        enqueue_many(pool, &jobs).await?;
        left -= k;
    }
    sqlx::raw_sql("VACUUM ANALYZE jobs").execute(pool).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "enqueued {n} jobs in {secs:.2}s ({:.0} jobs/s, enqueue_many of 5000)",
        n as f64 / secs
    );
    Ok(())
}

/// The drain's runner: one runner, many slots and large claim and completion batches.
fn drain_config(args: &Args) -> RunnerConfig {
    let mut config = RunnerConfig::new(vec!["bench-drain".into()], "bench-drain");
    config.concurrency = args.concurrency;
    config.claim_batch = args.claim_batch;
    config.completion_batch = args.completion_batch;
    config.completion_delay = Duration::from_millis(2);
    config.fetch_cooldown = Duration::from_millis(2);
    config.poll_interval = Duration::from_millis(100);
    config
}

/// One runner per graphile-worker process, each on its own pool. Our runner has no local queue
/// apart from its slots (a claimed job holds a slot until its completion is flushed), so the
/// jobs graphile holds per process (`concurrentJobs` running + `localQueue.size` fetched and
/// locked) become the slots, and its local-queue fetch size the claim batch.
async fn graphile_shaped_runners(
    url: &str,
    args: &Args,
) -> Result<Vec<(PgPool, RunnerConfig)>, sqlx::Error> {
    let mut runners = Vec::with_capacity(args.graphile_processes);
    for i in 0..args.graphile_processes {
        let pool = PgPoolOptions::new()
            .max_connections(12)
            .connect(url)
            .await?;
        let mut config = drain_config(args);
        config.owner = format!("bench-drain-{i}");
        config.concurrency = args.graphile_concurrency + args.graphile_local_queue;
        config.claim_batch = args.graphile_local_queue;
        runners.push((pool, config));
    }
    Ok(runners)
}

/// N no-op jobs enqueued up front, then drained by the real worker loop (one or more runners)
/// while timed.
async fn drain(
    pool: &PgPool,
    jobs: usize,
    runners: Vec<(PgPool, RunnerConfig)>,
) -> Result<f64, Box<dyn std::error::Error>> {
    reset(pool).await?;
    fill(pool, "bench-drain", jobs).await?;
    let shape: Vec<String> = runners
        .iter()
        .map(|(_, c)| {
            format!(
                "concurrency {}, claim batch {}, completion batch {}",
                c.concurrency, c.claim_batch, c.completion_batch
            )
        })
        .collect();
    let shutdown = CancellationToken::new();
    let mut counters = Vec::new();
    let mut tasks = Vec::new();
    let started = Instant::now();
    for (runner_pool, config) in runners {
        let runner = Runner::new(runner_pool, config, |_job: ClaimedJob| async {
            Outcome::Complete(serde_json::Value::Null)
        });
        counters.push(runner.counters());
        tasks.push(tokio::spawn(runner.run(shutdown.clone())));
    }
    let completed = || {
        counters
            .iter()
            .map(|c| RunnerCounters::get(&c.completed) as usize)
            .sum::<usize>()
    };
    while completed() < jobs {
        if tasks.iter().any(|t| t.is_finished()) {
            return Err("runner stopped early".into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    shutdown.cancel();
    for task in tasks {
        task.await??;
    }
    let done: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'completed'")
        .fetch_one(pool)
        .await?;
    if done as usize != jobs {
        return Err(format!("drain: {done} completed rows, expected {jobs}").into());
    }
    let rate = jobs as f64 / secs;
    println!(
        "drain: {jobs} jobs in {secs:.3}s = {rate:.0} jobs/s ({} runner(s): {})",
        shape.len(),
        shape.join("; ")
    );
    Ok(rate)
}

/// Enqueue→handler-start latency at a light offered load, woken by NOTIFY.
async fn latency(pool: &PgPool, args: &Args) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    reset(pool).await?;
    sqlx::raw_sql("VACUUM ANALYZE jobs").execute(pool).await?;
    let shutdown = CancellationToken::new();
    let listener = Listener::start(pool, shutdown.clone());
    let deadline = Instant::now() + Duration::from_secs(10);
    while listener.backend_pid() == 0 {
        if Instant::now() > deadline {
            return Err("listener did not connect".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let epoch = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<f64>();
    let mut config = RunnerConfig::new(vec!["bench-latency".into()], "bench-latency");
    config.concurrency = 100;
    config.claim_batch = 100;
    config.poll_interval = Duration::from_secs(1);
    let runner = Runner::new(pool.clone(), config, move |job: ClaimedJob| {
        let started_ns = epoch.elapsed().as_nanos() as f64;
        let enqueued_ns = job.job.args["t"].as_f64().unwrap_or(started_ns);
        let _ = tx.send((started_ns - enqueued_ns) / 1e6);
        async { Outcome::Complete(serde_json::Value::Null) }
    })
    .with_listener(listener.clone());
    let task = tokio::spawn(runner.run(shutdown.clone()));
    // Let the runner's first (empty) claim pass.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let total = args.latency_rate as u64 * args.latency_secs;
    let period = Duration::from_secs_f64(1.0 / f64::from(args.latency_rate.max(1)));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let pool2 = pool.clone();
    let producer = tokio::spawn(async move {
        let mut enqueue_ms = Vec::with_capacity(total as usize);
        for _ in 0..total {
            tick.tick().await;
            let t = epoch.elapsed().as_nanos() as f64;
            let job = NewJob::new("noop", "bench-latency", json!({ "t": t }));
            if let Err(err) = enqueue(&pool2, &job).await {
                eprintln!("enqueue failed: {err}");
            }
            enqueue_ms.push((epoch.elapsed().as_nanos() as f64 - t) / 1e6);
        }
        enqueue_ms
    });
    let mut samples = Vec::with_capacity(total as usize);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.latency_secs + 30);
    while (samples.len() as u64) < total {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ms)) => samples.push(ms),
            _ => break,
        }
    }
    let mut enqueue_ms = producer.await?;
    enqueue_ms.sort_by(f64::total_cmp);
    if !enqueue_ms.is_empty() {
        println!(
            "latency: enqueue call (insert + NOTIFY + durable commit) p50 {:.2} ms, p99 {:.2} ms",
            enqueue_ms[enqueue_ms.len() / 2],
            enqueue_ms[(enqueue_ms.len() - 1) * 99 / 100]
        );
    }
    shutdown.cancel();
    task.await??;
    if samples.is_empty() {
        return Err("no latency samples".into());
    }
    samples.sort_by(f64::total_cmp);
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    let (p50, p99) = (pct(0.50), pct(0.99));
    println!(
        "latency: {} jobs at {}/s: enqueue->start p50 {p50:.2} ms, p90 {:.2} ms, p99 {p99:.2} ms, max {:.2} ms",
        samples.len(),
        args.latency_rate,
        pct(0.90),
        pct(1.0)
    );
    Ok((p50, p99))
}

/// pgbench-style ceiling: a few connections loop batched claim + batched fenced complete in
/// raw SQL on the same table and indexes.
async fn ceiling(pool: &PgPool, args: &Args) -> Result<f64, Box<dyn std::error::Error>> {
    reset(pool).await?;
    fill(pool, "bench-ceiling", args.jobs).await?;
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.ceiling_clients {
        let pool = pool.clone();
        let done = done.clone();
        let batch = args.ceiling_batch;
        tasks.push(tokio::spawn(async move {
            loop {
                let rows: Vec<(i64, i64)> = sqlx::query_as(
                    "WITH picked AS ( \
                       SELECT id FROM jobs \
                       WHERE state IN ('available', 'scheduled', 'retryable') AND run_at <= now() \
                         AND zone = 'bench-ceiling' \
                       ORDER BY priority, run_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) \
                     UPDATE jobs SET state = 'running', attempt = jobs.attempt + 1, \
                            lease_owner = 'ceiling', lease_expires_at = now() + interval '1 minute', \
                            lease_token = jobs.lease_token + 1, started_at = now(), updated_at = now() \
                     FROM picked WHERE jobs.id = picked.id RETURNING jobs.id, jobs.lease_token",
                )
                .bind(batch)
                .fetch_all(&pool)
                .await?;
                if rows.is_empty() {
                    return Ok::<(), sqlx::Error>(());
                }
                let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
                let tokens: Vec<i64> = rows.iter().map(|r| r.1).collect();
                sqlx::query(
                    "UPDATE jobs SET state = 'completed', result = 'null', finished_at = now(), \
                            updated_at = now(), lease_owner = NULL, lease_expires_at = NULL \
                     FROM unnest($1::int8[], $2::int8[]) AS u(id, token) \
                     WHERE jobs.id = u.id AND jobs.lease_token = u.token AND jobs.state = 'running'",
                )
                .bind(&ids)
                .bind(&tokens)
                .execute(&pool)
                .await?;
                done.fetch_add(ids.len(), std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    let n = done.load(std::sync::atomic::Ordering::Relaxed);
    let rate = n as f64 / secs;
    println!(
        "ceiling: {n} jobs in {secs:.3}s = {rate:.0} jobs/s ({} connections, batches of {})",
        args.ceiling_clients, args.ceiling_batch
    );
    Ok(rate)
}
