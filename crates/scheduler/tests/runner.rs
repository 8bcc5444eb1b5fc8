//! The worker loop end to end: outcomes, batched completion, graceful stop.
mod common;

use std::time::Duration;

use common::db;
use fleet_scheduler::*;
use serde_json::json;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runs_outcomes_and_batches_completions() {
    let pool = db().await;
    let jobs: Vec<NewJob> = (0..500)
        .map(|i| NewJob::new("noop", "fr-par-1", json!({"i": i})))
        .collect();
    enqueue_many(&pool, &jobs).await.unwrap();
    let snoozer = enqueue(&pool, &NewJob::new("poll", "fr-par-1", json!({})))
        .await
        .unwrap();
    let failer = enqueue(&pool, &NewJob::new("fail", "fr-par-1", json!({})))
        .await
        .unwrap();
    let mut cfg = RunnerConfig::new(vec!["fr-par-1".into()], "w");
    cfg.concurrency = 64;
    cfg.claim_batch = 64;
    cfg.poll_interval = Duration::from_millis(50);
    let runner = Runner::new(pool.clone(), cfg, |job: ClaimedJob| async move {
        match job.job.kind.as_str() {
            "poll" => {
                let polls = job
                    .job
                    .progress
                    .state
                    .get("polls")
                    .and_then(|v| v.as_i64())
                    .unwrap_or(0);
                if polls < 3 {
                    Outcome::Snooze {
                        until: OffsetDateTime::now_utc() + time::Duration::milliseconds(20),
                        progress: Some(Progress {
                            step: Some("wait".into()),
                            state: json!({"polls": polls + 1}),
                            ..Progress::default()
                        }),
                    }
                } else {
                    Outcome::Complete(json!({"polls": polls}))
                }
            }
            "fail" => Outcome::Fail(JobError::new("invalid_argument", "no")),
            _ => Outcome::Complete(json!(null)),
        }
    });
    let counters = runner.counters();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(runner.run(shutdown.clone()));
    common::eventually("all done", Duration::from_secs(30), || async {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE state NOT IN ('completed', 'failed')",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        (open == 0).then_some(())
    })
    .await;
    let s = get_job(&pool, snoozer.id).await.unwrap();
    assert_eq!(s.result, Some(json!({"polls": 3})));
    assert_eq!(s.attempt, 1, "snoozes do not consume attempts");
    assert_eq!(
        get_job(&pool, failer.id).await.unwrap().state,
        JobState::Failed
    );
    assert_eq!(RunnerCounters::get(&counters.completed), 501);
    assert_eq!(RunnerCounters::get(&counters.snoozed), 3);
    assert_eq!(RunnerCounters::get(&counters.failed), 1);
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn graceful_stop_releases_unfinished_jobs() {
    let pool = db().await;
    let e = enqueue(&pool, &NewJob::new("slow", "z", json!({})))
        .await
        .unwrap();
    let mut cfg = RunnerConfig::new(vec!["z".into()], "w");
    cfg.poll_interval = Duration::from_millis(20);
    cfg.shutdown_grace = Duration::from_millis(200);
    let runner = Runner::new(pool.clone(), cfg, |_job: ClaimedJob| async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Outcome::Complete(json!(null))
    });
    let counters = runner.counters();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(runner.run(shutdown.clone()));
    common::eventually("claimed", Duration::from_secs(10), || async {
        (RunnerCounters::get(&counters.claimed) == 1).then_some(())
    })
    .await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let job = get_job(&pool, e.id).await.unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Available, 0));
    assert_eq!(RunnerCounters::get(&counters.released), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heartbeats_keep_long_jobs_alive() {
    let pool = db().await;
    let e = enqueue(&pool, &NewJob::new("long", "z", json!({})))
        .await
        .unwrap();
    let mut cfg = RunnerConfig::new(vec!["z".into()], "w");
    cfg.poll_interval = Duration::from_millis(20);
    cfg.lease = Duration::from_millis(1000);
    cfg.heartbeat_interval = Duration::from_millis(100);
    let (go_tx, go_rx) = tokio::sync::watch::channel(false);
    let runner = Runner::new(pool.clone(), cfg, move |_job: ClaimedJob| {
        let mut go = go_rx.clone();
        async move {
            let _ = go.wait_for(|v| *v).await;
            Outcome::Complete(json!("long"))
        }
    });
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(runner.run(shutdown.clone()));
    // Across several lease lengths the rescuer finds nothing to rescue.
    let start = tokio::time::Instant::now();
    common::eventually("running", Duration::from_secs(10), || async {
        (get_job(&pool, e.id).await.unwrap().state == JobState::Running).then_some(())
    })
    .await;
    common::eventually("three lease lengths", Duration::from_secs(30), || async {
        assert!(
            rescue_expired(&pool, 10).await.unwrap().is_empty(),
            "lease expired despite heartbeats"
        );
        (start.elapsed() > Duration::from_millis(2500)).then_some(())
    })
    .await;
    go_tx.send(true).unwrap();
    common::eventually("completed", Duration::from_secs(10), || async {
        (get_job(&pool, e.id).await.unwrap().state == JobState::Completed).then_some(())
    })
    .await;
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_gate_bounds_every_claim() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let pool = db().await;
    let jobs: Vec<NewJob> = (0..40)
        .map(|i| NewJob::new("noop", "fr-par-1", json!({"i": i})))
        .collect();
    enqueue_many(&pool, &jobs).await.unwrap();
    let mut cfg = RunnerConfig::new(vec!["fr-par-1".into()], "gated");
    cfg.concurrency = 32;
    cfg.claim_batch = 32;
    cfg.poll_interval = Duration::from_millis(20);
    // Jobs run until released, so what is in flight is exactly what was claimed.
    let release = CancellationToken::new();
    let handler_release = release.clone();
    let asked = Arc::new(AtomicUsize::new(0));
    let granted = Arc::new(AtomicUsize::new(0));
    let (gate_asked, gate_granted) = (asked.clone(), granted.clone());
    // The budget: 3 jobs in all, granted one per question.
    let gate: Arc<dyn fleet_scheduler::runner::ClaimGate> = Arc::new(
        move |free: usize| -> futures::future::BoxFuture<'static, usize> {
            let asked = gate_asked.clone();
            let granted = gate_granted.clone();
            Box::pin(async move {
                asked.fetch_add(1, Ordering::SeqCst);
                assert!(free > 0 && free <= 32, "asked with the free slots");
                if granted.load(Ordering::SeqCst) >= 3 {
                    return 0;
                }
                granted.fetch_add(1, Ordering::SeqCst);
                1
            })
        },
    );
    let runner = Runner::new(pool.clone(), cfg, move |_job: ClaimedJob| {
        let release = handler_release.clone();
        async move {
            release.cancelled().await;
            Outcome::Complete(json!(null))
        }
    })
    .with_claim_gate(gate);
    let counters = runner.counters();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(runner.run(shutdown.clone()));
    // The gate is asked again after refusing, and nothing beyond its grants is claimed.
    common::eventually("the gate to refuse", Duration::from_secs(10), || async {
        (asked.load(Ordering::SeqCst) >= 6).then_some(())
    })
    .await;
    let running: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'running'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(running, 3);
    assert_eq!(RunnerCounters::get(&counters.claimed), 3);
    release.cancel();
    shutdown.cancel();
    task.await.unwrap().unwrap();
}
