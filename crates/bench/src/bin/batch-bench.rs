//! A reboot batch over a whole fleet, against the rate bound.
//!
//! `cargo run --release -p fleet-bench --bin batch-bench -- --servers 1000 --zones 7 --rate-limit 20`
//!
//! Postgres (private unless `DATABASE_URL` is set), the emulator in a child process at
//! `--rate-limit` requests/s per zone with 2 s transitions, and in this process the scheduler
//! service, 2 real workers sharing every zone through their leases, and the gateway (its batch
//! coordinator). The servers are created through fleet before anything is timed: one
//! `create_server` job with `start = true` per server, spread over the first `--zones` zones.
//! Then the emulator's call log is cleared and a `CreateBatch` (zone `all`, action `reboot`,
//! `max_in_flight` `--max-in-flight-percent`) is timed until its operation is done.
//!
//! Everything measured upstream comes from the emulator's call log (see
//! [`fleet_bench::in_flight`]): `max_in_flight_seen` is the largest number of servers between
//! their first and last call at once, `requests` every call of the batch. The last line is
//! `wall_s=… bound_s=… ratio=… failed=… max_in_flight_seen=… requests=…` with
//! `bound_s = servers ÷ (zones × rate) + transition`: one reboot call per server at the full
//! rate of every zone, and the last reboot's transition.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use fleet_bench::emulator_process::{EmulatorProcess, run_or_serve};
use fleet_bench::in_flight::{max_overlap, per_server};
use fleet_bench::roles::{
    WorkerSetup, database_url, enqueue_creates, join_workers, prepare_database, wait_until_done,
};
use fleet_core::Zone;
use fleet_gateway::{CallerConfig, GatewayConfig};
use fleet_proto::v1;
use fleet_scheduler::SchedulerConfig;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

const TOKEN: &str = "batch-bench-token";
/// Workers sharing the zones.
const WORKERS: usize = 2;

#[derive(Debug, Parser)]
#[command(about = "A reboot batch over the fleet, timed against the rate bound")]
struct Args {
    /// Servers created, then rebooted by the batch.
    #[arg(long, default_value_t = 1000)]
    servers: usize,
    /// Zones holding the servers (the first of fleet's zones); the workers own every zone.
    #[arg(long, default_value_t = 7)]
    zones: usize,
    /// Requests/s per zone of the emulator.
    #[arg(long = "rate-limit", default_value_t = 20.0)]
    rate: f64,
    /// Emulator transition, in ms (a reboot goes `stopping`, `starting`, `running` in one).
    #[arg(long = "transition-ms", default_value_t = 2000)]
    transition_ms: u64,
    /// The batch's `max_in_flight`, in percent of the selection.
    #[arg(long = "max-in-flight-percent", default_value_t = 25)]
    max_in_flight_percent: u32,
    /// Job slots per zone of each worker.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Postgres pool of each worker.
    #[arg(long = "db-connections", default_value_t = 8)]
    db_connections: u32,
}

impl Args {
    fn check(&self) -> anyhow::Result<()> {
        if self.servers == 0 {
            bail!("--servers must be at least 1");
        }
        if self.zones == 0 || self.zones > Zone::ALL.len() {
            bail!("--zones must be 1 to {}", Zone::ALL.len());
        }
        if !(self.rate.is_finite() && self.rate > 0.0) {
            bail!("--rate-limit must be a positive number");
        }
        if !(1..=100).contains(&self.max_in_flight_percent) {
            bail!("--max-in-flight-percent must be 1 to 100");
        }
        Ok(())
    }

    fn transition(&self) -> Duration {
        Duration::from_millis(self.transition_ms)
    }
}

fn main() -> anyhow::Result<()> {
    run_or_serve(bench)
}

type Bearer = Box<dyn FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status>>;

/// The gateway's Batches and Operations clients, as an operator.
struct Api {
    batches: v1::batches_client::BatchesClient<InterceptedService<Channel, Bearer>>,
    operations: v1::operations_client::OperationsClient<InterceptedService<Channel, Bearer>>,
}

