//! The claim gate: a zone's runner claims only as many jobs as its token bucket can serve now.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use fleet_core::Zone;
use fleet_scaleway::RateLimiter;
use fleet_scheduler::runner::ClaimGate;
use futures::future::BoxFuture;
use tokio::time::Instant;

/// Longest a claim gate waits for a free token before answering "none now".
const MAX_GATE_WAIT: Duration = Duration::from_secs(1);

/// How long a claim holds its tokens for jobs that have not made their first call yet.
const GRANT_HOLD: Duration = Duration::from_secs(2);

/// The last claim through a gate: the tokens of its jobs stay spoken for until calls take
/// them (the limiter's `acquired` moves past the count seen when they were allowed), the
/// jobs end (many steps make no call), or [`GRANT_HOLD`] passes, so a job claimed but not
/// yet calling does not let its token be granted a second time.
#[derive(Debug, Clone, Copy)]
struct Grant {
    at: Instant,
    tokens: usize,
    acquired_then: u64,
}

impl Grant {
    /// Tokens of this claim that no call has taken yet.
    fn outstanding(&self, limiter: &RateLimiter, zone: Zone) -> usize {
        if self.at.elapsed() >= GRANT_HOLD {
            return 0;
        }
        let taken = limiter.acquired(zone).saturating_sub(self.acquired_then);
        self.tokens
            .saturating_sub(usize::try_from(taken).unwrap_or(usize::MAX))
    }
}

/// The claim gate of a zone's runner: [`claimable`] less what its last claim's jobs will take.
pub(super) struct BudgetGate {
    limiter: RateLimiter,
    zone: Zone,
    state: Arc<Mutex<GateState>>,
}

#[derive(Debug, Default)]
struct GateState {
    last: Option<Grant>,
    /// `acquired` when the pending answer was given.
    acquired_at_answer: u64,
    /// Claimed jobs whose handler has not returned yet.
    running: usize,
}

impl BudgetGate {
    pub(super) fn new(limiter: RateLimiter, zone: Zone) -> Arc<Self> {
        Arc::new(Self {
            limiter,
            zone,
            state: Arc::default(),
        })
    }

    /// A claimed job's handler returned: whatever it did not call for is free again.
    pub(super) fn job_done(&self) {
        let mut state = lock(&self.state);
        state.running = state.running.saturating_sub(1);
    }
}

fn lock(state: &Mutex<GateState>) -> std::sync::MutexGuard<'_, GateState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn held(state: &Mutex<GateState>, limiter: &RateLimiter, zone: Zone) -> usize {
    let state = lock(state);
    state
        .last
        .map_or(0, |grant| grant.outstanding(limiter, zone))
        .min(state.running)
}

impl ClaimGate for BudgetGate {
    fn allow(&self, free: usize) -> BoxFuture<'static, usize> {
        let (limiter, zone, state) = (self.limiter.clone(), self.zone, Arc::clone(&self.state));
        Box::pin(async move {
            let held_now = || held(&state, &limiter, zone);
            let granted = claimable(&limiter, zone, free, &held_now, MAX_GATE_WAIT).await;
            lock(&state).acquired_at_answer = limiter.acquired(zone);
            granted
        })
    }

    fn claimed(&self, jobs: usize) {
        let still_held = held(&self.state, &self.limiter, self.zone);
        let mut state = lock(&self.state);
        state.running += jobs;
        let acquired_then = state.acquired_at_answer;
        state.last = Some(Grant {
            at: Instant::now(),
            tokens: jobs + still_held,
            acquired_then,
        });
    }
}

