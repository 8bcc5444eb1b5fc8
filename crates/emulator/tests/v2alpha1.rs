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
    assert_eq!(
        (g["project_id"].as_str(), g["zone"].as_str()),
        (Some(A), Some("fr-par-1"))
    );
    assert_eq!(g["created_at"], g["updated_at"]);
    assert!(
        g["created_at"].as_str().is_some_and(|s| s.ends_with('Z')),
        "{g}"
    );
    assert!(g.get("policy_mode").is_none() && g.get("placement_group").is_none());

    // v1 sees the same group, in its envelope, with v1's default mode.
    let v1 = ok(&t, "GET", &format!("{V1}/placement_groups/{id}"), None, 200).await;
    let pg = &v1["placement_group"];
    assert_eq!(
        (pg["name"].as_str(), pg["policy_type"].as_str()),
        (Some("pg-a"), Some("low_latency"))
    );
    assert_eq!(
        (pg["project"].as_str(), pg["policy_mode"].as_str()),
        (Some(A), Some("optional"))
    );

    // A v1 PATCH that changes nothing keeps `updated_at`; one that does moves it.
    ok(
        &t,
        "PATCH",
        &format!("{V1}/placement_groups/{id}"),
        Some(json!({"policy_mode": "optional"})),
        200,
    )
    .await;
    let same = ok(&t, "GET", &format!("{V2}/placement-groups/{id}"), None, 200).await;
    assert_eq!(same["updated_at"], g["updated_at"]);
    ok(
        &t,
        "PATCH",
        &format!("{V1}/placement_groups/{id}"),
        Some(json!({"name": "pg-b"})),
        200,
    )
    .await;
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
    assert_eq!(
        (tagged["policy_type"].as_str(), &tagged["tags"]),
        (Some("low_latency"), &json!(["foo", "bar"]))
    );
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
        .call(
            "PATCH",
            &format!("{V2}/placement-groups/{id}"),
            Some(json!({"policy_type": "spread"})),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", text(&bad));
    assert_eq!(bad.json()["type"], "invalid_arguments");

    // A v1-made group is read and listed by v2alpha1.
    let made = ok(
        &t,
        "POST",
        &format!("{V1}/placement_groups"),
        Some(json!({"name": "pg-v1", "policy_mode": "enforced"})),
        201,
    )
    .await;
    let other = made["placement_group"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let seen = ok(
        &t,
        "GET",
        &format!("{V2}/placement-groups/{other}"),
        None,
        200,
    )
    .await;
    assert_eq!(
        (seen["name"].as_str(), seen["policy_type"].as_str()),
        (Some("pg-v1"), Some("max_availability"))
    );
    let listed = ok(
        &t,
        "GET",
        &format!("{V2}/placement-groups?name=pg-v1&order_by=created_at_desc&project_id={A}"),
        None,
        200,
    )
    .await;
    assert_eq!(listed["total_count"], 1);
    assert_eq!(
        listed["placement_groups"][0]["id"].as_str(),
        Some(other.as_str())
    );
    assert!(listed.get("next_page_token").is_none(), "{listed}");

    // Deleted through v2alpha1: gone for both, with v1's error body.
    ok(
        &t,
        "DELETE",
        &format!("{V2}/placement-groups/{id}"),
        None,
        204,
    )
    .await;
    for path in [
        format!("{V2}/placement-groups/{id}"),
        format!("{V1}/placement_groups/{id}"),
    ] {
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
        let g = ok(
            &t,
            "POST",
            &format!("{V2}/placement-groups"),
            Some(json!({"name": name})),
            200,
        )
        .await;
        made.push(g["id"].as_str().unwrap_or_default().to_owned());
    }
    let first = ok(
        &t,
        "GET",
        &format!("{V2}/placement-groups?page_size=2"),
        None,
        200,
    )
    .await;
    assert_eq!(first["total_count"], 3);
    let names: Vec<&str> = first["placement_groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert_eq!(names, ["p3", "p2"], "newest first by default");
    let token = first["next_page_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!token.is_empty(), "{first}");
    let last = ok(
        &t,
        "GET",
        &format!("{V2}/placement-groups?page_size=2&page_token={token}"),
        None,
        200,
    )
    .await;
    assert_eq!(last["placement_groups"][0]["name"], "p1");
    assert_eq!(last["placement_groups"].as_array().map(Vec::len), Some(1));
    assert!(last.get("next_page_token").is_none(), "{last}");
    let asc = ok(
        &t,
        "GET",
        &format!("{V2}/placement-groups?order_by=created_at_asc&page_size=1"),
        None,
        200,
    )
    .await;
    assert_eq!(
        asc["placement_groups"][0]["id"].as_str(),
        made.first().map(String::as_str)
    );
    for bad in [
        "page_token=not-a-token",
        "page_size=0",
        "page_size=101",
        "order_by=name_asc",
    ] {
        let r = t
            .call("GET", &format!("{V2}/placement-groups?{bad}"), None)
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", text(&r));
        assert_eq!(r.json()["type"], "invalid_arguments", "{bad}");
    }
    let nics = ok(
        &t,
        "GET",
        &format!("{V2}/private-network-interfaces?order_by=created_at_desc&project_id={A}"),
        None,
        200,
    )
    .await;
    assert_eq!(
        nics,
        json!({"private_network_interfaces": [], "total_count": 0})
    );
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
    let sid = server["server"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

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
    assert_eq!(
        (nic["server_id"].as_str(), nic["project_id"].as_str()),
        (Some(sid.as_str()), Some(A))
    );
    // On a stopped server a new interface is available at once, as recorded for v1.
    assert_eq!(nic["status"], "available");
    let v1 = ok(
        &t,
        "GET",
        &format!("{V1}/servers/{sid}/private_nics/{nid}"),
        None,
        200,
    )
    .await;
    let p = &v1["private_nic"];
    assert_eq!(p["mac_address"], nic["mac_address"]);
    assert_eq!(p["ipam_ip_ids"], nic["ip_ids"]);
    assert_eq!(
        (p["private_network_id"].as_str(), &p["tags"]),
        (Some(PN), &json!(["a"]))
    );
    let ready = t
        .wait_for(
            &format!("{V2}/private-network-interfaces/{nid}"),
            "available",
            |v| v["status"] == "available",
        )
        .await;
    let v1 = ok(
        &t,
        "GET",
        &format!("{V1}/servers/{sid}/private_nics/{nid}"),
        None,
        200,
    )
    .await;
    assert_eq!(v1["private_nic"]["state"], "available");
    assert_eq!(ready["server_id"].as_str(), Some(sid.as_str()));

    // One per private network on a server, whichever version asks.
    let twice = t
        .call(
            "POST",
            &format!("{V1}/servers/{sid}/private_nics"),
            Some(json!({"private_network_id": PN})),
        )
        .await;
    assert_eq!(twice.status, 400, "{}", text(&twice));

    // Made through v1: v2alpha1 lists both by server; tags changed through
    // v2alpha1 show in v1.
    let second = ok(
        &t,
        "POST",
        &format!("{V1}/servers/{sid}/private_nics"),
        Some(json!({"private_network_id": PN2})),
        201,
    )
    .await;
    let second_id = second["private_nic"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let listed = ok(
        &t,
        "GET",
        &format!("{V2}/private-network-interfaces?server_ids={sid}&order_by=created_at_asc"),
        None,
        200,
    )
    .await;
    let ids: Vec<&str> = listed["private_network_interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["id"].as_str())
        .collect();
    assert_eq!(ids, [nid.as_str(), second_id.as_str()]);
    assert_eq!(listed["total_count"], 2);
    let by_network = ok(
        &t,
        "GET",
        &format!("{V2}/private-network-interfaces?private_network_ids={PN2}"),
        None,
        200,
    )
    .await;
    assert_eq!(by_network["total_count"], 1);
    let patched = ok(
        &t,
        "PATCH",
        &format!("{V2}/private-network-interfaces/{second_id}"),
        Some(json!({"tags": ["b"]})),
        200,
    )
    .await;
    assert_eq!(patched["tags"], json!(["b"]));
    let v1 = ok(
        &t,
        "GET",
        &format!("{V1}/servers/{sid}/private_nics/{second_id}"),
        None,
        200,
    )
    .await;
    assert_eq!(v1["private_nic"]["tags"], json!(["b"]));

    // Deleted through v1: a 404 through v2alpha1, and vice versa.
    ok(
        &t,
        "DELETE",
        &format!("{V1}/servers/{sid}/private_nics/{second_id}"),
        None,
        204,
    )
    .await;
    let gone = t
        .call(
            "GET",
            &format!("{V2}/private-network-interfaces/{second_id}"),
            None,
        )
        .await;
    assert_eq!(gone.status, 404, "{}", text(&gone));
    assert_eq!(gone.json()["resource"], "instance_private_nic");
    ok(
        &t,
        "DELETE",
        &format!("{V2}/private-network-interfaces/{nid}"),
        None,
        204,
    )
    .await;
    let gone = t
        .call(
            "GET",
            &format!("{V1}/servers/{sid}/private_nics/{nid}"),
            None,
        )
        .await;
    assert_eq!(gone.status, 404, "{}", text(&gone));

    // Unattached: available at once, in no server's v1 list.
    let loose = ok(
        &t,
        "POST",
        &format!("{V2}/private-network-interfaces"),
        Some(json!({"private_network_id": PN})),
        200,
    )
    .await;
    assert_eq!(
        (loose["status"].as_str(), loose["server_id"].as_str()),
        (Some("available"), Some(""))
    );
    let v1 = ok(
        &t,
        "GET",
        &format!("{V1}/servers/{sid}/private_nics"),
        None,
        200,
    )
    .await;
    assert_eq!(v1["private_nics"], json!([]));

    for (body, arg) in [
        (json!({}), "private_network_id"),
        (json!({"private_network_id": "nope"}), "private_network_id"),
        (
            json!({"private_network_id": PN, "server_id": "nope"}),
            "server_id",
        ),
        (
            json!({"private_network_id": PN, "ip_ids": ["nope"]}),
            "ip_ids",
        ),
    ] {
        let r = t
            .call(
                "POST",
                &format!("{V2}/private-network-interfaces"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status, 400, "{body}: {}", text(&r));
        assert_eq!(
            r.json()["details"][0]["argument_name"],
            arg,
            "{body}: {}",
            text(&r)
        );
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

#[tokio::test]
async fn interfaces_attach_and_detach_on_servers() {
    let e = emu().await;
    let t = Tenant::new(e.local_addr(), A);
    let mut servers = Vec::new();
    for name in ["host-a", "host-b"] {
        let s = ok(
            &t,
            "POST",
            &format!("{V1}/servers"),
            Some(json!({"name": name, "commercial_type": "DEV1-S", "image": "ubuntu_jammy"})),
            201,
        )
        .await;
        servers.push(s["server"]["id"].as_str().unwrap_or_default().to_owned());
    }
    let (sa, sb) = (&servers[0], &servers[1]);
    let loose = ok(
        &t,
        "POST",
        &format!("{V2}/private-network-interfaces"),
        Some(json!({"private_network_id": PN, "tags": ["x"]})),
        200,
    )
    .await;
    let nid = loose["id"].as_str().unwrap_or_default().to_owned();

    // Attach: the v2alpha1 server lists it `attaching`; v1 sees it on the server.
    let attach = format!("{V2}/servers/{sa}/attach-private-network-interface");
    let server = ok(
        &t,
        "POST",
        &attach,
        Some(json!({"private_network_interface_id": nid})),
        200,
    )
    .await;
    assert_eq!(server["id"].as_str(), Some(sa.as_str()));
    assert_eq!(
        (server["status"].as_str(), server["server_type"].as_str()),
        (Some("stopped"), Some("DEV1-S"))
    );
    assert_eq!(
        (
            server["project_id"].as_str(),
            server["placement_group_id"].as_str()
        ),
        (Some(A), None)
    );
    let pnis = server["private_network_interfaces"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(pnis.len(), 1, "{server}");
    assert_eq!(
        (pnis[0]["id"].as_str(), pnis[0]["status"].as_str()),
        (Some(nid.as_str()), Some("attaching"))
    );
    assert_eq!(pnis[0]["mac_address"], loose["mac_address"]);
    assert!(
        server["created_at"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z')),
        "{server}"
    );
    let v1 = ok(&t, "GET", &format!("{V1}/servers/{sa}"), None, 200).await;
    let nics = v1["server"]["private_nics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(nics.len(), 1, "{v1}");
    assert_eq!(
        (nics[0]["id"].as_str(), &nics[0]["tags"]),
        (Some(nid.as_str()), &json!(["x"]))
    );
    let ready = t
        .wait_for(
            &format!("{V2}/private-network-interfaces/{nid}"),
            "available",
            |v| v["status"] == "available",
        )
        .await;
    assert_eq!(ready["server_id"].as_str(), Some(sa.as_str()));

    // A v1 change shows in v2alpha1.
    ok(
        &t,
        "PATCH",
        &format!("{V1}/servers/{sa}/private_nics/{nid}"),
        Some(json!({"tags": ["y"]})),
        200,
    )
    .await;
    let seen = ok(
        &t,
        "GET",
        &format!("{V2}/private-network-interfaces/{nid}"),
        None,
        200,
    )
    .await;
    assert_eq!(seen["tags"], json!(["y"]));

    // Refusals: attached elsewhere already, not attached here, unknown ids, no id.
    let r = t
        .call(
            "POST",
            &format!("{V2}/servers/{sb}/attach-private-network-interface"),
            Some(json!({"private_network_interface_id": nid})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", text(&r));
    assert_eq!(
        r.json()["details"][0]["argument_name"],
        "private_network_interface_id"
    );
    let r = t
        .call(
            "POST",
            &format!("{V2}/servers/{sb}/detach-private-network-interface"),
            Some(json!({"private_network_interface_id": nid})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", text(&r));
    let r = t.call("POST", &attach, Some(json!({}))).await;
    assert_eq!(r.status, 400, "{}", text(&r));
    assert_eq!(r.json()["details"][0]["reason"], "required", "{}", text(&r));
    let r = t
        .call(
            "POST",
            &attach,
            Some(json!({"private_network_interface_id": PN2})),
        )
        .await;
    assert_eq!(r.status, 404, "{}", text(&r));
    assert_eq!(
        r.json(),
        json!({"type": "not_found", "message": "resource is not found",
            "resource": "instance_private_nic", "resource_id": PN2})
    );
    let r = t
        .call(
            "POST",
            &format!("{V2}/servers/{PN2}/attach-private-network-interface"),
            Some(json!({"private_network_interface_id": nid})),
        )
        .await;
    assert_eq!(r.status, 404, "{}", text(&r));
    assert_eq!(r.json()["resource"], "instance_server");

    // Detach: off the server for both versions, still an interface.
    let server = ok(
        &t,
        "POST",
        &format!("{V2}/servers/{sa}/detach-private-network-interface"),
        Some(json!({"private_network_interface_id": nid})),
        200,
    )
    .await;
    assert_eq!(server["private_network_interfaces"], json!([]));
    let off = ok(
        &t,
        "GET",
        &format!("{V2}/private-network-interfaces/{nid}"),
        None,
        200,
    )
    .await;
    assert_eq!(
        (off["server_id"].as_str(), off["status"].as_str()),
        (Some(""), Some("detaching"))
    );
    let v1 = ok(
        &t,
        "GET",
        &format!("{V1}/servers/{sa}/private_nics"),
        None,
        200,
    )
    .await;
    assert_eq!(v1["private_nics"], json!([]));
    let gone = t
        .call(
            "GET",
            &format!("{V1}/servers/{sa}/private_nics/{nid}"),
            None,
        )
        .await;
    assert_eq!(gone.status, 404, "{}", text(&gone));
    t.wait_for(
        &format!("{V2}/private-network-interfaces/{nid}"),
        "available",
        |v| v["status"] == "available",
    )
    .await;

    // And onto the other server, where v1 sees it.
    ok(
        &t,
        "POST",
        &format!("{V2}/servers/{sb}/attach-private-network-interface"),
        Some(json!({"private_network_interface_id": nid})),
        200,
    )
    .await;
    let v1 = ok(
        &t,
        "GET",
        &format!("{V1}/servers/{sb}/private_nics/{nid}"),
        None,
        200,
    )
    .await;
    assert_eq!(v1["private_nic"]["server_id"].as_str(), Some(sb.as_str()));
    e.shutdown().await;
}

#[tokio::test]
async fn interface_lists_page_by_token_over_three_pages() {
    let e = emu().await;
    let t = Tenant::new(e.local_addr(), A);
    let mut made = Vec::new();
    for _ in 0..5 {
        let n = ok(
            &t,
            "POST",
            &format!("{V2}/private-network-interfaces"),
            Some(json!({"private_network_id": PN, "tags": ["paged"]})),
            200,
        )
        .await;
        made.push(n["id"].as_str().unwrap_or_default().to_owned());
    }
    // Page by page, in creation order, following each `next_page_token`.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let at = token
            .as_ref()
            .map(|t| format!("&page_token={t}"))
            .unwrap_or_default();
        let page = ok(
            &t,
            "GET",
            &format!(
                "{V2}/private-network-interfaces?order_by=created_at_asc&page_size=2&tags=paged{at}"
            ),
            None,
            200,
        )
        .await;
        pages += 1;
        assert_eq!(page["total_count"], 5, "{page}");
        let items = page["private_network_interfaces"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(items.len() <= 2 && !items.is_empty(), "{page}");
        seen.extend(
            items
                .iter()
                .filter_map(|n| n["id"].as_str().map(str::to_owned)),
        );
        match page.get("next_page_token").and_then(Value::as_str) {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 5, "paging does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, made);
    e.shutdown().await;
}

#[tokio::test]
async fn unknown_ids_and_bad_input_answer_the_recorded_error_shapes() {
    let e = emu().await;
    let t = Tenant::new(e.local_addr(), A);
    for method in ["GET", "PATCH", "DELETE"] {
        let body = (method == "PATCH").then(|| json!({"tags": []}));
        let r = t
            .call(
                method,
                &format!("{V2}/private-network-interfaces/{PN}"),
                body,
            )
            .await;
        assert_eq!(r.status, 404, "{method}: {}", text(&r));
        assert_eq!(
            r.json(),
            json!({"type": "not_found", "message": "resource is not found",
                "resource": "instance_private_nic", "resource_id": PN}),
            "{method}"
        );
        let r = t
            .call(
                method,
                &format!("{V2}/placement-groups/{PN}"),
                (method == "PATCH").then(|| json!({})),
            )
            .await;
        assert_eq!(r.status, 404, "{method}: {}", text(&r));
        assert_eq!(r.json()["resource"], "instance_placement_group", "{method}");
    }
    let r = t
        .call(
            "GET",
            &format!("{V2}/private-network-interfaces/not-a-uuid"),
            None,
        )
        .await;
    assert_eq!(r.status, 400, "{}", text(&r));
    assert_eq!(r.json()["type"], "invalid_arguments");
    // The recorded 400: `invalid_arguments`, its message, one detail per
    // argument with a reason and a help message, nothing else.
    let r = t
        .call(
            "POST",
            &format!("{V2}/placement-groups"),
            Some(json!({"policy_type": "spread"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", text(&r));
    let body = r.json();
    let keys = |v: &Value| {
        v.as_object()
            .map(|o| {
                let mut k: Vec<String> = o.keys().cloned().collect();
                k.sort();
                k
            })
            .unwrap_or_default()
    };
    assert_eq!(keys(&body), ["details", "message", "type"], "{body}");
    assert_eq!(
        (body["type"].as_str(), body["message"].as_str()),
        (Some("invalid_arguments"), Some("invalid argument(s)"))
    );
    let detail = &body["details"][0];
    assert_eq!(
        keys(detail),
        ["argument_name", "help_message", "reason"],
        "{body}"
    );
    assert_eq!(
        (detail["argument_name"].as_str(), detail["reason"].as_str()),
        (Some("policy_type"), Some("constraint"))
    );
    assert_eq!(body["details"].as_array().map(Vec::len), Some(1));
    e.shutdown().await;
}
