//! `batch-bench` runs end to end on a small fleet, so that a change to the batch path, the
//! gateway's start or the emulator's call log that breaks the benchmark fails here rather than
//! when someone next measures. It checks the run completes and the shape of its last line;
//! the figures are measured in release builds and recorded in docs/benchmarks.md.

use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_bench_runs_and_prints_its_summary_line() {
    let url = fleet_pgcluster::testing::fresh_database().await;
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_batch-bench"))
            .env("DATABASE_URL", url)
            .args(["--servers", "20", "--zones", "2", "--rate-limit", "20"])
            .args(["--transition-ms", "500"])
            .output()
            .expect("run batch-bench")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "batch-bench failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
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
            "wall_s",
            "bound_s",
            "ratio",
            "failed",
            "max_in_flight_seen",
            "requests"
        ],
        "last line: {last}"
    );
    assert!(
        fields.iter().all(|(_, v)| v.is_finite() && *v >= 0.0),
        "every figure is a number ≥ 0: {last}"
    );
}
