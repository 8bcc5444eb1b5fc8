//! `gateway_audit` retention: a running gateway's `audit_pruner` deletes audit records older
//! than the audit retention and keeps younger ones, whatever the request_id retention says
//! (the two tables are pruned independently, and neither by job pruning).

use std::time::{Duration, Instant};

use fleet_gateway::{CallerConfig, GatewayConfig};
use serde_json::json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

async fn insert(pool: &PgPool, request_id: &str, age: Duration) {
    sqlx::query(
        "INSERT INTO gateway_audit (caller, role, method, request_id, outcome, created_at) \
         VALUES ('ops', 'operator', 'fleet.v1.Ips/CreateIp', $1, 'OK', now() - $2 * interval '1 second')",
    )
    .bind(request_id)
    .bind(age.as_secs_f64())
    .execute(pool)
    .await
    .expect("insert an audit record");
}

async fn remaining(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT request_id FROM gateway_audit ORDER BY request_id")
        .fetch_all(pool)
        .await
        .expect("read audit records")
}

#[tokio::test]
async fn audit_records_older_than_the_audit_retention_are_pruned_younger_ones_kept() {
    let url = fleet_pgcluster::testing::fresh_database().await;
    let callers: Vec<CallerConfig> = serde_json::from_value(json!([
        {"name": "ops", "token": "audit-retention-test-token", "projects": ["*"], "role": "operator"}
    ]))
    .unwrap();
    let mut config = GatewayConfig::new("127.0.0.1:0".parse().unwrap(), url, callers);
    config.audit_retention = Duration::from_secs(10 * 24 * 3600);
    config.audit_prune_interval = Duration::from_millis(50);
    // A request_id retention far shorter than the audit's must not prune the audit.
    config.request_id_retention = Duration::from_secs(60);
    config.request_id_prune_interval = Duration::from_millis(50);
    let gateway = config.build().await.expect("gateway builds (and migrates)");
    let pool = gateway.pool().clone();
    let day = 24 * 3600;
    insert(&pool, "expired-1", Duration::from_secs(11 * day)).await;
    insert(&pool, "expired-2", Duration::from_secs(10 * day + 1)).await;
    insert(&pool, "young", Duration::from_secs(9 * day)).await;

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
        "only the record within the audit retention is left"
    );

    shutdown.cancel();
    served.await.unwrap().expect("gateway stops cleanly");
}
