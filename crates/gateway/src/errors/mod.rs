//! The one error table of the gateway (AIP-193): every Scaleway error type and every internal
//! failure becomes a `google.rpc.Status` here, and nowhere else.
//!
//! Why one module: synchronous calls, failed operations (`Operation.error`) and internal
//! failures must give a caller the same code and details for the same cause. Every status
//! carries an `ErrorInfo` (reason in UPPER_SNAKE_CASE, domain [`DOMAIN`], metadata repeating
//! what the message names), plus the detail that tells the caller what to fix:
//!
//! | cause | code | details |
//! |---|---|---|
//! | validation (gateway) / `invalid_arguments` / `invalid_request_error` (400) | INVALID_ARGUMENT | BadRequest, one violation per field |
//! | `not_found` / `unknown_resource` / `resource_expired` | NOT_FOUND | ResourceInfo (type, `zones/{zone}/…/{id}`) |
//! | `quotas_exceeded` / legacy quota `invalid_request_error` (403) | RESOURCE_EXHAUSTED | QuotaFailure (resource, limit, usage) |
//! | `precondition_failed`, `locked` | FAILED_PRECONDITION | PreconditionFailure (condition, current state) |
//! | `transient_state` | ABORTED | PreconditionFailure (current state) + RetryInfo 5 s |
//! | `conflict` | ABORTED (ALREADY_EXISTS when it says so) | ErrorInfo |
//! | `permissions_denied` | PERMISSION_DENIED | ErrorInfo (resource, action) |
//! | `denied_authentication` | INTERNAL | ErrorInfo: fleet's own Scaleway key was refused; the caller cannot fix that |
//! | `out_of_stock` | RESOURCE_EXHAUSTED | ErrorInfo OUT_OF_STOCK + QuotaFailure on the resource |
//! | 429 | UNAVAILABLE | RetryInfo (Retry-After) |
//! | other 5xx | UNAVAILABLE | RetryInfo 1 s |
//! | no live owner for a zone, worker unreachable, Postgres down | UNAVAILABLE | RetryInfo |
//! | missing / unknown token | UNAUTHENTICATED | ErrorInfo |
//! | read-only caller mutating, project not granted | PERMISSION_DENIED | ErrorInfo |
//! | request_id reused with another payload | INVALID_ARGUMENT | BadRequest on `request_id` |
//! | request_id still in flight | ABORTED | RetryInfo 1 s |

use std::collections::HashMap;
use std::time::Duration;

use fleet_core::ApiError;
use fleet_proto::reasons::UPSTREAM_UNAVAILABLE;
use prost::Message as _;
use tonic::{Code, Status};
use tonic_types::{
    ErrorDetails, FieldViolation, PreconditionViolation, QuotaViolation, StatusExt as _,
};

/// `ErrorInfo.domain` of every gateway error.
pub const DOMAIN: &str = "fleet.scaleway.com";

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Proto field path relative to the request, e.g. `server.name`, `volumes.0.size`.
    pub field: String,
    /// What is wrong and what would be right.
    pub description: String,
}

impl Violation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Violation {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// Where an upstream answer came from, for messages and `ResourceInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamContext {
    /// Zone of the call.
    pub zone: String,
    /// Catalog operation, e.g. `get_server`.
    pub operation: String,
    /// Resource name the call was about, e.g. `zones/fr-par-1/servers/{id}`, when known.
    pub resource: Option<String>,
}

/// What a failed job recorded (see `fleet_jobs::Failure`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFailure {
    pub kind: String,
    pub message: String,
    pub resource: Option<String>,
    pub state: Option<String>,
    pub target: Option<String>,
}

/// Everything that can go wrong in the gateway; [`GatewayError::to_status`] is the table.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The request failed validation.
    #[error("invalid request: {}", describe(.0))]
    InvalidArgument(Vec<Violation>),
    /// No or unknown bearer token.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but not allowed.
    #[error("{message}")]
    PermissionDenied {
        reason: &'static str,
        message: String,
    },
    /// A gateway-side resource (an operation) does not exist or is not visible.
    #[error("{resource_type} {name} not found")]
    NotFound { resource_type: String, name: String },
    /// Scaleway answered with an error.
    #[error("upstream {status}: {error}")]
    Upstream {
        status: u16,
        error: Box<ApiError>,
        retry_after: Option<Duration>,
        context: Box<UpstreamContext>,
    },
    /// No live worker holds the zone's lease.
    #[error("no worker owns zone {zone} right now")]
    NoZoneOwner { zone: String },
    /// The owner could not be reached or gave up (retry budget spent, ownership moving).
    #[error("worker for zone {zone} unavailable: {message}")]
    WorkerUnavailable { zone: String, message: String },
    /// The worker refused the call itself (not an upstream answer).
    #[error("worker refused the call: {0}")]
    WorkerRefused(Box<Status>),
    /// Postgres is unreachable or failed.
    #[error("database unavailable: {0}")]
    Database(String),
    /// A request_id was reused for a different request.
    #[error("request_id {request_id} was already used for a different request")]
    RequestIdReused { request_id: String, method: String },
    /// The first call with this request_id has not finished.
    #[error("a request with request_id {request_id} is still in progress")]
    RequestInProgress { request_id: String },
    /// The call's deadline passed before an answer.
    #[error("deadline exceeded: {0}")]
    DeadlineExceeded(String),
    /// The gateway is draining.
    #[error("gateway is shutting down")]
    ShuttingDown,
    /// A bug or inconsistency on our side; the message is safe to show.
    #[error("internal error: {0}")]
    Internal(String),
    /// A finished job recorded why it failed.
    #[error("operation failed: {}", .0.message)]
    JobFailed(Box<JobFailure>),
    /// The operation was cancelled.
    #[error("operation cancelled")]
    Cancelled,
}

