//! `Client::invoke`: raw calls by catalog operation against the emulator go
//! through the same pipeline as typed calls, and hand upstream answers back
//! unchanged, error statuses included.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use fleet_core::Zone;
use fleet_emulator::Faults;
use fleet_scaleway::{Client, Error, InvokeBody, Operation, RetryPolicy};

const ZONE: Zone = Zone::FrPar1;

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn json(value: serde_json::Value) -> Option<InvokeBody> {
    Some(InvokeBody {
        bytes: serde_json::to_vec(&value).unwrap(),
        content_type: "application/json".to_owned(),
    })
}

#[tokio::test]
async fn create_get_list_delete_and_a_404_come_back_raw() {
    let emu = common::emulator().await;
    let client = common::client(&emu).with_caller("worker-a/1");
    let none = BTreeMap::new();

    let created = client
        .invoke(
            Operation::CreateIp,
            ZONE,
            &none,
            &[],
            json(serde_json::json!({"type": "routed_ipv4", "tags": ["a"]})),
        )
        .await
        .unwrap();
    assert_eq!(
        created.status,
        201,
        "{:?}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(created.attempts, 1);
    assert!(
        created
            .content_type
            .as_deref()
            .is_some_and(|ct| ct.starts_with("application/json"))
    );
    let body: serde_json::Value = serde_json::from_slice(&created.body).unwrap();
    let id = body["ip"]["id"].as_str().unwrap().to_owned();

    let got = client
        .invoke(Operation::GetIp, ZONE, &params(&[("ip", &id)]), &[], None)
        .await
        .unwrap();
    assert_eq!(got.status, 200);

    let listed = client
        .invoke(
            Operation::ListIps,
            ZONE,
            &none,
            &[("per_page".to_owned(), "10".to_owned())],
            None,
        )
        .await
        .unwrap();
    assert_eq!(listed.status, 200);
    assert_eq!(listed.total_count, Some(1));

    let deleted = client
        .invoke(
            Operation::DeleteIp,
            ZONE,
            &params(&[("ip", &id)]),
            &[],
            None,
        )
        .await
        .unwrap();
    assert_eq!(deleted.status, 204);

    let missing = client
        .invoke(Operation::GetIp, ZONE, &params(&[("ip", &id)]), &[], None)
        .await
        .unwrap();
    assert_eq!(missing.status, 404);
    let error: serde_json::Value = serde_json::from_slice(&missing.body).unwrap();
    assert_eq!(error["type"], "not_found");

    let log = emu.call_log();
    assert_eq!(log.len(), 5);
    assert!(
        log.iter()
            .all(|c| c.caller.as_deref() == Some("worker-a/1"))
    );
    assert_eq!(client.endpoint_usage().get(&Operation::GetIp), Some(&2));
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    let emu = common::emulator().await;
    let client = common::client(&emu);
    let none = BTreeMap::new();
    let refused = [
        client
            .invoke(Operation::GetServer, ZONE, &none, &[], None)
            .await,
        client
            .invoke(
                Operation::GetServer,
                ZONE,
                &params(&[("server_id", "s"), ("other", "x")]),
                &[],
                None,
            )
            .await,
        client
            .invoke(
                Operation::GetServer,
                ZONE,
                &params(&[("server_id", "s")]),
                &[("page".to_owned(), "1".to_owned())],
                None,
            )
            .await,
        client
            .invoke(
                Operation::UpdateServer,
                ZONE,
                &params(&[("server_id", "s")]),
                &[],
                json(serde_json::json!({"name": 1})),
            )
            .await,
    ];
    for result in refused {
        assert!(
            matches!(result, Err(Error::InvalidRequest(_))),
            "{result:?}"
        );
    }
    assert!(emu.call_log().is_empty());
}

#[tokio::test]
async fn transient_failures_are_retried_then_reported_as_errors() {
    let emu = common::emulator().await;
    let mut config = common::config(&emu);
    config.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(5),
    };
    let client = Client::new(config).unwrap();
    emu.set_faults(Faults {
        rate_429: 1.0,
        ..Faults::default()
    });
    let err = client
        .invoke(Operation::ListIps, ZONE, &BTreeMap::new(), &[], None)
        .await
        .unwrap_err();
    assert!(err.retryable() && err.is_rate_limited(), "{err:?}");
    assert_eq!(emu.call_log().len(), 3);
    assert_eq!(client.throttled(ZONE), 3);
}
