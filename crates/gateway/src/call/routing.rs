//! Synchronous calls to the worker that owns a zone: owner lookup (Postgres leases, cached
//! briefly), one pooled tonic channel per worker address, and one retry after a refresh when
//! the owner moved (`NOT_ZONE_OWNER`) or cannot be reached.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fleet_proto::internal::zone_calls_client::ZoneCallsClient;
use fleet_proto::internal::{InvokeRequest, InvokeResponse};
use fleet_proto::reasons::{
    NOT_ZONE_OWNER, OUTSIDE_PROJECT_SCOPE, PROJECT_NOT_GRANTED, UPSTREAM_UNAVAILABLE,
};
use fleet_scheduler::ZoneLease;
use sqlx::PgPool;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

use crate::errors::GatewayError;

/// Owner lookup and channels.
#[derive(Debug)]
pub struct ZoneRouter {
    pool: PgPool,
    owner_ttl: Duration,
    call_timeout: Duration,
    owners: Mutex<HashMap<String, (ZoneLease, Instant)>>,
    channels: Mutex<HashMap<String, Channel>>,
}

impl ZoneRouter {
    pub fn new(pool: PgPool, owner_ttl: Duration, call_timeout: Duration) -> Self {
        ZoneRouter {
            pool,
            owner_ttl,
            call_timeout,
            owners: Mutex::new(HashMap::new()),
            channels: Mutex::new(HashMap::new()),
        }
    }

    /// The current owner of `zone`, from the cache unless `refresh`.
    pub async fn owner(&self, zone: &str, refresh: bool) -> Result<ZoneLease, GatewayError> {
        if !refresh
            && let Some((lease, at)) = self.lock_owners().get(zone).cloned()
            && at.elapsed() < self.owner_ttl
        {
            return Ok(lease);
        }
        let lease = fleet_scheduler::zone_owner(&self.pool, zone)
            .await
            .map_err(GatewayError::from)?;
        match lease {
            Some(lease) if !lease.address.is_empty() => {
                self.lock_owners()
                    .insert(zone.to_owned(), (lease.clone(), Instant::now()));
                Ok(lease)
            }
            _ => {
                self.lock_owners().remove(zone);
                Err(GatewayError::NoZoneOwner {
                    zone: zone.to_owned(),
                })
            }
        }
    }

    fn lock_owners(&self) -> std::sync::MutexGuard<'_, HashMap<String, (ZoneLease, Instant)>> {
        self.owners.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_channels(&self) -> std::sync::MutexGuard<'_, HashMap<String, Channel>> {
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn channel(&self, address: &str) -> Result<Channel, GatewayError> {
        if let Some(channel) = self.lock_channels().get(address) {
            return Ok(channel.clone());
        }
        let uri = if address.contains("://") {
            address.to_owned()
        } else {
            format!("http://{address}")
        };
        let endpoint = Endpoint::from_shared(uri)
            .map_err(|err| {
                GatewayError::Internal(format!("bad worker address {address:?}: {err}"))
            })?
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(true);
        let channel = endpoint.connect_lazy();
        self.lock_channels()
            .insert(address.to_owned(), channel.clone());
        Ok(channel)
    }

    fn forget(&self, zone: &str, address: &str) {
        self.lock_owners().remove(zone);
        self.lock_channels().remove(address);
    }

    /// `ZoneCalls.Invoke` on the owner of `request.zone`, retried once after a refresh when the
    /// owner moved or is unreachable.
    pub async fn invoke(&self, request: InvokeRequest) -> Result<InvokeResponse, GatewayError> {
        let zone = request.zone.clone();
        let mut refresh = false;
        for attempt in 0..2 {
            let lease = self.owner(&zone, refresh).await?;
            let channel = self.channel(&lease.address)?;
            let mut client = ZoneCallsClient::new(channel);
            let mut call = tonic::Request::new(request.clone());
            call.set_timeout(self.call_timeout);
            // The worker's server span continues this request's trace.
            let mut headers = std::mem::take(call.metadata_mut()).into_headers();
            fleet_telemetry::propagation::inject_current_into_headers(&mut headers);
            *call.metadata_mut() = tonic::metadata::MetadataMap::from_headers(headers);
            match client.invoke(call).await {
                Ok(response) => return Ok(response.into_inner()),
                Err(status) if attempt == 0 && should_retry(&status) => {
                    tracing::info!(
                        zone = %zone,
                        owner = %lease.owner,
                        code = ?status.code(),
                        "zone call failed; refreshing the owner and retrying once"
                    );
                    self.forget(&zone, &lease.address);
                    refresh = true;
                }
                Err(status) => return Err(worker_error(&zone, status)),
            }
        }
        Err(GatewayError::WorkerUnavailable {
            zone,
            message: "the zone's owner changed twice during the call".into(),
        })
    }
}

