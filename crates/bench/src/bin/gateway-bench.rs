//! What the gateway adds to a synchronous call: `GetServer` through the public gRPC API
//! (caller → gateway → worker → emulator) against a direct HTTP `GET` of the same server to the
//! emulator, in the same process and run, alternating one of each so that both see the same
//! machine load.
//!
//! Everything is in-process: a fresh database on `DATABASE_URL`'s server when set, else on a
//! private Postgres cluster (`fleet_pgcluster`); the emulator; one real worker owning
//! `fr-par-1` (its Scaleway client without a rate limit, so the bench measures latency, not
//! the client's token bucket); the scheduler service; the gateway (no per-caller limit).
//!
//! ```text
//! cargo run --release -p fleet-bench --bin gateway-bench -- --requests 5000
//! ```
//!
//! The last line is machine-readable:
//! `direct_p50_ms=… direct_p99_ms=… gateway_p50_ms=… gateway_p99_ms=… added_p50_ms=… added_p99_ms=…`.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use fleet_core::{Operation, Zone};
use fleet_emulator::Emulator;
use fleet_gateway::{CallerConfig, GatewayConfig};
use fleet_proto::v1;
use fleet_scaleway::{RateLimitConfig, RetryPolicy};
use fleet_worker::jobs::JobSettings;
use fleet_worker::{WorkerConfig, WorkerHandle};
use tokio_util::sync::CancellationToken;

const ZONE: &str = "fr-par-1";
const TOKEN: &str = "bench-token";

#[derive(Debug, Parser)]
#[command(about = "GetServer through the gateway vs a direct GET to the emulator")]
struct Args {
    /// Measured requests of each kind.
    #[arg(long, default_value_t = 5000)]
    requests: usize,
    /// Unmeasured requests of each kind first (connections, caches, allocator).
    #[arg(long, default_value_t = 500)]
    warmup: usize,
}

/// The `q`-quantile (0..=1) of sorted samples, nearest rank.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.requests == 0 {
        bail!("--requests must be at least 1");
    }
    let shutdown = CancellationToken::new();

    // Postgres.
    let url = fleet_pgcluster::testing::fresh_database().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(16)
        .connect(&url)
        .await
        .context("database connects")?;
    fleet_scheduler::migrate(&pool).await?;

    let fixture = Fixture::start().await?;
    let roles = Roles::start(&pool, &url, &fixture, &shutdown).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !roles.worker.held_zones().contains(&Zone::FrPar1) {
        if Instant::now() > deadline {
            bail!("the worker never owned {ZONE}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (mut direct, mut through) = alternate(&args, &fixture, &roles).await?;
    breakdown(&args, &fixture, &roles).await?;
    shutdown.cancel();
    direct.sort();
    through.sort();
    report(&args, &direct, &through);
    Ok(())
}

/// The emulator, a server to read in it, and the plain HTTP client of the direct GETs.
struct Fixture {
    emulator: fleet_emulator::RunningEmulator,
    secret: String,
    http: reqwest::Client,
    server_id: String,
    direct_url: String,
}

impl Fixture {
    async fn start() -> anyhow::Result<Self> {
        let emulator = Emulator::builder()
            .transition(Duration::from_millis(200))
            .start()
            .await?;
        let secret = uuid::Uuid::new_v4().to_string();
        let http = reqwest::Client::builder().tcp_nodelay(true).build()?;
        let created = http
            .post(format!(
                "{}/instance/v1/zones/{ZONE}/servers",
                emulator.base_url()
            ))
            .header("X-Auth-Token", &secret)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&serde_json::json!({
                "name": "bench-1", "commercial_type": "DEV1-S", "image": "ubuntu_jammy", "project": secret,
            }))?)
            .send()
            .await?;
        if !created.status().is_success() {
            bail!("fixture server refused: {}", created.text().await?);
        }
        let created: serde_json::Value = serde_json::from_slice(&created.bytes().await?)?;
        let server_id = created["server"]["id"]
            .as_str()
            .context("server id")?
            .to_owned();
        let direct_url = format!(
            "{}/instance/v1/zones/{ZONE}/servers/{server_id}",
            emulator.base_url()
        );
        Ok(Self {
            emulator,
            secret,
            http,
            server_id,
            direct_url,
        })
    }

    fn get_server_request(&self) -> v1::GetServerRequest {
        v1::GetServerRequest {
            zone: ZONE.into(),
            server_id: self.server_id.clone(),
        }
    }
}

/// The scheduler service, one real worker and the gateway, running until `shutdown`.
struct Roles {
    worker: WorkerHandle,
    worker_addr: std::net::SocketAddr,
    gateway_addr: std::net::SocketAddr,
}

impl Roles {
    async fn start(
        pool: &sqlx::PgPool,
        url: &str,
        fixture: &Fixture,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Self> {
        let scheduler = fleet_scheduler::SchedulerConfig::default().build(pool.clone())?;
        tokio::spawn(scheduler.run(shutdown.clone()));
        let scaleway = fleet_scaleway::Config::new(fixture.secret.clone())
            .with_api_url(fixture.emulator.base_url())
            .with_retry(RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(100),
                max_retry_after: Duration::from_secs(1),
            })
            .with_rate_limit(RateLimitConfig::unlimited());
        let mut worker_config = WorkerConfig::new(url.to_owned(), scaleway);
        worker_config.zones = Some(vec![Zone::FrPar1]);
        worker_config.listen = "127.0.0.1:0".parse()?;
        worker_config.db_max_connections = 5;
        let worker = worker_config
            .build_with(fleet_worker::jobs_factory(JobSettings::default()))
            .await?;
        let handle = worker.handle();
        let worker_addr = worker.local_addr();
        tokio::spawn(worker.run(shutdown.clone()));

        let callers: Vec<CallerConfig> = serde_json::from_value(serde_json::json!([
            {"name": "bench", "token": TOKEN, "projects": ["*"], "role": "operator", "rate_limit": 0},
        ]))?;
        let mut config = GatewayConfig::new("127.0.0.1:0".parse()?, url.to_owned(), callers);
        config.migrate = false;
        config.caller_limit.rate = 0.0;
        let gateway = config.build_with_pool(pool.clone()).await?;
        let gateway_addr = gateway.local_addr();
        tokio::spawn(gateway.run(shutdown.clone()));
        Ok(Self {
            worker: handle,
            worker_addr,
            gateway_addr,
        })
    }
}

