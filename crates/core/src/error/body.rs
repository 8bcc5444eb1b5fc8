//! The body of each error kind, the details they list and the enums of
//! their fields. Every body keeps the keys this crate does not model in
//! `extra`, written back unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::api_enum;
use crate::time::Timestamp;
use crate::wire::wire_structs;

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
wire_structs! {
    /// One argument rejected by an `invalid_arguments` error.
    body InvalidArgumentDetail {
        /// Name of the argument, e.g. `commercial_type`.
        argument_name: String,
        /// Why it was rejected.
        reason: InvalidArgumentReason,
        /// Human-readable hint, e.g. `required key not provided`.
        help_message: String,
    }

    /// `invalid_arguments` (400).
    body InvalidArgumentsError {
        /// The API sends `invalid argument(s)`.
        message: String,
        /// The rejected arguments.
        details: Vec<InvalidArgumentDetail>,
    }

    /// `not_found` (404).
    body NotFoundError {
        /// The API sends `resource is not found`.
        message: String,
        /// e.g. `instance_server`, `instance_ip`.
        resource: String,
        /// The id asked for (for an IP looked up by address: `51.15.242.82/32`).
        resource_id: String,
    }

    /// One quota hit by a `quotas_exceeded` error. The JS SDK also reads
    /// `organization_id` and `project_id` here; they stay in `extra`.
    body QuotaExceededDetail {
        /// The limited resource, e.g. `instances_pro_count`.
        resource: String,
        /// The limit.
        quota: u64,
        /// The current usage.
        current: u64,
    }

    /// `quotas_exceeded` (403).
    body QuotasExceededError {
        /// Human-readable message.
        message: String,
        /// The quotas hit.
        details: Vec<QuotaExceededDetail>,
    }

    /// `precondition_failed` (412). The live API was seen sending only
    /// `message` (`server should be stopped`), so the typed fields are optional.
    body PreconditionFailedError {
        /// What is wrong, e.g. `server should be stopped`.
        message: String,
        /// Which precondition failed.
        precondition?: PreconditionFailedKind,
        /// Human-readable hint.
        help_message?: String,
    }

    /// `transient_state` (409): the resource is busy in a transient state.
    body TransientStateError {
        /// Human-readable message.
        message: String,
        /// e.g. `instance_server`.
        resource: String,
        /// The busy resource.
        resource_id: String,
        /// Its current state, e.g. `starting`.
        current_state: String,
    }

    /// One refused permission of a `permissions_denied` error.
    body PermissionDeniedDetail {
        /// The resource acted upon.
        resource: String,
        /// The refused action, e.g. `read`, `write`.
        action: String,
    }

    /// `permissions_denied` (403).
    body PermissionsDeniedError {
        /// Human-readable message.
        message: String,
        /// The refused permissions.
        details: Vec<PermissionDeniedDetail>,
    }

    /// `denied_authentication` (401).
    body DeniedAuthenticationError {
        /// Human-readable message.
        message: String,
        /// How the caller tried to authenticate.
        method: AuthenticationMethod,
        /// Why it was refused.
        reason: AuthenticationReason,
    }

    /// `resource_expired` (410).
    body ResourceExpiredError {
        /// Human-readable message.
        message: String,
        /// The expired resource kind.
        resource: String,
        /// The expired resource.
        resource_id: String,
        /// When it expired.
        expired_since: Option<Timestamp>,
    }

    /// `out_of_stock` (503, undocumented; see the module doc).
    body OutOfStockError {
        /// Human-readable message.
        message: String,
        /// What ran out, e.g. a commercial type.
        resource: String,
    }

    /// `locked` (409, undocumented; see the module doc).
    body LockedError {
        /// Human-readable message.
        message: String,
        /// The locked resource kind.
        resource: String,
        /// The locked resource.
        resource_id: String,
    }

    /// Legacy Instance `conflict` (409), e.g. `Group is in use. You cannot
    /// delete it.`
    body ConflictError {
        /// Human-readable message.
        message: String,
    }

    /// Legacy Instance `unknown_resource` (404); the SDK extracts the quoted
    /// id from `message` (`"<uuid>" not found`).
    body UnknownResourceError {
        /// e.g. `Volume '<uuid>' not found`.
        message: String,
    }

    /// Legacy Instance `invalid_request_error` (400 with `fields`, or 403 with
    /// `resource` for quotas).
    body InvalidRequestError {
        /// e.g. `Validation Error`, `Quota exceeded for this resource.`.
        message: String,
        /// Per-field messages, e.g. `{"volumes.5.id": ["…"]}`.
        fields?: BTreeMap<String, Vec<String>>,
        /// The resource concerned, in the quota form.
        resource?: String,
    }
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