/// Bounds of what an INVALID_ARGUMENT answer repeats of the request (headers stay small).
const MAX_VIOLATIONS: usize = 50;
const MAX_FIELD_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 400;
const MAX_MESSAGE_CHARS: usize = 2000;

/// `text` cut to at most `max` bytes on a character boundary, marked with `…` when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn describe(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl GatewayError {
    /// A single-field validation failure.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        GatewayError::InvalidArgument(vec![Violation::new(field, description)])
    }

    /// A refused caller.
    pub fn denied(reason: &'static str, message: impl Into<String>) -> Self {
        GatewayError::PermissionDenied {
            reason,
            message: message.into(),
        }
    }

    /// The status this error is answered with (the table).
    pub fn to_status(&self) -> Status {
        let mut details = ErrorDetails::new();
        let (code, message) = match self {
            GatewayError::InvalidArgument(violations) => {
                info(&mut details, "INVALID_ARGUMENT", []);
                // Descriptions quote the offending value: clip them, so a 1 MB value cannot
                // blow the answer's headers (grpc-message, details) past HTTP/2 limits.
                details.set_bad_request(
                    violations
                        .iter()
                        .take(MAX_VIOLATIONS)
                        .map(|v| {
                            FieldViolation::new(
                                clip(&v.field, MAX_FIELD_CHARS),
                                clip(&v.description, MAX_DESCRIPTION_CHARS),
                            )
                        })
                        .collect::<Vec<_>>(),
                );
                (
                    Code::InvalidArgument,
                    clip(
                        &format!("invalid request: {}", describe(violations)),
                        MAX_MESSAGE_CHARS,
                    ),
                )
            }
            GatewayError::Unauthenticated(message) => {
                info(&mut details, "UNAUTHENTICATED", []);
                (Code::Unauthenticated, message.clone())
            }
            GatewayError::PermissionDenied { reason, message } => {
                info(&mut details, reason, []);
                (Code::PermissionDenied, message.clone())
            }
            GatewayError::NotFound {
                resource_type,
                name,
            } => {
                info(&mut details, "NOT_FOUND", [("resource", name.clone())]);
                details.set_resource_info(resource_type, name, "", "");
                (Code::NotFound, format!("{resource_type} {name} not found"))
            }
            GatewayError::Upstream {
                status,
                error,
                retry_after,
                context,
            } => return upstream_status(*status, error, *retry_after, context),
            GatewayError::NoZoneOwner { zone } => {
                info(&mut details, "NO_ZONE_OWNER", [("zone", zone.clone())]);
                details.set_retry_info(Some(Duration::from_secs(2)));
                (
                    Code::Unavailable,
                    format!("no worker owns zone {zone} right now; retry shortly"),
                )
            }
            GatewayError::WorkerUnavailable { zone, message } => {
                info(&mut details, "WORKER_UNAVAILABLE", [("zone", zone.clone())]);
                details.set_retry_info(Some(Duration::from_secs(1)));
                (
                    Code::Unavailable,
                    format!("the worker for zone {zone} is unavailable: {message}"),
                )
            }
            GatewayError::WorkerRefused(status) => {
                let code = match status.code() {
                    Code::InvalidArgument => Code::InvalidArgument,
                    Code::DeadlineExceeded => Code::DeadlineExceeded,
                    Code::Cancelled => Code::Cancelled,
                    Code::ResourceExhausted | Code::Unavailable => Code::Unavailable,
                    _ => Code::Internal,
                };
                info(&mut details, "WORKER_REFUSED", []);
                if code == Code::Unavailable {
                    details.set_retry_info(Some(Duration::from_secs(1)));
                }
                (
                    code,
                    format!("worker refused the call: {}", status.message()),
                )
            }
            GatewayError::Database(_) => {
                // The driver's message may name hosts; callers get a generic one.
                info(&mut details, "DATABASE_UNAVAILABLE", []);
                details.set_retry_info(Some(Duration::from_secs(1)));
                (
                    Code::Unavailable,
                    "the gateway's database is unavailable; retry shortly".to_owned(),
                )
            }
            GatewayError::RequestIdReused { request_id, method } => {
                info(
                    &mut details,
                    "REQUEST_ID_REUSED",
                    [
                        ("requestId", request_id.clone()),
                        ("method", method.clone()),
                    ],
                );
                details.set_bad_request(vec![FieldViolation::new(
                    "request_id",
                    "this request_id was already used for a different request; use a new UUID for a new request",
                )]);
                (
                    Code::InvalidArgument,
                    format!(
                        "request_id {request_id} was already used for a different request; use a new UUID"
                    ),
                )
            }
            GatewayError::RequestInProgress { request_id } => {
                info(
                    &mut details,
                    "REQUEST_IN_PROGRESS",
                    [("requestId", request_id.clone())],
                );
                details.set_retry_info(Some(Duration::from_secs(1)));
                (
                    Code::Aborted,
                    format!(
                        "a request with request_id {request_id} is still in progress; retry it shortly"
                    ),
                )
            }
            GatewayError::DeadlineExceeded(message) => {
                info(&mut details, "DEADLINE_EXCEEDED", []);
                (Code::DeadlineExceeded, message.clone())
            }
            GatewayError::ShuttingDown => {
                info(&mut details, "SHUTTING_DOWN", []);
                details.set_retry_info(Some(Duration::from_secs(1)));
                (
                    Code::Unavailable,
                    "gateway is shutting down; retry on another instance".to_owned(),
                )
            }
            GatewayError::Internal(message) => {
                info(&mut details, "INTERNAL", []);
                (Code::Internal, format!("internal error: {message}"))
            }
            GatewayError::JobFailed(f) => {
                return job_failure_status(&f.kind, &f.message, &f.resource, &f.state, &f.target);
            }
            GatewayError::Cancelled => {
                info(&mut details, "CANCELLED", []);
                (
                    Code::Cancelled,
                    "operation cancelled at the caller's request".to_owned(),
                )
            }
        };
        Status::with_error_details(code, message, details)
    }

    /// The status as the `google.rpc.Status` message carried by `Operation.error`.
    pub fn to_rpc_status(&self) -> tonic_types::pb::Status {
        rpc_status(&self.to_status())
    }
}

