//! Error answers: every body is a serialized [`fleet_core::ApiError`], so the
//! emulator and the clients agree on the shape by construction.
//!
//! [`Error`] only adds what an error body cannot carry: the status of
//! answers that are not API errors proper (429 from the rate limiter, 5xx
//! and 504 from fault injection, 405) and a `Retry-After` header. API errors
//! take their status from [`ApiError::status`], never from the emulator.

use axum::body::Body as AxumBody;
use axum::http::{HeaderValue, Response, StatusCode, header};
use axum::response::IntoResponse;
use fleet_core::{
    AuthenticationMethod, AuthenticationReason, PermissionDeniedDetail, QuotaExceededDetail,
    UnknownError,
};
use serde_json::{Map, Value, json};

pub use fleet_core::{ApiError, InvalidArgumentDetail as ArgDetail};

/// An error answer: a core error body plus its HTTP framing.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// The body; boxed because errors are rare and core's error is large,
    /// so every `ApiResult` stays small.
    pub api: Box<ApiError>,
    /// The status; [`ApiError::status`] unless the answer is not an API
    /// error proper (rate limit, injected faults, 405).
    pub status: u16,
    /// `Retry-After` seconds, for 429s.
    pub retry_after: Option<u64>,
}

impl From<ApiError> for Error {
    fn from(api: ApiError) -> Self {
        let status = api.status();
        Self {
            api: Box::new(api),
            status,
            retry_after: None,
        }
    }
}

/// A body whose `type` core does not model (kept whole by
/// [`ApiError::Other`]); the status must be given by the caller.
fn other(status: u16, body: Value) -> Error {
    let body = match body {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    Error {
        api: Box::new(ApiError::Other(UnknownError { body })),
        status,
        retry_after: None,
    }
}

impl Error {
    /// `invalid_arguments` with one detail.
    pub fn invalid(detail: ArgDetail) -> Self {
        ApiError::invalid_arguments([detail]).into()
    }

    /// `invalid_arguments` with several details.
    pub fn invalid_all(details: impl IntoIterator<Item = ArgDetail>) -> Self {
        ApiError::invalid_arguments(details).into()
    }

    /// `not_found` for a resource kind (`instance_server`, …) and id.
    pub fn not_found(resource: &str, id: impl Into<String>) -> Self {
        ApiError::not_found(resource, id).into()
    }

    /// `precondition_failed` with only a message, as the live API sends it.
    pub fn precondition(message: impl Into<String>) -> Self {
        ApiError::precondition_failed(message).into()
    }

    /// `transient_state` of a busy resource.
    pub fn transient_state(resource: &str, id: impl Into<String>, state: &str) -> Self {
        ApiError::transient_state(resource, id, state).into()
    }

    /// `permissions_denied` for one (resource, action).
    pub fn permissions_denied(resource: &str, action: &str) -> Self {
        ApiError::permissions_denied([PermissionDeniedDetail::new(resource, action)]).into()
    }

    /// `quotas_exceeded` for one quota.
    pub fn quotas_exceeded(resource: &str, quota: u64, current: u64) -> Self {
        ApiError::quotas_exceeded([QuotaExceededDetail::new(resource, quota, current)]).into()
    }

    /// `denied_authentication`.
    pub fn denied_authentication(
        method: AuthenticationMethod,
        reason: AuthenticationReason,
    ) -> Self {
        ApiError::denied_authentication(method, reason).into()
    }

    /// `locked`: the resource is locked and cannot be changed.
    pub fn locked(resource: &str, id: impl Into<String>) -> Self {
        ApiError::locked(resource, id).into()
    }

    /// `out_of_stock`: no capacity left for e.g. a commercial type.
    pub fn out_of_stock(resource: &str) -> Self {
        ApiError::out_of_stock(resource).into()
    }

    /// 404 on a path the API does not serve. Not a resource lookup, so it
    /// has no `resource`/`resource_id` (core's `not_found` would force
    /// empty ones).
    pub fn unknown_route() -> Self {
        other(
            404,
            json!({"type": "not_found", "message": "unknown route"}),
        )
    }

    /// 405 on a known path with an unsupported method.
    pub fn method_not_allowed() -> Self {
        other(
            405,
            json!({"type": "invalid_request_error", "message": "method not allowed"}),
        )
    }

    /// 429 `too_many_requests` in the shape the JS SDK reads (reference §3).
    pub fn too_many_requests(quota: u64, reset_seconds: u64, retry_after: Option<u64>) -> Self {
        let mut e = other(
            429,
            json!({
                "type": "too_many_requests",
                "message": "too many requests",
                "help_message": "rate limit exceeded, retry later",
                "limit": {"quota": quota, "window_seconds": 1},
                "reset_seconds": reset_seconds,
            }),
        );
        e.retry_after = retry_after;
        e
    }

    /// An injected (or genuine) 5xx.
    pub fn internal(status: u16) -> Self {
        other(
            status,
            json!({"type": "internal_error", "message": "internal error, please retry"}),
        )
    }

    /// The HTTP response, with `x-request-id` when given.
    pub fn to_response(&self, request_id: &str) -> Response<AxumBody> {
        let body = serde_json::to_vec(self.api.as_ref()).unwrap_or_default();
        let mut r = Response::new(AxumBody::from(body));
        *r.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if !request_id.is_empty()
            && let Ok(v) = HeaderValue::from_str(request_id)
        {
            h.insert("x-request-id", v);
        }
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response<AxumBody> {
        self.to_response("")
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.api, self.status)
    }
}

impl std::error::Error for Error {}

/// Shorthand used by every handler.
pub type ApiResult<T> = Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_take_core_statuses() {
        assert_eq!(Error::not_found("instance_server", "x").status, 404);
        assert_eq!(Error::locked("instance_server", "x").status, 409);
        assert_eq!(Error::out_of_stock("DEV1-S").status, 503);
        assert_eq!(
            Error::precondition("server should be stopped").status,
            ApiError::precondition_failed("").status()
        );
    }

    #[test]
    fn framing_only_errors_keep_their_body_type() {
        let e = Error::too_many_requests(10, 2, Some(2));
        assert_eq!((e.status, e.retry_after), (429, Some(2)));
        assert_eq!(e.api.error_type(), "too_many_requests");
        assert_eq!(Error::internal(503).api.error_type(), "internal_error");
        assert_eq!(Error::unknown_route().status, 404);
    }
}
