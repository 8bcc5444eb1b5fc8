//! Runs the real `fleetctl` binary against the small in-test gateway of
//! `support` (Servers, ServerActions and Operations here) that records what it
//! receives and answers with canned messages: output formats, request ids, the
//! token header, progress of `--wait` and the documented exit codes.

mod support;

use fleet_proto::v1;
use prost::Name as _;
use serde_json::Value;
use std::str::FromStr as _;

use support::{SERVER_ID, TOKEN, audit_event, fleetctl, fleetctl_with_env, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_prints_the_server_as_scaleway_json_and_sends_the_token() {
    let (addr, gateway) = start().await;
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "servers", "get", "--zone", "fr-par-1", SERVER_ID, "-o", "json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    // The server object itself, with Scaleway's field names and nulls.
    assert_eq!(json["id"], SERVER_ID);
    assert_eq!(json["commercial_type"], "DEV1-S");
    assert_eq!(json["dynamic_ip_required"], true);
    assert_eq!(json["public_ips"][0]["address"], "51.15.0.1");
    assert_eq!(json["placement_group"], Value::Null);
    assert!(json.get("commercialType").is_none());

    let calls = gateway.calls("GetServer");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].authorization.as_deref(),
        Some("Bearer t0k3n-secret")
    );
    assert_eq!(calls[0].request["zone"], "fr-par-1");
    assert_eq!(calls[0].request["server_id"], SERVER_ID);
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_and_table_formats() {
    let (addr, _gateway) = start().await;
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "servers", "get", "--zone", "fr-par-1", SERVER_ID, "-o", "yaml",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let yaml: serde_yaml::Value = serde_yaml::from_str(&run.stdout).unwrap();
    assert_eq!(yaml["commercial_type"].as_str(), Some("DEV1-S"));
    assert_eq!(yaml["tags"][1].as_str(), Some("prod"));

    let run = fleetctl(
        addr,
        Some(TOKEN),
        &["servers", "get", "--zone", "fr-par-1", SERVER_ID],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let type_line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("TYPE"))
        .unwrap_or_default();
    assert!(type_line.ends_with("DEV1-S"), "{}", run.stdout);

    let run = fleetctl(addr, Some(TOKEN), &["servers", "list", "--zone", "all"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("STATE"),
        "{}",
        run.stdout
    );
    assert!(
        lines[1].contains("web-1") && lines[1].contains("51.15.0.1"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("zones not listed (unreachable): nl-ams-9"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("nl-ams-9"), "{}", run.stdout);
    // Only the first page, with a hint naming the next one.
    assert!(!run.stdout.contains("web-2"), "{}", run.stdout);
    assert!(run.stderr.contains("--page-token page-2"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_pages_merges_every_page() {
    let (addr, gateway) = start().await;
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "servers",
            "list",
            "--zone",
            "all",
            "--tag",
            "web",
            "--all-pages",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    let names: Vec<&str> = json["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web-1", "web-2"]);
    assert_eq!(json["next_page_token"], "");
    assert_eq!(json["unreachable"], serde_json::json!(["nl-ams-9"]));
    let calls = gateway.calls("ListServers");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].request["zone"], "all");
    assert_eq!(calls[0].request["tags"], serde_json::json!(["web"]));
    assert_eq!(calls[1].request["page_token"], "page-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_map_to_exit_codes_and_say_what_to_fix() {
    let (addr, _gateway) = start().await;
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &["servers", "get", "--zone", "fr-par-1", "missing"],
    )
    .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("NOT_FOUND"), "{}", run.stderr);
    assert!(run.stderr.contains("--zone"), "{}", run.stderr);

    let run = fleetctl(
        addr,
        Some(TOKEN),
        &["servers", "get", "--zone", "fr-par-1", "bad"],
    )
    .await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("invalid field `server_id`: must be a UUID"),
        "{}",
        run.stderr
    );

    let run = fleetctl(
        addr,
        None,
        &["servers", "get", "--zone", "fr-par-1", SERVER_ID],
    )
    .await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(run.stderr.contains("FLEET_TOKEN"), "{}", run.stderr);

    let run = fleetctl(
        addr,
        Some("wrong"),
        &["servers", "get", "--zone", "fr-par-1", SERVER_ID],
    )
    .await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(!run.stderr.contains("wrong"), "{}", run.stderr);

    // Usage errors are caught before any call.
    let run = fleetctl(addr, Some(TOKEN), &["servers", "get", SERVER_ID]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_gateway_is_exit_7() {
    // A port nothing listens on: bind, read the port, close.
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "--timeout",
            "5",
            "servers",
            "get",
            "--zone",
            "fr-par-1",
            SERVER_ID,
        ],
    )
    .await;
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(run.stderr.contains("FLEET_ADDR"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_without_wait_prints_the_operation_name_with_a_fresh_request_id() {
    let (addr, gateway) = start().await;
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "servers", "action", "--zone", "fr-par-1", SERVER_ID, "poweron",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "operations/poweron-1\n");
    let again = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "servers", "action", "--zone", "fr-par-1", SERVER_ID, "poweron",
        ],
    )
    .await;
    assert_eq!(again.code, 0, "{}", again.stderr);

    let calls = gateway.calls("PowerOnServer");
    assert_eq!(calls.len(), 2);
    let ids: Vec<&str> = calls
        .iter()
        .map(|c| c.request["request_id"].as_str().unwrap())
        .collect();
    for id in &ids {
        let parsed = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(parsed.get_version_num(), 4, "{id}");
    }
    assert_ne!(ids[0], ids[1], "each run sends a fresh request_id");
    assert!(gateway.calls("WatchOperation").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_wait_follows_progress_and_prints_the_result() {
    let (addr, gateway) = start().await;
    let request_id = "3f1c2a9e-5b7d-4c1e-9a2b-8d6f0e4c7a15";
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "servers",
            "action",
            "--zone",
            "fr-par-1",
            SERVER_ID,
            "poweron",
            "--wait",
            "--request-id",
            request_id,
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["action"], "poweron");
    assert_eq!(json["server"]["state"], "running");
    // Progress goes to stderr, one line per change when not on a terminal.
    assert!(run.stderr.contains("[ 10%] running poll"), "{}", run.stderr);
    assert!(run.stderr.contains("[ 80%]"), "{}", run.stderr);
    assert!(run.stderr.contains("observed starting"), "{}", run.stderr);
    assert!(run.stderr.contains("observed running"), "{}", run.stderr);

    assert_eq!(
        gateway.calls("PowerOnServer")[0].request["request_id"],
        request_id
    );
    assert_eq!(
        gateway.calls("WatchOperation")[0].request["name"],
        "operations/poweron-1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_operation_is_exit_8_with_its_details() {
    let (addr, _gateway) = start().await;
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "servers", "action", "--zone", "fr-par-1", "doomed", "poweron", "--wait",
        ],
    )
    .await;
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert!(
        run.stderr.contains("operation operations/fails failed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("FAILED_PRECONDITION: server is locked"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("open a support ticket"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_sends_user_data_from_files_and_watch_prints_table() {
    let (addr, gateway) = start().await;
    let dir = std::env::temp_dir().join(format!("fleetctl-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let init = dir.join("init.yaml");
    std::fs::write(&init, "#cloud-config\npackages: [nginx]\n").unwrap();
    let user_data = format!("cloud-init=@{}", init.display());
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "servers",
            "create",
            "--zone",
            "fr-par-1",
            "--name",
            "web-1",
            "--commercial-type",
            "DEV1-S",
            "--image",
            "ubuntu_noble",
            "--start",
            "--tag",
            "web",
            "--user-data",
            &user_data,
            "--root-volume-size",
            "20GB",
        ],
    )
    .await;
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.trim(), "operations/create-1");
    let request = &gateway.calls("CreateServer")[0].request;
    assert_eq!(request["name"], "web-1");
    assert_eq!(request["image"], "ubuntu_noble");
    assert_eq!(request["start"], true);
    assert_eq!(request["volumes"]["0"]["size"], 20_000_000_000u64);
    // bytes fields are base64 in proto JSON.
    let expected = "I2Nsb3VkLWNvbmZpZwpwYWNrYWdlczogW25naW54XQo=";
    assert_eq!(request["user_data"]["cloud-init"], expected);

    let run = fleetctl(addr, Some(TOKEN), &["operations", "watch", "create-1"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("ACTION") && run.stdout.contains("poweron"),
        "{}",
        run.stdout
    );
    assert_eq!(
        gateway.calls("WatchOperation")[0].request["name"],
        "operations/create-1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_call_reaches_any_method() {
    let (addr, gateway) = start().await;
    let data = format!(r#"{{"zone":"fr-par-1","server_id":"{SERVER_ID}"}}"#);
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &["call", "Servers/GetServer", "--data", &data, "-o", "json"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["commercial_type"], "DEV1-S");
    assert_eq!(
        gateway.calls("GetServer")[0].request["server_id"],
        SERVER_ID
    );

    // Server streaming prints one JSON document per message.
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "call",
            "Operations/WatchOperation",
            "-d",
            r#"{"name":"operations/x"}"#,
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["done"], true);
    assert_eq!(
        lines[2]["metadata"]["@type"],
        format!("type.googleapis.com/{}", v1::OperationMetadata::full_name())
    );

    // A typo in the request is a usage error, before any call.
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &["call", "Servers/GetServer", "-d", r#"{"zonee":"x"}"#],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("zonee"), "{}", run.stderr);

    // Errors keep their code through the generic path.
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "call",
            "Servers/GetServer",
            "-d",
            r#"{"zone":"fr-par-1","server_id":"missing"}"#,
        ],
    )
    .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_wait_loops_until_done_within_the_call_deadline() {
    let (addr, gateway) = start().await;
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "--timeout",
            "10",
            "operations",
            "wait",
            "del-1",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["deleted_volumes"], serde_json::json!(["vol-1"]));
    let calls = gateway.calls("WaitOperation");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].request["name"], "operations/del-1");
    // The server-side wait stays below the 10 s call deadline.
    assert_eq!(calls[0].request["timeout"], "8s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_without_a_zone_lists_every_zone() {
    let (addr, gateway) = start().await;
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &["servers", "list", "--all-pages", "-o", "json"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    let zones: Vec<&str> = json["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["zone"].as_str().unwrap())
        .collect();
    assert_eq!(zones, ["fr-par-1", "nl-ams-1"], "{json:#}");
    assert_eq!(gateway.calls("ListServers")[0].request["zone"], "all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zone_comes_from_the_flag_then_fleet_zone_then_scw_default_zone() {
    let (addr, gateway) = start().await;
    let get = ["servers", "get", SERVER_ID, "-o", "json"];
    /// (flag arguments, variables set, the zone the call must carry)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case<'_>; 4] = [
        (
            &["--zone", "pl-waw-1"],
            &[("FLEET_ZONE", "nl-ams-1"), ("SCW_DEFAULT_ZONE", "fr-par-2")],
            "pl-waw-1",
        ),
        (
            &[],
            &[("FLEET_ZONE", "nl-ams-1"), ("SCW_DEFAULT_ZONE", "fr-par-2")],
            "nl-ams-1",
        ),
        (&[], &[("SCW_DEFAULT_ZONE", "fr-par-2")], "fr-par-2"),
        (&[], &[("FLEET_ZONE", "nl-ams-1")], "nl-ams-1"),
    ];
    for (i, (flag, vars, zone)) in cases.iter().enumerate() {
        let args: Vec<&str> = get.iter().chain(flag.iter()).copied().collect();
        let run = fleetctl_with_env(addr, Some(TOKEN), &args, vars).await;
        assert_eq!(run.code, 0, "{args:?} {vars:?}: {}", run.stderr);
        assert_eq!(
            gateway.calls("GetServer")[i].request["zone"],
            *zone,
            "{args:?} {vars:?}"
        );
    }
    // A list takes SCW_DEFAULT_ZONE too, rather than every zone.
    let run = fleetctl_with_env(
        addr,
        Some(TOKEN),
        &["servers", "list", "-o", "json"],
        &[("SCW_DEFAULT_ZONE", "fr-par-2")],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(gateway.calls("ListServers")[0].request["zone"], "fr-par-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zonal_command_without_any_zone_is_a_usage_error_naming_every_source() {
    let (addr, gateway) = start().await;
    let run = fleetctl(addr, Some(TOKEN), &["servers", "get", SERVER_ID]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    for name in ["--zone", "FLEET_ZONE", "SCW_DEFAULT_ZONE"] {
        assert!(run.stderr.contains(name), "names {name}: {}", run.stderr);
    }
    assert!(gateway.calls("GetServer").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_list_sends_the_filters_and_since_as_a_start_time() {
    let (addr, gateway) = start().await;
    let before = std::time::SystemTime::now();
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "audit",
            "list",
            "--caller",
            "ops",
            "--method",
            "fleet.v1.Servers/DeleteServer",
            "--since",
            "1h",
            "-o",
            "json",
        ],
    )
    .await;
    let after = std::time::SystemTime::now();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["events"][0]["resource"], audit_event().resource);
    let calls = gateway.calls("ListAuditEvents");
    assert_eq!(calls.len(), 1);
    let request = &calls[0].request;
    assert_eq!(request["caller"], "ops");
    assert_eq!(request["method"], "fleet.v1.Servers/DeleteServer");
    // One hour before the moment the command ran.
    let start: std::time::SystemTime = prost_types::Timestamp::from_str(
        request["start_time"].as_str().expect("start_time is set"),
    )
    .unwrap()
    .try_into()
    .unwrap();
    let hour = std::time::Duration::from_secs(3600);
    assert!(start >= before - hour && start <= after - hour, "{request}");

    let table = fleetctl(addr, Some(TOKEN), &["audit", "list"]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    let header = table.stdout.lines().next().unwrap_or_default();
    for column in ["TIME", "CALLER", "METHOD", "RESOURCE", "OUTCOME"] {
        assert!(header.contains(column), "{}", table.stdout);
    }
    assert!(table.stdout.contains("fleet.v1.Servers/DeleteServer"));

    let bad = fleetctl(addr, Some(TOKEN), &["audit", "list", "--since", "soon"]).await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

#[tokio::test]
async fn batch_plan_sends_a_dry_run_and_run_wait_prints_each_failed_child() {
    let (addr, gateway) = start().await;
    let plan = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "batch",
            "plan",
            "--zone",
            "all",
            "--selector",
            "tag=web",
            "--action",
            "reboot",
            "--max-in-flight",
            "10%",
            "--max-failures",
            "2",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let json: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(json["state"], "planned");
    let sent = &gateway.calls("CreateBatch")[0].request;
    assert_eq!(sent["validate_only"], true);
    assert_eq!(sent["selector"]["zone"], "all");
    assert_eq!(sent["selector"]["tags"][0], "web");
    assert_eq!(sent["policy"]["max_in_flight"]["percent"], 10);
    assert_eq!(sent["policy"]["max_failures"]["count"], 2);

    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "batch",
            "run",
            "--zone",
            "fr-par-1",
            "--zone",
            "nl-ams-1",
            "--action",
            "reboot",
            "--max-in-flight-per-zone",
            "1",
            "--canary",
            "10%",
            "--wait",
            "-o",
            "json",
        ],
    )
    .await;
    // Halted: the documented exit code of an operation that did not succeed.
    assert_eq!(run.code, 8, "{}", run.stderr);
    let sent = &gateway.calls("CreateBatch")[1].request;
    assert_eq!(sent["selector"]["zones"][1], "nl-ams-1");
    assert_eq!(sent["policy"]["max_in_flight_per_zone"]["count"], 1);
    assert_eq!(sent["policy"]["canary"]["percent"], 10);
    assert!(
        uuid::Uuid::from_str(sent["request_id"].as_str().unwrap()).is_ok(),
        "{sent}"
    );
    // One progress line per change (no terminal here): the batch's children, not the job.
    let progress: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("done, "))
        .collect();
    assert_eq!(
        progress,
        [
            "[  0%] batch running: 0/2 done, 0 failed, 1 in flight",
            "[ 50%] batch running: 1/2 done, 0 failed, 1 in flight",
            "[100%] batch halted: 2/2 done, 1 failed, 0 in flight",
        ],
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did not complete cleanly: halted"),
        "{}",
        run.stderr
    );
    assert!(
        sent.get("validate_only").is_none_or(|v| v == false),
        "{sent}"
    );
    assert!(
        run.stderr
            .contains("failed: fr-par-1/b (web-b): server is locked"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("batch halted: 2 children failed"),
        "{}",
        run.stderr
    );
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["children"][1]["outcome"], "failed");

    let paused = fleetctl(addr, Some(TOKEN), &["batch", "pause", "9", "-o", "json"]).await;
    assert_eq!(paused.code, 0, "{}", paused.stderr);
    assert_eq!(gateway.calls("PauseBatch")[0].request["name"], "batches/9");
    let bad = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "batch",
            "plan",
            "--zone",
            "all",
            "--action",
            "reboot",
            "--max-in-flight",
            "lots",
        ],
    )
    .await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}
