//! Zone leases: exclusive ownership, renewal, expiry takeover with a new epoch, release, and
//! the worker membership.
mod common;

use std::time::Duration;

use common::db;
use fleet_scheduler::*;

const LONG: Duration = Duration::from_secs(60);

#[tokio::test]
async fn one_owner_at_a_time_and_epoch_grows_on_takeover() {
    let pool = db().await;
    let a = try_acquire_zone(&pool, "fr-par-1", "a", "10.0.0.1:7000", LONG)
        .await
        .unwrap()
        .expect("free zone is taken");
    assert_eq!((a.owner.as_str(), a.epoch), ("a", 1));
    assert!(
        try_acquire_zone(&pool, "fr-par-1", "b", "10.0.0.2:7000", LONG)
            .await
            .unwrap()
            .is_none(),
        "a held lease cannot be taken"
    );
    // Re-acquiring by the holder renews in the same epoch.
    let again = try_acquire_zone(&pool, "fr-par-1", "a", "10.0.0.1:7000", LONG)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.epoch, 1);

    // Release hands over at once; the taker gets the next epoch.
    assert!(release_zone(&pool, &a).await.unwrap());
    assert!(zone_owner(&pool, "fr-par-1").await.unwrap().is_none());
    let b = try_acquire_zone(&pool, "fr-par-1", "b", "10.0.0.2:7000", LONG)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((b.owner.as_str(), b.epoch), ("b", 2));
    // The old holder can neither renew nor release any more.
    assert!(renew_zone(&pool, &a, LONG).await.unwrap().is_none());
    assert!(!release_zone(&pool, &a).await.unwrap());
    let owners = zone_owners(&pool).await.unwrap();
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0].address, "10.0.0.2:7000");
}

#[tokio::test]
async fn expired_lease_is_taken_over_and_cannot_be_renewed() {
    let pool = db().await;
    let short = Duration::from_millis(50);
    let a = try_acquire_zone(&pool, "nl-ams-1", "a", "", short)
        .await
        .unwrap()
        .unwrap();
    // Wait on the condition (the lease has expired in the database's clock), not a fixed sleep.
    while zone_owner(&pool, "nl-ams-1").await.unwrap().is_some() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(renew_zone(&pool, &a, LONG).await.unwrap().is_none());
    let b = try_acquire_zone(&pool, "nl-ams-1", "b", "", LONG)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.epoch, a.epoch + 1);
    let renewed = renew_zone(&pool, &b, LONG).await.unwrap().unwrap();
    assert_eq!(renewed.epoch, b.epoch);
}

#[tokio::test]
async fn concurrent_acquirers_yield_exactly_one_owner() {
    let pool = db().await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            try_acquire_zone(&pool, "pl-waw-1", &format!("w{i}"), "", LONG)
                .await
                .unwrap()
        }));
    }
    let mut winners = 0;
    for task in tasks {
        if task.await.unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn membership_lists_live_workers_only() {
    let pool = db().await;
    let zones = vec!["fr-par-1".to_owned(), "fr-par-2".to_owned()];
    heartbeat_worker(&pool, "w1", "a:1", &zones, LONG)
        .await
        .unwrap();
    let members = heartbeat_worker(&pool, "w2", "a:2", &zones, LONG)
        .await
        .unwrap();
    let ids: Vec<_> = members.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["w1", "w2"]);
    assert_eq!(members[0].zones, zones);
    leave_workers(&pool, "w1").await.unwrap();
    let ids: Vec<_> = live_workers(&pool)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["w2"]);
}