impl From<GatewayError> for Status {
    fn from(err: GatewayError) -> Status {
        err.to_status()
    }
}

impl From<sqlx::Error> for GatewayError {
    fn from(err: sqlx::Error) -> Self {
        GatewayError::Database(err.to_string())
    }
}

impl From<fleet_scheduler::SchedulerError> for GatewayError {
    fn from(err: fleet_scheduler::SchedulerError) -> Self {
        use fleet_scheduler::SchedulerError as E;
        match err {
            E::NotFound(id) => GatewayError::NotFound {
                resource_type: "operation".into(),
                name: format!("operations/{id}"),
            },
            E::IdempotencyConflict { key, .. } => GatewayError::RequestIdReused {
                request_id: key,
                method: String::new(),
            },
            E::Invalid(message) => GatewayError::Internal(format!("job refused: {message}")),
            E::Db(err) => GatewayError::Database(err.to_string()),
            other => GatewayError::Internal(other.to_string()),
        }
    }
}

/// A tonic status as `google.rpc.Status` (code, message and the packed details).
pub fn rpc_status(status: &Status) -> tonic_types::pb::Status {
    match tonic_types::pb::Status::decode(status.details()) {
        Ok(decoded) if decoded.code == status.code() as i32 => decoded,
        _ => tonic_types::pb::Status {
            code: status.code() as i32,
            message: status.message().to_owned(),
            details: Vec::new(),
        },
    }
}

fn info<const N: usize>(details: &mut ErrorDetails, reason: &str, metadata: [(&str, String); N]) {
    let metadata: HashMap<String, String> = metadata
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    details.set_error_info(reason, DOMAIN, metadata);
}

/// The public collection of a Scaleway resource type (`instance_server` → `servers`).
fn collection(resource_type: &str) -> &str {
    match resource_type {
        "instance_server" => "servers",
        "instance_volume" => "volumes",
        "instance_snapshot" => "snapshots",
        "instance_image" => "images",
        "instance_ip" => "ips",
        "instance_security_group" => "security_groups",
        "instance_security_group_rule" => "security_group_rules",
        "instance_placement_group" => "placement_groups",
        "instance_private_nic" => "private_nics",
        other => other.strip_prefix("instance_").unwrap_or(other),
    }
}

