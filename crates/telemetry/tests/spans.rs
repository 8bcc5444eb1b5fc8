//! The gRPC layer and job spans, collected in memory: current semconv names, the status read
//! from the response, the histogram, the request → job parent through a stored trace context.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use fleet_telemetry::grpc::RpcServerLayer;
use fleet_telemetry::propagation::{current_trace_context, job_run_span};
use fleet_telemetry::{LogFormat, TelemetryConfig, install};
use opentelemetry::Value;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tower_layer::Layer as _;
use tower_service::Service as _;

#[derive(Clone)]
struct NotFound;

impl tower_service::Service<http::Request<()>> for NotFound {
    type Response = http::Response<()>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<()>) -> Self::Future {
        // A tonic error reply is "trailers-only": the status is in the headers.
        let mut response = http::Response::new(());
        response
            .headers_mut()
            .insert("grpc-status", http::HeaderValue::from_static("5"));
        ready(Ok(response))
    }
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

#[tokio::test]
async fn server_span_metric_and_job_link() {
    let spans = InMemorySpanExporter::default();
    let tracer = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    let metrics = InMemoryMetricExporter::default();
    let meter = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metrics.clone()).build())
        .build();
    let config = TelemetryConfig {
        service_name: "test".into(),
        log_format: LogFormat::Json,
        default_filter: "info".into(),
        otlp: false,
    };
    let telemetry = install(&config, Some(tracer.clone()), Some(meter.clone())).unwrap();

    let mut service = RpcServerLayer::new().layer(NotFound);
    let request = http::Request::builder()
        .uri("/fleet.v1.Servers/GetServer")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .body(())
        .unwrap();
    let response = service.call(request).await.unwrap();
    assert_eq!(response.headers()["grpc-status"], "5");

    // A job enqueued inside a request span carries that span's context and links back to it.
    let stored = {
        let _enter = tracing::info_span!("enqueue").entered();
        current_trace_context()
    };
    assert!(stored["traceparent"].as_str().unwrap().starts_with("00-"));
    drop(job_run_span("create_server", 7, "fr-par-1", 1, &stored).entered());

    tracer.force_flush().unwrap();
    let finished = spans.get_finished_spans().unwrap();
    let server = finished
        .iter()
        .find(|s| s.name == "fleet.v1.Servers/GetServer")
        .expect("server span");
    assert_eq!(
        server.span_context.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "the incoming traceparent is the parent"
    );
    assert_eq!(attr(server, "rpc.system.name").unwrap().as_str(), "grpc");
    assert_eq!(
        attr(server, "rpc.method").unwrap().as_str(),
        "fleet.v1.Servers/GetServer"
    );
    assert_eq!(
        attr(server, "rpc.response.status_code").unwrap().as_str(),
        "NOT_FOUND"
    );
    assert_eq!(attr(server, "error.type").unwrap().as_str(), "NOT_FOUND");
    assert!(attr(server, "rpc.system").is_none(), "no legacy names");

    let enqueue = finished.iter().find(|s| s.name == "enqueue").unwrap();
    let job = finished
        .iter()
        .find(|s| s.name == "job.run create_server")
        .expect("job span");
    assert_eq!(job.parent_span_id, enqueue.span_context.span_id());
    assert_eq!(
        job.span_context.trace_id(),
        enqueue.span_context.trace_id(),
        "the job's run joins the enqueuing request's trace"
    );
    assert_eq!(
        attr(job, "operation.name").unwrap().as_str(),
        "operations/7"
    );

    meter.force_flush().unwrap();
    let exported = metrics.get_finished_metrics().unwrap();
    let histogram = exported
        .iter()
        .flat_map(|rm| rm.scope_metrics())
        .flat_map(|sm| sm.metrics())
        .find(|m| m.name() == "rpc.server.call.duration")
        .expect("rpc.server.call.duration exported");
    assert_eq!(histogram.unit(), "s");
    let AggregatedMetrics::F64(MetricData::Histogram(data)) = histogram.data() else {
        panic!("rpc.server.call.duration is an f64 histogram");
    };
    let point = data.data_points().next().expect("one data point");
    assert_eq!(point.count(), 1);
    let status = point
        .attributes()
        .find(|kv| kv.key.as_str() == "rpc.response.status_code")
        .unwrap();
    assert_eq!(status.value.as_str(), "NOT_FOUND");
    telemetry.shutdown();
}
