//! Per-zone rate limit, like an API gateway's: `per_second` requests per
//! second sustained, `burst` at once (a `governor` GCRA limiter keyed by
//! zone). Over the limit the request gets a 429 `too_many_requests`.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Governor};

/// Rate-limit settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second per zone.
    pub per_second: f64,
    /// Bucket size.
    pub burst: u32,
}

/// The limiter of every zone.
pub struct RateLimiter {
    limit: RateLimit,
    zones: Governor<String, DefaultKeyedStateStore<String>, DefaultClock>,
    clock: DefaultClock,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A limiter with every zone's burst available.
    pub fn new(limit: RateLimit) -> Self {
        let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
        // One request per `1 / per_second`; a rate too small to represent
        // is one a year, a rate too large one per nanosecond.
        let period = Duration::try_from_secs_f64(1.0 / limit.per_second)
            .unwrap_or(Duration::from_secs(365 * 24 * 3600))
            .max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        let clock = DefaultClock::default();
        Self {
            limit,
            zones: Governor::new(quota, DefaultKeyedStateStore::default(), clock.clone()),
            clock,
        }
    }

    /// The configured limit.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Take one request for `zone`; on refusal, the whole seconds until one
    /// is allowed again (at least 1).
    pub fn check(&self, zone: &str) -> Result<(), u64> {
        match self.zones.check_key(&zone.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Err(wait.as_secs_f64().ceil().max(1.0) as u64)
            }
        }
    }
}
