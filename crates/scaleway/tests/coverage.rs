//! Calls every endpoint of the catalog against the emulator and prints
//! `endpoint coverage: instance N/76, block M/14, instance_v2alpha1 K/12`
//! (a harness-less test, so
//! the line always shows in `cargo test` output). Each count is of the
//! family's catalog operations that the client sent (its per-operation
//! counters) AND that the emulator answered with a success at least once
//! (its call log, mapped back to the catalog); the test fails below full
//! coverage of either family or if any call that should succeed fails.

mod common;

use std::collections::BTreeSet;
use std::process::ExitCode;

use fleet_core::block::{ReferenceStatus, SnapshotStatus, VolumeStatus};
use fleet_core::catalog::{self, Api, ENDPOINTS, Operation};
use fleet_core::{ServerAction, VolumeServerVolumeType, Zone};
use fleet_scaleway::{Client, Error, WaitOptions, WaitTarget};
use futures::TryStreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

const ZONE: Zone = Zone::FrPar1;

/// A typed request from JSON (shorter than struct literals with `extra`).
fn req<T: DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("request json fits its type")
}

/// A full-replace (PUT) body made from the object as it was read.
fn reshape<T: DeserializeOwned>(object: &impl Serialize) -> T {
    serde_json::from_value(serde_json::to_value(object).expect("serializes")).expect("reshapes")
}