async fn connect(addr: std::net::SocketAddr) -> anyhow::Result<tonic::transport::Channel> {
    Ok(
        tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
            .tcp_nodelay(true)
            .connect()
            .await?,
    )
}

/// The measured requests: one direct GET and one `GetServer` through the gateway, in turn.
async fn alternate(
    args: &Args,
    fixture: &Fixture,
    roles: &Roles,
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let bearer: tonic::metadata::MetadataValue<_> = format!("Bearer {TOKEN}").parse()?;
    let mut servers = v1::servers_client::ServersClient::with_interceptor(
        connect(roles.gateway_addr).await?,
        move |mut request: tonic::Request<()>| {
            request
                .metadata_mut()
                .insert("authorization", bearer.clone());
            Ok(request)
        },
    );

    let mut direct = Vec::with_capacity(args.requests);
    let mut through = Vec::with_capacity(args.requests);
    for i in 0..args.warmup + args.requests {
        let started = Instant::now();
        let response = fixture
            .http
            .get(&fixture.direct_url)
            .header("X-Auth-Token", &fixture.secret)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("direct GET answered {}", response.status());
        }
        let body = response.bytes().await?;
        let d = started.elapsed();
        if body.is_empty() {
            bail!("direct GET returned no body");
        }

        let started = Instant::now();
        let got = servers
            .get_server(fixture.get_server_request())
            .await
            .map_err(|s| anyhow::anyhow!("GetServer failed: {:?} {}", s.code(), s.message()))?
            .into_inner();
        let g = started.elapsed();
        if got.id != fixture.server_id {
            bail!("GetServer returned another server");
        }
        if i >= args.warmup {
            direct.push(d);
            through.push(g);
        }
    }
    Ok((direct, through))
}

/// Where the time goes: the worker's own Invoke (bench → worker → emulator), and a call the
/// gateway refuses in its interceptor (bench → gateway only, no database, no worker).
async fn breakdown(args: &Args, fixture: &Fixture, roles: &Roles) -> anyhow::Result<()> {
    let samples = (args.requests / 10).max(50);
    let mut worker_client = fleet_proto::internal::zone_calls_client::ZoneCallsClient::new(
        connect(roles.worker_addr).await?,
    );
    let invoke = fleet_proto::internal::InvokeRequest {
        zone: ZONE.into(),
        operation: Operation::GetServer.name().into(),
        path_params: [("server_id".to_owned(), fixture.server_id.clone())].into(),
        caller: "bench".into(),
        ..Default::default()
    };
    let mut via_worker = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        let answer = worker_client.invoke(invoke.clone()).await?.into_inner();
        via_worker.push(started.elapsed());
        if answer.status != 200 {
            bail!("worker Invoke answered {}", answer.status);
        }
    }
    let mut refused = v1::servers_client::ServersClient::new(connect(roles.gateway_addr).await?);
    let mut gateway_only = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        let err = refused
            .get_server(fixture.get_server_request())
            .await
            .expect_err("no token is refused");
        gateway_only.push(started.elapsed());
        if err.code() != tonic::Code::Unauthenticated {
            bail!("unexpected refusal {err:?}");
        }
    }
    via_worker.sort();
    gateway_only.sort();
    println!(
        "breakdown ({samples} samples each): worker Invoke direct (→ emulator) p50 {:.3} ms p99 {:.3} ms; \
         gateway refusing in its interceptor p50 {:.3} ms p99 {:.3} ms",
        ms(quantile(&via_worker, 0.5)),
        ms(quantile(&via_worker, 0.99)),
        ms(quantile(&gateway_only, 0.5)),
        ms(quantile(&gateway_only, 0.99)),
    );
    Ok(())
}

/// Prints the figures of the sorted samples, the machine-readable line last.
fn report(args: &Args, direct: &[Duration], through: &[Duration]) {
    let (d50, d99) = (quantile(direct, 0.50), quantile(direct, 0.99));
    let (g50, g99) = (quantile(through, 0.50), quantile(through, 0.99));
    let added50 = ms(g50) - ms(d50);
    let added99 = ms(g99) - ms(d99);
    println!(
        "requests: {} of each kind (after {} warm-up), sequential, alternating",
        args.requests, args.warmup
    );
    println!(
        "direct  GET /servers/{{id}} to the emulator: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        ms(d50),
        ms(d99),
        ms(*direct.last().unwrap_or(&Duration::ZERO))
    );
    println!(
        "gateway GetServer (gateway → worker → emulator): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        ms(g50),
        ms(g99),
        ms(*through.last().unwrap_or(&Duration::ZERO))
    );
    println!(
        "added by gateway + worker: p50 {added50:.3} ms (target ≤ 1), p99 {added99:.3} ms (target ≤ 5)"
    );
    println!(
        "direct_p50_ms={:.3} direct_p99_ms={:.3} gateway_p50_ms={:.3} gateway_p99_ms={:.3} added_p50_ms={added50:.3} added_p99_ms={added99:.3}",
        ms(d50),
        ms(d99),
        ms(g50),
        ms(g99)
    );
}
