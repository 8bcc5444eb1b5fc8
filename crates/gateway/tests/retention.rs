//! Retention of the gateway's own records on a running gateway: `request_id_pruner` forgets
//! synchronous mutations' request_id records older than their retention, `audit_pruner`
//! audit records older than theirs; younger records are kept (a request_id must still answer
//! a resubmission with the first response), and each table follows its own retention only
//! (neither is pruned by the other's, nor by job pruning).

use std::time::{Duration, Instant};

use fleet_gateway::{CallerConfig, GatewayConfig};
use serde_json::json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

const DAY: u64 = 24 * 3600;

/// A pruned table as the test sees it: how to insert a record `age` old named `key`, and
/// where the names are read back.
#[derive(Clone, Copy)]
enum Table {
    Requests,
    Audit,
}

impl Table {
    async fn insert(self, pool: &PgPool, key: &str, age: Duration) {
        let statement = match self {
            Table::Requests => {
                "INSERT INTO gateway_requests (caller, request_id, method, request_hash, state, response, created_at) \
                 VALUES ('ops', $1, '/fleet.v1.Ips/CreateIp', 'h', 'done', '\\x00', now() - $2 * interval '1 second')"
            }
            Table::Audit => {
                "INSERT INTO gateway_audit (caller, role, method, request_id, outcome, created_at) \
                 VALUES ('ops', 'operator', 'fleet.v1.Ips/CreateIp', $1, 'OK', now() - $2 * interval '1 second')"
            }
        };
        sqlx::query(statement)
            .bind(key)
            .bind(age.as_secs_f64())
            .execute(pool)
            .await
            .expect("insert a record");
    }

    async fn remaining(self, pool: &PgPool) -> Vec<String> {
        let statement = match self {
            Table::Requests => "SELECT request_id FROM gateway_requests ORDER BY request_id",
            Table::Audit => "SELECT request_id FROM gateway_audit ORDER BY request_id",
        };
        sqlx::query_scalar(statement)
            .fetch_all(pool)
            .await
            .expect("read records")
    }
}

/// Starts a gateway configured by `configure` over a fresh database, inserts into `table`
/// two records older than `retention` and one younger, and checks that only the young one
/// is left once the pruner has run (waiting on the table, bounded).
async fn only_the_young_record_is_left(
    table: Table,
    retention: Duration,
    configure: impl FnOnce(&mut GatewayConfig),
) {
    let url = fleet_pgcluster::testing::fresh_database().await;
    let callers: Vec<CallerConfig> = serde_json::from_value(json!([
        {"name": "ops", "token": "retention-test-token", "projects": ["*"], "role": "operator"}
    ]))
    .unwrap();
    let mut config = GatewayConfig::new("127.0.0.1:0".parse().unwrap(), url, callers);
    configure(&mut config);
    let gateway = config.build().await.expect("gateway builds (and migrates)");
    let pool = gateway.pool().clone();
    table.insert(&pool, "expired-1", retention * 2).await;
    table
        .insert(&pool, "expired-2", retention + Duration::from_secs(1))
        .await;
    table
        .insert(&pool, "young", retention - Duration::from_secs(100))
        .await;

    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let served = tokio::spawn(async move { gateway.run(stop).await });

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut left = table.remaining(&pool).await;
    while left.len() > 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        left = table.remaining(&pool).await;
    }
    assert_eq!(
        left,
        vec!["young".to_owned()],
        "only the record within the retention is left"
    );

    shutdown.cancel();
    served.await.unwrap().expect("gateway stops cleanly");
}

#[tokio::test]
async fn request_ids_older_than_their_retention_are_pruned() {
    let retention = Duration::from_secs(3600);
    only_the_young_record_is_left(Table::Requests, retention, |config| {
        config.retention.request_id_retention = retention;
        config.retention.request_id_prune_interval = Duration::from_millis(50);
    })
    .await;
}

#[tokio::test]
async fn audit_records_follow_the_audit_retention_only() {
    let retention = Duration::from_secs(10 * DAY);
    only_the_young_record_is_left(Table::Audit, retention, |config| {
        config.retention.audit_retention = retention;
        config.retention.audit_prune_interval = Duration::from_millis(50);
        // A request_id retention far shorter than the audit's must not prune the audit.
        config.retention.request_id_retention = Duration::from_secs(60);
        config.retention.request_id_prune_interval = Duration::from_millis(50);
    })
    .await;
}