/// How many jobs of `zone` may be claimed now, out of `free` slots: as many as the zone's
/// token bucket holds whole tokens nobody is waiting for, less the `held` ones an earlier
/// grant's jobs will take. Waits up to `max_wait` for such a token, then answers 0. An
/// unlimited zone may claim every free slot.
pub async fn claimable(
    limiter: &RateLimiter,
    zone: Zone,
    free: usize,
    held: &(dyn Fn() -> usize + Sync),
    max_wait: Duration,
) -> usize {
    let started = Instant::now();
    loop {
        let rate = limiter.rate(zone);
        if !rate.rate.is_finite() || rate.rate <= 0.0 {
            return free;
        }
        let available = limiter.available(zone) - held() as f64;
        if available >= 1.0 {
            // Whole tokens only.
            return (available.floor() as usize).min(free);
        }
        let waited = started.elapsed();
        if waited >= max_wait {
            return 0;
        }
        let until_token =
            Duration::from_secs_f64(((1.0 - available) / rate.rate).clamp(0.0, 3600.0));
        tokio::time::sleep(until_token.clamp(Duration::from_millis(2), max_wait - waited)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn claims_follow_the_tokens_nobody_waits_for() {
        use fleet_scaleway::RateLimitConfig;
        let zone = Zone::FrPar1;
        let unlimited = RateLimiter::new(RateLimitConfig::unlimited(), None);
        assert_eq!(
            claimable(&unlimited, zone, 12, &|| 0, Duration::ZERO).await,
            12
        );

        // One token a second, bursts of 3: a full bucket lets 3 jobs be claimed.
        let limiter = RateLimiter::new(RateLimitConfig::uniform(1.0, 3), None);
        assert_eq!(claimable(&limiter, zone, 8, &|| 0, Duration::ZERO).await, 3);
        assert_eq!(claimable(&limiter, zone, 2, &|| 0, Duration::ZERO).await, 2);
        assert_eq!(claimable(&limiter, zone, 0, &|| 0, Duration::ZERO).await, 0);
        // Spent by running jobs: none now, then one once a token is back.
        for _ in 0..3 {
            assert!(limiter.try_acquire(zone));
        }
        assert_eq!(
            claimable(&limiter, zone, 8, &|| 0, Duration::from_millis(10)).await,
            0
        );
        assert_eq!(
            claimable(&limiter, zone, 8, &|| 0, Duration::from_secs(5)).await,
            1
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_of_a_claimed_job_not_yet_calling_is_not_granted_again() {
        use fleet_scaleway::RateLimitConfig;
        let zone = Zone::FrPar1;
        // A full bucket of 3 that barely refills.
        let limiter = RateLimiter::new(RateLimitConfig::uniform(0.1, 3), None);
        let gate = BudgetGate::new(limiter.clone(), zone);
        assert_eq!(gate.allow(8).await, 3);
        gate.claimed(3);
        // Two of the three claimed jobs call: one token is left, spoken for by the third.
        assert!(limiter.try_acquire(zone) && limiter.try_acquire(zone));
        assert_eq!(gate.allow(8).await, 0);
        // Once the hold lapses, whatever the bucket holds is claimable again.
        tokio::time::sleep(GRANT_HOLD).await;
        assert_eq!(gate.allow(8).await, 1);

        // No claimed job has called yet: none of their tokens is granted twice.
        let limiter = RateLimiter::new(RateLimitConfig::uniform(0.1, 2), None);
        let gate = BudgetGate::new(limiter.clone(), zone);
        assert_eq!(gate.allow(8).await, 2);
        gate.claimed(2);
        assert_eq!(gate.allow(8).await, 0);

        // The two jobs end without calling: their tokens are free again.
        gate.job_done();
        gate.job_done();
        assert_eq!(gate.allow(8).await, 2);

        // Fewer jobs were due than allowed: only the claimed one holds a token.
        let limiter = RateLimiter::new(RateLimitConfig::uniform(0.1, 3), None);
        let gate = BudgetGate::new(limiter.clone(), zone);
        assert_eq!(gate.allow(8).await, 3);
        gate.claimed(1);
        assert_eq!(gate.allow(8).await, 2);
    }
}
