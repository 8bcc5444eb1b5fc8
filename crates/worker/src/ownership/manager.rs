//! The ownership manager: membership heartbeats, the fair share, acquisitions and hand-overs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use fleet_core::Zone;
use fleet_scaleway::Client;
use fleet_scheduler::{
    Listener, ZoneLease, heartbeat_worker, leave_workers, try_acquire_zone, zone_owners,
};
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::metrics::{LeaseChange, record_lease_change};
use super::zone_task::{ZoneEnd, ZoneTask};
use super::{HeldZones, OwnershipConfig, OwnershipError, Stall, ZoneWorkFactory};
use crate::context::ZoneGuard;

/// A zone task, as the manager sees it.
struct Slot {
    epoch: i64,
    task: tokio::task::Id,
    /// Asks the zone task to give the zone up gracefully.
    release: CancellationToken,
}

/// The ownership manager: membership, fair share, acquisition and hand-over.
pub struct Ownership {
    config: OwnershipConfig,
    pool: PgPool,
    client: Client,
    work: ZoneWorkFactory,
    held: HeldZones,
    stall: Stall,
    listener: Option<Listener>,
}

impl std::fmt::Debug for Ownership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ownership")
            .field("config", &self.config)
            .field("held", &self.held.snapshot())
            .finish_non_exhaustive()
    }
}

impl Ownership {
    /// A manager; `client` is the shared Scaleway client each zone's client is cloned from.
    pub fn new(
        config: OwnershipConfig,
        pool: PgPool,
        client: Client,
        work: ZoneWorkFactory,
    ) -> Self {
        Self {
            config,
            pool,
            client,
            work,
            held: HeldZones::default(),
            stall: Stall::default(),
            listener: None,
        }
    }

