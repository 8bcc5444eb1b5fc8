//! The Scaleway half of the error table: an upstream answer (HTTP status and Scaleway error
//! body) → the status the caller gets, one function per Scaleway error type.

use std::collections::HashMap;
use std::time::Duration;

use fleet_core::{
    ApiError, ConflictError, DeniedAuthenticationError, InvalidArgumentsError, InvalidRequestError,
    LockedError, NotFoundError, OutOfStockError, PermissionsDeniedError, PreconditionFailedError,
    QuotasExceededError, ResourceExpiredError, TransientStateError, UnknownResourceError,
};
use fleet_proto::reasons::UPSTREAM_UNAVAILABLE;
use tonic::{Code, Status};
use tonic_types::{
    ErrorDetails, FieldViolation, PreconditionViolation, QuotaViolation, StatusExt as _,
};

use super::{DOMAIN, UpstreamContext};

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
    let mut a = Answer {
        status,
        error,
        context,
        details: ErrorDetails::new(),
    };
    let (code, message) = match error {
        ApiError::InvalidArguments(e) => invalid_arguments(&mut a, e),
        ApiError::InvalidRequest(e) => invalid_request(&mut a, e, retry_after),
        ApiError::NotFound(e) => not_found(&mut a, e),
        ApiError::UnknownResource(e) => unknown_resource(&mut a, e),
        ApiError::ResourceExpired(e) => resource_expired(&mut a, e),
        ApiError::QuotasExceeded(e) => quotas_exceeded(&mut a, e),
        ApiError::PreconditionFailed(e) => precondition_failed(&mut a, e),
        ApiError::TransientState(e) => transient_state(&mut a, e),
        ApiError::Locked(e) => locked(&mut a, e),
        ApiError::Conflict(e) => conflict(&mut a, e),
        ApiError::PermissionsDenied(e) => permissions_denied(&mut a, e),
        ApiError::DeniedAuthentication(e) => denied_authentication(&mut a, e),
        ApiError::OutOfStock(e) => out_of_stock(&mut a, e),
        ApiError::Other(_) => return status_only(status, error, retry_after, context),
    };
    Status::with_error_details(code, message, a.details)
}

/// What every upstream answer's status is built from: the `ErrorInfo` metadata (zone,
/// upstream type and status, operation) and the details the variant adds.
struct Answer<'a> {
    status: u16,
    error: &'a ApiError,
    context: &'a UpstreamContext,
    details: ErrorDetails,
}

impl Answer<'_> {
    /// Sets the `ErrorInfo`: `reason`, the common metadata and `extra` (empty values left out).
    fn info(&mut self, reason: &str, extra: Vec<(&str, String)>) {
        let mut metadata: HashMap<String, String> = HashMap::new();
        metadata.insert("zone".into(), self.context.zone.clone());
        metadata.insert("upstreamType".into(), self.error.error_type().to_owned());
        metadata.insert("upstreamStatus".into(), self.status.to_string());
        if !self.context.operation.is_empty() {
            metadata.insert("operation".into(), self.context.operation.clone());
        }
        for (k, v) in extra {
            metadata.insert(k.to_owned(), v);
        }
        self.context.compensation.add_to(&mut metadata);
        metadata.retain(|_, v| !v.is_empty());
        self.details.set_error_info(reason, DOMAIN, metadata);
    }

    /// ` in zone {zone}`, or nothing when the zone is unknown.
    fn in_zone(&self) -> String {
        if self.context.zone.is_empty() {
            String::new()
        } else {
            format!(" in zone {}", self.context.zone)
        }
    }
}

fn invalid_arguments(a: &mut Answer<'_>, e: &InvalidArgumentsError) -> (Code, String) {
    a.info("UPSTREAM_INVALID_ARGUMENT", vec![]);
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
    a.details.set_bad_request(violations);
    (
        Code::InvalidArgument,
        if fields.is_empty() {
            format!("scaleway refused the arguments: {}", e.message)
        } else {
            format!("scaleway refused the arguments: {fields}")
        },
    )
}

