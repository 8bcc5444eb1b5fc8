//! The audit log: one [`AuditRecord`] per mutating call (every method the method table marks
//! `mutating`, plus [`OPERATIONS_MUTATIONS`]), accepted or refused, written to
//! `gateway_audit` after the call is answered and emitted as a tracing event with target
//! [`TARGET`]; [`service`] serves it as the `fleet.v1.Audit` service; the
//! gateway's `audit_pruner` task ([`crate::retention`]) forgets it after its retention.
//!
//! What a record holds is what names the call, never what it carried: the caller's name and
//! role (never its token), the method, the request's `request_id`, `zone` and `project`, the
//! resource its path parameters name, the outcome (tonic's code name and the ErrorInfo
//! reason) and the operation it started. User data (every `bytes` field of a request) is
//! recorded as a size only, never its content nor a digest of it.

pub mod service;

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use prost_reflect::{Kind, MessageDescriptor};
use serde_json::Value;
use sqlx::PgPool;
use time::OffsetDateTime;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

use crate::auth::Caller;
use crate::errors::clip;
use crate::request::convert::path_param;
use crate::request::methods::{MethodInfo, methods};

/// Target of the tracing event each record is also emitted as (exported as an
/// OpenTelemetry log record when OTLP export is on).
pub const TARGET: &str = fleet_telemetry::AUDIT_TARGET;

/// Mutating methods outside the endpoint method table.
pub const OPERATIONS_MUTATIONS: &[&str] = &["fleet.v1.Operations/CancelOperation"];

/// The mutating methods of the `Batches` service (a `CreateBatch` dry run changes nothing
/// and is not audited).
pub const BATCHES_MUTATIONS: &[&str] = &[
    "fleet.v1.Batches/CreateBatch",
    "fleet.v1.Batches/PauseBatch",
    "fleet.v1.Batches/ResumeBatch",
    "fleet.v1.Batches/CancelBatch",
];

/// The mutating methods of the `Policies` service.
pub const POLICIES_MUTATIONS: &[&str] = &[
    "fleet.v1.Policies/CreatePolicy",
    "fleet.v1.Policies/UpdatePolicy",
    "fleet.v1.Policies/DeletePolicy",
    "fleet.v1.Policies/PausePolicy",
    "fleet.v1.Policies/ResumePolicy",
    "fleet.v1.Policies/RunPolicy",
];

/// Longest text kept in one column; request fields are the caller's text and are clipped.
const MAX_TEXT: usize = 256;

/// Every method whose calls are audited: the mutating methods of the method table,
/// [`OPERATIONS_MUTATIONS`], [`BATCHES_MUTATIONS`] and [`POLICIES_MUTATIONS`].
pub fn audited_methods() -> BTreeSet<String> {
    methods()
        .values()
        .filter(|info| info.mutating)
        .map(|info| info.grpc_method.clone())
        .chain(OPERATIONS_MUTATIONS.iter().map(|m| (*m).to_owned()))
        .chain(BATCHES_MUTATIONS.iter().map(|m| (*m).to_owned()))
        .chain(POLICIES_MUTATIONS.iter().map(|m| (*m).to_owned()))
        .collect()
}

/// The canonical name of a gRPC code (`PERMISSION_DENIED`), from tonic's [`Code`].
pub fn code_name(code: Code) -> String {
    let camel = format!("{code:?}");
    if code == Code::Ok {
        return "OK".to_owned();
    }
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, ch) in camel.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

/// One audited call, filled in as the call learns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub caller: String,
    pub role: &'static str,
    pub method: String,
    pub request_id: Option<String>,
    pub zone: Option<String>,
    pub project: Option<String>,
    pub resource: Option<String>,
    /// [`code_name`] of the answer.
    pub outcome: String,
    pub reason: Option<String>,
    pub operation: Option<String>,
    pub user_data_bytes: Option<i64>,
}

fn text(json: &Value, field: &str) -> Option<String> {
    json.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(|s| clip(s, MAX_TEXT))
}

