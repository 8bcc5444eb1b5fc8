//! The Block API on its own over HTTP: volume create (empty, from a
//! snapshot) and its errors, resize and IOPS change through `updating`,
//! deletes, snapshot create/export/import, lists (paging, total in the
//! body, filters), the v1 / v1alpha1 differences, error bodies, tenancy and
//! locks.

use std::time::Duration;

mod support;

use fleet_emulator::{Emulator, RunningEmulator};
use serde_json::{Value, json};
use support::Tenant;

const A: &str = "6a0c3e2f-2b0e-4a8e-9d7b-0d8f1c2a3b4c";
const B: &str = "7b1d4f30-3c1f-4b9f-8e8c-1e9a2d3b4c5d";
const V1: &str = "/block/v1/zones/fr-par-1";
const ALPHA: &str = "/block/v1alpha1/zones/fr-par-1";
const GB: u64 = 1_000_000_000;

async fn emu(transition_ms: u64) -> RunningEmulator {
    match Emulator::builder()
        .transition(Duration::from_millis(transition_ms))
        .seed(3)
        .start()
        .await
    {
        Ok(e) => e,
        Err(e) => panic!("start: {e}"),
    }
}

/// An empty volume, waited until `available`; its id.
async fn volume(t: &Tenant, name: &str, gb: u64, tags: Value) -> String {
    let r = t
        .call(
            "POST",
            &format!("{V1}/volumes"),
            Some(json!({"name": name, "perf_iops": 5000, "from_empty": {"size": gb * GB}, "tags": tags})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "creating");
    let id = r.json()["id"].as_str().unwrap_or_default().to_owned();
    t.wait_for(&format!("{V1}/volumes/{id}"), "available", |v| {
        v["status"] == "available"
    })
    .await;
    id
}

/// A snapshot of `volume`, waited until `available`; its id.
async fn snapshot(t: &Tenant, volume: &str, name: &str) -> String {
    let r = t
        .call(
            "POST",
            &format!("{V1}/snapshots"),
            Some(json!({"volume_id": volume, "name": name, "tags": [], "public": false})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let s = r.json();
    assert_eq!(
        (s["status"].clone(), s["references"].clone()),
        (json!("creating"), json!([]))
    );
    let id = s["id"].as_str().unwrap_or_default().to_owned();
    t.wait_for(&format!("{V1}/snapshots/{id}"), "available", |v| {
        v["status"] == "available"
    })
    .await;
    id
}

#[tokio::test]
async fn volume_create_get_delete_as_recorded() {
    let e = emu(20).await;
    let t = Tenant::new(e.local_addr(), A);
    let r = t
        .call(
            "POST",
            &format!("{V1}/volumes"),
            Some(json!({"name": "data", "from_empty": {"size": 20 * GB}, "tags": ["x"]})),
        )
        .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["type"], "sbs_5k");
    assert_eq!(v["specs"], json!({"perf_iops": 5000, "class": "sbs"}));
    assert_eq!(
        (v["size"].as_u64(), v["project_id"].as_str()),
        (Some(20 * GB), Some(A))
    );
    assert_eq!(v["references"], json!([]));
    assert_eq!(v["parent_snapshot_id"], Value::Null);
    assert_eq!(v["kms_key_id"], Value::Null);
    assert!(v["created_at"].as_str().is_some_and(|s| s.ends_with('Z')));
    let id = v["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("{V1}/volumes/{id}");
    t.wait_for(&path, "available", |v| v["status"] == "available")
        .await;
    // v1alpha1 answers the same volume without `kms_key_id`.
    let old = t
        .call("GET", &format!("{ALPHA}/volumes/{id}"), None)
        .await
        .json();
    assert_eq!(old["id"], id.as_str());
    assert!(old.get("kms_key_id").is_none());
    assert_eq!(t.call("DELETE", &path, None).await.status, 204);
    let r = t.call("GET", &path, None).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({"message": "resource is not found", "resource": "volume", "resource_id": id, "type": "not_found"})
    );
    assert_eq!(t.call("DELETE", &path, None).await.status, 404);
    e.shutdown().await;
}

#[tokio::test]
async fn volume_create_refuses_bad_bodies_and_changes_nothing() {
    let e = emu(20).await;
    let t = Tenant::new(e.local_addr(), A);
    let bad = [
        (json!({"name": "none"}), "from_empty"),
        (
            json!({"name": "both", "from_empty": {"size": 10 * GB}, "from_snapshot": {"snapshot_id": A}}),
            "from_snapshot",
        ),
        (
            json!({"name": "tiny", "from_empty": {"size": GB}}),
            "from_empty.size",
        ),
        (
            json!({"name": "odd", "from_empty": {"size": 10 * GB + 1}}),
            "from_empty.size",
        ),
        (
            json!({"name": "iops", "perf_iops": 7000, "from_empty": {"size": 10 * GB}}),
            "perf_iops",
        ),
        (
            json!({"name": "type", "from_empty": {"size": "ten"}}),
            "from_empty.size",
        ),
    ];
    for (body, arg) in bad {
        let r = t
            .call("POST", &format!("{V1}/volumes"), Some(body.clone()))
            .await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json()["type"], "invalid_arguments", "{body}");
        assert_eq!(r.json()["details"][0]["argument_name"], arg, "{body}");
    }
    let r = t
        .call(
            "POST",
            &format!("{V1}/volumes"),
            Some(json!({"name": "ghost", "from_snapshot": {"snapshot_id": B}})),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["resource"].clone()),
        (404, json!("snapshot"))
    );
    let list = t.call("GET", &format!("{V1}/volumes"), None).await.json();
    assert_eq!(list, json!({"volumes": [], "total_count": 0}));
    e.shutdown().await;
}