async fn scenario(client: &Client) -> Result<(), Error> {
    let z = ZONE;
    let wait = WaitOptions::with_timeout(std::time::Duration::from_secs(30));

    // Products and dashboard.
    client.list_servers_types(z, &Default::default()).await?;
    client
        .get_server_types_availability(z, &Default::default())
        .await?;
    client.list_volumes_types(z, &Default::default()).await?;
    client.get_dashboard(z, &Default::default()).await?;

    // Security groups and rules.
    let sg = client
        .create_security_group(
            z,
            &req(
                json!({"name": "cov-sg", "description": "coverage", "stateful": true,
            "inbound_default_policy": "accept", "outbound_default_policy": "accept"}),
            ),
        )
        .await?;
    client.get_security_group(z, &sg.id).await?;
    let sg = client
        .update_security_group(z, &sg.id, &req(json!({"description": "updated"})))
        .await?;
    client.set_security_group(z, &sg.id, &reshape(&sg)).await?;
    let groups: Vec<_> = client
        .list_security_groups_all(z, Default::default())
        .try_collect()
        .await?;
    assert!(groups.iter().any(|g| g.id == sg.id));
    client.list_security_groups(z, &Default::default()).await?;
    client.list_default_security_group_rules(z).await?;
    let rule = client
        .create_security_group_rule(
            z,
            &sg.id,
            &req(
                json!({"protocol": "TCP", "direction": "inbound", "action": "accept",
            "ip_range": "10.0.0.0/8", "dest_port_from": 22, "position": 1, "editable": true}),
            ),
        )
        .await?;
    client
        .list_security_group_rules(z, &sg.id, &Default::default())
        .await?;
    client.get_security_group_rule(z, &sg.id, &rule.id).await?;
    let rule = client
        .update_security_group_rule(z, &sg.id, &rule.id, &req(json!({"dest_port_from": 2222})))
        .await?;
    client
        .set_security_group_rule(z, &sg.id, &rule.id, &reshape(&rule))
        .await?;
    client
        .delete_security_group_rule(z, &sg.id, &rule.id)
        .await?;
    let rules = client
        .set_security_group_rules(
            z,
            &sg.id,
            &req(json!({"rules": [{"protocol": "TCP", "direction": "inbound",
            "action": "accept", "ip_range": "0.0.0.0/0", "dest_port_from": 443, "position": 1}]})),
        )
        .await?;
    assert!(!rules.is_empty());
    client
        .wait_security_group(z, &sg.id, WaitTarget::Terminal, &wait)
        .await?;

    // Placement group.
    let pg = client
        .create_placement_group(z, &req(json!({"name": "cov-pg", "policy_mode": "optional", "policy_type": "max_availability"})))
        .await?;
    client.get_placement_group(z, &pg.id).await?;
    let pg = client
        .update_placement_group(z, &pg.id, &req(json!({"name": "cov-pg-2"})))
        .await?;
    client.set_placement_group(z, &pg.id, &reshape(&pg)).await?;
    client.list_placement_groups(z, &Default::default()).await?;

    // Server, its user data, actions and attachments.
    let server = client
        .create_server(
            z,
            &req(
                json!({"name": "cov-srv", "commercial_type": "DEV1-S", "image": "ubuntu_jammy",
            "security_group": sg.id}),
            ),
        )
        .await?;
    let id = server.id.clone();
    client.list_servers(z, &Default::default()).await?;
    let server = client.get_server(z, &id).await?;
    client
        .update_server(z, &id, &req(json!({"tags": ["coverage"]})))
        .await?;
    let server = client
        .set_server(
            z,
            &id,
            &reshape(&client.get_server(z, &id).await.unwrap_or(server)),
        )
        .await?;
    client.get_server_compatible_types(z, &id).await?;
    client.list_server_actions(z, &id).await?;
    client
        .set_server_user_data(z, &id, "cloud-init", b"#cloud-config\n".to_vec())
        .await?;
    let keys = client.list_server_user_data(z, &id).await?;
    assert_eq!(keys, ["cloud-init"]);
    assert_eq!(
        client.get_server_user_data(z, &id, "cloud-init").await?,
        b"#cloud-config\n"
    );
    client.delete_server_user_data(z, &id, "cloud-init").await?;
    let missing = client
        .get_server_user_data(z, &id, "cloud-init")
        .await
        .unwrap_err();
    assert!(
        missing.is_not_found() && !missing.retryable(),
        "{missing:?}"
    );
    client.get_placement_group_servers(z, &pg.id).await?;
    client
        .set_placement_group_servers(z, &pg.id, &req(json!({"servers": [id]})))
        .await?;
    client
        .update_placement_group_servers(z, &pg.id, &req(json!({"servers": []})))
        .await?;

    // Volumes, attached and detached.
    let volume = client
        .create_volume(
            z,
            &req(json!({"name": "cov-vol", "volume_type": "l_ssd", "size": 10_000_000_000u64})),
        )
        .await?;
    client.get_volume(z, &volume.id).await?;
    client
        .update_volume(z, &volume.id, &req(json!({"name": "cov-vol-2"})))
        .await?;
    client.list_volumes(z, &Default::default()).await?;
    client
        .wait_volume(z, &volume.id, WaitTarget::Terminal, &wait)
        .await?;
    client
        .attach_server_volume(
            z,
            &id,
            &req(json!({"volume_id": volume.id, "volume_type": "l_ssd"})),
        )
        .await?;
    client
        .detach_server_volume(z, &id, &req(json!({"volume_id": volume.id})))
        .await?;
    let filesystem = "6f0e5d4c-3b2a-4190-8f7e-6d5c4b3a2910";
    client
        .attach_server_file_system(z, &id, &req(json!({"filesystem_id": filesystem})))
        .await?;
    client
        .detach_server_file_system(z, &id, &req(json!({"filesystem_id": filesystem})))
        .await?;

    // Private NIC.
    let nic = client
        .create_private_nic(
            z,
            &id,
            &req(json!({"private_network_id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"})),
        )
        .await?;
    client
        .list_private_nics(z, &id, &Default::default())
        .await?;
    client.get_private_nic(z, &id, &nic.id).await?;
    client
        .wait_private_nic(z, &id, &nic.id, WaitTarget::Terminal, &wait)
        .await?;
    client
        .update_private_nic(z, &id, &nic.id, &req(json!({"tags": ["coverage"]})))
        .await?;
    client.delete_private_nic(z, &id, &nic.id).await?;

    // Snapshot, export, image.
    let created = client
        .create_snapshot(z, &req(json!({"name": "cov-snap", "volume_id": volume.id})))
        .await?;
    let snap = created.snapshot;
    client
        .wait_snapshot(z, &snap.id, WaitTarget::Terminal, &wait)
        .await?;
    client.get_snapshot(z, &snap.id).await?;
    let snap = client
        .update_snapshot(z, &snap.id, &req(json!({"name": "cov-snap-2"})))
        .await?;
    client.set_snapshot(z, &snap.id, &reshape(&snap)).await?;
    client.list_snapshots(z, &Default::default()).await?;
    let task = client
        .export_snapshot(
            z,
            &snap.id,
            &req(json!({"bucket": "cov-bucket", "key": "cov.qcow2"})),
        )
        .await?;
    client.wait_task(z, &task, &wait).await?;
    client
        .wait_snapshot(z, &snap.id, WaitTarget::Terminal, &wait)
        .await?;
    let image = client
        .create_image(
            z,
            &req(json!({"name": "cov-img", "root_volume": snap.id, "arch": "x86_64"})),
        )
        .await?;
    client
        .wait_image(z, &image.id, WaitTarget::Terminal, &wait)
        .await?;
    client.get_image(z, &image.id).await?;
    let image = client
        .update_image(z, &image.id, &req(json!({"name": "cov-img-2"})))
        .await?;
    client.set_image(z, &image.id, &reshape(&image)).await?;
    client.list_images(z, &Default::default()).await?;
    client.delete_image(z, &image.id).await?;
    client.delete_snapshot(z, &snap.id).await?;

    // Block migration of a b_ssd volume.
    let bssd = client
        .create_volume(
            z,
            &req(json!({"name": "cov-bssd", "volume_type": "b_ssd", "size": 10_000_000_000u64})),
        )
        .await?;
    let plan = client
        .plan_block_migration(z, &req(json!({"volume_id": bssd.id})))
        .await?;
    client
        .check_block_migration_organization_quotas(z, &req(json!({})))
        .await?;
    client
        .apply_block_migration(
            z,
            &req(json!({"volume_id": bssd.id, "validation_key": plan.validation_key})),
        )
        .await?;

    // Flexible IPs.
    let ip = client
        .create_ip(z, &req(json!({"type": "routed_ipv4"})))
        .await?;
    client.get_ip(z, &ip.id).await?;
    client
        .update_ip(z, &ip.id, &req(json!({"tags": ["coverage"]})))
        .await?;
    client.list_ips(z, &Default::default()).await?;
    client
        .wait_ip(z, &ip.id, WaitTarget::Terminal, &wait)
        .await?;
    client.delete_ip(z, &ip.id).await?;
    let ipam = client
        .create_ip(z, &req(json!({"type": "routed_ipv4"})))
        .await?;
    client
        .release_ip_to_ipam(z, &ipam.id, &req(json!({})))
        .await?;

    // Power cycle, then clean up.
    client
        .server_action_and_wait(z, &id, ServerAction::Poweron, &wait)
        .await?;
    client
        .server_action_and_wait(z, &id, ServerAction::Poweroff, &wait)
        .await?;
    client.delete_server(z, &server.id).await?;
    client.delete_volume(z, &volume.id).await?;
    client.delete_placement_group(z, &pg.id).await?;
    client.delete_security_group(z, &sg.id).await?;
    Ok(())
}

