//! The internal `ZoneCalls` service: the gateway's synchronous calls, performed by the worker
//! that owns the zone (contract: `proto/fleet/internal/v1/zone_calls.proto`).
//!
//! A call is looked up in the catalog by operation name, refused unless this worker holds the
//! zone (`FAILED_PRECONDITION`, `ErrorInfo` reason `NOT_ZONE_OWNER`, metadata `owner` = the
//! current owner's address, empty when nobody holds it), and sent through the zone's client
//! ([`fleet_scaleway::Client::invoke`]), which carries the lease epoch in its caller header,
//! spends the zone's rate budget, retries transient failures and stops when the lease is lost.
//!
//! # Errors
//!
//! | outcome | answer |
//! |---|---|
//! | upstream 2xx, or an upstream error retrying cannot change | `InvokeResponse` with the status and the body unchanged |
//! | unknown zone or operation, input the catalog entry rejects | `INVALID_ARGUMENT` + `BadRequest` |
//! | zone not held, or lost during the call | `FAILED_PRECONDITION` + `ErrorInfo` `NOT_ZONE_OWNER` |
//! | retry budget spent on 429, 5xx, timeouts or resets | `UNAVAILABLE` + `ErrorInfo` `UPSTREAM_UNAVAILABLE` (+ `RetryInfo` when upstream said when) |
//! | the request's `timeout` elapsed | `DEADLINE_EXCEEDED` |
//! | outside the caller's `project_scope` | `PERMISSION_DENIED` + `ErrorInfo` `OUTSIDE_PROJECT_SCOPE` |
//!
//! # Volumes and snapshots of either API
//!
//! A volume or snapshot call of the Instance API that has a Block counterpart
//! (`Operation::block_counterpart`: get, update, delete) is made in Instance first; when
//! Instance answers 404 `instance_volume` / `instance_snapshot` (an SBS id), the Block
//! counterpart is called with the same ids (an update's body converted by
//! `fleet_core::block::unified`), and its success is answered in the Instance envelope with the
//! unified object (`{"volume": …}`, `{"snapshot": …}`; a 204 unchanged). A Block error, its
//! 404 included, is answered as Block gave it. Block operations called by name (the gateway's
//! list fan-out calls `block_list_volumes` / `block_list_snapshots`) are answered raw.
//!
//! # Project scope
//!
//! With a non-empty `project_scope` (Instance bodies and filters say `project`, Block ones
//! `project_id`):
//! * list responses lose the items whose project is outside the scope; `total_count` (the
//!   header, and a Block list's body) is then lowered by the items dropped from this page
//!   (exact when every dropped item is on this page, which holds when the scope is one
//!   project: that project is then also sent as the list's project filter when the list takes
//!   one and the caller set none);
//! * a single resource read (`get_*`, `block_get_*`) whose object carries a project outside
//!   the scope is refused;
//! * any other call on an existing resource (update, replace, delete, action, export, a read
//!   or change of a sub-resource such as user data or a private NIC) is refused unless the
//!   resource it belongs to (the first id of its path) is in scope; this costs one `GET`
//!   before the call (an SBS id's read goes on to Block as above);
//! * a create (an Instance `create_*`, a Block volume or snapshot create or import) must name
//!   a project in scope in its body.
//!
//! Not covered: block-migration plan/apply and the organization quota check name volumes,
//! snapshots or an organization rather than a project, and are passed through.
//!
//! # Creates with a `request_id`
//!
//! A synchronous create (IP, security group, placement group, private NIC, security-group
//! rule) that carries the caller's `request_id` is made at most once across retries of that
//! request_id, by tag or, for rules, by an equal rule: see [`once`].

mod block;
mod once;
mod scope;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use fleet_core::Zone;
use fleet_core::catalog::Operation;
use fleet_proto::internal::zone_calls_server::ZoneCalls;
use fleet_proto::internal::{InvokeRequest, InvokeResponse};
use fleet_scaleway::{Error as ScwError, InvokeBody};
use sqlx::PgPool;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::ownership::{HeldZone, HeldZones};
use scope::{Scope, owning_read, resource_project};

pub use once::{REQUEST_TAG_PREFIX, request_tag};

pub use fleet_proto::reasons::{
    NOT_ZONE_OWNER, OUTSIDE_PROJECT_SCOPE, UPSTREAM_UNAVAILABLE, WORKER_DOMAIN as ERROR_DOMAIN,
};

