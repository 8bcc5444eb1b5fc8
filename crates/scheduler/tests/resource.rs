//! Jobs on one resource run one at a time, in acceptance order.
mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{claim_n, db};
use fleet_scheduler::*;
use serde_json::json;
use time::OffsetDateTime;

#[tokio::test]
async fn second_job_waits_behind_first() {
    let pool = db().await;
    let r = "fr-par-1/server/11111111-1111-1111-1111-111111111111";
    let a = enqueue(
        &pool,
        &NewJob::new("poweroff", "fr-par-1", json!({})).resource(r),
    )
    .await
    .unwrap();
    let b = enqueue(
        &pool,
        &NewJob::new("snapshot", "fr-par-1", json!({}))
            .resource(r)
            .priority(-5),
    )
    .await
    .unwrap();
    let c = enqueue(
        &pool,
        &NewJob::new("poweron", "fr-par-1", json!({})).resource(r),
    )
    .await
    .unwrap();
    let other = enqueue(
        &pool,
        &NewJob::new("poweron", "fr-par-1", json!({})).resource("fr-par-1/server/2"),
    )
    .await
    .unwrap();

    let claimed = claim_n(&pool, &["fr-par-1"], 10).await;
    let mut ids: Vec<i64> = claimed.iter().map(|j| j.id()).collect();
    ids.sort();
    assert_eq!(
        ids,
        vec![a.id, other.id],
        "only the head of each resource is claimable"
    );
    let a_job = claimed.into_iter().find(|j| j.id() == a.id).unwrap();

    // A snoozed head still blocks (it is unfinished).
    a_job
        .snooze(OffsetDateTime::now_utc() + time::Duration::hours(1), None)
        .await
        .unwrap();
    assert!(claim_n(&pool, &["fr-par-1"], 10).await.is_empty());
    common::make_due(&pool, a.id).await;
    let a_job = claim_n(&pool, &["fr-par-1"], 10).await.remove(0);
    assert_eq!(a_job.id(), a.id);
    a_job.complete(&json!(null)).await.unwrap();

    let next = claim_n(&pool, &["fr-par-1"], 10).await;
    assert_eq!(next.iter().map(|j| j.id()).collect::<Vec<_>>(), vec![b.id]);
    // A failed job unblocks the next one too.
    next[0].fail(&JobError::new("x", "y")).await.unwrap();
    let next = claim_n(&pool, &["fr-par-1"], 10).await;
    assert_eq!(next.iter().map(|j| j.id()).collect::<Vec<_>>(), vec![c.id]);
}

#[tokio::test]
async fn cancelled_head_unblocks() {
    let pool = db().await;
    let a = enqueue(&pool, &NewJob::new("k", "z", json!({})).resource("r"))
        .await
        .unwrap();
    let b = enqueue(&pool, &NewJob::new("k", "z", json!({})).resource("r"))
        .await
        .unwrap();
    cancel_job(&pool, a.id).await.unwrap();
    let next = claim_n(&pool, &["z"], 10).await;
    assert_eq!(next.iter().map(|j| j.id()).collect::<Vec<_>>(), vec![b.id]);
}

type Tracker = std::sync::Arc<std::sync::Mutex<HashMap<String, (Option<i64>, i64)>>>;

/// Concurrent enqueuers and claimers: per resource, no two jobs overlap and they run in id
/// (acceptance) order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serialized_in_acceptance_order_under_concurrency() {
    let pool = db().await;
    const RESOURCES: usize = 4;
    const PER_ENQUEUER: usize = 15;
    let mut tasks = Vec::new();
    for e in 0..6 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..PER_ENQUEUER {
                let r = format!("z/server/{}", (e + i) % RESOURCES);
                let mut tx = pool.begin().await.unwrap();
                enqueue_tx(
                    &mut tx,
                    &NewJob::new("k", "z", json!({"e": e, "i": i})).resource(r),
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
        }));
    }
    let total = 6 * PER_ENQUEUER;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Per resource: the job currently running (marked when its claim returns, unmarked just
    // before its completion is sent) and the last finished id. Sound: a correct queue claims
    // the next job only after the previous completion committed, i.e. after the unmark.
    let state: Tracker = Default::default();
    for c in 0..6 {
        let pool = pool.clone();
        let done = done.clone();
        let state = state.clone();
        tasks.push(tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while done.load(std::sync::atomic::Ordering::SeqCst) < total {
                assert!(tokio::time::Instant::now() < deadline, "claimers timed out");
                let jobs = claim_n(&pool, &["z"], 1 + c % 3).await;
                for job in &jobs {
                    let r = job.job.resource.clone().unwrap();
                    let mut st = state.lock().unwrap();
                    let entry = st.entry(r.clone()).or_insert((None, 0));
                    assert_eq!(
                        entry.0,
                        None,
                        "resource {r}: job {} claimed while {:?} runs",
                        job.id(),
                        entry.0
                    );
                    assert!(
                        job.id() > entry.1,
                        "resource {r}: job {} claimed after job {}",
                        job.id(),
                        entry.1
                    );
                    entry.0 = Some(job.id());
                }
                for job in jobs {
                    tokio::task::yield_now().await;
                    {
                        let r = job.job.resource.clone().unwrap();
                        let mut st = state.lock().unwrap();
                        let entry = st.get_mut(&r).unwrap();
                        *entry = (None, job.id());
                    }
                    job.complete(&json!(null)).await.unwrap();
                    done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'completed'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n as usize, total);
}
