//! Zone ownership across workers: even sharing, failover when an owner stops renewing or dies,
//! graceful hand-over when a worker joins or leaves, and, in every case, the emulator's call log
//! showing no zone called by two workers in overlapping lease epochs.

mod ownership_support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime};

use fleet_core::Zone;
use fleet_emulator::Faults;
use fleet_scaleway::Client;
use fleet_scheduler::LeaseEpoch;
use ownership_support::{
    Running, assert_no_overlap, chatty, db, emulator, eventually, scaleway_config, start,
    worker_config,
};

const TTL: Duration = Duration::from_secs(1);
const ZONES: [Zone; 4] = [Zone::FrPar1, Zone::FrPar2, Zone::NlAms1, Zone::PlWaw1];

fn held(worker: &Running) -> BTreeSet<Zone> {
    worker.handle.held_zones().into_iter().collect()
}

/// Waits until `a` and `b` hold two zones each, together all of them.
async fn until_even(a: &Running, b: &Running) {
    eventually(
        "an even split of the zones",
        Duration::from_secs(20),
        || async {
            let (ha, hb) = (held(a), held(b));
            (ha.len() == 2 && hb.len() == 2 && ha.is_disjoint(&hb)).then_some(())
        },
    )
    .await;
}

/// Waits until `survivor` holds every zone; returns how long it took.
async fn until_all_held(survivor: &Running, since: Instant, bound: Duration) -> Duration {
    eventually("the survivor to hold every zone", bound * 10, || async {
        (held(survivor).len() == ZONES.len()).then_some(())
    })
    .await;
    since.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_that_stops_renewing_loses_its_zones_within_two_ttls() {
    let (url, pool) = db().await;
    let emu = emulator().await;
    let client = Client::new(scaleway_config(&emu)).unwrap();
    let config = worker_config(&url, &emu, &ZONES, TTL);
    let a = start(&config, &pool, &client, chatty()).await;
    let b = start(&config, &pool, &client, chatty()).await;
    until_even(&a, &b).await;
    // Let both call their zones for a while.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let lost = held(&a);
    let stalled_at = Instant::now();
    a.handle.stall_renewals(true);
    // The stalled owner stops calling by its own deadline, before anyone may take over.
    eventually("the stalled owner to revoke its zones", TTL * 2, || async {
        held(&a).is_empty().then_some(())
    })
    .await;
    let took = until_all_held(&b, stalled_at, 2 * TTL).await;
    assert!(
        took <= 2 * TTL,
        "failover took {took:?}, more than twice the lease ttl"
    );
    let after = b.handle.held_epochs();
    // The survivor keeps calling the zones it took over for a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let zones = assert_no_overlap(&emu.call_log());
    for zone in &lost {
        let epochs = &zones[zone.as_str()];
        assert!(
            epochs.values().any(|e| e.worker == a.id()),
            "{zone}: no call by the first owner"
        );
        let (_, epoch) = after.iter().find(|(z, _)| z == zone).unwrap();
        let taken = &epochs[epoch];
        assert_eq!(
            taken.worker,
            b.id(),
            "{zone}: epoch {epoch} is not the survivor's"
        );
        assert!(taken.count > 0);
    }

    a.handle.stall_renewals(false);
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_owner_stops_calling_at_once_and_its_zones_move() {
    let (url, pool) = db().await;
    let emu = emulator().await;
    let client = Client::new(scaleway_config(&emu)).unwrap();
    let config = worker_config(&url, &emu, &ZONES, TTL);
    let a = start(&config, &pool, &client, chatty()).await;
    let b = start(&config, &pool, &client, chatty()).await;
    until_even(&a, &b).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let killed_at = Instant::now();
    a.task.abort();
    let took = until_all_held(&b, killed_at, 2 * TTL).await;
    assert!(
        took <= 2 * TTL,
        "failover took {took:?}, more than twice the lease ttl"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let zones = assert_no_overlap(&emu.call_log());
    assert_eq!(zones.len(), ZONES.len());
    // The dead worker's leases were taken over, not released: their epochs moved on.
    let leases = fleet_scheduler::zone_owners(&pool).await.unwrap();
    assert_eq!(leases.len(), ZONES.len());
    assert!(leases.iter().all(|l| l.owner == b.id()));
    assert!(leases.iter().any(|l| l.epoch >= 2));
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joining_worker_takes_its_share_and_a_leaving_one_hands_over() {
    let (url, pool) = db().await;
    let emu = emulator().await;
    let client = Client::new(scaleway_config(&emu)).unwrap();
    let config = worker_config(&url, &emu, &ZONES, TTL);
    let a = start(&config, &pool, &client, chatty()).await;
    eventually(
        "the first worker to hold every zone",
        Duration::from_secs(10),
        || async { (held(&a).len() == ZONES.len()).then_some(()) },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A second worker joins: the first hands half of the zones over.
    let b = start(&config, &pool, &client, chatty()).await;
    let joined_at = Instant::now();
    until_even(&a, &b).await;
    assert!(
        joined_at.elapsed() < 5 * TTL,
        "hand-over took {:?}",
        joined_at.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    // It leaves gracefully: its leases are released, so the first takes them back at its
    // next round instead of after an expiry. Shown from the lease history, not a stopwatch
    // (a loaded machine delays rounds): each of its epochs ended no later than the moment
    // its stop returned, where one left to expire would still be valid for most of a TTL
    // (it renews every third of one).
    let leaving = b.id();
    let left_at = Instant::now();
    let epochs: Vec<(String, i64)> = fleet_scheduler::zone_owners(&pool)
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.owner == leaving)
        .map(|l| (l.zone, l.epoch))
        .collect();
    b.stop().await.unwrap();
    let stopped_at: time::OffsetDateTime = sqlx::query_scalar("SELECT now()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let history = fleet_scheduler::lease_history(&pool).await.unwrap();
    for (zone, epoch) in &epochs {
        let ended = history
            .iter()
            .find(|h| &h.zone == zone && h.epoch == *epoch)
            .unwrap_or_else(|| panic!("no history of {zone} epoch {epoch}"));
        assert!(
            ended.expires_at <= stopped_at,
            "{zone} epoch {epoch} was left to expire at {} (stop returned at {stopped_at})",
            ended.expires_at
        );
    }
    until_all_held(&a, left_at, TTL).await;
    let members = fleet_scheduler::live_workers(&pool).await.unwrap();
    assert!(members.iter().all(|m| m.id != leaving));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let zones = assert_no_overlap(&emu.call_log());
    // Two zones went to the second worker and came back: three epochs each.
    let moved = zones
        .values()
        .filter(|epochs| epochs.values().any(|e| e.worker == leaving))
        .count();
    assert_eq!(moved, 2);
    a.stop().await.unwrap();
    assert!(
        fleet_scheduler::zone_owners(&pool)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        fleet_scheduler::live_workers(&pool)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Every call made under a lease epoch arrived before that epoch's recorded expiry.
fn assert_calls_within_leases(log: &[fleet_emulator::CallRecord], history: &[LeaseEpoch]) {
    for call in log {
        let (Some(zone), Some(caller)) = (&call.zone, &call.caller) else {
            continue;
        };
        let (_, epoch) = caller.rsplit_once('/').expect("caller is worker/epoch");
        let epoch: i64 = epoch.parse().expect("epoch is a number");
        let lease = history
            .iter()
            .find(|l| &l.zone == zone && l.epoch == epoch)
            .unwrap_or_else(|| panic!("{zone}: no recorded lease for epoch {epoch}"));
        let expired = SystemTime::from(lease.expires_at);
        assert!(
            call.at < expired,
            "{zone}: epoch {epoch} called {} {} {:?} after its lease expired",
            call.method,
            call.path,
            call.at.duration_since(expired).unwrap_or_default()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_stuck_in_a_database_call_still_stops_calling_at_its_deadline() {
    let (url, pool) = db().await;
    let emu = emulator().await;
    let client = Client::new(scaleway_config(&emu)).unwrap();
    let zone = Zone::FrPar1;
    let config = worker_config(&url, &emu, &[zone], TTL);
    let a = start(&config, &pool, &client, chatty()).await;
    let (_, first) = eventually(
        "the worker to own its zone",
        Duration::from_secs(10),
        || async { a.handle.held_epochs().into_iter().next() },
    )
    .await;

    // The zone answers 429 while its pause table is locked: the owner's throttle, pausing the
    // zone's claims, waits on the lock for as long as it is held.
    let mut locker = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE zone_pauses IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *locker)
        .await
        .unwrap();
    emu.set_faults(Faults {
        rate_429: 1.0,
        zones: Some(vec![zone.as_str().to_owned()]),
        ..Faults::default()
    });
    eventually(
        "the claim pause to wait on the lock",
        Duration::from_secs(10),
        || async {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
             WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO zone_pauses%'",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            (waiting > 0).then_some(())
        },
    )
    .await;
    // The owner gives the epoch up by its deadline although its loop is waiting on the lock.
    eventually("the stuck owner to give its epoch up", TTL * 2, || async {
        (!a.handle.held_epochs().contains(&(zone, first))).then_some(())
    })
    .await;
    // Long enough past the expiry for a worker still calling to show in the log.
    tokio::time::sleep(TTL).await;
    locker.commit().await.unwrap();
    emu.set_faults(Faults::default());

    let history = fleet_scheduler::lease_history(&pool).await.unwrap();
    assert_calls_within_leases(&emu.call_log(), &history);
    a.stop().await.unwrap();
}
