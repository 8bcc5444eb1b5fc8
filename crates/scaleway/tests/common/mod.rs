//! Shared setup of the integration tests: an in-process emulator and a
//! client pointed at it, plus call-log helpers.

#![allow(dead_code)]

pub mod mock;

use std::time::{Duration, Instant};

use fleet_emulator::{CallRecord, Emulator, RunningEmulator};
use fleet_scaleway::{Client, Config, RateLimitConfig, RetryPolicy};

/// The test tenant's key (any UUID is its own tenant in the emulator).
pub const SECRET: &str = "7c4f1d2e-9a3b-4c5d-8e6f-0a1b2c3d4e5f";

/// An emulator with fast transitions and a generous rate limit.
pub async fn emulator() -> RunningEmulator {
    Emulator::builder()
        .transition(Duration::from_millis(50))
        .rate_limit(1000.0, 1000)
        .seed(42)
        .start()
        .await
        .expect("emulator starts")
}

/// A config for `emu` with fast retries and no client-side rate limit.
pub fn config(emu: &RunningEmulator) -> Config {
    config_at(&emu.base_url())
}

/// [`config`] for an API at `url` (e.g. a [`mock::Mock`]).
pub fn config_at(url: &str) -> Config {
    Config::new(SECRET)
        .with_api_url(url)
        .with_retry(RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            max_retry_after: Duration::from_secs(5),
        })
        .with_rate_limit(RateLimitConfig::unlimited())
        .with_timeouts(Duration::from_secs(2), Duration::from_secs(10))
}

/// A client for `emu` (see [`config`]).
pub fn client(emu: &RunningEmulator) -> Client {
    Client::new(config(emu)).expect("client builds")
}

/// Calls of the log whose path ends with `suffix` (and method matches).
pub fn calls_to(log: &[CallRecord], method: &str, path_suffix: &str) -> Vec<CallRecord> {
    log.iter()
        .filter(|c| c.method == method && c.path.ends_with(path_suffix))
        .cloned()
        .collect()
}

/// Polls `cond` until it holds or `timeout` passes.
pub async fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
