//! `fleet worker`: owns zones, runs their jobs and serves the gateway's calls for them.

use anyhow::Context as _;
use fleet_telemetry::TelemetryArgs;
use fleet_worker::WorkerConfig;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub config: WorkerConfig,
}

pub async fn run(args: Args, telemetry: &TelemetryArgs) -> anyhow::Result<()> {
    let telemetry = super::telemetry(telemetry, "fleet-worker")?;
    let worker = args.config.build().await.context("starting the worker")?;
    tracing::info!(worker_id = %worker.id(), addr = %worker.local_addr(), "worker listening");
    let shutdown = crate::shutdown::on_signal();
    worker.run(shutdown).await?;
    telemetry.shutdown();
    Ok(())
}
