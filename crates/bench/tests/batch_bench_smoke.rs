//! `batch-bench` runs end to end on a small fleet, so that a change to the batch path, the
//! gateway's start or the emulator's call log that breaks the benchmark fails here rather than
//! when someone next measures. It checks the run completes and the shape of its last line;
//! the figures are measured in release builds and recorded in docs/benchmarks.md.

mod support;

use std::process::Command;

use support::Summary;

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
    let run = Summary::of("batch-bench", &output);
    assert_eq!(
        run.keys(),
        [
            "wall_s",
            "bound_s",
            "ratio",
            "failed",
            "max_in_flight_seen",
            "requests"
        ],
        "last line: {}",
        run.last
    );
    assert!(
        run.fields.iter().all(|(_, v)| v.is_finite() && *v >= 0.0),
        "every figure is a number ≥ 0: {}",
        run.last
    );
}
