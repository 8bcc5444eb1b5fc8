//! Zone ownership: which zones this worker calls Scaleway for, and the life of each held zone.
//!
//! # Leases
//!
//! A zone is held through its row in `zone_leases` (see `fleet_scheduler::zone_lease`): an
//! owner, the owner's internal gRPC address, a fencing epoch (one more at every change of
//! owner) and an expiry. Each held zone has its own task ([`zone_task`]) that renews the lease
//! every `ttl / 3` and runs the zone's work; the manager loop ([`Ownership::run`]) only
//! decides which zones to take and which to hand over.
//!
//! # Never two callers of a zone
//!
//! The lease expires at `db_now(renewal) + ttl`. The holder measures its own deadline from the
//! instant *before* it sent the renewal, minus a safety margin of `ttl / 10` (clock rate
//! drift, requests on the wire), so its deadline always comes before any other worker may take
//! the zone. At the deadline, or as soon as a renewal says the lease is lost, the zone's
//! [`ZoneGuard`] is revoked: its cancellation token stops the zone's client (every rate-limit
//! wait, back-off sleep and request in flight) and stops the zone's runner and watcher. A
//! renewal that hangs is cut at the deadline too, so a stuck database cannot keep a worker
//! calling a zone it may have lost. If the task itself is dropped (the worker's run future is
//! aborted) the guard is revoked on drop.
//!
//! Every upstream call of the zone carries `X-Fleet-Caller: {worker_id}/{epoch}`, so the
//! emulator's call log shows who called in which epoch.
//!
//! # Fair sharing
//!
//! Every round (`ttl / 3`) the worker heartbeats its membership (`fleet_workers`), and computes
//! its share of the zones it may own among the live workers that accept any of them:
//! `ceil(zones / workers)` at most, `floor(zones / workers)` at least. It takes free or expired
//! zones up to the ceiling, preferring zones by rendezvous hashing of (worker id, zone) so that
//! concurrent workers mostly reach for different zones. A worker above the floor while another
//! live worker is below it hands zones over: it stops the zone's work gracefully (the runner
//! releases its jobs), revokes the guard, then releases the lease, and does not take that zone
//! back for two TTLs, so the worker below its share gets it. A joining worker therefore gets
//! its share within a few rounds, and a leaving worker's zones are free at once (graceful
//! shutdown releases every lease and leaves the membership).
//!
//! # Rate limits slow the claimer
//!
//! A zone being answered 429 must not keep claiming jobs it cannot serve. The zone task
//! watches the client's 429 counter ([`Client::throttled`], shared by every clone) and, on new
//! 429s, pauses the claiming of that zone's jobs in Postgres for a back-off that doubles while
//! the 429s continue (1 s up to 30 s) and resets after a quiet period. The pause is written so
//! that it never replaces an operator's pause (one without an end, or ending later). Meanwhile
//! the client's own token bucket is emptied and paused by each 429, so jobs already running
//! wait for budget instead of adding to the storm. The runner claims only into free slots (the
//! zone's concurrency), so the jobs waiting for budget are bounded too.
//!
//! The budget is also spent before a job is claimed, not after: the zone's runner asks a
//! claim gate ([`claimable`]) before each claim, which waits (briefly) until the zone's token
//! bucket holds a token that no running job is waiting for, and lets the runner claim only as
//! many jobs as there are such tokens. Jobs already claimed and queued for budget therefore
//! hold the claimer back, and a zone with a small rate never claims a burst it cannot serve.
//!
//! # Metrics
//!
//! On the global meter `fleet.worker`: `fleet.worker.zones.owned` (gauge, by `worker_id`: the
//! zones held), `fleet.worker.zone_lease.epoch` (gauge, by `zone`: the epoch of the held lease,
//! 0 once given up or lost) and `fleet.worker.zone_lease.changes` (counter, by `zone` and
//! `change` = `acquired`, `lost` or `released`), recorded where leases change.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use fleet_core::Zone;
use fleet_scaleway::{Client, RateLimiter};
use fleet_scheduler::runner::ClaimGate;
use fleet_scheduler::{
    ClaimedJob, Listener, Outcome, Runner, RunnerConfig, ZoneLease, heartbeat_worker,
    leave_workers, release_zone, renew_zone, try_acquire_zone, zone_owners,
};
use futures::future::BoxFuture;
use opentelemetry::KeyValue;
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::context::{ZoneContext, ZoneGuard};

