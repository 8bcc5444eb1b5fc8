//! `fleet dev`: every role in one process, for a newcomer's first five minutes and for local
//! development. With no `DATABASE_URL` it runs a private Postgres cluster under `--data-dir`
//! (initialised on first run, reused on the next, stopped on exit); with no `SCW_SECRET_KEY`
//! the upstream is an in-process emulator that the Scaleway CLI and SDKs can use too.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use fleet_emulator::{Emulator, RunningEmulator};
use fleet_gateway::{CallerConfig, GatewayConfig, Role};
use fleet_pgcluster::{Cluster, ClusterConfig};
use fleet_scheduler::SchedulerConfig;
use fleet_worker::{Worker, WorkerConfig, jobs_factory};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The emulator's tenant key in dev mode: any UUID is its own tenant (organization and default
/// project equal the key). Not a secret.
const DEV_TENANT: &str = "00000000-0000-4000-8000-00000000f1ee";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// gRPC address of the gateway.
    #[arg(long, env = "FLEET_DEV_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// Address of the in-process Scaleway emulator (port 0 picks a free one).
    #[arg(long, env = "FLEET_DEV_EMULATOR_LISTEN", default_value = "127.0.0.1:0")]
    pub emulator_listen: SocketAddr,
    /// Where the private Postgres cluster lives between runs.
    #[arg(long, env = "FLEET_DEV_DATA_DIR", default_value = ".fleet-dev")]
    pub data_dir: PathBuf,
    /// How long the emulator's transient states last.
    #[arg(long, env = "FLEET_DEV_TRANSITION", default_value = "3s", value_parser = humantime::parse_duration)]
    pub transition: Duration,
    /// The operator token (generated and printed when unset).
    #[arg(long, env = "FLEET_DEV_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Postgres URL (a private cluster under `--data-dir` when unset).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The real Scaleway API when `--scw-secret-key` / `SCW_SECRET_KEY` is set, else the emulator.
    #[command(flatten)]
    pub scaleway: fleet_scaleway::Settings,
}

pub async fn run(args: Args, telemetry: &fleet_telemetry::TelemetryArgs) -> anyhow::Result<()> {
    let telemetry = super::telemetry(telemetry, "fleet")?;
    let shutdown = crate::shutdown::on_signal();

    let database_url = args
        .database_url
        .clone()
        .filter(|url| !url.trim().is_empty());
    let (database_url, cluster) = match database_url {
        Some(url) => (url, None),
        None => {
            let (url, cluster) = private_postgres(&args.data_dir).await?;
            (url, Some(cluster))
        }
    };
    let result = run_roles(&args, &database_url, cluster.is_some(), shutdown).await;

    if let Some(cluster) = cluster {
        // pg_ctl stop blocks; keep it off the async threads.
        tokio::task::spawn_blocking(move || cluster.stop())
            .await
            .context("stopping postgres")?
            .context("stopping postgres")?;
    }
    telemetry.shutdown();
    result
}

async fn private_postgres(data_dir: &Path) -> anyhow::Result<(String, Cluster)> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create --data-dir {}", data_dir.display()))?;
    let dir = data_dir
        .canonicalize()
        .with_context(|| format!("cannot resolve --data-dir {}", data_dir.display()))?
        .join("postgres");
    let first_run = !dir.join("PG_VERSION").exists();
    let cluster = tokio::task::spawn_blocking(move || {
        Cluster::start(ClusterConfig::persistent(dir))
    })
    .await
    .context("starting postgres")?
    .context(
        "starting the private postgres cluster (are the PostgreSQL server binaries installed?)",
    )?;
    let admin = super::connect(&cluster.url("postgres"), 1).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'fleet')")
            .fetch_one(&admin)
            .await?;
    if !exists {
        sqlx::query("CREATE DATABASE fleet").execute(&admin).await?;
    }
    admin.close().await;
    tracing::info!(
        port = cluster.port(),
        data_dir = %cluster.data_dir().display(),
        first_run,
        "private postgres ready"
    );
    Ok((cluster.url("fleet"), cluster))
}

