//! The `policies` commands of the real `fleetctl` binary against the in-test gateway of
//! `support` (its Policies service): what each command sends, what it prints in each
//! format, and the usage errors that send nothing.

mod support;

use serde_json::{Value, json};
use support::{TOKEN, fleetctl, rows, start};

const REQUEST_ID: &str = "3f1c2a9e-5b7d-4c1e-9a2b-8d6f0e4c7a15";

/// The value printed on the `KEY   value` line of a table.
fn line<'a>(table: &'a str, key: &str) -> &'a str {
    table
        .lines()
        .find_map(|l| l.strip_prefix(key).filter(|rest| rest.starts_with("  ")))
        .map_or("", str::trim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_snapshot_sends_the_policy_and_prints_it_in_words() {
    let (addr, gateway) = start().await;
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "policies",
            "create",
            "snapshot",
            "--zone",
            "all",
            "--selector",
            "tag=db",
            "--cron",
            "0 3 * * *",
            "--cron",
            "*/5 * * * * *",
            "--time-zone",
            "Europe/Paris",
            "--keep",
            "7",
            "--max-age",
            "7d",
            "--tag",
            "nightly",
            "--catch-up",
            "skip",
            "--max-in-flight",
            "10%",
            "--request-id",
            REQUEST_ID,
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let calls = gateway.calls("CreatePolicy");
    assert_eq!(calls.len(), 1);
    let sent = &calls[0].request;
    assert_eq!(sent["request_id"], REQUEST_ID);
    let policy = &sent["policy"];
    assert_eq!(policy["catch_up"], "CATCH_UP_SKIP");
    assert_eq!(policy["rollout"]["max_in_flight"], json!({"percent": 10}));
    let snapshot = &policy["snapshot"];
    assert_eq!(snapshot["selector"]["zone"], "all");
    assert_eq!(snapshot["selector"]["tags"], json!(["db"]));
    assert_eq!(snapshot["crons"], json!(["0 3 * * *", "*/5 * * * * *"]));
    assert_eq!(snapshot["time_zone"], "Europe/Paris");
    assert_eq!(snapshot["keep_count"], 7);
    assert_eq!(snapshot["max_age_seconds"], 604_800);
    assert_eq!(snapshot["tags"], json!(["nightly"]));
    assert!(policy.get("power").is_none(), "{policy}");

    // The answer, in words.
    let table = &run.stdout;
    assert_eq!(line(table, "NAME"), "policies/7", "{table}");
    assert_eq!(line(table, "KIND"), "snapshot", "{table}");
    assert_eq!(line(table, "STATE"), "active", "{table}");
    assert_eq!(
        line(table, "SCHEDULE"),
        "0 3 * * *; */5 * * * * * (Europe/Paris)",
        "{table}"
    );
    assert_eq!(line(table, "SELECTOR"), "zone=all tag=db", "{table}");
    assert_eq!(line(table, "RETENTION"), "keep 7, max age 7d", "{table}");
    assert_eq!(line(table, "NEXT RUN"), "2027-01-15T08:00:00Z", "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_power_sends_periods_as_weekdays_and_times() {
    let (addr, gateway) = start().await;
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "policies",
            "create",
            "power",
            "--zone",
            "fr-par-1",
            "--zone",
            "nl-ams-1",
            "--selector",
            "tag=office",
            "--period",
            "mon-fri 08:00-20:00",
            "--period",
            "daily 22:00-6:00",
            "--retain-running",
            "--project",
            "p1",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sent = &gateway.calls("CreatePolicy")[0].request;
    uuid::Uuid::parse_str(sent["request_id"].as_str().unwrap()).unwrap();
    assert_eq!(sent["policy"]["project"], "p1");
    let power = &sent["policy"]["power"];
    assert_eq!(power["selector"]["zones"], json!(["fr-par-1", "nl-ams-1"]));
    assert_eq!(
        power["periods"],
        json!([
            {"start_time": "08:00", "stop_time": "20:00", "weekdays": [
                "WEEKDAY_MONDAY", "WEEKDAY_TUESDAY", "WEEKDAY_WEDNESDAY", "WEEKDAY_THURSDAY",
                "WEEKDAY_FRIDAY"]},
            {"start_time": "22:00", "stop_time": "06:00", "weekdays": []},
        ])
    );
    assert_eq!(power["retain_running"], true);
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["name"], "policies/7");
    assert_eq!(json["power"]["periods"][1]["stop_time"], "06:00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_fetches_applies_the_flags_given_and_sends_the_whole_policy() {
    let (addr, gateway) = start().await;
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "policies",
            "update",
            "7",
            "--keep",
            "0",
            "--max-age",
            "30d",
            "--display-name",
            "db monthly",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(gateway.calls("GetPolicy")[0].request["name"], "policies/7");
    let sent = &gateway.calls("UpdatePolicy")[0].request["policy"];
    // The flags given…
    assert_eq!(sent["display_name"], "db monthly");
    assert_eq!(sent["snapshot"]["keep_count"], 0);
    assert_eq!(sent["snapshot"]["max_age_seconds"], 30 * 86_400);
    // …and everything else as fetched.
    assert_eq!(sent["name"], "policies/7");
    assert_eq!(sent["project"], "p1");
    assert_eq!(sent["snapshot"]["crons"], json!(["0 3 * * *"]));
    assert_eq!(sent["snapshot"]["time_zone"], "Europe/Paris");
    assert_eq!(sent["snapshot"]["selector"]["tags"], json!(["db"]));
    assert_eq!(sent["rollout"]["max_failures"], json!({"count": 1}));
    let json: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["display_name"], "db monthly");

    // A power schedule's flags on a snapshot policy: refused once its kind is known.
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "policies",
            "update",
            "policies/7",
            "--period",
            "mon 08:00-09:00",
        ],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "policies/7 is a snapshot policy; these flags are for power schedules: --period"
        ),
        "{}",
        run.stderr
    );
    // Nothing to update: refused before any call.
    let run = fleetctl(addr, Some(TOKEN), &["policies", "update", "8"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("nothing to update"), "{}", run.stderr);
    assert_eq!(gateway.calls("GetPolicy").len(), 2);
    assert_eq!(gateway.calls("UpdatePolicy").len(), 1);

    // A power schedule takes its own flags.
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "policies",
            "update",
            "8",
            "--period",
            "sat,sun 10:00-12:00",
            "--time-zone",
            "Europe/Paris",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sent = &gateway.calls("UpdatePolicy")[1].request["policy"];
    assert_eq!(
        sent["power"]["periods"],
        json!([{"start_time": "10:00", "stop_time": "12:00",
                "weekdays": ["WEEKDAY_SATURDAY", "WEEKDAY_SUNDAY"]}])
    );
    assert_eq!(
        line(&run.stdout, "SCHEDULE"),
        "sat,sun 10:00-12:00 (Europe/Paris)",
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_and_prints_one_row_per_policy() {
    let (addr, gateway) = start().await;
    let run = fleetctl(addr, Some(TOKEN), &["policies", "list"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    for column in [
        "NAME",
        "DISPLAY NAME",
        "KIND",
        "STATE",
        "SCHEDULE",
        "SELECTOR",
        "RETENTION",
        "NEXT RUN",
    ] {
        assert!(lines[0].contains(column), "{column}: {}", run.stdout);
    }
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert!(lines[1].starts_with("policies/7"), "{}", run.stdout);
    assert!(run.stderr.contains("--page-token page-2"), "{}", run.stderr);

    let run = fleetctl(
        addr,
        Some(TOKEN),
        &["policies", "list", "--all-pages", "--page-size", "1"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let row = run.stdout.lines().nth(2).unwrap_or_default();
    for cell in [
        "policies/8",
        "office hours",
        "power",
        "paused",
        "mon-fri 08:00-20:00 (UTC)",
        "zone=all tag=office",
    ] {
        assert!(row.contains(cell), "{cell}: {}", run.stdout);
    }
    let calls = gateway.calls("ListPolicies");
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[1].request["page_size"], 1);
    assert_eq!(calls[2].request["page_token"], "page-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_runs_pause_resume_and_delete_name_the_policy() {
    let (addr, gateway) = start().await;
    let run = fleetctl(addr, Some(TOKEN), &["policies", "run", "7"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sent = &gateway.calls("RunPolicy")[0].request;
    assert_eq!(sent["name"], "policies/7");
    uuid::Uuid::parse_str(sent["request_id"].as_str().unwrap()).unwrap();
    assert_eq!(line(&run.stdout, "TRIGGER"), "manual", "{}", run.stdout);
    assert_eq!(line(&run.stdout, "OUTCOME"), "running", "{}", run.stdout);
    assert_eq!(line(&run.stdout, "BATCH"), "batches/9", "{}", run.stdout);

    let runs = fleetctl(addr, Some(TOKEN), &["policies", "runs", "policies/7"]).await;
    assert_eq!(runs.code, 0, "{}", runs.stderr);
    assert_eq!(
        gateway.calls("ListPolicyRuns")[0].request["name"],
        "policies/7"
    );
    let rows = rows(&runs.stdout);
    assert_eq!(
        rows,
        [
            vec![
                "SLOT",
                "TRIGGER",
                "OUTCOME",
                "BATCH",
                "ACTION",
                "LATE",
                "DELETIONS",
                "DETAIL"
            ],
            vec![
                "2026-12-02T03:00:00",
                "schedule",
                "succeeded",
                "batches/2",
                "snapshot",
                "late, 3 missed",
                "1"
            ],
            vec![
                "2026-12-01T03:00:00",
                "schedule",
                "skipped",
                "snapshot",
                "missed while no scheduler ran"
            ],
        ],
        "{}",
        runs.stdout
    );

    let paused = fleetctl(addr, Some(TOKEN), &["policies", "pause", "7", "-o", "json"]).await;
    assert_eq!(paused.code, 0, "{}", paused.stderr);
    let json: Value = serde_json::from_str(&paused.stdout).unwrap();
    assert_eq!(json["state"], "POLICY_STATE_PAUSED");
    assert_eq!(json["next_run_time"], Value::Null);
    let resumed = fleetctl(addr, Some(TOKEN), &["policies", "resume", "policies/7"]).await;
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(
        line(&resumed.stdout, "STATE"),
        "active",
        "{}",
        resumed.stdout
    );
    assert_eq!(
        gateway.calls("PausePolicy")[0].request["name"],
        "policies/7"
    );
    assert_eq!(
        gateway.calls("ResumePolicy")[0].request["name"],
        "policies/7"
    );

    let deleted = fleetctl(addr, Some(TOKEN), &["policies", "delete", "7"]).await;
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    assert!(deleted.stdout.is_empty(), "{}", deleted.stdout);
    assert!(
        deleted.stderr.contains("policy policies/7 deleted"),
        "{}",
        deleted.stderr
    );
    let missing = fleetctl(addr, Some(TOKEN), &["policies", "get", "missing"]).await;
    assert_eq!(missing.code, 3, "{}", missing.stderr);
    assert_eq!(
        gateway.calls("GetPolicy")[0].request["name"],
        "policies/missing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_flags_are_usage_errors_that_send_nothing() {
    let (addr, gateway) = start().await;
    let snapshot = ["policies", "create", "snapshot", "--zone", "all"];
    let power = ["policies", "create", "power", "--zone", "all"];
    let cases: [(Vec<&str>, &str); 8] = [
        (
            [&snapshot[..], &["--cron", "0 3 * * *", "--keep", "0"]].concat(),
            "retention needs a limit",
        ),
        ([&snapshot[..], &["--keep", "3"]].concat(), "--cron <CRON>"),
        (
            [&snapshot[..], &["--cron", "0 3", "--keep", "3"]].concat(),
            "5 fields",
        ),
        (
            [
                &snapshot[..],
                &["--cron", "0 3 * * *", "--max-age", "a week"],
            ]
            .concat(),
            "--max-age",
        ),
        (
            [&power[..], &["--period", "mon-fry 08:00-20:00"]].concat(),
            "unknown weekday \"fry\"",
        ),
        (
            [&power[..], &["--period", "mon-fri 8-20"]].concat(),
            "bad time \"8\"",
        ),
        (
            [&power[..], &["--retain-running"]].concat(),
            "--period <PERIOD>",
        ),
        (
            [
                &power[..],
                &["--period", "daily 08:00-20:00", "--selector", "type=DEV1-S"],
            ]
            .concat(),
            "a power schedule takes no type= term",
        ),
    ];
    for (args, says) in &cases {
        let run = fleetctl(addr, Some(TOKEN), args).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    assert!(gateway.seen.lock().unwrap().is_empty());

    // Found before connecting: a gateway down does not hide them.
    let nowhere = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    for (args, says) in &cases[..1] {
        let run = fleetctl(nowhere, Some(TOKEN), args).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
    let run = fleetctl(nowhere, Some(TOKEN), &["policies", "update", "7"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
}
