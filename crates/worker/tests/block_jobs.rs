//! The job handlers on Block Storage (SBS) resources, against the emulator's Block API: a
//! server made from an image label has an SBS root, and every storage operation works on it
//! by id as on Instance volumes, with unified results; Block creates are effectively once
//! across a crash; waits fail early with their history; server deletes leave no SBS volume.

mod jobs_support;

use std::time::Duration;

use fleet_core::block::{self, GB};
use fleet_core::{
    CreateServerRequest, CreateSnapshotRequest, CreateVolumeRequest, ExportSnapshotRequest, Maybe,
    ServerAction, ServerActionRequest, VolumeVolumeType,
};
use fleet_jobs::{
    BlockMigrationJob, CreateServerJob, CreateSnapshotJob, CreateVolumeJob, DeleteServerJob,
    DeleteServerOutput, ExportSnapshotJob, ExportSnapshotOutput, ImportBlockSnapshotJob, JobSpec,
    ServerActionJob, ServerActionOutput, UpdateBlockVolumeJob, failure_kind, job_tag,
};
use fleet_scheduler::JobState;
use jobs_support::{Env, ZONE, completed, failed, history};
use serde_json::Value;

const T: Duration = Duration::from_millis(300);

/// A server made from the `ubuntu_noble` label (an SBS root), and its root volume id.
async fn sbs_server(env: &Env, name: &str, start: bool) -> (String, String) {
    let server = completed(
        &env.run(&JobSpec::CreateServer(CreateServerJob {
            request: CreateServerRequest {
                name: Some(name.into()),
                commercial_type: Some("DEV1-S".into()),
                image: Some("ubuntu_noble".into()),
                ..Default::default()
            },
            start,
            ..Default::default()
        }))
        .await,
    );
    let root = &server["volumes"]["0"];
    assert_eq!(root["volume_type"], "sbs_volume", "{server}");
    (
        server["id"].as_str().unwrap().to_owned(),
        root["id"].as_str().unwrap().to_owned(),
    )
}

fn tags(value: &Value) -> Vec<String> {
    serde_json::from_value(value["tags"].clone()).unwrap_or_default()
}

async fn block_volumes_tagged(env: &Env, tag: &str) -> Vec<block::Volume> {
    let query = block::ListVolumesQuery {
        tags: Some(vec![tag.to_owned()]),
        ..Default::default()
    };
    env.client
        .block_list_volumes(ZONE, &query)
        .await
        .expect("block volumes list")
        .items
}

