//! Per-caller request rate limits: one token bucket per configured caller, so one caller
//! flooding the gateway cannot starve the others.
//!
//! Each authenticated call takes one token from its caller's bucket (WaitOperation and
//! WatchOperations count once, however long they last). A caller's rate and burst come from
//! its [`crate::CallerConfig`] (`rate_limit`, `burst`) or else from the gateway-wide default
//! (`FLEET_GATEWAY_CALLER_RATE`, `FLEET_GATEWAY_CALLER_BURST`). An empty bucket answers
//! RESOURCE_EXHAUSTED with `ErrorInfo` reason `CALLER_RATE_LIMITED` and a `RetryInfo` saying
//! when the next token arrives; nothing else runs for that call.
//!
//! The limiters (governor's GCRA, the same semantics as a token bucket of `burst` tokens
//! refilled at `rate` per second) are built once from the configured callers, a map that never
//! grows with traffic.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, MonotonicClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

use crate::errors::DOMAIN;

/// `ErrorInfo.reason` of a call refused by its caller's rate limit.
pub const RATE_LIMITED_REASON: &str = "CALLER_RATE_LIMITED";

/// Default requests per second of a caller (`FLEET_GATEWAY_CALLER_RATE`).
pub const DEFAULT_RATE: f64 = 200.0;
/// Default burst of a caller (`FLEET_GATEWAY_CALLER_BURST`).
pub const DEFAULT_BURST: u32 = 400;

/// A rate limit: `rate` tokens per second, at most `burst` at once. A rate of 0 means
/// unlimited.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub rate: f64,
    pub burst: u32,
}

impl Default for Limit {
    fn default() -> Self {
        Limit {
            rate: DEFAULT_RATE,
            burst: DEFAULT_BURST,
        }
    }
}

impl Limit {
    /// Whether the limit lets everything through.
    pub fn is_unlimited(&self) -> bool {
        self.rate <= 0.0
    }
}

/// One caller's limiter: governor's GCRA over `clock`, or `None` when unlimited.
type Limiter<C> =
    Option<RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>>;

fn limiter<C: Clock + Clone>(limit: Limit, clock: &C) -> Limiter<C> {
    if limit.is_unlimited() {
        return None;
    }
    let burst = NonZeroU32::new(limit.burst.max(1))?;
    let period = Duration::try_from_secs_f64(1.0 / limit.rate).ok()?;
    let quota = Quota::with_period(period)?.allow_burst(burst);
    Some(RateLimiter::direct_with_clock(quota, clock.clone()))
}

/// The limiters of every configured caller, on the real clock (or a fake one in tests).
#[derive(Debug)]
pub struct CallerLimits<C: Clock = MonotonicClock> {
    clock: C,
    limiters: HashMap<String, (Limit, Limiter<C>)>,
}

impl Default for CallerLimits {
    fn default() -> Self {
        CallerLimits::new([])
    }
}

impl CallerLimits {
    /// One limiter per `(caller name, limit)`.
    pub fn new(limits: impl IntoIterator<Item = (String, Limit)>) -> Self {
        CallerLimits::with_clock(limits, MonotonicClock)
    }
}

impl<C: Clock + Clone> CallerLimits<C> {
    /// [`CallerLimits::new`] on `clock`.
    pub fn with_clock(limits: impl IntoIterator<Item = (String, Limit)>, clock: C) -> Self {
        let limiters = limits
            .into_iter()
            .map(|(name, limit)| (name, (limit, limiter(limit, &clock))))
            .collect();
        CallerLimits { clock, limiters }
    }

    /// The limit of `caller`, if it has a limiter.
    pub fn limit_of(&self, caller: &str) -> Option<Limit> {
        self.limiters.get(caller).map(|(limit, _)| *limit)
    }

    /// Takes one request for `caller`; `Err(wait)` when it is over its limit. A caller without
    /// a limiter (not configured) is not limited here: authentication refuses it.
    pub fn check(&self, caller: &str) -> Result<(), Duration> {
        match self.limiters.get(caller) {
            Some((_, Some(limiter))) => limiter.check().map_err(|not_until| {
                not_until
                    .wait_time_from(self.clock.now())
                    .clamp(Duration::from_millis(1), Duration::from_secs(3600))
            }),
            _ => Ok(()),
        }
    }
}

/// The status of a call refused by its caller's rate limit.
pub fn rate_limited_status(caller: &str, limit: Option<Limit>, wait: Duration) -> Status {
    let mut details = ErrorDetails::new();
    let mut metadata = HashMap::new();
    metadata.insert("caller".to_owned(), caller.to_owned());
    if let Some(limit) = limit {
        metadata.insert("rate".to_owned(), format!("{}", limit.rate));
        metadata.insert("burst".to_owned(), limit.burst.to_string());
    }
    details.set_error_info(RATE_LIMITED_REASON, DOMAIN, metadata);
    // Whole milliseconds, at least one, so clients never see a zero delay.
    let retry = Duration::from_millis((wait.as_millis() as u64).max(1));
    details.set_retry_info(Some(retry));
    Status::with_error_details(
        Code::ResourceExhausted,
        format!(
            "caller {caller} is over its request rate limit; retry in {} ms",
            retry.as_millis()
        ),
        details,
    )
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let clock = FakeRelativeClock::default();
        let limits = CallerLimits::with_clock(
            [(
                "a".to_owned(),
                Limit {
                    rate: 10.0,
                    burst: 3,
                },
            )],
            clock.clone(),
        );
        for _ in 0..3 {
            limits.check("a").unwrap();
        }
        let wait = limits.check("a").unwrap_err();
        assert!(wait > Duration::from_millis(90) && wait <= Duration::from_millis(100));
        // 100 ms later one token is back, not two.
        clock.advance(Duration::from_millis(100));
        limits.check("a").unwrap();
        assert!(limits.check("a").is_err());
        // Never more than the burst, however long the pause.
        clock.advance(Duration::from_secs(3600) - Duration::from_millis(100));
        for _ in 0..3 {
            limits.check("a").unwrap();
        }
        assert!(limits.check("a").is_err());
    }

    #[test]
    fn callers_have_their_own_buckets() {
        let one = Limit {
            rate: 1.0,
            burst: 1,
        };
        let limits = CallerLimits::with_clock(
            [("a".to_owned(), one), ("b".to_owned(), one)],
            FakeRelativeClock::default(),
        );
        limits.check("a").unwrap();
        assert!(limits.check("a").is_err());
        limits.check("b").unwrap();
        // Unknown callers are authentication's business.
        limits.check("nobody").unwrap();
    }

    #[test]
    fn a_zero_rate_is_unlimited() {
        let limits = CallerLimits::new([(
            "a".to_owned(),
            Limit {
                rate: 0.0,
                burst: 1,
            },
        )]);
        for _ in 0..10_000 {
            limits.check("a").unwrap();
        }
    }

    #[test]
    fn the_status_carries_reason_and_retry() {
        let status = rate_limited_status("a", Some(Limit::default()), Duration::from_micros(10));
        assert_eq!(status.code(), Code::ResourceExhausted);
        let details = status.get_error_details();
        assert_eq!(details.error_info().unwrap().reason, RATE_LIMITED_REASON);
        assert_eq!(
            details.retry_info().unwrap().retry_delay,
            Some(Duration::from_millis(1))
        );
    }
}