/// The `ZoneCalls` service of one worker.
#[derive(Debug, Clone)]
pub struct ZoneCallsService {
    held: HeldZones,
    pool: PgPool,
}

impl ZoneCallsService {
    /// A service answering for the zones in `held`; `pool` finds the owners of other zones.
    pub fn new(held: HeldZones, pool: PgPool) -> Self {
        Self { held, pool }
    }

    /// The tonic server of this service.
    pub fn into_server(
        self,
    ) -> fleet_proto::internal::zone_calls_server::ZoneCallsServer<ZoneCallsService> {
        fleet_proto::internal::zone_calls_server::ZoneCallsServer::new(self)
    }

    /// `NOT_ZONE_OWNER` naming the current owner's address (empty when none or unknown).
    async fn not_owner(&self, zone: Zone) -> Status {
        let owner = match fleet_scheduler::zone_owner(&self.pool, zone.as_str()).await {
            Ok(lease) => lease.map(|l| l.address).unwrap_or_default(),
            Err(err) => {
                tracing::warn!(zone = %zone, error = %err, "could not look up the zone owner");
                String::new()
            }
        };
        Status::with_error_details(
            Code::FailedPrecondition,
            format!("this worker does not own zone {zone}"),
            ErrorDetails::with_error_info(
                NOT_ZONE_OWNER,
                ERROR_DOMAIN,
                HashMap::from([
                    ("owner".to_owned(), owner),
                    ("zone".to_owned(), zone.as_str().to_owned()),
                ]),
            ),
        )
    }

    /// The zone's entry, if held.
    async fn holder(&self, zone: Zone) -> Result<HeldZone, Status> {
        match self.held.get(zone) {
            Some(held) if held.guard.check().is_ok() => Ok(held),
            _ => Err(self.not_owner(zone).await),
        }
    }

    async fn perform(&self, req: InvokeRequest) -> Result<InvokeResponse, Status> {
        let zone: Zone = req
            .zone
            .parse()
            .map_err(|e: fleet_core::zone::UnknownZone| bad_request("zone", e.to_string()))?;
        let operation = Operation::from_name(&req.operation).ok_or_else(|| {
            bad_request(
                "operation",
                format!("unknown catalog operation {:?}", req.operation),
            )
        })?;
        let held = self.holder(zone).await?;
        let scope = Scope::new(&req.project_scope);
        let mut query: Vec<(String, String)> =
            req.query.into_iter().map(|q| (q.key, q.value)).collect();
        let body = if req.body.is_empty() && req.content_type.is_empty() {
            None
        } else {
            Some(InvokeBody {
                bytes: req.body,
                content_type: req.content_type,
            })
        };

        if let Some(scope) = &scope {
            scope.narrow_list_query(operation, &mut query);
            scope.check_create(zone, operation, body.as_ref())?;
            if let Some(refused) = self
                .check_owning_resource(&held, scope, operation, &req.path_params)
                .await?
            {
                return Ok(refused);
            }
        }

        let mut response = match once::scheme(operation) {
            Some(scheme) if !req.request_id.is_empty() => {
                self.create_once(once::OnceCall {
                    held: &held,
                    operation,
                    scheme,
                    path_params: &req.path_params,
                    query: &query,
                    body,
                    caller: &req.caller,
                    request_id: &req.request_id,
                })
                .await?
            }
            _ => {
                self.call_unified(&held, operation, &req.path_params, &query, body)
                    .await?
            }
        };
        if let Some(scope) = &scope {
            scope.filter_response(zone, operation, &mut response)?;
        }
        Ok(response)
    }

    /// One upstream call through the zone's client.
    async fn call(
        &self,
        held: &HeldZone,
        operation: Operation,
        path_params: &BTreeMap<String, String>,
        query: &[(String, String)],
        body: Option<InvokeBody>,
    ) -> Result<InvokeResponse, Status> {
        // Checked again right before the call: the lease may have been lost meanwhile.
        if held.guard.check().is_err() {
            return Err(self.not_owner(held.zone).await);
        }
        match held
            .client
            .invoke(operation, held.zone, path_params, query, body)
            .await
        {
            Ok(answer) => Ok(InvokeResponse {
                status: u32::from(answer.status),
                body: answer.body,
                content_type: answer.content_type.unwrap_or_default(),
                total_count: answer.total_count,
                headers: answer.headers,
                attempts: answer.attempts,
            }),
            Err(ScwError::Cancelled) if !held.guard.is_held() => {
                Err(self.not_owner(held.zone).await)
            }
            Err(err) => Err(status_of(held.zone, operation, &err)),
        }
    }

