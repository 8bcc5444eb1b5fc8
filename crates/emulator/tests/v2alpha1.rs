//! The Instance v2alpha1 private network interfaces and placement groups
//! over HTTP, and their agreement with v1: what one version creates or
//! changes, the other reads the same (ids, names, policy, tags, MACs, IPAM
//! ids, states), and a delete through one is a 404 through the other.
//! Token paging, `unknown_policy_type` and the errors too.

use std::time::Duration;

mod support;

use fleet_emulator::{Emulator, RunningEmulator};
use serde_json::{Value, json};
use support::Tenant;

const A: &str = "6a0c3e2f-2b0e-4a8e-9d7b-0d8f1c2a3b4c";
const V1: &str = "/instance/v1/zones/fr-par-1";
const V2: &str = "/instance/v2alpha1/zones/fr-par-1";
const PN: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const PN2: &str = "1b2c3d4e-5f60-4b7c-9d8e-0f1a2b3c4d5e";

async fn emu() -> RunningEmulator {
    match Emulator::builder()
        .transition(Duration::from_millis(30))
        .seed(11)
        .start()
        .await
    {
        Ok(e) => e,
        Err(e) => panic!("start: {e}"),
    }
}

fn text(r: &support::RawResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

async fn ok(t: &Tenant, method: &str, path: &str, body: Option<Value>, status: u16) -> Value {
    let r = t.call(method, path, body).await;
    assert_eq!(r.status, status, "{method} {path}: {}", text(&r));
    r.json()
}

#[tokio::test]
async fn placement_groups_agree_between_versions() {
    let e = emu().await;
    let t = Tenant::new(e.local_addr(), A);

    // Created through v2alpha1: 200, bare, `project_id`, timestamps with `Z`.
    let g = ok(
        &t,
        "POST",
        &format!("{V2}/placement-groups"),
        Some(json!({"project_id": A, "name": "pg-a", "policy_type": "low_latency", "tags": []})),
        200,
    )
    .await;
    let id = g["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!((g["project_id"].as_str(), g["zone"].as_str()), (Some(A), Some("fr-par-1")));
    assert_eq!(g["created_at"], g["updated_at"]);
    assert!(g["created_at"].as_str().is_some_and(|s| s.ends_with('Z')), "{g}");
    assert!(g.get("policy_mode").is_none() && g.get("placement_group").is_none());

    // v1 sees the same group, in its envelope, with v1's default mode.
    let v1 = ok(&t, "GET", &format!("{V1}/placement_groups/{id}"), None, 200).await;
    let pg = &v1["placement_group"];
    assert_eq!((pg["name"].as_str(), pg["policy_type"].as_str()), (Some("pg-a"), Some("low_latency")));
    assert_eq!((pg["project"].as_str(), pg["policy_mode"].as_str()), (Some(A), Some("optional")));

    // A v1 PATCH that changes nothing keeps `updated_at`; one that does moves it.
    ok(&t, "PATCH", &format!("{V1}/placement_groups/{id}"), Some(json!({"policy_mode": "optional"})), 200).await;
    let same = ok(&t, "GET", &format!("{V2}/placement-groups/{id}"), None, 200).await;
    assert_eq!(same["updated_at"], g["updated_at"]);
    ok(&t, "PATCH", &format!("{V1}/placement_groups/{id}"), Some(json!({"name": "pg-b"})), 200).await;
    let renamed = ok(&t, "GET", &format!("{V2}/placement-groups/{id}"), None, 200).await;
    assert_eq!(renamed["name"], "pg-b");
    assert_ne!(renamed["updated_at"], g["updated_at"]);
    assert_eq!(renamed["created_at"], g["created_at"]);

    // A v2alpha1 PATCH sends `unknown_policy_type` to keep the type.
    let tagged = ok(
        &t,
        "PATCH",
        &format!("{V2}/placement-groups/{id}"),
        Some(json!({"policy_type": "unknown_policy_type", "tags": ["foo", "bar"]})),
        200,
    )
    .await;
    assert_eq!((tagged["policy_type"].as_str(), &tagged["tags"]), (Some("low_latency"), &json!(["foo", "bar"])));
    let retyped = ok(
        &t,
        "PATCH",
        &format!("{V2}/placement-groups/{id}"),
        Some(json!({"policy_type": "max_availability"})),
        200,
    )
    .await;
    assert_eq!(retyped["tags"], json!(["foo", "bar"]));
    let v1 = ok(&t, "GET", &format!("{V1}/placement_groups/{id}"), None, 200).await;
    assert_eq!(v1["placement_group"]["tags"], json!(["foo", "bar"]));
    assert_eq!(v1["placement_group"]["policy_type"], "max_availability");
    let bad = t
        .call("PATCH", &format!("{V2}/placement-groups/{id}"), Some(json!({"policy_type": "spread"})))
        .await;
    assert_eq!(bad.status, 400, "{}", text(&bad));
    assert_eq!(bad.json()["type"], "invalid_arguments");

    // A v1-made group is read and listed by v2alpha1.
    let made = ok(&t, "POST", &format!("{V1}/placement_groups"), Some(json!({"name": "pg-v1", "policy_mode": "enforced"})), 201).await;
    let other = made["placement_group"]["id"].as_str().unwrap_or_default().to_owned();
    let seen = ok(&t, "GET", &format!("{V2}/placement-groups/{other}"), None, 200).await;
    assert_eq!((seen["name"].as_str(), seen["policy_type"].as_str()), (Some("pg-v1"), Some("max_availability")));
    let listed = ok(&t, "GET", &format!("{V2}/placement-groups?name=pg-v1&order_by=created_at_desc&project_id={A}"), None, 200).await;
    assert_eq!(listed["total_count"], 1);
    assert_eq!(listed["placement_groups"][0]["id"].as_str(), Some(other.as_str()));
    assert!(listed.get("next_page_token").is_none(), "{listed}");

    // Deleted through v2alpha1: gone for both, with v1's error body.
    ok(&t, "DELETE", &format!("{V2}/placement-groups/{id}"), None, 204).await;
    for path in [format!("{V2}/placement-groups/{id}"), format!("{V1}/placement_groups/{id}")] {
        let gone = t.call("GET", &path, None).await;
        assert_eq!(gone.status, 404, "{path}");
        assert_eq!(
            gone.json(),
            json!({"type": "not_found", "message": "resource is not found",
                "resource": "instance_placement_group", "resource_id": id})
        );
    }
    e.shutdown().await;
}

#[tokio::test]
async fn lists_page_by_token() {
    let e = emu().await;
    let t = Tenant::new(e.local_addr(), A);
    let mut made = Vec::new();
    for name in ["p1", "p2", "p3"] {
        let g = ok(&t, "POST", &format!("{V2}/placement-groups"), Some(json!({"name": name})), 200).await;
        made.push(g["id"].as_str().unwrap_or_default().to_owned());
    }
    let first = ok(&t, "GET", &format!("{V2}/placement-groups?page_size=2"), None, 200).await;
    assert_eq!(first["total_count"], 3);
    let names: Vec<&str> = first["placement_groups"].as_array().into_iter().flatten().filter_map(|g| g["name"].as_str()).collect();
    assert_eq!(names, ["p3", "p2"], "newest first by default");
    let token = first["next_page_token"].as_str().unwrap_or_default().to_owned();
    assert!(!token.is_empty(), "{first}");
    let last = ok(&t, "GET", &format!("{V2}/placement-groups?page_size=2&page_token={token}"), None, 200).await;
    assert_eq!(last["placement_groups"][0]["name"], "p1");
    assert_eq!(last["placement_groups"].as_array().map(Vec::len), Some(1));
    assert!(last.get("next_page_token").is_none(), "{last}");
    let asc = ok(&t, "GET", &format!("{V2}/placement-groups?order_by=created_at_asc&page_size=1"), None, 200).await;
    assert_eq!(asc["placement_groups"][0]["id"].as_str(), made.first().map(String::as_str));
    for bad in ["page_token=not-a-token", "page_size=0", "page_size=101", "order_by=name_asc"] {
        let r = t.call("GET", &format!("{V2}/placement-groups?{bad}"), None).await;
        assert_eq!(r.status, 400, "{bad}: {}", text(&r));
        assert_eq!(r.json()["type"], "invalid_arguments", "{bad}");
    }
    let nics = ok(&t, "GET", &format!("{V2}/private-network-interfaces?order_by=created_at_desc&project_id={A}"), None, 200).await;
    assert_eq!(nics, json!({"private_network_interfaces": [], "total_count": 0}));
    e.shutdown().await;
}

#[tokio::test]
async fn private_network_interfaces_are_the_v1_private_nics() {
    let e = emu().await;
    let t = Tenant::new(e.local_addr(), A);
    let server = ok(
        &t,
        "POST",
        &format!("{V1}/servers"),
        Some(json!({"name": "nic-host", "commercial_type": "DEV1-S", "image": "ubuntu_jammy"})),
        201,
    )
    .await;
    let sid = server["server"]["id"].as_str().unwrap_or_default().to_owned();

    // Made through v2alpha1 on the server: v1 lists it as the server's NIC.
    let nic = ok(
        &t,
        "POST",
        &format!("{V2}/private-network-interfaces"),
        Some(json!({"private_network_id": PN, "server_id": sid, "tags": ["a"]})),
        200,
    )
    .await;
    let nid = nic["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!((nic["server_id"].as_str(), nic["project_id"].as_str()), (Some(sid.as_str()), Some(A)));
    assert_eq!(nic["status"], "syncing");
    let v1 = ok(&t, "GET", &format!("{V1}/servers/{sid}/private_nics/{nid}"), None, 200).await;
    let p = &v1["private_nic"];
    assert_eq!(p["mac_address"], nic["mac_address"]);
    assert_eq!(p["ipam_ip_ids"], nic["ip_ids"]);
    assert_eq!((p["private_network_id"].as_str(), &p["tags"]), (Some(PN), &json!(["a"])));
    let ready = t
        .wait_for(&format!("{V2}/private-network-interfaces/{nid}"), "available", |v| v["status"] == "available")
        .await;
    let v1 = ok(&t, "GET", &format!("{V1}/servers/{sid}/private_nics/{nid}"), None, 200).await;
    assert_eq!(v1["private_nic"]["state"], "available");
    assert_eq!(ready["server_id"].as_str(), Some(sid.as_str()));

    // One per private network on a server, whichever version asks.
    let twice = t
        .call("POST", &format!("{V1}/servers/{sid}/private_nics"), Some(json!({"private_network_id": PN})))
        .await;
    assert_eq!(twice.status, 400, "{}", text(&twice));

    // Made through v1: v2alpha1 lists both by server; tags changed through
    // v2alpha1 show in v1.
    let second = ok(&t, "POST", &format!("{V1}/servers/{sid}/private_nics"), Some(json!({"private_network_id": PN2})), 201).await;
    let second_id = second["private_nic"]["id"].as_str().unwrap_or_default().to_owned();
    let listed = ok(&t, "GET", &format!("{V2}/private-network-interfaces?server_ids={sid}&order_by=created_at_asc"), None, 200).await;
    let ids: Vec<&str> = listed["private_network_interfaces"].as_array().into_iter().flatten().filter_map(|n| n["id"].as_str()).collect();
    assert_eq!(ids, [nid.as_str(), second_id.as_str()]);
    assert_eq!(listed["total_count"], 2);
    let by_network = ok(&t, "GET", &format!("{V2}/private-network-interfaces?private_network_ids={PN2}"), None, 200).await;
    assert_eq!(by_network["total_count"], 1);
    let patched = ok(&t, "PATCH", &format!("{V2}/private-network-interfaces/{second_id}"), Some(json!({"tags": ["b"]})), 200).await;
    assert_eq!(patched["tags"], json!(["b"]));
    let v1 = ok(&t, "GET", &format!("{V1}/servers/{sid}/private_nics/{second_id}"), None, 200).await;
    assert_eq!(v1["private_nic"]["tags"], json!(["b"]));

    // Deleted through v1: a 404 through v2alpha1, and vice versa.
    ok(&t, "DELETE", &format!("{V1}/servers/{sid}/private_nics/{second_id}"), None, 204).await;
    let gone = t.call("GET", &format!("{V2}/private-network-interfaces/{second_id}"), None).await;
    assert_eq!(gone.status, 404, "{}", text(&gone));
    assert_eq!(gone.json()["resource"], "instance_private_nic");
    ok(&t, "DELETE", &format!("{V2}/private-network-interfaces/{nid}"), None, 204).await;
    let gone = t.call("GET", &format!("{V1}/servers/{sid}/private_nics/{nid}"), None).await;
    assert_eq!(gone.status, 404, "{}", text(&gone));

    // Unattached: available at once, in no server's v1 list.
    let loose = ok(&t, "POST", &format!("{V2}/private-network-interfaces"), Some(json!({"private_network_id": PN})), 200).await;
    assert_eq!((loose["status"].as_str(), loose["server_id"].as_str()), (Some("available"), Some("")));
    let v1 = ok(&t, "GET", &format!("{V1}/servers/{sid}/private_nics"), None, 200).await;
    assert_eq!(v1["private_nics"], json!([]));

    for (body, arg) in [
        (json!({}), "private_network_id"),
        (json!({"private_network_id": "nope"}), "private_network_id"),
        (json!({"private_network_id": PN, "server_id": "nope"}), "server_id"),
        (json!({"private_network_id": PN, "ip_ids": ["nope"]}), "ip_ids"),
    ] {
        let r = t.call("POST", &format!("{V2}/private-network-interfaces"), Some(body.clone())).await;
        assert_eq!(r.status, 400, "{body}: {}", text(&r));
        assert_eq!(r.json()["details"][0]["argument_name"], arg, "{body}: {}", text(&r));
    }
    let elsewhere = t
        .call(
            "POST",
            &format!("{V2}/private-network-interfaces"),
            Some(json!({"private_network_id": PN2, "server_id": sid, "project_id": PN})),
        )
        .await;
    assert_eq!(elsewhere.status, 400, "{}", text(&elsewhere));
    e.shutdown().await;
}
