//! The claim gate: a zone's runner claims only as many jobs as its token bucket can serve now.

use std::sync::Arc;
use std::time::Duration;

use fleet_core::Zone;
use fleet_scaleway::RateLimiter;
use fleet_scheduler::runner::ClaimGate;
use tokio::time::Instant;

/// Longest a claim gate waits for a free token before answering "none now".
const MAX_GATE_WAIT: Duration = Duration::from_secs(1);

/// The claim gate of a zone's runner: see [`claimable`].
pub(super) fn budget_gate(limiter: RateLimiter, zone: Zone) -> ClaimGate {
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
}
