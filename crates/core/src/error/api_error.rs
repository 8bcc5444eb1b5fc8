//! [`ApiError`]: one variant per error kind over its body, built from one
//! table so that the kind, the message and the body codec of a variant
//! cannot drift apart.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::body::*;
use super::kind::ErrorKind;
use crate::time::Timestamp;

/// Declares [`ApiError`] and its per-variant accessors from one list of
/// `Variant(Body) = Kind`.
macro_rules! api_errors {
    ($( $(#[$attr:meta])* $variant:ident($body:ident) = $kind:ident, )*) => {
        /// An error answered by the Instance API (or by an emulator of it).
        #[derive(Debug, Clone, PartialEq, thiserror::Error)]
        pub enum ApiError {
            $( $(#[$attr])* #[error(transparent)] $variant($body), )*
            /// anything else, kept whole
            #[error(transparent)]
            Other(UnknownError),
        }

        impl ApiError {
            /// The kind, i.e. the `type` without fields.
            pub const fn kind(&self) -> ErrorKind {
                match self {
                    $( ApiError::$variant(_) => ErrorKind::$kind, )*
                    ApiError::Other(_) => ErrorKind::Other,
                }
            }

            /// The `message` field.
            pub fn message(&self) -> &str {
                match self {
                    $( ApiError::$variant(e) => &e.message, )*
                    ApiError::Other(e) => e.message().unwrap_or(""),
                }
            }

            /// The body's fields but `type`; `None` for a body kept whole.
            fn fields(&self) -> Option<Result<Value, serde_json::Error>> {
                match self {
                    $( ApiError::$variant(e) => Some(serde_json::to_value(e)), )*
                    ApiError::Other(_) => None,
                }
            }

            /// Reads the fields of a body of `kind`; `None` for
            /// [`ErrorKind::Other`].
            fn from_fields(kind: ErrorKind, fields: Value) -> Option<Result<Self, serde_json::Error>> {
                match kind {
                    $( ErrorKind::$kind => Some(serde_json::from_value(fields).map(ApiError::$variant)), )*
                    ErrorKind::Other => None,
                }
            }
        }
    };
}

api_errors! {
    /// `invalid_arguments`
    InvalidArguments(InvalidArgumentsError) = InvalidArguments,
    /// `not_found`
    NotFound(NotFoundError) = NotFound,
    /// `quotas_exceeded`
    QuotasExceeded(QuotasExceededError) = QuotasExceeded,
    /// `precondition_failed`
    PreconditionFailed(PreconditionFailedError) = PreconditionFailed,
    /// `transient_state`
    TransientState(TransientStateError) = TransientState,
    /// `permissions_denied`
    PermissionsDenied(PermissionsDeniedError) = PermissionsDenied,
    /// `denied_authentication`
    DeniedAuthentication(DeniedAuthenticationError) = DeniedAuthentication,
    /// `resource_expired`
    ResourceExpired(ResourceExpiredError) = ResourceExpired,
    /// `out_of_stock`
    OutOfStock(OutOfStockError) = OutOfStock,
    /// `locked`
    Locked(LockedError) = Locked,
    /// legacy `conflict`
    Conflict(ConflictError) = Conflict,
    /// legacy `unknown_resource`
    UnknownResource(UnknownResourceError) = UnknownResource,
    /// legacy `invalid_request_error`
    InvalidRequest(InvalidRequestError) = InvalidRequestError,
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

    /// The body as a JSON object, `type` first.
    pub fn to_body(&self) -> Result<Map<String, Value>, serde_json::Error> {
        if let ApiError::Other(e) = self {
            return Ok(e.body.clone());
        }
        let mut body = Map::new();
        body.insert("type".to_owned(), Value::from(self.error_type()));
        if let Some(Value::Object(fields)) = self.fields().transpose()? {
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
        match ApiError::from_fields(kind, Value::Object(fields)) {
            Some(Ok(typed)) => typed,
            Some(Err(_)) | None => ApiError::Other(UnknownError { body }),
        }
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
