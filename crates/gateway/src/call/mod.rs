//! The call path: what happens to a checked request. Synchronous calls go to the zone's
//! worker ([`routing`], with AIP-155 records for mutations in [`idempotency`]), lists page
//! and fan out over zones ([`list`]), long-running calls enqueue a job ([`long_running`]).

pub mod idempotency;
pub mod list;
pub mod long_running;
pub mod routing;

use std::time::Duration;

use fleet_core::ApiError;
use fleet_proto::internal::{InvokeRequest, InvokeResponse, QueryParam};
use fleet_proto::json::{JsonOptions, from_json, try_to_json};
use fleet_scheduler::Listener;
use prost::Message;
use serde_json::{Map, Value};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::audit::{self, AuditRecord};
use crate::auth::{Caller, ProjectScope, caller_of};
use crate::errors::{GatewayError, UpstreamContext};
use crate::request::convert::{Prepared, response_json};
use crate::request::methods::{self, MethodInfo};
use crate::request::rules::validate;
use crate::request::{Plan, not_json, plan, request_id};
use idempotency::Claim;
use routing::ZoneRouter;

/// Shared state of every service.
#[derive(Debug)]
pub struct Api {
    pub pool: PgPool,
    pub router: ZoneRouter,
    pub listener: Option<Listener>,
    /// Longest a worker may spend on one synchronous call.
    pub call_timeout: Duration,
    /// Cap of WaitOperation.
    pub wait_cap: Duration,
    /// Cancelled when the gateway drains (ends waits and watches early).
    pub shutdown: CancellationToken,
}

impl Api {
    /// Runs public method `grpc_method` (`fleet.v1.Servers/GetServer`).
    pub async fn call<Req, Resp>(
        &self,
        grpc_method: &'static str,
        request: Request<Req>,
    ) -> Result<Response<Resp>, Status>
    where
        Req: Message + prost::Name + Default,
        Resp: Message + prost::Name + Default,
    {
        let caller = caller_of(&request);
        let trace = trace_context(&request);
        // Every mutating call is audited, whatever its outcome (an unauthenticated one never
        // gets here: the interceptor refuses it).
        let mut audit = match (&caller, methods::method(grpc_method)) {
            (Ok(caller), Ok(info)) if info.mutating => Some(AuditRecord::new(caller, grpc_method)),
            _ => None,
        };
        let result = match caller {
            Ok(caller) => {
                self.dispatch::<Req, Resp>(
                    grpc_method,
                    &caller,
                    request.into_inner(),
                    trace,
                    audit.as_mut(),
                )
                .await
            }
            Err(err) => Err(err),
        };
        let result = result.map_err(|err| (err.to_status(), err));
        if let Some(mut audit) = audit {
            audit.finish(result.as_ref().map(|_| ()).map_err(|(status, _)| status));
            audit::record(&self.pool, &audit).await;
        }
        match result {
            Ok(response) => Ok(Response::new(response)),
            Err((status, err)) => {
                match status.code() {
                    tonic::Code::Internal | tonic::Code::Unavailable | tonic::Code::Unknown => {
                        tracing::warn!(method = grpc_method, code = ?status.code(), error = %err, "call failed")
                    }
                    _ => {
                        tracing::debug!(method = grpc_method, code = ?status.code(), error = %err, "call refused")
                    }
                }
                Err(status)
            }
        }
    }

