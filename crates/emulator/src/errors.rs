//! API error bodies exactly as the real Instance API sends them.
//!
//! The SDKs dispatch on `type`, not on the status, so every variant renders
//! the `type`, a `message` and that type's extra fields (reference §3).

use serde_json::{Value, json};

/// One `details[]` entry of an `invalid_arguments` error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDetail {
    /// The offending argument, e.g. `commercial_type` or `volumes.0.size`.
    pub argument_name: String,
    /// `required`, `format`, `constraint` or `unknown`.
    pub reason: &'static str,
    /// Human-readable explanation.
    pub help_message: String,
}

impl ArgDetail {
    /// A missing required key, worded like the real API.
    pub fn required(name: &str) -> Self {
        Self {
            argument_name: name.to_owned(),
            reason: "required",
            help_message: "required key not provided".to_owned(),
        }
    }
    /// A value that parses but is not acceptable.
    pub fn constraint(name: &str, help: impl Into<String>) -> Self {
        Self {
            argument_name: name.to_owned(),
            reason: "constraint",
            help_message: help.into(),
        }
    }
    /// A value of the wrong syntax (bad UUID, bad JSON type…).
    pub fn format(name: &str, help: impl Into<String>) -> Self {
        Self {
            argument_name: name.to_owned(),
            reason: "format",
            help_message: help.into(),
        }
    }
    /// A key the endpoint does not know.
    pub fn unknown(name: &str) -> Self {
        Self {
            argument_name: name.to_owned(),
            reason: "unknown",
            help_message: "extra keys not allowed".to_owned(),
        }
    }
}

/// Every error the emulator answers with; each maps to one status and body.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// 400 `invalid_arguments`.
    #[error("invalid argument(s)")]
    InvalidArguments(Vec<ArgDetail>),
    /// 404 `not_found`; `resource` is e.g. `instance_server`.
    #[error("resource is not found")]
    NotFound {
        /// `instance_<kind>`.
        resource: &'static str,
        /// The id (or `address/32` for IPs) that was looked up.
        resource_id: String,
    },
    /// 412 `precondition_failed`.
    #[error("{message}")]
    PreconditionFailed {
        /// E.g. "server should be stopped".
        message: String,
        /// `unknown_precondition`, `resource_still_in_use`, `attribute_must_be_set`.
        precondition: &'static str,
    },
    /// 409 `transient_state`.
    #[error("resource is in a transient state")]
    TransientState {
        /// `instance_<kind>`.
        resource: &'static str,
        /// Its id.
        resource_id: String,
        /// Its current (transient) state.
        current_state: String,
    },
    /// 403 `permissions_denied`.
    #[error("insufficient permissions")]
    PermissionsDenied {
        /// e.g. `instance_server`.
        resource: &'static str,
        /// e.g. `write`.
        action: &'static str,
    },
    /// 403 `quotas_exceeded`.
    #[error("quota(s) exceeded for this resource")]
    QuotasExceeded {
        /// Quota name, e.g. `instances`.
        resource: &'static str,
        /// The limit.
        quota: u64,
        /// Current usage.
        current: u64,
    },
    /// 401 `denied_authentication`.
    #[error("authentication is denied")]
    DeniedAuthentication {
        /// `unknown_method` or `api_key`.
        method: &'static str,
        /// `invalid_argument`, `not_found`…
        reason: &'static str,
    },
    /// 429 `too_many_requests` (rate limit, real or injected).
    #[error("too many requests")]
    TooManyRequests {
        /// Requests allowed per window.
        quota: u64,
        /// Seconds until a request will be accepted again.
        reset_seconds: u64,
    },
    /// 5xx injected (or a genuine internal failure).
    #[error("internal error")]
    Internal {
        /// 500, 502 or 503.
        status: u16,
    },
    /// 404 on an unknown route.
    #[error("unknown route")]
    UnknownRoute,
    /// 405 on a known path with an unsupported method.
    #[error("method not allowed")]
    MethodNotAllowed,
}

impl ApiError {
    /// A single-detail `invalid_arguments`.
    pub fn invalid(detail: ArgDetail) -> Self {
        Self::InvalidArguments(vec![detail])
    }

    /// `not_found` for a resource kind and id.
    pub fn not_found(resource: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            resource,
            resource_id: id.into(),
        }
    }

    /// `precondition_failed` with the generic precondition.
    pub fn precondition(message: impl Into<String>) -> Self {
        Self::PreconditionFailed {
            message: message.into(),
            precondition: "unknown_precondition",
        }
    }

    /// HTTP status of this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidArguments(_) => 400,
            Self::NotFound { .. } | Self::UnknownRoute => 404,
            Self::PreconditionFailed { .. } => 412,
            Self::TransientState { .. } => 409,
            Self::PermissionsDenied { .. } | Self::QuotasExceeded { .. } => 403,
            Self::DeniedAuthentication { .. } => 401,
            Self::TooManyRequests { .. } => 429,
            Self::Internal { status } => *status,
            Self::MethodNotAllowed => 405,
        }
    }

    /// The JSON body, key order as recorded (`type` first).
    pub fn body(&self) -> Value {
        match self {
            Self::InvalidArguments(details) => json!({
                "type": "invalid_arguments",
                "message": "invalid argument(s)",
                "details": details.iter().map(|d| json!({
                    "argument_name": d.argument_name,
                    "reason": d.reason,
                    "help_message": d.help_message,
                })).collect::<Vec<_>>(),
            }),
            Self::NotFound {
                resource,
                resource_id,
            } => json!({
                "type": "not_found",
                "message": "resource is not found",
                "resource": resource,
                "resource_id": resource_id,
            }),
            Self::PreconditionFailed {
                message,
                precondition,
            } => json!({
                "type": "precondition_failed",
                "message": message,
                "precondition": precondition,
                "help_message": message,
            }),
            Self::TransientState {
                resource,
                resource_id,
                current_state,
            } => json!({
                "type": "transient_state",
                "message": format!("resource is in a transient state: {current_state}"),
                "resource": resource,
                "resource_id": resource_id,
                "current_state": current_state,
            }),
            Self::PermissionsDenied { resource, action } => json!({
                "type": "permissions_denied",
                "message": "insufficient permissions",
                "details": [{"resource": resource, "action": action}],
            }),
            Self::QuotasExceeded {
                resource,
                quota,
                current,
            } => json!({
                "type": "quotas_exceeded",
                "message": "quota(s) exceeded for this resource",
                "details": [{"resource": resource, "quota": quota, "current": current}],
            }),
            Self::DeniedAuthentication { method, reason } => json!({
                "type": "denied_authentication",
                "message": "authentication is denied",
                "method": method,
                "reason": reason,
            }),
            Self::TooManyRequests {
                quota,
                reset_seconds,
            } => json!({
                "type": "too_many_requests",
                "message": "too many requests",
                "help_message": "rate limit exceeded, retry later",
                "limit": {"quota": quota, "window_seconds": 1},
                "reset_seconds": reset_seconds,
            }),
            Self::Internal { .. } => json!({
                "type": "internal_error",
                "message": "internal error, please retry",
            }),
            Self::UnknownRoute => json!({
                "type": "not_found",
                "message": "unknown route",
            }),
            Self::MethodNotAllowed => json!({
                "type": "invalid_request_error",
                "message": "method not allowed",
            }),
        }
    }
}

/// Shorthand used by every handler.
pub type ApiResult<T> = Result<T, ApiError>;
