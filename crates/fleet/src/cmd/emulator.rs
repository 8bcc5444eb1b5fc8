//! `fleet emulator`: the local Scaleway Instance API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use fleet_emulator::{EmulatorConfig, RateLimit};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "FLEET_EMULATOR_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// How long transient states (`starting`, `snapshotting`, …) last.
    #[arg(long, env = "FLEET_EMULATOR_TRANSITION", default_value = "3s", value_parser = humantime::parse_duration)]
    pub transition: Duration,
    /// Per-zone rate limit in requests per second (none when unset).
    #[arg(long, env = "FLEET_EMULATOR_RATE_LIMIT")]
    pub rate_limit: Option<f64>,
    /// Burst of the per-zone rate limit (defaults to the rate).
    #[arg(long, env = "FLEET_EMULATOR_BURST")]
    pub burst: Option<u32>,
    /// Seed of ids and fault decisions.
    #[arg(long, env = "FLEET_EMULATOR_SEED", default_value_t = 0)]
    pub seed: u64,
    /// Tokens file fixing secret keys to organizations and projects.
    #[arg(long, env = "FLEET_EMULATOR_TOKENS_FILE")]
    pub tokens_file: Option<PathBuf>,
}

impl Args {
    /// The emulator configuration these arguments describe.
    pub fn config(&self) -> anyhow::Result<EmulatorConfig> {
        let rate_limit = match self.rate_limit {
            Some(rate) if rate.is_finite() && rate > 0.0 => Some(RateLimit {
                per_second: rate,
                burst: self.burst.unwrap_or_else(|| rate.ceil().max(1.0) as u32),
            }),
            Some(rate) => anyhow::bail!("--rate-limit must be a positive number, got {rate}"),
            None => None,
        };
        Ok(EmulatorConfig {
            listen: self.listen,
            transition: self.transition,
            rate_limit,
            seed: self.seed,
            tokens_file: self.tokens_file.clone(),
            ..EmulatorConfig::default()
        })
    }
}

pub async fn run(args: Args, telemetry: &fleet_telemetry::TelemetryArgs) -> anyhow::Result<()> {
    let telemetry = super::telemetry(telemetry, "fleet-emulator")?;
    let config = args.config()?;
    let shutdown = crate::shutdown::on_signal();
    fleet_emulator::run(config, shutdown.cancelled_owned(), |addr| {
        tracing::info!(%addr, "emulator listening");
        println!("emulator: http://{addr}  (SCW_API_URL=http://{addr})");
    })
    .await?;
    telemetry.shutdown();
    Ok(())
}
