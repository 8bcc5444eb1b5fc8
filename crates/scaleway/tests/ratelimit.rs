//! Per-zone rate limiting, checked from the emulator's call log: under a
//! flood of concurrent calls no 1-second window of a zone holds more than
//! rate + burst requests. Also: budget acquisition, cancellation, 429
//! observation, and one budget per zone for the Instance and Block APIs.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use common::mock::{Mock, Reply, volume};
use fleet_core::{CreateIpRequest, Zone};
use fleet_emulator::{CallRecord, Emulator};
use fleet_scaleway::{Client, RateLimitConfig, RetryPolicy, ZoneRate};
use futures::future::join_all;
use tokio_util::sync::CancellationToken;

/// The most requests of `zone` in any window `[t, t + 1 s)`.
fn max_per_second(log: &[CallRecord], zone: &str) -> usize {
    let mut times: Vec<SystemTime> = log
        .iter()
        .filter(|c| c.zone.as_deref() == Some(zone))
        .map(|c| c.at)
        .collect();
    times.sort();
    let mut best = 0;
    let mut end = 0;
    for start in 0..times.len() {
        while end < times.len()
            && times[end].duration_since(times[start]).unwrap_or_default() < Duration::from_secs(1)
        {
            end += 1;
        }
        best = best.max(end - start);
    }
    best
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_never_exceeds_rate_plus_burst_per_zone() {
    let emu = common::emulator().await;
    let (rate, burst) = (10.0, 5);
    let mut config = common::config(&emu);
    config.rate_limit = RateLimitConfig::uniform(rate, burst);
    // A slower zone, set at run time through the shared limiter.
    let client = Client::new(config).unwrap();
    let slow = Zone::NlAms1;
    client.rate_limiter().set_rate(slow, ZoneRate::new(5.0, 2));
    let zones = [(Zone::FrPar1, 45usize), (slow, 20usize)];
    let started = std::time::Instant::now();
    let mut calls = Vec::new();
    for (zone, n) in zones {
        for _ in 0..n {
            // Every clone shares the buckets.
            let client = client.with_caller(format!("flood/{zone}"));
            calls.push(async move { client.list_servers(zone, &Default::default()).await });
        }
    }
    for result in join_all(calls).await {
        result.unwrap();
    }
    let elapsed = started.elapsed();
    let log = emu.call_log();
    let fast = max_per_second(&log, "fr-par-1");
    let slow_max = max_per_second(&log, "nl-ams-1");
    assert!(fast <= 10 + 5, "fr-par-1: {fast} requests in one second");
    assert!(
        slow_max <= 5 + 2,
        "nl-ams-1: {slow_max} requests in one second"
    );
    // The limit is what paced the flood: 45 calls at 10/s after a burst of 5.
    assert!(fast >= 10, "fr-par-1 ran near its rate: {fast}");
    assert!(elapsed >= Duration::from_millis(3900), "{elapsed:?}");
    assert_eq!(log.len(), 65);
    assert!(
        log.iter()
            .all(|c| c.caller.as_deref().is_some_and(|c| c.starts_with("flood/")))
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_can_be_acquired_ahead_and_waiting_cancelled() {
    let emu = common::emulator().await;
    let mut config = common::config(&emu);
    config.rate_limit = RateLimitConfig::uniform(1.0, 2);
    let client = Client::new(config).unwrap();
    let zone = Zone::PlWaw1;
    // Spend the burst ahead of work.
    client.acquire(zone).await.unwrap();
    client.acquire(zone).await.unwrap();
    assert!(!client.rate_limiter().try_acquire(zone));
    // A call now has to wait; cancelling the token stops the wait.
    let cancel = CancellationToken::new();
    let waiting = client.with_cancel(cancel.clone());
    let call = tokio::spawn(async move { waiting.list_ips(zone, &Default::default()).await });
    cancel.cancel();
    let err = call.await.unwrap().unwrap_err();
    assert!(matches!(err, fleet_scaleway::Error::Cancelled), "{err:?}");
    assert!(emu.call_log().is_empty(), "a cancelled call sends nothing");
    // Dropping a waiting call cancels it too.
    let dropped = tokio::time::timeout(
        Duration::from_millis(50),
        client.list_ips(zone, &Default::default()),
    )
    .await;
    assert!(dropped.is_err());
    assert!(emu.call_log().is_empty());
    // Once a token is back, calls go through.
    client.list_ips(zone, &Default::default()).await.unwrap();
    assert_eq!(emu.call_log().len(), 1);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_by_the_api_is_observed_per_zone() {
    // The API allows 10/s with bursts of 10; an unlimited client floods it.
    let emu = Emulator::builder()
        .transition(Duration::from_millis(50))
        .rate_limit(10.0, 10)
        .seed(42)
        .start()
        .await
        .unwrap();
    let seen = Arc::new(AtomicU64::new(0));
    let seen_by_listener = seen.clone();
    let mut config = common::config(&emu);
    config.retry = RetryPolicy {
        max_attempts: 10,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(400),
        max_retry_after: Duration::from_secs(5),
    };
    let client = Client::builder(config)
        .on_throttle(move |zone, _retry_after| {
            assert_eq!(zone, Zone::FrPar2);
            seen_by_listener.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .unwrap();
    let calls = (0..30).map(|_| {
        let client = client.clone();
        async move {
            client
                .create_ip(Zone::FrPar2, &CreateIpRequest::default())
                .await
        }
    });
    for result in join_all(calls).await {
        result.unwrap();
    }
    let log = emu.call_log();
    let rejected = log.iter().filter(|c| c.status == 429).count() as u64;
    assert!(rejected > 0, "the flood was throttled");
    assert_eq!(
        log.iter().filter(|c| c.status == 201).count(),
        30,
        "every create landed once"
    );
    assert_eq!(client.throttled(Zone::FrPar2), rejected);
    assert_eq!(seen.load(Ordering::Relaxed), rejected);
    assert_eq!(client.throttled(Zone::FrPar1), 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn instance_and_block_calls_of_a_zone_share_its_budget() {
    let mock = Mock::scripted(vec![
        (
            "GET",
            "/block/v1/zones/fr-par-1/volumes/v1".to_owned(),
            vec![Reply::json(200, volume("v1", "available", &[]))],
        ),
        (
            "GET",
            "/instance/v1/zones/fr-par-1/ips/ip-1".to_owned(),
            vec![Reply::json(200, serde_json::json!({"ip": {"id": "ip-1"}}))],
        ),
    ])
    .await;
    let mut config = common::config_at(&mock.url);
    // Three tokens per zone, and practically no refill.
    config.rate_limit = RateLimitConfig::uniform(0.001, 3);
    let client = Client::new(config).unwrap();
    client.block_get_volume(Zone::FrPar1, "v1").await.unwrap();
    client.block_get_volume(Zone::FrPar1, "v1").await.unwrap();
    client.get_ip(Zone::FrPar1, "ip-1").await.unwrap();
    let limiter = client.rate_limiter();
    assert_eq!(limiter.acquired(Zone::FrPar1), 3);
    assert!(
        !limiter.try_acquire(Zone::FrPar1),
        "Block calls spent the zone's budget, Instance's included"
    );
    // The next call of either API waits for the zone's refill.
    let waited = tokio::time::timeout(
        Duration::from_millis(200),
        client.get_ip(Zone::FrPar1, "ip-1"),
    )
    .await;
    assert!(waited.is_err(), "no token left for an Instance call");
    // Another zone has its own budget.
    assert!(limiter.try_acquire(Zone::NlAms1));
}
