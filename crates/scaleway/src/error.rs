//! The one error type of the client, and its retry classification.
//!
//! | variant | when | [`Error::retryable`] |
//! |---|---|---|
//! | [`Error::Api`] | non-2xx with a JSON error body (core's [`ApiError`]) | known `type`s never; other `type`s by status (429, 500, 502, 503, 504), see [`api_error_retryable`] |
//! | [`Error::Status`] | non-2xx without a JSON body (bare 429, `text/plain` 404 of a missing user-data key, a proxy's 502 page) | 429, 500, 502, 503, 504 |
//! | [`Error::Connect`] | the connection could not be opened (refused, DNS, TLS) | yes; the request never left |
//! | [`Error::Timeout`] | connect or request timeout (a hung server) | yes |
//! | [`Error::Reset`] | the connection broke after the request was sent (reset, closed mid-response) | yes |
//! | [`Error::Transport`] | any other `reqwest` failure while sending | no |
//! | [`Error::Decode`] | a 2xx body that is not the expected JSON | no |
//! | [`Error::Cancelled`] | the caller's cancellation token fired | no |
//! | [`Error::InvalidRequest`] | bad input caught before sending (e.g. a path segment that is not a valid id) | no |
//! | [`Error::Config`] | the configuration cannot build a client | no |
//! | [`Error::Wait`] | a waiter ended without reaching its target | see [`crate::waiter::WaitError`] |
//!
//! "Retryable" says whether the *failure kind* is transient. Whether a
//! given request is actually re-sent also depends on its method (see the
//! retry policy in the crate docs): 429 and connect errors are re-sent for
//! every request because the API did not process it; 5xx, timeouts and
//! resets only for idempotent requests.
//!
//! No variant carries the secret key, a request header or a full URL with
//! its query string: errors name the endpoint by its path template.

use std::time::Duration;

use fleet_core::error::{ApiError, ErrorKind};

use crate::waiter::WaitError;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Any failure of a call to the Instance or the Block API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API answered with a JSON error body.
    #[error("{method} {template}: http {status}: {source}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The parsed body (`type` and its fields).
        #[source]
        source: Box<ApiError>,
        /// `X-Request-Id` of the response, for support tickets.
        request_id: Option<String>,
        /// `Retry-After`, when the response carried one.
        retry_after: Option<Duration>,
        /// HTTP method of the request.
        method: &'static str,
        /// Path template of the endpoint.
        template: &'static str,
    },
    /// The API answered a non-2xx status without a JSON error body.
    #[error("{method} {template}: http {status} without an error body")]
    Status {
        /// The HTTP status.
        status: u16,
        /// `Content-Type` of the response, if any.
        content_type: Option<String>,
        /// The first bytes of the body, lossily decoded (at most 512).
        body: String,
        /// `X-Request-Id` of the response.
        request_id: Option<String>,
        /// `Retry-After`, when the response carried one.
        retry_after: Option<Duration>,
        /// HTTP method of the request.
        method: &'static str,
        /// Path template of the endpoint.
        template: &'static str,
    },
    /// The connection could not be opened; the request was not sent.
    #[error("{method} {template}: cannot connect: {source}")]
    Connect {
        /// The underlying error (its URL removed).
        #[source]
        source: reqwest::Error,
        /// HTTP method of the request.
        method: &'static str,
        /// Path template of the endpoint.
        template: &'static str,
    },
    /// The connect or request timeout elapsed.
    #[error("{method} {template}: timed out after {elapsed:?}")]
    Timeout {
        /// Time spent on the attempt.
        elapsed: Duration,
        /// HTTP method of the request.
        method: &'static str,
        /// Path template of the endpoint.
        template: &'static str,
    },
    /// The connection broke after the request was sent.
    #[error("{method} {template}: connection reset: {source}")]
    Reset {
        /// The underlying error (its URL removed).
        #[source]
        source: reqwest::Error,
        /// HTTP method of the request.
        method: &'static str,
        /// Path template of the endpoint.
        template: &'static str,
    },
    /// Any other transport failure.
    #[error("{method} {template}: transport error: {source}")]
    Transport {
        /// The underlying error (its URL removed).
        #[source]
        source: reqwest::Error,
        /// HTTP method of the request.
        method: &'static str,
        /// Path template of the endpoint.
        template: &'static str,
    },
    /// A successful response whose body could not be decoded.
    #[error("{method} {template}: cannot decode the http {status} response: {reason}")]
    Decode {
        /// The HTTP status.
        status: u16,
        /// What did not fit.
        reason: String,
        /// HTTP method of the request.
        method: &'static str,
        /// Path template of the endpoint.
        template: &'static str,
    },
    /// The caller cancelled the call (its `CancellationToken` fired).
    #[error("cancelled")]
    Cancelled,
    /// The request was refused before sending.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The configuration cannot build a client.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A waiter ended without reaching its target.
    #[error(transparent)]
    Wait(#[from] Box<WaitError>),
}

