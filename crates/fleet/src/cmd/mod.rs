//! One module per subcommand.

pub mod dev;
pub mod emulator;
pub mod gateway;
pub mod healthcheck;
pub mod migrate;
pub mod scheduler;
pub mod worker;

use anyhow::Context as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Connects to `DATABASE_URL`.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<sqlx::PgPool> {
    let options: PgConnectOptions = url
        .parse()
        .context("DATABASE_URL is not a valid postgres url")?;
    PgPoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options)
        .await
        .context("cannot connect to the database (DATABASE_URL)")
}

/// Installs logging and, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, trace and metric export.
pub fn telemetry(
    args: &fleet_telemetry::TelemetryArgs,
    service: &str,
) -> anyhow::Result<fleet_telemetry::Telemetry> {
    fleet_telemetry::init(&args.config(service))
}
