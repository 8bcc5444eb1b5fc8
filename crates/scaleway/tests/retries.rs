//! Retries against the emulator's fault injection: 429 storms, 5xx, resets
//! and hung requests end in success within the bound; attempts are counted
//! from the emulator's call log; permanent errors are never retried.
//!
//! Calls are sequential so that the emulator's seeded fault stream gives
//! the same faults on every run. Block calls go through the same policy
//! (checked against a scripted API).

mod common;

use std::time::Duration;

use common::mock::{Mock, Reply, snapshot, volume};
use fleet_core::block;
use fleet_core::{CreateIpRequest, CreateServerRequest, Zone};
use fleet_emulator::{CallRecord, Faults};
use fleet_scaleway::{Client, RequestOptions, RetryPolicy};

const ZONE: Zone = Zone::FrPar1;
const MAX_ATTEMPTS: u32 = 8;

fn patient_client(emu: &fleet_emulator::RunningEmulator) -> Client {
    let mut config = common::config(emu);
    config.retry = RetryPolicy {
        max_attempts: MAX_ATTEMPTS,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    };
    Client::new(config).unwrap()
}

/// Splits the records of sequential calls into one run per call: failed
/// attempts followed by the successful one.
fn runs(records: &[CallRecord]) -> Vec<Vec<u16>> {
    let mut runs = Vec::new();
    let mut current = Vec::new();
    for r in records {
        current.push(r.status);
        if (200..300).contains(&r.status) {
            runs.push(std::mem::take(&mut current));
        }
    }
    assert!(current.is_empty(), "trailing failed attempts: {current:?}");
    runs
}

fn faults_in_zone(f: Faults) -> Faults {
    Faults {
        zones: Some(vec![ZONE.as_str().to_owned()]),
        ..f
    }
}

