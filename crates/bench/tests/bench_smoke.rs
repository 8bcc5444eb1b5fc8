//! The benchmark binary runs end to end on a small job count, so a schema change that breaks it
//! (as a new foreign key to `jobs` once did) fails here rather than when someone next measures.
//! It asserts the run completes and prints its machine-readable last line; the figures
//! themselves are measured in release builds and recorded in docs/benchmarks.md.

mod support;

use std::process::Command;

use support::Summary;

#[test]
fn scheduler_bench_runs_and_prints_its_summary_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_scheduler-bench"))
        .env("DATABASE_URL", fleet_pgcluster::testing::server_url())
        .args([
            "--jobs",
            "300",
            "--concurrency",
            "50",
            "--claim-batch",
            "50",
            "--completion-batch",
            "50",
            "--latency-rate",
            "50",
            "--latency-secs",
            "1",
        ])
        .output()
        .expect("run scheduler-bench");
    let run = Summary::of("scheduler-bench", &output);
    assert_eq!(
        run.keys(),
        [
            "drain_jobs_per_sec",
            "enqueue_to_start_p50_ms",
            "enqueue_to_start_p99_ms",
            "ceiling_jobs_per_sec"
        ],
        "last line: {}",
        run.last
    );
    assert!(
        run.fields.iter().all(|(_, v)| v.is_finite() && *v > 0.0),
        "every figure is a positive number: {}",
        run.last
    );
    assert!(
        run.stdout.contains("drain: 300 jobs") && run.stdout.contains("ceiling: 300 jobs"),
        "both timed phases processed every job:\n{}",
        run.stdout
    );
}
