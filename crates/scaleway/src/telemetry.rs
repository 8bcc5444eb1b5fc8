//! Telemetry of HTTP calls, following the stable OpenTelemetry HTTP client
//! conventions. Instance and Block calls carry the same span and metric
//! names; the `api` attribute (`instance` or `block`, the endpoint's
//! [`Api`]) tells them apart.
//!
//! Every HTTP attempt gets a `tracing` span named `scaleway.http`
//! (`otel.kind = "client"`, `otel.name = "{METHOD} {url.template}"`,
//! `otel.status_code = "ERROR"` on 4xx/5xx and transport failures) with
//! these fields; a `tracing-opentelemetry` layer turns it into an OTel span:
//!
//! | span field | value |
//! |---|---|
//! | `http.request.method` | `GET`, `POST`, … |
//! | `url.template` | the catalog's path template, e.g. `/block/v1/zones/{zone}/volumes/{volume_id}` |
//! | `url.full` | scheme, host, port and path, the query string removed |
//! | `server.address`, `server.port` | of the configured API URL |
//! | `http.request.resend_count` | from the second attempt on |
//! | `http.response.status_code` | when a response came |
//! | `error.type` | the status code, or `connect`, `timeout`, `reset`, … |
//! | `scaleway.zone` | e.g. `fr-par-1` |
//! | `scaleway.api` | `instance` or `block` |
//!
//! Each attempt is also recorded in the `http.client.request.duration`
//! histogram (seconds) of `opentelemetry::global::meter("fleet-scaleway")`,
//! a no-op until the process installs a meter provider — install it before
//! building the client, since instruments are created at build time. Its
//! attributes: `http.request.method`, `url.template`, `server.address`,
//! `server.port`, `api`, and when known `http.response.status_code` and
//! `error.type`. The rate limiter's metrics are listed in
//! [`crate::ratelimit::metrics`].
//!
//! Neither carries the secret key or any header; the histogram carries
//! no concrete path (cardinality), the span no query string.

use std::time::Duration;

use fleet_core::catalog::{Api, Endpoint};
use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;
use tracing::Span;

/// Name of the duration histogram.
pub const REQUEST_DURATION: &str = "http.client.request.duration";
/// The attribute (metrics) telling Instance calls from Block calls.
pub const API_ATTRIBUTE: &str = "api";

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
            .f64_histogram(REQUEST_DURATION)
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
        endpoint: &Endpoint,
        url_full: &str,
        resend_count: u32,
        zone: &str,
    ) -> Span {
        let method = endpoint.method.as_str();
        let template = endpoint.path;
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
            scaleway.api = endpoint.api().as_str(),
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
        endpoint: &Endpoint,
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
        let attributes = self.attributes(endpoint, status, error_type);
        self.duration.record(elapsed.as_secs_f64(), &attributes);
    }

    /// The histogram attributes of one attempt.
    fn attributes(
        &self,
        endpoint: &Endpoint,
        status: Option<u16>,
        error_type: Option<&str>,
    ) -> Vec<KeyValue> {
        let mut attributes = vec![
            KeyValue::new("http.request.method", endpoint.method.as_str()),
            KeyValue::new("url.template", endpoint.path),
            KeyValue::new("server.address", self.server_address.clone()),
            KeyValue::new("server.port", i64::from(self.server_port)),
            api_attribute(endpoint.api()),
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
        attributes
    }
}

/// `api = "instance" | "block"`, the attribute every metric of a call
/// carries.
pub(crate) fn api_attribute(api: Api) -> KeyValue {
    KeyValue::new(API_ATTRIBUTE, api.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Operation;

    fn value(attributes: &[KeyValue], key: &str) -> Option<String> {
        attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.as_str().into_owned())
    }

    #[test]
    fn the_histogram_tells_the_families_apart() {
        let telemetry = Telemetry::new("api.example".to_owned(), 443);
        let block =
            telemetry.attributes(Operation::BlockGetVolume.endpoint(), Some(404), Some("404"));
        assert_eq!(value(&block, "api").as_deref(), Some("block"));
        assert_eq!(
            value(&block, "url.template").as_deref(),
            Some("/block/v1/zones/{zone}/volumes/{volume_id}")
        );
        assert_eq!(value(&block, "error.type").as_deref(), Some("404"));
        let instance = telemetry.attributes(Operation::GetVolume.endpoint(), Some(200), None);
        assert_eq!(value(&instance, "api").as_deref(), Some("instance"));
        assert_eq!(value(&instance, "error.type"), None);
    }
}
