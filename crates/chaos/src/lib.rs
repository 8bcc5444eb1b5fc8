//! The chaos harness of the reliability suite (issue 10).
//!
//! [`run`] starts the real `fleet` binaries (emulator, scheduler, gateway and several
//! workers) against a private Postgres, drives long-running operations through the gateway,
//! and meanwhile SIGKILLs and restarts processes, restarts Postgres with an immediate
//! shutdown and turns fault storms on in the emulator, all on a timeline drawn from a seed
//! ([`plan`]). A snapshot policy fires every ten seconds over a few of the driver's servers
//! meanwhile ([`policies`]). At the end it checks the promises of the design brief ([`analysis`]) and
//! returns a [`Report`]. See `docs/reliability.md`.

pub mod accounting;
pub mod analysis;
pub mod batches;
pub mod binary;
pub mod driver;
pub mod emulator;
mod harness;
pub mod plan;
pub mod policies;
pub mod procs;
pub mod report;

use std::path::PathBuf;
use std::time::Duration;

pub use harness::{run, run_blocking};
pub use report::Report;

/// What a run does. `Default` is the CI short mode minus the binary path.
#[derive(Debug, Clone)]
pub struct ChaosConfig {
    /// The `fleet` binary; `None`: `FLEET_BIN`, then next to the running executable, then
    /// built with cargo.
    pub fleet_bin: Option<PathBuf>,
    /// Long-running operations to submit.
    pub ops: usize,
    /// Processes to SIGKILL (each restarted after 0.5-3 s).
    pub kills: usize,
    /// Postgres immediate restarts.
    pub pg_restarts: usize,
    /// Length of the disrupted phase; submissions fill its first three quarters.
    pub duration: Duration,
    /// Bound of the wait for stragglers after the disrupted phase.
    pub settle_timeout: Duration,
    /// A killed worker's zone with no new owner within this fails the run.
    pub failover_bound: Duration,
    /// Seeds the timeline, the operation mix, the request ids and the emulator's faults.
    pub seed: u64,
    /// Zones the operations and the workers cover.
    pub zones: Vec<String>,
    /// Worker processes.
    pub workers: usize,
    /// Servers the snapshot policy of the run selects (`policies`); 0: no policy.
    pub policy_servers: usize,
    /// Whether fault storms blow.
    pub fault_storms: bool,
    /// The emulator's transition time (starting, stopping, snapshotting, …).
    pub transition_ms: u64,
    /// Per-zone rate limit of the emulator (requests per second), none when `None`.
    pub emulator_rate_limit: Option<f64>,
    /// Where process logs go; `None`: a fresh directory under the system temp dir.
    pub log_dir: Option<PathBuf>,
    /// Progress lines on stderr.
    pub verbose: bool,
}

impl Default for ChaosConfig {
    fn default() -> Self {
        Self {
            fleet_bin: None,
            ops: 200,
            kills: 10,
            pg_restarts: 1,
            duration: Duration::from_secs(120),
            settle_timeout: Duration::from_secs(120),
            // Lease TTL 2 s: a dead owner's zones move within a few TTLs.
            failover_bound: Duration::from_secs(10),
            seed: 1,
            zones: ["fr-par-1", "fr-par-2", "nl-ams-1", "pl-waw-1"]
                .map(str::to_owned)
                .to_vec(),
            workers: 3,
            policy_servers: 3,
            fault_storms: true,
            transition_ms: 500,
            emulator_rate_limit: None,
            log_dir: None,
            verbose: true,
        }
    }
}
