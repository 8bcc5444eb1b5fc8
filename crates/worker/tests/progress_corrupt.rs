//! A job whose recorded progress was corrupted in Postgres fails for good with
//! `progress_undecodable` and never calls upstream: reading the record as "nothing done yet"
//! would forget an intent and could create a second resource.

mod jobs_support;

use std::time::Duration;

use fleet_core::{CreateVolumeRequest, VolumeVolumeType};
use fleet_jobs::{CreateVolumeJob, JobSpec, failure_kind};
use jobs_support::{Env, failed};
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
