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
//! # Project scope
//!
//! With a non-empty `project_scope`:
//! * list responses lose the items whose `project` is outside the scope; `total_count` is then
//!   lowered by the items dropped from this page (exact when every dropped item is on this
//!   page, which holds when the scope is one project: that project is then also sent as the
//!   `project` filter when the list takes one and the caller set none);
//! * a single resource read (`get_*`) whose object carries a `project` outside the scope is
//!   refused;
//! * any other call on an existing resource (update, replace, delete, action, a read or change
//!   of a sub-resource such as user data or a private NIC) is refused unless the resource it
//!   belongs to (the first id of its path) is in scope; this costs one `GET` before the call;
//! * a create must name a `project` in scope in its body.
//!
//! Not covered: block-migration plan/apply and the organization quota check name volumes,
//! snapshots or an organization rather than a project, and are passed through.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use fleet_core::Zone;
use fleet_core::catalog::{ENDPOINTS, Method, Operation};
use fleet_proto::internal::zone_calls_server::ZoneCalls;
use fleet_proto::internal::{InvokeRequest, InvokeResponse};
use fleet_scaleway::{Error as ScwError, InvokeBody};
use sqlx::PgPool;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::ownership::{HeldZone, HeldZones};

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

        let mut response = self
            .call(&held, operation, &req.path_params, &query, body)
            .await?;
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
        let answer = self.call(held, get, &params, &[], None).await?;
        if answer.status == 404 {
            return Ok(Some(answer));
        }
        if !(200..300).contains(&answer.status) {
            // The change itself will meet the same upstream error, with its own body.
            return Ok(None);
        }
        if let Some(project) = resource_project(&answer.body)
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

/// The caller's project scope (`None` when unrestricted).
#[derive(Debug)]
struct Scope {
    projects: Vec<String>,
}

impl Scope {
    fn new(projects: &[String]) -> Option<Self> {
        let projects: Vec<String> = projects.iter().filter(|p| !p.is_empty()).cloned().collect();
        (!projects.is_empty()).then_some(Self { projects })
    }

    fn allows(&self, project: &str) -> bool {
        self.projects.iter().any(|p| p == project)
    }

    fn refusal(&self, zone: Zone, project: &str, operation: Operation) -> Status {
        Status::with_error_details(
            Code::PermissionDenied,
            format!("{operation} touches project {project}, outside the caller's projects"),
            ErrorDetails::with_error_info(
                OUTSIDE_PROJECT_SCOPE,
                ERROR_DOMAIN,
                HashMap::from([
                    ("project".to_owned(), project.to_owned()),
                    ("zone".to_owned(), zone.as_str().to_owned()),
                ]),
            ),
        )
    }

    /// With one project in scope, lists that take a `project` filter get it (exact totals).
    fn narrow_list_query(&self, operation: Operation, query: &mut Vec<(String, String)>) {
        let endpoint = operation.endpoint();
        if endpoint.pagination.is_none() || self.projects.len() != 1 {
            return;
        }
        if query.iter().any(|(k, _)| k == "project") {
            return;
        }
        let Some(ty) = endpoint.query else { return };
        let probe = serde_json::json!({ "project": self.projects[0] });
        let takes_project = ty
            .reencode(&probe)
            .is_ok_and(|v| v.get("project").is_some());
        if takes_project {
            query.push(("project".to_owned(), self.projects[0].clone()));
        }
    }

    /// A create must name a project in scope.
    fn check_create(
        &self,
        zone: Zone,
        operation: Operation,
        body: Option<&InvokeBody>,
    ) -> Result<(), Status> {
        let endpoint = operation.endpoint();
        let is_create = endpoint.method == Method::Post
            && operation.name().starts_with("create_")
            && endpoint.param_names().filter(|p| *p != "zone").count() == 0;
        if !is_create {
            return Ok(());
        }
        let project = body
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b.bytes).ok())
            .and_then(|v| v.get("project").and_then(|p| p.as_str()).map(str::to_owned));
        match project {
            Some(project) if self.allows(&project) => Ok(()),
            Some(project) => Err(self.refusal(zone, &project, operation)),
            None => Err(bad_request(
                "body.project",
                format!("{operation} must name a project of the caller's scope"),
            )),
        }
    }

    /// Drops list items outside the scope; refuses a single read of a resource outside it.
    fn filter_response(
        &self,
        zone: Zone,
        operation: Operation,
        response: &mut InvokeResponse,
    ) -> Result<(), Status> {
        if !(200..300).contains(&response.status) || response.body.is_empty() {
            return Ok(());
        }
        let endpoint = operation.endpoint();
        if endpoint.method != Method::Get {
            return Ok(());
        }
        let Ok(serde_json::Value::Object(mut body)) =
            serde_json::from_slice::<serde_json::Value>(&response.body)
        else {
            return Ok(());
        };
        if let Some(key) = endpoint.pagination {
            let Some(serde_json::Value::Array(items)) = body.get_mut(key) else {
                return Ok(());
            };
            let before = items.len();
            items.retain(|item| {
                item.get("project")
                    .and_then(|p| p.as_str())
                    .is_none_or(|p| self.allows(p))
            });
            let dropped = before - items.len();
            if dropped > 0 {
                response.total_count = response
                    .total_count
                    .map(|t| t.saturating_sub(dropped as u64));
                response.body = serde_json::to_vec(&body).map_err(|e| {
                    Status::internal(format!("cannot re-encode a filtered list: {e}"))
                })?;
            }
            return Ok(());
        }
        if let Some(project) = resource_project(&response.body)
            && !self.allows(&project)
        {
            // The resource was read but is not handed out.
            return Err(self.refusal(zone, &project, operation));
        }
        Ok(())
    }
}

