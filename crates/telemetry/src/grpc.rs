//! The gRPC server layer: one SERVER span and one `rpc.server.call.duration` measurement per
//! call, with the current RPC semantic conventions (`rpc.system.name`, fully qualified
//! `rpc.method`, string `rpc.response.status_code`, `error.type` on failure).
//!
//! The status is read from the response headers: tonic sends unary errors "trailers-only", so
//! their `grpc-status` is a header; a response without one is OK. Server-streaming calls
//! report the status of the stream's start.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument as _;

use crate::propagation;

/// Name of the server call duration histogram (seconds).
pub const SERVER_CALL_DURATION: &str = "rpc.server.call.duration";

/// Adds [`RpcServer`] around a service.
#[derive(Debug, Clone)]
pub struct RpcServerLayer {
    duration: Histogram<f64>,
}

impl RpcServerLayer {
    /// A layer recording into the global meter provider.
    pub fn new() -> Self {
        let meter = opentelemetry::global::meter("fleet.grpc");
        let duration = meter
            .f64_histogram(SERVER_CALL_DURATION)
            .with_unit("s")
            .with_description("Duration of gRPC calls served")
            .with_boundaries(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0, 30.0, 60.0,
            ])
            .build();
        Self { duration }
    }
}

impl Default for RpcServerLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for RpcServerLayer {
    type Service = RpcServer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcServer {
            inner,
            duration: self.duration.clone(),
        }
    }
}

/// See [`RpcServerLayer`].
#[derive(Debug, Clone)]
pub struct RpcServer<S> {
    inner: S,
    duration: Histogram<f64>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for RpcServer<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let method = request.uri().path().trim_start_matches('/').to_owned();
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = %method,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            rpc.system.name = "grpc",
            rpc.method = %method,
            rpc.response.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
            trace_id = tracing::field::Empty,
        );
        propagation::set_parent_from_headers(&span, request.headers());
        propagation::record_trace_id(&span);
        let started = Instant::now();
        let duration = self.duration.clone();
        let future = self.inner.call(request);
        Box::pin(
            async move {
                let result = future.await;
                let code = match &result {
                    Ok(response) => response
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<i32>().ok())
                        .unwrap_or(0),
                    // A transport-level failure of the service itself.
                    Err(_) => 2,
                };
                let name = code_name(code);
                let span = tracing::Span::current();
                span.record("rpc.response.status_code", name);
                let mut attributes = vec![
                    KeyValue::new("rpc.system.name", "grpc"),
                    KeyValue::new("rpc.method", method),
                    KeyValue::new("rpc.response.status_code", name),
                ];
                if code != 0 {
                    span.record("error.type", name);
                    attributes.push(KeyValue::new("error.type", name));
                }
                if is_server_error(code) {
                    span.record("otel.status_code", "ERROR");
                }
                duration.record(started.elapsed().as_secs_f64(), &attributes);
                result
            }
            .instrument(span),
        )
    }
}

/// Canonical name of a gRPC status code.
pub fn code_name(code: i32) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

/// Codes that mark the server span as an error (client mistakes such as NOT_FOUND do not).
fn is_server_error(code: i32) -> bool {
    matches!(code, 2 | 4 | 12 | 13 | 14 | 15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_follow_grpc() {
        assert_eq!(code_name(0), "OK");
        assert_eq!(code_name(5), "NOT_FOUND");
        assert_eq!(code_name(16), "UNAUTHENTICATED");
        assert_eq!(code_name(99), "UNKNOWN");
        assert!(is_server_error(14));
        assert!(!is_server_error(5));
    }
}
