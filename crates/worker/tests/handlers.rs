//! End-to-end tests of the job handlers: a job is enqueued, a runner with `ZoneJobs` for
//! the zone runs it against the emulator, and the result and the emulator's state are
//! checked.

mod jobs_support;

use std::collections::BTreeMap;
use std::time::Duration;

use fleet_core::{
    AttachServerVolumeRequest, CreateImageRequest, CreateIpRequest, CreatePrivateNicRequest,
    CreateServerRequest, CreateSnapshotRequest, CreateVolumeRequest, DetachServerVolumeRequest,
    ExportSnapshotRequest, ListServersQuery, ServerAction, ServerActionRequest, VolumeVolumeType,
};
use fleet_jobs::{
    AttachVolumeJob, BlockMigrationJob, CreateImageJob, CreatePrivateNicJob, CreateServerJob,
    CreateSnapshotJob, CreateVolumeJob, DeleteServerJob, DeleteServerOutput, DetachVolumeJob,
    ExportSnapshotJob, ExportSnapshotOutput, Failure, FileSystemJob, JobSpec, ServerActionJob,
    ServerActionOutput, failure_kind, job_tag,
};
use fleet_scheduler::{Job, JobState};
use jobs_support::{Env, ZONE};
use serde_json::Value;

const T: Duration = Duration::from_millis(400);

fn server_request(name: &str) -> CreateServerRequest {
    CreateServerRequest {
        name: Some(name.into()),
        commercial_type: Some("DEV1-S".into()),
        image: Some("ubuntu_noble".into()),
        ..CreateServerRequest::default()
    }
}

fn completed(job: &Job) -> Value {
    assert_eq!(
        job.state,
        JobState::Completed,
        "job {}: {:?}",
        job.id,
        job.errors
    );
    job.result.clone().expect("a result")
}

fn failed(job: &Job) -> (String, Failure) {
    assert_eq!(
        job.state,
        JobState::Failed,
        "job {}: {:?}",
        job.id,
        job.result
    );
    let last = job.errors.last().expect("an error entry");
    (last.kind.clone(), Failure::from_details(&last.details))
}

async fn create_server(env: &Env, name: &str, start: bool) -> (i64, String) {
    let spec = JobSpec::CreateServer(CreateServerJob {
        request: server_request(name),
        user_data: BTreeMap::new(),
        start,
    });
    let job = env.run(&spec).await;
    let result = completed(&job);
    (job.id, result["id"].as_str().expect("server id").to_owned())
}

