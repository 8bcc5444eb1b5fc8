//! Subscriber and exporter set-up.

use std::env;

use anyhow::Context as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{KeyValue, global};
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, with the trace and span ids of the current span.
    Json,
}

/// Telemetry settings of one process.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// `service.name` unless `OTEL_SERVICE_NAME` is set.
    pub service_name: String,
    pub log_format: LogFormat,
    /// Filter used when `RUST_LOG` is unset.
    pub default_filter: String,
    /// Export traces and metrics over OTLP (derived from the `OTEL_*` variables).
    pub otlp: bool,
}

/// The telemetry flags every role shares. The OTLP exporter reads its own standard
/// `OTEL_EXPORTER_OTLP_*` variables; [`TelemetryArgs::config`] only checks whether one is set.
#[derive(Debug, Clone, clap::Args)]
pub struct TelemetryArgs {
    /// Log lines on stderr: text, or one JSON object per line with the trace and span ids.
    #[arg(long, env = "FLEET_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// `service.name` of traces and metrics (default: the role's name).
    #[arg(long = "otel-service-name", env = "OTEL_SERVICE_NAME", global = true)]
    pub service_name: Option<String>,
}

/// The variables that turn OTLP export on, and the one that turns it off.
const OTLP_ENDPOINTS: [&str; 4] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
];

/// Target of the gateway's audit events: the one kind of event exported as OpenTelemetry
/// log records (every other event stays a log line, or a span event of its trace).
pub const AUDIT_TARGET: &str = "fleet.audit";
const OTEL_SDK_DISABLED: &str = "OTEL_SDK_DISABLED";

impl TelemetryArgs {
    /// The telemetry of a role named `service_name` (unless `--otel-service-name` says).
    pub fn config(&self, service_name: &str) -> TelemetryConfig {
        let disabled = env::var(OTEL_SDK_DISABLED).is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        let endpoint = OTLP_ENDPOINTS
            .iter()
            .any(|name| env::var(name).is_ok_and(|v| !v.trim().is_empty()));
        TelemetryConfig {
            service_name: self
                .service_name
                .clone()
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(|| service_name.to_owned()),
            log_format: self.log_format,
            default_filter: "info".to_owned(),
            otlp: endpoint && !disabled,
        }
    }
}

/// The installed providers; [`Telemetry::shutdown`] flushes them. Dropping without shutdown
/// loses at most the last batch.
#[derive(Debug, Default)]
pub struct Telemetry {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
    logger: Option<SdkLoggerProvider>,
}

impl Telemetry {
    /// Flushes and stops the exporters (call after the servers drained).
    pub fn shutdown(self) {
        if let Some(tracer) = self.tracer
            && let Err(err) = tracer.shutdown()
        {
            tracing::warn!(error = %err, "trace exporter shutdown failed");
        }
        if let Some(meter) = self.meter
            && let Err(err) = meter.shutdown()
        {
            tracing::warn!(error = %err, "metric exporter shutdown failed");
        }
        if let Some(logger) = self.logger
            && let Err(err) = logger.shutdown()
        {
            tracing::warn!(error = %err, "log exporter shutdown failed");
        }
    }
}

fn resource(service_name: &str) -> Resource {
    Resource::builder()
        .with_service_name(service_name.to_owned())
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Installs the subscriber and, when configured, the OTLP exporters. Call once per process,
/// inside a Tokio runtime (the OTLP exporter needs one).
pub fn init(config: &TelemetryConfig) -> anyhow::Result<Telemetry> {
    if !config.otlp {
        return install(config, None, None);
    }
    let resource = resource(&config.service_name);
    let spans = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()
        .context("building the otlp span exporter")?;
    let tracer = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_batch_exporter(spans)
        .build();
    let metrics = opentelemetry_otlp::MetricExporter::builder()
        .with_tonic()
        .build()
        .context("building the otlp metric exporter")?;
    let meter = SdkMeterProvider::builder()
        .with_resource(resource.clone())
        .with_periodic_exporter(metrics)
        .build();
    let logs = opentelemetry_otlp::LogExporter::builder()
        .with_tonic()
        .build()
        .context("building the otlp log exporter")?;
    let logger = SdkLoggerProvider::builder()
        .with_resource(resource)
        .with_batch_exporter(logs)
        .build();
    install_with_logs(config, Some(tracer), Some(meter), Some(logger))
}

/// The layer that turns [`AUDIT_TARGET`] events into OpenTelemetry log records of `provider`
/// (their fields as attributes), and ignores every other event.
pub fn audit_log_layer<S>(provider: &SdkLoggerProvider) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    OpenTelemetryTracingBridge::new(provider).with_filter(tracing_subscriber::filter::filter_fn(
        |metadata| metadata.target() == AUDIT_TARGET,
    ))
}

/// Installs the subscriber with the given providers (tests pass in-memory exporters).
pub fn install(
    config: &TelemetryConfig,
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
) -> anyhow::Result<Telemetry> {
    install_with_logs(config, tracer, meter, None)
}

/// [`install`] with a log provider too, which receives the [`AUDIT_TARGET`] events.
pub fn install_with_logs(
    config: &TelemetryConfig,
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
    logger: Option<SdkLoggerProvider>,
) -> anyhow::Result<Telemetry> {
    global::set_text_map_propagator(TraceContextPropagator::new());
    if let Some(meter) = &meter {
        global::set_meter_provider(meter.clone());
    }
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(&config.default_filter));
    let logs = match config.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let otel = tracer.as_ref().map(|provider| {
        global::set_tracer_provider(provider.clone());
        tracing_opentelemetry::layer().with_tracer(provider.tracer("fleet"))
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(otel)
        .with(logger.as_ref().map(audit_log_layer))
        .try_init()
        .context("a global tracing subscriber is already installed")?;
    Ok(Telemetry {
        tracer,
        meter,
        logger,
    })
}
