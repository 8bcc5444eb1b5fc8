//! Every batch action end to end, one test per family: the real gateway (its coordinator),
//! workers, scheduler, emulator and Postgres. What each batch did is read from the emulator's
//! state (through the gateway's reads, which the workers answer from it) and its call log,
//! never from the batch's own counts.

mod common;

use std::collections::BTreeMap;

use common::batches::{
    limit, ops_client, plan_batch, run_batch, servers, servers_client, servers_from,
};
use common::*;
use fleet_proto::v1;
use fleet_proto::v1::batch_action::Action;
use tonic::Code;

const GB: u64 = 1_000_000_000;

/// A batch of `action` over the servers of `ZONE` carrying `tag`.
fn on_servers(tag: &str, action: Action) -> v1::CreateBatchRequest {
    v1::CreateBatchRequest {
        selector: Some(v1::BatchSelector {
            zone: ZONE.into(),
            tags: vec![tag.into()],
            ..Default::default()
        }),
        action: Some(v1::BatchAction {
            action: Some(action),
        }),
        policy: Some(v1::RolloutPolicy {
            max_in_flight: limit(4),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn completed_all(batch: &v1::Batch, children: usize) {
    assert_eq!(batch.state, "completed", "{batch:?}");
    assert_eq!(batch.children.len(), children, "{batch:?}");
    assert!(
        batch.children.iter().all(|c| c.outcome == "succeeded"),
        "{:?}",
        batch.children
    );
}

/// The emulator's writes (not GETs) whose path names `id`, as `METHOD last-segment`.
fn writes_on(env: &Env, id: &str) -> Vec<String> {
    env.emulator
        .call_log()
        .into_iter()
        .filter(|c| c.method != "GET" && c.path.split('/').any(|seg| seg == id))
        .map(|c| {
            let tail = c.path.rsplit('/').next().unwrap_or_default();
            let tail = if tail == id { "" } else { tail };
            format!("{} {tail}", c.method).trim().to_owned()
        })
        .collect()
}

async fn get_server(env: &Env, id: &str) -> Result<v1::Server, tonic::Status> {
    let mut servers = servers_client(env).await;
    servers
        .get_server(v1::GetServerRequest {
            zone: ZONE.into(),
            server_id: id.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn volumes_client(env: &Env) -> v1::volumes_client::VolumesClient<Svc> {
    let (channel, bearer) = env.svc(Some(OPS_TOKEN)).await;
    v1::volumes_client::VolumesClient::with_interceptor(channel, bearer)
}

async fn get_volume(env: &Env, id: &str) -> Result<v1::Volume, tonic::Status> {
    volumes_client(env)
        .await
        .get_volume(v1::GetVolumeRequest {
            zone: ZONE.into(),
            volume_id: id.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// The ids of every volume of `server`, in slot order.
fn volume_ids(server: &v1::Server) -> Vec<String> {
    let slots: BTreeMap<u32, &v1::VolumeServer> = server
        .volumes
        .iter()
        .map(|(slot, v)| (slot.parse().unwrap(), v))
        .collect();
    slots.values().map(|v| v.id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_actions_run_each_single_rpc_job_once_per_server() {
    let env = start().await;
    let ids = servers(&env, ZONE, "pw", 3, &["pw"]).await;
    servers(&env, ZONE, "bystander", 1, &["other"]).await;

    env.emulator.clear_call_log();
    let power = |p: v1::BatchPowerAction| Action::Power(p as i32);
    let batch = run_batch(
        &env,
        on_servers("pw", power(v1::BatchPowerAction::StopInPlace)),
    )
    .await;
    completed_all(&batch, 3);
    assert!(
        batch
            .children
            .iter()
            .all(|c| c.method == "fleet.v1.ServerActions/StopServerInPlace"),
        "{:?}",
        batch.children
    );
    for id in &ids {
        assert_eq!(
            get_server(&env, id).await.unwrap().state,
            "stopped in place"
        );
        assert_eq!(writes_on(&env, id), ["POST action"], "{id}");
    }

    // A backup per server, named by the template.
    let backup = Action::Backup(v1::BatchBackup {
        name_template: "{name}-img-{position}".into(),
    });
    let batch = run_batch(&env, on_servers("pw", backup)).await;
    completed_all(&batch, 3);
    let (channel, bearer) = env.svc(Some(OPS_TOKEN)).await;
    let mut images = v1::images_client::ImagesClient::with_interceptor(channel, bearer);
    let listed = must(
        "ListImages",
        images
            .list_images(v1::ListImagesRequest {
                zone: ZONE.into(),
                public: Some(false),
                ..Default::default()
            })
            .await,
    );
    let mut made: Vec<(String, String)> = listed
        .images
        .iter()
        .map(|i| (i.from_server.clone(), i.name.clone()))
        .collect();
    made.sort();
    let mut expected: Vec<(String, String)> = batch
        .children
        .iter()
        .enumerate()
        .map(|(i, c)| (c.server_id.clone(), format!("{}-img-{i}", c.name)))
        .collect();
    expected.sort();
    assert_eq!(made, expected);

    // Terminate: each server is gone.
    let batch = run_batch(
        &env,
        on_servers("pw", power(v1::BatchPowerAction::Terminate)),
    )
    .await;
    completed_all(&batch, 3);
    for id in &ids {
        assert_eq!(
            get_server(&env, id).await.unwrap_err().code(),
            Code::NotFound
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn snapshots_take_one_of_each_volume_instance_and_sbs_alike() {
    let env = start().await;
    let local = servers_from(&env, ZONE, "snap-l", 1, &["snap"], "ubuntu_jammy", true).await;
    let sbs = servers_from(&env, ZONE, "snap-s", 1, &["snap"], "ubuntu_noble", true).await;
    let mut volumes: Vec<String> = local.iter().chain(&sbs).flat_map(volume_ids).collect();
    volumes.sort();
    let sbs_root = volume_ids(&sbs[0])[0].clone();
    assert_eq!(sbs[0].volumes["0"].volume_type, "sbs_volume");
    // An Instance volume too, for the volume selection below.
    let mut ops = ops_client(&env).await;
    let op = must(
        "CreateVolume",
        volumes_client(&env)
            .await
            .create_volume(v1::CreateVolumeRequest {
                zone: ZONE.into(),
                name: "snap-b".into(),
                project: Some(env.project()),
                volume_type: Some("b_ssd".into()),
                size: Some(10 * GB),
                ..Default::default()
            })
            .await,
    );
    let instance: v1::Volume = unpack(&wait_done(&mut ops, &op.name).await);

    let snapshot = Action::Snapshot(v1::BatchSnapshot {
        name_template: "{name}-pre".into(),
        tags: vec!["release".into()],
        ..Default::default()
    });
    // The dry run names each volume and what would be made of it; nothing is called.
    env.emulator.clear_call_log();
    let planned = plan_batch(&env, on_servers("snap", snapshot.clone())).await;
    let mut planned_volumes: Vec<String> = planned
        .children
        .iter()
        .map(|c| c.volume_id.clone())
        .collect();
    planned_volumes.sort();
    assert_eq!(planned_volumes, volumes);
    assert!(
        planned.children.iter().all(|c| {
            c.method == "fleet.v1.Snapshots/CreateSnapshot"
                && c.plan.contains(&c.volume_id)
                && c.plan.contains("-pre")
        }),
        "{:?}",
        planned.children
    );
    assert!(
        env.emulator.call_log().iter().all(|c| c.method == "GET"),
        "a dry run wrote"
    );

    let batch = run_batch(&env, on_servers("snap", snapshot)).await;
    completed_all(&batch, volumes.len());
    let (channel, bearer) = env.svc(Some(OPS_TOKEN)).await;
    let snapshots = v1::snapshots_client::SnapshotsClient::with_interceptor(channel, bearer);
    let list = || {
        let mut snapshots = snapshots.clone();
        async move {
            must(
                "ListSnapshots",
                snapshots
                    .list_snapshots(v1::ListSnapshotsRequest {
                        zone: ZONE.into(),
                        tags: vec!["release".into()],
                        ..Default::default()
                    })
                    .await,
            )
            .snapshots
        }
    };
    let mut bases: Vec<String> = list()
        .await
        .iter()
        .map(|s| s.base_volume.clone().unwrap_or_default().id)
        .collect();
    bases.sort();
    assert_eq!(bases, volumes, "one snapshot of each volume");

    // A volume selection: only the SBS root, by type and id.
    let mut request = on_servers("snap", Action::Snapshot(v1::BatchSnapshot::default()));
    let selector = request.selector.as_mut().unwrap();
    selector.tags.clear();
    selector.target = v1::BatchTarget::Volumes as i32;
    selector.volume_ids = vec![sbs_root.clone(), instance.id.clone()];
    let mut tagged = request.clone();
    if let Some(Action::Snapshot(s)) = tagged.action.as_mut().and_then(|a| a.action.as_mut()) {
        s.tags = vec!["release".into()];
    }
    let batch = run_batch(&env, tagged).await;
    completed_all(&batch, 2);
    let listed = list().await;
    let of = |id: &str| {
        listed
            .iter()
            .filter(|s| s.base_volume.clone().unwrap_or_default().id == id)
            .count()
    };
    assert_eq!((of(&sbs_root), of(&instance.id)), (2, 1));

    // A server action on a volume selection is refused before anything runs.
    request.action = Some(v1::BatchAction::power(v1::BatchPowerAction::Reboot));
    let mut batches = common::batches::batches_client(&env).await;
    let refused = batches.create_batch(request).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("volume selection"),
        "{}",
        refused.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tags_are_set_added_and_removed_one_write_per_server() {
    let env = start().await;
    let ids = servers(&env, ZONE, "tg", 2, &["tg", "keep"]).await;
    // The create job's own tag stays whatever the batch does with the others.
    let plain = |server: v1::Server| -> Vec<String> {
        server
            .tags
            .into_iter()
            .filter(|t| !t.starts_with(fleet_jobs::JOB_TAG_PREFIX))
            .collect()
    };
    let tags = |operation: v1::batch_tags::Operation, tags: &[&str]| {
        Action::Tags(v1::BatchTags {
            operation: operation as i32,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        })
    };
    use v1::batch_tags::Operation;

    env.emulator.clear_call_log();
    let batch = run_batch(
        &env,
        on_servers("tg", tags(Operation::Add, &["new", "keep"])),
    )
    .await;
    completed_all(&batch, 2);
    for id in &ids {
        assert_eq!(
            plain(get_server(&env, id).await.unwrap()),
            ["tg", "keep", "new"]
        );
        assert_eq!(writes_on(&env, id), ["PATCH"], "{id}");
    }
    let batch = run_batch(&env, on_servers("tg", tags(Operation::Remove, &["keep"]))).await;
    completed_all(&batch, 2);
    for id in &ids {
        assert_eq!(plain(get_server(&env, id).await.unwrap()), ["tg", "new"]);
    }
    env.emulator.clear_call_log();
    let batch = run_batch(&env, on_servers("tg", tags(Operation::Set, &["only"]))).await;
    completed_all(&batch, 2);
    for id in &ids {
        assert_eq!(get_server(&env, id).await.unwrap().tags, ["only"]);
        assert_eq!(writes_on(&env, id), ["PATCH"], "{id}");
    }
    // Each child's operation answers the server it left.
    let mut ops = ops_client(&env).await;
    let child = wait_done(&mut ops, &batch.children[0].operation).await;
    let server: v1::Server = unpack(&child);
    assert_eq!(server.tags, ["only"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_type_change_restores_each_servers_power_state() {
    let env = start().await;
    let running = servers(&env, ZONE, "ct-run", 2, &["ct"]).await;
    let stopped: Vec<String> =
        servers_from(&env, ZONE, "ct-off", 1, &["ct"], "ubuntu_jammy", false)
            .await
            .into_iter()
            .map(|s| s.id)
            .collect();

    env.emulator.clear_call_log();
    let change = Action::ChangeCommercialType(v1::BatchChangeType {
        commercial_type: "DEV1-M".into(),
    });
    let batch = run_batch(&env, on_servers("ct", change)).await;
    completed_all(&batch, 3);
    for id in &running {
        let server = get_server(&env, id).await.unwrap();
        assert_eq!(
            (server.commercial_type.as_str(), server.state.as_str()),
            ("DEV1-M", "running")
        );
        assert_eq!(
            writes_on(&env, id),
            ["POST action", "PATCH", "POST action"],
            "{id}: off, changed, on"
        );
    }
    for id in &stopped {
        let server = get_server(&env, id).await.unwrap();
        assert_eq!(
            (server.commercial_type.as_str(), server.state.as_str()),
            ("DEV1-M", "stopped")
        );
        assert_eq!(writes_on(&env, id), ["PATCH"], "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn block_migration_moves_each_selected_volume_to_sbs() {
    let env = start().await;
    let mut volumes = volumes_client(&env).await;
    let mut ops = ops_client(&env).await;
    let mut ids = Vec::new();
    for i in 0..2 {
        let op = must(
            "CreateVolume",
            volumes
                .create_volume(v1::CreateVolumeRequest {
                    zone: ZONE.into(),
                    name: format!("old-{i}"),
                    project: Some(env.project()),
                    tags: vec!["mig".into()],
                    volume_type: Some("b_ssd".into()),
                    size: Some(10 * GB),
                    ..Default::default()
                })
                .await,
        );
        let volume: v1::Volume = unpack(&wait_done(&mut ops, &op.name).await);
        ids.push(volume.id);
    }
    let mut request = on_servers(
        "mig",
        Action::ApplyBlockMigration(v1::BatchBlockMigration {}),
    );
    let selector = request.selector.as_mut().unwrap();
    selector.target = v1::BatchTarget::Volumes as i32;
    selector.volume_type = "b_ssd".into();
    let batch = run_batch(&env, request).await;
    completed_all(&batch, 2);
    for id in &ids {
        // Migrated: the id answers as an SBS volume (or the Instance one is gone).
        match get_volume(&env, id).await {
            Ok(volume) => assert_eq!(volume.volume_type, "sbs_volume", "{volume:?}"),
            Err(status) => assert_eq!(status.code(), Code::NotFound),
        }
        let applied = writes_on(&env, id);
        assert!(
            applied.iter().filter(|w| w.ends_with("apply")).count() <= 1,
            "{applied:?}"
        );
    }
    let applies = env
        .emulator
        .call_log()
        .iter()
        .filter(|c| c.method == "POST" && c.path.ends_with("block-migration/apply"))
        .count();
    assert_eq!(applies, 2, "one apply per volume");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deletes_remove_servers_with_their_volumes_per_option() {
    let env = start().await;
    let with = servers_from(&env, ZONE, "del-a", 2, &["del-a"], "ubuntu_jammy", true).await;
    let without = servers_from(&env, ZONE, "del-b", 1, &["del-b"], "ubuntu_jammy", true).await;
    let delete = |delete_volumes: bool| {
        Action::Delete(v1::BatchDelete {
            stop_first: true,
            delete_volumes,
            delete_ips: false,
        })
    };
    let batch = run_batch(&env, on_servers("del-a", delete(true))).await;
    completed_all(&batch, 2);
    let batch = run_batch(&env, on_servers("del-b", delete(false))).await;
    completed_all(&batch, 1);
    assert_eq!(batch.children[0].method, "fleet.v1.Servers/DeleteServer");
    for server in with.iter().chain(&without) {
        assert_eq!(
            get_server(&env, &server.id).await.unwrap_err().code(),
            Code::NotFound
        );
    }
    for server in &with {
        for volume in volume_ids(server) {
            assert_eq!(
                get_volume(&env, &volume).await.unwrap_err().code(),
                Code::NotFound,
                "{volume} of {} was to be deleted",
                server.name
            );
        }
    }
    for volume in volume_ids(&without[0]) {
        let left = get_volume(&env, &volume).await.unwrap();
        assert!(left.server.is_none(), "{left:?}");
    }
}