/// What a held zone runs: its watcher and the handler of its jobs.
///
/// The worker's own implementation is the job handlers of [`crate::jobs`]; tests and tools
/// may plug in another.
pub trait ZoneWork: Send + Sync + 'static {
    /// The zone's watcher; runs until `shutdown` is cancelled. An error is logged and gives
    /// the zone up (another worker, or this one later, starts it afresh).
    fn run_watcher(
        self: Arc<Self>,
        shutdown: CancellationToken,
    ) -> BoxFuture<'static, anyhow::Result<()>>;

    /// Runs one claimed job of the zone.
    fn handle(self: Arc<Self>, job: ClaimedJob) -> BoxFuture<'static, Outcome>;
}

/// Builds the work of a zone when this worker acquires it.
pub type ZoneWorkFactory = Arc<dyn Fn(ZoneContext) -> Arc<dyn ZoneWork> + Send + Sync>;

/// Settings of the ownership manager.
#[derive(Debug, Clone)]
pub struct OwnershipConfig {
    /// Lease owner id (unique per process).
    pub worker_id: String,
    /// The internal gRPC address stored in the leases (where the gateway sends the zone's calls).
    pub address: String,
    /// Zones this worker may own.
    pub zones: Vec<Zone>,
    /// Zone lease TTL (renewed every third).
    pub lease_ttl: Duration,
    /// Jobs in flight per zone.
    pub concurrency: usize,
    /// Lease of a claimed job.
    pub job_lease: Duration,
}

impl OwnershipConfig {
    fn renew_every(&self) -> Duration {
        self.lease_ttl / 3
    }

    /// How much earlier than the lease's expiry this worker stops calling.
    fn safety_margin(&self) -> Duration {
        self.lease_ttl / 10
    }

    /// How long a stopping runner lets its jobs finish before releasing them.
    fn runner_grace(&self) -> Duration {
        self.lease_ttl.max(Duration::from_secs(1))
    }
}

/// A zone this worker holds now.
#[derive(Debug, Clone)]
pub struct HeldZone {
    pub zone: Zone,
    pub epoch: i64,
    /// Revoked when the lease is lost or given up.
    pub guard: ZoneGuard,
    /// The zone's client: caller header `{worker_id}/{epoch}`, cancelled with the guard.
    pub client: Client,
}

/// The zones held now, shared by the ownership manager (writer) and the `ZoneCalls` service.
#[derive(Debug, Clone, Default)]
pub struct HeldZones {
    inner: Arc<RwLock<BTreeMap<Zone, HeldZone>>>,
}

impl HeldZones {
    /// The zone, if held and its guard not revoked.
    pub fn get(&self, zone: Zone) -> Option<HeldZone> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&zone)
            .filter(|held| held.guard.is_held())
            .cloned()
    }

    /// Held zones and their epochs.
    pub fn snapshot(&self) -> Vec<(Zone, i64)> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|held| held.guard.is_held())
            .map(|held| (held.zone, held.epoch))
            .collect()
    }

    fn insert(&self, held: HeldZone) {
        self.inner
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(held.zone, held);
    }

    fn remove(&self, zone: Zone, epoch: i64) {
        let mut map = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if map.get(&zone).is_some_and(|held| held.epoch == epoch) {
            map.remove(&zone);
        }
    }
}

/// Fault injection for failover tests: a stalled worker stops renewing and heartbeating while
/// everything else keeps running, like a process cut off from Postgres.
#[derive(Debug, Clone, Default)]
pub struct Stall {
    stalled: Arc<AtomicBool>,
}

impl Stall {
    /// Stops (`true`) or resumes (`false`) renewals and heartbeats.
    pub fn set(&self, stalled: bool) {
        self.stalled.store(stalled, Ordering::SeqCst);
    }

    /// Whether renewals are stopped.
    pub fn is_stalled(&self) -> bool {
        self.stalled.load(Ordering::SeqCst)
    }
}

/// A failure of the ownership manager that stops it.
#[derive(Debug, thiserror::Error)]
pub enum OwnershipError {
    /// The configuration cannot work.
    #[error("invalid ownership configuration: {0}")]
    Invalid(String),
}