fn invalid_request(
    a: &mut Answer<'_>,
    e: &InvalidRequestError,
    retry_after: Option<Duration>,
) -> (Code, String) {
    let in_zone = a.in_zone();
    if a.status == 403 {
        let resource = e.resource.clone().unwrap_or_default();
        a.info("QUOTA_EXCEEDED", vec![("resource", resource.clone())]);
        a.details
            .set_quota_failure(vec![QuotaViolation::new(&resource, &e.message)]);
        (
            Code::ResourceExhausted,
            format!("quota exceeded for {resource}{in_zone}: {}", e.message),
        )
    } else if a.status >= 500 {
        a.info(UPSTREAM_UNAVAILABLE, vec![]);
        a.details
            .set_retry_info(Some(retry_after.unwrap_or(Duration::from_secs(1))));
        (
            Code::Unavailable,
            format!("scaleway is unavailable{in_zone}: {}", e.message),
        )
    } else {
        a.info("UPSTREAM_INVALID_ARGUMENT", vec![]);
        let violations: Vec<FieldViolation> = e
            .fields
            .iter()
            .flatten()
            .map(|(field, messages)| FieldViolation::new(field, messages.join("; ")))
            .collect();
        if !violations.is_empty() {
            a.details.set_bad_request(violations);
        }
        (
            Code::InvalidArgument,
            format!("scaleway refused the request: {}", e.message),
        )
    }
}

fn not_found(a: &mut Answer<'_>, e: &NotFoundError) -> (Code, String) {
    let in_zone = a.in_zone();
    let zone = a.context.zone.clone();
    let name =
        a.context.resource.clone().unwrap_or_else(|| {
            format!("zones/{zone}/{}/{}", collection(&e.resource), e.resource_id)
        });
    a.info(
        "RESOURCE_NOT_FOUND",
        vec![
            ("resourceType", e.resource.clone()),
            ("resourceId", e.resource_id.clone()),
        ],
    );
    a.details
        .set_resource_info(&e.resource, &name, "", "not found upstream");
    (
        Code::NotFound,
        format!("{} {} not found{in_zone}", e.resource, e.resource_id),
    )
}

fn unknown_resource(a: &mut Answer<'_>, e: &UnknownResourceError) -> (Code, String) {
    let in_zone = a.in_zone();
    let name = a.context.resource.clone().unwrap_or_default();
    a.info("RESOURCE_NOT_FOUND", vec![]);
    a.details.set_resource_info("", &name, "", &e.message);
    (
        Code::NotFound,
        format!("{}{in_zone}", e.message.to_lowercase()),
    )
}

fn resource_expired(a: &mut Answer<'_>, e: &ResourceExpiredError) -> (Code, String) {
    let in_zone = a.in_zone();
    let zone = a.context.zone.clone();
    let name = format!("zones/{zone}/{}/{}", collection(&e.resource), e.resource_id);
    a.info(
        "RESOURCE_EXPIRED",
        vec![
            ("resourceType", e.resource.clone()),
            ("resourceId", e.resource_id.clone()),
        ],
    );
    a.details
        .set_resource_info(&e.resource, &name, "", "expired");
    (
        Code::NotFound,
        format!("{} {} has expired{in_zone}", e.resource, e.resource_id),
    )
}

fn quotas_exceeded(a: &mut Answer<'_>, e: &QuotasExceededError) -> (Code, String) {
    let in_zone = a.in_zone();
    let resources = e
        .details
        .iter()
        .map(|d| d.resource.clone())
        .collect::<Vec<_>>()
        .join(",");
    a.info("QUOTA_EXCEEDED", vec![("resource", resources)]);
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
    a.details.set_quota_failure(violations);
    (
        Code::ResourceExhausted,
        if text.is_empty() {
            format!("quota exceeded{in_zone}")
        } else {
            format!("quota exceeded{in_zone}: {text}")
        },
    )
}