    /// Refuses a change of a resource outside the scope (see the module doc). `Ok(Some)` is an
    /// upstream answer that ends the call (the resource does not exist).
    async fn check_owning_resource(
        &self,
        held: &HeldZone,
        scope: &Scope,
        operation: Operation,
        path_params: &BTreeMap<String, String>,
    ) -> Result<Option<InvokeResponse>, Status> {
        let Some((get, params)) = owning_read(operation, path_params) else {
            return Ok(None);
        };
        if get == operation {
            // A read of the resource itself is checked on its answer.
            return Ok(None);
        }
        let answer = self.call_unified(held, get, &params, &[], None).await?;
        if answer.status == 404 {
            return Ok(Some(answer));
        }
        if !(200..300).contains(&answer.status) {
            // The change itself will meet the same upstream error, with its own body.
            return Ok(None);
        }
        if let Some(project) = resource_project(get.api(), &answer.body)
            && !scope.allows(&project)
        {
            return Err(scope.refusal(held.zone, &project, operation));
        }
        Ok(None)
    }
}

#[tonic::async_trait]
impl ZoneCalls for ZoneCallsService {
    async fn invoke(
        &self,
        request: Request<InvokeRequest>,
    ) -> Result<Response<InvokeResponse>, Status> {
        let req = request.into_inner();
        let timeout = req
            .timeout
            .and_then(|d| Duration::try_from(d).ok())
            .filter(|d| !d.is_zero());
        let span = tracing::info_span!("zone_call", zone = %req.zone, operation = %req.operation,
            caller = %req.caller, request_id = %req.request_id);
        let zone = req.zone.clone();
        let operation = req.operation.clone();
        let work = tracing::Instrument::instrument(self.perform(req), span);
        let result = match timeout {
            Some(timeout) => match tokio::time::timeout(timeout, work).await {
                Ok(result) => result,
                Err(_) => Err(Status::deadline_exceeded(format!(
                    "{operation} in {zone} did not finish within {timeout:?}"
                ))),
            },
            None => work.await,
        };
        match &result {
            Ok(answer) => tracing::debug!(zone = %zone, operation = %operation,
                status = answer.status, attempts = answer.attempts, "zone call answered"),
            Err(status) => tracing::info!(zone = %zone, operation = %operation,
                code = ?status.code(), message = status.message(), "zone call refused or failed"),
        }
        result.map(Response::new)
    }
}

fn bad_request(field: &str, description: impl Into<String>) -> Status {
    let description = description.into();
    Status::with_error_details(
        Code::InvalidArgument,
        description.clone(),
        ErrorDetails::with_bad_request_violation(field, description),
    )
}

/// The gRPC status of a call that got no definitive upstream answer.
fn status_of(zone: Zone, operation: Operation, err: &ScwError) -> Status {
    match err {
        ScwError::InvalidRequest(reason) => {
            // `Client::invoke` names the input at fault first.
            let field = reason
                .split_once(": ")
                .map(|(field, _)| field)
                .filter(|field| matches!(*field, "path_params" | "query" | "body"))
                .unwrap_or("request");
            bad_request(field, reason.clone())
        }
        err if err.retryable() || matches!(err, ScwError::Transport { .. }) => {
            let mut details = ErrorDetails::with_error_info(
                UPSTREAM_UNAVAILABLE,
                ERROR_DOMAIN,
                HashMap::from([
                    ("zone".to_owned(), zone.as_str().to_owned()),
                    ("operation".to_owned(), operation.name().to_owned()),
                    ("error_type".to_owned(), err.error_type()),
                ]),
            );
            if let Some(after) = err.retry_after() {
                details.set_retry_info(Some(after));
            }
            Status::with_error_details(
                Code::Unavailable,
                format!("scaleway did not answer {operation} in {zone}: {err}"),
                details,
            )
        }
        ScwError::Cancelled => Status::cancelled(format!("{operation} in {zone} was cancelled")),
        err => {
            tracing::error!(zone = %zone, operation = %operation, error = %err, "zone call failed");
            Status::internal(format!("{operation} in {zone} failed: {err}"))
        }
    }
}