/// Why a zone task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ZoneEnd {
    /// Given up on purpose (hand-over, shutdown, or the zone's work failed) and released.
    Released,
    /// A renewal found the lease taken or expired.
    Lost,
    /// The renewal deadline passed without a successful renewal.
    Expired,
}

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

/// Revokes the guard when the zone task ends, however it ends (abort included).
struct RevokeOnDrop(ZoneGuard);

impl Drop for RevokeOnDrop {
    fn drop(&mut self) {
        self.0.revoke();
    }
}

/// Removes the zone from [`HeldZones`] when the zone task ends.
struct UnlistOnDrop {
    held: HeldZones,
    zone: Zone,
    epoch: i64,
}

impl Drop for UnlistOnDrop {
    fn drop(&mut self) {
        self.held.remove(self.zone, self.epoch);
    }
}

/// One held zone: renews its lease and runs its runner and watcher.
struct ZoneTask {
    config: OwnershipConfig,
    pool: PgPool,
    work: ZoneWorkFactory,
    held: HeldZones,
    stall: Stall,
    listener: Option<Listener>,
    zone: Zone,
    lease: ZoneLease,
    guard: ZoneGuard,
    client: Client,
    /// When this worker must have stopped calling the zone unless a renewal succeeds.
    deadline: Instant,
}

/// What runs inside a zone task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Runner,
    Watcher,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Runner => "runner",
            Part::Watcher => "watcher",
        }
    }
}