#[tokio::test]
async fn resize_and_iops_go_through_updating() {
    let e = emu(400).await;
    let t = Tenant::new(e.local_addr(), A);
    let id = volume(&t, "grow", 20, json!([])).await;
    let path = format!("{V1}/volumes/{id}");
    let r = t.call("PATCH", &path, Some(json!({"size": 10 * GB}))).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["details"][0]["argument_name"], "size");
    // The answer says `updating` but still shows the old size (recorded).
    let r = t
        .call(
            "PATCH",
            &path,
            Some(json!({"name": "grown", "size": 30 * GB})),
        )
        .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(
        (v["status"].clone(), v["size"].as_u64()),
        (json!("updating"), Some(20 * GB))
    );
    assert_eq!(v["name"], "grown");
    let again = t
        .call("PATCH", &path, Some(json!({"perf_iops": 15000})))
        .await;
    assert_eq!(
        (again.status, again.json()["type"].clone()),
        (409, json!("transient_state"))
    );
    let v = t
        .wait_for(&path, "available", |v| v["status"] == "available")
        .await;
    assert_eq!(v["size"].as_u64(), Some(30 * GB));
    let v = t
        .call("PATCH", &path, Some(json!({"perf_iops": 15000})))
        .await
        .json();
    assert_eq!(
        (v["status"].clone(), v["type"].clone()),
        (json!("updating"), json!("sbs_5k"))
    );
    let v = t
        .wait_for(&path, "available", |v| v["status"] == "available")
        .await;
    assert_eq!(v["type"], "sbs_15k");
    assert_eq!(v["specs"]["perf_iops"], 15000);
    // Asking for what it already has changes nothing.
    let v = t
        .call("PATCH", &path, Some(json!({"perf_iops": 15000})))
        .await
        .json();
    assert_eq!(v["status"], "available");
    e.shutdown().await;
}

