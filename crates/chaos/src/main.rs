//! `fleet-chaos`: runs the chaos harness and prints its verdict. See `docs/reliability.md`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use fleet_chaos::ChaosConfig;

/// Kill, restart and storm the fleet while it works; then check nothing was lost, nothing
/// was created twice and no zone had two callers.
#[derive(Debug, Parser)]
#[command(name = "fleet-chaos", version, about)]
struct Args {
    /// Long-running operations to submit.
    #[arg(long, default_value_t = 200)]
    ops: usize,
    /// Processes to SIGKILL (and restart) among the gateway, the scheduler and the workers.
    #[arg(long, default_value_t = 10)]
    kills: usize,
    /// Postgres restarts with an immediate shutdown.
    #[arg(long, default_value_t = 1)]
    pg_restarts: usize,
    /// Length of the disrupted phase in seconds.
    #[arg(long, default_value_t = 120)]
    duration_s: u64,
    /// Longest wait for stragglers after the disrupted phase, in seconds.
    #[arg(long, default_value_t = 120)]
    settle_s: u64,
    /// A killed worker's zone with no new owner within this many seconds fails the run.
    #[arg(long, default_value_t = 10)]
    failover_bound_s: u64,
    /// Seed of the timeline, the operation mix and the emulator's faults.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker processes.
    #[arg(long, default_value_t = 3)]
    workers: usize,
    /// Servers the run's snapshot policy selects (0: no policy).
    #[arg(long, default_value_t = 3)]
    policy_servers: usize,
    /// Zones to drive (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "fr-par-1,fr-par-2,nl-ams-1,pl-waw-1"
    )]
    zones: Vec<String>,
    /// No upstream fault storms.
    #[arg(long)]
    no_storms: bool,
    /// Per-zone rate limit of the emulator, requests per second.
    #[arg(long)]
    emulator_rate_limit: Option<f64>,
    /// The emulator's transition time in milliseconds.
    #[arg(long, default_value_t = 500)]
    transition_ms: u64,
    /// The fleet binary (default: next to this one, else built with cargo).
    #[arg(long, env = "FLEET_BIN")]
    fleet_bin: Option<PathBuf>,
    /// Directory for the processes' logs (default: a new one under the temp dir).
    #[arg(long)]
    log_dir: Option<PathBuf>,
    /// No progress lines.
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = ChaosConfig {
        fleet_bin: args.fleet_bin,
        ops: args.ops,
        kills: args.kills,
        pg_restarts: args.pg_restarts,
        duration: Duration::from_secs(args.duration_s),
        settle_timeout: Duration::from_secs(args.settle_s),
        failover_bound: Duration::from_secs(args.failover_bound_s),
        seed: args.seed,
        zones: args.zones,
        workers: args.workers,
        policy_servers: args.policy_servers,
        fault_storms: !args.no_storms,
        transition_ms: args.transition_ms,
        emulator_rate_limit: args.emulator_rate_limit,
        log_dir: args.log_dir,
        verbose: !args.quiet,
    };
    match fleet_chaos::run_blocking(config) {
        Ok(report) => {
            print!("{}", report.table());
            println!("{}", report.summary_line());
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            eprintln!("fleet-chaos: {err:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn cli_is_well_formed() {
        super::Args::command().debug_assert();
    }
}