    /// Field rules, caller checks, then [`plan`] (the pure checks the offline check shares),
    /// then the path the plan names.
    async fn dispatch<Req, Resp>(
        &self,
        grpc_method: &'static str,
        caller: &Caller,
        request: Req,
        trace: Value,
        mut audit: Option<&mut AuditRecord>,
    ) -> Result<Resp, GatewayError>
    where
        Req: Message + prost::Name + Default,
        Resp: Message + prost::Name + Default,
    {
        if self.shutdown.is_cancelled() {
            return Err(GatewayError::ShuttingDown);
        }
        let info = methods::method(grpc_method)?;
        // A value JSON cannot carry (a NaN in a google.protobuf.Value) is the caller's error.
        let mut json = try_to_json(&request, JsonOptions::default())
            .map_err(|err| not_json(&err.to_string()))?;
        if let Some(audit) = audit.as_deref_mut() {
            audit.describe(info, &json);
        }
        validate(info, &json)?;
        if info.mutating {
            caller.require_operator(grpc_method)?;
        }
        scope_project(info, caller, &mut json)?;
        if let Some(audit) = audit.as_deref_mut() {
            // A single-project caller's create had its project filled in.
            audit.describe(info, &json);
        }

        match plan(info, &json)? {
            Plan::LongRunning(spec) => {
                let operation = self.long_running(info, caller, &json, *spec, trace).await?;
                if let Some(audit) = audit {
                    audit.started(&operation.name);
                }
                transcode(&operation)
            }
            Plan::List(list) => decode_json(self.list(info, caller, &json, list).await?),
            Plan::Single(prepared) => {
                let response: Resp = match (info.mutating, request_id(&json)) {
                    (true, Some(request_id)) => {
                        self.single_once(info, caller, &json, &prepared, request_id)
                            .await?
                    }
                    _ => self.single(info, caller, &json, &prepared).await?,
                };
                if let Some(audit) = audit {
                    audit.answered(info, &json, || {
                        try_to_json(&response, JsonOptions::default()).ok()
                    });
                }
                Ok(response)
            }
        }
    }

    /// A mutation with a `request_id`: answered once, replayed from its record after (AIP-155).
    async fn single_once<Resp>(
        &self,
        info: &MethodInfo,
        caller: &Caller,
        json: &Value,
        prepared: &Prepared,
        request_id: String,
    ) -> Result<Resp, GatewayError>
    where
        Resp: Message + prost::Name + Default,
    {
        let grpc_method = info.grpc_method.as_str();
        let mut hashed = json.clone();
        if let Value::Object(map) = &mut hashed {
            map.remove("request_id");
        }
        let hash = idempotency::request_hash(
            grpc_method,
            &serde_json::to_vec(&hashed).unwrap_or_default(),
        );
        match idempotency::claim(&self.pool, &caller.name, &request_id, grpc_method, &hash).await? {
            Claim::Done(bytes) => Resp::decode(bytes.as_slice()).map_err(|err| {
                GatewayError::Internal(format!("stored answer does not decode: {err}"))
            }),
            Claim::Fresh => match self.single::<Resp>(info, caller, json, prepared).await {
                Ok(response) => {
                    idempotency::finish(
                        &self.pool,
                        &caller.name,
                        &request_id,
                        &response.encode_to_vec(),
                    )
                    .await?;
                    Ok(response)
                }
                Err(err) => {
                    if let Err(abandon) =
                        idempotency::abandon(&self.pool, &caller.name, &request_id).await
                    {
                        tracing::warn!(error = %abandon, "could not release a request_id after a failed call");
                    }
                    Err(err)
                }
            },
        }
    }

    /// One synchronous call, decoded into the method's response.
    async fn single<Resp>(
        &self,
        info: &MethodInfo,
        caller: &Caller,
        json: &Value,
        prepared: &Prepared,
    ) -> Result<Resp, GatewayError>
    where
        Resp: Message + prost::Name + Default,
    {
        let zone = zone_of(json);
        let response = self
            .invoke(info.operation(), &zone, prepared, caller, json)
            .await?;
        let value = self.answer(info, &zone, prepared, response, json)?;
        decode_json(value)
    }