impl Error {
    /// Whether the failure is transient (see the table in the module doc).
    pub fn retryable(&self) -> bool {
        match self {
            Error::Api { status, source, .. } => api_error_retryable(*status, source),
            Error::Status { status, .. } => status_retryable(*status),
            Error::Connect { .. } | Error::Timeout { .. } | Error::Reset { .. } => true,
            Error::Transport { .. }
            | Error::Decode { .. }
            | Error::Cancelled
            | Error::InvalidRequest(_)
            | Error::Config(_) => false,
            Error::Wait(e) => e.retryable(),
        }
    }

    /// Whether the API certainly did not act on the request, so that even
    /// a non-idempotent request may be re-sent: connect errors and 429.
    pub fn not_processed(&self) -> bool {
        matches!(self, Error::Connect { .. }) || self.status() == Some(429)
    }

    /// The HTTP status, when a response was received.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. }
            | Error::Status { status, .. }
            | Error::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The parsed error body, when there was one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }

    /// The kind of the parsed error body.
    pub fn api_kind(&self) -> Option<ErrorKind> {
        self.api_error().map(ApiError::kind)
    }

    /// True for a 404, with or without a body (`not_found`,
    /// `unknown_resource`, or the bare `text/plain` 404 of user data).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
            || matches!(
                self.api_kind(),
                Some(ErrorKind::NotFound | ErrorKind::UnknownResource)
            )
    }

    /// True for 429 Too Many Requests.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429)
    }

    /// `Retry-After` of the response, when there was one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } | Error::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The `error.type` telemetry attribute: the status code for HTTP
    /// errors, a short class name otherwise.
    pub fn error_type(&self) -> String {
        match self {
            Error::Api { status, .. } | Error::Status { status, .. } => status.to_string(),
            Error::Connect { .. } => "connect".to_owned(),
            Error::Timeout { .. } => "timeout".to_owned(),
            Error::Reset { .. } => "reset".to_owned(),
            Error::Transport { .. } => "transport".to_owned(),
            Error::Decode { .. } => "decode".to_owned(),
            Error::Cancelled => "cancelled".to_owned(),
            Error::InvalidRequest(_) => "invalid_request".to_owned(),
            Error::Config(_) => "config".to_owned(),
            Error::Wait(_) => "wait".to_owned(),
        }
    }
}

/// Retry classification of an error body: the `type` decides, like in
/// Scaleway's SDKs, and the status decides for unknown types.
///
/// * never: `invalid_arguments`, `not_found`, `unknown_resource`,
///   `invalid_request_error`, `permissions_denied`, `quotas_exceeded`,
///   `denied_authentication`, `precondition_failed`, `resource_expired`,
///   `conflict`, `transient_state`, `locked`, `out_of_stock` — each needs
///   a change of input, of state or of account, or a wait measured in
///   resource transitions rather than back-off (`transient_state`: wait
///   for the resource with a waiter, then call again);
/// * any other `type` (`too_many_requests`, `internal_error`, …): by
///   status, as [`status_retryable`].
pub fn api_error_retryable(status: u16, error: &ApiError) -> bool {
    match error.kind() {
        ErrorKind::Other => status_retryable(status),
        _ => false,
    }
}

/// Status classification for responses without a known error `type`:
/// 429, 500, 502, 503 and 504 are transient; everything else (501, 505…,
/// every 4xx but 429) is not. 500 is included because Scaleway's
/// `internal_error` is transient in practice (the Terraform provider's
/// go-retryablehttp retries every 5xx but 501).
pub fn status_retryable(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}