    /// Wake the zones' runners on enqueue notifications (otherwise they poll).
    pub fn with_listener(mut self, listener: Listener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// The zones held now (shared; stays current while [`Ownership::run`] runs).
    pub fn held(&self) -> HeldZones {
        self.held.clone()
    }

    /// The fault-injection switch of this manager.
    pub fn stall(&self) -> Stall {
        self.stall.clone()
    }

    /// Runs until `shutdown` is cancelled, then releases every zone and leaves the membership.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), OwnershipError> {
        let config = &self.config;
        if config.zones.is_empty() || config.lease_ttl < Duration::from_millis(30) {
            return Err(OwnershipError::Invalid(
                "needs at least one zone and a lease ttl of at least 30ms".to_owned(),
            ));
        }
        let zone_names: Vec<String> = config.zones.iter().map(|z| z.as_str().to_owned()).collect();
        let mut tasks: JoinSet<(Zone, i64, ZoneEnd)> = JoinSet::new();
        let mut slots: BTreeMap<Zone, Slot> = BTreeMap::new();
        let mut cooldown: HashMap<Zone, Instant> = HashMap::new();
        let mut tick = tokio::time::interval(config.renew_every());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!(worker_id = %config.worker_id, address = %config.address,
            zones = ?zone_names, lease_ttl_ms = config.lease_ttl.as_millis(), "zone ownership started");

        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    reap(&config.worker_id, joined, &mut slots);
                    continue;
                }
                _ = tick.tick() => {}
            }
            if self.stall.is_stalled() {
                continue;
            }
            let round = self.round(&zone_names, &mut tasks, &mut slots, &mut cooldown);
            // A round is bounded so a hung database cannot delay shutdown or reaping; the
            // zone tasks enforce their own deadlines either way.
            match tokio::time::timeout(config.lease_ttl, round).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => {
                    tracing::warn!(worker_id = %config.worker_id, error = %err, "ownership round failed");
                }
                Err(_) => {
                    tracing::warn!(worker_id = %config.worker_id, "ownership round timed out");
                }
            }
        }

        // Graceful stop: every zone task stops its work, revokes and releases its lease.
        for slot in slots.values() {
            slot.release.cancel();
        }
        let bound = config.runner_grace() + config.lease_ttl * 2;
        let drained = tokio::time::timeout(bound, async {
            while let Some(joined) = tasks.join_next_with_id().await {
                reap(&config.worker_id, joined, &mut slots);
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(worker_id = %config.worker_id, zones = ?slots.keys().collect::<Vec<_>>(),
                "zones not released in time; their leases will expire");
            // Dropping the tasks revokes their guards.
            tasks.shutdown().await;
        }
        if let Err(err) = leave_workers(&self.pool, &config.worker_id).await {
            tracing::warn!(worker_id = %config.worker_id, error = %err, "could not leave the worker membership");
        }
        tracing::info!(worker_id = %config.worker_id, "zone ownership stopped");
        Ok(())
    }

    /// One round: heartbeat, share, acquisitions, hand-overs.
    async fn round(
        &self,
        zone_names: &[String],
        tasks: &mut JoinSet<(Zone, i64, ZoneEnd)>,
        slots: &mut BTreeMap<Zone, Slot>,
        cooldown: &mut HashMap<Zone, Instant>,
    ) -> fleet_scheduler::Result<()> {
        let config = &self.config;
        let me = config.worker_id.as_str();
        let members = heartbeat_worker(
            &self.pool,
            me,
            &config.address,
            zone_names,
            config.lease_ttl,
        )
        .await?;
        let owners = zone_owners(&self.pool).await?;
        let now = Instant::now();
        // A cooldown keeps a handed-over zone for the worker below its share; once another
        // worker holds it, it has done its job.
        cooldown.retain(|zone, until| {
            *until > now
                && !owners
                    .iter()
                    .any(|l| l.zone == zone.as_str() && l.owner != me)
        });

        let mine: HashSet<&str> = zone_names.iter().map(String::as_str).collect();
        let acceptors: Vec<_> = members
            .iter()
            .filter(|m| m.id == me || m.zones.iter().any(|z| mine.contains(z.as_str())))
            .collect();
        let workers = acceptors.len().max(1);
        let total = config.zones.len();
        let ceil = total.div_ceil(workers);
        let floor = total / workers;

        let owned: HashMap<&str, &ZoneLease> =
            owners.iter().map(|l| (l.zone.as_str(), l)).collect();
        let active = slots.values().filter(|s| !s.release.is_cancelled()).count();

        // Acquire free zones up to the ceiling.
        if active < ceil {
            let mut free: Vec<Zone> = config
                .zones
                .iter()
                .copied()
                .filter(|z| !slots.contains_key(z))
                .filter(|z| !owned.contains_key(z.as_str()))
                .filter(|z| !cooldown.contains_key(z))
                .collect();
            free.sort_by_key(|z| std::cmp::Reverse(rendezvous(me, *z)));
            let mut wanted = ceil - active;
            for zone in free {
                if wanted == 0 {
                    break;
                }
                let sent_at = Instant::now();
                let Some(lease) = try_acquire_zone(
                    &self.pool,
                    zone.as_str(),
                    me,
                    &config.address,
                    config.lease_ttl,
                )
                .await?
                else {
                    continue;
                };
                wanted -= 1;
                self.start_zone(zone, lease, sent_at, tasks, slots);
            }
        }

        // Hand over zones above the floor while another worker is below it.
        let active = slots.values().filter(|s| !s.release.is_cancelled()).count();
        if active > floor {
            let mut counts: HashMap<&str, usize> = HashMap::new();
            for lease in &owners {
                *counts.entry(lease.owner.as_str()).or_default() += 1;
            }
            let below: Vec<_> = acceptors
                .iter()
                .filter(|m| m.id != me)
                .filter(|m| counts.get(m.id.as_str()).copied().unwrap_or(0) < floor)
                .collect();
            let deficit: usize = below
                .iter()
                .map(|m| floor - counts.get(m.id.as_str()).copied().unwrap_or(0))
                .sum();
            let mut to_release = (active - floor).min(deficit);
            let mut candidates: Vec<Zone> = slots
                .iter()
                .filter(|(_, s)| !s.release.is_cancelled())
                .map(|(z, _)| *z)
                .filter(|z| {
                    below
                        .iter()
                        .any(|m| m.zones.iter().any(|mz| mz == z.as_str()))
                })
                .collect();
            candidates.sort_by_key(|z| rendezvous(me, *z));
            for zone in candidates {
                if to_release == 0 {
                    break;
                }
                if let Some(slot) = slots.get(&zone) {
                    tracing::info!(worker_id = me, zone = %zone, epoch = slot.epoch,
                        "handing zone over to a worker below its share");
                    slot.release.cancel();
                    cooldown.insert(zone, now + config.lease_ttl * 2);
                    to_release -= 1;
                }
            }
        }
        Ok(())
    }

    fn start_zone(
        &self,
        zone: Zone,
        lease: ZoneLease,
        sent_at: Instant,
        tasks: &mut JoinSet<(Zone, i64, ZoneEnd)>,
        slots: &mut BTreeMap<Zone, Slot>,
    ) {
        let config = &self.config;
        let epoch = lease.epoch;
        let guard = ZoneGuard::new(zone, epoch);
        let client = self
            .client
            .with_caller(format!("{}/{epoch}", config.worker_id))
            .with_cancel(guard.token());
        let release = CancellationToken::new();
        tracing::info!(worker_id = %config.worker_id, zone = %zone, epoch, "zone acquired");
        let task = ZoneTask {
            config: config.clone(),
            pool: self.pool.clone(),
            work: self.work.clone(),
            held: self.held.clone(),
            stall: self.stall.clone(),
            listener: self.listener.clone(),
            zone,
            lease,
            guard,
            client,
            deadline: sent_at + config.lease_ttl.saturating_sub(config.safety_margin()),
        };
        let slot_release = release.clone();
        let handle = tasks.spawn(async move {
            let end = task.run(release).await;
            (zone, epoch, end)
        });
        slots.insert(
            zone,
            Slot {
                epoch,
                task: handle.id(),
                release: slot_release,
            },
        );
        record_lease_change(
            &config.worker_id,
            zone,
            epoch,
            LeaseChange::Acquired,
            slots.len(),
        );
    }
}

