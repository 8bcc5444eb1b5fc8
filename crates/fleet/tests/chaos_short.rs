//! CI short mode of the chaos harness (issue 10, `docs/reliability.md`): the real `fleet`
//! binary as emulator, scheduler, gateway and three workers on a private Postgres; 200
//! long-running operations while ten processes are SIGKILLed, Postgres restarts once with an
//! immediate shutdown and fault storms blow upstream. Promises 1 (nothing lost), 2 (nothing
//! created twice), 3 (one job per request_id) and 4 (every call inside its epoch's lease,
//! bounded failover) must hold, every batch among them must end with each child run once and
//! its counts its children's, the snapshot policy over a few of the run's servers must fire
//! each slot once with none lost and make one snapshot per volume per slot, and no process may
//! die unplanned.
//!
//! The seed fixes the timeline, the operation mix and the request ids; set `FLEET_CHAOS_SEED`
//! to replay another one. Run with `--nocapture` to see the summary table.

use std::time::Duration;

use fleet_chaos::ChaosConfig;

#[test]
fn chaos_short_mode_keeps_the_promises() {
    let seed = std::env::var("FLEET_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let config = ChaosConfig {
        fleet_bin: Some(env!("CARGO_BIN_EXE_fleet").into()),
        ops: 200,
        kills: 10,
        pg_restarts: 1,
        duration: Duration::from_secs(100),
        settle_timeout: Duration::from_secs(120),
        seed,
        verbose: true,
        ..ChaosConfig::default()
    };
    let report = match fleet_chaos::run_blocking(config) {
        Ok(report) => report,
        Err(err) => panic!("the chaos run could not be carried out: {err:#}"),
    };
    print!("{}", report.table());
    println!("{}", report.summary_line());

    assert_eq!(
        report.lost, 0,
        "operations lost (never finished, or given up on without a definite refusal)"
    );
    assert_eq!(
        report.terminal, report.ops,
        "every accepted operation is terminal"
    );
    assert_eq!(report.once.duplicates, 0, "resources created twice");
    assert_eq!(
        report.once.missing, 0,
        "successful creates without their resource"
    );
    assert_eq!(
        report.jobs.duplicate_jobs, 0,
        "more than one job for a (caller, method, request_id)"
    );
    assert_eq!(
        report.orphans.orphans, 0,
        "resources no completed job accounts for"
    );
    assert_eq!(
        report.batches.faults,
        Vec::<String>::new(),
        "batches that broke a promise"
    );
    assert!(report.batches.batches > 0, "the mix ran batches");
    assert_eq!(
        report.policies.faults,
        Vec::<String>::new(),
        "the snapshot policy broke a promise"
    );
    assert!(
        report.policies.created && report.policies.slots >= 3,
        "the policy fired its slots: {:?}",
        report.policies
    );
    assert_eq!(
        report.owners.double_owner_calls, 0,
        "calls outside their epoch's lease"
    );
    assert!(
        report.unexpected_exits.is_empty(),
        "processes died unplanned: {:?}",
        report.unexpected_exits
    );
    assert_eq!(
        report.late_failovers, 0,
        "zones of a killed owner not re-owned within {:?}",
        report.failover_bound
    );
    // Definite refusals (a documented error) are allowed but rare.
    assert!(
        report.ops >= 190,
        "most operations are accepted: {}",
        report.ops
    );
    assert_eq!(report.kills.len(), 10);
    assert_eq!(report.pg_restarts.len(), 1);
    assert!(report.passed(), "the verdict agrees with the checks");
}
