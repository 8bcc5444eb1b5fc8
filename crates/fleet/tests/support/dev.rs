//! `fleet dev` as a child process: start it on chosen ports, wait until healthy, stop it with
//! SIGINT, and find the Postgres it may have left behind.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Proc, fleet};

/// The caller token `fleet dev` is started with.
pub const TOKEN: &str = "e2e-dev-token";

/// Starts `fleet dev` with its own Postgres (no DATABASE_URL) and emulator (no SCW_SECRET_KEY),
/// the gateway on `port`, 200 ms transitions, and `extra` arguments.
pub fn start_dev(data_dir: &Path, port: u16, log: &Path, extra: &[&str]) -> Proc {
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = Command::new(fleet())
        .args([
            "dev",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data_dir)
        .args(extra)
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
    Proc(Some(child))
}

/// Waits until `fleet healthcheck` passes against the gateway on `port`.
pub fn wait_healthy(port: u16, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let probe = Command::new(fleet())
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

/// SIGINT, then `fleet dev` must exit 0 within a minute.
pub fn stop_with_sigint(mut dev: Proc) {
    let mut child = dev.0.take().expect("running");
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
pub fn processes_using(dir: &Path) -> Vec<String> {
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

/// A `fleet dev` with its emulator on a known port, healthy, for tests that check the
/// emulator directly too.
pub struct DevWithEmulator {
    pub dev: Proc,
    pub port: u16,
    pub emulator_port: u16,
    pub log: std::path::PathBuf,
    /// The emulator tenant's key, from the banner `fleet dev` prints (`SCW_SECRET_KEY=…`).
    pub key: String,
    _temp: tempfile::TempDir,
}

impl DevWithEmulator {
    pub fn start() -> Self {
        let temp = tempfile::tempdir().expect("temp dir");
        let log = temp.path().join("dev.log");
        let (port, emulator_port) = (super::free_port(), super::free_port());
        let emulator_listen = format!("127.0.0.1:{emulator_port}");
        let dev = start_dev(
            &temp.path().join("data"),
            port,
            &log,
            &["--emulator-listen", &emulator_listen],
        );
        wait_healthy(port, &log);
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let key = text
            .split("SCW_SECRET_KEY=")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| c.is_whitespace() || c == ')').next())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no SCW_SECRET_KEY in the banner:\n{text}"));
        Self {
            dev,
            port,
            emulator_port,
            log,
            key,
            _temp: temp,
        }
    }

    /// fleetctl against it, as the dev caller, that must succeed and print JSON.
    pub fn ok(&self, bin: &Path, args: &[&str]) -> serde_json::Value {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-o", "json"]);
        super::fleetctl_json(bin, self.port, TOKEN, &all)
    }

    /// SIGINT, then it must exit 0 (its temporary directory goes with it).
    pub fn stop(self) {
        stop_with_sigint(self.dev);
    }
}
