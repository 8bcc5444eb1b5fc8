//! The kinds of error body: their `type` strings and HTTP statuses.

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
