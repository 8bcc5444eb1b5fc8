//! What the tests that run the real binaries share: finding `fleetctl`, free ports, child
//! processes that die with the test, running fleetctl against a gateway, and plain HTTP GETs;
//! `fleet dev` ([`dev`]) and supervised clusters for the kill tests ([`cluster`]).

#![allow(dead_code)]

pub mod cluster;
pub mod dev;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `fleet` binary under test.
pub fn fleet() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fleet"))
}

/// `fleetctl` is another package's binary: the one next to `fleet` when this test run built it
/// (a workspace run does), otherwise built now.
pub fn fleetctl_bin() -> PathBuf {
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

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child process killed when the test ends, however it ends (unless taken).
pub struct Proc(pub Option<Child>);

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// fleetctl against the gateway at `port`, as `token`.
pub fn fleetctl(bin: &Path, port: u16, token: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env("FLEET_ADDR", format!("http://127.0.0.1:{port}"))
        .env("FLEET_TOKEN", token)
        .env_remove("FLEET_ZONE")
        .output()
        .expect("fleetctl runs")
}

/// fleetctl that must succeed and print JSON.
pub fn fleetctl_json(bin: &Path, port: u16, token: &str, args: &[&str]) -> Value {
    let out = fleetctl(bin, port, token, args);
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

/// Waits (bounded) until `probe` succeeds; `log` is named, not printed, on failure.
pub fn wait_for(what: &str, log: &Path, mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while !probe() {
        if Instant::now() > deadline {
            panic!("{what} never became ready; see {}", log.display());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `GET path` on 127.0.0.1:`port` with extra header lines; the whole response when it is a 200.
pub fn http_get(port: u16, path: &str, headers: &[(&str, &str)]) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.starts_with("HTTP/1.1 200").then_some(response)
}

/// The JSON body of a 200 answer from [`http_get`] (not chunked: the emulator sends lengths).
pub fn http_get_json(port: u16, path: &str, headers: &[(&str, &str)]) -> Option<Value> {
    let response = http_get(port, path, headers)?;
    let (_, body) = response.split_once("\r\n\r\n")?;
    serde_json::from_str(body).ok()
}
