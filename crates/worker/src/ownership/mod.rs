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
//! the zone. At the deadline (watched by a task of its own, so that nothing the zone task's
//! loop waits for, such as a database call, can delay it), or as soon as a renewal says the
//! lease is lost, the zone's [`ZoneGuard`] is revoked: its cancellation token stops the zone's
//! client (every rate-limit wait, back-off sleep and request in flight) and stops the zone's
//! runner and watcher. A
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
mod claim_gate;
mod manager;
mod metrics;
mod throttle;
mod zone_task;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use fleet_core::Zone;
use fleet_scaleway::Client;
use fleet_scheduler::{ClaimedJob, Outcome};
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::context::{ZoneContext, ZoneGuard};

pub use claim_gate::claimable;
pub use manager::Ownership;
pub use metrics::{ZONE_LEASE_CHANGES, ZONE_LEASE_EPOCH, ZONES_OWNED};
pub use throttle::RATE_LIMIT_PAUSE_REASON;

/// What a zone's watcher returns when it stops.
pub type WatcherFuture = BoxFuture<'static, anyhow::Result<()>>;

/// What a held zone runs: its watcher and the handler of its jobs.
///
/// The worker's own implementation is the job handlers of [`crate::jobs`]; tests and tools
/// may plug in another.
pub trait ZoneWork: Send + Sync + 'static {
    /// The zone's watcher; runs until `shutdown` is cancelled. An error is logged and gives
    /// the zone up (another worker, or this one later, starts it afresh).
    fn run_watcher(self: Arc<Self>, shutdown: CancellationToken) -> WatcherFuture;

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
