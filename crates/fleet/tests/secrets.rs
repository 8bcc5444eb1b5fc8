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

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The fake Scaleway secret key (the emulator accepts any UUID as its own tenant).
const SECRET_KEY: &str = "5ec7e7a1-5ec7-4e7a-8ec7-5ec7e7a15ec7";
/// The project and organization of that key (a tokens file gives the emulator these, so the
/// key is not also every resource's project id, as it is for keys the emulator makes its own
/// tenant).
const PROJECT: &str = "0b1ec7e0-0000-4000-8000-00000000c0de";
const ORGANIZATION: &str = "0b1ec7e0-0000-4000-8000-0000000000a9";
/// The fake caller token.
const TOKEN: &str = "tok-5ec7e7-caller-token-do-not-log";

fn fleet() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fleet"))
}

/// `fleetctl` is another package's binary: the one next to `fleet` when this run built it,
/// otherwise built now (as `dev_e2e.rs` does).
fn fleetctl_bin() -> PathBuf {
    let fleet = fleet();
    let candidate = fleet.with_file_name(format!("fleetctl{}", std::env::consts::EXE_SUFFIX));
    if !candidate.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = Command::new(cargo);
        build.args(["build", "-p", "fleetctl"]);
        if fleet
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|p| p == "release")
        {
            build.arg("--release");
        }
        assert!(
            build.status().expect("cargo runs").success(),
            "building fleetctl failed"
        );
    }
    candidate
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child process killed when the test ends, however it ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

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
    Proc(child)
}

/// Counts of each secret in `text` (never the text itself).
fn occurrences(text: &str) -> (usize, usize) {
    (
        text.matches(SECRET_KEY).count(),
        text.matches(TOKEN).count(),
    )
}

/// Waits (bounded) until `probe` succeeds.
fn wait_for(what: &str, log: &Path, mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !probe() {
        if Instant::now() > deadline {
            // The log may hold a secret: say where to look, do not print it.
            panic!("{what} never became ready; see {}", log.display());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn fleetctl(bin: &Path, port: u16, token: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env("FLEET_ADDR", format!("http://127.0.0.1:{port}"))
        .env("FLEET_TOKEN", token)
        .env_remove("FLEET_ZONE")
        .output()
        .expect("fleetctl runs")
}

fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.starts_with("HTTP/1.1 200").then_some(response)
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
        http_get(emulator_port, "/emulator/v1/health").is_some()
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
    let calls = http_get(emulator_port, "/emulator/v1/calls").expect("call log");
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
