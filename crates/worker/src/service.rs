//! The worker process: [`WorkerConfig`] → [`WorkerConfig::build`] → [`Worker::run`] until
//! shutdown.
//!
//! `run` serves the internal `ZoneCalls` gRPC service and runs the zone ownership manager
//! (which runs, per held zone, the job runner and the watcher). On shutdown every zone is given
//! up gracefully (runners release their jobs, leases are released, the worker leaves the
//! membership) before the gRPC server stops, so the gateway's calls keep being answered, with
//! `NOT_ZONE_OWNER` once a zone is gone, until the end.

use std::net::SocketAddr;
use std::sync::Arc;

use fleet_core::Zone;
use fleet_scaleway::Client;
use fleet_scheduler::{ClaimedJob, Listener, Outcome};
use futures::future::BoxFuture;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::calls::ZoneCallsService;
use crate::config::{ConfigError, WorkerConfig, redact_url};
use crate::context::ZoneContext;
use crate::jobs::{JobSettings, ZoneJobs};
use crate::ownership::{HeldZones, Ownership, OwnershipConfig, Stall, ZoneWork, ZoneWorkFactory};

/// Why a worker could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot connect to the database at {url}: {source}")]
    Database { url: String, source: sqlx::Error },
    #[error("cannot migrate the database: {0}")]
    Migrate(#[source] fleet_scheduler::SchedulerError),
    #[error("cannot build the scaleway client: {0}")]
    Client(#[source] fleet_scaleway::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

impl ZoneWork for ZoneJobs {
    fn run_watcher(
        self: Arc<Self>,
        shutdown: CancellationToken,
    ) -> BoxFuture<'static, anyhow::Result<()>> {
        Box::pin(async move { ZoneJobs::run_watcher(&self, shutdown).await })
    }

    fn handle(self: Arc<Self>, job: ClaimedJob) -> BoxFuture<'static, Outcome> {
        Box::pin(async move { ZoneJobs::handle(&self, job).await })
    }
}

/// The worker's own zone work: the job handlers and watcher of [`crate::jobs`].
pub fn jobs_factory(settings: JobSettings) -> ZoneWorkFactory {
    Arc::new(move |ctx: ZoneContext| {
        Arc::new(ZoneJobs::with_settings(ctx, settings.clone())) as Arc<dyn ZoneWork>
    })
}

impl WorkerConfig {
    /// Connects to Postgres, applies the migrations, builds the Scaleway client and binds the
    /// internal gRPC listener. The zones run the worker's job handlers.
    pub async fn build(self) -> Result<Worker, BuildError> {
        let settings = JobSettings {
            sweep_mode: self.orphan_sweep,
            sweep_interval: self.orphan_sweep_interval,
            ..JobSettings::default()
        };
        self.build_with(jobs_factory(settings)).await
    }

    /// [`WorkerConfig::build`] with another zone work (tests, tools).
    pub async fn build_with(self, work: ZoneWorkFactory) -> Result<Worker, BuildError> {
        self.validate()?;
        let pool = PgPoolOptions::new()
            .max_connections(self.db_max_connections)
            .connect(&self.database_url)
            .await
            .map_err(|source| BuildError::Database {
                url: redact_url(&self.database_url),
                source,
            })?;
        let client = Client::new(self.scaleway.clone()).map_err(BuildError::Client)?;
        Worker::from_parts(&self, pool, client, work).await
    }
}

