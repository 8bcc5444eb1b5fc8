//! Job and queue metrics (OpenTelemetry, global meter provider):
//!
//! * `fleet.job.run.duration` (histogram, s): one handler run, by `job.kind`, `zone` and
//!   `outcome` (complete, snooze, retry, fail, cancelled).
//! * `fleet.queue.jobs` (gauge): unfinished jobs by `state`, `job.kind` and `zone`.
//! * `fleet.queue.oldest_due_age` (gauge, s): how long the oldest due job of each group has
//!   waited, by `state`, `job.kind` and `zone`.
//!
//! The queue gauges are sampled by the scheduler service ([`sample_queue`]) rather than on
//! every enqueue, so their cost does not grow with traffic.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Gauge, Histogram};
use sqlx::PgPool;

use crate::error::Result;
use crate::runner::Outcome;
use crate::stats::queue_stats;

pub const JOB_RUN_DURATION: &str = "fleet.job.run.duration";
pub const QUEUE_JOBS: &str = "fleet.queue.jobs";
pub const QUEUE_OLDEST_DUE_AGE: &str = "fleet.queue.oldest_due_age";

struct Instruments {
    run_duration: Histogram<f64>,
    queue_jobs: Gauge<u64>,
    queue_age: Gauge<f64>,
}

fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = opentelemetry::global::meter("fleet.scheduler");
        Instruments {
            run_duration: meter
                .f64_histogram(JOB_RUN_DURATION)
                .with_unit("s")
                .with_description("Duration of one run of a job handler")
                .build(),
            queue_jobs: meter
                .u64_gauge(QUEUE_JOBS)
                .with_description("Unfinished jobs by state, kind and zone")
                .build(),
            queue_age: meter
                .f64_gauge(QUEUE_OLDEST_DUE_AGE)
                .with_unit("s")
                .with_description("Wait of the oldest due job by state, kind and zone")
                .build(),
        }
    })
}

fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Complete(_) => "complete",
        Outcome::Snooze { .. } => "snooze",
        Outcome::Retry(_) => "retry",
        Outcome::Fail(_) => "fail",
        Outcome::Cancelled | Outcome::CancelledWith(_) => "cancelled",
    }
}

pub(crate) fn record_run(kind: &str, zone: &str, outcome: &Outcome, elapsed: Duration) {
    instruments().run_duration.record(
        elapsed.as_secs_f64(),
        &[
            KeyValue::new("job.kind", kind.to_owned()),
            KeyValue::new("zone", zone.to_owned()),
            KeyValue::new("outcome", outcome_name(outcome)),
        ],
    );
}

/// Samples the queue's depth and age into the gauges. Groups that emptied since the last
/// sample are reported as zero so dashboards do not show a stale depth.
pub async fn sample_queue(pool: &PgPool, previous: &mut Vec<[String; 3]>) -> Result<()> {
    let stats = queue_stats(pool).await?;
    let instruments = instruments();
    let mut seen = Vec::with_capacity(stats.len());
    for stat in &stats {
        let key = [
            stat.state.as_str().to_owned(),
            stat.kind.clone(),
            stat.zone.clone(),
        ];
        let attributes = attributes(&key);
        instruments
            .queue_jobs
            .record(u64::try_from(stat.count).unwrap_or(0), &attributes);
        instruments
            .queue_age
            .record(stat.oldest_due_age_secs, &attributes);
        seen.push(key);
    }
    for gone in previous.iter().filter(|key| !seen.contains(key)) {
        let attributes = attributes(gone);
        instruments.queue_jobs.record(0, &attributes);
        instruments.queue_age.record(0.0, &attributes);
    }
    *previous = seen;
    Ok(())
}

fn attributes(key: &[String; 3]) -> [KeyValue; 3] {
    [
        KeyValue::new("state", key[0].clone()),
        KeyValue::new("job.kind", key[1].clone()),
        KeyValue::new("zone", key[2].clone()),
    ]
}
