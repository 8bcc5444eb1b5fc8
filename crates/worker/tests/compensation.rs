//! No orphans: a server create that ends without its server — cancelled, failed for good
//! after the create, or out of attempts — removes the server it made and records what it did
//! in the job's last error entry; and the orphan sweeper finds the servers of jobs that ended
//! without them, and only those.

mod jobs_support;

use std::collections::BTreeMap;
use std::time::Duration;

use fleet_core::{CreateServerRequest, ListServersQuery};
use fleet_jobs::{CreateServerJob, Failure, JobSpec, failure_kind, job_tag};
use fleet_scheduler::{Job, JobState, NewJob};
use jobs_support::{Env, ZONE, failed};

fn spec(name: &str, user_data: BTreeMap<String, Vec<u8>>, start: bool) -> JobSpec {
    JobSpec::CreateServer(CreateServerJob {
        request: CreateServerRequest {
            name: Some(name.into()),
            commercial_type: Some("DEV1-S".into()),
            image: Some("ubuntu_noble".into()),
            ..CreateServerRequest::default()
        },
        user_data,
        start,
    })
}

/// The servers carrying job `id`'s tag.
async fn tagged(env: &Env, id: i64) -> Vec<String> {
    let query = ListServersQuery {
        tags: Some(vec![job_tag(id)]),
        ..ListServersQuery::default()
    };
    let page = env.client.list_servers(ZONE, &query).await.unwrap();
    page.items.into_iter().map(|s| s.id).collect()
}