impl ZoneTask {
    async fn run(mut self, release: CancellationToken) -> ZoneEnd {
        let zone = self.zone;
        let epoch = self.lease.epoch;
        let worker_id = self.config.worker_id.clone();
        let _revoke = RevokeOnDrop(self.guard.clone());
        let _unlist = UnlistOnDrop {
            held: self.held.clone(),
            zone,
            epoch,
        };
        self.held.insert(HeldZone {
            zone,
            epoch,
            guard: self.guard.clone(),
            client: self.client.clone(),
        });

        // The work stops when the guard is revoked (child token) or when asked to.
        let work_stop = self.guard.token().child_token();
        let mut parts: JoinSet<anyhow::Result<()>> = JoinSet::new();
        let mut names: HashMap<tokio::task::Id, Part> = HashMap::new();
        self.start_parts(&work_stop, &mut parts, &mut names);

        let mut renew = tokio::time::interval(self.config.renew_every());
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        renew.tick().await;
        let mut throttle = ThrottleGovernor::new(self.client.throttled(zone));
        let mut throttle_tick = tokio::time::interval(Duration::from_millis(200));
        throttle_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stopping = false;

        let end = loop {
            tokio::select! {
                biased;
                () = tokio::time::sleep_until(self.deadline) => {
                    self.guard.revoke();
                    break ZoneEnd::Expired;
                }
                () = release.cancelled(), if !stopping => {
                    stopping = true;
                    work_stop.cancel();
                }
                Some(joined) = parts.join_next_with_id(), if !parts.is_empty() => {
                    let (id, result) = match joined {
                        Ok((id, result)) => (id, result.map_err(|e| format!("{e:#}"))),
                        Err(err) => (err.id(), Err(format!("task failed: {err}"))),
                    };
                    let part = names.remove(&id).map_or("zone task", Part::name);
                    match result {
                        Ok(()) if stopping => {}
                        Ok(()) => {
                            tracing::error!(worker_id = %worker_id, zone = %zone, epoch, task = part,
                                "zone task part stopped unexpectedly; giving the zone up");
                        }
                        Err(error) => {
                            tracing::error!(worker_id = %worker_id, zone = %zone, epoch, task = part,
                                error = %error, "zone task part failed; giving the zone up");
                        }
                    }
                    if !stopping {
                        stopping = true;
                        work_stop.cancel();
                    }
                    if parts.is_empty() {
                        break ZoneEnd::Released;
                    }
                }
                _ = renew.tick() => {
                    if self.stall.is_stalled() {
                        continue;
                    }
                    match self.renew().await {
                        Ok(()) => {}
                        Err(end) => break end,
                    }
                }
                _ = throttle_tick.tick(), if !stopping => {
                    if let Some(pause) = throttle.observe(self.client.throttled(zone), Instant::now()) {
                        pause_claims(&self.pool, zone, pause).await;
                    }
                }
            }
        };

        // Stop calling first (a no-op when already revoked), then wait for the work to end
        // before the lease is given back, so that the next owner never overlaps with it.
        self.guard.revoke();
        self.held.remove(zone, epoch);
        let bound = self.config.runner_grace() + Duration::from_secs(5);
        if tokio::time::timeout(bound, async {
            while let Some(joined) = parts.join_next_with_id().await {
                if let Err(err) = joined
                    && !err.is_cancelled()
                {
                    tracing::error!(worker_id = %worker_id, zone = %zone, epoch, error = %err,
                        "zone task part failed while stopping");
                }
            }
        })
        .await
        .is_err()
        {
            tracing::warn!(worker_id = %worker_id, zone = %zone, epoch,
                "zone work did not stop in time; aborting it");
            parts.shutdown().await;
        }
        if end == ZoneEnd::Released {
            match release_zone(&self.pool, &self.lease).await {
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(worker_id = %worker_id, zone = %zone, epoch, error = %err,
                    "could not release the zone lease; it will expire")
                }
            }
        }
        end
    }

    /// Renews the lease; `Err` ends the zone (the guard is then revoked).
    async fn renew(&mut self) -> Result<(), ZoneEnd> {
        let sent_at = Instant::now();
        let renewed = tokio::time::timeout_at(
            self.deadline,
            renew_zone(&self.pool, &self.lease, self.config.lease_ttl),
        )
        .await;
        match renewed {
            Ok(Ok(Some(lease))) => {
                self.lease = lease;
                self.deadline = sent_at
                    + self
                        .config
                        .lease_ttl
                        .saturating_sub(self.config.safety_margin());
                Ok(())
            }
            Ok(Ok(None)) => {
                self.guard.revoke();
                Err(ZoneEnd::Lost)
            }
            Ok(Err(err)) => {
                // Transient database trouble: keep the zone until the deadline, which the
                // select loop enforces.
                tracing::warn!(worker_id = %self.config.worker_id, zone = %self.zone,
                    epoch = self.lease.epoch, error = %err, "zone lease renewal failed");
                Ok(())
            }
            Err(_) => {
                self.guard.revoke();
                Err(ZoneEnd::Expired)
            }
        }
    }

    fn start_parts(
        &self,
        stop: &CancellationToken,
        parts: &mut JoinSet<anyhow::Result<()>>,
        names: &mut HashMap<tokio::task::Id, Part>,
    ) {
        let ctx = ZoneContext {
            zone: self.zone,
            client: self.client.clone(),
            pool: self.pool.clone(),
            guard: self.guard.clone(),
            worker_id: self.config.worker_id.clone(),
        };
        let work = (self.work)(ctx);

        let watcher = parts.spawn(work.clone().run_watcher(stop.clone()));
        names.insert(watcher.id(), Part::Watcher);

        let mut runner_config =
            RunnerConfig::new(vec![self.zone.as_str().to_owned()], &self.config.worker_id);
        runner_config.concurrency = self.config.concurrency;
        runner_config.claim_batch = self.config.concurrency.clamp(1, 64);
        runner_config.lease = self.config.job_lease;
        runner_config.heartbeat_interval = self.config.job_lease / 3;
        runner_config.shutdown_grace = self.config.runner_grace();
        let handler_work = work;
        let mut runner = Runner::new(self.pool.clone(), runner_config, move |job| {
            handler_work.clone().handle(job)
        });
        if let Some(listener) = &self.listener {
            runner = runner.with_listener(listener.clone());
        }
        runner = runner.with_claim_gate(budget_gate(self.client.rate_limiter().clone(), self.zone));
        let runner_stop = stop.clone();
        let runner =
            parts.spawn(async move { runner.run(runner_stop).await.map_err(anyhow::Error::from) });
        names.insert(runner.id(), Part::Runner);
    }
}

/// Back-off of claim pauses while a zone is answered 429.
#[derive(Debug)]
struct ThrottleGovernor {
    seen: u64,
    backoff: Duration,
    paused_until: Option<Instant>,
    last_throttle: Option<Instant>,
}

