//! Promise 7: secrets (the Scaleway secret key, callers' tokens) never appear in logs, errors
//! or the database.
//!
//! The real binaries, with a recognisable fake secret key and caller token: a private
//! Postgres database, `fleet emulator` as a subprocess, and `fleet dev` using both
//! (DATABASE_URL, SCW_SECRET_KEY / SCW_API_URL), with debug JSON logs. The real `fleetctl`
//! runs a scenario (create --wait, an action --wait, a wrong token, a failing call); then
//! every log line of both processes, every fleetctl output, a `pg_dump` of the database and
//! the emulator's call log are scanned: zero occurrences of either secret. The emulator
//! legitimately receives the key (X-Auth-Token is how Scaleway authenticates); its call log
//! must not keep it. Exported spans are scanned by `tests/telemetry.rs`.
//!
//! On failure the test prints where and how often a secret was found, never the secret.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::{Proc, fleet, fleetctl, fleetctl_bin, free_port, http_get, wait_for};

/// The fake Scaleway secret key (the emulator accepts any UUID as its own tenant).
const SECRET_KEY: &str = "5ec7e7a1-5ec7-4e7a-8ec7-5ec7e7a15ec7";
/// The project and organization of that key (a tokens file gives the emulator these, so the
/// key is not also every resource's project id, as it is for keys the emulator makes its own
/// tenant).
const PROJECT: &str = "0b1ec7e0-0000-4000-8000-00000000c0de";
const ORGANIZATION: &str = "0b1ec7e0-0000-4000-8000-0000000000a9";
/// The fake caller token.
const TOKEN: &str = "tok-5ec7e7-caller-token-do-not-log";

fn spawn(mut command: Command, log: &Path) -> Proc {
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = command
        .env("RUST_LOG", "debug")
        .env("FLEET_LOG_FORMAT", "json")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("process starts");
    Proc(Some(child))
}

/// Counts of each secret in `text` (never the text itself).
fn occurrences(text: &str) -> (usize, usize) {
    (
        text.matches(SECRET_KEY).count(),
        text.matches(TOKEN).count(),
    )
}