/// The Scaleway error part of the table.
pub fn upstream_status(
    status: u16,
    error: &ApiError,
    retry_after: Option<Duration>,
    context: &UpstreamContext,
) -> Status {
    let zone = context.zone.clone();
    let mut details = ErrorDetails::new();
    let base = |reason: &str, extra: Vec<(&str, String)>, details: &mut ErrorDetails| {
        let mut metadata: HashMap<String, String> = HashMap::new();
        metadata.insert("zone".into(), zone.clone());
        metadata.insert("upstreamType".into(), error.error_type().to_owned());
        metadata.insert("upstreamStatus".into(), status.to_string());
        if !context.operation.is_empty() {
            metadata.insert("operation".into(), context.operation.clone());
        }
        for (k, v) in extra {
            if !v.is_empty() {
                metadata.insert(k.to_owned(), v);
            }
        }
        metadata.retain(|_, v| !v.is_empty());
        details.set_error_info(reason, DOMAIN, metadata);
    };
    let in_zone = if zone.is_empty() {
        String::new()
    } else {
        format!(" in zone {zone}")
    };
    let (code, message) = match error {
        ApiError::InvalidArguments(e) => {
            base("UPSTREAM_INVALID_ARGUMENT", vec![], &mut details);
            let violations: Vec<FieldViolation> = e
                .details
                .iter()
                .map(|d| {
                    let mut v = FieldViolation::new(
                        &d.argument_name,
                        if d.help_message.is_empty() {
                            d.reason.as_str().to_owned()
                        } else {
                            d.help_message.clone()
                        },
                    );
                    v.reason = d.reason.as_str().to_uppercase();
                    v
                })
                .collect();
            let fields = e
                .details
                .iter()
                .map(|d| format!("{} ({})", d.argument_name, d.help_message))
                .collect::<Vec<_>>()
                .join(", ");
            details.set_bad_request(violations);
            (
                Code::InvalidArgument,
                if fields.is_empty() {
                    format!("scaleway refused the arguments: {}", e.message)
                } else {
                    format!("scaleway refused the arguments: {fields}")
                },
            )
        }
        ApiError::InvalidRequest(e) if status == 403 => {
            let resource = e.resource.clone().unwrap_or_default();
            base(
                "QUOTA_EXCEEDED",
                vec![("resource", resource.clone())],
                &mut details,
            );
            details.set_quota_failure(vec![QuotaViolation::new(&resource, &e.message)]);
            (
                Code::ResourceExhausted,
                format!("quota exceeded for {resource}{in_zone}: {}", e.message),
            )
        }
        ApiError::InvalidRequest(e) if status >= 500 => {
            base(UPSTREAM_UNAVAILABLE, vec![], &mut details);
            details.set_retry_info(Some(retry_after.unwrap_or(Duration::from_secs(1))));
            (
                Code::Unavailable,
                format!("scaleway is unavailable{in_zone}: {}", e.message),
            )
        }
        ApiError::InvalidRequest(e) => {
            base("UPSTREAM_INVALID_ARGUMENT", vec![], &mut details);
            let violations: Vec<FieldViolation> = e
                .fields
                .iter()
                .flatten()
                .map(|(field, messages)| FieldViolation::new(field, messages.join("; ")))
                .collect();
            if !violations.is_empty() {
                details.set_bad_request(violations);
            }
            (
                Code::InvalidArgument,
                format!("scaleway refused the request: {}", e.message),
            )
        }
        ApiError::NotFound(e) => {
            let name = context.resource.clone().unwrap_or_else(|| {
                format!("zones/{zone}/{}/{}", collection(&e.resource), e.resource_id)
            });
            base(
                "RESOURCE_NOT_FOUND",
                vec![
                    ("resourceType", e.resource.clone()),
                    ("resourceId", e.resource_id.clone()),
                ],
                &mut details,
            );
            details.set_resource_info(&e.resource, &name, "", "not found upstream");
            (
                Code::NotFound,
                format!("{} {} not found{in_zone}", e.resource, e.resource_id),
            )
        }
        ApiError::UnknownResource(e) => {
            let name = context.resource.clone().unwrap_or_default();
            base("RESOURCE_NOT_FOUND", vec![], &mut details);
            details.set_resource_info("", &name, "", &e.message);
            (
                Code::NotFound,
                format!("{}{in_zone}", e.message.to_lowercase()),
            )
        }
        ApiError::ResourceExpired(e) => {
            let name = format!("zones/{zone}/{}/{}", collection(&e.resource), e.resource_id);
            base(
                "RESOURCE_EXPIRED",
                vec![
                    ("resourceType", e.resource.clone()),
                    ("resourceId", e.resource_id.clone()),
                ],
                &mut details,
            );
            details.set_resource_info(&e.resource, &name, "", "expired");
            (
                Code::NotFound,
                format!("{} {} has expired{in_zone}", e.resource, e.resource_id),
            )
        }
        ApiError::QuotasExceeded(e) => {
            let resources = e
                .details
                .iter()
                .map(|d| d.resource.clone())
                .collect::<Vec<_>>()
                .join(",");
            base(
                "QUOTA_EXCEEDED",
                vec![("resource", resources)],
                &mut details,
            );
            let violations: Vec<QuotaViolation> = e
                .details
                .iter()
                .map(|d| {
                    let mut v = QuotaViolation::new(
                        &d.resource,
                        format!("limit {}, usage {}", d.quota, d.current),
                    );
                    v.quota_metric = d.resource.clone();
                    v.quota_value = i64::try_from(d.quota).unwrap_or(i64::MAX);
                    v
                })
                .collect();
            let text = e
                .details
                .iter()
                .map(|d| format!("{} (limit {}, usage {})", d.resource, d.quota, d.current))
                .collect::<Vec<_>>()
                .join(", ");
            details.set_quota_failure(violations);
            (
                Code::ResourceExhausted,
                if text.is_empty() {
                    format!("quota exceeded{in_zone}")
                } else {
                    format!("quota exceeded{in_zone}: {text}")
                },
            )
        }
        ApiError::PreconditionFailed(e) => {
            let condition = e
                .precondition
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "precondition".to_owned());
            let what = e.help_message.clone().unwrap_or_else(|| e.message.clone());
            base(
                "FAILED_PRECONDITION",
                vec![("precondition", condition.clone())],
                &mut details,
            );
            details.set_precondition_failure(vec![PreconditionViolation::new(
                condition.to_uppercase(),
                context.resource.clone().unwrap_or_default(),
                &what,
            )]);
            (Code::FailedPrecondition, precondition_message(&what))
        }
        ApiError::TransientState(e) => {
            let name = context.resource.clone().unwrap_or_else(|| {
                format!("zones/{zone}/{}/{}", collection(&e.resource), e.resource_id)
            });
            base(
                "RESOURCE_BUSY",
                vec![
                    ("resourceId", e.resource_id.clone()),
                    ("currentState", e.current_state.clone()),
                ],
                &mut details,
            );
            details.set_precondition_failure(vec![PreconditionViolation::new(
                "STATE",
                &name,
                format!(
                    "must not be in a transient state; it is {}",
                    e.current_state
                ),
            )]);
            details.set_retry_info(Some(Duration::from_secs(5)));
            (
                Code::Aborted,
                format!(
                    "{} {} must leave its transient state first; it is {}",
                    e.resource, e.resource_id, e.current_state
                ),
            )
        }
        ApiError::Locked(e) => {
            let name = format!("zones/{zone}/{}/{}", collection(&e.resource), e.resource_id);
            base(
                "RESOURCE_LOCKED",
                vec![("resourceId", e.resource_id.clone())],
                &mut details,
            );
            details.set_precondition_failure(vec![PreconditionViolation::new(
                "LOCKED",
                &name,
                "must be unlocked by scaleway support; it is locked",
            )]);
            (
                Code::FailedPrecondition,
                format!(
                    "{} {} must be unlocked (contact scaleway support); it is locked",
                    e.resource, e.resource_id
                ),
            )
        }
        ApiError::Conflict(e) => {
            let text = e.message.trim_end_matches('.').to_lowercase();
            if text.contains("already exist") {
                base("ALREADY_EXISTS", vec![], &mut details);
                (Code::AlreadyExists, format!("already exists: {text}"))
            } else {
                base("CONFLICT", vec![], &mut details);
                (Code::Aborted, format!("conflict: {text}"))
            }
        }
        ApiError::PermissionsDenied(e) => {
            let what = e
                .details
                .iter()
                .map(|d| format!("{} on {}", d.action, d.resource))
                .collect::<Vec<_>>()
                .join(", ");
            base(
                "UPSTREAM_PERMISSION_DENIED",
                vec![("denied", what.clone())],
                &mut details,
            );
            (
                Code::PermissionDenied,
                if what.is_empty() {
                    format!("scaleway denied the permission{in_zone}")
                } else {
                    format!("scaleway denied the permission{in_zone}: {what}")
                },
            )
        }
        ApiError::DeniedAuthentication(_) => {
            // The refused credential is fleet's own Scaleway key, not the caller's token:
            // INTERNAL tells the caller it cannot fix this, and operators alert on it.
            base("UPSTREAM_AUTHENTICATION_DENIED", vec![], &mut details);
            (
                Code::Internal,
                "scaleway refused fleet's credentials; an operator must fix the worker's scaleway key".to_owned(),
            )
        }
        ApiError::OutOfStock(e) => {
            base(
                "OUT_OF_STOCK",
                vec![("resource", e.resource.clone())],
                &mut details,
            );
            details.set_quota_failure(vec![QuotaViolation::new(
                &e.resource,
                format!("{} is out of stock{in_zone}", e.resource),
            )]);
            (
                Code::ResourceExhausted,
                format!(
                    "{} is out of stock{in_zone}; try another zone or type",
                    e.resource
                ),
            )
        }
        ApiError::Other(_) => return status_only(status, error, retry_after, context),
    };
    Status::with_error_details(code, message, details)
}

