//! Idempotency keys: one job per (caller, key); a different payload is a conflict.
mod common;

use common::db;
use fleet_scheduler::*;
use serde_json::json;

#[tokio::test]
async fn same_key_returns_existing_job() {
    let pool = db().await;
    let job = NewJob::new(
        "server.action",
        "fr-par-1",
        json!({"action": "poweron", "n": [1, 2]}),
    )
    .caller("svc-a")
    .idempotency_key("req-1");
    let first = enqueue(&pool, &job).await.unwrap();
    assert!(first.created);
    // Same payload (key order differs): the same job.
    let again = NewJob::new(
        "server.action",
        "fr-par-1",
        json!({"n": [1, 2], "action": "poweron"}),
    )
    .caller("svc-a")
    .idempotency_key("req-1");
    let second = enqueue(&pool, &again).await.unwrap();
    assert_eq!(second.id, first.id);
    assert!(!second.created);
    // Different payload: conflict.
    let other = NewJob::new("server.action", "fr-par-1", json!({"action": "poweroff"}))
        .caller("svc-a")
        .idempotency_key("req-1");
    match enqueue(&pool, &other).await {
        Err(SchedulerError::IdempotencyConflict {
            existing_id,
            caller,
            key,
        }) => {
            assert_eq!(
                (existing_id, caller.as_str(), key.as_str()),
                (first.id, "svc-a", "req-1")
            );
        }
        other => panic!("expected conflict, got {other:?}"),
    }
    // Another caller may use the same key.
    let b = enqueue(&pool, &job.clone().caller("svc-b")).await.unwrap();
    assert!(b.created);
    assert_ne!(b.id, first.id);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_same_key_creates_one_job() {
    let pool = db().await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let job = NewJob::new("k", "z", json!({"x": 1}))
                .caller("c")
                .idempotency_key("same");
            enqueue(&pool, &job).await.unwrap()
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert!(results.iter().all(|r| r.id == results[0].id));
    assert_eq!(results.iter().filter(|r| r.created).count(), 1);
}

#[tokio::test]
async fn enqueue_many_with_keys_and_duplicates() {
    let pool = db().await;
    let a = NewJob::new("k", "z", json!({"a": 1}))
        .caller("c")
        .idempotency_key("a");
    let b = NewJob::new("k", "z", json!({"b": 1}))
        .caller("c")
        .idempotency_key("b");
    let plain = NewJob::new("k", "z", json!({}));
    let out = enqueue_many(&pool, &[a.clone(), plain.clone(), b.clone(), a.clone()])
        .await
        .unwrap();
    assert_eq!(out.len(), 4);
    assert!(out[0].created && out[1].created && out[2].created);
    assert!(!out[3].created);
    assert_eq!(out[3].id, out[0].id);
    assert!(
        out[0].id < out[1].id && out[1].id < out[2].id,
        "ids follow input order"
    );
    // A conflicting batch is refused as a whole.
    let bad = NewJob::new("k", "z", json!({"a": 2}))
        .caller("c")
        .idempotency_key("a");
    let err = enqueue_many(&pool, &[plain.clone(), bad])
        .await
        .unwrap_err();
    assert!(matches!(err, SchedulerError::IdempotencyConflict { .. }));
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 3);
}

#[tokio::test]
async fn enqueue_in_callers_transaction() {
    let pool = db().await;
    let mut tx = pool.begin().await.unwrap();
    let e = enqueue_tx(
        &mut tx,
        &NewJob::new("k", "z", json!({})).resource("z/server/1"),
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    assert!(get_job(&pool, e.id).await.is_err());
    let mut tx = pool.begin().await.unwrap();
    let e = enqueue_tx(&mut tx, &NewJob::new("k", "z", json!({})))
        .await
        .unwrap();
    let many = enqueue_many_tx(
        &mut tx,
        &[
            NewJob::new("k", "z", json!({})),
            NewJob::new("k", "z", json!({})),
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(get_job(&pool, e.id).await.is_ok());
    assert!(get_job(&pool, many[1].id).await.is_ok());
}