async fn run_roles(
    args: &Args,
    database_url: &str,
    private_postgres: bool,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (scaleway, emulator) = upstream(args).await?;
    let token = match args.token.clone().filter(|token| !token.trim().is_empty()) {
        Some(token) => (token, false),
        None => (uuid::Uuid::new_v4().simple().to_string(), true),
    };

    let pool = super::connect(database_url, 24).await?;
    fleet_scheduler::migrate(&pool).await?;

    let scheduler = SchedulerConfig {
        migrate_on_start: false,
        ..SchedulerConfig::default()
    }
    .build(pool.clone())?;

    let mut worker_config = WorkerConfig::new(database_url, scaleway.clone());
    worker_config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    worker_config.worker_id = Some("dev-worker".to_owned());
    let client = fleet_scaleway::Client::new(scaleway).context("building the scaleway client")?;
    let worker = Worker::from_parts(
        &worker_config,
        pool.clone(),
        client,
        jobs_factory(Default::default()),
    )
    .await
    .context("starting the worker")?;

    let callers = vec![CallerConfig {
        name: "dev".to_owned(),
        token: Some(token.0.clone()),
        token_sha256: None,
        projects: vec!["*".to_owned()],
        role: Role::Operator,
        rate_limit: None,
        burst: None,
    }];
    let mut gateway_config = GatewayConfig::new(args.listen, database_url, callers);
    gateway_config.migrate = false;
    let gateway = gateway_config
        .build_with_pool(pool.clone())
        .await
        .with_context(|| format!("starting the gateway on {}", args.listen))?;

    print_banner(&Banner {
        gateway: gateway.local_addr(),
        emulator: emulator.as_ref().map(RunningEmulator::base_url),
        worker: worker.local_addr(),
        private_postgres: private_postgres.then_some(args.data_dir.as_path()),
        token: &token.0,
        token_generated: token.1,
    });

    let mut roles = JoinSet::new();
    let stop = shutdown.clone();
    roles.spawn(async move {
        (
            "gateway",
            gateway.run(stop).await.map_err(anyhow::Error::from),
        )
    });
    let stop = shutdown.clone();
    roles.spawn(async move { ("worker", worker.run(stop).await) });
    let stop = shutdown.clone();
    roles.spawn(async move {
        (
            "scheduler",
            scheduler.run(stop).await.map_err(anyhow::Error::from),
        )
    });

    let mut failure = None;
    while let Some(joined) = roles.join_next().await {
        let (role, result) = match joined {
            Ok(done) => done,
            Err(err) => ("a role", Err(anyhow::anyhow!("task failed: {err}"))),
        };
        match result {
            Ok(()) if shutdown.is_cancelled() => tracing::info!(role, "stopped"),
            Ok(()) => {
                tracing::error!(role, "stopped on its own; shutting the others down");
                failure.get_or_insert_with(|| anyhow::anyhow!("{role} stopped unexpectedly"));
                shutdown.cancel();
            }
            Err(err) => {
                tracing::error!(role, error = %err, "failed; shutting the others down");
                failure.get_or_insert(err.context(format!("{role} failed")));
                shutdown.cancel();
            }
        }
    }
    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    pool.close().await;
    match failure {
        Some(err) => Err(err),
        None => {
            println!("fleet dev stopped");
            Ok(())
        }
    }
}

/// The real API when `SCW_SECRET_KEY` is set, otherwise an in-process emulator.
async fn upstream(
    args: &Args,
) -> anyhow::Result<(fleet_scaleway::Config, Option<RunningEmulator>)> {
    let real_key = args.scaleway.secret_key.as_ref();
    if real_key.is_some_and(|key| !key.expose().trim().is_empty()) {
        let config = args
            .scaleway
            .clone()
            .into_config()
            .context("scaleway configuration (SCW_*)")?;
        return Ok((config, None));
    }
    if args.transition.is_zero() {
        bail!("--transition must be positive");
    }
    let emulator = Emulator::builder()
        .listen(args.emulator_listen)
        .transition(args.transition)
        .start()
        .await
        .with_context(|| format!("starting the emulator on {}", args.emulator_listen))?;
    let mut config = fleet_scaleway::Config::new(DEV_TENANT).with_api_url(emulator.base_url());
    config.default_project_id = Some(DEV_TENANT.to_owned());
    config.default_organization_id = Some(DEV_TENANT.to_owned());
    Ok((config, Some(emulator)))
}

struct Banner<'a> {
    gateway: SocketAddr,
    emulator: Option<String>,
    worker: SocketAddr,
    private_postgres: Option<&'a Path>,
    token: &'a str,
    token_generated: bool,
}

fn print_banner(banner: &Banner<'_>) {
    let mut lines = vec![
        "fleet dev is running".to_owned(),
        format!("  gateway (gRPC)   http://{}", banner.gateway),
        format!("  worker (internal) http://{}", banner.worker),
    ];
    match &banner.emulator {
        Some(url) => lines.push(format!(
            "  emulator         {url}   (Scaleway API; SCW_API_URL={url} SCW_SECRET_KEY={DEV_TENANT})"
        )),
        None => lines.push("  upstream         the real Scaleway API (SCW_SECRET_KEY is set)".to_owned()),
    }
    match banner.private_postgres {
        Some(dir) => lines.push(format!(
            "  postgres         private cluster in {}",
            dir.display()
        )),
        None => lines.push("  postgres         DATABASE_URL".to_owned()),
    }
    let origin = if banner.token_generated {
        "generated; set FLEET_DEV_TOKEN to choose it"
    } else {
        "from FLEET_DEV_TOKEN"
    };
    lines.push(format!("  operator token   ({origin})"));
    lines.push(String::new());
    lines.push("connect:".to_owned());
    lines.push(format!("  export FLEET_ADDR=http://{}", banner.gateway));
    if banner.token_generated {
        // Nobody knows a generated token yet: showing it once is the point.
        lines.push(format!("  export FLEET_TOKEN={}", banner.token));
    } else {
        // A chosen token is a secret the operator already has: never print it (promise 7).
        lines.push("  export FLEET_TOKEN=\"$FLEET_DEV_TOKEN\"".to_owned());
    }
    lines.push("  fleetctl servers list --zone all".to_owned());
    lines.push("press Ctrl-C to stop".to_owned());
    println!("{}", lines.join("\n"));
}
