//! The generic request paths every public method goes through: synchronous calls (with
//! AIP-155 records for mutations), lists (AIP-158 paging, zone fan-out) and long-running
//! calls (one transaction: job + method record → Operation).

use std::str::FromStr;
use std::time::Duration;

use fleet_core::{ApiError, Zone};
use fleet_jobs::resource_key;
use fleet_proto::internal::{InvokeRequest, InvokeResponse, QueryParam};
use fleet_proto::json::{JsonOptions, from_json, try_to_json};
use fleet_proto::v1;
use fleet_scheduler::{Listener, NewJob};
use futures::future::join_all;
use prost::Message;
use serde_json::{Map, Value, json};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::auth::{Caller, ProjectScope, caller_of};
use crate::convert::{self, MethodInfo, Prepared, prepare, response_json};
use crate::errors::{GatewayError, UpstreamContext};
use crate::idempotency::{self, Claim};
use crate::lro::{job_spec, target_lookup};
use crate::operations::{self, to_operation};
use crate::paging::{PageToken, filter_hash, page_size};
use crate::routing::ZoneRouter;
use crate::validate::validate;

/// Upstream page size used to serve gateway pages (sliced to the caller's page size).
const UPSTREAM_PAGE: u64 = 100;

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
        let result = match caller {
            Ok(caller) => {
                self.dispatch::<Req, Resp>(grpc_method, &caller, request.into_inner(), trace)
                    .await
            }
            Err(err) => Err(err),
        };
        match result {
            Ok(response) => Ok(Response::new(response)),
            Err(err) => {
                let status = err.to_status();
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

    async fn dispatch<Req, Resp>(
        &self,
        grpc_method: &'static str,
        caller: &Caller,
        request: Req,
        trace: Value,
    ) -> Result<Resp, GatewayError>
    where
        Req: Message + prost::Name + Default,
        Resp: Message + prost::Name + Default,
    {
        if self.shutdown.is_cancelled() {
            return Err(GatewayError::ShuttingDown);
        }
        let info = convert::method(grpc_method)?;
        // A value JSON cannot carry (a NaN in a google.protobuf.Value) is the caller's error.
        let mut json = try_to_json(&request, JsonOptions::default())
            .map_err(|err| crate::validation::not_json(&err.to_string()))?;
        validate(info, &json)?;
        if info.mutating {
            caller.require_operator(grpc_method)?;
        }
        scope_project(info, caller, &mut json)?;

        if info.long_running {
            let operation = self.long_running(info, caller, &json, trace).await?;
            return transcode(&operation);
        }
        if info.is_list() {
            let value = self.list(info, caller, &json).await?;
            return decode_json(value);
        }
        let request_id = json
            .get("request_id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        match (info.mutating, request_id) {
            (true, Some(request_id)) => {
                let mut hashed = json.clone();
                if let Value::Object(map) = &mut hashed {
                    map.remove("request_id");
                }
                let hash = idempotency::request_hash(
                    grpc_method,
                    &serde_json::to_vec(&hashed).unwrap_or_default(),
                );
                match idempotency::claim(&self.pool, &caller.name, &request_id, grpc_method, &hash)
                    .await?
                {
                    Claim::Done(bytes) => Resp::decode(bytes.as_slice()).map_err(|err| {
                        GatewayError::Internal(format!("stored answer does not decode: {err}"))
                    }),
                    Claim::Fresh => match self.single::<Resp>(info, caller, &json).await {
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
            _ => self.single::<Resp>(info, caller, &json).await,
        }
    }

    /// One synchronous call, decoded into the method's response.
    async fn single<Resp>(
        &self,
        info: &MethodInfo,
        caller: &Caller,
        json: &Value,
    ) -> Result<Resp, GatewayError>
    where
        Resp: Message + prost::Name + Default,
    {
        let zone = zone_of(json);
        let prepared = prepare(info, json, None)?;
        let response = self
            .invoke(info.operation(), &zone, &prepared, caller, json)
            .await?;
        let value = self.answer(info, &zone, &prepared, response, json)?;
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
            request_id: json
                .get("request_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
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

    /// A List method: one zone paged by offset, or every zone merged.
    async fn list(
        &self,
        info: &MethodInfo,
        caller: &Caller,
        json: &Value,
    ) -> Result<Value, GatewayError> {
        let size = u64::from(page_size(
            json.get("page_size").and_then(Value::as_i64).unwrap_or(0) as i32,
        )?);
        let mut filters = json.clone();
        if let Value::Object(map) = &mut filters {
            map.remove("page_size");
            map.remove("page_token");
        }
        let hash = filter_hash(&info.grpc_method, &filters);
        let token = PageToken::decode(
            json.get("page_token").and_then(Value::as_str).unwrap_or(""),
            &hash,
        )?;
        let collection = info
            .output
            .fields()
            .find(|f| f.number() == 1)
            .map(|f| f.name().to_owned())
            .ok_or_else(|| GatewayError::Internal("list response has no collection".into()))?;

        let zone = zone_of(json);
        let mut out = Map::new();
        if zone == "all" {
            let (items, next, total, unreachable) = self
                .fan_out(info, caller, json, &collection, &token, size)
                .await?;
            out.insert(collection, Value::Array(items));
            out.insert(
                "next_page_token".into(),
                Value::String(
                    next.map(|(z, o)| {
                        PageToken {
                            offset: o,
                            zone_index: Some(z),
                            after: None,
                            filter_hash: hash.clone(),
                        }
                        .encode()
                    })
                    .unwrap_or_default(),
                ),
            );
            out.insert("total_size".into(), json!(total));
            out.insert("unreachable".into(), json!(unreachable));
            return Ok(Value::Object(out));
        }
        let (items, total) = self
            .zone_slice(info, caller, json, &zone, &collection, token.offset, size)
            .await?;
        let next = token.offset + items.len() as u64;
        let next_token = if next < total && !items.is_empty() {
            PageToken {
                offset: next,
                zone_index: None,
                after: None,
                filter_hash: hash,
            }
            .encode()
        } else {
            String::new()
        };
        let is_map = info
            .output
            .get_field_by_name(&collection)
            .is_some_and(|f| f.is_map());
        let collection_value = if is_map {
            Value::Object(
                items
                    .into_iter()
                    .filter_map(|item| match item {
                        Value::Array(mut kv) if kv.len() == 2 => {
                            let v = kv.pop()?;
                            let k = kv.pop()?.as_str()?.to_owned();
                            Some((k, v))
                        }
                        _ => None,
                    })
                    .collect(),
            )
        } else {
            Value::Array(items)
        };
        out.insert(collection, collection_value);
        out.insert("next_page_token".into(), Value::String(next_token));
        out.insert("total_size".into(), json!(total.min(i32::MAX as u64)));
        Ok(Value::Object(out))
    }

    /// Items `[offset, offset + size)` of one zone's list and the zone's total. Map entries
    /// come back as `[key, value]` pairs.
    #[allow(clippy::too_many_arguments)]
    async fn zone_slice(
        &self,
        info: &MethodInfo,
        caller: &Caller,
        json: &Value,
        zone: &str,
        collection: &str,
        offset: u64,
        size: u64,
    ) -> Result<(Vec<Value>, u64), GatewayError> {
        let paginated = info.endpoint.is_paginated();
        let mut page = if paginated {
            offset / UPSTREAM_PAGE + 1
        } else {
            1
        };
        let mut start = if paginated {
            offset % UPSTREAM_PAGE
        } else {
            offset
        };
        let mut items: Vec<Value> = Vec::new();
        let mut total;
        loop {
            let mut zone_json = json.clone();
            if let Value::Object(map) = &mut zone_json {
                map.insert("zone".into(), Value::String(zone.to_owned()));
            }
            let prepared = prepare(info, &zone_json, Some((page, UPSTREAM_PAGE)))?;
            let response = self
                .invoke(info.operation(), zone, &prepared, caller, &zone_json)
                .await?;
            let total_count = response.total_count;
            let value = self.answer(info, zone, &prepared, response, &zone_json)?;
            let all: Vec<Value> = match value.get(collection) {
                Some(Value::Array(list)) => list.clone(),
                Some(Value::Object(map)) => map
                    .iter()
                    .map(|(k, v)| Value::Array(vec![Value::String(k.clone()), v.clone()]))
                    .collect(),
                _ => Vec::new(),
            };
            let fetched = all.len() as u64;
            total = match (paginated, total_count) {
                (true, Some(t)) => t,
                (true, None) => (page - 1) * UPSTREAM_PAGE + fetched,
                (false, _) => fetched,
            };
            items.extend(all.into_iter().skip(start as usize));
            start = 0;
            let reached_end =
                !paginated || fetched < UPSTREAM_PAGE || page * UPSTREAM_PAGE >= total;
            if items.len() as u64 >= size || reached_end {
                break;
            }
            page += 1;
        }
        items.truncate(size as usize);
        Ok((items, total))
    }

    /// Every zone at once, merged zone by zone; one token position (zone index, offset).
    #[allow(clippy::type_complexity)]
    async fn fan_out(
        &self,
        info: &MethodInfo,
        caller: &Caller,
        json: &Value,
        collection: &str,
        token: &PageToken,
        size: u64,
    ) -> Result<(Vec<Value>, Option<(u32, u64)>, u64, Vec<String>), GatewayError> {
        let first = token.zone_index.unwrap_or(0) as usize;
        let zones = Zone::ALL;
        let calls = zones.iter().enumerate().map(|(i, zone)| {
            let (offset, want) = match i.cmp(&first) {
                std::cmp::Ordering::Less => (0, 1),
                std::cmp::Ordering::Equal => (token.offset, size),
                std::cmp::Ordering::Greater => (0, size),
            };
            async move {
                self.zone_slice(info, caller, json, zone.as_str(), collection, offset, want)
                    .await
            }
        });
        let results = join_all(calls).await;
        let mut unreachable = Vec::new();
        let mut total = 0u64;
        let mut items = Vec::new();
        let mut next = None;
        let mut first_error = None;
        for (i, (zone, result)) in zones.iter().zip(results).enumerate() {
            match result {
                Ok((zone_items, zone_total)) => {
                    total += zone_total;
                    if i < first || next.is_some() {
                        continue;
                    }
                    let offset = if i == first { token.offset } else { 0 };
                    let room = size as usize - items.len();
                    let take = zone_items.len().min(room);
                    items.extend(zone_items.into_iter().take(take));
                    let position = offset + take as u64;
                    if items.len() as u64 >= size {
                        next = if position < zone_total {
                            Some((i as u32, position))
                        } else {
                            Some((i as u32 + 1, 0))
                        };
                    }
                }
                Err(err) => {
                    tracing::info!(zone = zone.as_str(), error = %err, "zone left out of an all-zones list");
                    unreachable.push(zone.as_str().to_owned());
                    first_error.get_or_insert(err);
                }
            }
        }
        if unreachable.len() == zones.len()
            && let Some(err) = first_error
        {
            return Err(err);
        }
        // A position past the last zone means the list is complete.
        if let Some((z, _)) = next
            && z as usize >= zones.len()
        {
            next = None;
        }
        Ok((items, next, total, unreachable))
    }

    /// A long-running call: the job and its method record in one transaction.
    async fn long_running(
        &self,
        info: &MethodInfo,
        caller: &Caller,
        json: &Value,
        trace: Value,
    ) -> Result<v1::Operation, GatewayError> {
        let zone = zone_of(json);
        let prepared = prepare(info, json, None)?;
        let spec = job_spec(info, json, &prepared)?;
        let kind = spec.kind();
        let args = spec.to_args();
        let request_id = json
            .get("request_id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);

        if let Some(request_id) = &request_id
            && let Some(job) =
                operations::by_request_id(&self.pool, &caller.name, request_id).await?
        {
            if job.kind == kind && job.zone == zone && json_eq(&job.args, &args) {
                let method = operations::method_of(&self.pool, job.id).await?;
                return Ok(to_operation(&job, method.as_deref()));
            }
            return Err(GatewayError::RequestIdReused {
                request_id: request_id.clone(),
                method: info.grpc_method.clone(),
            });
        }

        let mut project = json
            .get("project")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let mut resource = None;
        if let Some((kind, id)) = spec.target() {
            resource = Some(resource_key(&zone, kind, id));
            if let Some((operation, param)) = target_lookup(kind) {
                project = Some(
                    self.target_project(operation, param, id, &zone, caller, json)
                        .await?,
                );
            }
        }
        if let Some(project) = &project {
            caller.require_project(project)?;
        }

        let mut job = NewJob::new(kind, zone.clone(), args)
            .caller(caller.name.clone())
            .trace_context(trace);
        if let Some(project) = project {
            job = job.project(project);
        }
        if let Some(resource) = resource {
            job = job.resource(resource);
        }
        if let Some(request_id) = &request_id {
            job = job.idempotency_key(request_id.clone());
        }
        let mut tx = self.pool.begin().await?;
        let enqueued = fleet_scheduler::enqueue_tx(&mut tx, &job)
            .await
            .map_err(|err| match GatewayError::from(err) {
                GatewayError::RequestIdReused { request_id, .. } => GatewayError::RequestIdReused {
                    request_id,
                    method: info.grpc_method.clone(),
                },
                other => other,
            })?;
        sqlx::query(
            "INSERT INTO gateway_operations (job_id, method) VALUES ($1, $2) \
             ON CONFLICT (job_id) DO NOTHING",
        )
        .bind(enqueued.id)
        .bind(&info.grpc_method)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(
            job_id = enqueued.id,
            created = enqueued.created,
            method = %info.grpc_method,
            caller = %caller.name,
            zone = %zone,
            "operation accepted"
        );
        let job = fleet_scheduler::get_job(&self.pool, enqueued.id).await?;
        let method = operations::method_of(&self.pool, job.id).await?;
        Ok(to_operation(&job, method.as_deref()))
    }

    /// Reads the resource a job will act on: NOT_FOUND is answered before anything is
    /// accepted, and its project decides whether the caller may act on it.
    async fn target_project(
        &self,
        operation: &str,
        param: &str,
        id: &str,
        zone: &str,
        caller: &Caller,
        json: &Value,
    ) -> Result<String, GatewayError> {
        let endpoint = fleet_core::Operation::from_name(operation)
            .map(|op| op.endpoint())
            .ok_or_else(|| GatewayError::Internal(format!("unknown operation {operation}")))?;
        let mut prepared = Prepared::default();
        prepared.path_params.insert(param.to_owned(), id.to_owned());
        let response = self
            .invoke(operation, zone, &prepared, caller, json)
            .await?;
        if response.status >= 400 {
            return Err(upstream_error(endpoint, zone, &prepared, &response));
        }
        let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        let project = body
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|r| r.get("project"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok(project)
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

fn zone_of(json: &Value) -> String {
    json.get("zone")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The mapped error of an upstream answer with status >= 400.
fn upstream_error(
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

fn decode_json<Resp: Message + prost::Name + Default>(value: Value) -> Result<Resp, GatewayError> {
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

/// JSON equality ignoring object key order (jsonb does not keep it).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| json_eq(v, w)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(v, w)| json_eq(v, w))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => a == b,
    }
}

/// Whether a zone name is known (for the Operations filters).
pub fn known_zone(zone: &str) -> bool {
    Zone::from_str(zone).is_ok()
}
