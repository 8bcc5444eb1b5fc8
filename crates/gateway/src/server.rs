//! Configuration, assembly and lifecycle of the gateway: config → build → run until shutdown.
//!
//! The server carries every `fleet.v1` service behind the auth interceptor, plus open health
//! (`grpc.health.v1`) and reflection. Readiness (service `""` and each public service) is
//! SERVING only while Postgres answers and at least one worker is live. On shutdown the
//! services go NOT_SERVING first, waits and watches end, then tonic drains connections for
//! at most `drain_timeout`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fleet_proto::v1;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::codec::CompressionEncoding;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::api::Api;
use crate::auth::{AuthInterceptor, CallerConfig, Callers, CallersError};
use crate::limits::Limit;
use crate::ops_service::OperationsApi;
use crate::routing::ZoneRouter;
use crate::services::FleetApi;

/// Public services reported by health: every `fleet.v1` service of the descriptor set (the
/// internal `ZoneCalls` is served by workers, not here).
fn public_services() -> impl Iterator<Item = &'static str> {
    fleet_proto::SERVICES
        .iter()
        .copied()
        .filter(|service| service.starts_with("fleet.v1."))
}

/// Why the gateway cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayStartError {
    #[error("invalid setting {name}: {reason}")]
    Setting { name: &'static str, reason: String },
    #[error(transparent)]
    Callers(#[from] CallersError),
    #[error("cannot read {path}: {source}")]
    ReadCallers {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot connect to postgres: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations failed: {0}")]
    Migrate(#[from] fleet_scheduler::SchedulerError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
}

/// Settings of the gateway (12-factor: [`GatewayConfig::from_env`]).
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// `FLEET_GATEWAY_LISTEN`, default `0.0.0.0:50051`.
    pub listen: SocketAddr,
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `FLEET_CALLERS` (JSON) or `FLEET_CALLERS_FILE`.
    pub callers: Vec<CallerConfig>,
    /// Apply migrations at start (`FLEET_GATEWAY_MIGRATE`, default true).
    pub migrate: bool,
    /// Zone owner cache lifetime (`FLEET_GATEWAY_OWNER_CACHE_MS`, default 2000).
    pub owner_cache: Duration,
    /// Longest synchronous call, retries included (`FLEET_GATEWAY_CALL_TIMEOUT_MS`, 30000).
    pub call_timeout: Duration,
    /// Server-side timeout of unary requests (`FLEET_GATEWAY_REQUEST_TIMEOUT_MS`, 75000; above
    /// the 60 s WaitOperation cap).
    pub request_timeout: Duration,
    /// WaitOperation cap (60 s).
    pub wait_cap: Duration,
    /// Largest request or response message (`FLEET_GATEWAY_MAX_MESSAGE_BYTES`, 4 MiB).
    pub max_message_bytes: usize,
    /// HTTP/2 keep-alive ping interval (30 s) and timeout (10 s).
    pub keepalive_interval: Duration,
    pub keepalive_timeout: Duration,
    /// Connections are closed after this age (`FLEET_GATEWAY_MAX_CONNECTION_AGE_MS`, 5 min)
    /// so clients rebalance across replicas; in-flight calls get `max_connection_age_grace`.
    pub max_connection_age: Duration,
    pub max_connection_age_grace: Duration,
    /// Bound of the drain at shutdown (`FLEET_GATEWAY_DRAIN_TIMEOUT_MS`, 20 s).
    pub drain_timeout: Duration,
    /// Readiness probe period (2 s).
    pub health_interval: Duration,
    /// Postgres pool size (`FLEET_GATEWAY_DB_CONNECTIONS`, 16).
    pub db_connections: u32,
    /// Default per-caller rate limit, for callers that set none of their own
    /// (`FLEET_GATEWAY_CALLER_RATE` requests/s, 200, 0 = unlimited;
    /// `FLEET_GATEWAY_CALLER_BURST`, 400).
    pub caller_limit: Limit,
}

impl GatewayConfig {
    /// Defaults for `listen`, `database_url` and `callers`.
    pub fn new(
        listen: SocketAddr,
        database_url: impl Into<String>,
        callers: Vec<CallerConfig>,
    ) -> Self {
        GatewayConfig {
            listen,
            database_url: database_url.into(),
            callers,
            migrate: true,
            owner_cache: Duration::from_secs(2),
            call_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(75),
            wait_cap: Duration::from_secs(60),
            max_message_bytes: 4 * 1024 * 1024,
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(10),
            max_connection_age: Duration::from_secs(300),
            max_connection_age_grace: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(20),
            health_interval: Duration::from_secs(2),
            db_connections: 16,
            caller_limit: Limit::default(),
        }
    }

    /// Reads the environment (see each field).
    pub fn from_env() -> Result<Self, GatewayStartError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`GatewayConfig::from_env`], from any lookup (tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, GatewayStartError> {
        let listen = match get("FLEET_GATEWAY_LISTEN") {
            Some(v) => v.parse().map_err(|e| GatewayStartError::Setting {
                name: "FLEET_GATEWAY_LISTEN",
                reason: format!("{e}"),
            })?,
            None => SocketAddr::from(([0, 0, 0, 0], 50051)),
        };
        let database_url = get("DATABASE_URL").ok_or(GatewayStartError::Setting {
            name: "DATABASE_URL",
            reason: "required".into(),
        })?;
        let callers = match (get("FLEET_CALLERS"), get("FLEET_CALLERS_FILE")) {
            (Some(json), _) => Callers::parse_json(&json)?,
            (None, Some(path)) => {
                let json = std::fs::read_to_string(&path)
                    .map_err(|source| GatewayStartError::ReadCallers { path, source })?;
                Callers::parse_json(&json)?
            }
            (None, None) => {
                return Err(GatewayStartError::Setting {
                    name: "FLEET_CALLERS",
                    reason: "set FLEET_CALLERS (json) or FLEET_CALLERS_FILE".into(),
                });
            }
        };
        let mut config = GatewayConfig::new(listen, database_url, callers);
        let ms = |name: &'static str, default: Duration| -> Result<Duration, GatewayStartError> {
            match get(name) {
                Some(v) => v.parse::<u64>().map(Duration::from_millis).map_err(|e| {
                    GatewayStartError::Setting {
                        name,
                        reason: e.to_string(),
                    }
                }),
                None => Ok(default),
            }
        };
        config.owner_cache = ms("FLEET_GATEWAY_OWNER_CACHE_MS", config.owner_cache)?;
        config.call_timeout = ms("FLEET_GATEWAY_CALL_TIMEOUT_MS", config.call_timeout)?;
        config.request_timeout = ms("FLEET_GATEWAY_REQUEST_TIMEOUT_MS", config.request_timeout)?;
        config.max_connection_age = ms(
            "FLEET_GATEWAY_MAX_CONNECTION_AGE_MS",
            config.max_connection_age,
        )?;
        config.drain_timeout = ms("FLEET_GATEWAY_DRAIN_TIMEOUT_MS", config.drain_timeout)?;
        if let Some(v) = get("FLEET_GATEWAY_MAX_MESSAGE_BYTES") {
            config.max_message_bytes =
                v.parse()
                    .map_err(|e: std::num::ParseIntError| GatewayStartError::Setting {
                        name: "FLEET_GATEWAY_MAX_MESSAGE_BYTES",
                        reason: e.to_string(),
                    })?;
        }
        if let Some(v) = get("FLEET_GATEWAY_DB_CONNECTIONS") {
            config.db_connections =
                v.parse()
                    .map_err(|e: std::num::ParseIntError| GatewayStartError::Setting {
                        name: "FLEET_GATEWAY_DB_CONNECTIONS",
                        reason: e.to_string(),
                    })?;
        }
        if let Some(v) = get("FLEET_GATEWAY_CALLER_RATE") {
            config.caller_limit.rate = v
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite() && *r >= 0.0)
                .ok_or_else(|| GatewayStartError::Setting {
                    name: "FLEET_GATEWAY_CALLER_RATE",
                    reason: format!("must be a number of requests per second >= 0; got {v:?}"),
                })?;
        }
        if let Some(v) = get("FLEET_GATEWAY_CALLER_BURST") {
            config.caller_limit.burst =
                v.parse::<u32>().ok().filter(|b| *b > 0).ok_or_else(|| {
                    GatewayStartError::Setting {
                        name: "FLEET_GATEWAY_CALLER_BURST",
                        reason: format!("must be a positive number of requests; got {v:?}"),
                    }
                })?;
        }
        if let Some(v) = get("FLEET_GATEWAY_MIGRATE") {
            config.migrate = !matches!(v.as_str(), "0" | "false" | "no");
        }
        Ok(config)
    }

    /// Connects to Postgres (and migrates) then builds the gateway.
    pub async fn build(self) -> Result<Gateway, GatewayStartError> {
        let pool = PgPoolOptions::new()
            .max_connections(self.db_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect(&self.database_url)
            .await?;
        self.build_with_pool(pool).await
    }

    /// Builds the gateway on an existing pool (binds the listen address).
    pub async fn build_with_pool(self, pool: PgPool) -> Result<Gateway, GatewayStartError> {
        let callers = Callers::new(&self.callers)?;
        if callers.is_empty() {
            tracing::warn!("no callers configured: every call will be refused");
        }
        if self.migrate {
            fleet_scheduler::migrate(&pool).await?;
        }
        let listener =
            TcpListener::bind(self.listen)
                .await
                .map_err(|source| GatewayStartError::Bind {
                    addr: self.listen,
                    source,
                })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| GatewayStartError::Bind {
                addr: self.listen,
                source,
            })?;
        Ok(Gateway {
            config: self,
            pool,
            callers,
            listener,
            local_addr,
        })
    }
}