#[tokio::test]
async fn snapshot_internal_reference_export_and_import() {
    // A longer transition so the half-way `internal` reference is seen.
    let e = emu(1000).await;
    let t = Tenant::new(e.local_addr(), A);
    let vid = volume(&t, "src", 10, json!([])).await;
    let r = t
        .call(
            "POST",
            &format!("{V1}/snapshots"),
            Some(json!({"volume_id": vid, "name": "s1"})),
        )
        .await;
    let sid = r.json()["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("{V1}/snapshots/{sid}");
    let s = t
        .wait_for(&path, "an internal reference", |s| {
            s["references"][0]["product_resource_type"] == "internal"
        })
        .await;
    assert_eq!(s["status"], "creating");
    assert_eq!(s["references"][0]["type"], "unknown_type");
    assert_eq!(
        s["references"][0]["product_resource_id"],
        "00000000-0000-0000-0000-000000000000"
    );
    let export = json!({"bucket": "b", "key": "snap.qcow2"});
    let busy = t
        .call(
            "POST",
            &format!("{path}/export-to-object-storage"),
            Some(export.clone()),
        )
        .await;
    assert_eq!(
        (busy.status, busy.json()["type"].clone()),
        (409, json!("transient_state"))
    );
    assert_eq!(busy.json()["resource"], "snapshot");
    let s = t
        .wait_for(&path, "available", |s| s["status"] == "available")
        .await;
    assert_eq!(
        (s["references"].clone(), s["parent_volume"]["id"].clone()),
        (json!([]), json!(vid))
    );
    let missing = t
        .call(
            "POST",
            &format!("{path}/export-to-object-storage"),
            Some(json!({})),
        )
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.json()["details"].as_array().map(Vec::len), Some(2));
    let r = t
        .call(
            "POST",
            &format!("{ALPHA}/snapshots/{sid}/export-to-object-storage"),
            Some(export.clone()),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "exporting");
    assert!(
        r.json().get("public").is_none(),
        "v1alpha1 snapshots have no `public`"
    );
    t.wait_for(&path, "available", |s| s["status"] == "available")
        .await;
    // An import of the exported object has its size; of another, 10 GB.
    let r = t
        .call(
            "POST",
            &format!("{V1}/snapshots/import-from-object-storage"),
            Some(json!({"bucket": "b", "key": "snap.qcow2", "name": "back"})),
        )
        .await;
    assert_eq!(r.status, 200);
    let imported = r.json();
    assert_eq!(
        (
            imported["status"].clone(),
            imported["parent_volume"].clone()
        ),
        (json!("creating"), Value::Null)
    );
    assert_eq!(imported["size"].as_u64(), Some(10 * GB));
    let r = t
        .call(
            "POST",
            &format!("{ALPHA}/snapshots/import-from-s3"),
            Some(json!({"bucket": "b", "key": "other.qcow2", "name": "s3", "size": 20 * GB})),
        )
        .await;
    assert_eq!((r.status, r.json()["size"].as_u64()), (200, Some(20 * GB)));
    let r = t
        .call(
            "POST",
            &format!("{V1}/snapshots/import-from-s3"),
            Some(json!({"bucket": "b", "key": "k"})),
        )
        .await;
    // v1alpha1 only: under v1 the path is `snapshots/{snapshot_id}`, which
    // has no POST.
    assert_eq!(r.status, 405);
    e.shutdown().await;
}

#[tokio::test]
async fn volume_from_snapshot_and_deleting_its_parent() {
    let e = emu(20).await;
    let t = Tenant::new(e.local_addr(), A);
    let vid = volume(&t, "src", 10, json!([])).await;
    let sid = snapshot(&t, &vid, "s").await;
    let small = t
        .call(
            "POST",
            &format!("{V1}/volumes"),
            Some(json!({"name": "r", "from_snapshot": {"snapshot_id": sid, "size": 5 * GB}})),
        )
        .await;
    assert_eq!(small.status, 400);
    let r = t
        .call("POST", &format!("{V1}/volumes"), Some(json!({"name": "restored", "perf_iops": 15000, "from_snapshot": {"snapshot_id": sid, "size": null}})))
        .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(
        (v["parent_snapshot_id"].clone(), v["size"].as_u64()),
        (json!(sid), Some(10 * GB))
    );
    assert_eq!(v["type"], "sbs_15k");
    // The Python SDK sends its zero value for "the snapshot's size".
    let r = t
        .call(
            "POST",
            &format!("{V1}/volumes"),
            Some(json!({"name": "zero", "from_snapshot": {"snapshot_id": sid, "size": 0}})),
        )
        .await;
    assert_eq!((r.status, r.json()["size"].as_u64()), (200, Some(10 * GB)));
    // The source volume may go; the snapshot's parent then reads null.
    assert_eq!(
        t.call("DELETE", &format!("{V1}/volumes/{vid}"), None)
            .await
            .status,
        204
    );
    let s = t
        .call("GET", &format!("{V1}/snapshots/{sid}"), None)
        .await
        .json();
    assert_eq!(s["parent_volume"], Value::Null);
    assert_eq!(
        t.call("DELETE", &format!("{V1}/snapshots/{sid}"), None)
            .await
            .status,
        204
    );
    e.shutdown().await;
}

