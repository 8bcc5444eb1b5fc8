//! Telemetry of one create-and-poweron flow, collected in process (issue 9):
//! * one trace joins the gateway's server span, every run of the job and the HTTP calls the
//!   worker made to the (emulated) Scaleway API, with the current semantic-convention names;
//! * no secret (the Scaleway key, the caller's token) appears in any span attribute;
//! * every metric the Grafana dashboards query is emitted by the code;
//! * the one mutating call is exported as an audit log record (`fleet.audit`), without secrets.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use fleet_emulator::{Emulator, Faults};
use fleet_gateway::{CallerConfig, GatewayConfig, Role};
use fleet_proto::v1;
use fleet_scheduler::SchedulerConfig;
use fleet_telemetry::{LogFormat, TelemetryConfig};
use fleet_worker::{Worker, WorkerConfig, jobs_factory};
use opentelemetry::logs::AnyValue;
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLoggerProvider};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use sqlx::postgres::PgPoolOptions;
use tokio_util::sync::CancellationToken;
use tonic::Request;
use tonic::metadata::MetadataValue;

const SECRET_KEY: &str = "5ec7e7a1-0000-4000-8000-5ec7e7a15ec7";
const TOKEN: &str = "telemetry-caller-token-do-not-leak";

fn with_token<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    let bearer: MetadataValue<_> = format!("Bearer {TOKEN}").parse().expect("ascii");
    request.metadata_mut().insert("authorization", bearer);
    request
}

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
}

/// Prometheus name of an OpenTelemetry instrument, as the collector's translation writes it.
fn prometheus_name(name: &str, unit: &str, counter: bool) -> String {
    let mut out = name.replace('.', "_");
    if unit == "s" {
        out.push_str("_seconds");
    }
    if counter {
        out.push_str("_total");
    }
    out
}

fn emitted_metrics(exported: &[ResourceMetrics]) -> BTreeSet<String> {
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    let mut names = BTreeSet::new();
    for rm in exported {
        for sm in rm.scope_metrics() {
            for metric in sm.metrics() {
                let counter = matches!(
                    metric.data(),
                    AggregatedMetrics::U64(MetricData::Sum(_))
                        | AggregatedMetrics::F64(MetricData::Sum(_))
                        | AggregatedMetrics::I64(MetricData::Sum(_))
                );
                names.insert(prometheus_name(metric.name(), metric.unit(), counter));
            }
        }
    }
    names
}

/// Strips label matchers (`{…}`), ranges (`[…]`) and grouping clauses (`by (…)`) from a
/// PromQL expression, leaving function names and metric names.
fn strip_labels(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(c) = rest.chars().next() {
        let skip_group = |rest: &str, open: char, close: char| -> usize {
            let mut depth = 0;
            for (i, ch) in rest.char_indices() {
                if ch == open {
                    depth += 1;
                } else if ch == close {
                    depth -= 1;
                    if depth == 0 {
                        return i + ch.len_utf8();
                    }
                }
            }
            rest.len()
        };
        if c == '{' {
            rest = &rest[skip_group(rest, '{', '}')..];
        } else if c == '[' {
            rest = &rest[skip_group(rest, '[', ']')..];
        } else if let Some(after) = rest.strip_prefix("by (") {
            rest = &after[skip_group(&rest[3..], '(', ')') - 1..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Metric names the dashboards query: identifiers with an underscore that are not function
/// calls, once labels and groupings are stripped.
fn dashboard_metrics(dir: &Path) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(dir).expect("dashboards dir") {
        let path = entry.expect("entry").path();
        let dashboard: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        for panel in dashboard["panels"].as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let expr = strip_labels(target["expr"].as_str().unwrap_or_default());
                let bytes = expr.as_bytes();
                let mut i = 0;
                while i < bytes.len() {
                    if bytes[i].is_ascii_alphabetic() {
                        let start = i;
                        while i < bytes.len()
                            && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_')
                        {
                            i += 1;
                        }
                        let word = &expr[start..i];
                        let call = expr[i..].trim_start().starts_with('(');
                        if word.contains('_') && !call {
                            let base = ["_bucket", "_count", "_sum"]
                                .iter()
                                .find_map(|suffix| word.strip_suffix(suffix))
                                .unwrap_or(word);
                            names.insert(base.to_owned());
                        }
                    } else {
                        i += 1;
                    }
                }
            }
        }
    }
    names
}

#[test]
fn one_trace_from_request_to_scaleway_and_every_dashboard_metric() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(flow());
}

