//! One held zone's task: renews its lease, runs the zone's runner and watcher, slows the
//! claimer on 429s, and gives the zone back only once its work has stopped.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fleet_core::Zone;
use fleet_scaleway::Client;
use fleet_scheduler::{Listener, Runner, RunnerConfig, ZoneLease, release_zone, renew_zone};
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::claim_gate::BudgetGate;
use super::throttle::{ThrottleGovernor, pause_claims};
use super::{HeldZone, HeldZones, OwnershipConfig, Stall, ZoneWorkFactory};
use crate::context::{ZoneContext, ZoneGuard};

/// Why a zone task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ZoneEnd {
    /// Given up on purpose (hand-over, shutdown, or the zone's work failed) and released.
    Released,
    /// A renewal found the lease taken or expired.
    Lost,
    /// The renewal deadline passed without a successful renewal.
    Expired,
}

/// Revokes the guard when the zone task ends, however it ends (abort included).
struct RevokeOnDrop(ZoneGuard);

impl Drop for RevokeOnDrop {
    fn drop(&mut self) {
        self.0.revoke();
    }
}

/// Revokes the guard at the lease deadline from a task of its own, so that nothing the zone
/// task's loop waits for (a database call in the throttle, a starved select) can let the
/// worker call the zone past its deadline. Each renewal moves the deadline on.
fn spawn_deadline_watch(guard: ZoneGuard, mut deadline: watch::Receiver<Instant>) -> AbortOnDrop {
    AbortOnDrop(tokio::spawn(async move {
        loop {
            let at = *deadline.borrow_and_update();
            tokio::select! {
                () = tokio::time::sleep_until(at) => {
                    guard.revoke();
                    return;
                }
                changed = deadline.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }))
}

/// Stops the deadline watch when the zone task ends (the guard is revoked then anyway).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
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
pub(super) struct ZoneTask {
    pub(super) config: OwnershipConfig,
    pub(super) pool: PgPool,
    pub(super) work: ZoneWorkFactory,
    pub(super) held: HeldZones,
    pub(super) stall: Stall,
    pub(super) listener: Option<Listener>,
    pub(super) zone: Zone,
    pub(super) lease: ZoneLease,
    pub(super) guard: ZoneGuard,
    pub(super) client: Client,
    /// When this worker must have stopped calling the zone unless a renewal succeeds.
    pub(super) deadline: Instant,
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
    pub(super) async fn run(mut self, release: CancellationToken) -> ZoneEnd {
        let zone = self.zone;
        let epoch = self.lease.epoch;
        let _revoke = RevokeOnDrop(self.guard.clone());
        let (deadline, watched) = watch::channel(self.deadline);
        let _watch = spawn_deadline_watch(self.guard.clone(), watched);
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
                    self.part_ended(joined, &mut names, stopping);
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
                        // The watch may have revoked the guard while the renewal was on its way.
                        Ok(()) if !self.guard.is_held() => break ZoneEnd::Expired,
                        Ok(()) => {
                            deadline.send_replace(self.deadline);
                        }
                        Err(end) => break end,
                    }
                }
                _ = throttle_tick.tick(), if !stopping => {
                    if let Some(pause) = throttle.observe(self.client.throttled(zone), Instant::now()) {
                        // Bounded by the deadline, so the loop is back in time to end the zone.
                        let paused = pause_claims(&self.pool, zone, pause);
                        if tokio::time::timeout_at(self.deadline, paused).await.is_err() {
                            tracing::warn!(worker_id = %self.config.worker_id, zone = %zone,
                                epoch, "pausing claims of a rate-limited zone timed out");
                        }
                    }
                }
            }
        };

        self.stop(parts, end).await;
        end
    }

    /// Logs a part of the zone's work that ended; while not stopping, any end gives the zone up.
    fn part_ended(
        &self,
        joined: Result<(tokio::task::Id, anyhow::Result<()>), tokio::task::JoinError>,
        names: &mut HashMap<tokio::task::Id, Part>,
        stopping: bool,
    ) {
        let (zone, epoch, worker_id) = (self.zone, self.lease.epoch, &self.config.worker_id);
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
    }

    /// Stops calling first (a no-op when already revoked), then waits for the work to end
    /// before the lease is given back, so that the next owner never overlaps with it.
    async fn stop(&self, mut parts: JoinSet<anyhow::Result<()>>, end: ZoneEnd) {
        let (zone, epoch, worker_id) = (self.zone, self.lease.epoch, &self.config.worker_id);
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
        if end == ZoneEnd::Released
            && let Err(err) = release_zone(&self.pool, &self.lease).await
        {
            tracing::warn!(worker_id = %worker_id, zone = %zone, epoch, error = %err,
                "could not release the zone lease; it will expire")
        }
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
        let gate = BudgetGate::new(self.client.rate_limiter().clone(), self.zone);
        let handler_gate = Arc::clone(&gate);
        let handler_work = work;
        let mut runner = Runner::new(self.pool.clone(), runner_config, move |job| {
            let (work, gate) = (handler_work.clone(), Arc::clone(&handler_gate));
            async move {
                let outcome = work.handle(job).await;
                gate.job_done();
                outcome
            }
        });
        if let Some(listener) = &self.listener {
            runner = runner.with_listener(listener.clone());
        }
        runner = runner.with_claim_gate(gate);
        let runner_stop = stop.clone();
        let runner =
            parts.spawn(async move { runner.run(runner_stop).await.map_err(anyhow::Error::from) });
        names.insert(runner.id(), Part::Runner);
    }
}
