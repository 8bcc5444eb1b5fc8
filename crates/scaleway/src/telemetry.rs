//! Telemetry of HTTP calls, following the stable OpenTelemetry HTTP client
//! conventions.
//!
//! Every HTTP attempt gets a `tracing` span (`otel.kind = "client"`,
//! `otel.name = "{METHOD} {url.template}"`) with `http.request.method`,
//! `url.template` (the catalog's path template), `url.full` (scheme, host,
//! port and path, with the query string removed), `server.address`,
//! `server.port`, `http.request.resend_count`
//! (from the second attempt on), `http.response.status_code` and
//! `error.type`; `otel.status_code = "ERROR"` on 4xx/5xx and transport
//! failures. A `tracing-opentelemetry` layer turns it into an OTel span.
//!
//! Each attempt is also recorded in the `http.client.request.duration`
//! histogram (seconds) of `opentelemetry::global::meter("fleet-scaleway")`,
//! a no-op until the process installs a meter provider — install it before
//! building the client, since instruments are created at build time.
//!
//! Neither carries the secret key or any header; the histogram carries
//! no concrete path (cardinality), the span no query string.

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;
use tracing::Span;

/// Bucket boundaries recommended by the HTTP semantic conventions.
const DURATION_BOUNDARIES: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Instruments shared by the clones of a client.
#[derive(Clone)]
pub(crate) struct Telemetry {
    duration: Histogram<f64>,
    server_address: String,
    server_port: u16,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("server_address", &self.server_address)
            .field("server_port", &self.server_port)
            .finish()
    }
}

impl Telemetry {
    pub(crate) fn new(server_address: String, server_port: u16) -> Self {
        let meter = opentelemetry::global::meter("fleet-scaleway");
        let duration = meter
            .f64_histogram("http.client.request.duration")
            .with_unit("s")
            .with_description("Duration of HTTP client requests.")
            .with_boundaries(DURATION_BOUNDARIES.to_vec())
            .build();
        Telemetry {
            duration,
            server_address,
            server_port,
        }
    }

    /// The span of one HTTP attempt.
    pub(crate) fn span(
        &self,
        method: &'static str,
        template: &'static str,
        url_full: &str,
        resend_count: u32,
        zone: &str,
    ) -> Span {
        let span = tracing::info_span!(
            "scaleway.http",
            otel.name = %format_args!("{method} {template}"),
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            http.request.method = method,
            url.template = template,
            url.full = url_full,
            server.address = %self.server_address,
            server.port = self.server_port,
            http.request.resend_count = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
            scaleway.zone = zone,
        );
        if resend_count > 0 {
            span.record("http.request.resend_count", resend_count);
        }
        span
    }

    /// Records the outcome on the span and in the duration histogram.
    pub(crate) fn finish(
        &self,
        span: &Span,
        method: &'static str,
        template: &'static str,
        status: Option<u16>,
        error_type: Option<&str>,
        elapsed: Duration,
    ) {
        if let Some(status) = status {
            span.record("http.response.status_code", status);
        }
        if let Some(error_type) = error_type {
            span.record("error.type", error_type);
            span.record("otel.status_code", "ERROR");
        }
        let mut attributes = vec![
            KeyValue::new("http.request.method", method),
            KeyValue::new("url.template", template),
            KeyValue::new("server.address", self.server_address.clone()),
            KeyValue::new("server.port", i64::from(self.server_port)),
        ];
        if let Some(status) = status {
            attributes.push(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
        }
        if let Some(error_type) = error_type {
            attributes.push(KeyValue::new("error.type", error_type.to_owned()));
        }
        self.duration.record(elapsed.as_secs_f64(), &attributes);
    }
}
