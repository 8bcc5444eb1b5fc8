//! Zone pause and resume.
mod common;

use std::time::Duration;

use common::{claim_n, db};
use fleet_scheduler::*;
use serde_json::json;
use time::OffsetDateTime;

#[tokio::test]
async fn paused_zone_is_skipped_until_resumed() {
    let pool = db().await;
    let par = enqueue(&pool, &NewJob::new("k", "fr-par-1", json!({})))
        .await
        .unwrap();
    let ams = enqueue(&pool, &NewJob::new("k", "nl-ams-1", json!({})))
        .await
        .unwrap();
    pause_zone(&pool, "fr-par-1", None, "maintenance")
        .await
        .unwrap();
    let pauses = list_zone_pauses(&pool).await.unwrap();
    assert_eq!(pauses.len(), 1);
    assert_eq!(pauses[0].reason, "maintenance");
    let claimed = claim_n(&pool, &["fr-par-1", "nl-ams-1"], 10).await;
    assert_eq!(
        claimed.iter().map(|j| j.id()).collect::<Vec<_>>(),
        vec![ams.id]
    );
    assert!(claim_n(&pool, &["fr-par-1"], 10).await.is_empty());
    assert!(resume_zone(&pool, "fr-par-1").await.unwrap());
    assert!(!resume_zone(&pool, "fr-par-1").await.unwrap());
    let claimed = claim_n(&pool, &["fr-par-1"], 10).await;
    assert_eq!(
        claimed.iter().map(|j| j.id()).collect::<Vec<_>>(),
        vec![par.id]
    );
}

#[tokio::test]
async fn timed_pause_expires_by_itself() {
    let pool = db().await;
    let e = enqueue(&pool, &NewJob::new("k", "fr-par-1", json!({})))
        .await
        .unwrap();
    let until = OffsetDateTime::now_utc() + time::Duration::milliseconds(2000);
    pause_zone(&pool, "fr-par-1", Some(until), "429 from upstream")
        .await
        .unwrap();
    assert!(claim_n(&pool, &["fr-par-1"], 10).await.is_empty());
    let claimed = common::eventually("pause expires", Duration::from_secs(10), || async {
        let jobs = claim_n(&pool, &["fr-par-1"], 10).await;
        (!jobs.is_empty()).then_some(jobs)
    })
    .await;
    assert_eq!(claimed[0].id(), e.id);
    assert!(list_zone_pauses(&pool).await.unwrap().is_empty());
}
