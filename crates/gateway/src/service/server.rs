//! Assembly and lifecycle of the gateway: run what [`crate::config`] built until shutdown.
//!
//! The server carries every `fleet.v1` service behind the auth interceptor, plus open health
//! (`grpc.health.v1`) and reflection (`grpc.reflection.v1` and `v1alpha`). Readiness (service `""` and each public service) is
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
use tonic::service::RoutesBuilder;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use super::build::GatewayStartError;
use super::{FleetApi, add_endpoint_services, public_service};
use crate::audit::service::AuditApi;
use crate::auth::{AuthInterceptor, Callers};
use crate::batches::service::BatchesApi;
use crate::call::Api;
use crate::call::routing::ZoneRouter;
use crate::config::GatewayConfig;
use crate::operations::service::OperationsApi;
use crate::policies::service::PoliciesApi;
use crate::retention::Pruned;

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
        let pruner_tasks = [
            (
                Pruned::RequestIds,
                config.retention.request_id_retention,
                config.retention.request_id_prune_interval,
            ),
            (
                Pruned::Audit,
                config.retention.audit_retention,
                config.retention.audit_prune_interval,
            ),
        ]
        .map(|(pruned, retention, interval)| {
            let task = crate::retention::pruner(
                pruned,
                self.pool.clone(),
                retention,
                interval,
                inner.clone(),
            );
            (pruned, tokio::spawn(task))
        });
        // Every gateway coordinates batches: the runner claims coordinator jobs like any
        // queue's, so a batch survives the gateway that ran its last tick.
        let coordinator = tokio::spawn(crate::batches::coordinator::run(
            self.pool.clone(),
            format!("gateway-batches-{}", uuid::Uuid::new_v4()),
            config.batch_coordinator(),
            inner.clone(),
        ));
        // Every gateway runs policy runs the same way: a run's steps survive its gateway.
        let policy_runner = tokio::spawn(crate::policies::runner::run(
            api.clone(),
            format!("gateway-policies-{}", uuid::Uuid::new_v4()),
            config.policy_runner(),
            inner.clone(),
        ));
        // Both reflection versions: grpcurl and grpcui speak v1, while Python's
        // grpcio-reflection and older grpcurl builds speak only v1alpha.
        let reflection_error = |e: tonic_reflection::server::Error| GatewayStartError::Setting {
            name: "reflection",
            reason: e.to_string(),
        };
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(fleet_proto::FILE_DESCRIPTOR_SET)
        };
        let reflection_v1 = reflection().build_v1().map_err(reflection_error)?;
        let reflection_v1alpha = reflection().build_v1alpha().map_err(reflection_error)?;

        let fleet = FleetApi { api: api.clone() };
        let ops = OperationsApi { api: api.clone() };
        let audit = AuditApi { api: api.clone() };
        let batches = BatchesApi { api: api.clone() };
        let policies = PoliciesApi { api: api.clone() };
        let limits = Arc::new(self.callers.limits(config.caller_limit));
        let auth = AuthInterceptor::new(self.callers.clone()).with_limits(limits);
        let mut routes = RoutesBuilder::default();
        routes
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(public_service!(
                v1::operations_server::OperationsServer<OperationsApi>,
                ops,
                auth,
                config.transport.max_message_bytes
            ))
            .add_service(public_service!(
                v1::audit_server::AuditServer<AuditApi>,
                audit,
                auth,
                config.transport.max_message_bytes
            ))
            .add_service(public_service!(
                v1::batches_server::BatchesServer<BatchesApi>,
                batches,
                auth,
                config.transport.max_message_bytes
            ))
            .add_service(public_service!(
                v1::policies_server::PoliciesServer<PoliciesApi>,
                policies,
                auth,
                config.transport.max_message_bytes
            ));
        add_endpoint_services(
            &mut routes,
            &fleet,
            &auth,
            config.transport.max_message_bytes,
        );
        let router = Server::builder()
            .layer(fleet_telemetry::grpc::RpcServerLayer::new())
            .timeout(config.transport.request_timeout)
            .http2_keepalive_interval(Some(config.transport.keepalive_interval))
            .http2_keepalive_timeout(Some(config.transport.keepalive_timeout))
            .max_connection_age(config.transport.max_connection_age)
            .max_connection_age_grace(config.transport.max_connection_age_grace)
            .tcp_nodelay(true)
            .add_routes(routes.routes());

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
        if let Err(err) = coordinator.await {
            tracing::warn!(error = %err, "batch coordinator ended abnormally");
        }
        if let Err(err) = policy_runner.await {
            tracing::warn!(error = %err, "policy runner ended abnormally");
        }
        for (pruned, task) in pruner_tasks {
            if let Err(err) = task.await {
                tracing::warn!(error = %err, task = pruned.task(), "pruner task ended abnormally");
            }
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
