//! `gateway_requests` retention: a running gateway's `request_id_pruner` forgets synchronous
//! mutations' request_id records once they are older than the retention, and keeps younger
//! ones (they must still answer a resubmission with the first response).

use std::time::{Duration, Instant};

use fleet_gateway::{CallerConfig, GatewayConfig};
use serde_json::json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

async fn insert(pool: &PgPool, request_id: &str, age: Duration) {
    sqlx::query(
        "INSERT INTO gateway_requests (caller, request_id, method, request_hash, state, response, created_at) \
         VALUES ('ops', $1, '/fleet.v1.Ips/CreateIp', 'h', 'done', '\\x00', now() - $2 * interval '1 second')",
    )
    .bind(request_id)
    .bind(age.as_secs_f64())
    .execute(pool)
    .await
    .expect("insert a request_id record");
}

async fn remaining(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT request_id FROM gateway_requests ORDER BY request_id")
        .fetch_all(pool)
        .await
        .expect("read request_id records")
}

#[tokio::test]
async fn records_older_than_the_retention_are_pruned_younger_ones_kept() {
    let url = fleet_pgcluster::testing::fresh_database().await;
    let callers: Vec<CallerConfig> = serde_json::from_value(json!([
        {"name": "ops", "token": "retention-test-token", "projects": ["*"], "role": "operator"}
    ]))
    .unwrap();
    let mut config = GatewayConfig::new("127.0.0.1:0".parse().unwrap(), url, callers);
    config.request_id_retention = Duration::from_secs(3600);
    config.request_id_prune_interval = Duration::from_millis(50);
    let gateway = config.build().await.expect("gateway builds (and migrates)");
    let pool = gateway.pool().clone();
    insert(&pool, "expired-1", Duration::from_secs(2 * 3600)).await;
    insert(&pool, "expired-2", Duration::from_secs(3601)).await;
    insert(&pool, "young", Duration::from_secs(3500)).await;

    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let served = tokio::spawn(async move { gateway.run(stop).await });

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut left = remaining(&pool).await;
    while left.len() > 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        left = remaining(&pool).await;
    }
    assert_eq!(
        left,
        vec!["young".to_owned()],
        "only the record within the retention is left"
    );

    shutdown.cancel();
    served.await.unwrap().expect("gateway stops cleanly");
}
