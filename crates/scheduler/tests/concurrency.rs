//! No double claim under many concurrent claimers.
mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use common::{db, req};
use fleet_scheduler::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_job_is_claimed_exactly_once() {
    let pool = db().await;
    const JOBS: usize = 3000;
    const CLAIMERS: usize = 16;
    let batch: Vec<NewJob> = (0..JOBS)
        .map(|i| {
            NewJob::new("noop", if i % 3 == 0 { "a" } else { "b" }, json!({"i": i}))
                .priority((i % 4) as i16)
        })
        .collect();
    for chunk in batch.chunks(1000) {
        enqueue_many(&pool, chunk).await.unwrap();
    }
    let seen: Arc<Mutex<HashMap<i64, usize>>> = Arc::default();
    let mut tasks = Vec::new();
    for c in 0..CLAIMERS {
        let pool = pool.clone();
        let seen = seen.clone();
        tasks.push(tokio::spawn(async move {
            let mut limit = 1 + c % 7;
            let mut empty_rounds = 0;
            while empty_rounds < 3 {
                let jobs = claim(&pool, &req(&["a", "b"], limit)).await.unwrap();
                if jobs.is_empty() {
                    empty_rounds += 1;
                    continue;
                }
                empty_rounds = 0;
                let mut items = Vec::new();
                for job in &jobs {
                    *seen.lock().unwrap().entry(job.id()).or_default() += 1;
                    items.push(Completion {
                        job_id: job.id(),
                        token: job.lease.token,
                        result: json!(null),
                    });
                }
                // Alternate single and batched completion.
                if c % 2 == 0 {
                    assert!(complete_many(&pool, &items).await.unwrap().is_empty());
                } else {
                    for job in &jobs {
                        job.complete(&json!(null)).await.unwrap();
                    }
                }
                limit = 1 + (limit * 5 + c) % 37;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(seen.len(), JOBS, "every job claimed");
    assert!(seen.values().all(|&n| n == 1), "no job claimed twice");
    let done: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE state = 'completed' AND attempt = 1 AND lease_token = 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(done as usize, JOBS);
}
