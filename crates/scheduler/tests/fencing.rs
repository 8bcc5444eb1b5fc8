//! Fencing: a superseded attempt can never write; lease expiry leads to a re-run.
mod common;

use std::time::Duration;

use common::{claim_n, db, expire_lease};
use fleet_scheduler::*;
use serde_json::json;
use time::OffsetDateTime;

#[tokio::test]
async fn superseded_attempt_is_fenced() {
    let pool = db().await;
    let e = enqueue(&pool, &NewJob::new("k", "fr-par-1", json!({})))
        .await
        .unwrap();
    let first = claim_n(&pool, &["fr-par-1"], 1).await.remove(0);
    assert_eq!(first.lease.token, 1);

    // The first attempt's lease expires; the rescuer puts the job back, keeping the attempt.
    expire_lease(&pool, e.id).await;
    let rescued = rescue_expired(&pool, 100).await.unwrap();
    assert_eq!(rescued.len(), 1);
    assert_eq!(rescued[0].state, JobState::Available);
    let job = get_job(&pool, e.id).await.unwrap();
    assert_eq!(job.attempt, 1);
    assert_eq!(job.errors.len(), 1);
    assert_eq!(job.errors[0].kind, "lease_expired");
    assert_eq!(job.errors[0].owner.as_deref(), Some("test-owner"));

    // Re-run: a new claim with a new token.
    let second = claim_n(&pool, &["fr-par-1"], 1).await.remove(0);
    assert_eq!(second.lease.token, 2);
    assert_eq!(second.job.attempt, 2);

    // Every write of the superseded attempt is rejected with a typed error.
    let err = first.complete(&json!("stale")).await.unwrap_err();
    match err {
        SchedulerError::Fenced {
            job_id,
            token,
            current_token,
            state,
        } => {
            assert_eq!(
                (job_id, token, current_token, state),
                (e.id, 1, 2, JobState::Running)
            );
        }
        other => panic!("expected Fenced, got {other:?}"),
    }
    assert!(
        first
            .fail(&JobError::new("x", "y"))
            .await
            .unwrap_err()
            .is_fenced()
    );
    assert!(
        first
            .retry(&JobError::new("x", "y"), &RetryPolicy::default())
            .await
            .unwrap_err()
            .is_fenced()
    );
    assert!(
        first
            .snooze(OffsetDateTime::now_utc(), None)
            .await
            .unwrap_err()
            .is_fenced()
    );
    assert!(
        first
            .record_progress(&Progress::default())
            .await
            .unwrap_err()
            .is_fenced()
    );
    assert!(
        first
            .heartbeat(Duration::from_secs(10))
            .await
            .unwrap_err()
            .is_fenced()
    );
    assert!(first.is_lease_lost());
    assert!(first.release().await.unwrap_err().is_fenced());
    assert!(first.cancelled(None).await.unwrap_err().is_fenced());
    let fenced = complete_many(
        &pool,
        &[Completion {
            job_id: e.id,
            token: 1,
            result: json!("stale"),
        }],
    )
    .await
    .unwrap();
    assert_eq!(fenced, vec![e.id]);

    // The current attempt still owns the job.
    second.complete(&json!("fresh")).await.unwrap();
    let job = get_job(&pool, e.id).await.unwrap();
    assert_eq!(job.state, JobState::Completed);
    assert_eq!(job.result, Some(json!("fresh")));
}

#[tokio::test]
async fn rescue_with_attempts_exhausted_fails_the_job() {
    let pool = db().await;
    let e = enqueue(&pool, &NewJob::new("k", "z", json!({})).max_attempts(1))
        .await
        .unwrap();
    claim_n(&pool, &["z"], 1).await;
    expire_lease(&pool, e.id).await;
    let rescued = rescue_expired(&pool, 10).await.unwrap();
    assert_eq!(rescued[0].state, JobState::Failed);
    assert!(get_job(&pool, e.id).await.unwrap().finished_at.is_some());
}

#[tokio::test]
async fn live_leases_are_not_rescued() {
    let pool = db().await;
    enqueue(&pool, &NewJob::new("k", "z", json!({})))
        .await
        .unwrap();
    claim_n(&pool, &["z"], 1).await;
    assert!(rescue_expired(&pool, 10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runner_lease_expiry_leads_to_rerun_and_fences_the_stale_attempt() {
    let pool = db().await;
    let e = enqueue(&pool, &NewJob::new("k", "fr-par-1", json!({})))
        .await
        .unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let (stale_tx, mut stale_rx) = tokio::sync::mpsc::unbounded_channel();
    // Runner A: short lease, no heartbeat in time; its handler hangs until told to finish.
    let release = std::sync::Arc::new(tokio::sync::Notify::new());
    let mut cfg_a = RunnerConfig::new(vec!["fr-par-1".into()], "runner-a");
    cfg_a.lease = Duration::from_millis(300);
    cfg_a.heartbeat_interval = Duration::from_secs(3600);
    cfg_a.poll_interval = Duration::from_millis(50);
    cfg_a.shutdown_grace = Duration::from_millis(100);
    // One slot, held by the hanging handler: once the job is rescued only runner B can claim
    // it. With free slots A could win the claim itself and hang its second attempt too.
    cfg_a.concurrency = 1;
    let gate = release.clone();
    let runner_a = Runner::new(pool.clone(), cfg_a, move |job: ClaimedJob| {
        let gate = gate.clone();
        let stale_tx = stale_tx.clone();
        async move {
            gate.notified().await;
            let _ = stale_tx.send(job.lease.clone());
            Outcome::Complete(json!("from-a"))
        }
    });
    let counters_a = runner_a.counters();
    let a = tokio::spawn(runner_a.run(shutdown.clone()));
    common::eventually("runner a claims", Duration::from_secs(10), || async {
        (RunnerCounters::get(&counters_a.claimed) == 1).then_some(())
    })
    .await;
    // Wait for the lease to expire, then rescue.
    common::eventually("lease rescued", Duration::from_secs(10), || async {
        (!rescue_expired(&pool, 10).await.unwrap().is_empty()).then_some(())
    })
    .await;
    // Runner B re-runs the job.
    let mut cfg_b = RunnerConfig::new(vec!["fr-par-1".into()], "runner-b");
    cfg_b.poll_interval = Duration::from_millis(50);
    let runner_b = Runner::new(pool.clone(), cfg_b, |_job: ClaimedJob| async {
        Outcome::Complete(json!("from-b"))
    });
    let b = tokio::spawn(runner_b.run(shutdown.clone()));
    let job = common::eventually("re-run completes", Duration::from_secs(10), || async {
        let job = get_job(&pool, e.id).await.unwrap();
        (job.state == JobState::Completed).then_some(job)
    })
    .await;
    assert_eq!(job.result, Some(json!("from-b")));
    assert_eq!(job.attempt, 2);
    // Now the stale attempt finishes: its completion must be fenced.
    release.notify_waiters();
    let stale = stale_rx.recv().await.unwrap();
    assert_eq!(stale.token, 1);
    common::eventually(
        "stale completion fenced",
        Duration::from_secs(10),
        || async { (RunnerCounters::get(&counters_a.fenced) == 1).then_some(()) },
    )
    .await;
    assert_eq!(
        get_job(&pool, e.id).await.unwrap().result,
        Some(json!("from-b"))
    );
    shutdown.cancel();
    a.await.unwrap().unwrap();
    b.await.unwrap().unwrap();
}