/// An upstream answer whose `type` is unknown: the HTTP status decides.
fn status_only(
    status: u16,
    error: &ApiError,
    retry_after: Option<Duration>,
    context: &UpstreamContext,
) -> Status {
    let mut details = ErrorDetails::new();
    let mut metadata: HashMap<String, String> = HashMap::new();
    metadata.insert("zone".into(), context.zone.clone());
    metadata.insert("upstreamType".into(), error.error_type().to_owned());
    metadata.insert("upstreamStatus".into(), status.to_string());
    metadata.retain(|_, v| !v.is_empty());
    let text = if error.message().is_empty() {
        format!("http {status}")
    } else {
        error.message().to_lowercase()
    };
    let (code, reason, message) = match status {
        429 => {
            details.set_retry_info(Some(retry_after.unwrap_or(Duration::from_secs(1))));
            (
                Code::Unavailable,
                "UPSTREAM_RATE_LIMITED",
                format!(
                    "scaleway rate limit reached in zone {}; retry later",
                    context.zone
                ),
            )
        }
        s if s >= 500 => {
            details.set_retry_info(Some(retry_after.unwrap_or(Duration::from_secs(1))));
            (
                Code::Unavailable,
                UPSTREAM_UNAVAILABLE,
                format!(
                    "scaleway is unavailable in zone {} ({text}); retry later",
                    context.zone
                ),
            )
        }
        400 => (
            Code::InvalidArgument,
            "UPSTREAM_INVALID_ARGUMENT",
            format!("scaleway refused the request: {text}"),
        ),
        401 => (
            Code::Internal,
            "UPSTREAM_AUTHENTICATION_DENIED",
            "scaleway refused fleet's credentials; an operator must fix the worker's scaleway key"
                .to_owned(),
        ),
        403 => (
            Code::PermissionDenied,
            "UPSTREAM_PERMISSION_DENIED",
            format!("scaleway denied the request: {text}"),
        ),
        404 | 410 => (
            Code::NotFound,
            "RESOURCE_NOT_FOUND",
            format!("not found in zone {}: {text}", context.zone),
        ),
        409 => (Code::Aborted, "CONFLICT", format!("conflict: {text}")),
        412 => (
            Code::FailedPrecondition,
            "FAILED_PRECONDITION",
            precondition_message(&text),
        ),
        _ => (
            Code::Unknown,
            "UPSTREAM_ERROR",
            format!("scaleway answered http {status}: {text}"),
        ),
    };
    details.set_error_info(reason, DOMAIN, metadata);
    Status::with_error_details(code, message, details)
}

