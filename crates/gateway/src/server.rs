//! Assembly and lifecycle of the gateway: run what [`crate::config`] built until shutdown.
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
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::codec::CompressionEncoding;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::api::Api;
use crate::auth::{AuthInterceptor, Callers};
use crate::config::{GatewayConfig, GatewayStartError};
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

/// A built gateway, bound and ready to [`Gateway::run`].
#[derive(Debug)]
pub struct Gateway {
    pub(crate) config: GatewayConfig,
    pub(crate) pool: PgPool,
    pub(crate) callers: Callers,
    pub(crate) listener: TcpListener,
    pub(crate) local_addr: SocketAddr,
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
    fn percent_decoding_of_grpc_messages() {
        assert_eq!(
            percent_decode(b"failed%20to%20decode%20Protobuf%20message"),
            DECODE_FAILURE
        );
        assert_eq!(percent_decode(b"100%"), "100%");
        assert_eq!(percent_decode(b"%zz"), "%zz");
    }
}
