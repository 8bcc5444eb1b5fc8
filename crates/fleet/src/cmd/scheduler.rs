//! `fleet scheduler`: the queue's housekeeping service.

use std::time::Duration;

use fleet_scheduler::SchedulerConfig;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Postgres URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// How often expired job leases are rescued.
    #[arg(long, env = "FLEET_SCHEDULER_RESCUE_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub rescue_interval: Duration,
    /// How long completed jobs are kept.
    #[arg(long, env = "FLEET_SCHEDULER_COMPLETED_RETENTION", default_value = "7days", value_parser = humantime::parse_duration)]
    pub completed_retention: Duration,
    /// How long failed and cancelled jobs are kept.
    #[arg(long, env = "FLEET_SCHEDULER_FAILED_RETENTION", default_value = "30days", value_parser = humantime::parse_duration)]
    pub failed_retention: Duration,
    /// How long an expired zone lease epoch stays in the lease history.
    #[arg(long, env = "FLEET_SCHEDULER_LEASE_HISTORY_RETENTION", default_value = "30days", value_parser = humantime::parse_duration)]
    pub lease_history_retention: Duration,
}

impl Args {
    pub fn config(&self) -> SchedulerConfig {
        SchedulerConfig {
            rescue_interval: self.rescue_interval,
            completed_retention: self.completed_retention,
            failed_retention: self.failed_retention,
            lease_history_retention: self.lease_history_retention,
            ..SchedulerConfig::default()
        }
    }
}

pub async fn run(args: Args, telemetry: &fleet_telemetry::TelemetryArgs) -> anyhow::Result<()> {
    let telemetry = super::telemetry(telemetry, "fleet-scheduler")?;
    let pool = super::connect(&args.database_url, 4).await?;
    let service = args.config().build(pool)?;
    let shutdown = crate::shutdown::on_signal();
    tracing::info!("scheduler running");
    service.run(shutdown).await?;
    telemetry.shutdown();
    Ok(())
}
