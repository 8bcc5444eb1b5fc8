//! Recurring schedules never double-fire across scheduler instances.
mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::db;
use fleet_scheduler::*;
use serde_json::json;
use time::OffsetDateTime;

fn spec(name: &str, cron: &str) -> ScheduleSpec {
    ScheduleSpec {
        name: name.into(),
        cron: cron.into(),
        job: NewJob::new("backup.run", "fr-par-1", json!({"policy": name})).caller("policies"),
        enabled: true,
    }
}

#[tokio::test]
async fn next_fire_and_bad_cron() {
    let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(); // 2023-11-14 22:13:20 UTC
    assert_eq!(
        next_fire("0 * * * *", t).unwrap().unix_timestamp(),
        1_700_002_800
    );
    assert_eq!(
        next_fire("*/10 * * * * *", t).unwrap().unix_timestamp(),
        1_700_000_010
    );
    let pool = db().await;
    assert!(matches!(
        upsert_schedule(&pool, &spec("bad", "not a cron")).await,
        Err(SchedulerError::Invalid(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_firing_fires_each_occurrence_once() {
    let pool = db().await;
    let s = upsert_schedule(&pool, &spec("nightly", "0 0 * * *"))
        .await
        .unwrap();
    assert!(s.next_run_at > OffsetDateTime::now_utc());
    assert_eq!(list_schedules(&pool).await.unwrap().len(), 1);
    for round in 0..5 {
        // Make the occurrence due, then race 8 "replicas".
        sqlx::query(
            "UPDATE schedules SET next_run_at = now() - interval '1 second' WHERE name = 'nightly'",
        )
        .execute(&pool)
        .await
        .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                fire_due_schedules(&pool, 10).await.unwrap()
            }));
        }
        let mut fired = Vec::new();
        for t in tasks {
            fired.extend(t.await.unwrap());
        }
        assert_eq!(fired.len(), 1, "round {round}: {fired:?}");
        let s = &list_schedules(&pool).await.unwrap()[0];
        assert!(s.next_run_at > OffsetDateTime::now_utc());
        assert_eq!(s.last_job_id, Some(fired[0].job_id));
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'backup.run'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_services_never_double_fire() {
    let pool = db().await;
    upsert_schedule(&pool, &spec("every-second", "* * * * * *"))
        .await
        .unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let mut services = Vec::new();
    for _ in 0..2 {
        let config = SchedulerConfig {
            cron_interval: Duration::from_millis(20),
            rescue_interval: Duration::from_millis(100),
            ..SchedulerConfig::default()
        };
        let service = config.build(pool.clone()).unwrap();
        services.push(tokio::spawn(service.run(shutdown.clone())));
    }
    common::eventually(
        "three occurrences fired",
        Duration::from_secs(30),
        || async {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
                .fetch_one(&pool)
                .await
                .unwrap();
            (n >= 3).then_some(())
        },
    )
    .await;
    shutdown.cancel();
    for s in services {
        s.await.unwrap().unwrap();
    }
    let keys: Vec<String> = sqlx::query_scalar("SELECT idempotency_key FROM jobs ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let distinct: HashSet<&String> = keys.iter().collect();
    assert_eq!(distinct.len(), keys.len());
    // Occurrences are one second apart: no occurrence fired twice under another time.
    let times: Vec<OffsetDateTime> = sqlx::query_scalar("SELECT created_at FROM jobs ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let fire_secs: Vec<i64> = keys
        .iter()
        .map(|k| k.rsplit(':').next().unwrap().parse::<i64>().unwrap() / 1_000_000)
        .collect();
    let distinct_secs: HashSet<i64> = fire_secs.iter().copied().collect();
    assert_eq!(distinct_secs.len(), fire_secs.len(), "{fire_secs:?}");
    assert_eq!(times.len(), keys.len());
}

#[tokio::test]
async fn delete_schedule_stops_it() {
    let pool = db().await;
    upsert_schedule(&pool, &spec("x", "* * * * *"))
        .await
        .unwrap();
    assert!(delete_schedule(&pool, "x").await.unwrap());
    assert!(!delete_schedule(&pool, "x").await.unwrap());
    assert!(fire_due_schedules(&pool, 10).await.unwrap().is_empty());
}
