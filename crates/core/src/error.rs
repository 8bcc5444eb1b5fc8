//! The API's error body (`{"type": …, "message": …, …}`) as a typed error.
//!
//! The SDKs dispatch on `type`, never on the HTTP status, so [`ApiError`] is
//! an enum over `type` with one struct per kind holding the kind's extra
//! fields. Unknown keys of each body are kept in `extra`; an unknown `type`
//! (or a body whose fields do not fit its kind) is kept whole in
//! [`ApiError::Other`], so any error body round-trips.
//!
//! Statuses follow reference section 3. Two are not documented anywhere:
//! `locked` is given 409 Conflict, because the request conflicts with the
//! state of the resource just like `transient_state`; `out_of_stock` is
//! given 503 Service Unavailable, because it is a temporary capacity
//! shortage (the legacy API answered 503 to "No free IP address").

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::enums::api_enum;
use crate::time::Timestamp;

api_enum! {
    /// `reason` of an `invalid_arguments` detail.
    InvalidArgumentReason default Unknown {
        Unknown = "unknown",
        Required = "required",
        Format = "format",
        Constraint = "constraint",
    }
}

api_enum! {
    /// `precondition` of a `precondition_failed` error.
    PreconditionFailedKind default UnknownPrecondition {
        UnknownPrecondition = "unknown_precondition",
        ResourceStillInUse = "resource_still_in_use",
        AttributeMustBeSet = "attribute_must_be_set",
    }
}

api_enum! {
    /// `method` of a `denied_authentication` error.
    AuthenticationMethod default UnknownMethod {
        UnknownMethod = "unknown_method",
        Jwt = "jwt",
        ApiKey = "api_key",
    }
}

api_enum! {
    /// `reason` of a `denied_authentication` error.
    AuthenticationReason default UnknownReason {
        UnknownReason = "unknown_reason",
        InvalidArgument = "invalid_argument",
        NotFound = "not_found",
        Expired = "expired",
    }
}

/// The `type` of an error body, without its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `invalid_arguments`, 400.
    InvalidArguments,
    /// `not_found`, 404.
    NotFound,
    /// `quotas_exceeded`, 403.
    QuotasExceeded,
    /// `precondition_failed`, 412.
    PreconditionFailed,
    /// `transient_state`, 409.
    TransientState,
    /// `permissions_denied`, 403.
    PermissionsDenied,
    /// `denied_authentication`, 401.
    DeniedAuthentication,
    /// `resource_expired`, 410.
    ResourceExpired,
    /// `out_of_stock`, 503 (undocumented; see the module doc).
    OutOfStock,
    /// `locked`, 409 (undocumented; see the module doc).
    Locked,
    /// Legacy `conflict`, 409.
    Conflict,
    /// Legacy `unknown_resource`, 404.
    UnknownResource,
    /// Legacy `invalid_request_error`, 400 (the legacy API also used it
    /// with 403 for quotas and 503 for exhausted IPs).
    InvalidRequestError,
    /// Any other `type`; 500 is only a fallback for callers that need one.
    Other,
}

impl ErrorKind {
    /// Every kind with a fixed `type` string.
    pub const KNOWN: [ErrorKind; 13] = [
        ErrorKind::InvalidArguments,
        ErrorKind::NotFound,
        ErrorKind::QuotasExceeded,
        ErrorKind::PreconditionFailed,
        ErrorKind::TransientState,
        ErrorKind::PermissionsDenied,
        ErrorKind::DeniedAuthentication,
        ErrorKind::ResourceExpired,
        ErrorKind::OutOfStock,
        ErrorKind::Locked,
        ErrorKind::Conflict,
        ErrorKind::UnknownResource,
        ErrorKind::InvalidRequestError,
    ];

    /// The `type` string; `None` for [`ErrorKind::Other`].
    pub const fn type_str(self) -> Option<&'static str> {
        Some(match self {
            ErrorKind::InvalidArguments => "invalid_arguments",
            ErrorKind::NotFound => "not_found",
            ErrorKind::QuotasExceeded => "quotas_exceeded",
            ErrorKind::PreconditionFailed => "precondition_failed",
            ErrorKind::TransientState => "transient_state",
            ErrorKind::PermissionsDenied => "permissions_denied",
            ErrorKind::DeniedAuthentication => "denied_authentication",
            ErrorKind::ResourceExpired => "resource_expired",
            ErrorKind::OutOfStock => "out_of_stock",
            ErrorKind::Locked => "locked",
            ErrorKind::Conflict => "conflict",
            ErrorKind::UnknownResource => "unknown_resource",
            ErrorKind::InvalidRequestError => "invalid_request_error",
            ErrorKind::Other => return None,
        })
    }

    /// The HTTP status the API answers with for this kind.
    pub const fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidArguments | ErrorKind::InvalidRequestError => 400,
            ErrorKind::DeniedAuthentication => 401,
            ErrorKind::QuotasExceeded | ErrorKind::PermissionsDenied => 403,
            ErrorKind::NotFound | ErrorKind::UnknownResource => 404,
            ErrorKind::TransientState | ErrorKind::Conflict | ErrorKind::Locked => 409,
            ErrorKind::ResourceExpired => 410,
            ErrorKind::PreconditionFailed => 412,
            ErrorKind::Other => 500,
            ErrorKind::OutOfStock => 503,
        }
    }

    /// Maps a `type` string to its kind.
    pub fn from_type(type_str: &str) -> ErrorKind {
        ErrorKind::KNOWN
            .into_iter()
            .find(|k| k.type_str() == Some(type_str))
            .unwrap_or(ErrorKind::Other)
    }
}