/// The Block API: a label-made server's SBS root, a volume created empty,
/// resized, attached and detached through Instance, its snapshot exported
/// and imported back, a restore, and the clean-up.
async fn block_scenario(client: &Client) -> Result<(), Error> {
    let z = ZONE;
    let wait = WaitOptions::with_timeout(std::time::Duration::from_secs(30));
    client
        .block_list_volume_types(z, &Default::default())
        .await?;

    // A server made from a label has its root in Block, held by the server.
    let server = client
        .create_server(
            z,
            &req(json!({"name": "cov-sbs", "commercial_type": "DEV1-S", "image": "ubuntu_noble"})),
        )
        .await?;
    let root = server
        .volumes
        .values()
        .find(|v| v.volume_type == VolumeServerVolumeType::SbsVolume)
        .map(|v| v.id.clone())
        .expect("a label-made server has an sbs_volume root");
    let held = client
        .wait_block_volume(z, &root, WaitTarget::State(VolumeStatus::InUse), &wait)
        .await?
        .resource
        .expect("a volume");
    assert!(
        held.references
            .iter()
            .any(|r| r.product_resource_id == server.id && r.status == ReferenceStatus::Attached),
        "{held:?}"
    );

    // A volume: create, resize through `updating`, attach, detach.
    let created = client
        .block_create_volume(
            z,
            &req(json!({"name": "cov-block", "perf_iops": 5000, "from_empty": {"size": 20_000_000_000u64}})),
        )
        .await?;
    let id = created.id.clone();
    client
        .wait_block_volume(z, &id, WaitTarget::State(VolumeStatus::Available), &wait)
        .await?;
    client.block_get_volume(z, &id).await?;
    client
        .block_update_volume(
            z,
            &id,
            &req(json!({"size": 30_000_000_000u64, "perf_iops": 15000})),
        )
        .await?;
    let resized = client
        .wait_block_volume(z, &id, WaitTarget::State(VolumeStatus::Available), &wait)
        .await?
        .resource
        .expect("a volume");
    assert_eq!(resized.size, 30_000_000_000);
    client.block_list_volumes(z, &Default::default()).await?;
    let all: Vec<_> = client
        .block_list_volumes_all(z, Default::default())
        .try_collect()
        .await?;
    assert!(all.iter().any(|v| v.id == id) && all.iter().any(|v| v.id == root));
    client
        .attach_server_volume(
            z,
            &server.id,
            &req(json!({"volume_id": id, "volume_type": "sbs_volume"})),
        )
        .await?;
    client
        .wait_block_volume(z, &id, WaitTarget::State(VolumeStatus::InUse), &wait)
        .await?;
    client
        .detach_server_volume(z, &server.id, &req(json!({"volume_id": id})))
        .await?;
    client
        .wait_block_volume(z, &id, WaitTarget::State(VolumeStatus::Available), &wait)
        .await?;

    // A snapshot: create, update, list, export, import it back, restore.
    let snap = client
        .block_create_snapshot(z, &req(json!({"volume_id": id, "name": "cov-block-snap"})))
        .await?;
    let available = WaitTarget::State(SnapshotStatus::Available);
    client
        .wait_block_snapshot(z, &snap.id, available.clone(), &wait)
        .await?;
    client.block_get_snapshot(z, &snap.id).await?;
    client
        .block_update_snapshot(z, &snap.id, &req(json!({"name": "cov-block-snap-2"})))
        .await?;
    client.block_list_snapshots(z, &Default::default()).await?;
    let object = json!({"bucket": "cov-bucket", "key": "cov-block.qcow2"});
    client
        .block_export_snapshot_to_object_storage(z, &snap.id, &req(object.clone()))
        .await?;
    client
        .wait_block_snapshot(z, &snap.id, available.clone(), &wait)
        .await?;
    let mut imports = Vec::new();
    let mut import = object.clone();
    import["name"] = json!("cov-import");
    imports.push(
        client
            .block_import_snapshot_from_object_storage(z, &req(import.clone()))
            .await?,
    );
    import["name"] = json!("cov-import-s3");
    imports.push(
        client
            .block_import_snapshot_from_s3(z, &req(import))
            .await?,
    );
    for imported in &imports {
        client
            .wait_block_snapshot(z, &imported.id, available.clone(), &wait)
            .await?;
    }
    let restored = client
        .block_create_volume(
            z,
            &req(json!({"name": "cov-restore", "from_snapshot": {"snapshot_id": snap.id}})),
        )
        .await?;
    client
        .wait_block_volume(
            z,
            &restored.id,
            WaitTarget::State(VolumeStatus::Available),
            &wait,
        )
        .await?;

    // Clean-up: terminate (of a running server) detaches the root and
    // keeps it; Block deletes it.
    client
        .server_action_and_wait(z, &server.id, ServerAction::Poweron, &wait)
        .await?;
    client
        .server_action_and_wait(z, &server.id, ServerAction::Terminate, &wait)
        .await?;
    client
        .wait_block_volume(z, &root, WaitTarget::State(VolumeStatus::Available), &wait)
        .await?;
    for snapshot in imports.iter().map(|s| &s.id).chain([&snap.id]) {
        client.block_delete_snapshot(z, snapshot).await?;
    }
    for volume in [&id, &restored.id, &root] {
        client.block_delete_volume(z, volume).await?;
        client
            .wait_block_volume(z, volume, WaitTarget::Gone, &wait)
            .await?;
    }
    Ok(())
}