const MIN_CLAIM_PAUSE: Duration = Duration::from_secs(1);
const MAX_CLAIM_PAUSE: Duration = Duration::from_secs(30);

impl ThrottleGovernor {
    fn new(seen: u64) -> Self {
        Self {
            seen,
            backoff: MIN_CLAIM_PAUSE,
            paused_until: None,
            last_throttle: None,
        }
    }

    /// Feeds the zone's 429 counter; returns a pause to apply when new 429s call for one.
    fn observe(&mut self, throttled: u64, now: Instant) -> Option<Duration> {
        if throttled <= self.seen {
            return None;
        }
        self.seen = throttled;
        let recent = self
            .last_throttle
            .is_some_and(|at| now.saturating_duration_since(at) <= self.backoff * 2);
        self.last_throttle = Some(now);
        if self.paused_until.is_some_and(|until| until > now) {
            // The pause in force already covers these.
            return None;
        }
        self.backoff = if recent && self.paused_until.is_some() {
            (self.backoff * 2).min(MAX_CLAIM_PAUSE)
        } else {
            MIN_CLAIM_PAUSE
        };
        self.paused_until = Some(now + self.backoff);
        Some(self.backoff)
    }
}

/// Reason recorded on the claim pauses this module writes.
pub const RATE_LIMIT_PAUSE_REASON: &str = "rate limited (429): worker slows its claimer";

/// Pauses claims of `zone` for `pause`, unless a pause in force lasts longer or has no end
/// (an operator's): one statement, so it cannot race with an operator's pause.
async fn pause_claims(pool: &PgPool, zone: Zone, pause: Duration) {
    let result = sqlx::query(
        "INSERT INTO zone_pauses (zone, paused_until, reason) \
         VALUES ($1, now() + $2 * interval '1 millisecond', $3) \
         ON CONFLICT (zone) DO UPDATE SET paused_until = EXCLUDED.paused_until, \
             reason = EXCLUDED.reason, paused_at = now() \
         WHERE zone_pauses.paused_until IS NOT NULL \
           AND zone_pauses.paused_until < EXCLUDED.paused_until",
    )
    .bind(zone.as_str())
    .bind(pause.as_secs_f64() * 1000.0)
    .bind(RATE_LIMIT_PAUSE_REASON)
    .execute(pool)
    .await;
    match result {
        Ok(_) => {
            tracing::info!(zone = %zone, pause_ms = pause.as_millis(), "zone rate limited: claims paused")
        }
        Err(err) => {
            tracing::warn!(zone = %zone, error = %err, "could not pause claims of a rate-limited zone")
        }
    }
}

/// Names of the ownership metrics (dashboards query them).
pub const ZONES_OWNED: &str = "fleet.worker.zones.owned";
pub const ZONE_LEASE_EPOCH: &str = "fleet.worker.zone_lease.epoch";
pub const ZONE_LEASE_CHANGES: &str = "fleet.worker.zone_lease.changes";

/// A change of a held lease, as counted by [`ZONE_LEASE_CHANGES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LeaseChange {
    Acquired,
    Lost,
    Released,
}

impl LeaseChange {
    fn as_str(self) -> &'static str {
        match self {
            LeaseChange::Acquired => "acquired",
            LeaseChange::Lost => "lost",
            LeaseChange::Released => "released",
        }
    }
}

struct OwnershipMetrics {
    owned: opentelemetry::metrics::Gauge<u64>,
    epoch: opentelemetry::metrics::Gauge<u64>,
    changes: opentelemetry::metrics::Counter<u64>,
}

fn metrics() -> &'static OwnershipMetrics {
    static METRICS: std::sync::OnceLock<OwnershipMetrics> = std::sync::OnceLock::new();
    METRICS.get_or_init(|| {
        let meter = opentelemetry::global::meter("fleet.worker");
        OwnershipMetrics {
            owned: meter
                .u64_gauge(ZONES_OWNED)
                .with_description("Zones held by the worker")
                .build(),
            epoch: meter
                .u64_gauge(ZONE_LEASE_EPOCH)
                .with_description("Fencing epoch of the held lease of a zone (0 once given up)")
                .build(),
            changes: meter
                .u64_counter(ZONE_LEASE_CHANGES)
                .with_description("Zone lease changes: acquired, lost or released")
                .build(),
        }
    })
}