/// One argument rejected by an `invalid_arguments` error.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct InvalidArgumentDetail {
    /// Name of the argument, e.g. `commercial_type`.
    pub argument_name: String,
    /// Why it was rejected.
    pub reason: InvalidArgumentReason,
    /// Human-readable hint, e.g. `required key not provided`.
    pub help_message: String,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl InvalidArgumentDetail {
    /// A detail with the given fields.
    pub fn new(
        argument_name: impl Into<String>,
        reason: InvalidArgumentReason,
        help_message: impl Into<String>,
    ) -> Self {
        InvalidArgumentDetail {
            argument_name: argument_name.into(),
            reason,
            help_message: help_message.into(),
            extra: Map::new(),
        }
    }

    /// A missing argument, worded as the API words it.
    pub fn required(argument_name: impl Into<String>) -> Self {
        Self::new(
            argument_name,
            InvalidArgumentReason::Required,
            "required key not provided",
        )
    }

    /// A present argument whose value is refused.
    pub fn constraint(argument_name: impl Into<String>, help_message: impl Into<String>) -> Self {
        Self::new(
            argument_name,
            InvalidArgumentReason::Constraint,
            help_message,
        )
    }

    /// An argument of the wrong syntax or JSON type (bad UUID, a string
    /// where a number is expected, …).
    pub fn format(argument_name: impl Into<String>, help_message: impl Into<String>) -> Self {
        Self::new(argument_name, InvalidArgumentReason::Format, help_message)
    }

    /// An argument the endpoint does not know, worded as the API words it.
    pub fn unknown(argument_name: impl Into<String>) -> Self {
        Self::new(
            argument_name,
            InvalidArgumentReason::Unknown,
            "extra keys not allowed",
        )
    }
}

