//! The benchmark binary runs end to end on a small job count, so a schema change that breaks it
//! (as a new foreign key to `jobs` once did) fails here rather than when someone next measures.
//! It asserts the run completes and prints its machine-readable last line; the figures
//! themselves are measured in release builds and recorded in docs/benchmarks.md.

use std::process::Command;

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
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "scheduler-bench failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    let last = stdout.lines().last().unwrap_or_default();
    let fields: Vec<(&str, f64)> = last
        .split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("key=value");
            (k, v.parse::<f64>().expect("numeric value"))
        })
        .collect();
    let keys: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys,
        [
            "drain_jobs_per_sec",
            "enqueue_to_start_p50_ms",
            "enqueue_to_start_p99_ms",
            "ceiling_jobs_per_sec"
        ],
        "last line: {last}"
    );
    assert!(
        fields.iter().all(|(_, v)| v.is_finite() && *v > 0.0),
        "every figure is a positive number: {last}"
    );
    assert!(
        stdout.contains("drain: 300 jobs") && stdout.contains("ceiling: 300 jobs"),
        "both timed phases processed every job:\n{stdout}"
    );
}