#[tokio::test]
async fn every_lease_write_is_recorded_in_the_history_with_its_epoch() {
    let pool = db().await;
    // Long enough that a loaded machine renews well before expiry; the lease is then made to
    // expire on purpose by a renewal with a short TTL.
    let ttl = Duration::from_secs(5);
    let short = Duration::from_millis(50);
    let a = try_acquire_zone(&pool, "fr-par-2", "a", "", ttl)
        .await
        .unwrap()
        .unwrap();
    let history = lease_history(&pool).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (
            history[0].zone.as_str(),
            history[0].epoch,
            history[0].owner.as_str()
        ),
        ("fr-par-2", a.epoch, "a")
    );
    assert_eq!(
        (history[0].acquired_at, history[0].expires_at),
        (a.acquired_at, a.expires_at)
    );

    // A renewal extends the recorded expiry of the same epoch.
    let renewed = renew_zone(&pool, &a, ttl).await.unwrap().unwrap();
    let history = lease_history(&pool).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].expires_at, renewed.expires_at);
    assert!(history[0].expires_at > a.expires_at);
    // A renewal with a short TTL is recorded too (and lets the lease run out soon).
    let renewed = renew_zone(&pool, &renewed, short).await.unwrap().unwrap();
    let history = lease_history(&pool).await.unwrap();
    assert_eq!(history[0].expires_at, renewed.expires_at);

    // Expiry without renewal, then a takeover: a new epoch row; the old row keeps its expiry,
    // which lies before the successor's grant.
    while zone_owner(&pool, "fr-par-2").await.unwrap().is_some() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let b = try_acquire_zone(&pool, "fr-par-2", "b", "", LONG)
        .await
        .unwrap()
        .unwrap();
    let history = lease_history(&pool).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        (history[1].epoch, history[1].owner.as_str()),
        (b.epoch, "b")
    );
    assert_eq!(history[0].expires_at, renewed.expires_at);
    assert!(history[0].expires_at <= history[1].acquired_at);

    // A release cuts the recorded expiry short; a refused renewal writes nothing.
    assert!(release_zone(&pool, &b).await.unwrap());
    assert!(!release_zone(&pool, &b).await.unwrap());
    assert!(renew_zone(&pool, &a, LONG).await.unwrap().is_none());
    let history = lease_history(&pool).await.unwrap();
    assert_eq!(history.len(), 2);
    assert!(history[1].expires_at < b.expires_at);
    assert!(history[1].expires_at >= history[1].acquired_at);
}

#[tokio::test]
async fn expired_epochs_are_pruned_after_the_retention_but_never_a_current_one() {
    let pool = db().await;
    let day = Duration::from_secs(24 * 3600);
    // fr-par-1: epoch 1 released, epoch 2 held now. nl-ams-1: epoch 1 held now.
    let first = try_acquire_zone(&pool, "fr-par-1", "a", "", LONG)
        .await
        .unwrap()
        .unwrap();
    assert!(release_zone(&pool, &first).await.unwrap());
    let current = try_acquire_zone(&pool, "fr-par-1", "b", "", LONG)
        .await
        .unwrap()
        .unwrap();
    try_acquire_zone(&pool, "nl-ams-1", "a", "", LONG)
        .await
        .unwrap()
        .unwrap();
    let epochs = |history: Vec<LeaseEpoch>| -> Vec<(String, i64)> {
        history.into_iter().map(|e| (e.zone, e.epoch)).collect()
    };
    // Young epochs stay.
    assert_eq!(prune_lease_history(&pool, day, 100).await.unwrap(), 0);
    // Every recorded epoch made to look 40 days old: the released one goes, the current ones
    // (however old their record) stay.
    sqlx::query(
        "UPDATE zone_lease_history SET acquired_at = now() - interval '41 days', \
         expires_at = now() - interval '40 days'",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(prune_lease_history(&pool, 30 * day, 100).await.unwrap(), 1);
    assert_eq!(
        epochs(lease_history(&pool).await.unwrap()),
        [
            ("fr-par-1".to_owned(), current.epoch),
            ("nl-ams-1".to_owned(), 1)
        ]
    );
    assert_eq!(prune_lease_history(&pool, 30 * day, 100).await.unwrap(), 0);
}