/// The project of a single-resource body (`{"server": {"project": …}}`).
fn resource_project(body: &[u8]) -> Option<String> {
    let serde_json::Value::Object(map) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    map.values()
        .find_map(|v| v.as_object()?.get("project")?.as_str().map(str::to_owned))
}

/// The read of the resource a change belongs to: the `GET` endpoint whose template is the
/// change's template cut after its first id, with that id.
fn owning_read(
    operation: Operation,
    path_params: &BTreeMap<String, String>,
) -> Option<(Operation, BTreeMap<String, String>)> {
    let segments: Vec<&str> = operation.endpoint().path.split('/').collect();
    let (at, name) = segments
        .iter()
        .enumerate()
        .find_map(|(i, s)| param(s).filter(|p| *p != "zone").map(|p| (i, p)))?;
    let prefix = &segments[..=at];
    let get = ENDPOINTS.iter().find(|e| {
        e.method == Method::Get && {
            let other: Vec<&str> = e.path.split('/').collect();
            other.len() == prefix.len()
                && other
                    .iter()
                    .zip(prefix)
                    .all(|(a, b)| a == b || (param(a).is_some() && param(b).is_some()))
        }
    })?;
    let get_name = get.path.split('/').nth(at).and_then(param)?;
    let value = path_params.get(name)?;
    Some((
        get.operation,
        BTreeMap::from([(get_name.to_owned(), value.clone())]),
    ))
}

fn param(segment: &str) -> Option<&str> {
    segment.strip_prefix('{')?.strip_suffix('}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn changes_are_checked_against_the_resource_they_belong_to() {
        let (get, p) = owning_read(Operation::SetServer, &params(&[("id", "s1")])).unwrap();
        assert_eq!(get, Operation::GetServer);
        assert_eq!(p, params(&[("server_id", "s1")]));
        let (get, p) = owning_read(
            Operation::DeleteServerUserData,
            &params(&[("server_id", "s1"), ("key", "k")]),
        )
        .unwrap();
        assert_eq!(get, Operation::GetServer);
        assert_eq!(p, params(&[("server_id", "s1")]));
        assert!(owning_read(Operation::CreateServer, &params(&[])).is_none());
        // A resource's own read is its own check; a sub-resource read checks the resource.
        let (get, _) = owning_read(Operation::GetServer, &params(&[("server_id", "s1")])).unwrap();
        assert_eq!(get, Operation::GetServer);
        let (get, _) = owning_read(
            Operation::ListServerUserData,
            &params(&[("server_id", "s1")]),
        )
        .unwrap();
        assert_eq!(get, Operation::GetServer);
        // Every change of an existing resource has a read to check.
        for endpoint in ENDPOINTS {
            let ids: Vec<&str> = endpoint.param_names().filter(|p| *p != "zone").collect();
            if endpoint.method == Method::Get || ids.is_empty() {
                continue;
            }
            let all = ids.iter().map(|p| (*p, "x")).collect::<Vec<_>>();
            assert!(
                owning_read(endpoint.operation, &params(&all)).is_some(),
                "{}",
                endpoint.operation
            );
        }
    }

    #[test]
    fn lists_are_filtered_and_reads_refused_outside_the_scope() {
        let scope = Scope::new(&["p1".to_owned()]).unwrap();
        let mut list = InvokeResponse {
            status: 200,
            body: serde_json::to_vec(&serde_json::json!({"servers": [
                {"id": "a", "project": "p1"}, {"id": "b", "project": "p2"}
            ]}))
            .unwrap(),
            total_count: Some(2),
            ..InvokeResponse::default()
        };
        scope
            .filter_response(Zone::FrPar1, Operation::ListServers, &mut list)
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&list.body).unwrap();
        assert_eq!(body["servers"].as_array().unwrap().len(), 1);
        assert_eq!(list.total_count, Some(1));

        let mut get = InvokeResponse {
            status: 200,
            body: br#"{"server": {"id": "b", "project": "p2", "zone": "fr-par-1"}}"#.to_vec(),
            ..InvokeResponse::default()
        };
        let err = scope
            .filter_response(Zone::FrPar1, Operation::GetServer, &mut get)
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);

        let mut query = Vec::new();
        scope.narrow_list_query(Operation::ListServers, &mut query);
        assert_eq!(query, [("project".to_owned(), "p1".to_owned())]);
        assert!(Scope::new(&[String::new()]).is_none());
    }

    #[test]
    fn creates_must_name_a_project_in_scope() {
        let scope = Scope::new(&["p1".to_owned()]).unwrap();
        let body = |v: serde_json::Value| InvokeBody {
            bytes: serde_json::to_vec(&v).unwrap(),
            content_type: "application/json".to_owned(),
        };
        assert!(
            scope
                .check_create(
                    Zone::FrPar1,
                    Operation::CreateIp,
                    Some(&body(serde_json::json!({"project": "p1"})))
                )
                .is_ok()
        );
        assert_eq!(
            scope
                .check_create(
                    Zone::FrPar1,
                    Operation::CreateIp,
                    Some(&body(serde_json::json!({"project": "p2"})))
                )
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );
        assert_eq!(
            scope
                .check_create(
                    Zone::FrPar1,
                    Operation::CreateIp,
                    Some(&body(serde_json::json!({})))
                )
                .unwrap_err()
                .code(),
            Code::InvalidArgument
        );
    }
}