#[test]
fn no_secret_in_logs_errors_database_or_call_log() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let database_url = runtime.block_on(fleet_pgcluster::testing::fresh_database());
    let temp = tempfile::tempdir().expect("temp dir");
    let emulator_log = temp.path().join("emulator.log");
    let dev_log = temp.path().join("dev.log");

    let tokens = temp.path().join("tokens.json");
    std::fs::write(
        &tokens,
        serde_json::json!({"tokens": [{
            "secret_key": SECRET_KEY,
            "organization_id": ORGANIZATION,
            "projects": [PROJECT],
            "default_project_id": PROJECT,
        }]})
        .to_string(),
    )
    .expect("tokens file");
    let emulator_port = free_port();
    let mut emulator = Command::new(fleet());
    emulator
        .args([
            "emulator",
            "--listen",
            &format!("127.0.0.1:{emulator_port}"),
        ])
        .env("FLEET_EMULATOR_TRANSITION", "200ms")
        .env("FLEET_EMULATOR_TOKENS_FILE", &tokens);
    let _emulator = spawn(emulator, &emulator_log);
    wait_for("the emulator", &emulator_log, || {
        http_get(emulator_port, "/emulator/v1/health", &[]).is_some()
    });

    let port = free_port();
    let mut dev = Command::new(fleet());
    dev.args([
        "dev",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
    ])
    .arg(temp.path().join("data"))
    .env("DATABASE_URL", &database_url)
    .env("SCW_SECRET_KEY", SECRET_KEY)
    .env("SCW_API_URL", format!("http://127.0.0.1:{emulator_port}"))
    .env("SCW_DEFAULT_PROJECT_ID", PROJECT)
    .env("SCW_DEFAULT_ORGANIZATION_ID", ORGANIZATION)
    .env("FLEET_DEV_TOKEN", TOKEN);
    let _dev = spawn(dev, &dev_log);
    wait_for("fleet dev", &dev_log, || {
        Command::new(fleet())
            .args(["healthcheck", "--grpc", &format!("http://127.0.0.1:{port}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });

    let ctl = fleetctl_bin();
    let mut outputs: Vec<(String, Output)> = Vec::new();
    let created = fleetctl(
        &ctl,
        port,
        TOKEN,
        &[
            "servers",
            "create",
            "--zone",
            "fr-par-1",
            "--name",
            "secret-scan",
            "--commercial-type",
            "DEV1-S",
            "--image",
            "ubuntu_noble",
            "--wait",
            "-o",
            "json",
        ],
    );
    assert!(
        created.status.success(),
        "create failed ({:?}); stderr has {:?} secret/token occurrences",
        created.status.code(),
        occurrences(&String::from_utf8_lossy(&created.stderr))
    );
    let server: serde_json::Value = serde_json::from_slice(&created.stdout).expect("json");
    let server_id = server["id"].as_str().expect("server id").to_owned();
    assert_eq!(server["project"], PROJECT, "the tokens file's project");
    outputs.push(("fleetctl servers create".into(), created));

    let action = fleetctl(
        &ctl,
        port,
        TOKEN,
        &[
            "servers", "action", "--zone", "fr-par-1", &server_id, "poweron", "--wait", "-o",
            "json",
        ],
    );
    assert!(
        action.status.success(),
        "action failed ({:?})",
        action.status.code()
    );
    outputs.push(("fleetctl servers action".into(), action));

    // A wrong token: refused, and the refusal repeats no token.
    let wrong = format!("{TOKEN}-wrong");
    let refused = fleetctl(
        &ctl,
        port,
        &wrong,
        &["servers", "list", "--zone", "fr-par-1"],
    );
    assert!(!refused.status.success(), "a wrong token is refused");
    outputs.push(("fleetctl with a wrong token".into(), refused));

    // Failing calls: a server that does not exist, and an invalid request.
    let missing = fleetctl(
        &ctl,
        port,
        TOKEN,
        &[
            "servers",
            "get",
            "--zone",
            "fr-par-1",
            "11111111-1111-4111-8111-111111111111",
        ],
    );
    assert_eq!(missing.status.code(), Some(3), "not found");
    outputs.push(("fleetctl get of a missing server".into(), missing));
    let invalid = fleetctl(
        &ctl,
        port,
        TOKEN,
        &["servers", "get", "--zone", "fr-par-1", "not-a-uuid"],
    );
    assert!(!invalid.status.success());
    outputs.push(("fleetctl invalid get".into(), invalid));

    // The emulator's call log (it received the key on every call).
    let calls = http_get(emulator_port, "/emulator/v1/calls", &[]).expect("call log");
    assert!(
        calls.contains(&server_id),
        "the call log shows the scenario"
    );

    // A dump of the database.
    let pg_dump = fleet_pgcluster::find_bin_dir()
        .expect("postgres binaries")
        .join("pg_dump");
    let dump = Command::new(pg_dump)
        .args(["--no-owner", "--data-only", "--dbname", &database_url])
        .output()
        .expect("pg_dump runs");
    assert!(dump.status.success(), "pg_dump failed");
    let dump = String::from_utf8_lossy(&dump.stdout).into_owned();
    assert!(
        dump.contains(&server_id),
        "the dump holds the scenario's jobs"
    );

    // Stop the processes so their logs are complete.
    drop(_dev);
    drop(_emulator);

    let mut findings = Vec::new();
    let mut scanned_lines = 0usize;
    let mut scan = |name: &str, text: &str| {
        for (number, line) in text.lines().enumerate() {
            scanned_lines += 1;
            let (key, token) = occurrences(line);
            if key + token > 0 {
                findings.push(format!(
                    "{name} line {}: {key} secret key, {token} token",
                    number + 1
                ));
            }
        }
    };
    let dev_text = std::fs::read_to_string(&dev_log).expect("dev log");
    let emulator_text = std::fs::read_to_string(&emulator_log).expect("emulator log");
    assert!(
        dev_text
            .lines()
            .any(|l| l.contains("\"DEBUG\"") || l.contains("\"level\":\"debug\"")),
        "fleet dev logged at debug level"
    );
    scan("fleet dev log", &dev_text);
    scan("fleet emulator log", &emulator_text);
    for (name, output) in &outputs {
        scan(
            &format!("{name} stdout"),
            &String::from_utf8_lossy(&output.stdout),
        );
        scan(
            &format!("{name} stderr"),
            &String::from_utf8_lossy(&output.stderr),
        );
    }
    scan("emulator call log", &calls);
    scan("pg_dump", &dump);
    assert!(scanned_lines > 100, "only {scanned_lines} lines scanned");
    assert!(
        findings.is_empty(),
        "secrets found ({} places):\n{}",
        findings.len(),
        findings.join("\n")
    );
}
