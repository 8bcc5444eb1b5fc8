//! The worker-side writes against a fresh database: upserts, resync gone-marking, revival.

use fleet_inventory::{Kind, Record, write};
use serde_json::json;
use sqlx::PgPool;

async fn pool() -> PgPool {
    let url = fleet_pgcluster::testing::fresh_database().await;
    let pool = PgPool::connect(&url).await.expect("connects");
    fleet_scheduler::MIGRATOR
        .run(&pool)
        .await
        .expect("migrates");
    pool
}

fn server(id: &str, state: &str, tags: &[&str]) -> Record {
    Record::from_body(
        "fr-par-1",
        Kind::Server,
        json!({"id": id, "name": id, "project": "p-1", "state": state,
               "commercial_type": "DEV1-S", "tags": tags}),
    )
    .unwrap()
}

async fn live(pool: &PgPool) -> Vec<(String, String, Vec<String>)> {
    sqlx::query_as(
        "SELECT id, state, tags FROM inventory_resources WHERE gone_at IS NULL ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_resync_marks_unseen_rows_gone_and_keeps_the_rest() {
    let pool = pool().await;
    write::upsert(
        &pool,
        &[
            server("s-1", "running", &["web"]),
            server("s-2", "stopped", &[]),
        ],
    )
    .await
    .unwrap();
    assert_eq!(live(&pool).await.len(), 2);

    let resync = write::begin_resync(&pool, "fr-par-1", Kind::Server)
        .await
        .unwrap();
    // Only s-1 is still there, and it changed.
    write::upsert(&pool, &[server("s-1", "stopped", &["web", "db"])])
        .await
        .unwrap();
    let gone = write::complete_resync(&pool, &resync, 1).await.unwrap();
    assert_eq!(gone, 1);
    assert_eq!(
        live(&pool).await,
        [(
            "s-1".to_owned(),
            "stopped".to_owned(),
            vec!["web".to_owned(), "db".to_owned()]
        )]
    );
    let (seen, marked): (i32, i32) = sqlx::query_as(
        "SELECT seen, marked_gone FROM inventory_syncs WHERE zone = 'fr-par-1' AND kind = 'server'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((seen, marked), (1, 1));

    // Another kind's resync of the zone leaves servers alone.
    let volumes = write::begin_resync(&pool, "fr-par-1", Kind::Volume)
        .await
        .unwrap();
    assert_eq!(write::complete_resync(&pool, &volumes, 0).await.unwrap(), 0);
    assert_eq!(live(&pool).await.len(), 1);

    // A gone row that shows up again is live again.
    write::upsert(&pool, &[server("s-2", "running", &[])])
        .await
        .unwrap();
    assert_eq!(live(&pool).await.len(), 2);
    assert!(
        write::mark_gone(&pool, "fr-par-1", Kind::Server, "s-2")
            .await
            .unwrap()
    );
    assert!(
        !write::mark_gone(&pool, "fr-par-1", Kind::Server, "s-2")
            .await
            .unwrap()
    );
    assert_eq!(live(&pool).await.len(), 1);
}
