//! The newcomer's path, end to end: the real `fleet dev` binary with no DATABASE_URL and no
//! SCW_SECRET_KEY (so it runs its own Postgres and emulator), driven through the real
//! `fleetctl` binary: create, power on with --wait, snapshot, export, list as JSON,
//! terminate. Then SIGINT: `fleet dev` must exit 0 and leave no Postgres behind, and a second
//! start must reuse the same data directory.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const TOKEN: &str = "e2e-dev-token";

/// `fleetctl` is another package's binary: use the one next to `fleet` when this test run
/// built it (a workspace run does), otherwise build it.
fn fleetctl_bin() -> PathBuf {
    let fleet = PathBuf::from(env!("CARGO_BIN_EXE_fleet"));
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
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "building fleetctl failed");
    }
    candidate
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The `fleet dev` child; killed if the test fails before stopping it.
struct Dev {
    child: Option<Child>,
}

impl Drop for Dev {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start_dev(data_dir: &Path, port: u16, log: &Path) -> Dev {
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .args([
            "dev",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("SCW_SECRET_KEY")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env("FLEET_DEV_TOKEN", TOKEN)
        .env("FLEET_DEV_TRANSITION", "200ms")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("fleet dev starts");
    Dev { child: Some(child) }
}

fn wait_healthy(port: u16, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let probe = Command::new(env!("CARGO_BIN_EXE_fleet"))
            .args(["healthcheck", "--grpc", &format!("http://127.0.0.1:{port}")])
            .output()
            .expect("healthcheck runs");
        if probe.status.success() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "fleet dev never became healthy:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn fleetctl(bin: &Path, port: u16, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env("FLEET_ADDR", format!("http://127.0.0.1:{port}"))
        .env("FLEET_TOKEN", TOKEN)
        .env_remove("FLEET_ZONE")
        .output()
        .expect("fleetctl runs")
}

fn json_ok(bin: &Path, port: u16, args: &[&str]) -> Value {
    let out = fleetctl(bin, port, args);
    assert!(
        out.status.success(),
        "fleetctl {args:?} failed ({:?}):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "fleetctl {args:?} printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn stop_with_sigint(mut dev: Dev) {
    let mut child = dev.child.take().expect("running");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("waitable") {
            break exit;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("fleet dev did not stop within 60 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(exit.success(), "fleet dev exited with {exit:?}");
}

/// Processes whose command line mentions `dir` (a Postgres of that data directory).
fn processes_using(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&needle) && cmdline.contains("postgres") {
            found.push(cmdline);
        }
    }
    found
}

#[test]
fn fleet_dev_and_fleetctl_scenario() {
    let ctl = fleetctl_bin();
    let temp = tempfile::tempdir().expect("temp dir");
    let data_dir = temp.path().join("data");
    let log = temp.path().join("dev.log");
    let port = free_port();
    let dev = start_dev(&data_dir, port, &log);
    wait_healthy(port, &log);

    let created = json_ok(
        &ctl,
        port,
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
            "--root-volume-type",
            "l_ssd",
            "--root-volume-size",
            "20GB",
            "--wait",
            "-o",
            "json",
        ],
    );
    let server_id = created["id"].as_str().expect("server id").to_owned();
    assert_eq!(created["name"], "web-1");
    assert_eq!(created["state"], "stopped");
    let volume_id = created["volumes"]["0"]["id"]
        .as_str()
        .expect("root volume")
        .to_owned();

    let action = json_ok(
        &ctl,
        port,
        &[
            "servers", "action", "--zone", "fr-par-1", &server_id, "poweron", "--wait", "-o",
            "json",
        ],
    );
    assert_eq!(action["server"]["state"], "running", "{action:#}");

    let snapshot = json_ok(
        &ctl,
        port,
        &[
            "snapshots",
            "create",
            "--zone",
            "fr-par-1",
            "--name",
            "snap-1",
            "--volume",
            &volume_id,
            "--wait",
            "-o",
            "json",
        ],
    );
    assert_eq!(snapshot["state"], "available", "{snapshot:#}");
    let snapshot_id = snapshot["id"].as_str().expect("snapshot id").to_owned();

    let export = json_ok(
        &ctl,
        port,
        &[
            "snapshots",
            "export",
            "--zone",
            "fr-par-1",
            &snapshot_id,
            "--bucket",
            "backups",
            "--key",
            "web-1.qcow2",
            "--wait",
            "-o",
            "json",
        ],
    );
    assert_eq!(export["snapshot"]["id"], snapshot_id.as_str(), "{export:#}");

    let listed = json_ok(
        &ctl,
        port,
        &["servers", "list", "--zone", "all", "-o", "json"],
    );
    let servers = listed["servers"].as_array().expect("servers array");
    let ours = servers
        .iter()
        .find(|s| s["id"] == server_id.as_str())
        .expect("the server is listed");
    assert_eq!(ours["state"], "running");
    assert_eq!(ours["commercial_type"], "DEV1-S", "Scaleway field names");

    json_ok(
        &ctl,
        port,
        &[
            "servers",
            "action",
            "--zone",
            "fr-par-1",
            &server_id,
            "terminate",
            "--wait",
            "-o",
            "json",
        ],
    );
    let gone = fleetctl(
        &ctl,
        port,
        &[
            "servers", "get", "--zone", "fr-par-1", &server_id, "-o", "json",
        ],
    );
    assert_eq!(
        gone.status.code(),
        Some(3),
        "a terminated server is not found"
    );

    stop_with_sigint(dev);
    assert!(
        processes_using(&data_dir).is_empty(),
        "postgres left running: {:?}",
        processes_using(&data_dir)
    );

    // The second start reuses the initialised cluster: the first run's operations are there.
    let dev = start_dev(&data_dir, port, &log);
    wait_healthy(port, &log);
    let operations = json_ok(&ctl, port, &["operations", "list", "-o", "json"]);
    let count = operations["operations"].as_array().map_or(0, Vec::len);
    assert!(
        count >= 5,
        "operations of the first run are kept: {operations:#}"
    );
    stop_with_sigint(dev);
    assert!(processes_using(&data_dir).is_empty());
}