/// `invalid_arguments` (400).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct InvalidArgumentsError {
    /// The API sends `invalid argument(s)`.
    pub message: String,
    /// The rejected arguments.
    pub details: Vec<InvalidArgumentDetail>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `not_found` (404).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NotFoundError {
    /// The API sends `resource is not found`.
    pub message: String,
    /// e.g. `instance_server`, `instance_ip`.
    pub resource: String,
    /// The id asked for (for an IP looked up by address: `51.15.242.82/32`).
    pub resource_id: String,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One quota hit by a `quotas_exceeded` error.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct QuotaExceededDetail {
    /// The limited resource, e.g. `instances_pro_count`.
    pub resource: String,
    /// The limit.
    pub quota: u64,
    /// The current usage.
    pub current: u64,
    /// Keys this crate does not model (the JS SDK reads `organization_id`
    /// and `project_id` here), written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl QuotaExceededDetail {
    /// A detail with the given fields.
    pub fn new(resource: impl Into<String>, quota: u64, current: u64) -> Self {
        QuotaExceededDetail {
            resource: resource.into(),
            quota,
            current,
            extra: Map::new(),
        }
    }
}

/// `quotas_exceeded` (403).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct QuotasExceededError {
    /// Human-readable message.
    pub message: String,
    /// The quotas hit.
    pub details: Vec<QuotaExceededDetail>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `precondition_failed` (412). The live API was seen sending only
/// `message` (`server should be stopped`), so the typed fields are optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PreconditionFailedError {
    /// What is wrong, e.g. `server should be stopped`.
    pub message: String,
    /// Which precondition failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precondition: Option<PreconditionFailedKind>,
    /// Human-readable hint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help_message: Option<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `transient_state` (409): the resource is busy in a transient state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TransientStateError {
    /// Human-readable message.
    pub message: String,
    /// e.g. `instance_server`.
    pub resource: String,
    /// The busy resource.
    pub resource_id: String,
    /// Its current state, e.g. `starting`.
    pub current_state: String,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One refused permission of a `permissions_denied` error.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PermissionDeniedDetail {
    /// The resource acted upon.
    pub resource: String,
    /// The refused action, e.g. `read`, `write`.
    pub action: String,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl PermissionDeniedDetail {
    /// A detail with the given fields.
    pub fn new(resource: impl Into<String>, action: impl Into<String>) -> Self {
        PermissionDeniedDetail {
            resource: resource.into(),
            action: action.into(),
            extra: Map::new(),
        }
    }
}

/// `permissions_denied` (403).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PermissionsDeniedError {
    /// Human-readable message.
    pub message: String,
    /// The refused permissions.
    pub details: Vec<PermissionDeniedDetail>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `denied_authentication` (401).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeniedAuthenticationError {
    /// Human-readable message.
    pub message: String,
    /// How the caller tried to authenticate.
    pub method: AuthenticationMethod,
    /// Why it was refused.
    pub reason: AuthenticationReason,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `resource_expired` (410).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceExpiredError {
    /// Human-readable message.
    pub message: String,
    /// The expired resource kind.
    pub resource: String,
    /// The expired resource.
    pub resource_id: String,
    /// When it expired.
    pub expired_since: Option<Timestamp>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `out_of_stock` (503, undocumented; see the module doc).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OutOfStockError {
    /// Human-readable message.
    pub message: String,
    /// What ran out, e.g. a commercial type.
    pub resource: String,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `locked` (409, undocumented; see the module doc).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LockedError {
    /// Human-readable message.
    pub message: String,
    /// The locked resource kind.
    pub resource: String,
    /// The locked resource.
    pub resource_id: String,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Legacy Instance `conflict` (409), e.g. `Group is in use. You cannot
/// delete it.`
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConflictError {
    /// Human-readable message.
    pub message: String,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Legacy Instance `unknown_resource` (404); the SDK extracts the quoted
/// id from `message` (`"<uuid>" not found`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UnknownResourceError {
    /// e.g. `Volume '<uuid>' not found`.
    pub message: String,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Legacy Instance `invalid_request_error` (400 with `fields`, or 403 with
/// `resource` for quotas).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct InvalidRequestError {
    /// e.g. `Validation Error`, `Quota exceeded for this resource.`.
    pub message: String,
    /// Per-field messages, e.g. `{"volumes.5.id": ["…"]}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, Vec<String>>>,
    /// The resource concerned, in the quota form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An error body of an unknown `type` (or one whose fields do not fit its
/// kind), kept whole, `type` included.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UnknownError {
    /// The complete body.
    pub body: Map<String, Value>,
}

impl UnknownError {
    /// The `type` field, if it is a string.
    pub fn error_type(&self) -> Option<&str> {
        self.body.get("type").and_then(Value::as_str)
    }

    /// The `message` field, if it is a string.
    pub fn message(&self) -> Option<&str> {
        self.body.get("message").and_then(Value::as_str)
    }
}

/// An error answered by the Instance API (or by an emulator of it).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// `invalid_arguments`
    #[error(transparent)]
    InvalidArguments(InvalidArgumentsError),
    /// `not_found`
    #[error(transparent)]
    NotFound(NotFoundError),
    /// `quotas_exceeded`
    #[error(transparent)]
    QuotasExceeded(QuotasExceededError),
    /// `precondition_failed`
    #[error(transparent)]
    PreconditionFailed(PreconditionFailedError),
    /// `transient_state`
    #[error(transparent)]
    TransientState(TransientStateError),
    /// `permissions_denied`
    #[error(transparent)]
    PermissionsDenied(PermissionsDeniedError),
    /// `denied_authentication`
    #[error(transparent)]
    DeniedAuthentication(DeniedAuthenticationError),
    /// `resource_expired`
    #[error(transparent)]
    ResourceExpired(ResourceExpiredError),
    /// `out_of_stock`
    #[error(transparent)]
    OutOfStock(OutOfStockError),
    /// `locked`
    #[error(transparent)]
    Locked(LockedError),
    /// legacy `conflict`
    #[error(transparent)]
    Conflict(ConflictError),
    /// legacy `unknown_resource`
    #[error(transparent)]
    UnknownResource(UnknownResourceError),
    /// legacy `invalid_request_error`
    #[error(transparent)]
    InvalidRequest(InvalidRequestError),
    /// anything else, kept whole
    #[error(transparent)]
    Other(UnknownError),
}

impl ApiError {
    /// `invalid_arguments` with the API's message.
    pub fn invalid_arguments(details: impl IntoIterator<Item = InvalidArgumentDetail>) -> Self {
        ApiError::InvalidArguments(InvalidArgumentsError {
            message: "invalid argument(s)".to_owned(),
            details: details.into_iter().collect(),
            extra: Map::new(),
        })
    }

    /// `not_found` for e.g. (`instance_server`, `<uuid>`).
    pub fn not_found(resource: impl Into<String>, resource_id: impl Into<String>) -> Self {
        ApiError::NotFound(NotFoundError {
            message: "resource is not found".to_owned(),
            resource: resource.into(),
            resource_id: resource_id.into(),
            extra: Map::new(),
        })
    }

    /// `quotas_exceeded`.
    pub fn quotas_exceeded(details: impl IntoIterator<Item = QuotaExceededDetail>) -> Self {
        ApiError::QuotasExceeded(QuotasExceededError {
            message: "quota(s) exceeded for this resource".to_owned(),
            details: details.into_iter().collect(),
            extra: Map::new(),
        })
    }

    /// `precondition_failed` in the form the live API sends: only a message,
    /// e.g. `server should be stopped`.
    pub fn precondition_failed(message: impl Into<String>) -> Self {
        ApiError::PreconditionFailed(PreconditionFailedError {
            message: message.into(),
            precondition: None,
            help_message: None,
            extra: Map::new(),
        })
    }

    /// `precondition_failed` with the SDK's typed fields.
    pub fn precondition_failed_with(
        precondition: PreconditionFailedKind,
        help_message: impl Into<String>,
    ) -> Self {
        ApiError::PreconditionFailed(PreconditionFailedError {
            message: "precondition is not respected".to_owned(),
            precondition: Some(precondition),
            help_message: Some(help_message.into()),
            extra: Map::new(),
        })
    }

    /// `transient_state` for a resource busy in `current_state`.
    pub fn transient_state(
        resource: impl Into<String>,
        resource_id: impl Into<String>,
        current_state: impl Into<String>,
    ) -> Self {
        ApiError::TransientState(TransientStateError {
            message: "resource is in a transient state".to_owned(),
            resource: resource.into(),
            resource_id: resource_id.into(),
            current_state: current_state.into(),
            extra: Map::new(),
        })
    }

    /// `permissions_denied`.
    pub fn permissions_denied(details: impl IntoIterator<Item = PermissionDeniedDetail>) -> Self {
        ApiError::PermissionsDenied(PermissionsDeniedError {
            message: "insufficient permissions".to_owned(),
            details: details.into_iter().collect(),
            extra: Map::new(),
        })
    }

    /// `denied_authentication`.
    pub fn denied_authentication(
        method: AuthenticationMethod,
        reason: AuthenticationReason,
    ) -> Self {
        ApiError::DeniedAuthentication(DeniedAuthenticationError {
            message: "authentication is denied".to_owned(),
            method,
            reason,
            extra: Map::new(),
        })
    }

    /// `resource_expired`.
    pub fn resource_expired(
        resource: impl Into<String>,
        resource_id: impl Into<String>,
        expired_since: Timestamp,
    ) -> Self {
        ApiError::ResourceExpired(ResourceExpiredError {
            message: "resource has expired".to_owned(),
            resource: resource.into(),
            resource_id: resource_id.into(),
            expired_since: Some(expired_since),
            extra: Map::new(),
        })
    }

    /// `out_of_stock`.
    pub fn out_of_stock(resource: impl Into<String>) -> Self {
        ApiError::OutOfStock(OutOfStockError {
            message: "resource is out of stock".to_owned(),
            resource: resource.into(),
            extra: Map::new(),
        })
    }

    /// `locked`.
    pub fn locked(resource: impl Into<String>, resource_id: impl Into<String>) -> Self {
        ApiError::Locked(LockedError {
            message: "resource is locked".to_owned(),
            resource: resource.into(),
            resource_id: resource_id.into(),
            extra: Map::new(),
        })
    }

    /// Legacy `conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::Conflict(ConflictError {
            message: message.into(),
            extra: Map::new(),
        })
    }

    /// Legacy `unknown_resource`.
    pub fn unknown_resource(message: impl Into<String>) -> Self {
        ApiError::UnknownResource(UnknownResourceError {
            message: message.into(),
            extra: Map::new(),
        })
    }

    /// Legacy `invalid_request_error`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        ApiError::InvalidRequest(InvalidRequestError {
            message: message.into(),
            fields: None,
            resource: None,
            extra: Map::new(),
        })
    }

    /// The kind, i.e. the `type` without fields.
    pub const fn kind(&self) -> ErrorKind {
        match self {
            ApiError::InvalidArguments(_) => ErrorKind::InvalidArguments,
            ApiError::NotFound(_) => ErrorKind::NotFound,
            ApiError::QuotasExceeded(_) => ErrorKind::QuotasExceeded,
            ApiError::PreconditionFailed(_) => ErrorKind::PreconditionFailed,
            ApiError::TransientState(_) => ErrorKind::TransientState,
            ApiError::PermissionsDenied(_) => ErrorKind::PermissionsDenied,
            ApiError::DeniedAuthentication(_) => ErrorKind::DeniedAuthentication,
            ApiError::ResourceExpired(_) => ErrorKind::ResourceExpired,
            ApiError::OutOfStock(_) => ErrorKind::OutOfStock,
            ApiError::Locked(_) => ErrorKind::Locked,
            ApiError::Conflict(_) => ErrorKind::Conflict,
            ApiError::UnknownResource(_) => ErrorKind::UnknownResource,
            ApiError::InvalidRequest(_) => ErrorKind::InvalidRequestError,
            ApiError::Other(_) => ErrorKind::Other,
        }
    }

    /// The `type` string as it goes on the wire.
    pub fn error_type(&self) -> &str {
        match self {
            ApiError::Other(other) => other.error_type().unwrap_or(""),
            known => known.kind().type_str().unwrap_or(""),
        }
    }

    /// The HTTP status for this error (see [`ErrorKind::status`]).
    pub const fn status(&self) -> u16 {
        self.kind().status()
    }

    /// The `message` field.
    pub fn message(&self) -> &str {
        match self {
            ApiError::InvalidArguments(e) => &e.message,
            ApiError::NotFound(e) => &e.message,
            ApiError::QuotasExceeded(e) => &e.message,
            ApiError::PreconditionFailed(e) => &e.message,
            ApiError::TransientState(e) => &e.message,
            ApiError::PermissionsDenied(e) => &e.message,
            ApiError::DeniedAuthentication(e) => &e.message,
            ApiError::ResourceExpired(e) => &e.message,
            ApiError::OutOfStock(e) => &e.message,
            ApiError::Locked(e) => &e.message,
            ApiError::Conflict(e) => &e.message,
            ApiError::UnknownResource(e) => &e.message,
            ApiError::InvalidRequest(e) => &e.message,
            ApiError::Other(e) => e.message().unwrap_or(""),
        }
    }

    /// The body as a JSON object, `type` first.
    pub fn to_body(&self) -> Result<Map<String, Value>, serde_json::Error> {
        let fields = match self {
            ApiError::InvalidArguments(e) => serde_json::to_value(e)?,
            ApiError::NotFound(e) => serde_json::to_value(e)?,
            ApiError::QuotasExceeded(e) => serde_json::to_value(e)?,
            ApiError::PreconditionFailed(e) => serde_json::to_value(e)?,
            ApiError::TransientState(e) => serde_json::to_value(e)?,
            ApiError::PermissionsDenied(e) => serde_json::to_value(e)?,
            ApiError::DeniedAuthentication(e) => serde_json::to_value(e)?,
            ApiError::ResourceExpired(e) => serde_json::to_value(e)?,
            ApiError::OutOfStock(e) => serde_json::to_value(e)?,
            ApiError::Locked(e) => serde_json::to_value(e)?,
            ApiError::Conflict(e) => serde_json::to_value(e)?,
            ApiError::UnknownResource(e) => serde_json::to_value(e)?,
            ApiError::InvalidRequest(e) => serde_json::to_value(e)?,
            ApiError::Other(e) => return Ok(e.body.clone()),
        };
        let mut body = Map::new();
        body.insert("type".to_owned(), Value::from(self.error_type()));
        if let Value::Object(fields) = fields {
            body.extend(fields);
        }
        Ok(body)
    }

    /// Reads an error body; never fails on a JSON object, since unknown
    /// shapes become [`ApiError::Other`].
    pub fn from_body(body: Map<String, Value>) -> Self {
        let kind = body
            .get("type")
            .and_then(Value::as_str)
            .map_or(ErrorKind::Other, ErrorKind::from_type);
        let mut fields = body.clone();
        fields.remove("type");
        let fields = Value::Object(fields);
        let typed = match kind {
            ErrorKind::InvalidArguments => {
                serde_json::from_value(fields).map(ApiError::InvalidArguments)
            }
            ErrorKind::NotFound => serde_json::from_value(fields).map(ApiError::NotFound),
            ErrorKind::QuotasExceeded => {
                serde_json::from_value(fields).map(ApiError::QuotasExceeded)
            }
            ErrorKind::PreconditionFailed => {
                serde_json::from_value(fields).map(ApiError::PreconditionFailed)
            }
            ErrorKind::TransientState => {
                serde_json::from_value(fields).map(ApiError::TransientState)
            }
            ErrorKind::PermissionsDenied => {
                serde_json::from_value(fields).map(ApiError::PermissionsDenied)
            }
            ErrorKind::DeniedAuthentication => {
                serde_json::from_value(fields).map(ApiError::DeniedAuthentication)
            }
            ErrorKind::ResourceExpired => {
                serde_json::from_value(fields).map(ApiError::ResourceExpired)
            }
            ErrorKind::OutOfStock => serde_json::from_value(fields).map(ApiError::OutOfStock),
            ErrorKind::Locked => serde_json::from_value(fields).map(ApiError::Locked),
            ErrorKind::Conflict => serde_json::from_value(fields).map(ApiError::Conflict),
            ErrorKind::UnknownResource => {
                serde_json::from_value(fields).map(ApiError::UnknownResource)
            }
            ErrorKind::InvalidRequestError => {
                serde_json::from_value(fields).map(ApiError::InvalidRequest)
            }
            ErrorKind::Other => return ApiError::Other(UnknownError { body }),
        };
        typed.unwrap_or(ApiError::Other(UnknownError { body }))
    }
}