impl AuditRecord {
    /// A call of `method` by `caller`, outcome not known yet.
    pub fn new(caller: &Caller, method: &str) -> Self {
        AuditRecord {
            caller: caller.name.clone(),
            role: caller.role.as_str(),
            method: method.to_owned(),
            request_id: None,
            zone: None,
            project: None,
            resource: None,
            outcome: code_name(Code::Unknown),
            reason: None,
            operation: None,
            user_data_bytes: None,
        }
    }

    /// What the request JSON of an endpoint method names: request_id, zone, project, the
    /// resource of its path parameters and the size of its user data.
    pub fn describe(&mut self, info: &MethodInfo, json: &Value) {
        self.request_id = text(json, "request_id");
        self.zone = text(json, "zone");
        self.project = text(json, "project");
        self.resource = named_resource(info, json);
        self.user_data_bytes = user_data_bytes(&info.input, json);
    }

    /// A synchronous answer (its JSON, made only when needed): a create (a path ending in a
    /// collection, answered with an `id`) names the created resource.
    pub fn answered(
        &mut self,
        info: &MethodInfo,
        json: &Value,
        response: impl FnOnce() -> Option<Value>,
    ) {
        let Some(collection) = collection_path(info, json) else {
            return;
        };
        if let Some(id) = response()
            .as_ref()
            .and_then(|answer| answer.get("id"))
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
        {
            self.resource = Some(clip(&format!("{collection}/{id}"), MAX_TEXT));
        }
    }

    /// An accepted long-running call: its operation, which is also the resource of a create
    /// (a call that names no resource but its zone) until the job knows the created id.
    pub fn started(&mut self, operation: &str) {
        self.operation = Some(operation.to_owned());
        let zone_only = self
            .zone
            .as_ref()
            .map(|zone| format!("zones/{zone}"))
            .is_some_and(|zone| self.resource.as_deref() == Some(zone.as_str()));
        if self.resource.is_none() || zone_only {
            self.resource = Some(operation.to_owned());
        }
    }

    /// The answer the caller got.
    pub fn finish(&mut self, result: Result<(), &Status>) {
        match result {
            Ok(()) => {
                self.outcome = code_name(Code::Ok);
                self.reason = None;
            }
            Err(status) => {
                self.outcome = code_name(status.code());
                self.reason = status
                    .get_details_error_info()
                    .map(|info| clip(&info.reason, MAX_TEXT));
            }
        }
    }
}

/// `zones/{zone}/…` up to the last path parameter of the method's endpoint, with the
/// request's values (`zones/fr-par-1/servers/{id}` for an action on a server); `None` when
/// the path has no zone or a parameter is missing.
fn named_resource(info: &MethodInfo, json: &Value) -> Option<String> {
    let segments = zonal_segments(info)?;
    let last_param = segments.iter().rposition(|s| param(s).is_some())?;
    render(info, json, &segments[..=last_param])
}

/// The whole zonal path when it ends in a collection (`zones/fr-par-1/ips`), else `None`.
fn collection_path(info: &MethodInfo, json: &Value) -> Option<String> {
    let segments = zonal_segments(info)?;
    if param(segments.last()?).is_some() {
        return None;
    }
    render(info, json, &segments)
}

/// The endpoint's path from its `zones` segment on.
fn zonal_segments(info: &MethodInfo) -> Option<Vec<&'static str>> {
    let segments: Vec<&'static str> = info.endpoint.path.split('/').collect();
    let start = segments.iter().position(|s| *s == "zones")?;
    Some(segments[start..].to_vec())
}

fn param(segment: &str) -> Option<&str> {
    segment.strip_prefix('{')?.strip_suffix('}')
}

fn render(info: &MethodInfo, json: &Value, segments: &[&str]) -> Option<String> {
    let Value::Object(fields) = json else {
        return None;
    };
    let mut out = Vec::with_capacity(segments.len());
    for segment in segments {
        match param(segment) {
            Some(name) => out.push(path_param(info, fields, name).1.filter(|v| !v.is_empty())?),
            None => out.push((*segment).to_owned()),
        }
    }
    Some(clip(&out.join("/"), MAX_TEXT))
}

