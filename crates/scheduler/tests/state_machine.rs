//! The documented state machine, transition by transition.
mod common;

use std::time::Duration;

use common::{claim_n, db, make_due};
use fleet_scheduler::*;
use serde_json::json;
use time::OffsetDateTime;

#[tokio::test]
async fn enqueue_claim_complete() {
    let pool = db().await;
    let e = enqueue(
        &pool,
        &NewJob::new("server.poweron", "fr-par-1", json!({"a": 1}))
            .caller("gw")
            .project("p1")
            .trace_context(json!({"traceparent": "00-abc-def-01"})),
    )
    .await
    .unwrap();
    assert!(e.created);
    assert_eq!(e.state, JobState::Available);
    let jobs = claim_n(&pool, &["fr-par-1"], 10).await;
    assert_eq!(jobs.len(), 1);
    let j = &jobs[0];
    assert_eq!(j.job.state, JobState::Running);
    assert_eq!(j.job.attempt, 1);
    assert_eq!(j.lease.token, 1);
    assert_eq!(j.job.lease_owner.as_deref(), Some("test-owner"));
    assert!(j.job.started_at.is_some());
    assert_eq!(j.job.trace_context["traceparent"], "00-abc-def-01");
    // Nothing left to claim.
    assert!(claim_n(&pool, &["fr-par-1"], 10).await.is_empty());
    let ack = j.heartbeat(Duration::from_secs(30)).await.unwrap();
    assert!(!ack.cancel_requested);
    j.record_progress(&Progress {
        step: Some("create".into()),
        percent: Some(50.0),
        message: Some("half".into()),
        upstream_ids: vec!["snap-1".into()],
        state: json!({"snapshot": "snap-1"}),
    })
    .await
    .unwrap();
    j.complete(&json!({"ok": true})).await.unwrap();
    let job = get_job(&pool, e.id).await.unwrap();
    assert_eq!(job.state, JobState::Completed);
    assert_eq!(job.result, Some(json!({"ok": true})));
    assert_eq!(job.progress.upstream_ids, vec!["snap-1".to_string()]);
    assert_eq!(job.progress.step.as_deref(), Some("create"));
    assert!(job.finished_at.is_some());
    assert!(job.lease_owner.is_none());
    // Terminal: a second completion is fenced.
    assert!(j.complete(&json!({})).await.unwrap_err().is_fenced());
}

#[tokio::test]
async fn scheduled_job_waits_for_run_at() {
    let pool = db().await;
    let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let e = enqueue(
        &pool,
        &NewJob::new("k", "fr-par-1", json!({})).run_at(later),
    )
    .await
    .unwrap();
    assert_eq!(e.state, JobState::Scheduled);
    assert!(claim_n(&pool, &["fr-par-1"], 10).await.is_empty());
    make_due(&pool, e.id).await;
    let jobs = claim_n(&pool, &["fr-par-1"], 10).await;
    assert_eq!(jobs.len(), 1);
}

#[tokio::test]
async fn snooze_does_not_consume_an_attempt() {
    let pool = db().await;
    let e = enqueue(
        &pool,
        &NewJob::new("k", "fr-par-1", json!({})).max_attempts(1),
    )
    .await
    .unwrap();
    for round in 0..3 {
        let jobs = claim_n(&pool, &["fr-par-1"], 10).await;
        assert_eq!(jobs.len(), 1, "round {round}");
        assert_eq!(jobs[0].job.attempt, 1);
        let until = OffsetDateTime::now_utc() + time::Duration::hours(1);
        let progress = Progress {
            step: Some(format!("poll-{round}")),
            ..Progress::default()
        };
        jobs[0].snooze(until, Some(&progress)).await.unwrap();
        let job = get_job(&pool, e.id).await.unwrap();
        assert_eq!(job.state, JobState::Scheduled);
        assert_eq!(job.attempt, 0);
        assert_eq!(job.progress.step, Some(format!("poll-{round}")));
        assert!(claim_n(&pool, &["fr-par-1"], 10).await.is_empty());
        make_due(&pool, e.id).await;
    }
    let jobs = claim_n(&pool, &["fr-par-1"], 10).await;
    assert_eq!(jobs[0].lease.token, 4);
    jobs[0].complete(&json!(1)).await.unwrap();
    assert_eq!(
        get_job(&pool, e.id).await.unwrap().state,
        JobState::Completed
    );
}

#[tokio::test]
async fn fail_records_error_and_is_terminal() {
    let pool = db().await;
    let e = enqueue(&pool, &NewJob::new("k", "fr-par-1", json!({})))
        .await
        .unwrap();
    let jobs = claim_n(&pool, &["fr-par-1"], 1).await;
    jobs[0]
        .fail(
            &JobError::new("invalid_argument", "bad volume")
                .with_details(json!({"field": "volume"})),
        )
        .await
        .unwrap();
    let job = get_job(&pool, e.id).await.unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.errors.len(), 1);
    assert_eq!(job.errors[0].kind, "invalid_argument");
    assert_eq!(job.errors[0].attempt, 1);
    assert_eq!(job.errors[0].details["field"], "volume");
    assert!(claim_n(&pool, &["fr-par-1"], 1).await.is_empty());
}

