//! Bounded property test of hostile requests (the CI-sized run of the `emulator_request` fuzz
//! target): any method on any catalog path, with garbage ids, zones, query strings and bodies
//! (invalid JSON, invalid UTF-8, injection strings, huge values) never gets a 5xx, every error
//! carries a typed JSON body, and the emulator's state is intact afterwards.
//!
//! `PROPTEST_CASES=20000 cargo test --release -p fleet-emulator --test hostile_props` is the
//! long run recorded in docs/reliability.md.

use std::net::SocketAddr;
use std::time::Duration;

use fleet_core::ENDPOINTS;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};
mod support;

use fleet_emulator::{Emulator, RunningEmulator};
use proptest::prelude::*;
use serde_json::{Value, json};
use support::request;

const TOKEN: &str = "6a0c3e2f-2b0e-4a8e-9d7b-0d8f1c2a3b4c";

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Everything but unreserved characters.
const RESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes everything but unreserved characters, so hostile text reaches the router
/// instead of breaking the request line.
fn encode(raw: &[u8]) -> String {
    percent_encode(raw, RESERVED).to_string()
}

fn hostile_text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"' OR 1=1 --".to_vec()),
        Just(b"../../etc/passwd".to_vec()),
        Just(b"\r\nX-Injected: 1".to_vec()),
        Just(b"%00".to_vec()),
        Just(vec![0xff, 0xfe, 0x00, 0x80]),
        Just("😀".repeat(50).into_bytes()),
        Just(vec![b'a'; 5000]),
        Just(b"11111111-1111-4111-8111-111111111111".to_vec()),
        Just(b"".to_vec()),
        prop::collection::vec(any::<u8>(), 0..40),
    ]
}

fn id_value(existing: String) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![3 => Just(existing.into_bytes()), 2 => hostile_text()]
}

fn zone_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => Just(b"fr-par-1".to_vec()),
        1 => Just(b"all".to_vec()),
        1 => Just(b"FR-PAR-1".to_vec()),
        1 => hostile_text(),
    ]
}

fn json_body() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,20}".prop_map(Value::String),
        Just(json!("DEV1-S")),
        Just(json!("ubuntu_noble")),
        Just(json!("poweron")),
        Just(json!(-1)),
        Just(json!(u64::MAX)),
    ];
    let value = leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "name",
                        "commercial_type",
                        "image",
                        "action",
                        "volumes",
                        "size",
                        "volume_type",
                        "tags",
                        "project",
                        "rules",
                        "protocol",
                        "ip_range",
                        "dest_port_from",
                        "server",
                        "bucket",
                        "key",
                        "0",
                        "id",
                    ]),
                    inner
                ),
                0..6
            )
            .prop_map(|pairs| Value::Object(
                pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    });
    prop_oneof![
        4 => value.prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
        1 => Just(b"{\"name\": ".to_vec()),
    ]
}

#[derive(Debug, Clone)]
struct Hostile {
    method: &'static str,
    path: String,
    query: String,
    body: Vec<u8>,
    content_type: &'static str,
}

fn hostile_request(existing: String) -> impl Strategy<Value = Hostile> {
    (
        prop::sample::select((0..ENDPOINTS.len()).collect::<Vec<_>>()),
        prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
        any::<bool>(),
        zone_value(),
        id_value(existing),
        prop::collection::vec((hostile_text(), hostile_text()), 0..3),
        json_body(),
        prop::sample::select(vec![
            "application/json",
            "text/plain",
            "application/xml",
            "",
        ]),
    )
        .prop_map(
            |(endpoint, method, keep_method, zone, id, query, body, content_type)| {
                let endpoint = &ENDPOINTS[endpoint];
                let mut path = String::new();
                for segment in endpoint.path.split('/').skip(1) {
                    path.push('/');
                    if segment == "{zone}" {
                        path.push_str(&encode(&zone));
                    } else if segment.starts_with('{') {
                        path.push_str(&encode(&id));
                    } else {
                        path.push_str(segment);
                    }
                }
                let query = query
                    .iter()
                    .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                    .chain(["page=-1".to_owned(), "per_page=100000".to_owned()])
                    .collect::<Vec<_>>()
                    .join("&");
                let method = if keep_method {
                    endpoint.method.as_str()
                } else {
                    method
                };
                Hostile {
                    method,
                    path,
                    query,
                    body,
                    content_type,
                }
            },
        )
}

async fn send(addr: SocketAddr, req: &Hostile) -> (u16, Vec<u8>) {
    let mut headers = vec![("x-auth-token", TOKEN)];
    if !req.content_type.is_empty() {
        headers.push(("content-type", req.content_type));
    }
    let target = format!("{}?{}", req.path, req.query);
    match request(addr, req.method, &target, &headers, &req.body).await {
        Ok(response) => (response.status, response.body),
        // The server may close the connection on an unparseable request: not a 5xx.
        Err(_) => (0, Vec::new()),
    }
}

#[test]
fn hostile_requests_get_typed_4xx_and_change_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (emulator, addr, server_id): (RunningEmulator, SocketAddr, String) =
        runtime.block_on(async {
            let emulator = Emulator::builder()
                .transition(Duration::from_millis(10))
                .seed(7)
                .start()
                .await
                .unwrap();
            let addr = emulator.local_addr();
            let body =
                json!({"name": "keep-me", "commercial_type": "DEV1-S", "image": "ubuntu_noble"})
                    .to_string();
            let created = request(
                addr,
                "POST",
                "/instance/v1/zones/fr-par-1/servers",
                &[
                    ("x-auth-token", TOKEN),
                    ("content-type", "application/json"),
                ],
                body.as_bytes(),
            )
            .await
            .unwrap();
            assert_eq!(created.status, 201);
            let id = created.json()["server"]["id"].as_str().unwrap().to_owned();
            (emulator, addr, id)
        });

    let config = ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&hostile_request(server_id.clone()), |req| {
        let (status, body) = runtime.block_on(send(addr, &req));
        prop_assert!(
            status < 500,
            "{req:?} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        if status >= 400 && !body.is_empty() {
            let parsed: Result<Value, _> = serde_json::from_slice(&body);
            prop_assert!(
                parsed
                    .as_ref()
                    .is_ok_and(|v| v["type"].is_string() || v["message"].is_string()),
                "{req:?} answered {status} with an untyped body: {}",
                String::from_utf8_lossy(&body)
            );
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }

    // The emulator still serves, and the server created before the storm is still there
    // unless a (valid) hostile request legitimately deleted or terminated it.
    runtime.block_on(async {
        let health = request(addr, "GET", "/emulator/v1/health", &[], b"")
            .await
            .unwrap();
        assert_eq!(health.status, 200);
        let listed = request(
            addr,
            "GET",
            "/instance/v1/zones/fr-par-1/servers",
            &[("x-auth-token", TOKEN)],
            b"",
        )
        .await
        .unwrap();
        assert_eq!(listed.status, 200);
        assert!(listed.json()["servers"].is_array());
    });
    drop(emulator);
}
