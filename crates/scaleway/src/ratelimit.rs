//! Per-zone token buckets, shared by every clone of a client.
//!
//! Each zone has its own bucket of `burst` tokens refilled at `rate` tokens
//! per second; every HTTP attempt (retries included) takes one token
//! before it is sent, whichever API family it calls: Instance and Block
//! calls of a zone share the zone's budget, so over any window of `t` seconds a zone sends at
//! most `burst + rate·t` requests. Waiters queue first-come first-served
//! (an async mutex per zone) and waiting is cancellable: dropping the
//! future leaves the queue without consuming a token, and
//! [`RateLimiter::acquire_cancellable`] also stops on a
//! [`CancellationToken`].
//!
//! A 429 from the API is fed back with [`RateLimiter::note_throttled`]: the
//! zone's bucket is emptied and paused for the `Retry-After` (or one token
//! interval), the zone's 429 counter goes up, and the optional
//! [`ThrottleListener`] is called, so that e.g. the worker can slow down
//! the claimer of that zone.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use fleet_core::Zone;
use fleet_core::catalog::Api;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::Error;

/// Rate and burst of one zone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZoneRate {
    /// Tokens per second (requests per second in the long run). Infinite or
    /// non-positive means unlimited.
    pub rate: f64,
    /// Bucket size: requests that may go out at once after a quiet period.
    pub burst: u32,
}

impl ZoneRate {
    /// A rate of `rate` requests per second with bursts of `burst`.
    pub const fn new(rate: f64, burst: u32) -> Self {
        ZoneRate { rate, burst }
    }

    fn limited(&self) -> bool {
        self.rate.is_finite() && self.rate > 0.0
    }

    fn capacity(&self) -> f64 {
        f64::from(self.burst.max(1))
    }
}

/// Rate-limit settings: a default for every zone plus per-zone overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitConfig {
    /// Applies to zones without an override.
    pub default: ZoneRate,
    /// Per-zone overrides.
    pub per_zone: BTreeMap<Zone, ZoneRate>,
}

impl Default for RateLimitConfig {
    /// 20 requests per second per zone, bursts of 20. Scaleway publishes no
    /// limit (support quoted 100/s in 2017); 20/s leaves room for other
    /// clients of the same account.
    fn default() -> Self {
        RateLimitConfig {
            default: ZoneRate::new(20.0, 20),
            per_zone: BTreeMap::new(),
        }
    }
}

impl RateLimitConfig {
    /// The same rate for every zone.
    pub fn uniform(rate: f64, burst: u32) -> Self {
        RateLimitConfig {
            default: ZoneRate::new(rate, burst),
            per_zone: BTreeMap::new(),
        }
    }

    /// No limit at all.
    pub fn unlimited() -> Self {
        Self::uniform(f64::INFINITY, 1)
    }

    /// The rate of `zone`.
    pub fn for_zone(&self, zone: Zone) -> ZoneRate {
        self.per_zone.get(&zone).copied().unwrap_or(self.default)
    }
}

/// Called on every 429 with the zone and the `Retry-After`, if any.
pub type ThrottleListener = Arc<dyn Fn(Zone, Option<Duration>) + Send + Sync>;

#[derive(Debug)]
struct BucketState {
    rate: ZoneRate,
    tokens: f64,
    last: Instant,
    paused_until: Option<Instant>,
}

impl BucketState {
    fn refill(&mut self, now: Instant) {
        if self.rate.limited() {
            let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.rate.rate).min(self.rate.capacity());
        } else {
            self.tokens = self.rate.capacity();
        }
        self.last = now;
    }

    /// Takes a token, or says how long until one is there.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if let Some(until) = self.paused_until {
            if until > now {
                return Err(until - now);
            }
            self.paused_until = None;
        }
        if !self.rate.limited() {
            return Ok(());
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - self.tokens;
        Err(Duration::from_secs_f64(missing / self.rate.rate).max(Duration::from_micros(100)))
    }
}

struct ZoneBucket {
    /// First-come first-served queue of waiters.
    queue: tokio::sync::Mutex<()>,
    state: Mutex<BucketState>,
    acquired: AtomicU64,
    throttled: AtomicU64,
}

impl ZoneBucket {
    fn state(&self) -> std::sync::MutexGuard<'_, BucketState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Inner {
    config: Mutex<RateLimitConfig>,
    zones: Mutex<HashMap<Zone, Arc<ZoneBucket>>>,
    listener: Option<ThrottleListener>,
}

/// Per-zone token buckets. Cloning shares the buckets.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self
            .inner
            .config
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("RateLimiter")
            .field("config", &*config)
            .field("listener", &self.inner.listener.is_some())
            .finish()
    }
}

impl RateLimiter {
    /// Buckets for `config`, calling `listener` on every 429.
    pub fn new(config: RateLimitConfig, listener: Option<ThrottleListener>) -> Self {
        RateLimiter {
            inner: Arc::new(Inner {
                config: Mutex::new(config),
                zones: Mutex::new(HashMap::new()),
                listener,
            }),
        }
    }

