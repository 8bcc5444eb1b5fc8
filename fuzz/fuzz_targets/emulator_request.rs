//! Bytes → method, path, query and body → the emulator's HTTP server (started once on a
//! loopback port; the emulator has no in-process router entry point that takes a request
//! without its shared state). No input may panic it or get a 5xx, and it keeps answering.
#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;

use fleet_emulator::minihttp::request;
use libfuzzer_sys::fuzz_target;

const TOKEN: &str = "6a0c3e2f-2b0e-4a8e-9d7b-0d8f1c2a3b4c";
const METHODS: &[&str] = &["GET", "POST", "PATCH", "PUT", "DELETE"];

struct Target {
    runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
}

fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let emulator = runtime
            .block_on(
                fleet_emulator::Emulator::builder()
                    .transition(std::time::Duration::from_millis(1))
                    .start(),
            )
            .expect("emulator starts");
        let addr = emulator.local_addr();
        // The emulator lives as long as the fuzzing process.
        std::mem::forget(emulator);
        Target { runtime, addr }
    })
}

/// Percent-encodes everything but unreserved characters and the separators the fuzzer uses
/// to shape the URL, so any bytes reach the router instead of breaking the request line.
fn encode(raw: &[u8]) -> String {
    raw.iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~/?=&".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let method = METHODS[usize::from(selector) % METHODS.len()];
    let (path, body) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let zones = ["fr-par-1", "nl-ams-1", "pl-waw-3"];
    let zone = zones[usize::from(selector / 8) % zones.len()];
    let url = format!("/instance/v1/zones/{zone}/{}", encode(path));
    let target = target();
    let response = target.runtime.block_on(request(
        target.addr,
        method,
        &url,
        &[
            ("x-auth-token", TOKEN),
            ("content-type", "application/json"),
        ],
        body,
    ));
    let response = response.expect("the emulator answers");
    assert!(
        response.status < 500,
        "{method} {url} answered {}",
        response.status
    );
});