impl Serialize for ApiError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_body()
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ApiError {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::<String, Value>::deserialize(deserializer).map(ApiError::from_body)
    }
}

/// Writes `resource "id"` or just the part that is known.
fn write_resource(f: &mut fmt::Formatter<'_>, resource: &str, resource_id: &str) -> fmt::Result {
    match (resource.is_empty(), resource_id.is_empty()) {
        (false, false) => write!(f, "{resource} {resource_id:?}"),
        (false, true) => f.write_str(resource),
        (true, false) => write!(f, "{resource_id:?}"),
        (true, true) => f.write_str("resource"),
    }
}

impl fmt::Display for InvalidArgumentsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid arguments")?;
        for (i, d) in self.details.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { ", " })?;
            write!(f, "{} ({}", d.argument_name, d.reason)?;
            if !d.help_message.is_empty() {
                write!(f, ": {}", d.help_message)?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}
impl std::error::Error for InvalidArgumentsError {}

impl fmt::Display for NotFoundError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_resource(f, &self.resource, &self.resource_id)?;
        f.write_str(" not found")
    }
}
impl std::error::Error for NotFoundError {}

impl fmt::Display for QuotasExceededError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("quotas exceeded")?;
        for (i, d) in self.details.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { ", " })?;
            write!(
                f,
                "{} (current {}, quota {})",
                d.resource, d.current, d.quota
            )?;
        }
        Ok(())
    }
}
impl std::error::Error for QuotasExceededError {}

