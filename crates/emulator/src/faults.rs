//! Injectable faults for reliability tests: 5xx, 429, added latency, hung
//! requests and connection resets, each at a rate, optionally restricted to
//! some zones. Decisions are drawn from a counter hashed with the seed, so a
//! sequential client sees the same faults on every run.
//!
//! Beside them, lost answers ([`LostAnswers`]): the next successful answers to one
//! operation are served in full (the API acted) and then dropped with the connection,
//! the fault that makes a non-idempotent call ambiguous. They are counted, not drawn.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fleet_core::catalog::{self, Operation};
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
    /// Only these zones are affected (all when `None`; lost answers are in every zone).
    pub zones: Option<Vec<String>>,
    /// Answers to lose after the API acted, per operation.
    pub lost_answers: Vec<LostAnswers>,
}

/// The next `count` successful (2xx) answers to `operation` are lost: the request is served
/// (its effects are kept), then the connection is closed without the answer. The emulator
/// counts them down; `GET /emulator/v1/faults` shows what is left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostAnswers {
    /// The catalog operation, by name (`create_ip`).
    #[serde(with = "operation_name")]
    pub operation: Operation,
    /// How many answers are still to lose.
    pub count: u32,
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
            lost_answers: Vec::new(),
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
            && self.lost_answers.iter().all(|l| l.count == 0)
    }
}

mod operation_name {
    use fleet_core::catalog::Operation;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(o: &Operation, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(o.name())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Operation, D::Error> {
        let name = String::deserialize(d)?;
        Operation::from_name(&name)
            .ok_or_else(|| D::Error::custom(format!("unknown catalog operation {name:?}")))
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

    /// Whether the successful answer to `method path` is to be lost ([`LostAnswers`]);
    /// counts one down when it is.
    pub fn lose_answer(&self, method: &str, path: &str) -> bool {
        let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        if faults.lost_answers.iter().all(|l| l.count == 0) {
            return false;
        }
        let Some((endpoint, _)) = catalog::find(method, path) else {
            return false;
        };
        match faults
            .lost_answers
            .iter_mut()
            .find(|l| l.operation == endpoint.operation && l.count > 0)
        {
            Some(lost) => {
                lost.count -= 1;
                true
            }
            None => false,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_answers_are_counted_down_per_operation() {
        let faults: Faults = serde_json::from_value(serde_json::json!({
            "lost_answers": [{"operation": "create_ip", "count": 2}]
        }))
        .unwrap();
        assert!(!faults.is_noop());
        let injector = FaultInjector::new(1, faults);
        let ips = "/instance/v1/zones/fr-par-1/ips";
        assert!(!injector.lose_answer("GET", ips), "another operation");
        assert!(injector.lose_answer("POST", ips));
        assert!(injector.lose_answer("POST", ips));
        assert!(!injector.lose_answer("POST", ips), "only two");
        assert_eq!(injector.get().lost_answers[0].count, 0);
        assert_eq!(injector.decide(Some("fr-par-1")).1, Outcome::Pass);
        let unknown = serde_json::from_value::<Faults>(serde_json::json!({
            "lost_answers": [{"operation": "create_everything", "count": 1}]
        }));
        assert!(
            unknown
                .unwrap_err()
                .to_string()
                .contains("unknown catalog operation \"create_everything\"")
        );
    }
}