/// "server should be stopped" → "server must be stopped".
fn precondition_message(text: &str) -> String {
    text.replace(" should ", " must ").to_lowercase()
}

/// A failed job's record as a status.
fn job_failure_status(
    kind: &str,
    message: &str,
    resource: &Option<String>,
    state: &Option<String>,
    target: &Option<String>,
) -> Status {
    use fleet_jobs::failure_kind as k;
    let mut details = ErrorDetails::new();
    let mut metadata: HashMap<String, String> = HashMap::new();
    if let Some(resource) = resource {
        metadata.insert("resource".into(), resource.clone());
    }
    if let Some(state) = state {
        metadata.insert("currentState".into(), state.clone());
    }
    let code = match kind {
        k::UNREACHABLE_STATE => {
            let description = match (target, state) {
                (Some(target), Some(state)) => format!("must reach {target}; it is {state}"),
                (None, Some(state)) => format!("cannot continue; it is {state}"),
                _ => message.to_owned(),
            };
            details.set_precondition_failure(vec![PreconditionViolation::new(
                "STATE",
                resource.clone().unwrap_or_default(),
                description,
            )]);
            Code::FailedPrecondition
        }
        k::RESOURCE_GONE => {
            details.set_resource_info("", resource.clone().unwrap_or_default(), "", "disappeared");
            Code::NotFound
        }
        k::DEADLINE_EXCEEDED => Code::DeadlineExceeded,
        k::UNAVAILABLE => Code::Unavailable,
        k::INVALID_ARGUMENT => Code::InvalidArgument,
        k::CANCELLED => Code::Cancelled,
        _ => Code::Internal,
    };
    details.set_error_info(kind.to_uppercase(), DOMAIN, metadata);
    Status::with_error_details(code, message.to_lowercase(), details)
}