#[tokio::test]
async fn lists_page_with_the_total_in_the_body_and_filter() {
    let e = emu(20).await;
    let t = Tenant::new(e.local_addr(), A);
    let a = volume(&t, "vol-a", 10, json!(["web", "common"])).await;
    let b = volume(&t, "vol-b", 10, json!(["web"])).await;
    let c = volume(&t, "other", 10, json!(["db"])).await;
    let r = t
        .call("GET", &format!("{V1}/volumes?page=1&page_size=2"), None)
        .await;
    assert_eq!(r.status, 200);
    assert!(r.header("x-total-count").is_none());
    let page = r.json();
    assert_eq!(page["total_count"], 3);
    let ids: Vec<&str> = page["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["id"].as_str())
        .collect();
    assert_eq!(ids, [a.as_str(), b.as_str()], "created_at_asc by default");
    let page = t
        .call("GET", &format!("{V1}/volumes?page=2&page_size=2"), None)
        .await
        .json();
    assert_eq!(page["volumes"][0]["id"], c.as_str());
    let page = t
        .call(
            "GET",
            &format!("{V1}/volumes?order_by=created_at_desc"),
            None,
        )
        .await
        .json();
    assert_eq!(page["volumes"][0]["id"], c.as_str());
    let tagged = t
        .call("GET", &format!("{V1}/volumes?tags=web"), None)
        .await
        .json();
    assert_eq!(tagged["total_count"], 2);
    let tagged = t
        .call("GET", &format!("{V1}/volumes?tags=web,common"), None)
        .await
        .json();
    assert_eq!(tagged["volumes"][0]["id"], a.as_str());
    let named = t
        .call("GET", &format!("{V1}/volumes?name=vol-"), None)
        .await
        .json();
    assert_eq!(named["total_count"], 2);
    let by_id = t
        .call("GET", &format!("{V1}/volumes?volume_ids={c}"), None)
        .await
        .json();
    assert_eq!(by_id["total_count"], 1);
    // A project the caller does not own matches nothing (recorded).
    let foreign = t
        .call("GET", &format!("{V1}/volumes?project_id={B}"), None)
        .await;
    assert_eq!(
        (foreign.status, foreign.json()["total_count"].clone()),
        (200, json!(0))
    );
    for bad in [
        "page_size=101",
        "page=0",
        "order_by=size_asc",
        "volume_type=l_ssd",
    ] {
        let r = t.call("GET", &format!("{V1}/volumes?{bad}"), None).await;
        assert_eq!(r.status, 400, "{bad}");
    }
    snapshot(&t, &a, "snap-a").await;
    snapshot(&t, &b, "snap-b").await;
    let snaps = t
        .call("GET", &format!("{V1}/snapshots?volume_id={b}"), None)
        .await
        .json();
    assert_eq!(snaps["total_count"], 1);
    assert_eq!(snaps["snapshots"][0]["name"], "snap-b");
    assert_eq!(snaps["snapshots"][0]["public"], false);
    let types = t
        .call("GET", &format!("{V1}/volume-types"), None)
        .await
        .json();
    assert_eq!(types["total_count"], 2);
    assert_eq!(types["volume_types"][1]["specs"]["perf_iops"], 15000);
    e.shutdown().await;
}

#[tokio::test]
async fn tenants_are_isolated_and_locks_hold() {
    let e = emu(20).await;
    let t = Tenant::new(e.local_addr(), A);
    let other = Tenant::new(e.local_addr(), B);
    let id = volume(&t, "mine", 10, json!([])).await;
    let path = format!("{V1}/volumes/{id}");
    assert_eq!(other.call("GET", &path, None).await.status, 404);
    assert_eq!(other.call("DELETE", &path, None).await.status, 404);
    assert_eq!(
        other
            .call("GET", &format!("{V1}/volumes"), None)
            .await
            .json()["total_count"],
        0
    );
    let r = t
        .call(
            "POST",
            &format!("{V1}/volumes"),
            Some(json!({"name": "x", "project_id": B, "from_empty": {"size": 10 * GB}})),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["type"].clone()),
        (403, json!("permissions_denied"))
    );
    let uuid = uuid::Uuid::parse_str(&id).unwrap_or_default();
    e.set_locked(uuid, true);
    assert_eq!(t.call("GET", &path, None).await.json()["status"], "locked");
    let r = t.call("PATCH", &path, Some(json!({"name": "y"}))).await;
    assert_eq!(
        (r.status, r.json()["resource"].clone()),
        (409, json!("volume"))
    );
    e.set_locked(uuid, false);
    assert_eq!(t.call("DELETE", &path, None).await.status, 204);
    let r = t.call("GET", "/block/v1/zones/mars-1/volumes", None).await;
    assert_eq!(r.status, 400);
    let r = t
        .call("GET", &format!("{V1}/volumes/not-a-uuid"), None)
        .await;
    assert_eq!(
        (r.status, r.json()["details"][0]["argument_name"].clone()),
        (400, json!("volume_id"))
    );
    e.shutdown().await;
}