#[tokio::test]
async fn release_gives_the_job_back() {
    let pool = db().await;
    let e = enqueue(&pool, &NewJob::new("k", "fr-par-1", json!({})))
        .await
        .unwrap();
    let jobs = claim_n(&pool, &["fr-par-1"], 1).await;
    jobs[0].release().await.unwrap();
    let job = get_job(&pool, e.id).await.unwrap();
    assert_eq!((job.state, job.attempt), (JobState::Available, 0));
    let again = claim_n(&pool, &["fr-par-1"], 1).await;
    assert_eq!(again[0].job.attempt, 1);
    assert_eq!(again[0].lease.token, 2);
}

#[tokio::test]
async fn priority_then_age_order() {
    let pool = db().await;
    let low = enqueue(&pool, &NewJob::new("k", "z", json!({})).priority(5))
        .await
        .unwrap();
    let high = enqueue(&pool, &NewJob::new("k", "z", json!({})).priority(1))
        .await
        .unwrap();
    let jobs = claim_n(&pool, &["z"], 1).await;
    assert_eq!(jobs[0].id(), high.id);
    let jobs = claim_n(&pool, &["z"], 1).await;
    assert_eq!(jobs[0].id(), low.id);
}

#[tokio::test]
async fn list_get_and_stats() {
    let pool = db().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let zone = if i % 2 == 0 { "fr-par-1" } else { "nl-ams-1" };
        let job = NewJob::new("snapshot.create", zone, json!({"i": i}))
            .caller("svc-a")
            .project("proj-1")
            .resource(format!("{zone}/volume/{i}"));
        ids.push(enqueue(&pool, &job).await.unwrap().id);
    }
    enqueue(
        &pool,
        &NewJob::new("other", "fr-par-1", json!({})).caller("svc-b"),
    )
    .await
    .unwrap();
    let filter = JobFilter {
        caller: Some("svc-a".into()),
        ..JobFilter::default()
    };
    let p1 = list_jobs(&pool, &filter, None, 3).await.unwrap();
    assert_eq!(
        p1.jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![ids[6], ids[5], ids[4]]
    );
    let p2 = list_jobs(&pool, &filter, p1.next_after, 3).await.unwrap();
    let p3 = list_jobs(&pool, &filter, p2.next_after, 3).await.unwrap();
    assert_eq!(p3.jobs.len(), 1);
    assert_eq!(p3.next_after, None);
    let zone = list_jobs(
        &pool,
        &JobFilter {
            zone: Some("nl-ams-1".into()),
            states: vec![JobState::Available],
            ..JobFilter::default()
        },
        None,
        100,
    )
    .await
    .unwrap();
    assert_eq!(zone.jobs.len(), 3);
    let res = list_jobs(
        &pool,
        &JobFilter {
            resource: Some("fr-par-1/volume/2".into()),
            project: Some("proj-1".into()),
            kind: Some("snapshot.create".into()),
            ..JobFilter::default()
        },
        None,
        100,
    )
    .await
    .unwrap();
    assert_eq!(res.jobs.len(), 1);
    assert!(matches!(
        get_job(&pool, 999_999).await,
        Err(SchedulerError::NotFound(999_999))
    ));

    claim_n(&pool, &["fr-par-1"], 1).await;
    let stats = queue_stats(&pool).await.unwrap();
    let count = |state: JobState, kind: &str, zone: &str| {
        stats
            .iter()
            .find(|s| s.state == state && s.kind == kind && s.zone == zone)
            .map_or(0, |s| s.count)
    };
    assert_eq!(count(JobState::Available, "snapshot.create", "nl-ams-1"), 3);
    assert_eq!(count(JobState::Running, "snapshot.create", "fr-par-1"), 1);
    assert_eq!(count(JobState::Available, "snapshot.create", "fr-par-1"), 3);
    assert!(stats.iter().all(|s| s.oldest_created_age_secs >= 0.0));
}

#[tokio::test]
async fn prune_deletes_old_finished_jobs_only() {
    let pool = db().await;
    let done = enqueue(&pool, &NewJob::new("k", "z", json!({})))
        .await
        .unwrap();
    let waiting = enqueue(&pool, &NewJob::new("k", "z", json!({})))
        .await
        .unwrap();
    let jobs = claim_n(&pool, &["z"], 1).await;
    jobs[0].complete(&json!(null)).await.unwrap();
    sqlx::query("UPDATE jobs SET finished_at = now() - interval '2 hours' WHERE id = $1")
        .bind(done.id)
        .execute(&pool)
        .await
        .unwrap();
    let n = prune_finished(
        &pool,
        Duration::from_secs(3600),
        Duration::from_secs(3600),
        100,
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
    assert!(get_job(&pool, done.id).await.is_err());
    assert!(get_job(&pool, waiting.id).await.is_ok());
}
