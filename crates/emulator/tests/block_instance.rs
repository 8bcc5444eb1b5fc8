//! The Instance API and the Block API over one world: a label-made
//! server's SBS root, attach/detach moving references, terminate and plain
//! delete keeping Block volumes, backups making Block snapshots, images of
//! Block snapshots, servers from Block snapshots, block migration.

use std::time::Duration;

mod support;

use fleet_emulator::{Emulator, RunningEmulator};
use serde_json::{Value, json};
use support::Tenant;

const A: &str = "6a0c3e2f-2b0e-4a8e-9d7b-0d8f1c2a3b4c";
const Z: &str = "/instance/v1/zones/fr-par-1";
const V1: &str = "/block/v1/zones/fr-par-1";
const GB: u64 = 1_000_000_000;

/// An emulator whose transitions last `transition_ms`: tests that look at
/// a transient state (`attaching`, `detaching`) use a long one, so the
/// look cannot come too late.
async fn emu(transition_ms: u64) -> RunningEmulator {
    match Emulator::builder()
        .transition(Duration::from_millis(transition_ms))
        .seed(5)
        .start()
        .await
    {
        Ok(e) => e,
        Err(e) => panic!("start: {e}"),
    }
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

/// A DEV1-S server from the `ubuntu_noble` label; (server, root volume).
async fn label_server(t: &Tenant, name: &str) -> (String, String) {
    let r = t
        .call(
            "POST",
            &format!("{Z}/servers"),
            Some(json!({"name": name, "commercial_type": "DEV1-S", "image": "ubuntu_noble"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let s = &r.json()["server"];
    (id_of(s), id_of(&s["volumes"]["0"]))
}

async fn block_volume(t: &Tenant, name: &str) -> String {
    let r = t
        .call(
            "POST",
            &format!("{V1}/volumes"),
            Some(json!({"name": name, "from_empty": {"size": 20 * GB}})),
        )
        .await;
    assert_eq!(r.status, 200);
    let id = id_of(&r.json());
    t.wait_for(&format!("{V1}/volumes/{id}"), "available", |v| {
        v["status"] == "available"
    })
    .await;
    id
}

/// Wait until volume `id` is free again (no reference, `available`).
async fn wait_detached(t: &Tenant, id: &str) -> Value {
    t.wait_for(&format!("{V1}/volumes/{id}"), "detached", |v| {
        v["status"] == "available" && v["references"] == json!([])
    })
    .await
}

#[tokio::test]
async fn a_label_made_server_has_its_root_in_block_only() {
    let e = emu(20).await;
    let t = Tenant::new(e.local_addr(), A);
    let (sid, root) = label_server(&t, "web-1").await;
    let s = t
        .call("GET", &format!("{Z}/servers/{sid}"), None)
        .await
        .json();
    let entry = &s["server"]["volumes"]["0"];
    assert_eq!(entry["volume_type"], "sbs_volume");
    assert_eq!(entry["state"], "available");
    assert!(entry.get("name").is_none() && entry.get("size").is_none());
    let image = &s["server"]["image"];
    let r = t.call("GET", &format!("{Z}/volumes/{root}"), None).await;
    assert_eq!(
        (r.status, r.json()["resource"].clone()),
        (404, json!("instance_volume"))
    );
    let listed = t.call("GET", &format!("{Z}/volumes"), None).await.json();
    assert_eq!(listed["volumes"], json!([]));
    let v = t
        .call("GET", &format!("{V1}/volumes/{root}"), None)
        .await
        .json();
    assert_eq!(
        v["name"],
        format!(
            "{}_sbs_volume_0",
            image["name"].as_str().unwrap_or_default()
        )
    );
    assert_eq!(
        (v["type"].clone(), v["size"].as_u64()),
        (json!("sbs_5k"), Some(10 * GB))
    );
    assert_eq!(v["status"], "in_use");
    assert_eq!(v["parent_snapshot_id"], image["root_volume"]["id"]);
    let r = &v["references"][0];
    assert_eq!(
        (
            r["product_resource_type"].clone(),
            r["product_resource_id"].clone(),
            r["type"].clone(),
            r["status"].clone()
        ),
        (
            json!("instance_server"),
            json!(sid),
            json!("exclusive"),
            json!("attached")
        )
    );
    let held = t
        .call(
            "GET",
            &format!("{V1}/volumes?product_resource_id={sid}"),
            None,
        )
        .await
        .json();
    assert_eq!(held["total_count"], 1);
    let r = t
        .call("DELETE", &format!("{V1}/volumes/{root}"), None)
        .await;
    assert_eq!(r.status, 412);
    assert_eq!(r.json()["precondition"], "resource_still_in_use");
    // A sized root keeps the size.
    let r = t
        .call(
            "POST",
            &format!("{Z}/servers"),
            Some(
                json!({"name": "big", "commercial_type": "DEV1-S", "image": "ubuntu_noble",
                        "volumes": {"0": {"size": 20 * GB, "volume_type": "sbs_volume"}}}),
            ),
        )
        .await;
    let big = id_of(&r.json()["server"]["volumes"]["0"]);
    let v = t
        .call("GET", &format!("{V1}/volumes/{big}"), None)
        .await
        .json();
    assert_eq!(v["size"].as_u64(), Some(20 * GB));
    e.shutdown().await;
}

#[tokio::test]
async fn attach_and_detach_move_references() {
    let e = emu(400).await;
    let t = Tenant::new(e.local_addr(), A);
    let (sid, _) = label_server(&t, "app").await;
    let data = block_volume(&t, "data").await;
    let r = t
        .call(
            "POST",
            &format!("{Z}/servers/{sid}/attach-volume"),
            Some(json!({"volume_id": data, "volume_type": "sbs_volume"})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["server"]["volumes"]["1"]["id"], data.as_str());
    let path = format!("{V1}/volumes/{data}");
    let v = t.call("GET", &path, None).await.json();
    assert_eq!(
        (v["status"].clone(), v["references"][0]["status"].clone()),
        (json!("in_use"), json!("attaching"))
    );
    t.wait_for(&path, "attached", |v| {
        v["references"][0]["status"] == "attached"
    })
    .await;
    let (other, _) = label_server(&t, "other").await;
    let r = t
        .call(
            "POST",
            &format!("{Z}/servers/{other}/attach-volume"),
            Some(json!({"volume_id": data})),
        )
        .await;
    assert_eq!(r.status, 400, "a volume has one server");
    let r = t
        .call(
            "POST",
            &format!("{Z}/servers/{sid}/detach-volume"),
            Some(json!({"volume_id": data})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.json()["server"]["volumes"].get("1").is_none());
    let v = t.call("GET", &path, None).await.json();
    assert_eq!(
        (v["status"].clone(), v["references"][0]["status"].clone()),
        (json!("in_use"), json!("detaching"))
    );
    let v = wait_detached(&t, &data).await;
    assert!(v["last_detached_at"].is_string());
    // A server PATCH listing the volume attaches it too.
    let r = t
        .call(
            "PATCH",
            &format!("{Z}/servers/{sid}"),
            Some(json!({"volumes": {
            "0": {"id": v0(&t, &sid).await, "volume_type": "sbs_volume"},
            "1": {"id": data, "volume_type": "sbs_volume"}}})),
        )
        .await;
    assert_eq!(r.status, 200);
    t.wait_for(&path, "attached", |v| {
        v["references"][0]["status"] == "attached"
    })
    .await;
    e.shutdown().await;
}

async fn v0(t: &Tenant, server: &str) -> String {
    let s = t
        .call("GET", &format!("{Z}/servers/{server}"), None)
        .await
        .json();
    id_of(&s["server"]["volumes"]["0"])
}

#[tokio::test]
async fn terminate_and_delete_leave_block_volumes_detached() {
    let e = emu(400).await;
    let t = Tenant::new(e.local_addr(), A);
    let (sid, root) = label_server(&t, "term").await;
    let action = |a: &str| json!({"action": a});
    assert_eq!(
        t.call(
            "POST",
            &format!("{Z}/servers/{sid}/action"),
            Some(action("poweron"))
        )
        .await
        .status,
        202
    );
    t.wait_for(&format!("{Z}/servers/{sid}"), "running", |s| {
        s["server"]["state"] == "running"
    })
    .await;
    assert_eq!(
        t.call(
            "POST",
            &format!("{Z}/servers/{sid}/action"),
            Some(action("terminate"))
        )
        .await
        .status,
        202
    );
    t.wait_for(&format!("{Z}/servers/{sid}"), "gone", |s| {
        s["type"] == "not_found"
    })
    .await;
    wait_detached(&t, &root).await;
    assert_eq!(
        t.call("DELETE", &format!("{V1}/volumes/{root}"), None)
            .await
            .status,
        204
    );
    let (sid, root) = label_server(&t, "plain").await;
    assert_eq!(
        t.call("DELETE", &format!("{Z}/servers/{sid}"), None)
            .await
            .status,
        204
    );
    let v = t
        .call("GET", &format!("{V1}/volumes/{root}"), None)
        .await
        .json();
    assert_eq!(v["references"][0]["status"], "detaching");
    wait_detached(&t, &root).await;
    assert_eq!(
        t.call("DELETE", &format!("{V1}/volumes/{root}"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        t.call("GET", &format!("{V1}/volumes"), None).await.json()["total_count"],
        0
    );
    e.shutdown().await;
}

#[tokio::test]
async fn backup_of_an_sbs_server_makes_linked_block_snapshots() {
    let e = emu(20).await;
    let t = Tenant::new(e.local_addr(), A);
    let (sid, root) = label_server(&t, "bk").await;
    let bad = t
        .call(
            "POST",
            &format!("{Z}/servers/{sid}/action"),
            Some(json!({"action": "backup", "volumes": {root.clone(): {"volume_type": "l_ssd"}}})),
        )
        .await;
    assert_eq!(bad.status, 400);
    let r = t
        .call("POST", &format!("{Z}/servers/{sid}/action"), Some(json!({"action": "backup", "name": "backup", "volumes": {root.clone(): {"volume_type": "sbs_snapshot"}}})))
        .await;
    assert_eq!(r.status, 202);
    let href = r.json()["task"]["href_result"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let image = t.call("GET", &format!("{Z}{href}"), None).await.json();
    let image = &image["image"];
    assert_eq!(image["state"], "available");
    assert_eq!(image["from_server"], sid.as_str());
    let rv = &image["root_volume"];
    assert_eq!(
        (
            rv["volume_type"].clone(),
            rv["size"].clone(),
            rv["name"].clone()
        ),
        (json!("sbs_snapshot"), json!(0), json!(""))
    );
    let snap = id_of(rv);
    let s = t
        .call("GET", &format!("{V1}/snapshots/{snap}"), None)
        .await
        .json();
    assert_eq!(
        (s["name"].clone(), s["status"].clone()),
        (json!("backup_snap_0"), json!("in_use"))
    );
    assert_eq!(s["parent_volume"]["id"], root.as_str());
    let r = &s["references"][0];
    assert_eq!(
        (
            r["product_resource_type"].clone(),
            r["type"].clone(),
            r["product_resource_id"].clone()
        ),
        (json!("instance_image"), json!("link"), image["id"].clone())
    );
    let r = t
        .call("DELETE", &format!("{V1}/snapshots/{snap}"), None)
        .await;
    assert_eq!(
        (r.status, r.json()["precondition"].clone()),
        (412, json!("resource_still_in_use"))
    );
    assert_eq!(
        t.call("GET", &format!("{Z}/snapshots/{snap}"), None)
            .await
            .status,
        404
    );
    assert_eq!(
        t.call("DELETE", &format!("{Z}{href}"), None).await.status,
        204
    );
    t.wait_for(&format!("{V1}/snapshots/{snap}"), "released", |s| {
        s["status"] == "available" && s["references"] == json!([])
    })
    .await;
    assert_eq!(
        t.call("DELETE", &format!("{V1}/snapshots/{snap}"), None)
            .await
            .status,
        204
    );
    e.shutdown().await;
}

#[tokio::test]
async fn images_and_servers_from_block_snapshots() {
    let e = emu(20).await;
    let t = Tenant::new(e.local_addr(), A);
    let vol = block_volume(&t, "golden").await;
    let r = t
        .call(
            "POST",
            &format!("{V1}/snapshots"),
            Some(json!({"volume_id": vol, "name": "gold"})),
        )
        .await;
    let snap = id_of(&r.json());
    t.wait_for(&format!("{V1}/snapshots/{snap}"), "available", |s| {
        s["status"] == "available"
    })
    .await;
    let r = t
        .call(
            "POST",
            &format!("{Z}/images"),
            Some(json!({"name": "img", "root_volume": snap, "arch": "x86_64"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let image = r.json()["image"].clone();
    assert_eq!(image["root_volume"]["volume_type"], "sbs_snapshot");
    let s = t
        .call("GET", &format!("{V1}/snapshots/{snap}"), None)
        .await
        .json();
    assert_eq!(s["status"], "in_use");
    // A server from that image gets a Block root at least the snapshot's size.
    let r = t
        .call(
            "POST",
            &format!("{Z}/servers"),
            Some(json!({"name": "from-img", "commercial_type": "DEV1-S", "image": image["id"]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let root = id_of(&r.json()["server"]["volumes"]["0"]);
    let v = t
        .call("GET", &format!("{V1}/volumes/{root}"), None)
        .await
        .json();
    assert_eq!(
        (v["parent_snapshot_id"].clone(), v["size"].as_u64()),
        (json!(snap), Some(20 * GB))
    );
    // A template entry with a Block base snapshot makes a Block volume.
    let r = t
        .call("POST", &format!("{Z}/servers"), Some(json!({"name": "from-snap", "commercial_type": "DEV1-S", "image": "ubuntu_noble",
            "volumes": {"0": {"name": "restored-root", "volume_type": "sbs_volume", "base_snapshot": snap}}})))
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let root = id_of(&r.json()["server"]["volumes"]["0"]);
    let v = t
        .call("GET", &format!("{V1}/volumes/{root}"), None)
        .await
        .json();
    assert_eq!(
        (
            v["name"].clone(),
            v["parent_snapshot_id"].clone(),
            v["status"].clone()
        ),
        (json!("restored-root"), json!(snap), json!("in_use"))
    );
    e.shutdown().await;
}

#[tokio::test]
async fn block_migration_moves_a_b_ssd_volume_under_block() {
    let e = emu(20).await;
    let t = Tenant::new(e.local_addr(), A);
    let r = t
        .call(
            "POST",
            &format!("{Z}/volumes"),
            Some(json!({"name": "old", "volume_type": "b_ssd", "size": 10 * GB})),
        )
        .await;
    assert_eq!(r.status, 201);
    let vid = id_of(&r.json()["volume"]);
    let r = t
        .call(
            "POST",
            &format!("{Z}/snapshots"),
            Some(json!({"name": "old-snap", "volume_id": vid})),
        )
        .await;
    let snap = id_of(&r.json()["snapshot"]);
    t.wait_for(&format!("{Z}/snapshots/{snap}"), "available", |s| {
        s["snapshot"]["state"] == "available"
    })
    .await;
    let plan = t
        .call(
            "POST",
            &format!("{Z}/block-migration/plan"),
            Some(json!({"volume_id": vid})),
        )
        .await
        .json();
    let key = plan["validation_key"].clone();
    let r = t
        .call(
            "POST",
            &format!("{Z}/block-migration/apply"),
            Some(json!({"volume_id": vid, "validation_key": key})),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        t.call("GET", &format!("{Z}/volumes/{vid}"), None)
            .await
            .status,
        404
    );
    assert_eq!(
        t.call("GET", &format!("{Z}/snapshots/{snap}"), None)
            .await
            .status,
        404
    );
    let v = t
        .call("GET", &format!("{V1}/volumes/{vid}"), None)
        .await
        .json();
    assert_eq!(
        (
            v["type"].clone(),
            v["specs"]["class"].clone(),
            v["status"].clone()
        ),
        (json!("b_ssd"), json!("bssd"), json!("available"))
    );
    let s = t
        .call("GET", &format!("{V1}/snapshots/{snap}"), None)
        .await
        .json();
    assert_eq!(
        (s["class"].clone(), s["parent_volume"]["id"].clone()),
        (json!("bssd"), json!(vid))
    );
    let r = t
        .call(
            "PATCH",
            &format!("{V1}/volumes/{vid}"),
            Some(json!({"perf_iops": 15000})),
        )
        .await;
    assert_eq!(r.status, 400, "a bssd volume's IOPS are fixed");
    e.shutdown().await;
}

#[tokio::test]
async fn a_detach_during_the_attach_is_not_undone() {
    let e = emu(400).await;
    let t = Tenant::new(e.local_addr(), A);
    let (sid, _) = label_server(&t, "quick").await;
    let data = block_volume(&t, "data").await;
    let attach = json!({"volume_id": data, "volume_type": "sbs_volume"});
    let r = t
        .call(
            "POST",
            &format!("{Z}/servers/{sid}/attach-volume"),
            Some(attach),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = t
        .call(
            "POST",
            &format!("{Z}/servers/{sid}/detach-volume"),
            Some(json!({"volume_id": data})),
        )
        .await;
    assert_eq!(r.status, 200);
    // Until it is gone the reference reads `detaching`: the pending end of
    // the attach must not turn it back into `attached`.
    let path = format!("{V1}/volumes/{data}");
    for _ in 0..400 {
        let v = t.call("GET", &path, None).await.json();
        if v["references"] == json!([]) {
            assert_eq!(v["status"], "available");
            e.shutdown().await;
            return;
        }
        assert_eq!(v["references"][0]["status"], "detaching", "{v}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the volume was never detached");
}
