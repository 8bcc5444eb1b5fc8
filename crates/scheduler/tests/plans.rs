//! Query-plan regression: the claim must stay an index walk, never a scan of the whole jobs
//! table, however much finished history the table holds. A plan change here is what turns a
//! 1 ms claim into a 100 ms one in production, long before any functional test notices.
mod common;

use common::db;
use fleet_scheduler::claim::claim_sql;
use serde_json::Value;
use sqlx::Row;

fn seq_scans_on_jobs(plan: &Value, found: &mut Vec<String>) {
    match plan {
        Value::Object(node) => {
            if node.get("Node Type").and_then(Value::as_str) == Some("Seq Scan")
                && node.get("Relation Name").and_then(Value::as_str) == Some("jobs")
            {
                found.push(
                    node.get("Alias")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_owned(),
                );
            }
            for child in node.values() {
                seq_scans_on_jobs(child, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| seq_scans_on_jobs(item, found)),
        _ => {}
    }
}

#[tokio::test]
async fn claim_uses_indexes_with_a_large_history() {
    let pool = db().await;
    // 50,000 finished jobs of history, a few hundred due, some serialized on resources.
    sqlx::query(
        "INSERT INTO jobs (kind, zone, args, state, finished_at, caller) \
         SELECT 'noop', 'fr-par-' || (g % 3 + 1), '{}', 'completed', now(), 'bench' \
         FROM generate_series(1, 50000) g",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO jobs (kind, zone, resource, args, state, caller) \
         SELECT 'noop', 'fr-par-' || (g % 3 + 1), \
                CASE WHEN g % 4 = 0 THEN 'fr-par-1/server/' || (g % 10) END, '{}', 'available', 'bench' \
         FROM generate_series(1, 300) g",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE jobs").execute(&pool).await.unwrap();

    let explain = format!("EXPLAIN (FORMAT JSON) {}", claim_sql());
    let row = sqlx::query(sqlx::AssertSqlSafe(explain))
        .bind(vec!["fr-par-1".to_owned(), "fr-par-2".to_owned()])
        .bind(64_i64)
        .bind("plan-test")
        .bind(60.0_f64)
        .fetch_one(&pool)
        .await
        .unwrap();
    let plan: Value = row.try_get(0).unwrap();
    let mut scans = Vec::new();
    seq_scans_on_jobs(&plan, &mut scans);
    assert!(
        scans.is_empty(),
        "claim plan scans the whole jobs table (aliases {scans:?}):\n{plan:#}"
    );
}
