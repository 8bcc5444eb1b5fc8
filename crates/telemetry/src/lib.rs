//! Telemetry shared by every fleet role.
//!
//! * [`init`]: the tracing subscriber (env filter from `RUST_LOG`, text or JSON logs from
//!   `--log-format` / `FLEET_LOG_FORMAT`, see [`TelemetryArgs`]) and, when an OTLP endpoint
//!   is configured through the standard `OTEL_*` variables, OpenTelemetry export of traces and metrics,
//!   and of the gateway's audit events ([`AUDIT_TARGET`]) as log records. With no endpoint the
//!   exporters are off and silent.
//! * [`grpc::RpcServerLayer`]: the tower layer every gRPC server uses: one SERVER span per call
//!   with the current RPC semantic conventions and the `rpc.server.call.duration` histogram.
//! * [`propagation`]: W3C trace context into a job row and out of it, and over internal gRPC.

pub mod grpc;
pub mod propagation;
mod setup;

pub use setup::{
    AUDIT_TARGET, LogFormat, Telemetry, TelemetryArgs, TelemetryConfig, audit_log_layer, init,
    install, install_with_logs,
};