/// A built gateway, bound and ready to [`Gateway::run`].
#[derive(Debug)]
pub struct Gateway {
    config: GatewayConfig,
    pool: PgPool,
    callers: Callers,
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl Gateway {
    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The database pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Serves until `shutdown` is cancelled, then drains (bounded).
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), GatewayStartError> {
        let config = self.config;
        let inner = shutdown.child_token();
        let listener = fleet_scheduler::Listener::start(&self.pool, inner.clone());
        let api = Arc::new(Api {
            pool: self.pool.clone(),
            router: ZoneRouter::new(self.pool.clone(), config.owner_cache, config.call_timeout),
            listener: Some(listener),
            call_timeout: config.call_timeout,
            wait_cap: config.wait_cap,
            shutdown: inner.clone(),
        });
        let (reporter, health_service) = tonic_health::server::health_reporter();
        set_all(&reporter, ServingStatus::NotServing).await;
        let health_task = tokio::spawn(readiness(
            self.pool.clone(),
            reporter.clone(),
            config.health_interval,
            inner.clone(),
        ));
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(fleet_proto::FILE_DESCRIPTOR_SET)
            .build_v1()
            .map_err(|e| GatewayStartError::Setting {
                name: "reflection",
                reason: e.to_string(),
            })?;

        let fleet = FleetApi { api: api.clone() };
        let ops = OperationsApi { api: api.clone() };
        let limits = Arc::new(self.callers.limits(config.caller_limit));
        let auth = AuthInterceptor::new(self.callers.clone()).with_limits(limits);
        let max = config.max_message_bytes;
        macro_rules! svc {
            ($server:path, $value:expr) => {{
                use $server as S;
                tonic::service::interceptor::InterceptedService::new(
                    DecodeAsInvalid(
                        S::new($value)
                            .max_decoding_message_size(max)
                            .max_encoding_message_size(max)
                            .accept_compressed(CompressionEncoding::Gzip)
                            .send_compressed(CompressionEncoding::Gzip),
                    ),
                    auth.clone(),
                )
            }};
        }

        let router = Server::builder()
            .layer(fleet_telemetry::grpc::RpcServerLayer::new())
            .timeout(config.request_timeout)
            .http2_keepalive_interval(Some(config.keepalive_interval))
            .http2_keepalive_timeout(Some(config.keepalive_timeout))
            .max_connection_age(config.max_connection_age)
            .max_connection_age_grace(config.max_connection_age_grace)
            .tcp_nodelay(true)
            .add_service(health_service)
            .add_service(reflection)
            .add_service(svc!(v1::products_server::ProductsServer, fleet.clone()))
            .add_service(svc!(v1::servers_server::ServersServer, fleet.clone()))
            .add_service(svc!(
                v1::server_actions_server::ServerActionsServer,
                fleet.clone()
            ))
            .add_service(svc!(v1::user_data_server::UserDataServer, fleet.clone()))
            .add_service(svc!(v1::images_server::ImagesServer, fleet.clone()))
            .add_service(svc!(v1::snapshots_server::SnapshotsServer, fleet.clone()))
            .add_service(svc!(v1::volumes_server::VolumesServer, fleet.clone()))
            .add_service(svc!(
                v1::block_migration_server::BlockMigrationServer,
                fleet.clone()
            ))
            .add_service(svc!(
                v1::security_groups_server::SecurityGroupsServer,
                fleet.clone()
            ))
            .add_service(svc!(
                v1::placement_groups_server::PlacementGroupsServer,
                fleet.clone()
            ))
            .add_service(svc!(v1::ips_server::IpsServer, fleet.clone()))
            .add_service(svc!(
                v1::private_nics_server::PrivateNicsServer,
                fleet.clone()
            ))
            .add_service(svc!(v1::dashboards_server::DashboardsServer, fleet.clone()))
            .add_service(svc!(v1::operations_server::OperationsServer, ops));

        tracing::info!(addr = %self.local_addr, callers = self.callers.len(), "gateway listening");
        let drained = CancellationToken::new();
        let signal = {
            let shutdown = shutdown.clone();
            let reporter = reporter.clone();
            let inner = inner.clone();
            let drained = drained.clone();
            async move {
                shutdown.cancelled().await;
                tracing::info!("gateway draining");
                // Readiness first, so load balancers stop sending before connections close.
                set_all(&reporter, ServingStatus::NotServing).await;
                inner.cancel();
                drained.cancel();
            }
        };
        let serve = router.serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(self.listener).with_nodelay(Some(true)),
            signal,
        );
        tokio::pin!(serve);
        let result = tokio::select! {
            result = &mut serve => result.map_err(GatewayStartError::from),
            _ = async {
                drained.cancelled().await;
                tokio::time::sleep(config.drain_timeout).await;
            } => {
                tracing::warn!(timeout = ?config.drain_timeout, "drain bound reached; closing remaining connections");
                Ok(())
            }
        };
        inner.cancel();
        if let Err(err) = health_task.await {
            tracing::warn!(error = %err, "readiness task ended abnormally");
        }
        tracing::info!("gateway stopped");
        result
    }
}