fn is_not_owner(status: &Status) -> bool {
    status.code() == Code::FailedPrecondition
        && status
            .get_details_error_info()
            .is_some_and(|info| info.reason == NOT_ZONE_OWNER)
}

/// The worker's `ErrorInfo.reason`, if it sent one.
fn worker_reason(status: &Status) -> Option<String> {
    status.get_details_error_info().map(|info| info.reason)
}

fn should_retry(status: &Status) -> bool {
    // Unavailable covers refused connections and a worker that went away mid-call; Unknown
    // covers transport errors tonic could not classify. A worker that answered after
    // retrying Scaleway itself is not asked again: that would double the upstream load.
    if status.code() == Code::Unavailable
        && worker_reason(status).as_deref() == Some(UPSTREAM_UNAVAILABLE)
    {
        return false;
    }
    is_not_owner(status) || matches!(status.code(), Code::Unavailable | Code::Unknown)
}

/// The upstream failure a worker reported after spending its retry budget, as the upstream
/// answer the error table maps (429 → `UPSTREAM_RATE_LIMITED`, 5xx and transport failures →
/// `UPSTREAM_UNAVAILABLE`, both with `RetryInfo`).
fn upstream_unavailable(zone: &str, status: &Status) -> GatewayError {
    let details = status.get_error_details();
    let info = details.error_info();
    let metadata = |key: &str| info.and_then(|i| i.metadata.get(key).cloned());
    // `error_type` is the HTTP status for HTTP errors, a class name (timeout, reset) otherwise.
    let http = metadata("error_type")
        .and_then(|t| t.parse::<u16>().ok())
        .filter(|s| *s == 429 || *s >= 500)
        .unwrap_or(503);
    let kind = if http == 429 {
        "too_many_requests"
    } else {
        "internal_error"
    };
    let mut body = serde_json::Map::new();
    body.insert("type".into(), kind.into());
    body.insert("message".into(), status.message().into());
    let error = fleet_core::ApiError::Other(fleet_core::UnknownError { body });
    GatewayError::Upstream {
        status: http,
        error: Box::new(error),
        retry_after: details.retry_info().and_then(|r| r.retry_delay),
        context: Box::new(crate::errors::UpstreamContext {
            zone: zone.to_owned(),
            operation: metadata("operation").unwrap_or_default(),
            resource: None,
            compensation: Default::default(),
        }),
    }
}

fn worker_error(zone: &str, status: Status) -> GatewayError {
    if is_not_owner(&status) {
        return GatewayError::WorkerUnavailable {
            zone: zone.to_owned(),
            message: "zone ownership is moving to another worker".into(),
        };
    }
    match (status.code(), worker_reason(&status).as_deref()) {
        (Code::Unavailable, Some(UPSTREAM_UNAVAILABLE)) => {
            return upstream_unavailable(zone, &status);
        }
        (Code::PermissionDenied, Some(OUTSIDE_PROJECT_SCOPE)) => {
            return GatewayError::denied(PROJECT_NOT_GRANTED, status.message().to_owned());
        }
        _ => {}
    }
    match status.code() {
        Code::Unavailable | Code::Unknown | Code::ResourceExhausted => {
            GatewayError::WorkerUnavailable {
                zone: zone.to_owned(),
                message: status.message().to_owned(),
            }
        }
        Code::DeadlineExceeded | Code::Cancelled => GatewayError::DeadlineExceeded(format!(
            "the worker for zone {zone} did not answer in time"
        )),
        // The worker's project-scope check (the resource belongs to a project the caller was
        // not granted) is the caller's refusal, not an internal failure.
        Code::PermissionDenied => {
            GatewayError::denied(PROJECT_NOT_GRANTED, status.message().to_owned())
        }
        _ => GatewayError::WorkerRefused(Box::new(status)),
    }
}