async fn new_ip(client: &Client) -> String {
    client
        .create_ip(ZONE, &CreateIpRequest::default())
        .await
        .unwrap()
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_ends_in_success_within_the_bound() {
    let emu = common::emulator().await;
    let client = patient_client(&emu);
    let ip = new_ip(&client).await;
    emu.clear_call_log();
    emu.set_faults(faults_in_zone(Faults {
        rate_429: 0.6,
        ..Faults::default()
    }));
    for _ in 0..20 {
        client.get_ip(ZONE, &ip).await.unwrap();
    }
    // A POST that creates is re-sent after a 429 too: the API did not act.
    for _ in 0..5 {
        new_ip(&client).await;
    }
    emu.clear_faults();
    let log = emu.call_log();
    let gets = runs(&common::calls_to(&log, "GET", &format!("/ips/{ip}")));
    assert_eq!(gets.len(), 20);
    let posts = runs(&common::calls_to(&log, "POST", "/ips"));
    assert_eq!(posts.len(), 5);
    let mut throttled = 0;
    for run in gets.iter().chain(&posts) {
        assert!(run.len() <= MAX_ATTEMPTS as usize, "{run:?}");
        assert!(run[..run.len() - 1].iter().all(|s| *s == 429), "{run:?}");
        throttled += run.len() - 1;
    }
    assert!(throttled >= 10, "the storm hit: {throttled} 429s");
    assert!(
        gets.iter().any(|r| r.len() >= 3),
        "some calls needed several retries: {gets:?}"
    );
    assert_eq!(
        client.throttled(ZONE),
        throttled as u64,
        "every 429 was observed"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured() {
    let emu = common::emulator().await;
    let client = patient_client(&emu);
    let ip = new_ip(&client).await;
    emu.clear_call_log();
    emu.set_faults(faults_in_zone(Faults {
        rate_429: 0.5,
        retry_after_secs: Some(1),
        ..Faults::default()
    }));
    for _ in 0..4 {
        client.get_ip(ZONE, &ip).await.unwrap();
    }
    emu.clear_faults();
    let log = common::calls_to(&emu.call_log(), "GET", &format!("/ips/{ip}"));
    let mut waited = 0;
    for pair in log.windows(2) {
        if pair[0].status == 429 {
            let gap = pair[1].at.duration_since(pair[0].at).unwrap();
            assert!(
                gap >= Duration::from_millis(990),
                "re-sent after {gap:?} despite Retry-After: 1"
            );
            waited += 1;
        }
    }
    assert!(waited >= 1, "at least one 429 with Retry-After: {log:?}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_for_safe_requests_only() {
    let emu = common::emulator().await;
    let client = patient_client(&emu);
    let ip = new_ip(&client).await;
    emu.clear_call_log();
    emu.set_faults(faults_in_zone(Faults {
        error_5xx_rate: 0.5,
        ..Faults::default()
    }));
    for _ in 0..20 {
        client.get_ip(ZONE, &ip).await.unwrap();
    }
    // A plain POST create is not re-sent after a 5xx: it may have applied.
    let mut failed_posts = 0;
    for _ in 0..10 {
        if let Err(err) = client.create_ip(ZONE, &CreateIpRequest::default()).await {
            assert!(matches!(err.status(), Some(500 | 502 | 503)), "{err:?}");
            assert!(err.retryable(), "5xx is transient: {err:?}");
            failed_posts += 1;
        }
    }
    let plain_posts = common::calls_to(&emu.call_log(), "POST", "/ips");
    assert_eq!(
        plain_posts.len(),
        10,
        "one attempt per plain POST: {plain_posts:?}"
    );
    assert!(failed_posts >= 1, "some POSTs met a 5xx");
    // The same POST marked idempotent is retried to success.
    emu.clear_call_log();
    for _ in 0..10 {
        client
            .idempotent()
            .create_ip(ZONE, &CreateIpRequest::default())
            .await
            .unwrap();
    }
    emu.clear_faults();
    let log = emu.call_log();
    let posts = runs(&common::calls_to(&log, "POST", "/ips"));
    assert_eq!(posts.len(), 10);
    let gets = runs(&common::calls_to(&log, "GET", &format!("/ips/{ip}")));
    assert!(gets.is_empty());
    for run in &posts {
        assert!(run.len() <= MAX_ATTEMPTS as usize, "{run:?}");
        assert!(
            run[..run.len() - 1]
                .iter()
                .all(|s| matches!(s, 500 | 502 | 503)),
            "{run:?}"
        );
    }
    assert!(
        posts.iter().any(|r| r.len() > 1),
        "some idempotent POSTs were retried: {posts:?}"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_are_retried() {
    let emu = common::emulator().await;
    let client = patient_client(&emu);
    let ip = new_ip(&client).await;
    emu.clear_call_log();
    emu.set_faults(faults_in_zone(Faults {
        reset_rate: 0.4,
        ..Faults::default()
    }));
    for _ in 0..20 {
        client.get_ip(ZONE, &ip).await.unwrap();
    }
    emu.clear_faults();
    let gets = runs(&common::calls_to(
        &emu.call_log(),
        "GET",
        &format!("/ips/{ip}"),
    ));
    assert_eq!(gets.len(), 20);
    for run in &gets {
        assert!(run.len() <= MAX_ATTEMPTS as usize, "{run:?}");
        assert!(run[..run.len() - 1].iter().all(|s| *s == 0), "{run:?}");
    }
    assert!(
        gets.iter().any(|r| r.len() > 1),
        "some calls met a reset: {gets:?}"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_requests_answered_504_are_retried() {
    // The emulator holds the request, then its gateway answers 504.
    let emu = common::emulator().await;
    let client = patient_client(&emu);
    let ip = new_ip(&client).await;
    emu.clear_call_log();
    emu.set_faults(faults_in_zone(Faults {
        hang_rate: 0.4,
        hang_for: Duration::from_millis(150),
        ..Faults::default()
    }));
    for _ in 0..10 {
        client.get_ip(ZONE, &ip).await.unwrap();
    }
    emu.clear_faults();
    let gets = runs(&common::calls_to(
        &emu.call_log(),
        "GET",
        &format!("/ips/{ip}"),
    ));
    assert_eq!(gets.len(), 10);
    for run in &gets {
        assert!(run.len() <= MAX_ATTEMPTS as usize, "{run:?}");
        assert!(run[..run.len() - 1].iter().all(|s| *s == 504), "{run:?}");
    }
    assert!(
        gets.iter().any(|r| r.len() > 1),
        "some calls hung: {gets:?}"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_requests_time_out_and_are_retried() {
    // The emulator holds the request longer than the client waits: the
    // attempt times out and is re-sent on a fresh connection. (The emulator
    // drops a request whose client went away without logging it, so the
    // log holds the successful attempts; the abandoned ones are counted by
    // the rate limiter, which takes one token per attempt.)
    let emu = common::emulator().await;
    let client = patient_client(&emu);
    let ip = new_ip(&client).await;
    emu.clear_call_log();
    emu.set_faults(faults_in_zone(Faults {
        hang_rate: 0.4,
        hang_for: Duration::from_secs(30),
        ..Faults::default()
    }));
    let timeout = Duration::from_millis(250);
    let quick = client.with_options(RequestOptions {
        timeout: Some(timeout),
        ..RequestOptions::default()
    });
    let calls: u64 = 10;
    let before = client.rate_limiter().acquired(ZONE);
    let started = std::time::Instant::now();
    for _ in 0..calls {
        quick.get_ip(ZONE, &ip).await.unwrap();
    }
    let elapsed = started.elapsed();
    emu.clear_faults();
    let attempts = client.rate_limiter().acquired(ZONE) - before;
    let timed_out = attempts - calls;
    assert!(timed_out >= 1, "some attempts hung");
    assert!(attempts <= calls * u64::from(MAX_ATTEMPTS));
    assert!(
        elapsed >= timeout * u32::try_from(timed_out).unwrap(),
        "each hung attempt waited for the timeout"
    );
    let log = common::calls_to(&emu.call_log(), "GET", &format!("/ips/{ip}"));
    assert_eq!(
        log.iter().filter(|c| c.status == 200).count() as u64,
        calls,
        "{log:?}"
    );
    // Between two logged successes, the gap covers the timed-out attempts.
    let slow_gaps = log
        .windows(2)
        .filter(|w| w[1].at.duration_since(w[0].at).unwrap_or_default() >= timeout)
        .count() as u64;
    assert!(
        slow_gaps >= 1 && slow_gaps <= timed_out,
        "{slow_gaps} slow gaps for {timed_out} timeouts"
    );
    // A call that can only hang gives up after the bound with a timeout.
    emu.set_faults(faults_in_zone(Faults {
        hang_rate: 1.0,
        hang_for: Duration::from_secs(30),
        ..Faults::default()
    }));
    let bounded = client.with_options(RequestOptions {
        timeout: Some(Duration::from_millis(100)),
        max_attempts: Some(3),
        ..RequestOptions::default()
    });
    let err = bounded.get_ip(ZONE, &ip).await.unwrap_err();
    assert!(
        matches!(err, fleet_scaleway::Error::Timeout { .. }),
        "{err:?}"
    );
    assert!(err.retryable());
    emu.clear_faults();
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_errors_are_never_retried() {
    let emu = common::emulator().await;
    let client = patient_client(&emu);
    emu.clear_call_log();
    // 404
    let missing = "3f2b1c0d-0000-4000-8000-000000000404";
    let err = client.get_server(ZONE, missing).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(!err.retryable());
    // 400
    let err = client
        .create_server(ZONE, &CreateServerRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(!err.retryable());
    // 403: a project of another tenant; idempotent, so only the
    // classification keeps it from being re-sent.
    let foreign = CreateIpRequest {
        project: Some("0e0e0e0e-1111-4222-8333-444444444444".to_owned()),
        ..CreateIpRequest::default()
    };
    let err = client
        .idempotent()
        .create_ip(ZONE, &foreign)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err:?}");
    assert!(!err.retryable());
    // 404 on DELETE
    let err = client.delete_ip(ZONE, missing).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    let log = emu.call_log();
    assert_eq!(
        common::calls_to(&log, "GET", &format!("/servers/{missing}")).len(),
        1
    );
    assert_eq!(common::calls_to(&log, "POST", "/servers").len(), 1);
    assert_eq!(common::calls_to(&log, "POST", "/ips").len(), 1);
    assert_eq!(
        common::calls_to(&log, "DELETE", &format!("/ips/{missing}")).len(),
        1
    );
    assert_eq!(log.len(), 4, "{log:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn block_calls_follow_the_same_retry_policy() {
    let volumes = "/block/v1/zones/fr-par-1/volumes";
    let v1 = format!("{volumes}/v1");
    let ok = || Reply::json(200, volume("v1", "available", &[]));
    let throttled = Reply {
        status: 429,
        body: String::new(),
        headers: vec![("retry-after", "0".to_owned())],
    };
    let mock = Mock::scripted(vec![
        (
            "GET",
            v1.clone(),
            vec![Reply::empty(503), Reply::empty(502), ok()],
        ),
        ("PATCH", v1.clone(), vec![Reply::empty(504), ok()]),
        (
            "POST",
            volumes.to_owned(),
            vec![Reply::empty(503), Reply::empty(503), ok()],
        ),
        (
            "POST",
            "/block/v1/zones/fr-par-1/snapshots".to_owned(),
            vec![throttled, Reply::json(200, snapshot("s1", "creating"))],
        ),
        (
            "DELETE",
            v1.clone(),
            vec![Reply::empty(503), Reply::not_found("volume", "v1")],
        ),
    ])
    .await;
    let client = Client::new(common::config_at(&mock.url)).unwrap();

    // GET and PATCH are safe to re-send after a 5xx.
    client.block_get_volume(ZONE, "v1").await.unwrap();
    assert_eq!(mock.count("GET", &v1), 3);
    let resize = block::UpdateVolumeRequest {
        size: Some(20_000_000_000),
        ..Default::default()
    };
    client
        .block_update_volume(ZONE, "v1", &resize)
        .await
        .unwrap();
    assert_eq!(mock.count("PATCH", &v1), 2);

    // A create is not re-sent after a 5xx, unless the caller vouches for it.
    let create = block::CreateVolumeRequest::empty("data", 20_000_000_000);
    let err = client.block_create_volume(ZONE, &create).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(mock.count("POST", volumes), 1);
    client
        .idempotent()
        .block_create_volume(ZONE, &create)
        .await
        .unwrap();
    assert_eq!(mock.count("POST", volumes), 3);

    // After a 429 even a create goes again: the API did not act.
    let snap = block::CreateSnapshotRequest {
        volume_id: Some("v1".to_owned()),
        ..Default::default()
    };
    client.block_create_snapshot(ZONE, &snap).await.unwrap();
    assert_eq!(mock.count("POST", "/block/v1/zones/fr-par-1/snapshots"), 2);
    assert_eq!(client.throttled(ZONE), 1);

    // A delete whose first attempt may have gone through: its 404 is done.
    client.block_delete_volume(ZONE, "v1").await.unwrap();
    assert_eq!(mock.count("DELETE", &v1), 2);
    // A plain 404 is not retried.
    let err = client.block_get_snapshot(ZONE, "nope").await.unwrap_err();
    assert!(err.is_not_found() && !err.retryable());
    assert_eq!(
        mock.count("GET", "/block/v1/zones/fr-par-1/snapshots/nope"),
        1
    );
}
