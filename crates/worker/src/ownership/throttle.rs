//! The 429 governor: pauses the claiming of a zone's jobs while the zone is answered 429.

use std::time::Duration;

use fleet_core::Zone;
use sqlx::PgPool;
use tokio::time::Instant;

/// Back-off of claim pauses while a zone is answered 429.
#[derive(Debug)]
pub(super) struct ThrottleGovernor {
    seen: u64,
    backoff: Duration,
    paused_until: Option<Instant>,
    last_throttle: Option<Instant>,
}

const MIN_CLAIM_PAUSE: Duration = Duration::from_secs(1);
const MAX_CLAIM_PAUSE: Duration = Duration::from_secs(30);

impl ThrottleGovernor {
    pub(super) fn new(seen: u64) -> Self {
        Self {
            seen,
            backoff: MIN_CLAIM_PAUSE,
            paused_until: None,
            last_throttle: None,
        }
    }

    /// Feeds the zone's 429 counter; returns a pause to apply when new 429s call for one.
    pub(super) fn observe(&mut self, throttled: u64, now: Instant) -> Option<Duration> {
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
pub(super) async fn pause_claims(pool: &PgPool, zone: Zone, pause: Duration) {
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
}
