//! A zone answered 429 slows its claimer: the owner pauses the claiming of that zone's jobs
//! for a short, growing back-off, never replacing an operator's pause, and claims resume once
//! the 429s stop.

mod ownership_support;

use std::time::Duration;

use fleet_core::Zone;
use fleet_emulator::Faults;
use fleet_scaleway::Client;
use fleet_scheduler::{JobState, NewJob, enqueue, get_job, list_zone_pauses, pause_zone};
use fleet_worker::ownership::RATE_LIMIT_PAUSE_REASON;
use ownership_support::{chatty, db, emulator, eventually, scaleway_config, start, worker_config};

const TTL: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_zone_pauses_its_claims_without_overriding_an_operator() {
    let (url, pool) = db().await;
    let emu = emulator().await;
    let client = Client::new(scaleway_config(&emu)).unwrap();
    let zones = [Zone::FrPar1, Zone::NlAms1, Zone::PlWaw1];
    let config = worker_config(&url, &emu, &zones, TTL);
    // An operator paused nl-ams-1 until further notice.
    pause_zone(&pool, "nl-ams-1", None, "operator")
        .await
        .unwrap();
    let worker = start(&config, &pool, &client, chatty()).await;
    eventually(
        "the worker to own its zones",
        Duration::from_secs(10),
        || async { (worker.handle.held_zones().len() == zones.len()).then_some(()) },
    )
    .await;

    emu.set_faults(Faults {
        rate_429: 1.0,
        zones: Some(vec!["fr-par-1".to_owned(), "nl-ams-1".to_owned()]),
        ..Faults::default()
    });
    let pause = eventually(
        "fr-par-1 claims to be paused",
        Duration::from_secs(5),
        || async {
            list_zone_pauses(&pool)
                .await
                .unwrap()
                .into_iter()
                .find(|p| p.zone == "fr-par-1")
        },
    )
    .await;
    assert_eq!(pause.reason, RATE_LIMIT_PAUSE_REASON);
    assert!(
        pause.paused_until.is_some(),
        "a throttle pause ends by itself"
    );
    // Let nl-ams-1 see 429s for a while too: the operator's pause stays as it was.
    eventually("429s in nl-ams-1", Duration::from_secs(5), || async {
        (client.throttled(Zone::NlAms1) > 3).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pauses = list_zone_pauses(&pool).await.unwrap();
    let operator = pauses.iter().find(|p| p.zone == "nl-ams-1").unwrap();
    assert_eq!(operator.reason, "operator");
    assert_eq!(operator.paused_until, None);
    assert!(pauses.iter().all(|p| p.zone != "pl-waw-1"));

    // Once the 429s stop, the pause runs out and the zone's jobs are claimed again.
    emu.clear_faults();
    let job = enqueue(
        &pool,
        &NewJob::new("test", "fr-par-1", serde_json::json!({})),
    )
    .await
    .unwrap();
    eventually("the job to complete", Duration::from_secs(40), || async {
        (get_job(&pool, job.id).await.unwrap().state == JobState::Completed).then_some(())
    })
    .await;
    worker.stop().await.unwrap();
}