async fn flow() {
    let spans = InMemorySpanExporter::default();
    let tracer = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    let metrics = InMemoryMetricExporter::default();
    let meter = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metrics.clone()).build())
        .build();
    let logs = InMemoryLogExporter::default();
    let logger = SdkLoggerProvider::builder()
        .with_simple_exporter(logs.clone())
        .build();
    let telemetry = fleet_telemetry::install_with_logs(
        &TelemetryConfig {
            service_name: "fleet-test".into(),
            log_format: LogFormat::Json,
            default_filter: "info".into(),
            otlp: false,
        },
        Some(tracer.clone()),
        Some(meter.clone()),
        Some(logger.clone()),
    )
    .expect("telemetry installs");

    let database_url = fleet_pgcluster::testing::fresh_database().await;
    let pool = PgPoolOptions::new()
        .max_connections(20)
        .connect(&database_url)
        .await
        .expect("database");
    fleet_scheduler::migrate(&pool).await.expect("migrate");
    let emulator = Emulator::builder()
        .transition(Duration::from_millis(150))
        .start()
        .await
        .expect("emulator");

    let shutdown = CancellationToken::new();
    let mut scaleway = fleet_scaleway::Config::new(SECRET_KEY).with_api_url(emulator.base_url());
    scaleway.default_project_id = Some(SECRET_KEY.to_owned());
    let mut worker_config = WorkerConfig::new(&database_url, scaleway.clone());
    worker_config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    worker_config.lease_ttl = Duration::from_secs(5);
    let client = fleet_scaleway::Client::new(scaleway).expect("client");
    let worker = Worker::from_parts(
        &worker_config,
        pool.clone(),
        client,
        jobs_factory(Default::default()),
    )
    .await
    .expect("worker");
    let worker_handle = worker.handle();
    let worker_task = tokio::spawn(worker.run(shutdown.clone()));
    let scheduler = SchedulerConfig {
        migrate_on_start: false,
        metrics_interval: Duration::from_millis(100),
        ..SchedulerConfig::default()
    }
    .build(pool.clone())
    .expect("scheduler");
    let scheduler_task = tokio::spawn(scheduler.run(shutdown.clone()));
    let mut gateway_config = GatewayConfig::new(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        &database_url,
        vec![CallerConfig {
            name: "telemetry-test".into(),
            token: Some(TOKEN.into()),
            token_sha256: None,
            projects: vec!["*".into()],
            role: Role::Operator,
            rate_limit: None,
            burst: None,
        }],
    );
    gateway_config.migrate = false;
    let gateway = gateway_config
        .build_with_pool(pool.clone())
        .await
        .expect("gateway");
    let addr = gateway.local_addr();
    let gateway_task = tokio::spawn(gateway.run(shutdown.clone()));

    // Wait until the worker owns fr-par-1, so the flow does not race the first lease.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !worker_handle
        .held_zones()
        .contains(&fleet_core::Zone::FrPar1)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "worker never owned fr-par-1"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut servers = v1::servers_client::ServersClient::new(channel.clone());
    let mut operations = v1::operations_client::OperationsClient::new(channel);
    let operation = servers
        .create_server(with_token(v1::CreateServerRequest {
            zone: "fr-par-1".into(),
            request_id: uuid::Uuid::new_v4().to_string(),
            name: "traced".into(),
            commercial_type: "DEV1-S".into(),
            image: Some("ubuntu_noble".into()),
            start: true,
            ..Default::default()
        }))
        .await
        .expect("create accepted")
        .into_inner();
    let mut done = operation.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done.done {
        assert!(
            tokio::time::Instant::now() < deadline,
            "operation never finished"
        );
        done = operations
            .wait_operation(with_token(v1::WaitOperationRequest {
                name: operation.name.clone(),
                timeout: Some(prost_types::Duration {
                    seconds: 5,
                    nanos: 0,
                }),
            }))
            .await
            .expect("wait")
            .into_inner();
    }
    assert!(
        matches!(done.result, Some(v1::operation::Result::Response(_))),
        "create-and-poweron succeeded: {done:?}"
    );

    // A 429 storm on one synchronous call, so the throttling metrics have something to count.
    emulator.set_faults(Faults {
        rate_429: 1.0,
        retry_after_secs: Some(0),
        ..Faults::default()
    });
    let _ = servers
        .list_servers(with_token(v1::ListServersRequest {
            zone: "fr-par-1".into(),
            ..Default::default()
        }))
        .await;
    emulator.clear_faults();
    // Let the scheduler sample the queue at least once more.
    tokio::time::sleep(Duration::from_millis(300)).await;

    shutdown.cancel();
    for task in [gateway_task] {
        task.await
            .expect("gateway task")
            .expect("gateway stops cleanly");
    }
    worker_task
        .await
        .expect("worker task")
        .expect("worker stops cleanly");
    scheduler_task
        .await
        .expect("scheduler task")
        .expect("scheduler stops cleanly");

    tracer.force_flush().expect("flush spans");
    meter.force_flush().expect("flush metrics");
    let finished = spans.get_finished_spans().expect("spans");

    // The gateway's span of the CreateServer call is the root of the operation's trace.
    let root = finished
        .iter()
        .find(|s| s.name == "fleet.v1.Servers/CreateServer")
        .expect("gateway server span");
    let trace: TraceId = root.span_context.trace_id();
    assert_eq!(attr(root, "rpc.system.name").as_deref(), Some("grpc"));
    assert_eq!(
        attr(root, "rpc.method").as_deref(),
        Some("fleet.v1.Servers/CreateServer")
    );
    assert_eq!(
        attr(root, "rpc.response.status_code").as_deref(),
        Some("OK")
    );

    let in_trace: Vec<&SpanData> = finished
        .iter()
        .filter(|s| s.span_context.trace_id() == trace)
        .collect();
    let runs: Vec<&&SpanData> = in_trace
        .iter()
        .filter(|s| s.name == "job.run create_server")
        .collect();
    assert!(!runs.is_empty(), "the job's runs join the request's trace");
    for run in &runs {
        assert_eq!(attr(run, "job.kind").as_deref(), Some("create_server"));
        assert_eq!(
            attr(run, "operation.name").as_deref(),
            Some(operation.name.as_str())
        );
    }
    let run_ids: std::collections::HashSet<SpanId> =
        runs.iter().map(|s| s.span_context.span_id()).collect();
    let by_id: HashMap<SpanId, &SpanData> = in_trace
        .iter()
        .map(|s| (s.span_context.span_id(), *s))
        .collect();
    let under_a_run = |span: &SpanData| {
        let mut parent = span.parent_span_id;
        while let Some(next) = by_id.get(&parent) {
            if run_ids.contains(&parent) {
                return true;
            }
            parent = next.parent_span_id;
        }
        false
    };
    let http: Vec<&&SpanData> = in_trace
        .iter()
        .filter(|s| attr(s, "http.request.method").is_some())
        .collect();
    let posts: Vec<String> = http
        .iter()
        .filter(|s| under_a_run(s))
        .filter_map(|s| attr(s, "url.template"))
        .collect();
    assert!(
        posts
            .iter()
            .any(|t| t == "/instance/v1/zones/{zone}/servers"),
        "the create call is in the trace under a job run: {posts:?}"
    );
    assert!(
        posts
            .iter()
            .any(|t| t == "/instance/v1/zones/{zone}/servers/{server_id}/action"),
        "the poweron call is in the trace under a job run: {posts:?}"
    );
    for span in &http {
        assert!(attr(span, "server.address").is_some());
        assert!(
            attr(span, "http.response.status_code").is_some() || attr(span, "error.type").is_some()
        );
        assert!(attr(span, "http.method").is_none(), "no legacy http names");
    }

    // No secret in any span of the whole run.
    for span in &finished {
        for kv in &span.attributes {
            let value = kv.value.as_str();
            assert!(
                !value.contains(SECRET_KEY) && !value.contains(TOKEN),
                "secret in span {} attribute {}",
                span.name,
                kv.key
            );
        }
        for event in &span.events.events {
            for kv in &event.attributes {
                let value = kv.value.as_str();
                assert!(!value.contains(SECRET_KEY) && !value.contains(TOKEN));
            }
        }
    }

    // The one mutating call of the flow, as an OpenTelemetry log record; reads are not audited.
    logger.force_flush().expect("flush logs");
    let records = logs.get_emitted_logs().expect("logs");
    let audit: Vec<_> = records
        .iter()
        .filter(|log| {
            log.record.target().map(|t| t.to_string()).as_deref()
                == Some(fleet_telemetry::AUDIT_TARGET)
        })
        .collect();
    assert_eq!(audit.len(), 1, "{audit:#?}");
    let attributes: HashMap<String, String> = audit[0]
        .record
        .attributes_iter()
        .map(|(key, value)| {
            let text = match value {
                AnyValue::String(s) => s.as_str().to_owned(),
                other => format!("{other:?}"),
            };
            (key.as_str().to_owned(), text)
        })
        .collect();
    for (key, value) in [
        ("method", "fleet.v1.Servers/CreateServer"),
        ("caller", "telemetry-test"),
        ("outcome", "OK"),
        ("operation", operation.name.as_str()),
    ] {
        assert_eq!(
            attributes.get(key).map(String::as_str),
            Some(value),
            "{attributes:?}"
        );
    }
    for value in attributes.values() {
        assert!(
            !value.contains(SECRET_KEY) && !value.contains(TOKEN),
            "{attributes:?}"
        );
    }

    let exported = metrics.get_finished_metrics().expect("metrics");
    let emitted = emitted_metrics(&exported);
    let dashboards = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/grafana/dashboards");
    let queried = dashboard_metrics(&dashboards);
    assert!(queried.len() >= 8, "dashboards parsed: {queried:?}");
    let missing: Vec<&String> = queried.difference(&emitted).collect();
    assert!(
        missing.is_empty(),
        "dashboards query metrics the code does not emit: {missing:?}\nemitted: {emitted:?}"
    );
    telemetry.shutdown();
    emulator.shutdown().await;
}