impl fmt::Display for PreconditionFailedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("precondition failed")?;
        if let Some(p) = &self.precondition {
            write!(f, " ({p})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(help) = self.help_message.as_deref().filter(|h| !h.is_empty()) {
            write!(f, " ({help})")?;
        }
        Ok(())
    }
}
impl std::error::Error for PreconditionFailedError {}

impl fmt::Display for TransientStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_resource(f, &self.resource, &self.resource_id)?;
        write!(f, " is in transient state {:?}", self.current_state)
    }
}
impl std::error::Error for TransientStateError {}

impl fmt::Display for PermissionsDeniedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("permissions denied")?;
        for (i, d) in self.details.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { ", " })?;
            write!(f, "{} on {}", d.action, d.resource)?;
        }
        Ok(())
    }
}
impl std::error::Error for PermissionsDeniedError {}

impl fmt::Display for DeniedAuthenticationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "authentication denied (method {}, reason {})",
            self.method, self.reason
        )
    }
}
impl std::error::Error for DeniedAuthenticationError {}

impl fmt::Display for ResourceExpiredError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_resource(f, &self.resource, &self.resource_id)?;
        f.write_str(" expired")?;
        if let Some(since) = &self.expired_since {
            write!(f, " since {since}")?;
        }
        Ok(())
    }
}
impl std::error::Error for ResourceExpiredError {}