async fn action(env: &Env, server_id: &str, action: ServerAction) -> Job {
    env.run(&JobSpec::ServerAction(ServerActionJob {
        server_id: server_id.into(),
        request: ServerActionRequest::new(action),
    }))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_server_with_user_data_and_boot() {
    let env = Env::start(T).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let mut user_data = BTreeMap::new();
    user_data.insert("cloud-init".to_owned(), b"#cloud-config\n".to_vec());
    let job = env
        .run(&JobSpec::CreateServer(CreateServerJob {
            request: server_request("web-1"),
            user_data,
            start: true,
        }))
        .await;
    let server = completed(&job);
    assert_eq!(server["state"], "running");
    let id = server["id"].as_str().unwrap().to_owned();
    let tags: Vec<String> = serde_json::from_value(server["tags"].clone()).unwrap();
    assert!(tags.contains(&job_tag(job.id)), "{tags:?}");
    let data = env
        .client
        .get_server_user_data(ZONE, &id, "cloud-init")
        .await
        .unwrap();
    assert_eq!(data, b"#cloud-config\n");
    let detail = fleet_jobs::ProgressDetail::from_state(&job.progress.state);
    assert!(
        detail.history.iter().any(|o| o.state == "running"),
        "{detail:?}"
    );
    assert!(
        detail
            .resource
            .as_deref()
            .unwrap_or_default()
            .ends_with(&id)
    );

    // Without start: created stopped.
    let (_, stopped) = create_server(&env, "web-2", false).await;
    let server = env.client.get_server(ZONE, &stopped).await.unwrap();
    assert_eq!(server.state.as_str(), "stopped");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_action_reaches_its_target() {
    let env = Env::start(T).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let (_, id) = create_server(&env, "act", true).await;

    let out: ServerActionOutput = serde_json::from_value(completed(
        &action(&env, &id, ServerAction::StopInPlace).await,
    ))
    .unwrap();
    assert_eq!(out.server.unwrap().state.as_str(), "stopped in place");
    let out: ServerActionOutput =
        serde_json::from_value(completed(&action(&env, &id, ServerAction::Poweron).await)).unwrap();
    assert_eq!(out.server.unwrap().state.as_str(), "running");
    let out: ServerActionOutput =
        serde_json::from_value(completed(&action(&env, &id, ServerAction::Reboot).await)).unwrap();
    assert_eq!(out.server.unwrap().state.as_str(), "running");
    let out: ServerActionOutput =
        serde_json::from_value(completed(&action(&env, &id, ServerAction::Backup).await)).unwrap();
    let image = out.image.expect("backup image");
    assert_eq!(image.state.as_str(), "available");
    assert_eq!(image.from_server, id);
    let out: ServerActionOutput =
        serde_json::from_value(completed(&action(&env, &id, ServerAction::Poweroff).await))
            .unwrap();
    assert_eq!(out.server.unwrap().state.as_str(), "stopped");

    // enable_routed_ip on a server created on the legacy stack.
    let mut request = server_request("legacy");
    request.routed_ip_enabled = Some(false);
    let job = env
        .run(&JobSpec::CreateServer(CreateServerJob {
            request,
            ..CreateServerJob::default()
        }))
        .await;
    let legacy = completed(&job)["id"].as_str().unwrap().to_owned();
    let out: ServerActionOutput = serde_json::from_value(completed(
        &action(&env, &legacy, ServerAction::EnableRoutedIp).await,
    ))
    .unwrap();
    assert_eq!(out.server.unwrap().routed_ip_enabled, Some(true));

    // terminate: the server disappears.
    let (_, doomed) = create_server(&env, "doomed", true).await;
    let out: ServerActionOutput = serde_json::from_value(completed(
        &action(&env, &doomed, ServerAction::Terminate).await,
    ))
    .unwrap();
    assert!(out.server.is_none());
    assert!(
        env.client
            .get_server(ZONE, &doomed)
            .await
            .unwrap_err()
            .is_not_found()
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_server_stops_first_and_removes_volumes_and_ips() {
    let env = Env::start(T).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let (_, id) = create_server(&env, "del", true).await;
    let ip = env
        .client
        .create_ip(
            ZONE,
            &CreateIpRequest {
                server: Some(id.clone()),
                ..CreateIpRequest::default()
            },
        )
        .await
        .unwrap();
    let volume = env
        .client
        .create_volume(
            ZONE,
            &CreateVolumeRequest {
                name: Some("data".into()),
                volume_type: Some(VolumeVolumeType::LSsd),
                size: Some(10_000_000_000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // stop_if_needed: a local volume is attached to the running server by stopping it.
    let job = env
        .run(&JobSpec::AttachVolume(AttachVolumeJob {
            server_id: id.clone(),
            request: AttachServerVolumeRequest {
                volume_id: Some(volume.id.clone()),
                ..Default::default()
            },
            stop_if_needed: true,
        }))
        .await;
    let server = completed(&job);
    assert_eq!(server["state"], "running");
    let states: Vec<String> = fleet_jobs::ProgressDetail::from_state(&job.progress.state)
        .history
        .into_iter()
        .map(|o| o.state)
        .collect();
    assert!(states.contains(&"stopped".to_owned()), "{states:?}");
    let attached = env.client.get_server(ZONE, &id).await.unwrap();
    assert!(attached.volumes.values().any(|v| v.id == volume.id));

    let job = env
        .run(&JobSpec::DeleteServer(DeleteServerJob {
            server_id: id.clone(),
            stop_first: true,
            delete_volumes: true,
            delete_ips: true,
        }))
        .await;
    let out: DeleteServerOutput = serde_json::from_value(completed(&job)).unwrap();
    assert!(out.deleted_volumes.contains(&volume.id), "{out:?}");
    assert_eq!(out.deleted_ips, vec![ip.id.clone()]);
    assert!(
        env.client
            .get_server(ZONE, &id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        env.client
            .get_volume(ZONE, &volume.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        env.client
            .get_ip(ZONE, &ip.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_jobs_snapshot_export_image_volume_and_migration() {
    let env = Env::start(T).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let job = env
        .run(&JobSpec::CreateVolume(CreateVolumeJob {
            request: CreateVolumeRequest {
                name: Some("src".into()),
                volume_type: Some(VolumeVolumeType::LSsd),
                size: Some(10_000_000_000),
                ..Default::default()
            },
            perf_iops: None,
        }))
        .await;
    let volume = completed(&job);
    assert_eq!(volume["state"], "available");
    let volume_id = volume["id"].as_str().unwrap().to_owned();

    let job = env
        .run(&JobSpec::CreateSnapshot(CreateSnapshotJob {
            request: CreateSnapshotRequest {
                name: Some("snap".into()),
                volume_id: Some(volume_id.clone()),
                ..Default::default()
            },
        }))
        .await;
    let snapshot = completed(&job);
    assert_eq!(snapshot["state"], "available");
    let snapshot_id = snapshot["id"].as_str().unwrap().to_owned();
    let history = fleet_jobs::ProgressDetail::from_state(&job.progress.state).history;
    assert!(!history.is_empty());

    let job = env
        .run(&JobSpec::ExportSnapshot(ExportSnapshotJob {
            snapshot_id: snapshot_id.clone(),
            request: ExportSnapshotRequest {
                bucket: Some("backups".into()),
                key: Some("snap.qcow2".into()),
                ..Default::default()
            },
        }))
        .await;
    let out: ExportSnapshotOutput = serde_json::from_value(completed(&job)).unwrap();
    assert!(
        out.object_url.ends_with("/backups/snap.qcow2"),
        "{}",
        out.object_url
    );
    assert_eq!(out.snapshot.unwrap().state.as_str(), "available");

    let job = env
        .run(&JobSpec::CreateImage(CreateImageJob {
            request: CreateImageRequest {
                name: Some("img".into()),
                root_volume: Some(snapshot_id.clone()),
                arch: Some(fleet_core::Arch::X86_64),
                ..Default::default()
            },
        }))
        .await;
    let image = completed(&job);
    assert_eq!(image["state"], "available");

    let job = env
        .run(&JobSpec::CreateVolume(CreateVolumeJob {
            request: CreateVolumeRequest {
                name: Some("restored".into()),
                volume_type: Some(VolumeVolumeType::LSsd),
                base_snapshot: Some(snapshot_id.clone()),
                ..Default::default()
            },
            perf_iops: None,
        }))
        .await;
    assert_eq!(completed(&job)["state"], "available");

    // Block migration of a b_ssd volume: planned by the job, applied, waited for.
    let bssd = env
        .client
        .create_volume(
            ZONE,
            &CreateVolumeRequest {
                name: Some("old".into()),
                volume_type: Some(VolumeVolumeType::BSsd),
                size: Some(10_000_000_000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let job = env
        .run(&JobSpec::BlockMigration(BlockMigrationJob {
            volume_id: Some(bssd.id.clone()),
            ..Default::default()
        }))
        .await;
    let plan = completed(&job);
    assert!(
        !plan["validation_key"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );
    match env.client.get_volume(ZONE, &bssd.id).await {
        Ok(v) => assert_eq!(v.volume_type.as_str(), "sbs_volume"),
        Err(err) => assert!(err.is_not_found()),
    }
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_systems_private_nics_and_detach() {
    let env = Env::start(T).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let (_, id) = create_server(&env, "fs", false).await;
    let fs = "3f2a9d7e-1b4c-4e8f-9a0b-1c2d3e4f5a6b".to_owned();
    let job = env
        .run(&JobSpec::AttachFileSystem(FileSystemJob {
            server_id: id.clone(),
            filesystem_id: fs.clone(),
        }))
        .await;
    let server = completed(&job);
    assert_eq!(server["filesystems"][0]["state"], "available");
    let job = env
        .run(&JobSpec::DetachFileSystem(FileSystemJob {
            server_id: id.clone(),
            filesystem_id: fs.clone(),
        }))
        .await;
    let server = completed(&job);
    assert_eq!(server["filesystems"].as_array().map(Vec::len), Some(0));

    let job = env
        .run(&JobSpec::CreatePrivateNic(CreatePrivateNicJob {
            server_id: id.clone(),
            request: CreatePrivateNicRequest {
                private_network_id: Some("6e1b1d7a-2c3d-4e5f-8a9b-0c1d2e3f4a5b".into()),
                ..Default::default()
            },
        }))
        .await;
    let nic = completed(&job);
    assert_eq!(nic["state"], "available");
    let tags: Vec<String> = serde_json::from_value(nic["tags"].clone()).unwrap();
    assert!(tags.contains(&job_tag(job.id)));

    // Detach a local volume from a stopped server (no stop needed).
    let volume = env
        .client
        .create_volume(
            ZONE,
            &CreateVolumeRequest {
                name: Some("extra".into()),
                volume_type: Some(VolumeVolumeType::LSsd),
                size: Some(5_000_000_000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let job = env
        .run(&JobSpec::AttachVolume(AttachVolumeJob {
            server_id: id.clone(),
            request: AttachServerVolumeRequest {
                volume_id: Some(volume.id.clone()),
                ..Default::default()
            },
            stop_if_needed: false,
        }))
        .await;
    completed(&job);
    let job = env
        .run(&JobSpec::DetachVolume(DetachVolumeJob {
            server_id: id.clone(),
            request: DetachServerVolumeRequest {
                volume_id: Some(volume.id.clone()),
                ..Default::default()
            },
            stop_if_needed: true,
        }))
        .await;
    let server = completed(&job);
    let vols = server["volumes"].as_object().cloned().unwrap_or_default();
    assert!(!vols.values().any(|v| v["id"] == volume.id.as_str()));
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_early_classified_and_compensated() {
    let env = Env::start(Duration::from_secs(2)).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));

    // A permanent upstream error fails at once with the whole error body.
    let mut request = server_request("bad");
    request.commercial_type = Some("NO-SUCH-TYPE".into());
    let job = env
        .run(&JobSpec::CreateServer(CreateServerJob {
            request,
            ..CreateServerJob::default()
        }))
        .await;
    let (kind, failure) = failed(&job);
    assert_eq!(kind, failure_kind::UPSTREAM);
    assert!(
        failure.status.is_some_and(|s| (400..500).contains(&s)),
        "{failure:?}"
    );
    assert!(failure.upstream["type"].is_string(), "{failure:?}");
    assert_eq!(job.attempt, 1);

    // A boot that ends elsewhere fails early, with its history, and is compensated.
    let id = env
        .enqueue(&JobSpec::CreateServer(CreateServerJob {
            request: server_request("flaky"),
            start: true,
            ..CreateServerJob::default()
        }))
        .await;
    let tag = job_tag(id);
    let query = ListServersQuery {
        tags: Some(vec![tag.clone()]),
        ..Default::default()
    };
    let server_id = loop {
        let page = env.client.list_servers(ZONE, &query).await.unwrap();
        if let Some(s) = page.items.first()
            && s.state.as_str() == "starting"
        {
            break s.id.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    env.client
        .server_action(
            ZONE,
            &server_id,
            &ServerActionRequest::new(ServerAction::StopInPlace),
        )
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let job = env.wait_terminal(id, Duration::from_secs(60)).await;
    let (kind, failure) = failed(&job);
    assert_eq!(kind, failure_kind::UNREACHABLE_STATE, "{failure:?}");
    assert_eq!(failure.state.as_deref(), Some("stopped in place"));
    assert_eq!(failure.target.as_deref(), Some("running"));
    assert!(failure.history.len() >= 2, "{:?}", failure.history);
    assert!(
        failure
            .compensation
            .iter()
            .any(|c| c.contains("terminated")),
        "{:?}",
        failure.compensation
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    // The compensation's terminate removes the server.
    let mut gone = false;
    for _ in 0..100 {
        if env
            .client
            .list_servers(ZONE, &query)
            .await
            .unwrap()
            .items
            .is_empty()
        {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "the failed create left its server behind");

    // A 404 in the middle of a wait: resource_gone.
    let volume = env
        .client
        .create_volume(
            ZONE,
            &CreateVolumeRequest {
                name: Some("v".into()),
                volume_type: Some(VolumeVolumeType::LSsd),
                size: Some(10_000_000_000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let id = env
        .enqueue(&JobSpec::CreateSnapshot(CreateSnapshotJob {
            request: CreateSnapshotRequest {
                volume_id: Some(volume.id.clone()),
                ..Default::default()
            },
        }))
        .await;
    let query = fleet_core::ListSnapshotsQuery {
        tags: Some(vec![job_tag(id)]),
        ..Default::default()
    };
    let snapshot_id = loop {
        let page = env.client.list_snapshots(ZONE, &query).await.unwrap();
        if let Some(s) = page.items.first() {
            break s.id.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    env.client
        .delete_snapshot(ZONE, &snapshot_id)
        .await
        .unwrap();
    let job = env.wait_terminal(id, Duration::from_secs(60)).await;
    let (kind, _) = failed(&job);
    assert_eq!(kind, failure_kind::RESOURCE_GONE);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_servers_share_list_pages() {
    let env = Env::start(Duration::from_secs(2)).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(
            env.enqueue(&JobSpec::CreateServer(CreateServerJob {
                request: server_request(&format!("many-{i}")),
                start: true,
                ..CreateServerJob::default()
            }))
            .await,
        );
    }
    for id in ids {
        completed(&env.wait_terminal(id, Duration::from_secs(60)).await);
    }
    let log = env.emu.call_log();
    let gets = log
        .iter()
        .filter(|c| c.method == "GET" && c.path.contains("/servers/"))
        .count();
    let lists = log
        .iter()
        .filter(|c| c.method == "GET" && c.path.ends_with("/servers"))
        .count();
    assert!(gets <= 4, "{gets} GETs of single servers");
    assert!((1..40).contains(&lists), "{lists} list calls");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_boot_that_never_ends_fails_at_the_deadline_with_its_history() {
    // Transitions far longer than the job's deadline: the server stays `starting`.
    let env = Env::start(Duration::from_secs(600)).await;
    // No wait for the `starting` server to settle: it never does within the test.
    let settings = fleet_worker::jobs::JobSettings {
        max_deadline: Some(Duration::from_secs(5)),
        settle_limit: Duration::ZERO,
        ..jobs_support::fast_settings()
    };
    let worker = env.spawn_worker_with("w1", Duration::from_secs(30), settings);
    let spec = JobSpec::CreateServer(CreateServerJob {
        request: server_request("slow-boot"),
        user_data: BTreeMap::new(),
        start: true,
    });
    let id = env.enqueue(&spec).await;
    let job = env.wait_terminal(id, Duration::from_secs(30)).await;
    let (kind, failure) = failed(&job);
    assert_eq!(kind, failure_kind::DEADLINE_EXCEEDED, "{failure:?}");
    assert_eq!(failure.target.as_deref(), Some("running"));
    assert_eq!(failure.state.as_deref(), Some("starting"));
    assert!(
        failure.history.iter().any(|o| o.state == "starting"),
        "the history shows what was observed: {:?}",
        failure.history
    );
    let resource = failure.resource.clone().expect("the server is named");
    let server_id = resource.rsplit('/').next().unwrap().to_owned();
    // Documented compensation: a server neither stopped nor running is left, and reported
    // with its local volumes (read whole, not from the watcher's state-only observation).
    let server = env.client.get_server(ZONE, &server_id).await.unwrap();
    assert_eq!(server.state.as_str(), "starting");
    let note = failure
        .compensation
        .iter()
        .find(|n| n.contains(&server_id))
        .unwrap_or_else(|| panic!("compensation names the server: {failure:?}"));
    assert!(note.contains("starting"), "{note}");
    for volume in server.volumes.values() {
        if matches!(volume.volume_type.as_str(), "l_ssd" | "scratch" | "b_ssd") {
            assert!(
                note.contains(&volume.id),
                "{note} names volume {}",
                volume.id
            );
        }
    }
    worker.stop().await;
}
