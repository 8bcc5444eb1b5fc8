//! Shared test helpers: a fresh migrated database per test, and condition polling.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use fleet_scheduler::{ClaimRequest, ClaimedJob, claim};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// A fresh, migrated database.
pub async fn db() -> PgPool {
    let url = fleet_pgcluster::testing::fresh_database().await;
    let pool = PgPoolOptions::new()
        .max_connections(20)
        .connect(&url)
        .await
        .expect("connect");
    fleet_scheduler::migrate(&pool).await.expect("migrate");
    pool
}

/// Polls `check` every 10 ms until it returns `Some`, panicking after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn req(zones: &[&str], limit: usize) -> ClaimRequest {
    ClaimRequest {
        zones: zones.iter().map(|z| z.to_string()).collect(),
        owner: "test-owner".into(),
        limit,
        lease: Duration::from_secs(60),
    }
}

pub async fn claim_n(pool: &PgPool, zones: &[&str], limit: usize) -> Vec<ClaimedJob> {
    claim(pool, &req(zones, limit)).await.expect("claim")
}

/// Moves a running job's lease into the past.
pub async fn expire_lease(pool: &PgPool, id: i64) {
    sqlx::query("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .expect("expire lease");
}

/// Makes a waiting job due now.
pub async fn make_due(pool: &PgPool, id: i64) {
    sqlx::query("UPDATE jobs SET run_at = now() - interval '1 millisecond' WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .expect("make due");
}