    /// Sends one prepared call to the zone's worker.
    async fn invoke(
        &self,
        operation: &str,
        zone: &str,
        prepared: &Prepared,
        caller: &Caller,
        json: &Value,
    ) -> Result<InvokeResponse, GatewayError> {
        let (body, content_type) = prepared.wire_body();
        let request = InvokeRequest {
            zone: zone.to_owned(),
            operation: operation.to_owned(),
            path_params: prepared.path_params.clone().into_iter().collect(),
            query: prepared
                .query
                .iter()
                .map(|(key, value)| QueryParam {
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect(),
            body,
            content_type: content_type.to_owned(),
            caller: caller.name.clone(),
            project_scope: caller.projects.as_list(),
            request_id: request_id(json).unwrap_or_default(),
            timeout: prost_types::Duration::try_from(self.call_timeout).ok(),
        };
        self.router.invoke(request).await
    }

    /// The response JSON of a successful answer, or the mapped upstream error.
    fn answer(
        &self,
        info: &MethodInfo,
        zone: &str,
        prepared: &Prepared,
        response: InvokeResponse,
        json: &Value,
    ) -> Result<Value, GatewayError> {
        if response.status >= 400 {
            return Err(upstream_error(info.endpoint, zone, prepared, &response));
        }
        response_json(info, &response.body, &response.content_type, json)
    }
}

/// Checks (and for single-project callers, fills) the request's `project`.
fn scope_project(info: &MethodInfo, caller: &Caller, json: &mut Value) -> Result<(), GatewayError> {
    let Value::Object(map) = json else {
        return Ok(());
    };
    match map.get("project").and_then(Value::as_str) {
        Some(project) if !project.is_empty() => caller.require_project(project),
        _ => {
            let creates = info.mutating
                && info.endpoint.method == fleet_core::Method::Post
                && info.input.get_field_by_name("project").is_some();
            if let (true, ProjectScope::Only(projects)) = (creates, &caller.projects) {
                match projects.as_slice() {
                    [only] => {
                        map.insert("project".into(), Value::String(only.clone()));
                        Ok(())
                    }
                    _ => Err(GatewayError::invalid(
                        "project",
                        format!(
                            "required: caller {} may use several projects; name one of them",
                            caller.name
                        ),
                    )),
                }
            } else {
                Ok(())
            }
        }
    }
}

pub(crate) fn zone_of(json: &Value) -> String {
    json.get("zone")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The mapped error of an upstream answer with status >= 400.
pub(crate) fn upstream_error(
    endpoint: &fleet_core::catalog::Endpoint,
    zone: &str,
    prepared: &Prepared,
    response: &InvokeResponse,
) -> GatewayError {
    let status = u16::try_from(response.status).unwrap_or(500);
    let error = match serde_json::from_slice::<Value>(&response.body) {
        Ok(Value::Object(body)) => ApiError::from_body(body),
        _ => {
            let text = String::from_utf8_lossy(&response.body);
            let text: String = text.chars().take(200).collect();
            let mut body = Map::new();
            body.insert("message".into(), Value::String(text));
            ApiError::from_body(body)
        }
    };
    let retry_after = response
        .headers
        .get("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    GatewayError::Upstream {
        status,
        error: Box::new(error),
        retry_after,
        context: Box::new(UpstreamContext {
            zone: zone.to_owned(),
            operation: endpoint.operation.name().to_owned(),
            resource: resource_name(endpoint.path, zone, prepared),
            compensation: Default::default(),
        }),
    }
}

/// `zones/{zone}/{collection}/{id}` when the path ends with `collection/{param}`.
fn resource_name(path: &str, zone: &str, prepared: &Prepared) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.last()?;
    let param = last.strip_prefix('{')?.strip_suffix('}')?;
    let collection = segments.get(segments.len().checked_sub(2)?)?;
    let id = prepared.path_params.get(param)?;
    Some(format!("zones/{zone}/{collection}/{id}"))
}

pub(crate) fn decode_json<Resp: Message + prost::Name + Default>(
    value: Value,
) -> Result<Resp, GatewayError> {
    from_json::<Resp>(value).map_err(|err| {
        GatewayError::Internal(format!(
            "upstream answer does not fit {}: {err}",
            Resp::full_name()
        ))
    })
}

/// Moves a message into another type of the same wire shape (Operation → Resp).
fn transcode<Resp: Message + Default>(message: &impl Message) -> Result<Resp, GatewayError> {
    Resp::decode(message.encode_to_vec().as_slice())
        .map_err(|err| GatewayError::Internal(format!("cannot transcode the operation: {err}")))
}

/// The W3C trace context of the request's span (the gateway's server span), stored with its
/// job so the job's runs join the request's trace. Without a tracer installed, the caller's own
/// `traceparent` is kept instead.
fn trace_context<T>(request: &Request<T>) -> Value {
    let current = fleet_telemetry::propagation::current_trace_context();
    if current.as_object().is_some_and(|map| !map.is_empty()) {
        return current;
    }
    let mut map = Map::new();
    for key in ["traceparent", "tracestate"] {
        if let Some(value) = request.metadata().get(key).and_then(|v| v.to_str().ok()) {
            map.insert(key.to_owned(), Value::String(value.to_owned()));
        }
    }
    Value::Object(map)
}
