//! `fleet migrate`: applies the migrations (safe to run from several processes at once).

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Postgres URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
}

pub async fn run(args: Args, telemetry: &fleet_telemetry::TelemetryArgs) -> anyhow::Result<()> {
    let telemetry = super::telemetry(telemetry, "fleet-migrate")?;
    let pool = super::connect(&args.database_url, 2).await?;
    fleet_scheduler::migrate(&pool).await?;
    let applied = fleet_scheduler::MIGRATOR.iter().count();
    tracing::info!(migrations = applied, "database is up to date");
    println!("migrations applied: {applied}");
    pool.close().await;
    telemetry.shutdown();
    Ok(())
}