/// Records the end of a zone task.
fn reap(
    worker_id: &str,
    joined: Result<(tokio::task::Id, (Zone, i64, ZoneEnd)), tokio::task::JoinError>,
    slots: &mut BTreeMap<Zone, Slot>,
) {
    match joined {
        Ok((_, (zone, epoch, end))) => {
            if slots.get(&zone).is_some_and(|s| s.epoch == epoch) {
                slots.remove(&zone);
            }
            let change = match end {
                ZoneEnd::Released => LeaseChange::Released,
                ZoneEnd::Lost | ZoneEnd::Expired => LeaseChange::Lost,
            };
            record_lease_change(worker_id, zone, epoch, change, slots.len());
            match end {
                ZoneEnd::Released => tracing::info!(zone = %zone, epoch, "zone released"),
                ZoneEnd::Lost => tracing::warn!(zone = %zone, epoch, "zone lease lost"),
                ZoneEnd::Expired => {
                    tracing::warn!(zone = %zone, epoch, "zone lease expired before it could be renewed")
                }
            }
        }
        Err(err) => {
            // The task panicked or was aborted: its guard was revoked on drop, and its lease
            // expires on its own.
            let id = err.id();
            let zone = slots.iter().find(|(_, s)| s.task == id).map(|(z, _)| *z);
            if let Some(zone) = zone
                && let Some(slot) = slots.remove(&zone)
            {
                record_lease_change(worker_id, zone, slot.epoch, LeaseChange::Lost, slots.len());
            }
            tracing::error!(zone = ?zone, error = %err, "zone task failed");
        }
    }
}

/// Rendezvous score of `zone` for `worker`: higher is preferred.
fn rendezvous(worker: &str, zone: Zone) -> u64 {
    let mut hasher = DefaultHasher::new();
    worker.hash(&mut hasher);
    zone.as_str().hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendezvous_spreads_preferences() {
        let a: Vec<Zone> = {
            let mut z = Zone::ALL.to_vec();
            z.sort_by_key(|z| rendezvous("worker-a", *z));
            z
        };
        let b: Vec<Zone> = {
            let mut z = Zone::ALL.to_vec();
            z.sort_by_key(|z| rendezvous("worker-b", *z));
            z
        };
        assert_ne!(a, b);
        assert_eq!(rendezvous("w", Zone::FrPar1), rendezvous("w", Zone::FrPar1));
    }
}
