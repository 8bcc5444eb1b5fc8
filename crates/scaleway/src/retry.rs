//! Retry policy: which attempts are re-sent, and how long to wait between
//! them (exponential back-off with full jitter, honouring `Retry-After`).
//!
//! The rules themselves are written down once, in the crate docs
//! ("Retries"); this module implements them.

use std::time::{Duration, SystemTime};

use rand::Rng;

use crate::error::Error;

/// Bounds and pacing of retries.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (`1` disables retries).
    pub max_attempts: u32,
    /// Back-off ceiling of the first retry; doubles on each further retry.
    pub base_delay: Duration,
    /// Upper bound of one back-off.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the error is
    /// returned at once so that the caller (e.g. the worker's scheduler)
    /// can reschedule instead of holding a slot.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The ceiling of the back-off before retry number `retry` (1-based):
    /// `min(max_delay, base_delay · 2^(retry-1))`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1).min(30));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// Full-jitter back-off before retry number `retry` (1-based): uniform
    /// in `[0, ceiling]`, and never shorter than the server's
    /// `Retry-After`.
    pub fn backoff(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let ceiling = self.ceiling(retry);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        let jittered = Duration::from_nanos(rand::rng().random_range(0..=nanos));
        match retry_after {
            Some(after) => jittered.max(after),
            None => jittered,
        }
    }

    /// Decides whether attempt `attempt` (1-based) that failed with
    /// `error` is re-sent, and after how long. `idempotent` says whether
    /// re-sending a request the API may already have processed is safe.
    pub fn decide(&self, attempt: u32, error: &Error, idempotent: bool) -> Option<Duration> {
        if attempt >= self.max_attempts || !error.retryable() {
            return None;
        }
        if !idempotent && !error.not_processed() {
            return None;
        }
        let retry_after = error.retry_after();
        if retry_after.is_some_and(|after| after > self.max_retry_after) {
            return None;
        }
        Some(self.backoff(attempt, retry_after))
    }
}

/// Parses a `Retry-After` value: delta-seconds (`"3"`) or an HTTP-date
/// (`"Sun, 06 Nov 1994 08:49:37 GMT"`, relative to `now`).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, &format)
        .ok()?
        .assume_utc();
    let at = SystemTime::from(at);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            ..RetryPolicy::default()
        };
        assert_eq!(policy.ceiling(1), Duration::from_millis(100));
        assert_eq!(policy.ceiling(2), Duration::from_millis(200));
        assert_eq!(policy.ceiling(3), Duration::from_millis(400));
        assert_eq!(policy.ceiling(4), Duration::from_millis(500));
        assert_eq!(policy.ceiling(400), Duration::from_millis(500));
        for retry in 1..10 {
            assert!(policy.backoff(retry, None) <= policy.ceiling(retry));
        }
        assert!(policy.backoff(1, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_767);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("0.5", now),
            Some(Duration::from_millis(500))
        );
        // 1994-11-06T08:49:37Z is 784111777.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }
}