async fn block_snapshots_tagged(env: &Env, tag: &str) -> Vec<block::Snapshot> {
    let query = block::ListSnapshotsQuery {
        tags: Some(vec![tag.to_owned()]),
        ..Default::default()
    };
    env.client
        .block_list_snapshots(ZONE, &query)
        .await
        .expect("block snapshots list")
        .items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_export_restore_resize_and_import_of_an_sbs_root() {
    let env = Env::start(T).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let (_, root) = sbs_server(&env, "sbs-1", false).await;

    // Snapshot by volume id: the worker finds the volume in Block.
    let job = env
        .run(&JobSpec::CreateSnapshot(CreateSnapshotJob {
            request: CreateSnapshotRequest {
                volume_id: Some(root.clone()),
                name: Some("root-snap".into()),
                ..Default::default()
            },
        }))
        .await;
    let snapshot = completed(&job);
    assert_eq!(snapshot["api"], "block", "{snapshot}");
    assert_eq!(snapshot["volume_type"], "sbs_snapshot");
    assert_eq!(snapshot["state"], "available");
    assert_eq!(snapshot["base_volume"]["id"], root.as_str());
    assert!(tags(&snapshot).contains(&job_tag(job.id)));
    let states = history(&job);
    assert!(states.iter().any(|s| s == "creating"), "{states:?}");
    let snapshot_id = snapshot["id"].as_str().unwrap().to_owned();
    assert_eq!(
        block_snapshots_tagged(&env, &job_tag(job.id)).await.len(),
        1
    );

    // Export: the Block API answers the snapshot, no task.
    let job = env
        .run(&JobSpec::ExportSnapshot(ExportSnapshotJob {
            snapshot_id: snapshot_id.clone(),
            request: ExportSnapshotRequest {
                bucket: Some("backups".into()),
                key: Some("root.qcow2".into()),
                ..Default::default()
            },
        }))
        .await;
    let exported: ExportSnapshotOutput = serde_json::from_value(completed(&job)).unwrap();
    assert_eq!(exported.object_url, "s3://backups/root.qcow2");
    assert!(exported.task.is_none());
    let exported_snapshot = exported.snapshot.expect("the snapshot");
    assert_eq!(exported_snapshot.state.as_str(), "available");
    assert!(history(&job).iter().any(|s| s == "exporting"));

    // Restore: a volume from the Block snapshot is made in Block.
    let job = env
        .run(&JobSpec::CreateVolume(CreateVolumeJob {
            request: CreateVolumeRequest {
                name: Some("restored".into()),
                base_snapshot: Some(snapshot_id.clone()),
                ..Default::default()
            },
            perf_iops: None,
        }))
        .await;
    let restored = completed(&job);
    assert_eq!(restored["api"], "block", "{restored}");
    assert_eq!(restored["volume_type"], "sbs_volume");
    assert_eq!(restored["state"], "available");
    assert_eq!(restored["parent_snapshot_id"], snapshot_id.as_str());
    let restored_id = restored["id"].as_str().unwrap().to_owned();

    // Resize and IOPS change: waits out `updating`, answers the new values.
    let before = restored["size"].as_u64().unwrap();
    let job = env
        .run(&JobSpec::UpdateBlockVolume(UpdateBlockVolumeJob {
            volume_id: restored_id.clone(),
            request: block::UpdateVolumeRequest {
                size: Some(before + 10 * GB),
                perf_iops: Some(15000),
                ..Default::default()
            },
        }))
        .await;
    let resized = completed(&job);
    assert_eq!(resized["size"].as_u64(), Some(before + 10 * GB));
    assert_eq!(resized["perf_iops"], 15000);
    assert_eq!(resized["block_type"], "sbs_15k");
    let states = history(&job);
    assert!(states.iter().any(|s| s == "updating"), "{states:?}");
    assert_eq!(states.last().map(String::as_str), Some("available"));

    // An empty volume with IOPS is made in Block.
    let job = env
        .run(&JobSpec::CreateVolume(CreateVolumeJob {
            request: CreateVolumeRequest {
                name: Some("fast".into()),
                size: Some(20 * GB),
                ..Default::default()
            },
            perf_iops: Some(15000),
        }))
        .await;
    let fast = completed(&job);
    assert_eq!(fast["block_type"], "sbs_15k", "{fast}");
    assert_eq!(fast["size"].as_u64(), Some(20 * GB));

    // Import of the exported object.
    let job = env
        .run(&JobSpec::ImportBlockSnapshot(ImportBlockSnapshotJob {
            request: block::ImportSnapshotFromObjectStorageRequest {
                bucket: Some("backups".into()),
                key: Some("root.qcow2".into()),
                name: Some("imported".into()),
                ..Default::default()
            },
        }))
        .await;
    let imported = completed(&job);
    assert_eq!(imported["api"], "block");
    assert_eq!(imported["state"], "available");
    assert_eq!(imported["size"], exported_snapshot.size);
    assert!(tags(&imported).contains(&job_tag(job.id)));
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_block_requests_fail_with_their_reason() {
    let env = Env::start(T).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let (_, root) = sbs_server(&env, "sbs-bad", false).await;
    let volume = env.client.block_get_volume(ZONE, &root).await.unwrap();

    // Shrinking is refused by the API: an upstream failure with its body, nothing changed.
    let job = env
        .run(&JobSpec::UpdateBlockVolume(UpdateBlockVolumeJob {
            volume_id: root.clone(),
            request: block::UpdateVolumeRequest {
                size: Some(volume.size - GB),
                ..Default::default()
            },
        }))
        .await;
    let (kind, failure) = failed(&job);
    assert_eq!(kind, failure_kind::UPSTREAM);
    assert_eq!(failure.upstream["type"], "invalid_arguments", "{failure:?}");
    let after = env.client.block_get_volume(ZONE, &root).await.unwrap();
    assert_eq!(after.size, volume.size);

    // IOPS on a local volume: refused before any create.
    let job = env
        .run(&JobSpec::CreateVolume(CreateVolumeJob {
            request: CreateVolumeRequest {
                volume_type: Some(VolumeVolumeType::LSsd),
                size: Some(10 * GB),
                ..Default::default()
            },
            perf_iops: Some(5000),
        }))
        .await;
    let (kind, _) = failed(&job);
    assert_eq!(kind, failure_kind::INVALID_ARGUMENT);
    assert!(
        block_volumes_tagged(&env, &job_tag(job.id))
            .await
            .is_empty()
    );

    // A volume id neither API holds.
    let job = env
        .run(&JobSpec::ExportSnapshot(ExportSnapshotJob {
            snapshot_id: "00000000-0000-4000-8000-00000000dead".into(),
            request: ExportSnapshotRequest {
                bucket: Some("b".into()),
                key: Some("k".into()),
                ..Default::default()
            },
        }))
        .await;
    let (kind, _) = failed(&job);
    assert_eq!(kind, failure_kind::RESOURCE_GONE);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_volume_locked_while_created_fails_early_and_says_what_it_left() {
    // A slow transition, so the volume is still `creating` when the test locks it.
    let env = Env::start(Duration::from_secs(3)).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let spec = JobSpec::CreateVolume(CreateVolumeJob {
        request: CreateVolumeRequest {
            name: Some("doomed".into()),
            volume_type: Some(VolumeVolumeType::SbsVolume),
            size: Some(10 * GB),
            ..Default::default()
        },
        perf_iops: None,
    });
    let id = env.enqueue(&spec).await;
    let tag = job_tag(id);
    let volume = loop {
        if let Some(v) = block_volumes_tagged(&env, &tag).await.pop() {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(volume.status, block::VolumeStatus::Creating);
    env.emu.set_locked(volume.id.parse().unwrap(), true);
    let job = env.wait_terminal(id, Duration::from_secs(60)).await;
    let (kind, failure) = failed(&job);
    assert_eq!(kind, failure_kind::UNREACHABLE_STATE, "{failure:?}");
    assert_eq!(failure.state.as_deref(), Some("locked"));
    assert_eq!(failure.target.as_deref(), Some("available"));
    let states: Vec<&str> = failure.history.iter().map(|o| o.state.as_str()).collect();
    assert!(states.contains(&"locked"), "{states:?}");
    // The compensation tried to delete what the job made; a locked volume refuses every
    // change, so the note says it was left, and why.
    assert_eq!(failure.compensation.len(), 1, "{failure:?}");
    let note = &failure.compensation[0];
    assert!(
        note.starts_with(&format!("left volume {}: ", volume.id)) && note.contains("locked"),
        "{note}"
    );
    assert_eq!(block_volumes_tagged(&env, &tag).await.len(), 1);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_of_an_sbs_server_makes_block_snapshots() {
    let env = Env::start(T).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let (server, root) = sbs_server(&env, "sbs-backup", false).await;
    let job = env
        .run(&JobSpec::ServerAction(ServerActionJob {
            server_id: server.clone(),
            request: ServerActionRequest::new(ServerAction::Backup),
        }))
        .await;
    let output: ServerActionOutput = serde_json::from_value(completed(&job)).unwrap();
    let image = output.image.expect("the backup image");
    assert_eq!(image.state.as_str(), "available");
    let root_volume = image.root_volume.expect("a root volume");
    assert_eq!(root_volume.volume_type.as_str(), "sbs_snapshot");
    let snapshot = env
        .client
        .block_get_snapshot(ZONE, &root_volume.id)
        .await
        .expect("the backup's snapshot is a Block one");
    assert_eq!(
        snapshot.parent_volume.map(|p| p.id).as_deref(),
        Some(root.as_str())
    );
    assert!(
        snapshot
            .references
            .iter()
            .any(|r| r.product_resource_id == image.id),
        "{:?}",
        snapshot.references
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_with_its_volumes_leaves_no_sbs_volume_of_the_server() {
    let env = Env::start(T).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let (server, root) = sbs_server(&env, "sbs-del", true).await;
    let data = completed(
        &env.run(&JobSpec::CreateVolume(CreateVolumeJob {
            request: CreateVolumeRequest {
                name: Some("data".into()),
                volume_type: Some(VolumeVolumeType::SbsVolume),
                size: Some(10 * GB),
                ..Default::default()
            },
            perf_iops: None,
        }))
        .await,
    );
    let data_id = data["id"].as_str().unwrap().to_owned();
    completed(
        &env.run(&JobSpec::AttachVolume(fleet_jobs::AttachVolumeJob {
            server_id: server.clone(),
            request: fleet_core::AttachServerVolumeRequest {
                volume_id: Some(data_id.clone()),
                volume_type: Some("sbs_volume".into()),
                ..Default::default()
            },
            stop_if_needed: false,
        }))
        .await,
    );
    let attached = env.client.block_get_volume(ZONE, &data_id).await.unwrap();
    assert_eq!(attached.status, block::VolumeStatus::InUse);

    let job = env
        .run(&JobSpec::DeleteServer(DeleteServerJob {
            server_id: server.clone(),
            stop_first: true,
            delete_volumes: true,
            delete_ips: false,
        }))
        .await;
    let output: DeleteServerOutput = serde_json::from_value(completed(&job)).unwrap();
    let mut deleted = output.deleted_volumes.clone();
    deleted.sort();
    let mut expected = vec![root.clone(), data_id.clone()];
    expected.sort();
    assert_eq!(deleted, expected);
    for id in [&root, &data_id] {
        let err = env.client.block_get_volume(ZONE, id).await.unwrap_err();
        assert!(err.is_not_found(), "{id}: {err}");
    }
    let held = env
        .client
        .block_list_volumes(
            ZONE,
            &block::ListVolumesQuery {
                product_resource_id: Some(server.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(held.items.is_empty(), "{:?}", held.items);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_sbs_volume_of_a_deleted_server_fails_the_delete_with_its_history() {
    let env = Env::start(T).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let (server, root) = sbs_server(&env, "sbs-locked", false).await;
    env.emu.set_locked(root.parse().unwrap(), true);
    let job = env
        .run(&JobSpec::DeleteServer(DeleteServerJob {
            server_id: server.clone(),
            stop_first: false,
            delete_volumes: true,
            delete_ips: false,
        }))
        .await;
    let (kind, failure) = failed(&job);
    assert_eq!(kind, failure_kind::UNREACHABLE_STATE, "{failure:?}");
    assert_eq!(failure.state.as_deref(), Some("locked"));
    assert_eq!(failure.target.as_deref(), Some("detached"));
    assert!(
        failure.compensation.iter().any(|n| n.contains(&root)),
        "{failure:?}"
    );
    // The server is gone, its locked volume left in place.
    assert!(
        env.client
            .get_server(ZONE, &server)
            .await
            .unwrap_err()
            .is_not_found()
    );
    env.emu.set_locked(root.parse().unwrap(), false);
    assert!(env.client.block_get_volume(ZONE, &root).await.is_ok());
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_migration_is_followed_until_the_volume_answers_in_block() {
    let env = Env::start(T).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let volume = env
        .client
        .create_volume(
            ZONE,
            &CreateVolumeRequest {
                name: Some("legacy".into()),
                volume_type: Some(VolumeVolumeType::BSsd),
                size: Some(10 * GB),
                ..Default::default()
            },
        )
        .await
        .expect("a b_ssd volume");
    let job = env
        .run(&JobSpec::BlockMigration(BlockMigrationJob {
            volume_id: Some(volume.id.clone()),
            ..Default::default()
        }))
        .await;
    completed(&job);
    let moved = env
        .client
        .block_get_volume(ZONE, &volume.id)
        .await
        .expect("the volume answers in Block");
    assert_eq!(moved.specs.class, block::StorageClass::Bssd);
    let detail = fleet_jobs::ProgressDetail::from_state(&job.progress.state);
    assert!(
        detail
            .resource
            .as_deref()
            .is_some_and(|r| r.ends_with(&volume.id)),
        "{detail:?}"
    );
    worker.stop().await;
}

/// A worker dies between sending a Block create and recording what it made (the create
/// reaches Scaleway, its answer is lost with the process): the job's next run must adopt the
/// tagged resource instead of making a second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_create_resumed_after_a_crash_adopts_what_it_made() {
    let env = Env::start(T).await;
    let lease = Duration::from_secs(1);
    let volume_job = env
        .enqueue(&JobSpec::CreateVolume(CreateVolumeJob {
            request: CreateVolumeRequest {
                name: Some("once".into()),
                volume_type: Some(VolumeVolumeType::SbsVolume),
                size: Some(10 * GB),
                ..Default::default()
            },
            perf_iops: None,
        }))
        .await;
    let import_job = env
        .enqueue(&JobSpec::ImportBlockSnapshot(ImportBlockSnapshotJob {
            request: block::ImportSnapshotFromObjectStorageRequest {
                bucket: Some("b".into()),
                key: Some("once.qcow2".into()),
                size: Maybe::Value(10 * GB),
                ..Default::default()
            },
        }))
        .await;
    // Every call of the zone hangs: the doomed worker records its intents and is stuck in
    // the creates when it dies.
    env.emu.set_faults(fleet_emulator::Faults {
        hang_rate: 1.0,
        hang_for: Duration::from_secs(120),
        ..fleet_emulator::Faults::default()
    });
    let doomed = env.spawn_worker("doomed", lease);
    for id in [volume_job, import_job] {
        loop {
            let job = fleet_scheduler::get_job(&env.pool, id).await.unwrap();
            if job.progress.step.as_deref() == Some("create_requested") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    doomed.abort();
    env.emu.clear_faults();
    // What the lost creates did upstream.
    let made_volume = env
        .client
        .block_create_volume(
            ZONE,
            &block::CreateVolumeRequest {
                tags: Maybe::Value(vec![job_tag(volume_job)]),
                ..block::CreateVolumeRequest::empty("once", 10 * GB)
            },
        )
        .await
        .unwrap();
    let made_snapshot = env
        .client
        .block_import_snapshot_from_object_storage(
            ZONE,
            &block::ImportSnapshotFromObjectStorageRequest {
                bucket: Some("b".into()),
                key: Some("once.qcow2".into()),
                size: Maybe::Value(10 * GB),
                tags: Maybe::Value(vec![job_tag(import_job)]),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let survivor = env.spawn_worker("survivor", lease);
    let volume = completed(&env.wait_terminal(volume_job, Duration::from_secs(60)).await);
    let snapshot = completed(&env.wait_terminal(import_job, Duration::from_secs(60)).await);
    assert_eq!(volume["id"], made_volume.id.as_str(), "adopted: {volume}");
    assert_eq!(
        snapshot["id"],
        made_snapshot.id.as_str(),
        "adopted: {snapshot}"
    );
    assert_eq!(
        block_volumes_tagged(&env, &job_tag(volume_job)).await.len(),
        1
    );
    assert_eq!(
        block_snapshots_tagged(&env, &job_tag(import_job))
            .await
            .len(),
        1
    );
    let job = fleet_scheduler::get_job(&env.pool, volume_job)
        .await
        .unwrap();
    assert_eq!(job.state, JobState::Completed);
    survivor.stop().await;
}

/// Many jobs waiting on Block volumes are watched with Block list pages (total read from the
/// list body), not one GET per volume per round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_block_volumes_are_watched_with_list_pages() {
    let env = Env::start(Duration::from_secs(2)).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(
            env.enqueue(&JobSpec::CreateVolume(CreateVolumeJob {
                request: CreateVolumeRequest {
                    name: Some(format!("many-{i}")),
                    volume_type: Some(VolumeVolumeType::SbsVolume),
                    size: Some(5 * GB),
                    ..Default::default()
                },
                perf_iops: None,
            }))
            .await,
        );
    }
    for id in ids {
        let volume = completed(&env.wait_terminal(id, Duration::from_secs(60)).await);
        assert_eq!(volume["state"], "available");
    }
    let stats = worker.jobs.watcher().stats();
    let lists = stats.list_calls.load(std::sync::atomic::Ordering::Relaxed);
    assert!(lists >= 1, "no Block list page was used");
    worker.stop().await;
}