impl fmt::Display for OutOfStockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.resource.is_empty() {
            f.write_str("out of stock")
        } else {
            write!(f, "{} is out of stock", self.resource)
        }
    }
}
impl std::error::Error for OutOfStockError {}

impl fmt::Display for LockedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_resource(f, &self.resource, &self.resource_id)?;
        f.write_str(" is locked")
    }
}
impl std::error::Error for LockedError {}

impl fmt::Display for ConflictError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conflict: {}", self.message)
    }
}
impl std::error::Error for ConflictError {}

impl fmt::Display for UnknownResourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown resource: {}", self.message)
    }
}
impl std::error::Error for UnknownResourceError {}

impl fmt::Display for InvalidRequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid request: {}", self.message)?;
        for (i, (field, messages)) in self.fields.iter().flatten().enumerate() {
            f.write_str(if i == 0 { " (" } else { ", " })?;
            write!(f, "{field}: {}", messages.join("; "))?;
        }
        if self.fields.as_ref().is_some_and(|m| !m.is_empty()) {
            f.write_str(")")?;
        }
        Ok(())
    }
}
impl std::error::Error for InvalidRequestError {}

impl fmt::Display for UnknownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "api error {:?}: {}",
            self.error_type().unwrap_or(""),
            self.message().unwrap_or("")
        )
    }
}
impl std::error::Error for UnknownError {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> ApiError {
        let err: ApiError = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(serde_json::to_value(&err).unwrap(), body, "round trip");
        err
    }

    #[test]
    fn invalid_arguments() {
        let err = parse(
            json!({"type": "invalid_arguments", "message": "invalid argument(s)", "details": [
            {"argument_name": "commercial_type", "reason": "required", "help_message": "required key not provided"},
            {"argument_name": "image", "reason": "required", "help_message": "required key not provided"}]}),
        );
        let ApiError::InvalidArguments(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.details[0].argument_name, "commercial_type");
        assert_eq!(e.details[1].reason, InvalidArgumentReason::Required);
        assert_eq!(err.status(), 400);
        assert_eq!(
            err.to_string(),
            "invalid arguments: commercial_type (required: required key not provided), image (required: required key not provided)"
        );
        let built = ApiError::invalid_arguments([
            InvalidArgumentDetail::required("commercial_type"),
            InvalidArgumentDetail::required("image"),
        ]);
        assert_eq!(built, err);
    }

    #[test]
    fn not_found() {
        let err = parse(
            json!({"type": "not_found", "message": "resource is not found", "resource": "instance_ip", "resource_id": "51.15.242.82/32"}),
        );
        let ApiError::NotFound(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.resource, "instance_ip");
        assert_eq!(e.resource_id, "51.15.242.82/32");
        assert_eq!(err.status(), 404);
        assert_eq!(err.to_string(), "instance_ip \"51.15.242.82/32\" not found");
        assert_eq!(ApiError::not_found("instance_ip", "51.15.242.82/32"), err);
    }

