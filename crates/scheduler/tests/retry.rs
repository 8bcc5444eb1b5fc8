//! Retry with exponential back-off and jitter until max attempts, then failed.
mod common;

use std::time::Duration;

use common::{claim_n, db, make_due};
use fleet_scheduler::*;
use serde_json::json;

async fn delay_secs(pool: &sqlx::PgPool, id: i64) -> f64 {
    // run_at - updated_at: both set by the retry statement (updated_at = now()).
    sqlx::query_scalar(
        "SELECT extract(epoch FROM run_at - updated_at)::float8 FROM jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn retries_back_off_exponentially_until_max_attempts() {
    let pool = db().await;
    let e = enqueue(&pool, &NewJob::new("k", "z", json!({})).max_attempts(4))
        .await
        .unwrap();
    let policy = RetryPolicy {
        base: Duration::from_secs(10),
        max: Duration::from_secs(25),
        jitter: 0.5,
    };
    // Attempt n waits min(25, 10 * 2^(n-1)) * [1, 1.5].
    let expected = [(10.0, 15.0), (20.0, 30.0), (25.0, 37.5)];
    for (n, (lo, hi)) in expected.iter().enumerate() {
        let job = claim_n(&pool, &["z"], 1).await.remove(0);
        assert_eq!(job.job.attempt as usize, n + 1);
        let d = job
            .retry(&JobError::new("upstream_5xx", format!("boom {n}")), &policy)
            .await
            .unwrap();
        assert_eq!(d.state, JobState::Retryable);
        let delay = delay_secs(&pool, e.id).await;
        assert!(
            delay >= *lo - 0.001 && delay <= *hi + 0.001,
            "attempt {} delay {delay} not in [{lo}, {hi}]",
            n + 1
        );
        // Not claimable before its back-off passes.
        assert!(claim_n(&pool, &["z"], 1).await.is_empty());
        make_due(&pool, e.id).await;
    }
    let job = claim_n(&pool, &["z"], 1).await.remove(0);
    assert_eq!(job.job.attempt, 4);
    let d = job
        .retry(&JobError::new("upstream_5xx", "last"), &policy)
        .await
        .unwrap();
    assert_eq!(d.state, JobState::Failed);
    let row = get_job(&pool, e.id).await.unwrap();
    assert_eq!(row.state, JobState::Failed);
    assert!(row.finished_at.is_some());
    assert_eq!(row.errors.len(), 4);
    assert_eq!(
        row.errors.iter().map(|e| e.attempt).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert!(claim_n(&pool, &["z"], 1).await.is_empty());
}

#[tokio::test]
async fn retry_after_overrides_backoff() {
    let pool = db().await;
    let e = enqueue(&pool, &NewJob::new("k", "z", json!({})))
        .await
        .unwrap();
    let job = claim_n(&pool, &["z"], 1).await.remove(0);
    job.retry(
        &JobError::new("rate_limited", "429").retry_after(Duration::from_secs(42)),
        &RetryPolicy::default(),
    )
    .await
    .unwrap();
    let delay = delay_secs(&pool, e.id).await;
    assert!((delay - 42.0).abs() < 0.01, "{delay}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runner_retries_then_fails() {
    let pool = db().await;
    let e = enqueue(&pool, &NewJob::new("k", "z", json!({})).max_attempts(3))
        .await
        .unwrap();
    let mut cfg = RunnerConfig::new(vec!["z".into()], "w");
    cfg.poll_interval = Duration::from_millis(20);
    cfg.retry = RetryPolicy {
        base: Duration::from_millis(20),
        max: Duration::from_millis(50),
        jitter: 0.1,
    };
    let runner = Runner::new(pool.clone(), cfg, |job: ClaimedJob| async move {
        if job.job.attempt == 2 {
            panic!("handler bug");
        }
        Outcome::Retry(JobError::new("upstream_5xx", "boom"))
    });
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(runner.run(shutdown.clone()));
    let job = common::eventually(
        "failed after 3 attempts",
        Duration::from_secs(20),
        || async {
            let job = get_job(&pool, e.id).await.unwrap();
            (job.state == JobState::Failed).then_some(job)
        },
    )
    .await;
    assert_eq!(job.attempt, 3);
    assert_eq!(
        job.errors
            .iter()
            .map(|e| e.kind.as_str())
            .collect::<Vec<_>>(),
        vec!["upstream_5xx", "panic", "upstream_5xx"]
    );
    shutdown.cancel();
    task.await.unwrap().unwrap();
}
