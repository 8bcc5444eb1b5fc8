//! A zone answered 429 slows its claimer: the owner pauses the claiming of that zone's jobs
//! for a short, growing back-off, never replacing an operator's pause, and claims resume once
//! the 429s stop. And the rate budget is spent before a job is claimed: a zone claims only as
//! many jobs as its token bucket can serve now.

mod ownership_support;

use std::sync::Arc;
use std::time::Duration;

use fleet_core::{ListIpsQuery, Zone};
use fleet_emulator::Faults;
use fleet_scaleway::{Client, RateLimitConfig};
use fleet_scheduler::{
    ClaimedJob, JobState, NewJob, Outcome, enqueue, enqueue_many, get_job, list_zone_pauses,
    pause_zone,
};
use fleet_worker::context::ZoneContext;
use fleet_worker::ownership::RATE_LIMIT_PAUSE_REASON;
use fleet_worker::{ZoneWork, ZoneWorkFactory};
use futures::future::BoxFuture;
use ownership_support::{chatty, db, emulator, eventually, scaleway_config, start, worker_config};
use tokio_util::sync::CancellationToken;

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

/// Zone work whose jobs make one call of their zone each, then complete.
struct OneCallWork {
    ctx: ZoneContext,
}

impl ZoneWork for OneCallWork {
    fn run_watcher(
        self: Arc<Self>,
        shutdown: CancellationToken,
    ) -> BoxFuture<'static, anyhow::Result<()>> {
        Box::pin(async move {
            shutdown.cancelled().await;
            Ok(())
        })
    }

    fn handle(self: Arc<Self>, _job: ClaimedJob) -> BoxFuture<'static, Outcome> {
        Box::pin(async move {
            match self
                .ctx
                .client
                .list_ips(self.ctx.zone, &ListIpsQuery::default())
                .await
            {
                Ok(_) => Outcome::Complete(serde_json::Value::Null),
                Err(err) => {
                    Outcome::Fail(fleet_scheduler::JobError::new("upstream", err.to_string()))
                }
            }
        })
    }
}

fn one_call() -> ZoneWorkFactory {
    Arc::new(|ctx| Arc::new(OneCallWork { ctx }) as Arc<dyn ZoneWork>)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_with_a_tiny_rate_claims_only_what_its_budget_serves() {
    let (url, pool) = db().await;
    let emu = emulator().await;
    let zones = [Zone::FrPar1];
    let mut config = worker_config(&url, &emu, &zones, TTL);
    // Two calls a second, no burst, and room for many jobs at once.
    config.scaleway = config
        .scaleway
        .clone()
        .with_rate_limit(RateLimitConfig::uniform(2.0, 1));
    config.concurrency = 16;
    let client = Client::new(config.scaleway.clone()).unwrap();
    let worker = start(&config, &pool, &client, one_call()).await;
    eventually(
        "the worker to own its zone",
        Duration::from_secs(10),
        || async { (worker.handle.held_zones().len() == 1).then_some(()) },
    )
    .await;

    const JOBS: i64 = 8;
    let jobs: Vec<NewJob> = (0..JOBS)
        .map(|i| NewJob::new("one-call", "fr-par-1", serde_json::json!({ "i": i })))
        .collect();
    enqueue_many(&pool, &jobs).await.unwrap();
    // Without a gate all 8 would be claimed at once (16 free slots) and wait for budget.
    let most = std::sync::atomic::AtomicI64::new(0);
    eventually("every job to complete", Duration::from_secs(30), || async {
        let (running, completed): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE state = 'running'), \
                    count(*) FILTER (WHERE state = 'completed') FROM jobs",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        most.fetch_max(running, std::sync::atomic::Ordering::SeqCst);
        (completed == JOBS).then_some(())
    })
    .await;
    let most_running = most.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        most_running <= 2,
        "{most_running} jobs were claimed at once with budget for one call at a time"
    );
    worker.stop().await.unwrap();
}
