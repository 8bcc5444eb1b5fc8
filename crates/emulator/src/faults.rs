//! Injectable faults for reliability tests: 5xx, 429, added latency, hung
//! requests and connection resets, each at a rate, optionally restricted to
//! some zones. Decisions are drawn from a counter hashed with the seed, so a
//! sequential client sees the same faults on every run.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::util::{mix, unit};

/// What to inject. Rates are probabilities in [0, 1] per request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Probability of a 5xx (500/502/503 in turn) with an `internal_error` body.
    pub error_5xx_rate: f64,
    /// Probability of a 429 `too_many_requests`.
    pub rate_429: f64,
    /// `Retry-After` seconds on injected 429s (none: no header, as observed).
    pub retry_after_secs: Option<u64>,
    /// Latency added before every request of the affected zones.
    #[serde(with = "millis", rename = "latency_ms")]
    pub latency: Duration,
    /// Probability that a request hangs for `hang_for` and then gets a 504.
    pub hang_rate: f64,
    /// How long a hung request hangs.
    #[serde(with = "millis", rename = "hang_for_ms")]
    pub hang_for: Duration,
    /// Probability that the connection is closed without a response.
    pub reset_rate: f64,
    /// Only these zones are affected (all when `None`).
    pub zones: Option<Vec<String>>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            error_5xx_rate: 0.0,
            rate_429: 0.0,
            retry_after_secs: None,
            latency: Duration::ZERO,
            hang_rate: 0.0,
            hang_for: Duration::from_secs(300),
            reset_rate: 0.0,
            zones: None,
        }
    }
}

impl Faults {
    /// Whether nothing would ever be injected.
    pub fn is_noop(&self) -> bool {
        self.error_5xx_rate <= 0.0
            && self.rate_429 <= 0.0
            && self.latency.is_zero()
            && self.hang_rate <= 0.0
            && self.reset_rate <= 0.0
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// The fault chosen for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Serve normally.
    Pass,
    /// Answer this 5xx status.
    ServerError(u16),
    /// Answer 429, with this `Retry-After`.
    TooManyRequests(Option<u64>),
    /// Hang this long, then answer 504.
    Hang(Duration),
    /// Close the connection without answering.
    Reset,
}

/// Current faults plus the deterministic decision stream.
#[derive(Debug)]
pub struct FaultInjector {
    seed: u64,
    counter: AtomicU64,
    faults: Mutex<Faults>,
}

impl FaultInjector {
    /// A new injector.
    pub fn new(seed: u64, faults: Faults) -> Self {
        Self {
            seed,
            counter: AtomicU64::new(0),
            faults: Mutex::new(faults),
        }
    }

    /// Replace the faults and restart the decision stream, so a test that
    /// sets faults gets the same sequence every run.
    pub fn set(&self, faults: Faults) {
        *self.faults.lock().unwrap_or_else(|p| p.into_inner()) = faults;
        self.counter.store(0, Ordering::SeqCst);
    }

    /// The current faults.
    pub fn get(&self) -> Faults {
        self.faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Decide latency and outcome for a request in `zone`.
    pub fn decide(&self, zone: Option<&str>) -> (Duration, Outcome) {
        let f = self.get();
        if f.is_noop() {
            return (Duration::ZERO, Outcome::Pass);
        }
        if let Some(zones) = &f.zones {
            match zone {
                Some(z) if zones.iter().any(|x| x == z) => {}
                _ => return (Duration::ZERO, Outcome::Pass),
            }
        }
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let base = mix(self.seed ^ mix(n.wrapping_add(1)));
        let draw = |k: u64| unit(mix(base.wrapping_add(k)));
        let outcome = if draw(1) < f.reset_rate {
            Outcome::Reset
        } else if draw(2) < f.hang_rate {
            Outcome::Hang(f.hang_for)
        } else if draw(3) < f.rate_429 {
            Outcome::TooManyRequests(f.retry_after_secs)
        } else if draw(4) < f.error_5xx_rate {
            Outcome::ServerError([500, 502, 503][usize::try_from(base % 3).unwrap_or(0)])
        } else {
            Outcome::Pass
        };
        (f.latency, outcome)
    }
}
