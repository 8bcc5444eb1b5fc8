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
//! The buckets are built once from the configured callers (a map that never grows with
//! traffic), each behind its own mutex held for a few arithmetic operations.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

#[derive(Debug)]
struct Bucket {
    limit: Limit,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(limit: Limit, now: Instant) -> Self {
        Bucket {
            limit,
            tokens: f64::from(limit.burst.max(1)),
            last: now,
        }
    }

    /// Takes a token, or says how long until one is available.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        if self.limit.is_unlimited() {
            return Ok(());
        }
        let burst = f64::from(self.limit.burst.max(1));
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.limit.rate).min(burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) / self.limit.rate;
            Err(Duration::from_secs_f64(wait.clamp(0.001, 3600.0)))
        }
    }
}

/// The buckets of every configured caller.
#[derive(Debug, Default)]
pub struct CallerLimits {
    buckets: HashMap<String, Mutex<Bucket>>,
}

impl CallerLimits {
    /// One bucket per `(caller name, limit)`.
    pub fn new(limits: impl IntoIterator<Item = (String, Limit)>) -> Self {
        let now = Instant::now();
        CallerLimits {
            buckets: limits
                .into_iter()
                .map(|(name, limit)| (name, Mutex::new(Bucket::new(limit, now))))
                .collect(),
        }
    }

    /// The limit of `caller`, if it has a bucket.
    pub fn limit_of(&self, caller: &str) -> Option<Limit> {
        self.buckets
            .get(caller)
            .map(|b| b.lock().unwrap_or_else(|p| p.into_inner()).limit)
    }

    /// Takes one token for `caller` at `now`; `Err(wait)` when its bucket is empty. A caller
    /// without a bucket (not configured) is not limited here: authentication refuses it.
    pub fn check_at(&self, caller: &str, now: Instant) -> Result<(), Duration> {
        match self.buckets.get(caller) {
            Some(bucket) => bucket.lock().unwrap_or_else(|p| p.into_inner()).take(now),
            None => Ok(()),
        }
    }

    /// [`CallerLimits::check_at`] now.
    pub fn check(&self, caller: &str) -> Result<(), Duration> {
        self.check_at(caller, Instant::now())
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
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let start = Instant::now();
        let limits = CallerLimits::new([(
            "a".to_owned(),
            Limit {
                rate: 10.0,
                burst: 3,
            },
        )]);
        for _ in 0..3 {
            limits.check_at("a", start).unwrap();
        }
        let wait = limits.check_at("a", start).unwrap_err();
        assert!(wait > Duration::from_millis(90) && wait <= Duration::from_millis(100));
        // 100 ms later one token is back, not two.
        let later = start + Duration::from_millis(100);
        limits.check_at("a", later).unwrap();
        assert!(limits.check_at("a", later).is_err());
        // Never more than the burst, however long the pause.
        let much_later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            limits.check_at("a", much_later).unwrap();
        }
        assert!(limits.check_at("a", much_later).is_err());
    }

    #[test]
    fn callers_have_their_own_buckets() {
        let now = Instant::now();
        let one = Limit {
            rate: 1.0,
            burst: 1,
        };
        let limits = CallerLimits::new([("a".to_owned(), one), ("b".to_owned(), one)]);
        limits.check_at("a", now).unwrap();
        assert!(limits.check_at("a", now).is_err());
        limits.check_at("b", now).unwrap();
        // Unknown callers are authentication's business.
        limits.check_at("nobody", now).unwrap();
    }

    #[test]
    fn a_zero_rate_is_unlimited() {
        let now = Instant::now();
        let limits = CallerLimits::new([(
            "a".to_owned(),
            Limit {
                rate: 0.0,
                burst: 1,
            },
        )]);
        for _ in 0..10_000 {
            limits.check_at("a", now).unwrap();
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
