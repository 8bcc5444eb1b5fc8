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
use prost::Message as _;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, PreconditionViolation, StatusExt as _};

mod upstream;

pub use upstream::upstream_status;

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
    /// What the failed job undid (empty for synchronous calls).
    pub compensation: Compensation,
}

/// What a job that ended without its resource undid, and what it left (see
/// `fleet_jobs::Failure::compensation` and `left`); shown in the `ErrorInfo` metadata as
/// `compensation` (the steps, `; `-separated) and `left` (resource names, `,`-separated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compensation {
    pub notes: Vec<String>,
    pub left: Vec<String>,
}

impl Compensation {
    /// The compensation a job's failure record holds.
    pub fn of(failure: &fleet_jobs::Failure) -> Self {
        Self {
            notes: failure.compensation.clone(),
            left: failure.left.clone(),
        }
    }

    /// Adds the `compensation` and `left` entries (when there is something to say).
    pub(crate) fn add_to(&self, metadata: &mut HashMap<String, String>) {
        if !self.notes.is_empty() {
            metadata.insert(
                "compensation".into(),
                clip(&self.notes.join("; "), MAX_MESSAGE_CHARS),
            );
        }
        if !self.left.is_empty() {
            metadata.insert("left".into(), clip(&self.left.join(","), MAX_MESSAGE_CHARS));
        }
    }
}

/// What a failed job recorded (see `fleet_jobs::Failure`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFailure {
    pub kind: String,
    pub message: String,
    pub resource: Option<String>,
    pub state: Option<String>,
    pub target: Option<String>,
    pub compensation: Compensation,
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
    /// The operation was cancelled; what it undid first.
    #[error("operation cancelled")]
    Cancelled(Box<Compensation>),
    /// The resource is not in a state that allows the call (e.g. pausing a finished batch).
    #[error("{message}")]
    FailedPrecondition {
        reason: &'static str,
        message: String,
    },
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
            GatewayError::InvalidArgument(violations) => invalid_argument(&mut details, violations),
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
            GatewayError::WorkerRefused(status) => worker_refused(&mut details, status),
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
                request_id_reused(&mut details, request_id, method)
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
            GatewayError::JobFailed(f) => return job_failure_status(f),
            GatewayError::FailedPrecondition { reason, message } => {
                info(&mut details, reason, []);
                (Code::FailedPrecondition, message.clone())
            }
            GatewayError::Cancelled(compensation) => {
                let mut metadata = HashMap::new();
                compensation.add_to(&mut metadata);
                details.set_error_info("CANCELLED", DOMAIN, metadata);
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

fn invalid_argument(details: &mut ErrorDetails, violations: &[Violation]) -> (Code, String) {
    info(details, "INVALID_ARGUMENT", []);
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

/// A worker's own refusal keeps the codes a caller can act on; the rest is INTERNAL.
fn worker_refused(details: &mut ErrorDetails, status: &Status) -> (Code, String) {
    let code = match status.code() {
        Code::InvalidArgument => Code::InvalidArgument,
        Code::DeadlineExceeded => Code::DeadlineExceeded,
        Code::Cancelled => Code::Cancelled,
        Code::ResourceExhausted | Code::Unavailable => Code::Unavailable,
        _ => Code::Internal,
    };
    info(details, "WORKER_REFUSED", []);
    if code == Code::Unavailable {
        details.set_retry_info(Some(Duration::from_secs(1)));
    }
    (
        code,
        format!("worker refused the call: {}", status.message()),
    )
}

fn request_id_reused(details: &mut ErrorDetails, request_id: &str, method: &str) -> (Code, String) {
    info(
        details,
        "REQUEST_ID_REUSED",
        [
            ("requestId", request_id.to_owned()),
            ("method", method.to_owned()),
        ],
    );
    details.set_bad_request(vec![FieldViolation::new(
        "request_id",
        "this request_id was already used for a different request; use a new UUID for a new request",
    )]);
    (
        Code::InvalidArgument,
        format!("request_id {request_id} was already used for a different request; use a new UUID"),
    )
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

/// A failed job's record as a status.
fn job_failure_status(failure: &JobFailure) -> Status {
    use fleet_jobs::failure_kind as k;
    let JobFailure {
        kind,
        message,
        resource,
        state,
        target,
        compensation,
    } = failure;
    let mut details = ErrorDetails::new();
    let mut metadata: HashMap<String, String> = HashMap::new();
    compensation.add_to(&mut metadata);
    if let Some(resource) = resource {
        metadata.insert("resource".into(), resource.clone());
    }
    if let Some(state) = state {
        metadata.insert("currentState".into(), state.clone());
    }
    let code = match kind.as_str() {
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
mod tests;