#[cfg(test)]
mod tests {
    use fleet_core::{
        AuthenticationMethod, AuthenticationReason, InvalidArgumentDetail, PermissionDeniedDetail,
        QuotaExceededDetail, Timestamp,
    };

    use super::*;

    #[test]
    fn huge_values_are_clipped_in_invalid_argument_answers() {
        let huge = "é".repeat(1024 * 1024);
        let status =
            GatewayError::invalid("name", format!("must be short; got {huge:?}")).to_status();
        assert!(status.message().len() <= MAX_MESSAGE_CHARS + 4);
        let details = status.get_error_details();
        let violations = &details.bad_request().unwrap().field_violations;
        assert_eq!(violations[0].field, "name");
        assert!(violations[0].description.len() <= MAX_DESCRIPTION_CHARS + 4);
        assert!(violations[0].description.ends_with('…'));
    }

    fn ctx() -> UpstreamContext {
        UpstreamContext {
            zone: "fr-par-1".into(),
            operation: "get_server".into(),
            resource: None,
        }
    }

    fn map(status: u16, error: ApiError) -> Status {
        upstream_status(status, &error, None, &ctx())
    }

    #[test]
    fn every_scaleway_error_type_is_mapped_as_documented() {
        let cases: Vec<(ApiError, u16, Code, &str)> = vec![
            (
                ApiError::invalid_arguments([InvalidArgumentDetail::required("commercial_type")]),
                400,
                Code::InvalidArgument,
                "UPSTREAM_INVALID_ARGUMENT",
            ),
            (
                ApiError::invalid_request("Validation Error"),
                400,
                Code::InvalidArgument,
                "UPSTREAM_INVALID_ARGUMENT",
            ),
            (
                ApiError::not_found("instance_server", "abc"),
                404,
                Code::NotFound,
                "RESOURCE_NOT_FOUND",
            ),
            (
                ApiError::unknown_resource("Volume 'abc' not found"),
                404,
                Code::NotFound,
                "RESOURCE_NOT_FOUND",
            ),
            (
                ApiError::resource_expired(
                    "instance_image",
                    "abc",
                    Timestamp::parse("2025-01-01T00:00:00Z").unwrap(),
                ),
                410,
                Code::NotFound,
                "RESOURCE_EXPIRED",
            ),
            (
                ApiError::quotas_exceeded([QuotaExceededDetail::new("instances_dev1_s", 10, 10)]),
                403,
                Code::ResourceExhausted,
                "QUOTA_EXCEEDED",
            ),
            (
                ApiError::precondition_failed("server should be stopped"),
                412,
                Code::FailedPrecondition,
                "FAILED_PRECONDITION",
            ),
            (
                ApiError::transient_state("instance_server", "abc", "starting"),
                409,
                Code::Aborted,
                "RESOURCE_BUSY",
            ),
            (
                ApiError::permissions_denied([PermissionDeniedDetail::new(
                    "instance_server",
                    "write",
                )]),
                403,
                Code::PermissionDenied,
                "UPSTREAM_PERMISSION_DENIED",
            ),
            (
                ApiError::denied_authentication(
                    AuthenticationMethod::ApiKey,
                    AuthenticationReason::NotFound,
                ),
                401,
                Code::Internal,
                "UPSTREAM_AUTHENTICATION_DENIED",
            ),
            (
                ApiError::out_of_stock("GPU-3070-S"),
                503,
                Code::ResourceExhausted,
                "OUT_OF_STOCK",
            ),
            (
                ApiError::locked("instance_server", "abc"),
                409,
                Code::FailedPrecondition,
                "RESOURCE_LOCKED",
            ),
            (
                ApiError::conflict("Group is in use. You cannot delete it."),
                409,
                Code::Aborted,
                "CONFLICT",
            ),
            (
                ApiError::conflict("resource already exists"),
                409,
                Code::AlreadyExists,
                "ALREADY_EXISTS",
            ),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for (error, status, code, reason) in cases {
            seen.insert(error.kind().type_str().unwrap_or("other"));
            let s = map(status, error.clone());
            assert_eq!(s.code(), code, "{error:?}: {}", s.message());
            let details = s.get_error_details();
            let info = details.error_info().expect("error info");
            assert_eq!(info.reason, reason, "{error:?}");
            assert_eq!(info.domain, DOMAIN);
            assert_eq!(
                info.metadata.get("zone").map(String::as_str),
                Some("fr-par-1")
            );
            assert_eq!(
                info.metadata.get("upstreamType").map(String::as_str),
                Some(error.error_type())
            );
            assert!(!s.message().is_empty());
            assert!(
                !s.message().ends_with('.'),
                "no final period: {}",
                s.message()
            );
        }
        for kind in fleet_core::ErrorKind::KNOWN {
            assert!(
                seen.contains(kind.type_str().unwrap()),
                "{kind:?} not covered"
            );
        }
    }

    #[test]
    fn details_say_what_to_fix() {
        let s = map(
            412,
            ApiError::precondition_failed("server should be stopped"),
        );
        assert_eq!(s.message(), "server must be stopped");
        assert!(s.get_error_details().precondition_failure().is_some());

        let s = map(
            409,
            ApiError::transient_state("instance_server", "abc", "starting"),
        );
        let d = s.get_error_details();
        let pf = d.precondition_failure().unwrap();
        assert!(
            pf.violations[0].description.contains("it is starting"),
            "{pf:?}"
        );
        assert!(d.retry_info().is_some());

        let s = map(404, ApiError::not_found("instance_server", "abc"));
        assert!(
            s.message().contains("fr-par-1") && s.message().contains("abc"),
            "{}",
            s.message()
        );
        let d = s.get_error_details();
        assert_eq!(
            d.resource_info().unwrap().resource_name,
            "zones/fr-par-1/servers/abc"
        );

        let s = map(
            403,
            ApiError::quotas_exceeded([QuotaExceededDetail::new("instances_dev1_s", 10, 12)]),
        );
        let q = s.get_error_details().quota_failure().unwrap().clone();
        assert_eq!(q.violations[0].subject, "instances_dev1_s");
        assert_eq!(q.violations[0].description, "limit 10, usage 12");
        assert!(s.message().contains("limit 10, usage 12"));

        let s = map(
            400,
            ApiError::invalid_arguments([InvalidArgumentDetail::required("image")]),
        );
        let br = s.get_error_details().bad_request().unwrap().clone();
        assert_eq!(br.field_violations[0].field, "image");
    }

    #[test]
    fn statuses_without_a_known_type() {
        let other = |status| {
            let body = serde_json::json!({"type": "too_many_requests", "message": "slow down"});
            let serde_json::Value::Object(body) = body else {
                unreachable!()
            };
            upstream_status(
                status,
                &ApiError::from_body(body),
                Some(Duration::from_secs(3)),
                &ctx(),
            )
        };
        let s = other(429);
        assert_eq!(s.code(), Code::Unavailable);
        assert_eq!(
            s.get_error_details().retry_info().unwrap().retry_delay,
            Some(Duration::from_secs(3))
        );
        assert_eq!(other(502).code(), Code::Unavailable);
        assert_eq!(other(500).code(), Code::Unavailable);
        assert_eq!(other(404).code(), Code::NotFound);
        assert_eq!(other(400).code(), Code::InvalidArgument);
        assert_eq!(other(401).code(), Code::Internal);
        assert_eq!(other(418).code(), Code::Unknown);
    }

    #[test]
    fn internal_errors() {
        let cases = [
            (
                GatewayError::NoZoneOwner {
                    zone: "fr-par-1".into(),
                },
                Code::Unavailable,
                true,
            ),
            (
                GatewayError::WorkerUnavailable {
                    zone: "fr-par-1".into(),
                    message: "refused".into(),
                },
                Code::Unavailable,
                true,
            ),
            (
                GatewayError::Database("connection refused to 10.0.0.1".into()),
                Code::Unavailable,
                true,
            ),
            (
                GatewayError::RequestInProgress {
                    request_id: "x".into(),
                },
                Code::Aborted,
                true,
            ),
            (GatewayError::ShuttingDown, Code::Unavailable, true),
            (
                GatewayError::Unauthenticated("missing bearer token".into()),
                Code::Unauthenticated,
                false,
            ),
            (
                GatewayError::denied("READ_ONLY_CALLER", "read only"),
                Code::PermissionDenied,
                false,
            ),
            (GatewayError::Internal("bug".into()), Code::Internal, false),
            (GatewayError::Cancelled, Code::Cancelled, false),
        ];
        for (err, code, retry) in cases {
            let s = err.to_status();
            assert_eq!(s.code(), code, "{err:?}");
            let d = s.get_error_details();
            assert!(d.error_info().is_some(), "{err:?}");
            assert_eq!(d.retry_info().is_some(), retry, "{err:?}");
            assert!(
                !s.message().contains("10.0.0.1"),
                "no internals leak: {}",
                s.message()
            );
        }
        let s = GatewayError::RequestIdReused {
            request_id: "r".into(),
            method: "m".into(),
        }
        .to_status();
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(
            s.get_error_details()
                .bad_request()
                .unwrap()
                .field_violations[0]
                .field,
            "request_id"
        );
    }

    #[test]
    fn rpc_status_keeps_details() {
        let status = GatewayError::NoZoneOwner {
            zone: "fr-par-2".into(),
        }
        .to_rpc_status();
        assert_eq!(status.code, Code::Unavailable as i32);
        assert!(!status.details.is_empty());
    }
}