/// Instance v2alpha1: interfaces made loose and on a server, attached and
/// detached, placement groups through their whole life; lists read one
/// page and every page by token.
async fn v2alpha1_scenario(client: &Client) -> Result<(), Error> {
    let z = ZONE;
    const PN: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    let server = client
        .create_server(
            z,
            &req(json!({"name": "cov-v2", "commercial_type": "DEV1-S", "image": "ubuntu_jammy"})),
        )
        .await?;
    let nic = client
        .v2alpha1_create_private_network_interface(
            z,
            &req(json!({"private_network_id": PN, "tags": ["cov"]})),
        )
        .await?;
    assert_eq!(nic.server_id, "");
    let nic = client
        .v2alpha1_update_private_network_interface(z, &nic.id, &req(json!({"tags": ["cov", "b"]})))
        .await?;
    let attached = client
        .v2alpha1_attach_server_private_network_interface(
            z,
            &server.id,
            &req(json!({"private_network_interface_id": nic.id})),
        )
        .await?;
    assert_eq!(attached.private_network_interfaces.len(), 1);
    let read = client
        .v2alpha1_get_private_network_interface(z, &nic.id)
        .await?;
    assert_eq!(read.server_id, server.id);
    let page = client
        .v2alpha1_list_private_network_interfaces(z, &req(json!({"server_ids": server.id})))
        .await?;
    assert_eq!((page.items.len(), page.total_count), (1, Some(1)));
    let detached = client
        .v2alpha1_detach_server_private_network_interface(
            z,
            &server.id,
            &req(json!({"private_network_interface_id": nic.id})),
        )
        .await?;
    assert!(detached.private_network_interfaces.is_empty());
    let all: Vec<_> = client
        .v2alpha1_list_private_network_interfaces_all(z, Default::default())
        .try_collect()
        .await?;
    assert!(all.iter().any(|n| n.id == nic.id));
    client
        .v2alpha1_delete_private_network_interface(z, &nic.id)
        .await?;

    let group = client
        .v2alpha1_create_placement_group(
            z,
            &req(json!({"name": "cov-pg", "policy_type": "low_latency"})),
        )
        .await?;
    client.v2alpha1_get_placement_group(z, &group.id).await?;
    let group = client
        .v2alpha1_update_placement_group(
            z,
            &group.id,
            &req(json!({"name": "cov-pg-2", "policy_type": "unknown_policy_type"})),
        )
        .await?;
    assert_eq!(group.policy_type.as_str(), "low_latency");
    assert_eq!(
        client.get_placement_group(z, &group.id).await?.name,
        "cov-pg-2"
    );
    let page = client
        .v2alpha1_list_placement_groups(z, &req(json!({"name": "cov-pg-2"})))
        .await?;
    assert_eq!(page.items.len(), 1);
    let groups: Vec<_> = client
        .v2alpha1_list_placement_groups_all(z, Default::default())
        .try_collect()
        .await?;
    assert!(groups.iter().any(|g| g.id == group.id));
    client.v2alpha1_delete_placement_group(z, &group.id).await?;
    client.delete_server(z, &server.id).await?;
    Ok(())
}

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let emu = common::emulator().await;
        let client = common::client(&emu).with_caller("coverage/epoch-1");
        let outcome = scenario(&client).await;
        let block_outcome = block_scenario(&client).await;
        let v2alpha1_outcome = v2alpha1_scenario(&client).await;
        let log = emu.call_log();
        emu.shutdown().await;

        let sent: BTreeSet<Operation> = client.endpoint_usage().into_keys().collect();
        let answered: BTreeSet<Operation> = log
            .iter()
            .filter(|c| (200..300).contains(&c.status))
            .filter_map(|c| catalog::find(&c.method, &c.path).map(|(e, _)| e.operation))
            .collect();
        let covered: Vec<Operation> = ENDPOINTS
            .iter()
            .map(|e| e.operation)
            .filter(|op| sent.contains(op) && answered.contains(op))
            .collect();
        let per_family: Vec<String> = Api::ALL
            .iter()
            .map(|&api| {
                let done = covered.iter().filter(|op| op.api() == api).count();
                let total = ENDPOINTS.iter().filter(|e| e.api() == api).count();
                format!("{api} {done}/{total}")
            })
            .collect();
        println!("endpoint coverage: {}", per_family.join(", "));
        let mut ok = true;
        for (family, outcome) in [
            (Api::Instance, outcome),
            (Api::Block, block_outcome),
            (Api::InstanceV2Alpha1, v2alpha1_outcome),
        ] {
            if let Err(err) = outcome {
                println!("{family} scenario failed: {err}");
                ok = false;
            }
        }
        for e in ENDPOINTS.iter().filter(|e| !covered.contains(&e.operation)) {
            println!("  not covered: {} {} ({})", e.method, e.path, e.name());
            ok = false;
        }
        if !log
            .iter()
            .all(|c| c.caller.as_deref() == Some("coverage/epoch-1"))
        {
            println!("some calls lack the X-Fleet-Caller header");
            ok = false;
        }
        if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    })
}
