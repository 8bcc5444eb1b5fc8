//! Integration tests of the emulator over HTTP: auth and tenant isolation,
//! pagination (rules without a total too), boolean queries, error bodies,
//! transitions, set-rules, rate limit, faults,
//! and the quickstart with curl.

use std::net::SocketAddr;
use std::time::Duration;

mod support;

use fleet_emulator::{Emulator, Faults, RunningEmulator};
use serde_json::{Value, json};
use support::{RawResponse, request};

const A: &str = "6a0c3e2f-2b0e-4a8e-9d7b-0d8f1c2a3b4c";
const B: &str = "7b1d4f30-3c1f-4b9f-8e8c-1e9a2d3b4c5d";
const Z: &str = "/instance/v1/zones/fr-par-1";

async fn emu() -> RunningEmulator {
    match Emulator::builder()
        .transition(Duration::from_millis(30))
        .seed(1)
        .start()
        .await
    {
        Ok(e) => e,
        Err(e) => panic!("start: {e}"),
    }
}

async fn call(
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> RawResponse {
    let b = body.map(|v| v.to_string()).unwrap_or_default();
    let mut h = vec![("content-type", "application/json")];
    if !token.is_empty() {
        h.push(("x-auth-token", token));
    }
    match request(addr, method, path, &h, b.as_bytes()).await {
        Ok(r) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

async fn create_server(addr: SocketAddr, token: &str, name: &str) -> String {
    let r = call(
        addr,
        token,
        "POST",
        &format!("{Z}/servers"),
        Some(json!({"name": name, "commercial_type": "DEV1-S", "image": "ubuntu_noble"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()["server"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Poll until the server reaches `state` (bounded).
async fn wait_state(addr: SocketAddr, token: &str, id: &str, state: &str) -> Value {
    for _ in 0..200 {
        let r = call(addr, token, "GET", &format!("{Z}/servers/{id}"), None).await;
        if r.json()["server"]["state"] == state {
            return r.json();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("server {id} never reached {state}");
}

#[tokio::test]
async fn auth_and_tenant_isolation() {
    let e = emu().await;
    let a = e.local_addr();
    let r = call(a, "", "GET", &format!("{Z}/servers"), None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["type"], "denied_authentication");
    let r = call(a, "not-a-uuid", "GET", &format!("{Z}/servers"), None).await;
    assert_eq!(r.status, 401);
    let id = create_server(a, A, "mine").await;
    let r = call(a, A, "GET", &format!("{Z}/servers/{id}"), None).await;
    assert_eq!(r.json()["server"]["organization"], A);
    assert_eq!(r.json()["server"]["project"], A);
    let r = call(a, B, "GET", &format!("{Z}/servers/{id}"), None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["resource"], "instance_server");
    let r = call(a, B, "GET", &format!("{Z}/servers"), None).await;
    assert_eq!(r.json()["servers"].as_array().map(Vec::len), Some(0));
    let r = call(
        a,
        B,
        "POST",
        &format!("{Z}/ips"),
        Some(json!({"project": A})),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["type"], "permissions_denied");
    e.shutdown().await;
}

#[tokio::test]
async fn pagination_headers_and_past_the_end() {
    let e = emu().await;
    let a = e.local_addr();
    for _ in 0..7 {
        let r = call(a, A, "POST", &format!("{Z}/ips"), Some(json!({}))).await;
        assert_eq!(r.status, 201);
        assert!(r.header("location").is_some());
    }
    let r = call(a, A, "GET", &format!("{Z}/ips?page=2&per_page=3"), None).await;
    assert_eq!(r.header("x-total-count"), Some("7"));
    assert_eq!(r.json()["ips"].as_array().map(Vec::len), Some(3));
    assert!(r.json().get("total_count").is_none());
    let link = r.header("link").unwrap_or_default().to_owned();
    assert!(
        link.contains("rel=\"next\"") && link.contains("page=3&per_page=3&>; rel=\"last\""),
        "{link}"
    );
    let r = call(a, A, "GET", &format!("{Z}/ips/?page=9"), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["ips"], json!([]));
    let r = call(a, A, "GET", &format!("{Z}/ips?per_page=101"), None).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["details"][0]["argument_name"], "per_page");
    e.shutdown().await;
}

#[tokio::test]
async fn error_types() {
    let e = emu().await;
    let a = e.local_addr();
    let r = call(
        a,
        A,
        "POST",
        &format!("{Z}/servers"),
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["type"].clone()),
        (400, json!("invalid_arguments"))
    );
    assert_eq!(r.json()["details"].as_array().map(Vec::len), Some(3));
    let r = call(a, A, "GET", "/instance/v1/zones/xx-yyy-9/servers", None).await;
    assert_eq!(r.status, 400);
    let r = call(a, A, "GET", &format!("{Z}/servers/not-a-uuid"), None).await;
    assert_eq!(r.status, 400);
    let mut h = vec![("x-auth-token", A)];
    h.push(("content-type", "application/json"));
    let bad = request(a, "POST", &format!("{Z}/servers"), &h, b"{not json")
        .await
        .ok();
    assert_eq!(bad.map(|r| r.status), Some(400));
    let huge = vec![b'a'; 2 << 20];
    let r = request(a, "POST", &format!("{Z}/servers"), &h, &huge)
        .await
        .ok();
    assert_eq!(r.map(|r| r.status), Some(400));
    let r = call(a, A, "GET", &format!("{Z}/ips/51.15.242.82"), None).await;
    assert_eq!(r.json()["resource_id"], "51.15.242.82/32");
    let id = create_server(a, A, "s").await;
    let r = call(
        a,
        A,
        "POST",
        &format!("{Z}/servers/{id}/action"),
        Some(json!({"action": "poweroff"})),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["type"].clone()),
        (412, json!("precondition_failed"))
    );
    call(
        a,
        A,
        "POST",
        &format!("{Z}/servers/{id}/action"),
        Some(json!({"action": "poweron"})),
    )
    .await;
    let r = call(
        a,
        A,
        "POST",
        &format!("{Z}/servers/{id}/action"),
        Some(json!({"action": "poweroff"})),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["type"].clone()),
        (409, json!("transient_state"))
    );
    let r = call(
        a,
        A,
        "GET",
        &format!("{Z}/servers/{id}/user_data/missing"),
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.header("content-type")),
        (404, Some("text/plain"))
    );
    // The server still answers after all that.
    assert_eq!(
        call(a, A, "GET", &format!("{Z}/servers/{id}"), None)
            .await
            .status,
        200
    );
    e.shutdown().await;
}

#[tokio::test]
async fn quotas_exceeded() {
    let q = fleet_emulator::Quotas {
        ips: 1,
        ..Default::default()
    };
    let e = match Emulator::builder().quotas(q).start().await {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    };
    let a = e.local_addr();
    assert_eq!(
        call(a, A, "POST", &format!("{Z}/ips"), Some(json!({})))
            .await
            .status,
        201
    );
    let r = call(a, A, "POST", &format!("{Z}/ips"), Some(json!({}))).await;
    assert_eq!(
        (r.status, r.json()["type"].clone()),
        (403, json!("quotas_exceeded"))
    );
    assert_eq!(r.json()["details"][0]["quota"], 1);
    e.shutdown().await;
}

#[tokio::test]
async fn server_lifecycle_transitions() {
    let e = emu().await;
    let a = e.local_addr();
    let id = create_server(a, A, "life").await;
    let s = call(a, A, "GET", &format!("{Z}/servers/{id}"), None)
        .await
        .json();
    assert_eq!(s["server"]["state"], "stopped");
    assert_eq!(s["server"]["allowed_actions"], json!(["poweron", "backup"]));
    assert_eq!(s["server"]["volumes"]["0"]["volume_type"], "sbs_volume");
    let r = call(
        a,
        A,
        "POST",
        &format!("{Z}/servers/{id}/action"),
        Some(json!({"action": "poweron"})),
    )
    .await;
    assert_eq!(r.status, 202);
    assert_eq!(
        call(a, A, "GET", &format!("{Z}/servers/{id}"), None)
            .await
            .json()["server"]["state"],
        "starting"
    );
    let s = wait_state(a, A, &id, "running").await;
    assert!(s["server"]["location"].is_object());
    call(
        a,
        A,
        "POST",
        &format!("{Z}/servers/{id}/action"),
        Some(json!({"action": "stop_in_place"})),
    )
    .await;
    wait_state(a, A, &id, "stopped in place").await;
    call(
        a,
        A,
        "POST",
        &format!("{Z}/servers/{id}/action"),
        Some(json!({"action": "terminate"})),
    )
    .await;
    for _ in 0..200 {
        if call(a, A, "GET", &format!("{Z}/servers/{id}"), None)
            .await
            .status
            == 404
        {
            e.shutdown().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("terminated server still there");
}

#[tokio::test]
async fn security_group_set_rules() {
    let e = emu().await;
    let a = e.local_addr();
    let g = call(
        a,
        A,
        "POST",
        &format!("{Z}/security_groups"),
        Some(json!({"name": "web", "stateful": true})),
    )
    .await
    .json();
    let gid = g["security_group"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let path = format!("{Z}/security_groups/{gid}/rules");
    let rules = |body: Value| call(a, A, "PUT", &path, Some(body));
    let r = rules(json!({"rules": [
        {"action": "accept", "protocol": "TCP", "direction": "inbound", "ip_range": "8.8.8.8/32", "dest_port_from": 22, "position": 1},
        {"action": "drop", "protocol": "ICMP", "direction": "inbound", "ip_range": "0.0.0.0/0", "dest_port_from": 5, "position": 2},
    ]})).await.json();
    let list = r["rules"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 8);
    assert_eq!(list[0]["id"], "11111111-2222-4333-8444-000000000001");
    assert_eq!(list[6]["ip_range"], "8.8.8.8");
    assert_eq!(list[6]["position"], 1);
    assert_eq!(list[7]["dest_port_from"], Value::Null);
    let keep = list[7]["id"].clone();
    let r = rules(json!({"rules": [{"id": keep, "action": "accept", "protocol": "ANY", "direction": "inbound", "ip_range": "10.0.0.0/8"}]})).await.json();
    let list = r["rules"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 7);
    assert_eq!(list[6]["id"], keep);
    assert_eq!(list[6]["ip_range"], "10.0.0.0/8");
    e.shutdown().await;
}

/// The rules list pages like every Instance list but, as every recorded
/// answer, without X-Total-Count or Link: a pager ends on the empty page.
#[tokio::test]
async fn security_group_rules_page_without_total() {
    let e = emu().await;
    let a = e.local_addr();
    let g = call(
        a,
        A,
        "POST",
        &format!("{Z}/security_groups"),
        Some(json!({"name": "paged", "stateful": true})),
    )
    .await
    .json();
    let gid = g["security_group"]["id"].as_str().unwrap_or_default();
    let path = format!("{Z}/security_groups/{gid}/rules");
    let user: Vec<Value> = (0..3)
        .map(|i| json!({"action": "accept", "protocol": "TCP", "direction": "inbound", "ip_range": "10.0.0.0/8", "dest_port_from": 100 + i}))
        .collect();
    let r = call(a, A, "PUT", &path, Some(json!({"rules": user}))).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let page = |q: &str| {
        let url = format!("{path}?{q}");
        async move { call(a, A, "GET", &url, None).await }
    };
    // (position, editable) of each rule of a page.
    let rules_of = |r: &RawResponse| -> Vec<(Value, Value)> {
        r.json()["rules"]
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|x| (x["position"].clone(), x["editable"].clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let all = page("page=1").await;
    assert_eq!(rules_of(&all).len(), 9);
    assert!(all.header("x-total-count").is_none() && all.header("link").is_none());
    let second = page("page=2&per_page=4").await;
    assert_eq!(second.status, 200);
    assert!(second.header("x-total-count").is_none() && second.header("link").is_none());
    assert_eq!(
        rules_of(&second),
        vec![
            (json!(5), json!(false)),
            (json!(6), json!(false)),
            (json!(1), json!(true)),
            (json!(2), json!(true))
        ]
    );
    assert_eq!(
        rules_of(&page("page=3&per_page=4").await),
        vec![(json!(3), json!(true))]
    );
    let past = page("page=4&per_page=4").await;
    assert_eq!(
        (past.status, past.json()["rules"].clone()),
        (200, json!([]))
    );
    let r = page("per_page=101").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["details"][0]["argument_name"], "per_page");
    e.shutdown().await;
}

/// Boolean filters accept the Python SDK's `True`/`False` beside `true`/`false`.
#[tokio::test]
async fn boolean_query_in_both_spellings() {
    let e = emu().await;
    let a = e.local_addr();
    for (q, public) in [
        ("False", false),
        ("false", false),
        ("True", true),
        ("true", true),
    ] {
        let r = call(a, A, "GET", &format!("{Z}/images?public={q}"), None).await;
        assert_eq!(
            r.status,
            200,
            "public={q}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let images = r.json()["images"].as_array().cloned().unwrap_or_default();
        // No image of our own exists, so only `public=true` lists any.
        assert_eq!(!images.is_empty(), public, "public={q}");
        assert!(
            images.iter().all(|i| i["public"] == json!(public)),
            "public={q}"
        );
    }
    let r = call(a, A, "GET", &format!("{Z}/images?public=yes"), None).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["details"][0]["argument_name"], "public");
    e.shutdown().await;
}

#[tokio::test]
async fn rate_limit_answers_429() {
    let e = match Emulator::builder().rate_limit(1.0, 2).start().await {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    };
    let a = e.local_addr();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(call(a, A, "GET", &format!("{Z}/servers"), None).await);
    }
    assert_eq!(statuses.iter().filter(|r| r.status == 429).count(), 2);
    let r = statuses
        .iter()
        .find(|r| r.status == 429)
        .cloned()
        .unwrap_or_else(|| statuses[0].clone());
    assert_eq!(r.json()["type"], "too_many_requests");
    // Another zone has its own bucket.
    assert_eq!(
        call(a, A, "GET", "/instance/v1/zones/nl-ams-1/servers", None)
            .await
            .status,
        200
    );
    e.shutdown().await;
}

async fn fault_sequence(seed: u64) -> Vec<u16> {
    let e = match Emulator::builder().seed(seed).start().await {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    };
    e.set_faults(Faults {
        error_5xx_rate: 0.3,
        rate_429: 0.2,
        ..Default::default()
    });
    let mut v = Vec::new();
    for _ in 0..30 {
        v.push(
            call(e.local_addr(), A, "GET", &format!("{Z}/servers"), None)
                .await
                .status,
        );
    }
    let log = e.call_log();
    assert_eq!(log.len(), 30);
    e.clear_faults();
    assert_eq!(
        call(e.local_addr(), A, "GET", &format!("{Z}/servers"), None)
            .await
            .status,
        200
    );
    e.shutdown().await;
    v
}

#[tokio::test]
async fn faults_are_deterministic_under_a_seed() {
    let a = fault_sequence(9).await;
    let b = fault_sequence(9).await;
    assert_eq!(a, b);
    assert!(
        a.iter().any(|s| *s >= 500) && a.contains(&429) && a.contains(&200),
        "{a:?}"
    );
}

#[tokio::test]
async fn admin_endpoint_and_call_log() {
    let e = emu().await;
    let a = e.local_addr();
    let h = [("content-type", "application/json")];
    let r = request(
        a,
        "PUT",
        "/emulator/v1/faults",
        &h,
        br#"{"reset_rate": 1.0}"#,
    )
    .await
    .ok();
    assert_eq!(r.map(|r| r.status), Some(200));
    let reset = request(
        a,
        "GET",
        &format!("{Z}/servers"),
        &[("x-auth-token", A)],
        b"",
    )
    .await;
    assert!(reset.is_err(), "connection should be reset");
    let r = request(a, "DELETE", "/emulator/v1/faults", &h, b"")
        .await
        .ok();
    assert_eq!(r.map(|r| r.status), Some(204));
    let r = request(
        a,
        "GET",
        &format!("{Z}/servers"),
        &[("x-auth-token", A), ("x-fleet-caller", "worker-1")],
        b"",
    )
    .await
    .ok();
    assert_eq!(r.map(|r| r.status), Some(200));
    let log = e.call_log();
    assert_eq!(
        log.last().and_then(|c| c.caller.clone()).as_deref(),
        Some("worker-1")
    );
    assert_eq!(log.first().map(|c| c.status), Some(0));
    let calls = request(a, "GET", "/emulator/v1/calls", &[], b"")
        .await
        .ok()
        .map(|r| r.json());
    assert_eq!(
        calls.map(|c| c["calls"].as_array().map(Vec::len)),
        Some(Some(2))
    );
    e.shutdown().await;
}

/// A lost answer: the create is served (the IP exists), the client sees the connection close;
/// the next create is answered, and the admin API shows the count used up.
#[tokio::test]
async fn a_lost_answer_is_served_then_dropped() {
    let e = emu().await;
    let a = e.local_addr();
    let h = [("content-type", "application/json")];
    let bad = request(
        a,
        "PUT",
        "/emulator/v1/faults",
        &h,
        br#"{"lost_answers": [{"operation": "create_everything", "count": 1}]}"#,
    )
    .await
    .ok();
    assert_eq!(bad.as_ref().map(|r| r.status), Some(400));
    assert!(
        bad.map(|r| r.json().to_string())
            .is_some_and(|b| b.contains("unknown catalog operation")),
    );
    let set = request(
        a,
        "PUT",
        "/emulator/v1/faults",
        &h,
        br#"{"lost_answers": [{"operation": "create_ip", "count": 1}]}"#,
    )
    .await
    .ok();
    assert_eq!(set.map(|r| r.status), Some(200));
    let auth = [("x-auth-token", A), ("content-type", "application/json")];
    let create = br#"{"type": "routed_ipv4", "project": "6a0c3e2f-2b0e-4a8e-9d7b-0d8f1c2a3b4c"}"#;
    let lost = request(a, "POST", &format!("{Z}/ips"), &auth, create).await;
    assert!(lost.is_err(), "the answer should be lost: {lost:?}");
    let listed = request(a, "GET", &format!("{Z}/ips"), &auth, b"")
        .await
        .ok();
    assert_eq!(
        listed.map(|r| r.json()["ips"].as_array().map(Vec::len)),
        Some(Some(1)),
        "the create was served"
    );
    let answered = request(a, "POST", &format!("{Z}/ips"), &auth, create)
        .await
        .ok();
    assert_eq!(answered.map(|r| r.status), Some(201));
    assert_eq!(e.faults().lost_answers[0].count, 0);
    e.shutdown().await;
}

/// The official quickstart, verbatim with curl (skipped if curl is absent).
#[tokio::test]
async fn quickstart_with_curl() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("curl not installed; skipping");
        return;
    }
    let e = emu().await;
    let url = format!("{}/instance/v1/zones/fr-par-1/servers", e.base_url());
    let payload = format!(
        r#"{{"name": "my-new-instance", "project": "{A}", "commercial_type": "DEV1-S", "image": "ubuntu_noble", "enable_ipv6": true, "volumes": {{"0": {{"size": 20000000000, "volume_type": "sbs_volume"}}}}}}"#
    );
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || std::process::Command::new("curl").args(args).output())
    };
    let out = run(vec![
        "-s".into(),
        "-X".into(),
        "POST".into(),
        "-H".into(),
        format!("X-Auth-Token: {A}"),
        "-H".into(),
        "Content-Type: application/json".into(),
        url.clone(),
        "-d".into(),
        payload,
    ])
    .await
    .ok()
    .and_then(Result::ok)
    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    .unwrap_or_default();
    let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
    let id = v["server"]["id"].as_str().unwrap_or_default().to_owned();
    assert!(!id.is_empty(), "create failed: {out}");
    assert_eq!(v["server"]["volumes"]["0"]["volume_type"], "sbs_volume");
    let list = run(vec![
        "-s".into(),
        "-H".into(),
        format!("X-Auth-Token: {A}"),
        url.clone(),
    ])
    .await
    .ok()
    .and_then(Result::ok);
    let list: Value = list
        .map(|o| serde_json::from_slice(&o.stdout).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    assert_eq!(list["servers"][0]["id"], id.as_str());
    let del = run(vec![
        "-s".into(),
        "-o".into(),
        "/dev/null".into(),
        "-w".into(),
        "%{http_code}".into(),
        "-X".into(),
        "DELETE".into(),
        "-H".into(),
        format!("X-Auth-Token: {A}"),
        format!("{url}/{id}"),
    ])
    .await
    .ok()
    .and_then(Result::ok)
    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    assert_eq!(del.as_deref(), Some("204"));
    e.shutdown().await;
}

#[tokio::test]
async fn locked_out_of_stock_and_syncing() {
    let e = emu().await;
    let addr = e.local_addr();
    let id = create_server(addr, A, "locked").await;
    let uuid = uuid::Uuid::parse_str(&id).unwrap_or_default();
    e.set_locked(uuid, true);
    let r = call(addr, A, "GET", &format!("{Z}/servers/{id}"), None).await;
    assert_eq!(r.json()["server"]["state"], "locked");
    assert_eq!(r.json()["server"]["allowed_actions"], json!([]));
    let r = call(addr, A, "DELETE", &format!("{Z}/servers/{id}"), None).await;
    assert_eq!((r.status, r.json()["type"].clone()), (409, json!("locked")));
    assert_eq!(r.json()["resource_id"], json!(id));
    e.set_locked(uuid, false);

    e.set_out_of_stock("fr-par-1", "DEV1-S", true);
    let r = call(
        addr,
        A,
        "POST",
        &format!("{Z}/servers"),
        Some(json!({"commercial_type": "DEV1-S", "image": "ubuntu_noble"})),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["type"].clone()),
        (503, json!("out_of_stock"))
    );
    let r = call(
        addr,
        A,
        "POST",
        &format!("{Z}/servers/{id}/action"),
        Some(json!({"action": "poweron"})),
    )
    .await;
    assert_eq!(r.status, 503);
    let r = call(
        addr,
        A,
        "GET",
        &format!("{Z}/products/servers/availability?per_page=100"),
        None,
    )
    .await;
    assert_eq!(r.json()["servers"]["DEV1-S"]["availability"], "shortage");
    e.set_out_of_stock("fr-par-1", "DEV1-S", false);

    // `syncing` lasts one transition: on an emulator of its own with a transition far longer
    // than any scheduling delay of a loaded machine, so the first read always falls inside it;
    // the end of it is waited for as a condition, never by a sleep of a guessed length.
    let slow = match Emulator::builder()
        .transition(Duration::from_secs(2))
        .seed(1)
        .start()
        .await
    {
        Ok(e) => e,
        Err(e) => panic!("start: {e}"),
    };
    let slow_addr = slow.local_addr();
    let r = call(
        slow_addr,
        A,
        "POST",
        &format!("{Z}/security_groups"),
        Some(json!({"name": "g"})),
    )
    .await;
    let sg = r.json()["security_group"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let rule = json!({"protocol": "TCP", "direction": "inbound", "action": "accept", "ip_range": "0.0.0.0/0", "dest_port_from": 22});
    let r = call(
        slow_addr,
        A,
        "POST",
        &format!("{Z}/security_groups/{sg}/rules"),
        Some(rule),
    )
    .await;
    assert_eq!(r.status, 201);
    let r = call(
        slow_addr,
        A,
        "GET",
        &format!("{Z}/security_groups/{sg}"),
        None,
    )
    .await;
    assert_eq!(r.json()["security_group"]["state"], "syncing");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = call(
            slow_addr,
            A,
            "GET",
            &format!("{Z}/security_groups/{sg}"),
            None,
        )
        .await;
        let state = r.json()["security_group"]["state"].clone();
        if state == "available" {
            break;
        }
        assert_eq!(state, "syncing", "a syncing group only becomes available");
        assert!(
            std::time::Instant::now() < deadline,
            "still syncing after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    slow.shutdown().await;

    // Typed bodies still name the offending argument.
    let r = call(
        addr,
        A,
        "POST",
        &format!("{Z}/servers"),
        Some(json!({"commercial_type": "DEV1-S", "image": "ubuntu_noble", "volumes": {"0": {"size": "big"}}})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["details"][0]["argument_name"], "volumes.0.size");
    assert_eq!(r.json()["details"][0]["reason"], "format");
    e.shutdown().await;
}
