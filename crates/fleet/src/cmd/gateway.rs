//! `fleet gateway`: the public gRPC API.

use std::net::SocketAddr;

use anyhow::Context as _;
use fleet_gateway::GatewayConfig;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// gRPC address (overrides FLEET_GATEWAY_LISTEN, default 0.0.0.0:50051).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let telemetry = super::telemetry("fleet-gateway")?;
    let mut config = GatewayConfig::from_env().context("gateway configuration")?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    let gateway = config.build().await.context("starting the gateway")?;
    tracing::info!(addr = %gateway.local_addr(), "gateway listening");
    let shutdown = crate::shutdown::on_signal();
    gateway.run(shutdown).await?;
    telemetry.shutdown();
    Ok(())
}