/// Waits until no server carries job `id`'s tag (a terminate takes one transition).
async fn no_server_left(env: &Env, id: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = tagged(env, id).await;
        if left.is_empty() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "job {id} left servers {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every volume the compensation says it deleted is gone (at least one: the root volume).
async fn assert_volumes_deleted(env: &Env, failure: &Failure) {
    let deleted: Vec<&str> = failure
        .compensation
        .iter()
        .filter_map(|n| n.strip_prefix("deleted volume "))
        .collect();
    assert!(
        !deleted.is_empty(),
        "the root volume is deleted: {failure:?}"
    );
    for id in deleted {
        let err = env.client.block_get_volume(ZONE, id).await.unwrap_err();
        assert!(err.is_not_found(), "volume {id}: {err}");
    }
}

/// The server the job recorded (from its progress).
fn recorded_server(job: &Job) -> String {
    let detail = fleet_jobs::ProgressDetail::from_state(&job.progress.state);
    let resource = detail.resource.expect("the created server is named");
    resource.rsplit('/').next().unwrap().to_owned()
}

async fn wait_step(env: &Env, id: i64, step: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let job = fleet_scheduler::get_job(&env.pool, id).await.unwrap();
        if job.progress.step.as_deref() == Some(step) {
            return;
        }
        assert!(
            !job.state.is_terminal() && tokio::time::Instant::now() < deadline,
            "job {id} never reached step {step}: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_cancelled_during_the_boot_removes_its_server() {
    // Transitions long enough to cancel while the server is `starting`.
    let env = Env::start(Duration::from_secs(2)).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let id = env.enqueue(&spec("cancel-me", BTreeMap::new(), true)).await;
    wait_step(&env, id, "poweron_waiting").await;
    let server_id = {
        let job = fleet_scheduler::get_job(&env.pool, id).await.unwrap();
        recorded_server(&job)
    };
    assert_eq!(tagged(&env, id).await, vec![server_id.clone()]);
    // The job waits (snoozed): the cancel goes through its handler.
    let outcome = fleet_scheduler::cancel_job(&env.pool, id).await.unwrap();
    assert_eq!(outcome, fleet_scheduler::CancelOutcome::Requested);
    let job = env.wait_terminal(id, Duration::from_secs(30)).await;
    assert_eq!(job.state, JobState::Cancelled, "{:?}", job.errors);
    let last = job.errors.last().expect("an error entry");
    assert_eq!(last.kind, failure_kind::CANCELLED);
    let failure = Failure::from_details(&last.details);
    assert!(
        failure
            .compensation
            .iter()
            .any(|n| n.contains(&server_id) && n.contains("terminated")),
        "{failure:?}"
    );
    assert!(failure.left.is_empty(), "{failure:?}");
    assert_eq!(job.progress.step.as_deref(), Some("compensated"));
    no_server_left(&env, id).await;
    assert_volumes_deleted(&env, &failure).await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_user_data_failure_after_the_create_removes_the_server() {
    let env = Env::start(Duration::from_millis(300)).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    // The API refuses keys over 255 characters: `invalid_arguments`, after the create.
    let user_data = BTreeMap::from([("k".repeat(300), b"#!/bin/sh".to_vec())]);
    let id = env.enqueue(&spec("bad-user-data", user_data, true)).await;
    let job = env.wait_terminal(id, Duration::from_secs(30)).await;
    let (kind, failure) = failed(&job);
    assert_eq!(kind, failure_kind::UPSTREAM, "{failure:?}");
    assert_eq!(failure.status, Some(400), "{failure:?}");
    let server_id = recorded_server(&job);
    assert!(
        failure
            .compensation
            .iter()
            .any(|n| n == &format!("deleted server {server_id}")),
        "{failure:?}"
    );
    no_server_left(&env, id).await;
    // The root volume the create made (a Block volume) is deleted too.
    assert!(failure.left.is_empty(), "{failure:?}");
    assert_volumes_deleted(&env, &failure).await;
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_out_of_attempts_removes_its_server() {
    let env = Env::start(Duration::from_millis(300)).await;
    // Every user-data answer is lost after the API acted: a transient error each time.
    env.emu.set_faults(fleet_emulator::Faults {
        lost_answers: vec![fleet_emulator::LostAnswers {
            operation: fleet_core::catalog::Operation::SetServerUserData,
            count: 1000,
        }],
        ..fleet_emulator::Faults::default()
    });
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let spec = spec(
        "flaky-user-data",
        BTreeMap::from([("cloud-init".to_owned(), b"#!/bin/sh".to_vec())]),
        true,
    );
    let job = NewJob::new(spec.kind(), ZONE.as_str(), spec.to_args())
        .caller("test")
        .max_attempts(2);
    let id = fleet_scheduler::enqueue(&env.pool, &job).await.unwrap().id;
    let job = env.wait_terminal(id, Duration::from_secs(30)).await;
    let (kind, failure) = failed(&job);
    assert_eq!(kind, failure_kind::UNAVAILABLE, "{failure:?}");
    assert_eq!(job.attempt, 2, "both attempts were used");
    let server_id = recorded_server(&job);
    assert!(
        failure
            .compensation
            .iter()
            .any(|n| n == &format!("deleted server {server_id}")),
        "{failure:?}"
    );
    no_server_left(&env, id).await;
    assert_volumes_deleted(&env, &failure).await;
    worker.stop().await;
}

/// A server made directly on the emulator with `tags`.
async fn server_tagged(env: &Env, name: &str, tag: String) -> String {
    let request = CreateServerRequest {
        name: Some(name.into()),
        commercial_type: Some("DEV1-S".into()),
        image: Some("ubuntu_noble".into()),
        tags: Some(vec![tag]),
        ..CreateServerRequest::default()
    };
    env.client.create_server(ZONE, &request).await.unwrap().id
}

async fn set_state(env: &Env, id: i64, state: &str, result: serde_json::Value) {
    sqlx::query("UPDATE jobs SET state = $2, result = $3, finished_at = now() WHERE id = $1")
        .bind(id)
        .bind(state)
        .bind(result)
        .execute(&env.pool)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_finds_servers_of_ended_jobs_and_leaves_running_ones() {
    use fleet_worker::jobs::sweeper::{SweepAction, SweepMode};
    let env = Env::start(Duration::from_millis(300)).await;
    let spec = spec("sweep", BTreeMap::new(), false);
    let failed_job = env.enqueue(&spec).await;
    let running_job = env.enqueue(&spec).await;
    let completed_job = env.enqueue(&spec).await;
    set_state(&env, failed_job, "failed", serde_json::Value::Null).await;
    let orphan = server_tagged(&env, "orphan", job_tag(failed_job)).await;
    let live = server_tagged(&env, "live", job_tag(running_job)).await;
    // A completed job keeps the server its result names; a second one it tagged is an orphan.
    let kept = server_tagged(&env, "kept", job_tag(completed_job)).await;
    let extra = server_tagged(&env, "extra", job_tag(completed_job)).await;
    set_state(
        &env,
        completed_job,
        "completed",
        serde_json::json!({ "id": kept }),
    )
    .await;
    let untagged = env
        .client
        .create_server(ZONE, &{
            let mut r = CreateServerRequest {
                name: Some("untagged".into()),
                commercial_type: Some("DEV1-S".into()),
                image: Some("ubuntu_noble".into()),
                ..CreateServerRequest::default()
            };
            r.tags = Some(vec!["fleet-job=not-a-number".into()]);
            r
        })
        .await
        .unwrap()
        .id;
    let (jobs, _guard) = env.zone_jobs("w1");

    let found = jobs.sweep_orphans(SweepMode::Report).await.unwrap();
    let mut names: Vec<_> = found
        .iter()
        .map(|o| (o.job_id, o.resource.clone()))
        .collect();
    names.sort();
    let name = |id: &str| format!("zones/{}/servers/{id}", ZONE.as_str());
    let mut expected = vec![(failed_job, name(&orphan)), (completed_job, name(&extra))];
    expected.sort();
    assert_eq!(names, expected, "{found:?}");
    assert!(found.iter().all(|o| o.action == SweepAction::Reported));
    // Report only: every server is still there.
    for id in [&orphan, &live, &kept, &extra, &untagged] {
        env.client.get_server(ZONE, id).await.unwrap();
    }

    let found = jobs.sweep_orphans(SweepMode::Delete).await.unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found.iter().all(|o| o.action == SweepAction::Deleted),
        "{found:?}"
    );
    for id in [&orphan, &extra] {
        let err = env.client.get_server(ZONE, id).await.unwrap_err();
        assert!(err.is_not_found(), "{id}: {err}");
    }
    for id in [&live, &kept, &untagged] {
        env.client.get_server(ZONE, id).await.unwrap();
    }
    assert!(
        jobs.sweep_orphans(SweepMode::Delete)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The storage a job tags is swept like its servers: Instance volumes and snapshots, Block
/// volumes and snapshots of a failed job are orphans (an attached one waits), the one a
/// completed job names is kept, untagged ones are never touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_finds_storage_of_ended_jobs() {
    use fleet_core::{CreateSnapshotRequest, CreateVolumeRequest, Maybe, VolumeVolumeType, block};
    use fleet_jobs::ResourceKind;
    use fleet_worker::jobs::sweeper::{SweepAction, SweepMode};
    const GB: u64 = 1_000_000_000;
    let env = Env::start(Duration::from_millis(300)).await;
    let spec = spec("sweep", BTreeMap::new(), false);
    let failed_job = env.enqueue(&spec).await;
    let completed_job = env.enqueue(&spec).await;
    set_state(&env, failed_job, "failed", serde_json::Value::Null).await;
    let c = &env.client;
    let instance_volume = |name: &str, tags: Vec<String>| CreateVolumeRequest {
        name: Some(name.into()),
        volume_type: Some(VolumeVolumeType::LSsd),
        size: Some(10 * GB),
        tags: Some(tags),
        ..CreateVolumeRequest::default()
    };
    let volume = c
        .create_volume(ZONE, &instance_volume("orphan", vec![job_tag(failed_job)]))
        .await
        .unwrap()
        .id;
    let untagged = c
        .create_volume(ZONE, &instance_volume("untagged", Vec::new()))
        .await
        .unwrap()
        .id;
    let snapshot = c
        .create_snapshot(
            ZONE,
            &CreateSnapshotRequest {
                name: Some("orphan".into()),
                volume_id: Some(untagged.clone()),
                tags: Some(vec![job_tag(failed_job)]),
                ..CreateSnapshotRequest::default()
            },
        )
        .await
        .unwrap()
        .snapshot
        .id;
    let block_volume = |name: &str, job: i64| block::CreateVolumeRequest {
        tags: Maybe::Value(vec![job_tag(job)]),
        ..block::CreateVolumeRequest::empty(name, 10 * GB)
    };
    let block_orphan = c
        .block_create_volume(ZONE, &block_volume("orphan", failed_job))
        .await
        .unwrap()
        .id;
    let block_kept = c
        .block_create_volume(ZONE, &block_volume("kept", completed_job))
        .await
        .unwrap()
        .id;
    set_state(
        &env,
        completed_job,
        "completed",
        serde_json::json!({ "id": block_kept }),
    )
    .await;
    // A Block volume is snapshotted once it is available.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while c.block_get_volume(ZONE, &block_kept).await.unwrap().status
        != block::VolumeStatus::Available
    {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let block_snapshot = c
        .block_create_snapshot(
            ZONE,
            &block::CreateSnapshotRequest {
                volume_id: Some(block_kept.clone()),
                name: Some("orphan".into()),
                tags: Maybe::Value(vec![job_tag(failed_job)]),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id;
    let (jobs, _guard) = env.zone_jobs("w1");

    let found = jobs.sweep_orphans(SweepMode::Report).await.unwrap();
    let mut kinds: Vec<_> = found.iter().map(|o| (o.kind, o.resource.clone())).collect();
    kinds.sort();
    let name = |kind: ResourceKind, id: &str| fleet_jobs::resource_name(ZONE.as_str(), kind, id);
    let mut expected = vec![
        (ResourceKind::Volume, name(ResourceKind::Volume, &volume)),
        (
            ResourceKind::Snapshot,
            name(ResourceKind::Snapshot, &snapshot),
        ),
        (
            ResourceKind::BlockVolume,
            name(ResourceKind::BlockVolume, &block_orphan),
        ),
        (
            ResourceKind::BlockSnapshot,
            name(ResourceKind::BlockSnapshot, &block_snapshot),
        ),
    ];
    expected.sort();
    assert_eq!(kinds, expected, "{found:?}");
    assert!(found.iter().all(|o| o.job_id == failed_job));

    // Deleted once settled (a snapshot or volume still being created waits for a later sweep).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found = jobs.sweep_orphans(SweepMode::Delete).await.unwrap();
        if found.is_empty() {
            break;
        }
        assert!(
            found
                .iter()
                .all(|o| matches!(o.action, SweepAction::Deleted | SweepAction::Waiting)),
            "{found:?}"
        );
        assert!(tokio::time::Instant::now() < deadline, "{found:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        c.get_volume(ZONE, &volume)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        c.get_snapshot(ZONE, &snapshot)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        c.block_get_volume(ZONE, &block_orphan)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        c.block_get_snapshot(ZONE, &block_snapshot)
            .await
            .unwrap_err()
            .is_not_found()
    );
    c.get_volume(ZONE, &untagged).await.unwrap();
    c.block_get_volume(ZONE, &block_kept).await.unwrap();
}

/// The zone's watcher task runs the sweeper at its interval, in the configured mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_zone_owner_sweeps_at_its_interval() {
    let env = Env::start(Duration::from_millis(300)).await;
    let job = env.enqueue(&spec("sweep", BTreeMap::new(), false)).await;
    set_state(&env, job, "cancelled", serde_json::Value::Null).await;
    let orphan = server_tagged(&env, "orphan", job_tag(job)).await;
    let settings = fleet_worker::jobs::JobSettings {
        sweep_mode: fleet_worker::jobs::sweeper::SweepMode::Delete,
        sweep_interval: Duration::from_millis(200),
        ..jobs_support::fast_settings()
    };
    let worker = env.spawn_worker_with("w1", Duration::from_secs(30), settings);
    no_server_left(&env, job).await;
    let err = env.client.get_server(ZONE, &orphan).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    worker.stop().await;
}
