//! `fleet`: every role of the system as a subcommand. See `fleet --help`.

mod cmd;
mod legacy_env;
mod shutdown;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};

/// Fleet automation for Scaleway Instances.
#[derive(Debug, Parser)]
#[command(name = "fleet", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    telemetry: fleet_telemetry::TelemetryArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every role in one process: gateway, worker, scheduler, and (unless DATABASE_URL and
    /// SCW_SECRET_KEY are set) a private Postgres and the Scaleway emulator.
    Dev(cmd::dev::Args),
    /// Serve the public gRPC API.
    Gateway(cmd::gateway::Args),
    /// Own zones, run their jobs and serve the gateway's calls for them.
    Worker(cmd::worker::Args),
    /// Serve the local Scaleway Instance API emulator.
    Emulator(cmd::emulator::Args),
    /// Apply the database migrations and exit.
    Migrate(cmd::migrate::Args),
    /// Run the scheduler service (rescues expired leases, fires schedules, prunes).
    Scheduler(cmd::scheduler::Args),
    /// Probe a running role (for container health checks in images without a shell).
    Healthcheck(cmd::healthcheck::Args),
}

fn main() -> ExitCode {
    let (args, deprecations) =
        legacy_env::translate(&Cli::command(), std::env::args_os(), |name| {
            std::env::var(name).ok()
        });
    for deprecation in deprecations {
        eprintln!("fleet: {deprecation}");
    }
    let cli = Cli::parse_from(args);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("fleet: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let telemetry = cli.telemetry;
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Dev(args) => cmd::dev::run(args, &telemetry).await,
            Command::Gateway(args) => cmd::gateway::run(args, &telemetry).await,
            Command::Worker(args) => cmd::worker::run(args, &telemetry).await,
            Command::Emulator(args) => cmd::emulator::run(args, &telemetry).await,
            Command::Migrate(args) => cmd::migrate::run(args, &telemetry).await,
            Command::Scheduler(args) => cmd::scheduler::run(args, &telemetry).await,
            Command::Healthcheck(args) => cmd::healthcheck::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("fleet: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn cli_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