/// A built worker, ready to [`Worker::run`].
pub struct Worker {
    id: String,
    advertise: String,
    local_addr: SocketAddr,
    listener: TcpListener,
    pool: PgPool,
    ownership: Ownership,
    held: HeldZones,
    stall: Stall,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.id)
            .field("advertise", &self.advertise)
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker on an existing pool and client (tests, `fleet dev`): migrates, binds
    /// `config.listen`, and uses `config` for the rest (its `database_url` and `scaleway` are
    /// not used).
    pub async fn from_parts(
        config: &WorkerConfig,
        pool: PgPool,
        client: Client,
        work: ZoneWorkFactory,
    ) -> Result<Worker, BuildError> {
        config.validate()?;
        fleet_scheduler::migrate(&pool)
            .await
            .map_err(BuildError::Migrate)?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| BuildError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| BuildError::Bind {
            addr: config.listen,
            source,
        })?;
        let id = config
            .worker_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let advertise = config
            .advertise_address
            .clone()
            .unwrap_or_else(|| derived_address(local_addr));
        let ownership = Ownership::new(
            OwnershipConfig {
                worker_id: id.clone(),
                address: advertise.clone(),
                zones: config.eligible_zones(),
                lease_ttl: config.lease_ttl,
                concurrency: config.concurrency,
                job_lease: config.job_lease,
            },
            pool.clone(),
            client,
            work,
        );
        Ok(Worker {
            id,
            advertise,
            local_addr,
            listener,
            pool,
            held: ownership.held(),
            stall: ownership.stall(),
            ownership,
        })
    }

    /// The lease owner id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The bound internal gRPC address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address stored in the leases (what the gateway dials).
    pub fn advertise_address(&self) -> &str {
        &self.advertise
    }

    /// Zones held now.
    pub fn held_zones(&self) -> Vec<Zone> {
        self.handle().held_zones()
    }

    /// A handle that stays usable while [`Worker::run`] owns the worker.
    pub fn handle(&self) -> WorkerHandle {
        WorkerHandle {
            id: self.id.clone(),
            held: self.held.clone(),
            stall: self.stall.clone(),
        }
    }

    /// Serves `ZoneCalls` and owns zones until `shutdown` is cancelled, then gives every zone
    /// up and stops. Dropping the future (abort) revokes every zone at once; the leases then
    /// expire after their TTL.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Worker {
            id,
            advertise,
            local_addr,
            listener,
            pool,
            ownership,
            held,
            ..
        } = self;
        tracing::info!(worker_id = %id, %local_addr, advertise = %advertise, "worker starting");
        // The listener's connection also closes when this future is dropped (abort).
        let listening = shutdown.child_token();
        let _stop_listening = listening.clone().drop_guard();
        let events = Listener::start(&pool, listening);
        let ownership = ownership.with_listener(events);
        let server_stop = CancellationToken::new();
        let service = ZoneCallsService::new(held, pool.clone());
        // Health for probes: SERVING while the worker runs; the zones it holds are visible in
        // the leases table, not here, because a worker with no zone is still healthy.
        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_service_status("", tonic_health::ServingStatus::Serving)
            .await;
        let server = tonic::transport::Server::builder()
            .layer(fleet_telemetry::grpc::RpcServerLayer::new())
            .add_service(health_service)
            .add_service(service.into_server())
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                server_stop.clone().cancelled_owned(),
            );
        // Each half stops the other: zones are not kept without the server that answers
        // for them, and the server outlives the zones only until they are given up.
        let stop_owning = shutdown.child_token();
        let owning = async {
            let result = ownership.run(stop_owning.clone()).await;
            server_stop.cancel();
            result
        };
        let serving = async {
            let result = server.await;
            stop_owning.cancel();
            result
        };
        let (owned, served) = tokio::join!(owning, serving);
        if let Err(err) = &owned {
            tracing::error!(worker_id = %id, error = %err, "zone ownership failed");
        }
        if let Err(err) = &served {
            tracing::error!(worker_id = %id, error = %err, "zone calls server failed");
        }
        owned?;
        served?;
        tracing::info!(worker_id = %id, "worker stopped");
        Ok(())
    }
}

/// What tests and the `fleet` binary can observe of a running worker.
#[derive(Debug, Clone)]
pub struct WorkerHandle {
    id: String,
    held: HeldZones,
    stall: Stall,
}

impl WorkerHandle {
    /// The lease owner id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Zones held now.
    pub fn held_zones(&self) -> Vec<Zone> {
        self.held.snapshot().into_iter().map(|(z, _)| z).collect()
    }

    /// Zones held now with their lease epochs.
    pub fn held_epochs(&self) -> Vec<(Zone, i64)> {
        self.held.snapshot()
    }

    /// Fault injection: stops (`true`) or resumes renewals and heartbeats, as if the worker
    /// were cut off from Postgres while still running. Its zones are revoked at their
    /// deadlines, before other workers may take them.
    pub fn stall_renewals(&self, stalled: bool) {
        self.stall.set(stalled);
    }
}

/// `http://host:port` of a bound address; a wildcard host becomes loopback (set
/// `FLEET_WORKER_ADVERTISE` when other machines must reach the worker).
fn derived_address(addr: SocketAddr) -> String {
    let ip = addr.ip();
    if ip.is_unspecified() {
        tracing::warn!(%addr, "listening on a wildcard address without FLEET_WORKER_ADVERTISE: \
            advertising loopback, reachable from this machine only");
        let loopback = if ip.is_ipv4() {
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
        } else {
            std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
        };
        return format!("http://{}", SocketAddr::new(loopback, addr.port()));
    }
    format!("http://{addr}")
}
