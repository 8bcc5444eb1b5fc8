//! W3C trace context across process boundaries: gRPC metadata (HTTP/2 headers) and the
//! `trace_context` column of a job.
//!
//! A job's runs are children of the request that enqueued it, so one trace shows the whole
//! operation: the gateway's span, every run of the job (on whichever worker resumed it) and
//! every Scaleway call. The trace then spans the operation's duration; that is the view an
//! operator asks for ("what happened to this request"), and the runs stay separate spans.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TraceContextExt as _;
use serde_json::{Map, Value};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::header::HeaderName::from_bytes(key.as_bytes()),
            http::header::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// Makes `span` a child of the context carried by `headers` (`traceparent`), if any.
pub fn set_parent_from_headers(span: &tracing::Span, headers: &http::HeaderMap) {
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    if parent.span().span_context().is_valid() {
        // Fails only when the span is disabled; then there is nothing to parent.
        let _ = span.set_parent(parent);
    }
}

/// Writes the current span's context into outgoing headers (e.g. tonic request metadata).
pub fn inject_current_into_headers(headers: &mut http::HeaderMap) {
    let context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&context, &mut HeaderInjector(headers))
    });
}

/// The current span's context as a JSON object (`{"traceparent": …}`), to store on a job.
pub fn current_trace_context() -> Value {
    let context = tracing::Span::current().context();
    let mut carrier: HashMap<String, String> = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&context, &mut carrier));
    Value::Object(
        carrier
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect::<Map<_, _>>(),
    )
}

/// A CONSUMER span for one run of a job, a child of the span that enqueued it.
pub fn job_run_span(
    kind: &str,
    job_id: i64,
    zone: &str,
    attempt: i32,
    trace_context: &Value,
) -> tracing::Span {
    let span = tracing::info_span!(
        "job.run",
        otel.name = %format!("job.run {kind}"),
        otel.kind = "consumer",
        job.kind = %kind,
        job.id = job_id,
        job.attempt = attempt,
        operation.name = %format!("operations/{job_id}"),
        zone = %zone,
        trace_id = tracing::field::Empty,
    );
    // The runner calls this for every job; without a subscriber there is nothing to parent.
    if span.is_disabled() {
        return span;
    }
    let carrier: HashMap<String, String> = trace_context
        .as_object()
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    let origin = opentelemetry::global::get_text_map_propagator(|p| p.extract(&carrier));
    if origin.span().span_context().is_valid() {
        // Fails only when the span is disabled; then there is nothing to parent.
        let _ = span.set_parent(origin);
    }
    record_trace_id(&span);
    span
}

/// Records the span's OpenTelemetry trace id as its `trace_id` field, so JSON log lines
/// written inside it carry the id that finds the trace.
pub fn record_trace_id(span: &tracing::Span) {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if span_context.is_valid() {
        span.record("trace_id", tracing::field::display(span_context.trace_id()));
    }
}
