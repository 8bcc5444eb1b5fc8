//! The NOTIFY listener wakes runners and survives a terminated backend connection.
mod common;

use std::time::Duration;

use common::db;
use fleet_scheduler::*;
use serde_json::json;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

async fn expect_enqueued(rx: &mut broadcast::Receiver<ListenerEvent>, zone: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let event = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("timed out waiting for the enqueue notification")
            .expect("listener channel closed");
        if event == (ListenerEvent::Enqueued { zone: zone.into() }) {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listener_reconnects_after_backend_is_terminated() {
    let pool = db().await;
    let shutdown = CancellationToken::new();
    let listener = Listener::start(&pool, shutdown.clone());
    let pid = common::eventually("listener connected", Duration::from_secs(10), || async {
        let pid = listener.backend_pid();
        (pid != 0).then_some(pid)
    })
    .await;
    let mut rx = listener.subscribe();
    enqueue(&pool, &NewJob::new("k", "fr-par-1", json!({})))
        .await
        .unwrap();
    expect_enqueued(&mut rx, "fr-par-1").await;

    // A runner that only polls once an hour: only NOTIFY can wake it.
    let mut cfg = RunnerConfig::new(vec!["nl-ams-1".into()], "w");
    cfg.poll_interval = Duration::from_secs(3600);
    let runner = Runner::new(pool.clone(), cfg, |_job: ClaimedJob| async {
        Outcome::Complete(json!(null))
    })
    .with_listener(listener.clone());
    let counters = runner.counters();
    let task = tokio::spawn(runner.run(shutdown.clone()));

    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(killed);
    let new_pid = common::eventually("listener reconnected", Duration::from_secs(20), || async {
        let p = listener.backend_pid();
        (p != 0 && p != pid).then_some(p)
    })
    .await;
    assert_ne!(new_pid, pid);
    assert!(listener.connects() >= 2);

    // A new enqueue still wakes subscribers and the runner.
    let mut rx = listener.subscribe();
    let e = enqueue(&pool, &NewJob::new("k", "nl-ams-1", json!({})))
        .await
        .unwrap();
    expect_enqueued(&mut rx, "nl-ams-1").await;
    common::eventually(
        "runner woken by notify",
        Duration::from_secs(10),
        || async { (RunnerCounters::get(&counters.completed) == 1).then_some(()) },
    )
    .await;
    assert_eq!(
        get_job(&pool, e.id).await.unwrap().state,
        JobState::Completed
    );
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wait_for_change_wakes_on_completion() {
    let pool = db().await;
    let shutdown = CancellationToken::new();
    let listener = Listener::start(&pool, shutdown.clone());
    common::eventually("listener connected", Duration::from_secs(10), || async {
        (listener.backend_pid() != 0).then_some(())
    })
    .await;
    let e = enqueue(&pool, &NewJob::new("k", "z", json!({})))
        .await
        .unwrap();
    let job = common::claim_n(&pool, &["z"], 1).await.remove(0);
    let waiter = {
        let pool = pool.clone();
        let listener = listener.clone();
        tokio::spawn(async move {
            wait_for_change(
                &pool,
                Some(&listener),
                e.id,
                None,
                Duration::from_secs(30),
                Duration::from_secs(3600),
            )
            .await
        })
    };
    // Progress is a change for a watcher that passes `since`.
    let before = get_job(&pool, e.id).await.unwrap().updated_at;
    let watcher = {
        let pool = pool.clone();
        let listener = listener.clone();
        tokio::spawn(async move {
            wait_for_change(
                &pool,
                Some(&listener),
                e.id,
                Some(before),
                Duration::from_secs(30),
                Duration::from_secs(3600),
            )
            .await
        })
    };
    job.record_progress(&Progress {
        percent: Some(10.0),
        ..Progress::default()
    })
    .await
    .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(20), watcher)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(seen.progress.percent, Some(10.0));
    job.complete(&json!({"done": 1})).await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(20), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(done.state, JobState::Completed);
    shutdown.cancel();
}