/// Records a change of `zone`'s lease held by `worker_id`, and the zones it holds after it.
fn record_lease_change(worker_id: &str, zone: Zone, epoch: i64, change: LeaseChange, held: usize) {
    let metrics = metrics();
    let zone_attr = KeyValue::new("zone", zone.as_str());
    metrics.changes.add(
        1,
        &[zone_attr.clone(), KeyValue::new("change", change.as_str())],
    );
    let epoch = match change {
        LeaseChange::Acquired => u64::try_from(epoch).unwrap_or(0),
        LeaseChange::Lost | LeaseChange::Released => 0,
    };
    metrics.epoch.record(epoch, &[zone_attr]);
    metrics.owned.record(
        held as u64,
        &[KeyValue::new("worker_id", worker_id.to_owned())],
    );
}

/// Longest a claim gate waits for a free token before answering "none now".
const MAX_GATE_WAIT: Duration = Duration::from_secs(1);

/// The claim gate of a zone's runner: see [`claimable`].
fn budget_gate(limiter: RateLimiter, zone: Zone) -> ClaimGate {
    Arc::new(move |free| {
        let limiter = limiter.clone();
        Box::pin(async move { claimable(&limiter, zone, free, MAX_GATE_WAIT).await })
    })
}

/// How many jobs of `zone` may be claimed now, out of `free` slots: as many as the zone's
/// token bucket holds whole tokens nobody is waiting for (at least one). Waits up to
/// `max_wait` for such a token, then answers 0. An unlimited zone may claim every free slot.
pub async fn claimable(
    limiter: &RateLimiter,
    zone: Zone,
    free: usize,
    max_wait: Duration,
) -> usize {
    let started = Instant::now();
    loop {
        let rate = limiter.rate(zone);
        if !rate.rate.is_finite() || rate.rate <= 0.0 {
            return free;
        }
        let available = limiter.available(zone);
        if available >= 1.0 {
            // Whole tokens only.
            return (available.floor() as usize).max(1).min(free);
        }
        let waited = started.elapsed();
        if waited >= max_wait {
            return 0;
        }
        let until_token = Duration::from_secs_f64(((1.0 - available) / rate.rate).min(3600.0));
        tokio::time::sleep(until_token.clamp(Duration::from_millis(2), max_wait - waited)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_pauses_back_off_and_reset() {
        let start = Instant::now();
        let mut g = ThrottleGovernor::new(0);
        assert_eq!(g.observe(0, start), None);
        assert_eq!(g.observe(1, start), Some(MIN_CLAIM_PAUSE));
        // More 429s during the pause: covered.
        assert_eq!(g.observe(3, start + Duration::from_millis(500)), None);
        // 429s right after the pause: doubled.
        let t = start + Duration::from_millis(1100);
        assert_eq!(g.observe(4, t), Some(MIN_CLAIM_PAUSE * 2));
        // After a quiet period: back to the minimum.
        let t = t + Duration::from_secs(60);
        assert_eq!(g.observe(5, t), Some(MIN_CLAIM_PAUSE));
    }

    #[tokio::test]
    async fn claims_follow_the_tokens_nobody_waits_for() {
        use fleet_scaleway::RateLimitConfig;
        let zone = Zone::FrPar1;
        let unlimited = RateLimiter::new(RateLimitConfig::unlimited(), None);
        assert_eq!(claimable(&unlimited, zone, 12, Duration::ZERO).await, 12);

        // One token a second, bursts of 3: a full bucket lets 3 jobs be claimed.
        let limiter = RateLimiter::new(RateLimitConfig::uniform(1.0, 3), None);
        assert_eq!(claimable(&limiter, zone, 8, Duration::ZERO).await, 3);
        assert_eq!(claimable(&limiter, zone, 2, Duration::ZERO).await, 2);
        assert_eq!(claimable(&limiter, zone, 0, Duration::ZERO).await, 0);
        // Spent by running jobs: none now, then one once a token is back.
        for _ in 0..3 {
            assert!(limiter.try_acquire(zone));
        }
        assert_eq!(
            claimable(&limiter, zone, 8, Duration::from_millis(10)).await,
            0
        );
        assert_eq!(
            claimable(&limiter, zone, 8, Duration::from_secs(5)).await,
            1
        );
    }

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
