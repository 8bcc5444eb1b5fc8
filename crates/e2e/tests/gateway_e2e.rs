//! The gateway end to end against the real stack (see `common`): Postgres, the emulator, two
//! real workers with their own job handlers, the scheduler service and the gateway.

mod common;

use std::time::Duration;

use common::*;
use fleet_emulator::Faults;
use fleet_proto::v1;
use prost::Name as _;
use serde_json::json;
use tonic::Code;
use tonic_types::StatusExt as _;

macro_rules! client {
    ($env:expr, $module:ident :: $client:ident, $token:expr) => {{
        let (channel, bearer) = $env.svc($token).await;
        v1::$module::$client::with_interceptor(channel, bearer)
    }};
}

/// Fails on codes that mean a gateway bug rather than a refusal.
fn accept<T: std::fmt::Debug>(
    what: &str,
    result: Result<tonic::Response<T>, tonic::Status>,
) -> Option<T> {
    match result {
        Ok(r) => Some(r.into_inner()),
        Err(s) => {
            assert!(
                !matches!(
                    s.code(),
                    Code::Internal | Code::Unknown | Code::Unimplemented | Code::Unavailable
                ),
                "{what}: {:?} {}",
                s.code(),
                s.message()
            );
            let details = s.get_error_details();
            assert!(
                details.error_info().is_some(),
                "{what}: no ErrorInfo in {s:?}"
            );
            eprintln!("{what}: refused {:?}: {}", s.code(), s.message());
            None
        }
    }
}

fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Waits for an operation that may legitimately fail upstream (a made-up file system id, a
/// state the emulator refuses): it must end, and a failure must carry a mapped error, never
/// INTERNAL or UNKNOWN.
async fn settle(
    ops: &mut v1::operations_client::OperationsClient<Svc>,
    what: &str,
    op: &v1::Operation,
) -> v1::Operation {
    let done = wait_done(ops, &op.name).await;
    if let Some(v1::operation::Result::Error(status)) = &done.result {
        assert!(
            ![Code::Internal as i32, Code::Unknown as i32].contains(&status.code),
            "{what}: {status:?}"
        );
        eprintln!("{what}: operation failed as mapped: {}", status.message);
    }
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_is_served() {
    let env = start().await;
    let project = env.project();
    let z = || ZONE.to_owned();
    let tok = Some(OPS_TOKEN);

    let mut products = client!(env, products_client::ProductsClient, tok);
    let mut dashboards = client!(env, dashboards_client::DashboardsClient, tok);
    let mut servers = client!(env, servers_client::ServersClient, tok);
    let mut actions = client!(env, server_actions_client::ServerActionsClient, tok);
    let mut user_data = client!(env, user_data_client::UserDataClient, tok);
    let mut images = client!(env, images_client::ImagesClient, tok);
    let mut snapshots = client!(env, snapshots_client::SnapshotsClient, tok);
    let mut volumes = client!(env, volumes_client::VolumesClient, tok);
    let mut migration = client!(env, block_migration_client::BlockMigrationClient, tok);
    let mut sgs = client!(env, security_groups_client::SecurityGroupsClient, tok);
    let mut pgs = client!(env, placement_groups_client::PlacementGroupsClient, tok);
    let mut ips = client!(env, ips_client::IpsClient, tok);
    let mut nics = client!(env, private_nics_client::PrivateNicsClient, tok);
    let mut ops = client!(env, operations_client::OperationsClient, tok);

    // Products and dashboard.
    let types = must(
        "ListServerTypes",
        products
            .list_server_types(v1::ListServerTypesRequest {
                zone: z(),
                page_size: 5,
                ..Default::default()
            })
            .await,
    );
    assert!(
        !types.servers.is_empty() && types.servers.len() <= 5,
        "{}",
        types.servers.len()
    );
    if types.total_size > 5 {
        assert!(!types.next_page_token.is_empty());
        let next = must(
            "ListServerTypes p2",
            products
                .list_server_types(v1::ListServerTypesRequest {
                    zone: z(),
                    page_size: 5,
                    page_token: types.next_page_token.clone(),
                })
                .await,
        );
        assert!(
            next.servers.keys().all(|k| !types.servers.contains_key(k)),
            "pages overlap"
        );
    }
    must(
        "GetServerTypesAvailability",
        products
            .get_server_types_availability(v1::GetServerTypesAvailabilityRequest {
                zone: z(),
                ..Default::default()
            })
            .await,
    );
    must(
        "ListVolumeTypes",
        products
            .list_volume_types(v1::ListVolumeTypesRequest {
                zone: z(),
                ..Default::default()
            })
            .await,
    );
    must(
        "GetDashboard",
        dashboards
            .get_dashboard(v1::GetDashboardRequest {
                zone: z(),
                ..Default::default()
            })
            .await,
    );

    // A server through the long-running path.
    let create_request_id = rid();
    let op = must(
        "CreateServer",
        servers
            .create_server(v1::CreateServerRequest {
                zone: z(),
                request_id: create_request_id.clone(),
                name: "web-1".into(),
                commercial_type: "DEV1-S".into(),
                image: Some("ubuntu_jammy".into()),
                project: Some(project.clone()),
                start: true,
                ..Default::default()
            })
            .await,
    );
    assert!(op.name.starts_with("operations/"));
    let md = metadata(&op);
    assert_eq!(
        (md.kind.as_str(), md.caller.as_str(), md.method.as_str()),
        ("create_server", "ops", "fleet.v1.Servers/CreateServer")
    );
    let done = wait_done(&mut ops, &op.name).await;
    let server: v1::Server = unpack(&done);
    assert_eq!(server.name, "web-1");
    assert_eq!(
        server.state, "running",
        "create with start=true ends running"
    );
    let done_md = metadata(&done);
    let states: Vec<&str> = done_md.history.iter().map(|h| h.state.as_str()).collect();
    assert_eq!(states.last(), Some(&"running"), "{states:?}");
    // What the worker observed while waiting (a boot shorter than its first look shows only
    // the end state), each with the time it was first seen.
    assert!(
        done_md.history.iter().all(|h| h.observe_time.is_some()),
        "{:?}",
        done_md.history
    );
    println!("create_server history: {states:?}");
    assert_eq!(done_md.state, "succeeded");
    assert_eq!(
        done_md.resource,
        format!("zones/{ZONE}/servers/{}", server.id)
    );
    let sid = server.id.clone();

    let listed = must(
        "ListServers all",
        servers
            .list_servers(v1::ListServersRequest {
                zone: "all".into(),
                ..Default::default()
            })
            .await,
    );
    assert!(listed.servers.iter().any(|s| s.id == sid));
    assert!(listed.unreachable.len() < 10, "{:?}", listed.unreachable);
    let got = must(
        "GetServer",
        servers
            .get_server(v1::GetServerRequest {
                zone: z(),
                server_id: sid.clone(),
            })
            .await,
    );
    let updated = must(
        "UpdateServer",
        servers
            .update_server(v1::UpdateServerRequest {
                zone: z(),
                request_id: rid(),
                server: Some(v1::Server {
                    id: sid.clone(),
                    name: "web-renamed".into(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["name".into()],
                }),
            })
            .await,
    );
    assert_eq!(updated.name, "web-renamed");
    accept(
        "ReplaceServer",
        servers
            .replace_server(v1::ReplaceServerRequest {
                zone: z(),
                request_id: rid(),
                server: Some(got.clone()),
            })
            .await,
    );
    must(
        "GetServerCompatibleTypes",
        servers
            .get_server_compatible_types(v1::GetServerCompatibleTypesRequest {
                zone: z(),
                server_id: sid.clone(),
            })
            .await,
    );
    let root_volume = got
        .volumes
        .get("0")
        .map(|v| v.id.clone())
        .unwrap_or_default();

    // User data.
    must(
        "SetServerUserData",
        user_data
            .set_server_user_data(v1::SetServerUserDataRequest {
                zone: z(),
                request_id: rid(),
                server_id: sid.clone(),
                key: "cloud-init".into(),
                value: audit::USER_DATA.to_vec(),
            })
            .await,
    );
    let keys = must(
        "ListServerUserData",
        user_data
            .list_server_user_data(v1::ListServerUserDataRequest {
                zone: z(),
                server_id: sid.clone(),
                ..Default::default()
            })
            .await,
    );
    assert_eq!(keys.user_data, ["cloud-init"]);
    let value = must(
        "GetServerUserData",
        user_data
            .get_server_user_data(v1::GetServerUserDataRequest {
                zone: z(),
                server_id: sid.clone(),
                key: "cloud-init".into(),
            })
            .await,
    );
    assert_eq!(value.value, audit::USER_DATA);
    must(
        "DeleteServerUserData",
        user_data
            .delete_server_user_data(v1::DeleteServerUserDataRequest {
                zone: z(),
                request_id: rid(),
                server_id: sid.clone(),
                key: "cloud-init".into(),
            })
            .await,
    );

    // Actions.
    must(
        "ListServerActions",
        actions
            .list_server_actions(v1::ListServerActionsRequest {
                zone: z(),
                server_id: sid.clone(),
                ..Default::default()
            })
            .await,
    );
    // A power action through the generic method: the running server stops.
    let off = must(
        "ServerAction",
        actions
            .server_action(v1::ServerActionRequest {
                zone: z(),
                request_id: rid(),
                server_id: sid.clone(),
                action: "poweroff".into(),
                ..Default::default()
            })
            .await,
    );
    let off = wait_done(&mut ops, &off.name).await;
    let result: v1::ServerActionResult = unpack(&off);
    assert_eq!(result.action, "poweroff");
    let states: Vec<String> = metadata(&off)
        .history
        .iter()
        .map(|h| h.state.clone())
        .collect();
    assert_eq!(
        states.last().map(String::as_str),
        Some("stopped"),
        "{states:?}"
    );
    let target = |sid: &str| v1::ServerActionTarget {
        zone: z(),
        request_id: rid(),
        server_id: sid.to_owned(),
    };
    // The typed helpers, each run to its end by the worker.
    let on = must("PowerOnServer", actions.power_on_server(target(&sid)).await);
    assert_eq!(metadata(&on).kind, "server_action.poweron");
    let on = wait_done(&mut ops, &on.name).await;
    let _: v1::ServerActionResult = unpack(&on);
    let reboot = must("RebootServer", actions.reboot_server(target(&sid)).await);
    settle(&mut ops, "RebootServer", &reboot).await;
    let in_place = must(
        "StopServerInPlace",
        actions.stop_server_in_place(target(&sid)).await,
    );
    settle(&mut ops, "StopServerInPlace", &in_place).await;
    let power_off = must(
        "PowerOffServer",
        actions.power_off_server(target(&sid)).await,
    );
    settle(&mut ops, "PowerOffServer", &power_off).await;
    let backup = must(
        "BackupServer",
        actions
            .backup_server(v1::BackupServerRequest {
                zone: z(),
                request_id: rid(),
                server_id: sid.clone(),
                name: Some("bk".into()),
                ..Default::default()
            })
            .await,
    );
    settle(&mut ops, "BackupServer", &backup).await;
    let routed = must(
        "EnableRoutedIp",
        actions
            .enable_routed_ip(v1::EnableRoutedIpRequest {
                zone: z(),
                request_id: rid(),
                server_id: sid.clone(),
                ..Default::default()
            })
            .await,
    );
    settle(&mut ops, "EnableRoutedIp", &routed).await;
    for op in [&on, &reboot, &in_place, &power_off, &backup, &routed] {
        assert!(metadata(op).kind.starts_with("server_action."), "{op:?}");
    }

    // Volumes and attachments.
    must(
        "ListVolumes",
        volumes
            .list_volumes(v1::ListVolumesRequest {
                zone: z(),
                ..Default::default()
            })
            .await,
    );
    let extra = emulator_post(&env, &format!("/instance/v1/zones/{ZONE}/volumes"), json!({"name": "extra", "volume_type": "b_ssd", "size": 10_000_000_000u64, "project": project})).await;
    let extra_id = extra["volume"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    must(
        "GetVolume",
        volumes
            .get_volume(v1::GetVolumeRequest {
                zone: z(),
                volume_id: extra_id.clone(),
            })
            .await,
    );
    must(
        "UpdateVolume",
        volumes
            .update_volume(v1::UpdateVolumeRequest {
                zone: z(),
                request_id: rid(),
                volume: Some(v1::Volume {
                    id: extra_id.clone(),
                    name: "extra-renamed".into(),
                    ..Default::default()
                }),
                update_mask: None,
            })
            .await,
    );
    let _ = &root_volume;
    let root_volume = extra_id.clone();
    let vop = must(
        "CreateVolume",
        volumes
            .create_volume(v1::CreateVolumeRequest {
                zone: z(),
                request_id: rid(),
                name: "data".into(),
                volume_type: Some("b_ssd".into()),
                size: Some(20_000_000_000),
                project: Some(project.clone()),
                ..Default::default()
            })
            .await,
    );
    let created = wait_done(&mut ops, &vop.name).await;
    let volume: v1::Volume = unpack(&created);
    assert_eq!(volume.name, "data");
    let attach = must(
        "AttachServerVolume",
        servers
            .attach_server_volume(v1::AttachServerVolumeRequest {
                zone: z(),
                request_id: rid(),
                server_id: sid.clone(),
                volume_id: extra_id.clone(),
                volume_type: "b_ssd".into(),
                stop_if_needed: true,
                ..Default::default()
            })
            .await,
    );
    settle(&mut ops, "AttachServerVolume", &attach).await;
    let detach = must(
        "DetachServerVolume",
        servers
            .detach_server_volume(v1::DetachServerVolumeRequest {
                zone: z(),
                request_id: rid(),
                server_id: sid.clone(),
                volume_id: extra_id.clone(),
                stop_if_needed: false,
            })
            .await,
    );
    settle(&mut ops, "DetachServerVolume", &detach).await;
    let attach_fs = must(
        "AttachServerFileSystem",
        servers
            .attach_server_file_system(v1::AttachServerFileSystemRequest {
                zone: z(),
                request_id: rid(),
                server_id: sid.clone(),
                filesystem_id: rid(),
            })
            .await,
    );
    settle(&mut ops, "AttachServerFileSystem", &attach_fs).await;
    let detach_fs = must(
        "DetachServerFileSystem",
        servers
            .detach_server_file_system(v1::DetachServerFileSystemRequest {
                zone: z(),
                request_id: rid(),
                server_id: sid.clone(),
                filesystem_id: rid(),
            })
            .await,
    );
    settle(&mut ops, "DetachServerFileSystem", &detach_fs).await;

    // Snapshots (a direct one for reads; CreateSnapshot stays running until cancelled).
    let snap = emulator_post(
        &env,
        &format!("/instance/v1/zones/{ZONE}/snapshots"),
        json!({"name": "s1", "volume_id": root_volume, "project": project}),
    )
    .await;
    let snap_id = snap["snapshot"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let sop = must(
        "CreateSnapshot",
        snapshots
            .create_snapshot(v1::CreateSnapshotRequest {
                zone: z(),
                request_id: rid(),
                name: "s2".into(),
                volume_id: Some(root_volume.clone()),
                ..Default::default()
            })
            .await,
    );
    let snapped = wait_done(&mut ops, &sop.name).await;
    let made: v1::Snapshot = unpack(&snapped);
    assert_eq!(made.name, "s2");
    must(
        "ListSnapshots",
        snapshots
            .list_snapshots(v1::ListSnapshotsRequest {
                zone: z(),
                ..Default::default()
            })
            .await,
    );
    let got_snap = accept(
        "GetSnapshot",
        snapshots
            .get_snapshot(v1::GetSnapshotRequest {
                zone: z(),
                snapshot_id: snap_id.clone(),
            })
            .await,
    );
    accept(
        "UpdateSnapshot",
        snapshots
            .update_snapshot(v1::UpdateSnapshotRequest {
                zone: z(),
                request_id: rid(),
                snapshot: Some(v1::Snapshot {
                    id: snap_id.clone(),
                    name: "s1b".into(),
                    ..Default::default()
                }),
                update_mask: None,
            })
            .await,
    );
    accept(
        "ReplaceSnapshot",
        snapshots
            .replace_snapshot(v1::ReplaceSnapshotRequest {
                zone: z(),
                request_id: rid(),
                snapshot: got_snap.clone().or(Some(v1::Snapshot {
                    id: snap_id.clone(),
                    ..Default::default()
                })),
            })
            .await,
    );
    accept(
        "ExportSnapshot",
        snapshots
            .export_snapshot(v1::ExportSnapshotRequest {
                zone: z(),
                request_id: rid(),
                snapshot_id: snap_id.clone(),
                bucket: "my-bucket".into(),
                key: "s1.qcow2".into(),
            })
            .await,
    );

    // Block Storage: an SBS volume made, then resized; a snapshot imported from a bucket.
    let sbs = must(
        "CreateVolume (sbs)",
        volumes
            .create_volume(v1::CreateVolumeRequest {
                zone: z(),
                request_id: rid(),
                name: "sbs-data".into(),
                volume_type: Some("sbs_volume".into()),
                size: Some(10_000_000_000),
                perf_iops: Some(5000),
                project: Some(project.clone()),
                ..Default::default()
            })
            .await,
    );
    let sbs_volume: v1::Volume = unpack(&wait_done(&mut ops, &sbs.name).await);
    assert_eq!(sbs_volume.api.as_deref(), Some("block"), "{sbs_volume:?}");
    let resize = must(
        "ResizeVolume",
        volumes
            .resize_volume(v1::ResizeVolumeRequest {
                zone: z(),
                request_id: rid(),
                volume_id: sbs_volume.id.clone(),
                size: Some(20_000_000_000),
                perf_iops: Some(15000),
            })
            .await,
    );
    let resized: v1::Volume = unpack(&wait_done(&mut ops, &resize.name).await);
    assert_eq!(
        (resized.size, resized.perf_iops),
        (20_000_000_000, Some(15000)),
        "{resized:?}"
    );
    let import = must(
        "ImportSnapshot",
        snapshots
            .import_snapshot(v1::ImportSnapshotRequest {
                zone: z(),
                request_id: rid(),
                bucket: "my-bucket".into(),
                key: "s1.qcow2".into(),
                name: "imported".into(),
                project: Some(project.clone()),
                ..Default::default()
            })
            .await,
    );
    let imported: v1::Snapshot = unpack(&wait_done(&mut ops, &import.name).await);
    assert_eq!(imported.api.as_deref(), Some("block"), "{imported:?}");

    // Operations: Watch, Get and Cancel mid-way. Every call of the zone is slowed down, so the
    // worker is still creating the snapshot when the cancel arrives.
    env.emulator.set_faults(Faults {
        latency: Duration::from_millis(1500),
        zones: Some(vec![ZONE.to_owned()]),
        ..Faults::default()
    });
    let slow = must(
        "CreateSnapshot (slow)",
        snapshots
            .create_snapshot(v1::CreateSnapshotRequest {
                zone: z(),
                request_id: rid(),
                name: "s3".into(),
                volume_id: Some(root_volume.clone()),
                ..Default::default()
            })
            .await,
    );
    let mut watch = must(
        "WatchOperation",
        ops.watch_operation(v1::WatchOperationRequest {
            name: slow.name.clone(),
        })
        .await,
    );
    let first = watch.message().await.unwrap().expect("first state");
    assert_eq!(first.name, slow.name);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = must(
            "GetOperation",
            ops.get_operation(v1::GetOperationRequest {
                name: slow.name.clone(),
            })
            .await,
        );
        let md = metadata(&got);
        assert!(!got.done, "finished before the cancel: {got:?}");
        if md.state == "running" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never picked up: {md:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cancel = must(
        "CancelOperation",
        ops.cancel_operation(v1::CancelOperationRequest {
            name: slow.name.clone(),
        })
        .await,
    );
    assert!(metadata(&cancel).cancel_requested);
    let mut last = first;
    while let Some(op) = tokio::time::timeout(Duration::from_secs(30), watch.message())
        .await
        .expect("watch progresses")
        .unwrap()
    {
        last = op;
    }
    assert!(last.done, "watch ends after done");
    match &last.result {
        Some(v1::operation::Result::Error(s)) => assert_eq!(s.code, Code::Cancelled as i32),
        other => panic!("expected cancelled: {other:?}"),
    }
    assert_eq!(metadata(&last).state, "cancelled");
    env.emulator.clear_faults();
    let listed = must(
        "ListOperations",
        ops.list_operations(v1::ListOperationsRequest {
            page_size: 3,
            ..Default::default()
        })
        .await,
    );
    assert_eq!(listed.operations.len(), 3);
    assert!(listed.total_size > 3 && !listed.next_page_token.is_empty());
    let page2 = must(
        "ListOperations p2",
        ops.list_operations(v1::ListOperationsRequest {
            page_size: 3,
            page_token: listed.next_page_token.clone(),
            ..Default::default()
        })
        .await,
    );
    assert!(
        page2
            .operations
            .iter()
            .all(|o| listed.operations.iter().all(|p| p.name != o.name))
    );
    let cancelled = must(
        "ListOperations state",
        ops.list_operations(v1::ListOperationsRequest {
            state: Some("cancelled".into()),
            ..Default::default()
        })
        .await,
    );
    assert_eq!(cancelled.operations.len(), 1);

    // Images.
    let image = emulator_post(
        &env,
        &format!("/instance/v1/zones/{ZONE}/images"),
        json!({"name": "img", "root_volume": snap_id, "arch": "x86_64", "project": project}),
    )
    .await;
    let image_id = image["image"]["id"].as_str().unwrap_or_default().to_owned();
    let image_op = must(
        "CreateImage",
        images
            .create_image(v1::CreateImageRequest {
                zone: z(),
                request_id: rid(),
                name: "img2".into(),
                root_volume: snap_id.clone(),
                arch: "x86_64".into(),
                ..Default::default()
            })
            .await,
    );
    settle(&mut ops, "CreateImage", &image_op).await;
    must(
        "ListImages",
        images
            .list_images(v1::ListImagesRequest {
                zone: z(),
                ..Default::default()
            })
            .await,
    );
    let got_image = accept(
        "GetImage",
        images
            .get_image(v1::GetImageRequest {
                zone: z(),
                image_id: image_id.clone(),
            })
            .await,
    );
    accept(
        "UpdateImage",
        images
            .update_image(v1::UpdateImageRequest {
                zone: z(),
                request_id: rid(),
                image: Some(v1::Image {
                    id: image_id.clone(),
                    name: "img-renamed".into(),
                    ..Default::default()
                }),
                update_mask: None,
            })
            .await,
    );
    accept(
        "ReplaceImage",
        images
            .replace_image(v1::ReplaceImageRequest {
                zone: z(),
                request_id: rid(),
                image: got_image.or(Some(v1::Image {
                    id: image_id.clone(),
                    ..Default::default()
                })),
            })
            .await,
    );
    accept(
        "DeleteImage",
        images
            .delete_image(v1::DeleteImageRequest {
                zone: z(),
                request_id: rid(),
                image_id: image_id.clone(),
            })
            .await,
    );
    accept(
        "DeleteSnapshot",
        snapshots
            .delete_snapshot(v1::DeleteSnapshotRequest {
                zone: z(),
                request_id: rid(),
                snapshot_id: snap_id.clone(),
            })
            .await,
    );

    // Block migration.
    accept(
        "PlanBlockMigration",
        migration
            .plan_block_migration(v1::PlanBlockMigrationRequest {
                zone: z(),
                volume_id: Some(root_volume.clone()),
                ..Default::default()
            })
            .await,
    );
    accept(
        "ApplyBlockMigration",
        migration
            .apply_block_migration(v1::ApplyBlockMigrationRequest {
                zone: z(),
                request_id: rid(),
                volume_id: Some(root_volume.clone()),
                validation_key: "k".into(),
                ..Default::default()
            })
            .await,
    );
    accept(
        "CheckBlockMigrationOrganizationQuotas",
        migration
            .check_block_migration_organization_quotas(
                v1::CheckBlockMigrationOrganizationQuotasRequest {
                    zone: z(),
                    organization: project.clone(),
                },
            )
            .await,
    );

    // Security groups and rules.
    let sg = must(
        "CreateSecurityGroup",
        sgs.create_security_group(v1::CreateSecurityGroupRequest {
            zone: z(),
            request_id: rid(),
            name: "web".into(),
            project: Some(project.clone()),
            stateful: true,
            inbound_default_policy: Some("drop".into()),
            outbound_default_policy: Some("accept".into()),
            ..Default::default()
        })
        .await,
    );
    must(
        "ListSecurityGroups",
        sgs.list_security_groups(v1::ListSecurityGroupsRequest {
            zone: z(),
            ..Default::default()
        })
        .await,
    );
    let got_sg = must(
        "GetSecurityGroup",
        sgs.get_security_group(v1::GetSecurityGroupRequest {
            zone: z(),
            security_group_id: sg.id.clone(),
        })
        .await,
    );
    must(
        "UpdateSecurityGroup",
        sgs.update_security_group(v1::UpdateSecurityGroupRequest {
            zone: z(),
            request_id: rid(),
            security_group: Some(v1::SecurityGroup {
                id: sg.id.clone(),
                description: Some("front".into()),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into()],
            }),
        })
        .await,
    );
    accept(
        "ReplaceSecurityGroup",
        sgs.replace_security_group(v1::ReplaceSecurityGroupRequest {
            zone: z(),
            request_id: rid(),
            security_group: Some(got_sg),
        })
        .await,
    );
    must(
        "ListDefaultSecurityGroupRules",
        sgs.list_default_security_group_rules(v1::ListDefaultSecurityGroupRulesRequest {
            zone: z(),
            ..Default::default()
        })
        .await,
    );
    let rule = must(
        "CreateSecurityGroupRule",
        sgs.create_security_group_rule(v1::CreateSecurityGroupRuleRequest {
            zone: z(),
            request_id: rid(),
            security_group_id: sg.id.clone(),
            protocol: "TCP".into(),
            direction: "inbound".into(),
            action: "accept".into(),
            ip_range: "0.0.0.0/0".into(),
            dest_port_from: Some(443),
            ..Default::default()
        })
        .await,
    );
    must(
        "ListSecurityGroupRules",
        sgs.list_security_group_rules(v1::ListSecurityGroupRulesRequest {
            zone: z(),
            security_group_id: sg.id.clone(),
            ..Default::default()
        })
        .await,
    );
    let got_rule = must(
        "GetSecurityGroupRule",
        sgs.get_security_group_rule(v1::GetSecurityGroupRuleRequest {
            zone: z(),
            security_group_id: sg.id.clone(),
            security_group_rule_id: rule.id.clone(),
        })
        .await,
    );
    must(
        "UpdateSecurityGroupRule",
        sgs.update_security_group_rule(v1::UpdateSecurityGroupRuleRequest {
            zone: z(),
            request_id: rid(),
            security_group_id: sg.id.clone(),
            rule: Some(v1::SecurityGroupRule {
                id: rule.id.clone(),
                dest_port_from: Some(8443),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["dest_port_from".into()],
            }),
        })
        .await,
    );
    accept(
        "ReplaceSecurityGroupRule",
        sgs.replace_security_group_rule(v1::ReplaceSecurityGroupRuleRequest {
            zone: z(),
            request_id: rid(),
            security_group_id: sg.id.clone(),
            rule: Some(got_rule),
        })
        .await,
    );
    accept(
        "SetSecurityGroupRules",
        sgs.set_security_group_rules(v1::SetSecurityGroupRulesRequest {
            zone: z(),
            request_id: rid(),
            security_group_id: sg.id.clone(),
            rules: vec![],
        })
        .await,
    );
    accept(
        "DeleteSecurityGroupRule",
        sgs.delete_security_group_rule(v1::DeleteSecurityGroupRuleRequest {
            zone: z(),
            request_id: rid(),
            security_group_id: sg.id.clone(),
            security_group_rule_id: rule.id.clone(),
        })
        .await,
    );
    must(
        "DeleteSecurityGroup",
        sgs.delete_security_group(v1::DeleteSecurityGroupRequest {
            zone: z(),
            request_id: rid(),
            security_group_id: sg.id.clone(),
        })
        .await,
    );

    // Placement groups.
    let pg = must(
        "CreatePlacementGroup",
        pgs.create_placement_group(v1::CreatePlacementGroupRequest {
            zone: z(),
            request_id: rid(),
            name: "pg".into(),
            project: Some(project.clone()),
            ..Default::default()
        })
        .await,
    );
    must(
        "ListPlacementGroups",
        pgs.list_placement_groups(v1::ListPlacementGroupsRequest {
            zone: z(),
            ..Default::default()
        })
        .await,
    );
    let got_pg = must(
        "GetPlacementGroup",
        pgs.get_placement_group(v1::GetPlacementGroupRequest {
            zone: z(),
            placement_group_id: pg.id.clone(),
        })
        .await,
    );
    accept(
        "ReplacePlacementGroup",
        pgs.replace_placement_group(v1::ReplacePlacementGroupRequest {
            zone: z(),
            request_id: rid(),
            placement_group: Some(got_pg),
        })
        .await,
    );
    must(
        "UpdatePlacementGroup",
        pgs.update_placement_group(v1::UpdatePlacementGroupRequest {
            zone: z(),
            request_id: rid(),
            placement_group: Some(v1::PlacementGroup {
                id: pg.id.clone(),
                name: "pg2".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await,
    );
    must(
        "GetPlacementGroupServers",
        pgs.get_placement_group_servers(v1::GetPlacementGroupServersRequest {
            zone: z(),
            placement_group_id: pg.id.clone(),
        })
        .await,
    );
    accept(
        "SetPlacementGroupServers",
        pgs.set_placement_group_servers(v1::SetPlacementGroupServersRequest {
            zone: z(),
            request_id: rid(),
            placement_group_id: pg.id.clone(),
            servers: vec![],
        })
        .await,
    );
    accept(
        "UpdatePlacementGroupServers",
        pgs.update_placement_group_servers(v1::UpdatePlacementGroupServersRequest {
            zone: z(),
            request_id: rid(),
            placement_group_id: pg.id.clone(),
            servers: vec![],
        })
        .await,
    );
    must(
        "DeletePlacementGroup",
        pgs.delete_placement_group(v1::DeletePlacementGroupRequest {
            zone: z(),
            request_id: rid(),
            placement_group_id: pg.id.clone(),
        })
        .await,
    );

    // Flexible IPs.
    let ip = must(
        "CreateIp",
        ips.create_ip(v1::CreateIpRequest {
            zone: z(),
            request_id: rid(),
            r#type: "routed_ipv4".into(),
            project: Some(project.clone()),
            ..Default::default()
        })
        .await,
    );
    must(
        "ListIps",
        ips.list_ips(v1::ListIpsRequest {
            zone: z(),
            ..Default::default()
        })
        .await,
    );
    must(
        "GetIp",
        ips.get_ip(v1::GetIpRequest {
            zone: z(),
            ip: ip.id.clone(),
        })
        .await,
    );
    let tagged = must(
        "UpdateIp",
        ips.update_ip(v1::UpdateIpRequest {
            zone: z(),
            request_id: rid(),
            ip: Some(v1::Ip {
                id: ip.id.clone(),
                tags: vec!["edge".into()],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["tags".into()],
            }),
        })
        .await,
    );
    assert_eq!(tagged.tags, ["edge"]);
    accept(
        "ReleaseIpToIpam",
        ips.release_ip_to_ipam(v1::ReleaseIpToIpamRequest {
            zone: z(),
            request_id: rid(),
            ip_id: ip.id.clone(),
        })
        .await,
    );
    accept(
        "DeleteIp",
        ips.delete_ip(v1::DeleteIpRequest {
            zone: z(),
            request_id: rid(),
            ip: ip.id.clone(),
        })
        .await,
    );

    // Private NICs.
    let nic_op = must(
        "CreatePrivateNic",
        nics.create_private_nic(v1::CreatePrivateNicRequest {
            zone: z(),
            request_id: rid(),
            server_id: sid.clone(),
            private_network_id: rid(),
            ..Default::default()
        })
        .await,
    );
    settle(&mut ops, "CreatePrivateNic", &nic_op).await;
    let nic = emulator_post(
        &env,
        &format!("/instance/v1/zones/{ZONE}/servers/{sid}/private_nics"),
        json!({"private_network_id": rid()}),
    )
    .await;
    let nic_id = nic["private_nic"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    must(
        "ListPrivateNics",
        nics.list_private_nics(v1::ListPrivateNicsRequest {
            zone: z(),
            server_id: sid.clone(),
            ..Default::default()
        })
        .await,
    );
    must(
        "GetPrivateNic",
        nics.get_private_nic(v1::GetPrivateNicRequest {
            zone: z(),
            server_id: sid.clone(),
            private_nic_id: nic_id.clone(),
        })
        .await,
    );
    must(
        "UpdatePrivateNic",
        nics.update_private_nic(v1::UpdatePrivateNicRequest {
            zone: z(),
            request_id: rid(),
            server_id: sid.clone(),
            private_nic: Some(v1::PrivateNic {
                id: nic_id.clone(),
                tags: vec!["t".into()],
                ..Default::default()
            }),
            update_mask: None,
        })
        .await,
    );
    accept(
        "DeletePrivateNic",
        nics.delete_private_nic(v1::DeletePrivateNicRequest {
            zone: z(),
            request_id: rid(),
            server_id: sid.clone(),
            private_nic_id: nic_id.clone(),
        })
        .await,
    );

    // Batches: a dry run, then a real one-server batch paused, resumed and cancelled (it may
    // have ended already: a refusal must still be a mapped one).
    let mut batches = client!(env, batches_client::BatchesClient, Some(OPS_TOKEN));
    let batch_request = |validate_only| v1::CreateBatchRequest {
        selector: Some(v1::BatchSelector {
            zone: z(),
            server_ids: vec![sid.clone()],
            ..Default::default()
        }),
        action: Some(v1::BatchAction::power(v1::BatchPowerAction::Poweron)),
        policy: None,
        validate_only,
        ..Default::default()
    };
    let planned = must(
        "CreateBatch dry run",
        batches.create_batch(batch_request(true)).await,
    );
    assert!(planned.done && planned.name.is_empty());
    let started = must(
        "CreateBatch",
        batches.create_batch(batch_request(false)).await,
    );
    let batch_name = started.name.replace("operations/", "batches/");
    let named = || v1::BatchRequest {
        name: batch_name.clone(),
    };
    accept("PauseBatch", batches.pause_batch(named()).await);
    accept("ResumeBatch", batches.resume_batch(named()).await);
    accept("CancelBatch", batches.cancel_batch(named()).await);
    must(
        "GetBatch",
        batches
            .get_batch(v1::GetBatchRequest {
                name: batch_name.clone(),
            })
            .await,
    );
    must(
        "ListBatches",
        batches
            .list_batches(v1::ListBatchesRequest::default())
            .await,
    );
    wait_done(&mut ops, &started.name).await;

    // Policies: a snapshot policy on the server, paused, resumed, updated, run now, listed and
    // deleted (its run may still be going: a policy's deletion lets runs in flight finish).
    let mut policies = client!(env, policies_client::PoliciesClient, Some(OPS_TOKEN));
    let policy = v1::Policy {
        display_name: "every-method".into(),
        kind: Some(v1::policy::Kind::Snapshot(v1::SnapshotPolicy {
            selector: Some(v1::BatchSelector {
                zone: z(),
                server_ids: vec![sid.clone()],
                ..Default::default()
            }),
            root_volume_only: true,
            crons: vec!["0 0 3 * * *".into()],
            time_zone: "Europe/Paris".into(),
            keep_count: 2,
            ..Default::default()
        })),
        ..Default::default()
    };
    let created = must(
        "CreatePolicy",
        policies
            .create_policy(v1::CreatePolicyRequest {
                policy: Some(policy),
                request_id: rid(),
            })
            .await,
    );
    let policy_named = || v1::PolicyRequest {
        name: created.name.clone(),
    };
    must("PausePolicy", policies.pause_policy(policy_named()).await);
    must("ResumePolicy", policies.resume_policy(policy_named()).await);
    let mut renamed = created.clone();
    renamed.display_name = "every-method-2".into();
    must(
        "UpdatePolicy",
        policies
            .update_policy(v1::UpdatePolicyRequest {
                policy: Some(renamed),
            })
            .await,
    );
    must(
        "GetPolicy",
        policies
            .get_policy(v1::GetPolicyRequest {
                name: created.name.clone(),
            })
            .await,
    );
    must(
        "ListPolicies",
        policies
            .list_policies(v1::ListPoliciesRequest::default())
            .await,
    );
    must(
        "RunPolicy",
        policies
            .run_policy(v1::RunPolicyRequest {
                name: created.name.clone(),
                request_id: rid(),
            })
            .await,
    );
    must(
        "ListPolicyRuns",
        policies
            .list_policy_runs(v1::ListPolicyRunsRequest {
                name: created.name.clone(),
                ..Default::default()
            })
            .await,
    );
    must("DeletePolicy", policies.delete_policy(policy_named()).await);

    // Last: the ones that end resources.
    accept(
        "DeleteVolume",
        volumes
            .delete_volume(v1::DeleteVolumeRequest {
                zone: z(),
                request_id: rid(),
                volume_id: extra_id.clone(),
            })
            .await,
    );
    must(
        "TerminateServer",
        actions.terminate_server(target(&sid)).await,
    );
    must(
        "DeleteServer",
        servers
            .delete_server(v1::DeleteServerRequest {
                zone: z(),
                request_id: rid(),
                server_id: sid.clone(),
                stop_first: true,
                ..Default::default()
            })
            .await,
    );

    audit::check_after_every_method(
        &env,
        &audit::Expected {
            server: sid.clone(),
            create_operation: op.name.clone(),
            create_request_id,
            ip: ip.id.clone(),
        },
    )
    .await;

    let all = all_methods();
    let seen = env.seen.lock().unwrap().clone();
    let missing: Vec<_> = all.difference(&seen).collect();
    println!(
        "grpc coverage: {}/{} methods",
        all.len() - missing.len(),
        all.len()
    );
    assert!(missing.is_empty(), "not called: {missing:?}");
    env.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_id_replays() {
    let env = start().await;
    let mut ips = client!(env, ips_client::IpsClient, Some(OPS_TOKEN));
    let mut servers = client!(env, servers_client::ServersClient, Some(OPS_TOKEN));
    let mut ops = client!(env, operations_client::OperationsClient, Some(OPS_TOKEN));
    let id = rid();
    let req = v1::CreateIpRequest {
        zone: ZONE.into(),
        request_id: id.clone(),
        r#type: "routed_ipv4".into(),
        project: Some(env.project()),
        ..Default::default()
    };
    let a = must("CreateIp", ips.create_ip(req.clone()).await);
    let b = must("CreateIp replay", ips.create_ip(req.clone()).await);
    assert_eq!(a, b, "the same request_id returns the same ip");
    let listed = must(
        "ListIps",
        ips.list_ips(v1::ListIpsRequest {
            zone: ZONE.into(),
            ..Default::default()
        })
        .await,
    );
    assert_eq!(listed.ips.len(), 1, "no second ip was created");
    let mut other = req.clone();
    other.tags = vec!["different".into()];
    let err = ips.create_ip(other).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.get_error_details()
            .bad_request()
            .unwrap()
            .field_violations[0]
            .field,
        "request_id"
    );

    let create = v1::CreateServerRequest {
        zone: ZONE.into(),
        request_id: rid(),
        name: "once".into(),
        commercial_type: "DEV1-S".into(),
        image: Some("ubuntu_jammy".into()),
        project: Some(env.project()),
        ..Default::default()
    };
    let first = must("CreateServer", servers.create_server(create.clone()).await);
    let again = must(
        "CreateServer replay",
        servers.create_server(create.clone()).await,
    );
    assert_eq!(first.name, again.name);
    wait_done(&mut ops, &first.name).await;
    let after_done = must(
        "CreateServer replay after done",
        servers.create_server(create.clone()).await,
    );
    assert_eq!(after_done.name, first.name);
    assert!(after_done.done);
    let mut changed = create.clone();
    changed.name = "twice".into();
    let err = servers.create_server(changed).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(metadata(&first).request_id, create.request_id);
    env.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_matrix() {
    let env = start().await;
    let list = || v1::ListIpsRequest {
        zone: ZONE.into(),
        ..Default::default()
    };
    let create = |project: Option<String>| v1::CreateIpRequest {
        zone: ZONE.into(),
        request_id: rid(),
        r#type: "routed_ipv4".into(),
        project,
        ..Default::default()
    };

    let mut none = client!(env, ips_client::IpsClient, None);
    assert_eq!(
        none.list_ips(list()).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let mut wrong = client!(env, ips_client::IpsClient, Some("not-a-token"));
    assert_eq!(
        wrong.list_ips(list()).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let mut viewer = client!(env, ips_client::IpsClient, Some(VIEWER_TOKEN));
    must("viewer lists", viewer.list_ips(list()).await);
    let err = viewer
        .create_ip(create(Some(env.project())))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(
        err.get_error_details().error_info().unwrap().reason,
        "READ_ONLY_CALLER"
    );
    let mut limited = client!(env, ips_client::IpsClient, Some(LIMITED_TOKEN));
    let other = rid();
    let err = limited
        .create_ip(create(Some(other.clone())))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(
        err.get_error_details().error_info().unwrap().reason,
        "PROJECT_NOT_GRANTED"
    );
    let err = limited
        .list_ips(v1::ListIpsRequest {
            zone: ZONE.into(),
            project: Some(other),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // Its own project, filled in when omitted.
    let own = must("limited creates", limited.create_ip(create(None)).await);
    assert_eq!(own.project, env.other_project);
    // The default project is not granted to it: neither a create there...
    let err = limited
        .create_ip(create(Some(env.project())))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // ...nor a read, change or delete of a resource there, which only the worker can tell
    // (it reads the resource's project before acting: `project_scope`).
    let mut ops_ips = client!(env, ips_client::IpsClient, Some(OPS_TOKEN));
    let theirs = must(
        "ops creates",
        ops_ips.create_ip(create(Some(env.project()))).await,
    );
    let refusals = [
        (
            "GetIp",
            limited
                .get_ip(v1::GetIpRequest {
                    zone: ZONE.into(),
                    ip: theirs.id.clone(),
                })
                .await
                .map(|_| ()),
        ),
        (
            "UpdateIp",
            limited
                .update_ip(v1::UpdateIpRequest {
                    zone: ZONE.into(),
                    request_id: rid(),
                    ip: Some(v1::Ip {
                        id: theirs.id.clone(),
                        tags: vec!["stolen".into()],
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["tags".into()],
                    }),
                })
                .await
                .map(|_| ()),
        ),
        (
            "DeleteIp",
            limited
                .delete_ip(v1::DeleteIpRequest {
                    zone: ZONE.into(),
                    request_id: rid(),
                    ip: theirs.id.clone(),
                })
                .await
                .map(|_| ()),
        ),
    ];
    for (method, result) in refusals {
        let err = result.expect_err(method);
        assert_eq!(err.code(), Code::PermissionDenied, "{method}: {err:?}");
        assert_eq!(
            err.get_error_details().error_info().unwrap().reason,
            "PROJECT_NOT_GRANTED",
            "{method}: {err:?}"
        );
    }
    // Unchanged, and its list shows only its own project.
    let still = must(
        "ops reads",
        ops_ips
            .get_ip(v1::GetIpRequest {
                zone: ZONE.into(),
                ip: theirs.id.clone(),
            })
            .await,
    );
    assert_eq!(still.tags, theirs.tags, "{still:?}");
    let visible = must("limited lists", limited.list_ips(list()).await);
    assert_eq!(
        visible
            .ips
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>(),
        [own.id.as_str()]
    );
    // Nor an operation on a server there.
    let mut ops_servers = client!(env, servers_client::ServersClient, Some(OPS_TOKEN));
    let mut limited_actions = client!(
        env,
        server_actions_client::ServerActionsClient,
        Some(LIMITED_TOKEN)
    );
    let mut operations = client!(env, operations_client::OperationsClient, Some(OPS_TOKEN));
    let op = must(
        "ops creates a server",
        ops_servers
            .create_server(v1::CreateServerRequest {
                zone: ZONE.into(),
                request_id: rid(),
                name: "theirs".into(),
                commercial_type: "DEV1-S".into(),
                image: Some("ubuntu_jammy".into()),
                ..Default::default()
            })
            .await,
    );
    let server: v1::Server = unpack(&wait_done(&mut operations, &op.name).await);
    let err = limited_actions
        .power_on_server(v1::ServerActionTarget {
            zone: ZONE.into(),
            request_id: rid(),
            server_id: server.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let mut ops = client!(env, operations_client::OperationsClient, Some(VIEWER_TOKEN));
    assert_eq!(
        ops.cancel_operation(v1::CancelOperationRequest {
            name: "operations/1".into()
        })
        .await
        .unwrap_err()
        .code(),
        Code::PermissionDenied
    );

    // Health and reflection are open.
    let channel = env.channel().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.inner.clone());
    let mut serving = false;
    for _ in 0..50 {
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: "fleet.v1.Servers".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        if status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32 {
            serving = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(serving, "ready with postgres and a live worker");
    env.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_requests_name_their_field() {
    let env = start().await;
    let tok = Some(OPS_TOKEN);
    let mut servers = client!(env, servers_client::ServersClient, tok);
    let mut actions = client!(env, server_actions_client::ServerActionsClient, tok);
    let mut volumes = client!(env, volumes_client::VolumesClient, tok);
    let mut snapshots = client!(env, snapshots_client::SnapshotsClient, tok);
    let mut images = client!(env, images_client::ImagesClient, tok);
    let mut ips = client!(env, ips_client::IpsClient, tok);
    let mut sgs = client!(env, security_groups_client::SecurityGroupsClient, tok);
    let mut pgs = client!(env, placement_groups_client::PlacementGroupsClient, tok);
    let mut user_data = client!(env, user_data_client::UserDataClient, tok);
    let mut nics = client!(env, private_nics_client::PrivateNicsClient, tok);
    let mut migration = client!(env, block_migration_client::BlockMigrationClient, tok);
    let mut ops = client!(env, operations_client::OperationsClient, tok);

    let upstream_before = env.emulator.call_log().len();
    let z = || ZONE.to_owned();
    let u = rid;
    let server = || v1::CreateServerRequest {
        zone: z(),
        name: "ok".into(),
        commercial_type: "DEV1-S".into(),
        image: Some("ubuntu_jammy".into()),
        ..Default::default()
    };
    let rule = || v1::CreateSecurityGroupRuleRequest {
        zone: z(),
        security_group_id: u(),
        protocol: "TCP".into(),
        direction: "inbound".into(),
        action: "accept".into(),
        ip_range: "10.0.0.0/8".into(),
        ..Default::default()
    };
    let volume = || v1::CreateVolumeRequest {
        zone: z(),
        name: "v".into(),
        volume_type: Some("b_ssd".into()),
        size: Some(20_000_000_000),
        ..Default::default()
    };

    let mut cases: Vec<(&str, Result<(), tonic::Status>)> = Vec::new();
    macro_rules! case {
        ($field:expr, $call:expr) => {
            cases.push(($field, $call.await.map(|_| ())));
        };
    }
    case!(
        "zone",
        servers.get_server(v1::GetServerRequest {
            zone: "".into(),
            server_id: u()
        })
    );
    case!(
        "zone",
        servers.get_server(v1::GetServerRequest {
            zone: "mars-1".into(),
            server_id: u()
        })
    );
    case!(
        "zone",
        servers.get_server(v1::GetServerRequest {
            zone: "all".into(),
            server_id: u()
        })
    );
    case!(
        "server_id",
        servers.get_server(v1::GetServerRequest {
            zone: z(),
            server_id: "".into()
        })
    );
    case!(
        "server_id",
        servers.get_server(v1::GetServerRequest {
            zone: z(),
            server_id: "not-a-uuid".into()
        })
    );
    case!(
        "page_size",
        servers.list_servers(v1::ListServersRequest {
            zone: z(),
            page_size: -1,
            ..Default::default()
        })
    );
    case!(
        "page_token",
        servers.list_servers(v1::ListServersRequest {
            zone: z(),
            page_token: "garbage".into(),
            ..Default::default()
        })
    );
    case!(
        "order",
        servers.list_servers(v1::ListServersRequest {
            zone: z(),
            order: Some("by_size".into()),
            ..Default::default()
        })
    );
    case!(
        "state",
        servers.list_servers(v1::ListServersRequest {
            zone: z(),
            state: Some("melting".into()),
            ..Default::default()
        })
    );
    case!(
        "project",
        servers.list_servers(v1::ListServersRequest {
            zone: z(),
            project: Some("p1".into()),
            ..Default::default()
        })
    );
    case!(
        "servers.0",
        servers.list_servers(v1::ListServersRequest {
            zone: z(),
            servers: vec!["x".into()],
            ..Default::default()
        })
    );
    case!(
        "request_id",
        servers.create_server(v1::CreateServerRequest {
            request_id: "nope".into(),
            ..server()
        })
    );
    case!(
        "name",
        servers.create_server(v1::CreateServerRequest {
            name: "bad/name".into(),
            ..server()
        })
    );
    case!(
        "name",
        servers.create_server(v1::CreateServerRequest {
            name: "x".repeat(300),
            ..server()
        })
    );
    case!(
        "commercial_type",
        servers.create_server(v1::CreateServerRequest {
            commercial_type: "".into(),
            ..server()
        })
    );
    case!(
        "commercial_type",
        servers.create_server(v1::CreateServerRequest {
            commercial_type: "dev1 s".into(),
            ..server()
        })
    );
    case!(
        "image",
        servers.create_server(v1::CreateServerRequest {
            image: None,
            ..server()
        })
    );
    case!(
        "image",
        servers.create_server(v1::CreateServerRequest {
            image: Some("Ubuntu Noble!".into()),
            ..server()
        })
    );
    case!(
        "boot_type",
        servers.create_server(v1::CreateServerRequest {
            boot_type: Some("network".into()),
            ..server()
        })
    );
    case!(
        "security_group",
        servers.create_server(v1::CreateServerRequest {
            security_group: Some("sg".into()),
            ..server()
        })
    );
    case!(
        "placement_group",
        servers.create_server(v1::CreateServerRequest {
            placement_group: Some("pg".into()),
            ..server()
        })
    );
    case!(
        "public_ips.0",
        servers.create_server(v1::CreateServerRequest {
            public_ips: vec!["1.2.3.4".into()],
            ..server()
        })
    );
    case!(
        "tags.0",
        servers.create_server(v1::CreateServerRequest {
            tags: vec!["".into()],
            ..server()
        })
    );
    case!(
        "volumes.0.size",
        servers.create_server(v1::CreateServerRequest {
            volumes: [(
                "0".to_owned(),
                v1::VolumeServerTemplate {
                    size: Some(123),
                    ..Default::default()
                }
            )]
            .into(),
            ..server()
        })
    );
    case!(
        "volumes.1.volume_type",
        servers.create_server(v1::CreateServerRequest {
            volumes: [(
                "1".to_owned(),
                v1::VolumeServerTemplate {
                    volume_type: Some("floppy".into()),
                    size: Some(10_000_000_000),
                    ..Default::default()
                }
            )]
            .into(),
            ..server()
        })
    );
    case!(
        "server.id",
        servers.update_server(v1::UpdateServerRequest {
            zone: z(),
            server: Some(v1::Server {
                name: "n".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
    );
    case!(
        "update_mask",
        servers.update_server(v1::UpdateServerRequest {
            zone: z(),
            server: Some(v1::Server {
                id: u(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["state".into()]
            }),
            ..Default::default()
        })
    );
    case!(
        "update_mask",
        servers.update_server(v1::UpdateServerRequest {
            zone: z(),
            server: Some(v1::Server {
                id: u(),
                ..Default::default()
            }),
            update_mask: None,
            ..Default::default()
        })
    );
    case!(
        "server.name",
        servers.update_server(v1::UpdateServerRequest {
            zone: z(),
            server: Some(v1::Server {
                id: u(),
                name: "a*b".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
    );
    case!(
        "volume_id",
        servers.attach_server_volume(v1::AttachServerVolumeRequest {
            zone: z(),
            server_id: u(),
            volume_id: "".into(),
            ..Default::default()
        })
    );
    case!(
        "volume_type",
        servers.attach_server_volume(v1::AttachServerVolumeRequest {
            zone: z(),
            server_id: u(),
            volume_id: u(),
            volume_type: "tape".into(),
            ..Default::default()
        })
    );
    case!(
        "volume_id",
        servers.detach_server_volume(v1::DetachServerVolumeRequest {
            zone: z(),
            server_id: u(),
            volume_id: "v".into(),
            ..Default::default()
        })
    );
    case!(
        "filesystem_id",
        servers.attach_server_file_system(v1::AttachServerFileSystemRequest {
            zone: z(),
            server_id: u(),
            filesystem_id: "".into(),
            ..Default::default()
        })
    );
    case!(
        "action",
        actions.server_action(v1::ServerActionRequest {
            zone: z(),
            server_id: u(),
            action: "explode".into(),
            ..Default::default()
        })
    );
    case!(
        "action",
        actions.server_action(v1::ServerActionRequest {
            zone: z(),
            server_id: u(),
            action: "".into(),
            ..Default::default()
        })
    );
    case!(
        "server_id",
        actions.power_on_server(v1::ServerActionTarget {
            zone: z(),
            server_id: "".into(),
            ..Default::default()
        })
    );
    case!(
        "size",
        volumes.create_volume(v1::CreateVolumeRequest {
            size: Some(0),
            ..volume()
        })
    );
    case!(
        "size",
        volumes.create_volume(v1::CreateVolumeRequest {
            size: Some(1_500_000_000),
            ..volume()
        })
    );
    case!(
        "size",
        volumes.create_volume(v1::CreateVolumeRequest {
            size: None,
            ..volume()
        })
    );
    case!(
        "base_snapshot",
        volumes.create_volume(v1::CreateVolumeRequest {
            base_snapshot: Some(u()),
            ..volume()
        })
    );
    case!(
        "volume_type",
        volumes.create_volume(v1::CreateVolumeRequest {
            volume_type: Some("ssd".into()),
            ..volume()
        })
    );
    case!(
        "volume_id",
        snapshots.create_snapshot(v1::CreateSnapshotRequest {
            zone: z(),
            name: "s".into(),
            ..Default::default()
        })
    );
    case!(
        "bucket",
        snapshots.export_snapshot(v1::ExportSnapshotRequest {
            zone: z(),
            snapshot_id: u(),
            bucket: "".into(),
            key: "k".into(),
            ..Default::default()
        })
    );
    case!(
        "bucket",
        snapshots.export_snapshot(v1::ExportSnapshotRequest {
            zone: z(),
            snapshot_id: u(),
            bucket: "Bad_Bucket".into(),
            key: "k".into(),
            ..Default::default()
        })
    );
    case!(
        "key",
        snapshots.export_snapshot(v1::ExportSnapshotRequest {
            zone: z(),
            snapshot_id: u(),
            bucket: "bucket".into(),
            key: "".into(),
            ..Default::default()
        })
    );
    case!(
        "arch",
        images.create_image(v1::CreateImageRequest {
            zone: z(),
            name: "i".into(),
            root_volume: u(),
            arch: "mips".into(),
            ..Default::default()
        })
    );
    case!(
        "root_volume",
        images.create_image(v1::CreateImageRequest {
            zone: z(),
            name: "i".into(),
            root_volume: "".into(),
            arch: "x86_64".into(),
            ..Default::default()
        })
    );
    case!(
        "type",
        ips.create_ip(v1::CreateIpRequest {
            zone: z(),
            r#type: "ipv5".into(),
            ..Default::default()
        })
    );
    case!(
        "server",
        ips.create_ip(v1::CreateIpRequest {
            zone: z(),
            r#type: "routed_ipv4".into(),
            server: Some("srv".into()),
            ..Default::default()
        })
    );
    case!(
        "ip",
        ips.get_ip(v1::GetIpRequest {
            zone: z(),
            ip: "999.1.1.1".into()
        })
    );
    case!(
        "protocol",
        sgs.create_security_group_rule(v1::CreateSecurityGroupRuleRequest {
            protocol: "SCTP".into(),
            ..rule()
        })
    );
    case!(
        "direction",
        sgs.create_security_group_rule(v1::CreateSecurityGroupRuleRequest {
            direction: "sideways".into(),
            ..rule()
        })
    );
    case!(
        "ip_range",
        sgs.create_security_group_rule(v1::CreateSecurityGroupRuleRequest {
            ip_range: "10.0.0.0/99".into(),
            ..rule()
        })
    );
    case!(
        "dest_port_from",
        sgs.create_security_group_rule(v1::CreateSecurityGroupRuleRequest {
            dest_port_from: Some(70000),
            ..rule()
        })
    );
    case!(
        "dest_port_to",
        sgs.create_security_group_rule(v1::CreateSecurityGroupRuleRequest {
            dest_port_from: Some(100),
            dest_port_to: Some(10),
            ..rule()
        })
    );
    case!(
        "name",
        sgs.create_security_group(v1::CreateSecurityGroupRequest {
            zone: z(),
            name: "".into(),
            ..Default::default()
        })
    );
    case!(
        "inbound_default_policy",
        sgs.create_security_group(v1::CreateSecurityGroupRequest {
            zone: z(),
            name: "sg".into(),
            inbound_default_policy: Some("allow".into()),
            ..Default::default()
        })
    );
    case!(
        "policy_mode",
        pgs.create_placement_group(v1::CreatePlacementGroupRequest {
            zone: z(),
            policy_mode: Some("strict".into()),
            ..Default::default()
        })
    );
    case!(
        "policy_type",
        pgs.create_placement_group(v1::CreatePlacementGroupRequest {
            zone: z(),
            policy_type: Some("spread".into()),
            ..Default::default()
        })
    );
    case!(
        "servers.0",
        pgs.set_placement_group_servers(v1::SetPlacementGroupServersRequest {
            zone: z(),
            placement_group_id: u(),
            servers: vec!["x".into()],
            ..Default::default()
        })
    );
    case!(
        "key",
        user_data.set_server_user_data(v1::SetServerUserDataRequest {
            zone: z(),
            server_id: u(),
            key: "".into(),
            ..Default::default()
        })
    );
    case!(
        "key",
        user_data.get_server_user_data(v1::GetServerUserDataRequest {
            zone: z(),
            server_id: u(),
            key: "a/b".into()
        })
    );
    case!(
        "private_network_id",
        nics.create_private_nic(v1::CreatePrivateNicRequest {
            zone: z(),
            server_id: u(),
            private_network_id: "".into(),
            ..Default::default()
        })
    );
    case!(
        "volume_id",
        migration.plan_block_migration(v1::PlanBlockMigrationRequest {
            zone: z(),
            ..Default::default()
        })
    );
    case!(
        "snapshot_id",
        migration.apply_block_migration(v1::ApplyBlockMigrationRequest {
            zone: z(),
            volume_id: Some(u()),
            snapshot_id: Some(u()),
            ..Default::default()
        })
    );
    case!(
        "organization",
        migration.check_block_migration_organization_quotas(
            v1::CheckBlockMigrationOrganizationQuotasRequest {
                zone: z(),
                organization: "".into()
            }
        )
    );
    case!(
        "name",
        ops.get_operation(v1::GetOperationRequest {
            name: "operations/abc".into()
        })
    );
    case!(
        "state",
        ops.list_operations(v1::ListOperationsRequest {
            state: Some("exploded".into()),
            ..Default::default()
        })
    );
    case!(
        "page_token",
        ops.list_operations(v1::ListOperationsRequest {
            page_token: "zzz".into(),
            ..Default::default()
        })
    );

    assert!(cases.len() >= 50, "{} cases", cases.len());
    for (i, (field, result)) in cases.iter().enumerate() {
        let status = result
            .as_ref()
            .expect_err(&format!("case {i} ({field}) was accepted"));
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "case {i} ({field}): {status:?}"
        );
        let details = status.get_error_details();
        let fields: Vec<&str> = details
            .bad_request()
            .map(|b| {
                b.field_violations
                    .iter()
                    .map(|v| v.field.as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            fields.contains(field),
            "case {i}: expected {field} in {fields:?} ({})",
            status.message()
        );
    }
    println!(
        "invalid requests: {} cases, each INVALID_ARGUMENT naming its field",
        cases.len()
    );
    // Nothing reached upstream.
    let calls = env.emulator.call_log();
    let sent: Vec<String> = calls[upstream_before..]
        .iter()
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    assert!(sent.is_empty(), "calls reached the emulator: {sent:?}");
    env.shutdown.cancel();
}

/// Checks one refusal against the documented row: code, `ErrorInfo.reason`, and returns the
/// details for the row's own checks.
fn expect(
    what: &str,
    result: Result<impl std::fmt::Debug, tonic::Status>,
    code: Code,
    reason: &str,
) -> tonic_types::ErrorDetails {
    let status = match result {
        Ok(answer) => panic!("{what}: accepted: {answer:?}"),
        Err(status) => status,
    };
    assert_eq!(status.code(), code, "{what}: {status:?}");
    let details = status.get_error_details();
    let info = details
        .error_info()
        .unwrap_or_else(|| panic!("{what}: no ErrorInfo in {status:?}"));
    assert_eq!(info.reason, reason, "{what}: {status:?}");
    assert_eq!(info.domain, "fleet.scaleway.com", "{what}");
    println!("{what:<44} -> {code:?} {reason}: {}", status.message());
    details
}

/// Every Scaleway error type, end to end (caller → gateway → worker → Scaleway), mapped as
/// `docs/api.md` says. The emulator produces each type it models (not found, quotas,
/// permissions, locks, preconditions, stock, invalid arguments, 429 and 5xx through its
/// faults); the types it never sends, or only on calls fleet runs as operations
/// (`transient_state`), come from the canned proxy of the second worker's zone, so they still
/// cross a real worker and its Scaleway client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaleway_errors_map_as_documented() {
    let env = start_with(Options {
        quotas: Some(fleet_emulator::Quotas {
            ips: 1,
            ..Default::default()
        }),
    })
    .await;
    let tok = Some(OPS_TOKEN);
    let mut servers = client!(env, servers_client::ServersClient, tok);
    let mut actions = client!(env, server_actions_client::ServerActionsClient, tok);
    let mut ips = client!(env, ips_client::IpsClient, tok);
    let mut sgs = client!(env, security_groups_client::SecurityGroupsClient, tok);
    let mut ops = client!(env, operations_client::OperationsClient, tok);
    let get = |zone: &str, id: &str| v1::GetServerRequest {
        zone: zone.into(),
        server_id: id.into(),
    };
    let ip = |project: Option<String>| v1::CreateIpRequest {
        zone: ZONE.into(),
        request_id: rid(),
        r#type: "routed_ipv4".into(),
        project,
        ..Default::default()
    };

    // not_found: the message and ResourceInfo name the zone and the id.
    let missing = rid();
    let details = expect(
        "not_found",
        servers.get_server(get(ZONE, &missing)).await,
        Code::NotFound,
        "RESOURCE_NOT_FOUND",
    );
    assert_eq!(
        details.resource_info().unwrap().resource_name,
        format!("zones/{ZONE}/servers/{missing}")
    );
    // Long-running calls on a missing resource are refused before anything is accepted.
    expect(
        "not_found (long-running)",
        actions
            .power_on_server(v1::ServerActionTarget {
                zone: ZONE.into(),
                request_id: rid(),
                server_id: missing.clone(),
            })
            .await,
        Code::NotFound,
        "RESOURCE_NOT_FOUND",
    );

    // permissions_denied: a project the organization does not have.
    let details = expect(
        "permissions_denied",
        ips.create_ip(ip(Some(rid()))).await,
        Code::PermissionDenied,
        "UPSTREAM_PERMISSION_DENIED",
    );
    assert!(
        details
            .error_info()
            .unwrap()
            .metadata
            .contains_key("denied")
    );

    // quotas_exceeded: one IP allowed.
    let first = must("CreateIp", ips.create_ip(ip(None)).await);
    let details = expect(
        "quotas_exceeded",
        ips.create_ip(ip(None)).await,
        Code::ResourceExhausted,
        "QUOTA_EXCEEDED",
    );
    let quota = details.quota_failure().expect("QuotaFailure");
    assert!(!quota.violations.is_empty(), "{quota:?}");

    // invalid_arguments: a value only Scaleway checks.
    let details = expect(
        "invalid_arguments",
        ips.update_ip(v1::UpdateIpRequest {
            zone: ZONE.into(),
            request_id: rid(),
            ip: Some(v1::Ip {
                id: first.id.clone(),
                reverse: Some("not a domain!".into()),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["reverse".into()],
            }),
        })
        .await,
        Code::InvalidArgument,
        "UPSTREAM_INVALID_ARGUMENT",
    );
    assert!(details.bad_request().is_some());

    // locked.
    let sg = must(
        "CreateSecurityGroup",
        sgs.create_security_group(v1::CreateSecurityGroupRequest {
            zone: ZONE.into(),
            request_id: rid(),
            name: "locked".into(),
            project: Some(env.project()),
            ..Default::default()
        })
        .await,
    );
    env.emulator.set_locked(sg.id.parse().unwrap(), true);
    let details = expect(
        "locked",
        sgs.update_security_group(v1::UpdateSecurityGroupRequest {
            zone: ZONE.into(),
            request_id: rid(),
            security_group: Some(v1::SecurityGroup {
                id: sg.id.clone(),
                description: Some("x".into()),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into()],
            }),
        })
        .await,
        Code::FailedPrecondition,
        "RESOURCE_LOCKED",
    );
    assert!(details.precondition_failure().is_some());
    env.emulator.set_locked(sg.id.parse().unwrap(), false);

    // precondition_failed: changing the type of a running server.
    let op = must(
        "CreateServer",
        servers
            .create_server(v1::CreateServerRequest {
                zone: ZONE.into(),
                request_id: rid(),
                name: "pre".into(),
                commercial_type: "DEV1-S".into(),
                image: Some("ubuntu_jammy".into()),
                start: true,
                ..Default::default()
            })
            .await,
    );
    let server: v1::Server = unpack(&wait_done(&mut ops, &op.name).await);
    let details = expect(
        "precondition_failed",
        servers
            .update_server(v1::UpdateServerRequest {
                zone: ZONE.into(),
                request_id: rid(),
                server: Some(v1::Server {
                    id: server.id.clone(),
                    commercial_type: "DEV1-M".into(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["commercial_type".into()],
                }),
            })
            .await,
        Code::FailedPrecondition,
        "FAILED_PRECONDITION",
    );
    assert!(details.precondition_failure().is_some());

    // out_of_stock: the create operation fails with the mapped status.
    env.emulator.set_out_of_stock(ZONE, "DEV1-L", true);
    let op = must(
        "CreateServer (out of stock)",
        servers
            .create_server(v1::CreateServerRequest {
                zone: ZONE.into(),
                request_id: rid(),
                name: "oos".into(),
                commercial_type: "DEV1-L".into(),
                image: Some("ubuntu_jammy".into()),
                ..Default::default()
            })
            .await,
    );
    let failed = wait_done(&mut ops, &op.name).await;
    match &failed.result {
        Some(v1::operation::Result::Error(status)) => {
            assert_eq!(status.code, Code::ResourceExhausted as i32, "{status:?}");
            println!(
                "{:<44} -> ResourceExhausted: {}",
                "out_of_stock (operation)", status.message
            );
        }
        other => panic!("expected a failed operation: {other:?}"),
    }

    // 429 and 5xx: the worker's retry budget is spent, the caller is told when to retry.
    env.emulator.set_faults(Faults {
        rate_429: 1.0,
        retry_after_secs: Some(1),
        zones: Some(vec![ZONE.to_owned()]),
        ..Faults::default()
    });
    let details = expect(
        "429 too_many_requests",
        servers.get_server(get(ZONE, &server.id)).await,
        Code::Unavailable,
        "UPSTREAM_RATE_LIMITED",
    );
    assert!(details.retry_info().is_some());
    env.emulator.set_faults(Faults {
        error_5xx_rate: 1.0,
        zones: Some(vec![ZONE.to_owned()]),
        ..Faults::default()
    });
    let details = expect(
        "5xx internal_error",
        servers.get_server(get(ZONE, &server.id)).await,
        Code::Unavailable,
        "UPSTREAM_UNAVAILABLE",
    );
    assert!(details.retry_info().is_some());
    env.emulator.clear_faults();
    must(
        "GetServer after the faults",
        servers.get_server(get(ZONE, &server.id)).await,
    );

    // The types the emulator does not send on synchronous calls, through the canned proxy.
    let id = rid();
    let suffix = format!("/servers/{id}");
    let canned: Vec<(&str, u16, serde_json::Value, Code, &str)> = vec![
        (
            "transient_state",
            409,
            json!({"type": "transient_state", "message": "resource is in a transient state",
                   "resource": "instance_server", "resource_id": id, "current_state": "starting"}),
            Code::Aborted,
            "RESOURCE_BUSY",
        ),
        (
            "resource_expired",
            410,
            json!({"type": "resource_expired", "message": "resource has expired",
                   "resource": "instance_server", "resource_id": id}),
            Code::NotFound,
            "RESOURCE_EXPIRED",
        ),
        (
            "unknown_resource",
            404,
            json!({"type": "unknown_resource", "message": "\"server\" not found"}),
            Code::NotFound,
            "RESOURCE_NOT_FOUND",
        ),
        (
            "conflict",
            409,
            json!({"type": "conflict", "message": "the server is being modified"}),
            Code::Aborted,
            "CONFLICT",
        ),
        (
            "conflict (already exists)",
            409,
            json!({"type": "conflict", "message": "a server with this name already exists"}),
            Code::AlreadyExists,
            "ALREADY_EXISTS",
        ),
        (
            "invalid_request_error (400)",
            400,
            json!({"type": "invalid_request_error", "message": "Validation Error",
                   "fields": {"name": ["required"]}}),
            Code::InvalidArgument,
            "UPSTREAM_INVALID_ARGUMENT",
        ),
        (
            "invalid_request_error (403 legacy quota)",
            403,
            json!({"type": "invalid_request_error", "message": "Quota exceeded for this resource.",
                   "resource": "compute_snapshots_type_b_ssd_available"}),
            Code::ResourceExhausted,
            "QUOTA_EXCEEDED",
        ),
        (
            "denied_authentication",
            401,
            json!({"type": "denied_authentication", "message": "authentication is denied",
                   "method": "api_key", "reason": "expired"}),
            Code::Internal,
            "UPSTREAM_AUTHENTICATION_DENIED",
        ),
        (
            "unknown type (412)",
            412,
            json!({"type": "brand_new_type", "message": "server should be stopped"}),
            Code::FailedPrecondition,
            "FAILED_PRECONDITION",
        ),
        (
            "unknown type (418)",
            418,
            json!({"type": "teapot", "message": "short and stout"}),
            Code::Unknown,
            "UPSTREAM_ERROR",
        ),
    ];
    for (what, status, body, code, reason) in canned {
        env.canned.arm("GET", &suffix, status, body);
        expect(
            what,
            servers.get_server(get(CANNED_ZONE, &id)).await,
            code,
            reason,
        );
    }
    assert_eq!(
        env.canned.served.lock().unwrap().len(),
        10,
        "each canned answer was served"
    );

    // A zone nobody owns.
    let details = expect(
        "no zone owner",
        servers.get_server(get("pl-waw-1", &rid())).await,
        Code::Unavailable,
        "NO_ZONE_OWNER",
    );
    assert!(details.retry_info().is_some());
    assert_eq!(v1::Server::full_name(), "fleet.v1.Server");
}
