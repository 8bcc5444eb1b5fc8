//! `fleet gateway`: the public gRPC API.

use anyhow::Context as _;
use fleet_gateway::GatewayConfig;
use fleet_telemetry::TelemetryArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub config: GatewayConfig,
}

pub async fn run(args: Args, telemetry: &TelemetryArgs) -> anyhow::Result<()> {
    let telemetry = super::telemetry(telemetry, "fleet-gateway")?;
    let gateway = args.config.build().await.context("starting the gateway")?;
    tracing::info!(addr = %gateway.local_addr(), "gateway listening");
    let shutdown = crate::shutdown::on_signal();
    gateway.run(shutdown).await?;
    telemetry.shutdown();
    Ok(())
}