/// Bytes of user data in a request: the decoded length of every `bytes` field (and of every
/// `bytes` value of a map field) of `input`; `None` when it has none set.
fn user_data_bytes(input: &MessageDescriptor, json: &Value) -> Option<i64> {
    let length = |value: &Value| -> usize {
        value.as_str().map_or(0, |encoded| {
            STANDARD
                .decode(encoded)
                .map_or(encoded.len(), |raw| raw.len())
        })
    };
    let mut total: Option<usize> = None;
    for field in input.fields() {
        let value_kind = if field.is_map() {
            match field.kind() {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                _ => continue,
            }
        } else {
            field.kind()
        };
        if !matches!(value_kind, Kind::Bytes) {
            continue;
        }
        let size = match json.get(field.name()) {
            Some(Value::Object(map)) => map.values().map(length).sum(),
            Some(value @ Value::String(_)) => length(value),
            _ => continue,
        };
        *total.get_or_insert(0) += size;
    }
    total.map(|bytes| i64::try_from(bytes).unwrap_or(i64::MAX))
}

/// Writes `record` and emits it as a [`TARGET`] event. A failed write is logged (the event
/// is still emitted) and never fails the call, which has already happened.
pub async fn record(pool: &PgPool, record: &AuditRecord) {
    tracing::info!(
        target: TARGET,
        caller = %record.caller,
        role = record.role,
        method = %record.method,
        request_id = record.request_id.as_deref().unwrap_or(""),
        zone = record.zone.as_deref().unwrap_or(""),
        project = record.project.as_deref().unwrap_or(""),
        resource = record.resource.as_deref().unwrap_or(""),
        outcome = %record.outcome,
        reason = record.reason.as_deref().unwrap_or(""),
        operation = record.operation.as_deref().unwrap_or(""),
        user_data_bytes = record.user_data_bytes,
        "audit"
    );
    let written = sqlx::query(
        "INSERT INTO gateway_audit (caller, role, method, request_id, zone, project, resource, \
           outcome, reason, operation, user_data_bytes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&record.caller)
    .bind(record.role)
    .bind(&record.method)
    .bind(&record.request_id)
    .bind(&record.zone)
    .bind(&record.project)
    .bind(&record.resource)
    .bind(&record.outcome)
    .bind(&record.reason)
    .bind(&record.operation)
    .bind(record.user_data_bytes)
    .execute(pool)
    .await;
    if let Err(err) = written {
        tracing::warn!(error = %err, method = %record.method, caller = %record.caller, "audit record not written");
    }
}

/// A stored record, as the Audit service lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredRecord {
    pub id: i64,
    pub created_at: OffsetDateTime,
    pub caller: String,
    pub role: String,
    pub method: String,
    pub request_id: Option<String>,
    pub zone: Option<String>,
    pub project: Option<String>,
    pub resource: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    pub operation: Option<String>,
    pub user_data_bytes: Option<i64>,
}

/// What a listing asks for; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub caller: Option<String>,
    pub method: Option<String>,
    /// The resource or anything under it (`zones/z/servers/s` matches `…/s/user_data/k`).
    pub resource: Option<String>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

/// Up to `limit` records matching `filter` with ids below `before`, newest first.
pub async fn list(
    pool: &PgPool,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<StoredRecord>, sqlx::Error> {
    sqlx::query_as::<_, StoredRecord>(
        "SELECT id, created_at, caller, role, method, request_id, zone, project, resource, \
           outcome, reason, operation, user_data_bytes \
         FROM gateway_audit \
         WHERE ($1::text IS NULL OR caller = $1) \
           AND ($2::text IS NULL OR method = $2) \
           AND ($3::text IS NULL OR resource = $3 OR starts_with(resource, $3 || '/')) \
           AND ($4::timestamptz IS NULL OR created_at >= $4) \
           AND ($5::timestamptz IS NULL OR created_at < $5) \
           AND ($6::bigint IS NULL OR id < $6) \
         ORDER BY id DESC LIMIT $7",
    )
    .bind(&filter.caller)
    .bind(&filter.method)
    .bind(&filter.resource)
    .bind(filter.since)
    .bind(filter.until)
    .bind(before)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests;
