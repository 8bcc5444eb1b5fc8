//! `fleet worker`: owns zones, runs their jobs and serves the gateway's calls for them.

use std::net::SocketAddr;

use anyhow::Context as _;
use fleet_worker::WorkerConfig;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Internal gRPC address (overrides FLEET_WORKER_LISTEN, default 0.0.0.0:50052).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let telemetry = super::telemetry("fleet-worker")?;
    let mut config = WorkerConfig::from_env().context("worker configuration")?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    let worker = config.build().await.context("starting the worker")?;
    tracing::info!(worker_id = %worker.id(), addr = %worker.local_addr(), "worker listening");
    let shutdown = crate::shutdown::on_signal();
    worker.run(shutdown).await?;
    telemetry.shutdown();
    Ok(())
}