    fn bucket(&self, zone: Zone) -> Arc<ZoneBucket> {
        let mut zones = self
            .inner
            .zones
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        zones
            .entry(zone)
            .or_insert_with(|| {
                let rate = self
                    .inner
                    .config
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .for_zone(zone);
                Arc::new(ZoneBucket {
                    queue: tokio::sync::Mutex::new(()),
                    state: Mutex::new(BucketState {
                        rate,
                        tokens: rate.capacity(),
                        last: Instant::now(),
                        paused_until: None,
                    }),
                    acquired: AtomicU64::new(0),
                    throttled: AtomicU64::new(0),
                })
            })
            .clone()
    }

    /// Waits for and takes one token of `zone`. Dropping the future gives
    /// up the place in the queue without consuming a token.
    pub async fn acquire(&self, zone: Zone) {
        self.acquire_for(zone, None).await;
    }

    /// [`RateLimiter::acquire`] on behalf of a call of `api` (recorded
    /// with the wait), or of no call in particular (`None`).
    pub(crate) async fn acquire_for(&self, zone: Zone, api: Option<Api>) {
        let bucket = self.bucket(zone);
        let started = Instant::now();
        let _turn = bucket.queue.lock().await;
        loop {
            let wait = bucket.state().take(Instant::now());
            match wait {
                Ok(()) => {
                    bucket.acquired.fetch_add(1, Ordering::Relaxed);
                    metrics::record_wait(zone, api, started.elapsed());
                    return;
                }
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// [`RateLimiter::acquire`] that also stops when `cancel` fires.
    pub async fn acquire_cancellable(
        &self,
        zone: Zone,
        cancel: &CancellationToken,
    ) -> Result<(), Error> {
        self.acquire_cancellable_for(zone, None, cancel).await
    }

    /// [`RateLimiter::acquire_cancellable`] on behalf of a call of `api`.
    pub(crate) async fn acquire_cancellable_for(
        &self,
        zone: Zone,
        api: Option<Api>,
        cancel: &CancellationToken,
    ) -> Result<(), Error> {
        tokio::select! {
            biased;
            () = cancel.cancelled() => Err(Error::Cancelled),
            () = self.acquire_for(zone, api) => Ok(()),
        }
    }

    /// Takes `n` tokens one after the other (budget spent ahead of work).
    pub async fn acquire_many(&self, zone: Zone, n: u32) {
        for _ in 0..n {
            self.acquire(zone).await;
        }
    }

    /// Takes a token if one is there right now, without waiting (and
    /// without queueing behind waiters: returns false while others wait).
    pub fn try_acquire(&self, zone: Zone) -> bool {
        let bucket = self.bucket(zone);
        let Ok(_turn) = bucket.queue.try_lock() else {
            return false;
        };
        let ok = bucket.state().take(Instant::now()).is_ok();
        if ok {
            bucket.acquired.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    /// Tokens available in `zone` now (fractional).
    pub fn available(&self, zone: Zone) -> f64 {
        let bucket = self.bucket(zone);
        let mut state = bucket.state();
        state.refill(Instant::now());
        state.tokens
    }

    /// Changes the rate of `zone` for every clone (e.g. to slow a zone
    /// down after repeated 429s). Tokens already in the bucket are capped
    /// at the new burst.
    pub fn set_rate(&self, zone: Zone, rate: ZoneRate) {
        self.inner
            .config
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .per_zone
            .insert(zone, rate);
        let bucket = self.bucket(zone);
        let mut state = bucket.state();
        state.refill(Instant::now());
        state.rate = rate;
        state.tokens = state.tokens.min(rate.capacity());
    }

    /// The current rate of `zone`.
    pub fn rate(&self, zone: Zone) -> ZoneRate {
        self.bucket(zone).state().rate
    }

    /// Records a 429 answered for `zone` by a call of `api`: empties the
    /// zone's bucket (shared by both families), pauses it for `retry_after`
    /// (or one token interval), counts it and calls the listener.
    pub fn note_throttled(&self, zone: Zone, api: Api, retry_after: Option<Duration>) {
        let bucket = self.bucket(zone);
        bucket.throttled.fetch_add(1, Ordering::Relaxed);
        metrics::record_throttled(zone, api);
        {
            let mut state = bucket.state();
            let now = Instant::now();
            state.refill(now);
            state.tokens = 0.0;
            let pause = retry_after.unwrap_or_else(|| {
                if state.rate.limited() {
                    Duration::from_secs_f64(1.0 / state.rate.rate)
                } else {
                    Duration::ZERO
                }
            });
            let until = now + pause;
            state.paused_until = Some(state.paused_until.map_or(until, |p| p.max(until)));
        }
        if let Some(listener) = &self.inner.listener {
            listener(zone, retry_after);
        }
    }

    /// 429s seen for `zone` since the client was built.
    pub fn throttled(&self, zone: Zone) -> u64 {
        self.bucket(zone).throttled.load(Ordering::Relaxed)
    }

    /// Tokens taken in `zone` since the client was built (one per HTTP
    /// attempt, plus budget taken with [`RateLimiter::acquire`]).
    pub fn acquired(&self, zone: Zone) -> u64 {
        self.bucket(zone).acquired.load(Ordering::Relaxed)
    }
}

/// Rate-limit metrics, on the global meter `fleet-scaleway`:
///
/// | metric | kind | attributes |
/// |---|---|---|
/// | `fleet.scaleway.ratelimit.wait.duration` | histogram, s: how long an attempt waited for its zone's token | `zone`; `api` (`instance`/`block`) when the token was for a call, none for budget taken ahead of work ([`RateLimiter::acquire`]) |
/// | `fleet.scaleway.throttled` | counter: 429s answered | `zone`, `api` |
pub mod metrics {
    use std::sync::OnceLock;
    use std::time::Duration;

    use fleet_core::Zone;
    use fleet_core::catalog::Api;
    use opentelemetry::KeyValue;
    use opentelemetry::metrics::{Counter, Histogram};

    pub const RATELIMIT_WAIT_DURATION: &str = "fleet.scaleway.ratelimit.wait.duration";
    pub const THROTTLED: &str = "fleet.scaleway.throttled";

    struct Instruments {
        wait: Histogram<f64>,
        throttled: Counter<u64>,
    }

    fn instruments() -> &'static Instruments {
        static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
        INSTRUMENTS.get_or_init(|| {
            let meter = opentelemetry::global::meter("fleet-scaleway");
            Instruments {
                wait: meter
                    .f64_histogram(RATELIMIT_WAIT_DURATION)
                    .with_unit("s")
                    .with_description("Wait for a zone's rate-limit token before a call")
                    .with_boundaries(vec![
                        0.0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                    ])
                    .build(),
                throttled: meter
                    .u64_counter(THROTTLED)
                    .with_description("429 answers from the Scaleway API")
                    .build(),
            }
        })
    }

    pub(super) fn record_wait(zone: Zone, api: Option<Api>, waited: Duration) {
        let zone = KeyValue::new("zone", zone.as_str());
        let seconds = waited.as_secs_f64();
        match api {
            Some(api) => instruments()
                .wait
                .record(seconds, &[zone, crate::telemetry::api_attribute(api)]),
            None => instruments().wait.record(seconds, &[zone]),
        }
    }

    pub(super) fn record_throttled(zone: Zone, api: Api) {
        instruments().throttled.add(
            1,
            &[
                KeyValue::new("zone", zone.as_str()),
                crate::telemetry::api_attribute(api),
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_rate() {
        let limiter = RateLimiter::new(RateLimitConfig::uniform(10.0, 5), None);
        let start = Instant::now();
        for _ in 0..5 {
            limiter.acquire(Zone::FrPar1).await;
        }
        assert_eq!(Instant::now(), start, "the burst is immediate");
        for _ in 0..10 {
            limiter.acquire(Zone::FrPar1).await;
        }
        let elapsed = Instant::now() - start;
        assert!(elapsed >= Duration::from_millis(999), "{elapsed:?}");
        assert!(elapsed <= Duration::from_millis(1100), "{elapsed:?}");
        // Another zone has its own bucket.
        let before = Instant::now();
        limiter.acquire(Zone::NlAms1).await;
        assert_eq!(Instant::now(), before);
        assert_eq!(limiter.acquired(Zone::FrPar1), 15);
    }

    #[tokio::test(start_paused = true)]
    async fn cancel_and_drop_do_not_consume() {
        let limiter = RateLimiter::new(RateLimitConfig::uniform(1.0, 1), None);
        limiter.acquire(Zone::FrPar1).await;
        let cancel = CancellationToken::new();
        cancel.cancel();
        assert!(matches!(
            limiter.acquire_cancellable(Zone::FrPar1, &cancel).await,
            Err(Error::Cancelled)
        ));
        let dropped =
            tokio::time::timeout(Duration::from_millis(10), limiter.acquire(Zone::FrPar1)).await;
        assert!(dropped.is_err());
        assert_eq!(limiter.acquired(Zone::FrPar1), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_pauses_the_zone_and_notifies() {
        let seen = Arc::new(AtomicU64::new(0));
        let seen2 = seen.clone();
        let listener: ThrottleListener = Arc::new(move |zone, _| {
            assert_eq!(zone, Zone::FrPar2);
            seen2.fetch_add(1, Ordering::Relaxed);
        });
        let limiter = RateLimiter::new(RateLimitConfig::uniform(100.0, 100), Some(listener));
        limiter.note_throttled(Zone::FrPar2, Api::Block, Some(Duration::from_secs(2)));
        let start = Instant::now();
        limiter.acquire(Zone::FrPar2).await;
        assert!(Instant::now() - start >= Duration::from_secs(2));
        assert_eq!(limiter.throttled(Zone::FrPar2), 1);
        assert_eq!(seen.load(Ordering::Relaxed), 1);
        assert!(!limiter.try_acquire(Zone::FrPar2) || limiter.available(Zone::FrPar2) >= 0.0);
    }
}