fn precondition_failed(a: &mut Answer<'_>, e: &PreconditionFailedError) -> (Code, String) {
    let condition = e
        .precondition
        .as_ref()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "precondition".to_owned());
    let what = e.help_message.clone().unwrap_or_else(|| e.message.clone());
    a.info(
        "FAILED_PRECONDITION",
        vec![("precondition", condition.clone())],
    );
    a.details
        .set_precondition_failure(vec![PreconditionViolation::new(
            condition.to_uppercase(),
            a.context.resource.clone().unwrap_or_default(),
            &what,
        )]);
    (Code::FailedPrecondition, precondition_message(&what))
}

fn transient_state(a: &mut Answer<'_>, e: &TransientStateError) -> (Code, String) {
    let zone = a.context.zone.clone();
    let name =
        a.context.resource.clone().unwrap_or_else(|| {
            format!("zones/{zone}/{}/{}", collection(&e.resource), e.resource_id)
        });
    a.info(
        "RESOURCE_BUSY",
        vec![
            ("resourceId", e.resource_id.clone()),
            ("currentState", e.current_state.clone()),
        ],
    );
    a.details
        .set_precondition_failure(vec![PreconditionViolation::new(
            "STATE",
            &name,
            format!(
                "must not be in a transient state; it is {}",
                e.current_state
            ),
        )]);
    a.details.set_retry_info(Some(Duration::from_secs(5)));
    (
        Code::Aborted,
        format!(
            "{} {} must leave its transient state first; it is {}",
            e.resource, e.resource_id, e.current_state
        ),
    )
}

fn locked(a: &mut Answer<'_>, e: &LockedError) -> (Code, String) {
    let zone = a.context.zone.clone();
    let name = format!("zones/{zone}/{}/{}", collection(&e.resource), e.resource_id);
    a.info(
        "RESOURCE_LOCKED",
        vec![("resourceId", e.resource_id.clone())],
    );
    a.details
        .set_precondition_failure(vec![PreconditionViolation::new(
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

fn conflict(a: &mut Answer<'_>, e: &ConflictError) -> (Code, String) {
    let text = e.message.trim_end_matches('.').to_lowercase();
    if text.contains("already exist") {
        a.info("ALREADY_EXISTS", vec![]);
        (Code::AlreadyExists, format!("already exists: {text}"))
    } else {
        a.info("CONFLICT", vec![]);
        (Code::Aborted, format!("conflict: {text}"))
    }
}

fn permissions_denied(a: &mut Answer<'_>, e: &PermissionsDeniedError) -> (Code, String) {
    let in_zone = a.in_zone();
    let what = e
        .details
        .iter()
        .map(|d| format!("{} on {}", d.action, d.resource))
        .collect::<Vec<_>>()
        .join(", ");
    a.info("UPSTREAM_PERMISSION_DENIED", vec![("denied", what.clone())]);
    (
        Code::PermissionDenied,
        if what.is_empty() {
            format!("scaleway denied the permission{in_zone}")
        } else {
            format!("scaleway denied the permission{in_zone}: {what}")
        },
    )
}

fn denied_authentication(a: &mut Answer<'_>, _error: &DeniedAuthenticationError) -> (Code, String) {
    // The refused credential is fleet's own Scaleway key, not the caller's token:
    // INTERNAL tells the caller it cannot fix this, and operators alert on it.
    a.info("UPSTREAM_AUTHENTICATION_DENIED", vec![]);
    (
        Code::Internal,
        "scaleway refused fleet's credentials; an operator must fix the worker's scaleway key"
            .to_owned(),
    )
}

fn out_of_stock(a: &mut Answer<'_>, e: &OutOfStockError) -> (Code, String) {
    let in_zone = a.in_zone();
    a.info("OUT_OF_STOCK", vec![("resource", e.resource.clone())]);
    a.details.set_quota_failure(vec![QuotaViolation::new(
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
    context.compensation.add_to(&mut metadata);
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
