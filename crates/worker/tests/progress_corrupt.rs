//! A job whose recorded progress was corrupted in Postgres fails for good with
//! `progress_undecodable` and never calls upstream: reading the record as "nothing done yet"
//! would forget an intent and could create a second resource. The failure is counted in
//! `fleet.worker.jobs.progress_undecodable`, which the deployed alert rules watch. This test
//! binary installs an in-memory meter provider as the global one.

mod jobs_support;

use std::sync::OnceLock;
use std::time::Duration;

use fleet_core::{CreateVolumeRequest, VolumeVolumeType};
use fleet_jobs::{CreateVolumeJob, JobSpec, failure_kind};
use fleet_worker::jobs::metrics::PROGRESS_UNDECODABLE;
use jobs_support::{Env, failed};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use serde_json::{Value, json};

fn volume_job() -> JobSpec {
    JobSpec::CreateVolume(CreateVolumeJob {
        request: CreateVolumeRequest {
            name: Some("corrupt".into()),
            volume_type: Some(VolumeVolumeType::LSsd),
            size: Some(10_000_000_000),
            ..Default::default()
        },
        perf_iops: None,
    })
}

/// Enqueues a create, overwrites its `progress.state` with `state` before any worker runs,
/// runs it and checks the failure and that no upstream create (no POST) happened.
async fn corrupted_fails_without_creating(state: Value) {
    let (exporter, provider) = meter();
    let env = Env::start(Duration::from_millis(400)).await;
    let id = env.enqueue(&volume_job()).await;
    let updated =
        sqlx::query("UPDATE jobs SET progress = jsonb_set(progress, '{state}', $1) WHERE id = $2")
            .bind(&state)
            .bind(id)
            .execute(&env.pool)
            .await
            .expect("corrupt the progress")
            .rows_affected();
    assert_eq!(updated, 1);
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let job = env.wait_terminal(id, Duration::from_secs(60)).await;
    let (kind, _) = failed(&job);
    assert_eq!(kind, failure_kind::PROGRESS_UNDECODABLE, "{:?}", job.errors);
    assert_eq!(job.errors.len(), 1, "not retried: {:?}", job.errors);
    let posts: Vec<_> = env
        .emu
        .call_log()
        .into_iter()
        .filter(|c| c.method == "POST")
        .map(|c| c.path)
        .collect();
    assert!(posts.is_empty(), "upstream creates: {posts:?}");
    worker.stop().await;
    provider.force_flush().expect("flush metrics");
    assert!(
        undecodable_count(exporter, "create_volume") >= 1,
        "the failure is counted in {PROGRESS_UNDECODABLE}"
    );
}

/// The global meter provider of this test binary, installed once, and its exporter.
fn meter() -> (&'static InMemoryMetricExporter, &'static SdkMeterProvider) {
    static METER: OnceLock<(InMemoryMetricExporter, SdkMeterProvider)> = OnceLock::new();
    let (exporter, provider) = METER.get_or_init(|| {
        let exporter = InMemoryMetricExporter::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .build();
        opentelemetry::global::set_meter_provider(provider.clone());
        (exporter, provider)
    });
    (exporter, provider)
}

/// The latest exported value of the undecodable-progress counter for jobs of `operation`.
fn undecodable_count(exporter: &InMemoryMetricExporter, operation: &str) -> u64 {
    let exported = exporter.get_finished_metrics().expect("metrics");
    let Some(latest) = exported.last() else {
        return 0;
    };
    let mut total = 0;
    for metric in latest
        .scope_metrics()
        .flat_map(|scope| scope.metrics())
        .filter(|metric| metric.name() == PROGRESS_UNDECODABLE)
    {
        let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() else {
            panic!("{PROGRESS_UNDECODABLE} is not a u64 counter");
        };
        total += sum
            .data_points()
            .filter(|point| {
                point
                    .attributes()
                    .any(|kv| kv.key.as_str() == "operation" && kv.value.as_str() == operation)
            })
            .map(|point| point.value())
            .sum::<u64>();
    }
    total
}

/// The deployed alert rules watch the counter under the name Prometheus gives it (dots become
/// underscores, a counter gains `_total`), so renaming the metric breaks this test, not the alert.
#[test]
fn an_alert_rule_watches_the_counter() {
    let rules = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prometheus-rules.yaml"),
    )
    .expect("deploy/prometheus-rules.yaml");
    let exported = format!("{}_total", PROGRESS_UNDECODABLE.replace('.', "_"));
    assert!(
        rules
            .lines()
            .any(|line| line.trim_start().starts_with("expr:") && line.contains(&exported)),
        "no alert expression on {exported}"
    );
}

#[tokio::test]
async fn undecodable_step_data_fails_the_job() {
    // The handler's own record (the intent's API) holds a value of the wrong type.
    corrupted_fails_without_creating(json!({ "data": { "holder": 42 } })).await;
}

#[tokio::test]
async fn undecodable_progress_detail_fails_the_job() {
    corrupted_fails_without_creating(json!([1, 2, 3])).await;
}
