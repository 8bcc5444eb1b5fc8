//! The job handlers' metrics on the global meter `fleet.worker` (beside the ownership ones).

use fleet_core::Zone;
use opentelemetry::KeyValue;

/// Jobs failed because their recorded progress did not decode (alerted on: any is a bug or a
/// corrupted row, and the job may have left something upstream).
pub const PROGRESS_UNDECODABLE: &str = "fleet.worker.jobs.progress_undecodable";

fn progress_undecodable() -> &'static opentelemetry::metrics::Counter<u64> {
    static COUNTER: std::sync::OnceLock<opentelemetry::metrics::Counter<u64>> =
        std::sync::OnceLock::new();
    COUNTER.get_or_init(|| {
        opentelemetry::global::meter("fleet.worker")
            .u64_counter(PROGRESS_UNDECODABLE)
            .with_description("Jobs failed because their recorded progress does not decode")
            .build()
    })
}

/// Counts one job of `kind` in `zone` failed for undecodable progress.
pub(super) fn record_progress_undecodable(zone: Zone, kind: &str) {
    progress_undecodable().add(
        1,
        &[
            KeyValue::new("zone", zone.as_str().to_owned()),
            KeyValue::new("operation", kind.to_owned()),
        ],
    );
}