impl Api {
    async fn connect(addr: std::net::SocketAddr) -> anyhow::Result<Self> {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
            .tcp_nodelay(true)
            .connect()
            .await?;
        let bearer = || -> Bearer {
            let value: tonic::metadata::MetadataValue<_> =
                format!("Bearer {TOKEN}").parse().expect("an ASCII token");
            Box::new(move |mut request: tonic::Request<()>| {
                request
                    .metadata_mut()
                    .insert("authorization", value.clone());
                Ok(request)
            })
        };
        Ok(Self {
            batches: v1::batches_client::BatchesClient::with_interceptor(channel.clone(), bearer()),
            operations: v1::operations_client::OperationsClient::with_interceptor(
                channel,
                bearer(),
            ),
        })
    }

    /// Starts the reboot batch over every zone; returns its operation's name.
    async fn start_reboot(&mut self, max_in_flight_percent: u32) -> anyhow::Result<String> {
        let request = v1::CreateBatchRequest {
            selector: Some(v1::BatchSelector {
                zone: "all".into(),
                ..Default::default()
            }),
            action: Some(v1::BatchAction::power(v1::BatchPowerAction::Reboot)),
            policy: Some(v1::RolloutPolicy {
                max_in_flight: Some(v1::RolloutLimit {
                    limit: Some(v1::rollout_limit::Limit::Percent(max_in_flight_percent)),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let op = self
            .batches
            .create_batch(request)
            .await
            .map_err(|s| anyhow::anyhow!("CreateBatch: {:?} {}", s.code(), s.message()))?
            .into_inner();
        Ok(op.name)
    }

    /// Waits until operation `name` is done.
    async fn wait_done(&mut self, name: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(1800);
        while Instant::now() < deadline {
            let op = self
                .operations
                .wait_operation(v1::WaitOperationRequest {
                    name: name.into(),
                    timeout: None,
                })
                .await
                .map_err(|s| anyhow::anyhow!("WaitOperation: {:?} {}", s.code(), s.message()))?
                .into_inner();
            if op.done {
                return Ok(());
            }
        }
        bail!("{name} not done after 30 minutes")
    }

    /// The batch of operation `name`, with its children.
    async fn batch(&mut self, operation: &str) -> anyhow::Result<v1::Batch> {
        let id = operation
            .strip_prefix("operations/")
            .with_context(|| format!("not an operation name: {operation}"))?;
        Ok(self
            .batches
            .get_batch(v1::GetBatchRequest {
                name: format!("batches/{id}"),
            })
            .await
            .map_err(|s| anyhow::anyhow!("GetBatch: {:?} {}", s.code(), s.message()))?
            .into_inner())
    }
}

/// Starts the gateway (and so its batch coordinator) until `stop`; returns its address.
async fn start_gateway(
    pool: &sqlx::PgPool,
    url: &str,
    stop: &CancellationToken,
) -> anyhow::Result<std::net::SocketAddr> {
    let callers: Vec<CallerConfig> = serde_json::from_value(serde_json::json!([
        {"name": "bench", "token": TOKEN, "projects": ["*"], "role": "operator", "rate_limit": 0},
    ]))?;
    let mut config = GatewayConfig::new("127.0.0.1:0".parse()?, url.to_owned(), callers);
    config.migrate = false;
    config.caller_limit.rate = 0.0;
    let gateway = config.build_with_pool(pool.clone()).await?;
    let addr = gateway.local_addr();
    let stop = stop.clone();
    tokio::spawn(async move {
        if let Err(err) = gateway.run(stop).await {
            eprintln!("gateway failed: {err:#}");
        }
    });
    Ok(addr)
}

async fn bench() -> anyhow::Result<()> {
    let args = Args::parse();
    args.check()?;
    let (_cluster, url) = database_url()?;
    let pool = prepare_database(&url).await?;
    let server_zones: Vec<Zone> = Zone::ALL[..args.zones].to_vec();
    let mut emu = EmulatorProcess::spawn(args.transition(), args.rate).await?;

    let stop = CancellationToken::new();
    let scheduler = SchedulerConfig {
        migrate_on_start: false,
        ..SchedulerConfig::default()
    }
    .build(pool.clone())?;
    let scheduler = tokio::spawn(scheduler.run(stop.clone()));
    // Every zone is owned, so that the batch may select `all`.
    let workers = WorkerSetup {
        database_url: &url,
        emulator_url: &emu.base_url,
        rate: args.rate,
        zones: &Zone::ALL,
        concurrency: args.concurrency,
        db_connections: args.db_connections,
    }
    .start_sharing(WORKERS, &stop)
    .await?;

    // The fleet, created through fleet's own jobs (not timed).
    let created = enqueue_creates(&pool, args.servers, &server_zones).await?;
    let (failed, _) = wait_until_done(&pool, args.servers, created).await?;
    if failed > 0 {
        bail!("{failed} of {} server creates failed", args.servers);
    }
    eprintln!(
        "created {} servers in {:.1} s",
        args.servers,
        created.elapsed().as_secs_f64()
    );

    let gateway = start_gateway(&pool, &url, &stop).await?;
    let mut api = Api::connect(gateway).await?;
    emu.clear_calls().await?;

    let started = Instant::now();
    let operation = api.start_reboot(args.max_in_flight_percent).await?;
    api.wait_done(&operation).await?;
    let wall = started.elapsed().as_secs_f64();

    let batch = api.batch(&operation).await?;
    let phases = child_phases(&pool, &operation).await?;
    let calls = emu.calls().await?;
    stop.cancel();
    join_workers(workers).await;
    let _ = scheduler.await;
    emu.stop().await;

    if batch.children.len() != args.servers {
        bail!(
            "the batch selected {} servers, not the {} created",
            batch.children.len(),
            args.servers
        );
    }
    let failed = batch
        .children
        .iter()
        .filter(|c| c.outcome != "succeeded")
        .count();
    let ids: HashSet<String> = batch.children.iter().map(|c| c.server_id.clone()).collect();
    let seen = per_server(&calls, &ids);
    let max_in_flight_seen = max_overlap(seen.values());
    let rebooted_once = seen.values().filter(|s| s.actions == 1).count();
    let rate_limited = calls.iter().filter(|c| c.status == 429).count();
    let bound =
        args.servers as f64 / (args.zones as f64 * args.rate) + args.transition_ms as f64 / 1000.0;
    eprintln!(
        "batch {} state={} policy max_in_flight={} servers_called={} rebooted_once={rebooted_once} rate_limited={rate_limited}",
        batch.name,
        batch.state,
        batch.max_in_flight,
        seen.len()
    );
    eprintln!("{phases}");
    println!(
        "wall_s={wall:.2} bound_s={bound:.2} ratio={:.3} failed={failed} max_in_flight_seen={max_in_flight_seen} requests={}",
        wall / bound,
        calls.len()
    );
    Ok(())
}

/// Where the children's time went, from their jobs' timestamps (seconds after the batch's
/// creation): when the first and last child was enqueued, claimed and finished, and the
/// median wait in the queue and run time. It tells a slow coordinator from slow children.
async fn child_phases(pool: &sqlx::PgPool, operation: &str) -> anyhow::Result<String> {
    let job_id: i64 = operation
        .strip_prefix("operations/")
        .and_then(|id| id.parse().ok())
        .with_context(|| format!("not an operation name: {operation}"))?;
    let row: (f64, f64, f64, f64, f64, f64, f64) = sqlx::query_as(
        "WITH b AS (SELECT created_at FROM jobs WHERE id = $1), \
              c AS (SELECT j.* FROM jobs j JOIN batch_children bc ON bc.job_id = j.id \
                    WHERE bc.batch_id = $1) \
         SELECT extract(epoch FROM min(c.created_at) - b.created_at)::float8, \
                extract(epoch FROM max(c.created_at) - b.created_at)::float8, \
                extract(epoch FROM max(c.started_at) - b.created_at)::float8, \
                extract(epoch FROM max(c.finished_at) - b.created_at)::float8, \
                extract(epoch FROM percentile_cont(0.5) WITHIN GROUP \
                  (ORDER BY c.started_at - c.created_at))::float8, \
                extract(epoch FROM percentile_cont(0.5) WITHIN GROUP \
                  (ORDER BY c.finished_at - c.started_at))::float8, \
                extract(epoch FROM max(c.finished_at - c.started_at))::float8 \
         FROM c, b GROUP BY b.created_at",
    )
    .bind(job_id)
    .fetch_one(pool)
    .await
    .context("reading the children's jobs")?;
    let (first_enq, last_enq, last_start, last_end, wait_p50, run_p50, run_max) = row;
    Ok(format!(
        "children (s after the batch's creation): first enqueued {first_enq:.2}, last enqueued \
         {last_enq:.2}, last claimed {last_start:.2}, last finished {last_end:.2}; queue wait p50 \
         {wait_p50:.2}, run p50 {run_p50:.2} max {run_max:.2}"
    ))
}
