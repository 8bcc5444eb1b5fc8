//! Cancel of waiting and running jobs.
mod common;

use std::time::Duration;

use common::{claim_n, db};
use fleet_scheduler::*;
use serde_json::json;
use time::OffsetDateTime;

#[tokio::test]
async fn cancel_waiting_jobs_at_once() {
    let pool = db().await;
    let available = enqueue(&pool, &NewJob::new("k", "z", json!({})))
        .await
        .unwrap();
    let scheduled = enqueue(
        &pool,
        &NewJob::new("k", "z", json!({}))
            .run_at(OffsetDateTime::now_utc() + time::Duration::hours(1)),
    )
    .await
    .unwrap();
    assert_eq!(
        cancel_job(&pool, available.id).await.unwrap(),
        CancelOutcome::Cancelled
    );
    assert_eq!(
        cancel_job(&pool, scheduled.id).await.unwrap(),
        CancelOutcome::Cancelled
    );
    for id in [available.id, scheduled.id] {
        let job = get_job(&pool, id).await.unwrap();
        assert_eq!(job.state, JobState::Cancelled);
        assert!(job.finished_at.is_some());
    }
    assert!(claim_n(&pool, &["z"], 10).await.is_empty());
    assert_eq!(
        cancel_job(&pool, available.id).await.unwrap(),
        CancelOutcome::AlreadyFinished(JobState::Cancelled)
    );
    assert!(matches!(
        cancel_job(&pool, 424242).await,
        Err(SchedulerError::NotFound(_))
    ));
}

/// A job that has run may hold partial work upstream: a cancel while it waits (retryable,
/// or scheduled by a snooze) makes it claimable at once with the request, so its handler
/// can undo that work; it is not cancelled behind the handler's back.
#[tokio::test]
async fn cancel_of_a_waiting_job_that_has_run_goes_through_its_handler() {
    let pool = db().await;
    let retried = enqueue(&pool, &NewJob::new("k", "z", json!({})))
        .await
        .unwrap();
    let job = claim_n(&pool, &["z"], 1).await.remove(0);
    job.retry(&JobError::new("5xx", "boom"), &RetryPolicy::default())
        .await
        .unwrap();
    let snoozed = enqueue(&pool, &NewJob::new("k", "z", json!({})))
        .await
        .unwrap();
    let job = claim_n(&pool, &["z"], 1).await.remove(0);
    assert_eq!(job.id(), snoozed.id);
    job.snooze(OffsetDateTime::now_utc() + time::Duration::hours(1), None)
        .await
        .unwrap();
    for id in [retried.id, snoozed.id] {
        assert_eq!(
            cancel_job(&pool, id).await.unwrap(),
            CancelOutcome::Requested
        );
        let row = get_job(&pool, id).await.unwrap();
        assert_eq!(row.state, JobState::Available, "{row:?}");
        assert!(row.cancel_requested);
        assert!(row.finished_at.is_none());
    }
    // Both are claimable now (not at their back-off or snooze time), carrying the request.
    let claimed = claim_n(&pool, &["z"], 10).await;
    assert_eq!(claimed.len(), 2);
    assert!(claimed.iter().all(ClaimedJob::is_cancel_requested));
    for job in claimed {
        job.cancelled(Some(&JobError::new("cancelled", "undone")))
            .await
            .unwrap();
    }
    let row = get_job(&pool, snoozed.id).await.unwrap();
    assert_eq!(row.state, JobState::Cancelled);
    assert_eq!(
        row.errors.last().map(|e| e.message.as_str()),
        Some("undone")
    );
}

#[tokio::test]
async fn cancel_running_job_is_seen_at_next_step() {
    let pool = db().await;
    let e = enqueue(&pool, &NewJob::new("k", "z", json!({})))
        .await
        .unwrap();
    let job = claim_n(&pool, &["z"], 1).await.remove(0);
    assert_eq!(
        cancel_job(&pool, e.id).await.unwrap(),
        CancelOutcome::Requested
    );
    let row = get_job(&pool, e.id).await.unwrap();
    assert_eq!(row.state, JobState::Running);
    assert!(row.cancel_requested);
    assert!(
        job.heartbeat(Duration::from_secs(30))
            .await
            .unwrap()
            .cancel_requested
    );
    assert!(
        job.record_progress(&Progress::default())
            .await
            .unwrap()
            .cancel_requested
    );
    assert!(job.is_cancel_requested());
    job.cancelled(None).await.unwrap();
    let row = get_job(&pool, e.id).await.unwrap();
    assert_eq!(row.state, JobState::Cancelled);
    assert_eq!(
        row.errors.last().map(|e| e.kind.as_str()),
        Some("cancelled")
    );
}

#[tokio::test]
async fn snooze_reports_cancel_request() {
    let pool = db().await;
    let e = enqueue(&pool, &NewJob::new("k", "z", json!({})))
        .await
        .unwrap();
    let job = claim_n(&pool, &["z"], 1).await.remove(0);
    cancel_job(&pool, e.id).await.unwrap();
    let ack = job.snooze(OffsetDateTime::now_utc(), None).await.unwrap();
    assert!(ack.cancel_requested);
    // The next claim carries the request too.
    let again = claim_n(&pool, &["z"], 1).await.remove(0);
    assert!(again.is_cancel_requested());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runner_handler_sees_cancel_via_heartbeat() {
    let pool = db().await;
    let e = enqueue(&pool, &NewJob::new("k", "z", json!({})))
        .await
        .unwrap();
    let mut cfg = RunnerConfig::new(vec!["z".into()], "w1");
    cfg.heartbeat_interval = Duration::from_millis(50);
    cfg.poll_interval = Duration::from_millis(50);
    let runner = Runner::new(pool.clone(), cfg, |job: ClaimedJob| async move {
        // A long step that stops when interrupted.
        tokio::select! {
            _ = job.interrupted() => {}
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
        if job.is_cancel_requested() {
            Outcome::Cancelled
        } else {
            Outcome::Complete(json!(null))
        }
    });
    let counters = runner.counters();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(runner.run(shutdown.clone()));
    common::eventually("claimed", Duration::from_secs(10), || async {
        (RunnerCounters::get(&counters.claimed) == 1).then_some(())
    })
    .await;
    assert_eq!(
        cancel_job(&pool, e.id).await.unwrap(),
        CancelOutcome::Requested
    );
    common::eventually("cancelled", Duration::from_secs(10), || async {
        (get_job(&pool, e.id).await.unwrap().state == JobState::Cancelled).then_some(())
    })
    .await;
    shutdown.cancel();
    task.await.unwrap().unwrap();
}