async fn set_all(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for service in public_services() {
        reporter.set_service_status(service, status).await;
    }
}

/// Keeps readiness true to Postgres and worker liveness.
async fn readiness(
    pool: PgPool,
    reporter: HealthReporter,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut last: Option<bool> = None;
    loop {
        let ready = match fleet_scheduler::live_workers(&pool).await {
            Ok(workers) if !workers.is_empty() => true,
            Ok(_) => match fleet_scheduler::zone_owners(&pool).await {
                Ok(owners) => !owners.is_empty(),
                Err(_) => false,
            },
            Err(err) => {
                if last != Some(false) {
                    tracing::warn!(error = %err, "readiness: postgres unreachable");
                }
                false
            }
        };
        if shutdown.is_cancelled() {
            return;
        }
        if last != Some(ready) {
            tracing::info!(ready, "gateway readiness changed");
            let status = if ready {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            set_all(&reporter, status).await;
            last = Some(ready);
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Answers a request body that does not decode as its method's request message (invalid
/// UTF-8 in a string, a truncated field, a wrong wire type) with INVALID_ARGUMENT naming the
/// field, instead of the INTERNAL that tonic's codec gives decode errors: the caller sent bad
/// input, the gateway is fine (promise 6). Everything else passes through untouched.
#[derive(Debug, Clone)]
pub struct DecodeAsInvalid<S>(pub S);

impl<S: tonic::server::NamedService> tonic::server::NamedService for DecodeAsInvalid<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> tonic::codegen::Service<tonic::codegen::http::Request<B>> for DecodeAsInvalid<S>
where
    S: tonic::codegen::Service<
            tonic::codegen::http::Request<B>,
            Response = tonic::codegen::http::Response<tonic::body::Body>,
        >,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: tonic::codegen::http::Request<B>) -> Self::Future {
        let method = request.uri().path().trim_start_matches('/').to_owned();
        let future = self.0.call(request);
        Box::pin(async move {
            let response = future.await?;
            Ok(remap_decode_error(&method, response))
        })
    }
}

/// Tonic's prost codec reports undecodable bodies as `INTERNAL "failed to decode Protobuf
/// message: …"` in a trailers-only response.
const DECODE_FAILURE: &str = "failed to decode Protobuf message";

fn remap_decode_error(
    method: &str,
    response: tonic::codegen::http::Response<tonic::body::Body>,
) -> tonic::codegen::http::Response<tonic::body::Body> {
    let headers = response.headers();
    let internal = headers
        .get("grpc-status")
        .is_some_and(|v| v.as_bytes() == b"13");
    if !internal {
        return response;
    }
    let message = headers
        .get("grpc-message")
        .map(|v| percent_decode(v.as_bytes()))
        .unwrap_or_default();
    if !message.starts_with(DECODE_FAILURE) {
        return response;
    }
    let Some(input) = crate::validation::input_of(method) else {
        return response;
    };
    tracing::debug!(method, "call refused: request body does not decode");
    crate::validation::decode_failure(&input, &message).into_http()
}

fn percent_decode(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%'
            && let Some(hex) = raw.get(i + 1..i + 3)
            && let Some(byte) = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_limits_come_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        const BASE: &[(&str, &str)] = &[("DATABASE_URL", "postgres://x"), ("FLEET_CALLERS", "[]")];
        let config = GatewayConfig::from_lookup(env(BASE)).unwrap();
        assert_eq!(config.caller_limit, Limit::default());
        let config = GatewayConfig::from_lookup(env(&[
            ("DATABASE_URL", "postgres://x"),
            ("FLEET_CALLERS", "[]"),
            ("FLEET_GATEWAY_CALLER_RATE", "2.5"),
            ("FLEET_GATEWAY_CALLER_BURST", "9"),
        ]))
        .unwrap();
        assert_eq!(
            config.caller_limit,
            Limit {
                rate: 2.5,
                burst: 9
            }
        );
        for bad in [
            &[
                ("DATABASE_URL", "postgres://x"),
                ("FLEET_CALLERS", "[]"),
                ("FLEET_GATEWAY_CALLER_RATE", "-1"),
            ][..],
            &[
                ("DATABASE_URL", "postgres://x"),
                ("FLEET_CALLERS", "[]"),
                ("FLEET_GATEWAY_CALLER_BURST", "0"),
            ][..],
        ] {
            let owned: Vec<(String, String)> = bad
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            let lookup = |name: &str| {
                owned
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            assert!(GatewayConfig::from_lookup(lookup).is_err());
        }
    }

    #[test]
    fn percent_decoding_of_grpc_messages() {
        assert_eq!(
            percent_decode(b"failed%20to%20decode%20Protobuf%20message"),
            DECODE_FAILURE
        );
        assert_eq!(percent_decode(b"100%"), "100%");
        assert_eq!(percent_decode(b"%zz"), "%zz");
    }
}