    #[test]
    fn quotas_exceeded() {
        let err = parse(
            json!({"type": "quotas_exceeded", "message": "quota(s) exceeded for this resource",
            "details": [{"resource": "instances_dev1_s", "quota": 10, "current": 10, "project_id": "p"}]}),
        );
        let ApiError::QuotasExceeded(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!((e.details[0].quota, e.details[0].current), (10, 10));
        assert_eq!(e.details[0].extra["project_id"], "p");
        assert_eq!(err.status(), 403);
        assert_eq!(
            err.to_string(),
            "quotas exceeded: instances_dev1_s (current 10, quota 10)"
        );
        assert_eq!(
            ApiError::quotas_exceeded([QuotaExceededDetail::new("x", 1, 1)]).kind(),
            ErrorKind::QuotasExceeded
        );
    }

    #[test]
    fn precondition_failed() {
        let err =
            parse(json!({"message": "server should be stopped", "type": "precondition_failed"}));
        assert_eq!(err.kind(), ErrorKind::PreconditionFailed);
        assert_eq!(err.status(), 412);
        assert_eq!(
            err.to_string(),
            "precondition failed: server should be stopped"
        );
        assert_eq!(
            ApiError::precondition_failed("server should be stopped"),
            err
        );
        let full = parse(
            json!({"type": "precondition_failed", "message": "precondition is not respected",
            "precondition": "resource_still_in_use", "help_message": "detach the volume first"}),
        );
        let ApiError::PreconditionFailed(e) = &full else {
            panic!("{full:?}")
        };
        assert_eq!(
            e.precondition,
            Some(PreconditionFailedKind::ResourceStillInUse)
        );
        assert_eq!(
            ApiError::precondition_failed_with(
                PreconditionFailedKind::ResourceStillInUse,
                "detach the volume first"
            ),
            full
        );
    }

    #[test]
    fn transient_state() {
        let err = parse(
            json!({"type": "transient_state", "message": "resource is in a transient state",
            "resource": "instance_server", "resource_id": "abc", "current_state": "starting"}),
        );
        let ApiError::TransientState(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.current_state, "starting");
        assert_eq!(err.status(), 409);
        assert_eq!(
            err.to_string(),
            "instance_server \"abc\" is in transient state \"starting\""
        );
        assert_eq!(
            ApiError::transient_state("instance_server", "abc", "starting"),
            err
        );
    }

    #[test]
    fn permissions_denied() {
        let err = parse(
            json!({"type": "permissions_denied", "message": "insufficient permissions",
            "details": [{"resource": "instance_server", "action": "write"}]}),
        );
        let ApiError::PermissionsDenied(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.details[0].action, "write");
        assert_eq!(err.status(), 403);
        assert_eq!(
            err.to_string(),
            "permissions denied: write on instance_server"
        );
        assert_eq!(
            ApiError::permissions_denied([PermissionDeniedDetail::new("instance_server", "write")]),
            err
        );
    }

    #[test]
    fn denied_authentication() {
        let err = parse(
            json!({"type": "denied_authentication", "message": "authentication is denied",
            "method": "api_key", "reason": "not_found"}),
        );
        let ApiError::DeniedAuthentication(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.method, AuthenticationMethod::ApiKey);
        assert_eq!(e.reason, AuthenticationReason::NotFound);
        assert_eq!(err.status(), 401);
        assert_eq!(
            err.to_string(),
            "authentication denied (method api_key, reason not_found)"
        );
        assert_eq!(
            ApiError::denied_authentication(
                AuthenticationMethod::ApiKey,
                AuthenticationReason::NotFound
            ),
            err
        );
    }

    #[test]
    fn resource_expired() {
        let since = "2025-11-04T10:16:43.388760+00:00";
        let err = parse(
            json!({"type": "resource_expired", "message": "resource has expired",
            "resource": "instance_image", "resource_id": "abc", "expired_since": since}),
        );
        let ApiError::ResourceExpired(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.expired_since.as_ref().map(Timestamp::as_str), Some(since));
        assert_eq!(err.status(), 410);
        assert_eq!(
            err.to_string(),
            format!("instance_image \"abc\" expired since {since}")
        );
        assert_eq!(
            ApiError::resource_expired("instance_image", "abc", Timestamp::parse(since).unwrap()),
            err
        );
    }

    #[test]
    fn out_of_stock() {
        let err = parse(
            json!({"type": "out_of_stock", "message": "resource is out of stock", "resource": "GPU-3070-S"}),
        );
        assert_eq!(err.kind(), ErrorKind::OutOfStock);
        assert_eq!(err.status(), 503);
        assert_eq!(err.to_string(), "GPU-3070-S is out of stock");
        assert_eq!(ApiError::out_of_stock("GPU-3070-S"), err);
    }

    #[test]
    fn locked() {
        let err = parse(
            json!({"type": "locked", "message": "resource is locked", "resource": "instance_server", "resource_id": "abc"}),
        );
        assert_eq!(err.kind(), ErrorKind::Locked);
        assert_eq!(err.status(), 409);
        assert_eq!(err.to_string(), "instance_server \"abc\" is locked");
        assert_eq!(ApiError::locked("instance_server", "abc"), err);
    }

    #[test]
    fn legacy_kinds() {
        let conflict =
            parse(json!({"type": "conflict", "message": "Group is in use. You cannot delete it."}));
        assert_eq!(
            (conflict.kind(), conflict.status()),
            (ErrorKind::Conflict, 409)
        );
        assert_eq!(
            conflict.to_string(),
            "conflict: Group is in use. You cannot delete it."
        );
        assert_eq!(
            ApiError::conflict("Group is in use. You cannot delete it."),
            conflict
        );

        let unknown =
            parse(json!({"type": "unknown_resource", "message": "Volume 'abc' not found"}));
        assert_eq!(
            (unknown.kind(), unknown.status()),
            (ErrorKind::UnknownResource, 404)
        );
        assert_eq!(
            unknown.to_string(),
            "unknown resource: Volume 'abc' not found"
        );
        assert_eq!(
            ApiError::unknown_resource("Volume 'abc' not found"),
            unknown
        );

        let invalid = parse(
            json!({"type": "invalid_request_error", "message": "Validation Error",
            "fields": {"volumes.5.id": ["not a valid uuid"]}}),
        );
        let ApiError::InvalidRequest(e) = &invalid else {
            panic!("{invalid:?}")
        };
        assert_eq!(
            e.fields.as_ref().unwrap()["volumes.5.id"],
            ["not a valid uuid"]
        );
        assert_eq!(invalid.status(), 400);
        assert_eq!(
            invalid.to_string(),
            "invalid request: Validation Error (volumes.5.id: not a valid uuid)"
        );
        assert_eq!(
            ApiError::invalid_request("Validation Error").kind(),
            ErrorKind::InvalidRequestError
        );
    }

    #[test]
    fn unknown_types_are_kept_whole() {
        let body = json!({"message": "slow down", "type": "too_many_requests", "limit": {"quota": 100, "window_seconds": 1}});
        let err = parse(body);
        let ApiError::Other(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.error_type(), Some("too_many_requests"));
        assert_eq!(err.error_type(), "too_many_requests");
        assert_eq!(
            err.to_string(),
            "api error \"too_many_requests\": slow down"
        );
        // A known type with fields of the wrong shape is kept whole too.
        let odd = parse(json!({"type": "not_found", "message": "x", "resource": 7}));
        assert_eq!(odd.kind(), ErrorKind::Other);
    }

    #[test]
    fn detail_constructors_set_their_reason() {
        let f = InvalidArgumentDetail::format("volume_id", "not a valid UUID");
        assert_eq!(
            (f.argument_name.as_str(), &f.reason, f.help_message.as_str()),
            (
                "volume_id",
                &InvalidArgumentReason::Format,
                "not a valid UUID"
            )
        );
        let u = InvalidArgumentDetail::unknown("colour");
        assert_eq!(u.reason, InvalidArgumentReason::Unknown);
        assert_eq!(
            serde_json::to_value(&u).unwrap(),
            json!({"argument_name": "colour", "reason": "unknown", "help_message": "extra keys not allowed"})
        );
    }

    #[test]
    fn status_table() {
        let cases = [
            (ApiError::invalid_arguments([]), 400),
            (ApiError::invalid_request("x"), 400),
            (
                ApiError::denied_authentication(
                    AuthenticationMethod::ApiKey,
                    AuthenticationReason::NotFound,
                ),
                401,
            ),
            (ApiError::quotas_exceeded([]), 403),
            (ApiError::permissions_denied([]), 403),
            (ApiError::not_found("r", "i"), 404),
            (ApiError::unknown_resource("x"), 404),
            (ApiError::transient_state("r", "i", "s"), 409),
            (ApiError::conflict("x"), 409),
            (ApiError::locked("r", "i"), 409),
            (
                ApiError::resource_expired(
                    "r",
                    "i",
                    Timestamp::parse("2025-01-01T00:00:00Z").unwrap(),
                ),
                410,
            ),
            (ApiError::precondition_failed("x"), 412),
            (ApiError::out_of_stock("r"), 503),
            (ApiError::Other(UnknownError::default()), 500),
        ];
        for (err, status) in cases {
            assert_eq!(err.status(), status, "{err:?}");
            assert_eq!(err.kind().status(), status);
        }
    }

    #[test]
    fn every_kind_has_its_type_and_status() {
        for kind in ErrorKind::KNOWN {
            let type_str = kind.type_str().unwrap();
            assert_eq!(ErrorKind::from_type(type_str), kind);
            let err: ApiError =
                serde_json::from_value(json!({"type": type_str, "message": "m"})).unwrap();
            assert_eq!(err.kind(), kind, "{type_str}");
            assert_eq!(err.error_type(), type_str);
            assert!((400..600).contains(&err.status()));
        }
        assert_eq!(ErrorKind::from_type("nope"), ErrorKind::Other);
    }
}
