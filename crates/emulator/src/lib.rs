//! A faithful local Scaleway Instance API v1 and Block Storage API (v1 and
//! v1alpha1) emulator.
//!
//! Same paths (`/instance/v1/zones/{zone}/…`, `/block/v1/zones/{zone}/…`),
//! envelopes, status codes, error bodies, pagination and state machines as
//! the real APIs, backed by one in-memory world; plus what reliability tests need: a per-zone rate limit,
//! injectable faults (deterministic under a seed) and a call log.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! let emu = fleet_emulator::Emulator::builder()
//!     .transition(Duration::from_millis(50))
//!     .seed(42)
//!     .start()
//!     .await?;
//! let base = emu.base_url(); // "http://127.0.0.1:PORT"
//! # let _ = base;
//! emu.shutdown().await;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod calllog;
pub mod catalog_data;
pub mod errors;
pub mod faults;
pub mod http;
pub mod pagination;
pub mod ratelimit;
pub mod server;
pub mod state;
pub mod util;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use auth::{TokenEntry, TokensConfig};
pub use calllog::CallRecord;
pub use faults::{Faults, LostAnswers};
pub use ratelimit::RateLimit;
pub use state::Quotas;

/// Default duration of transient states: long enough to be observed by a
/// poller, short enough for interactive use of `fleet dev`.
pub const DEFAULT_TRANSITION: Duration = Duration::from_secs(3);

/// Everything the emulator can be configured with.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Address to listen on (default `127.0.0.1:0`).
    pub listen: SocketAddr,
    /// How long transient states (`starting`, `snapshotting`, …) last.
    pub transition: Duration,
    /// Per-zone rate limit (none by default).
    pub rate_limit: Option<RateLimit>,
    /// Seed for ids and fault decisions.
    pub seed: u64,
    /// Fixed tokens; `None` accepts any UUID key as its own tenant.
    pub tokens: Option<TokensConfig>,
    /// A tokens file to read at start (overrides `tokens`).
    pub tokens_file: Option<PathBuf>,
    /// Per-tenant quotas.
    pub quotas: Quotas,
    /// Faults active from the start.
    pub faults: Faults,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            transition: DEFAULT_TRANSITION,
            rate_limit: None,
            seed: 0,
            tokens: None,
            tokens_file: None,
            quotas: Quotas::default(),
            faults: Faults::default(),
        }
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// The embedded catalogue is corrupt.
    #[error(transparent)]
    Catalog(#[from] catalog_data::CatalogError),
    /// The tokens file is unreadable or invalid.
    #[error(transparent)]
    Tokens(#[from] auth::TokensError),
}

/// Entry point: `Emulator::builder()`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with the defaults of [`EmulatorConfig`].
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            config: EmulatorConfig::default(),
        }
    }
}

/// Builds and starts an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    config: EmulatorConfig,
}

impl EmulatorBuilder {
    /// How long transient states last.
    pub fn transition(mut self, d: Duration) -> Self {
        self.config.transition = d;
        self
    }
    /// Per-zone rate limit: sustained requests per second and burst.
    pub fn rate_limit(mut self, per_second: f64, burst: u32) -> Self {
        self.config.rate_limit = Some(RateLimit { per_second, burst });
        self
    }
    /// Seed for ids and fault decisions.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }
    /// Listen address (default `127.0.0.1:0`).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.config.listen = addr;
        self
    }
    /// Fixed tokens.
    pub fn tokens(mut self, tokens: TokensConfig) -> Self {
        self.config.tokens = Some(tokens);
        self
    }
    /// A tokens file (JSON) read at start.
    pub fn tokens_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.tokens_file = Some(path.into());
        self
    }
    /// Per-tenant quotas.
    pub fn quotas(mut self, quotas: Quotas) -> Self {
        self.config.quotas = quotas;
        self
    }
    /// Faults active from the start.
    pub fn faults(mut self, faults: Faults) -> Self {
        self.config.faults = faults;
        self
    }
    /// Replace the whole configuration.
    pub fn config(mut self, config: EmulatorConfig) -> Self {
        self.config = config;
        self
    }
    /// Bind and start serving in the background.
    pub async fn start(self) -> Result<RunningEmulator, EmulatorError> {
        start(self.config).await
    }
}

/// A running emulator; dropping it without [`RunningEmulator::shutdown`]
/// also stops it.
#[derive(Debug)]
pub struct RunningEmulator {
    shared: Arc<server::Shared>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// `http://IP:PORT`; clients append `/instance/v1/zones/…`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
    /// Every Instance and Block API call so far, oldest first.
    pub fn call_log(&self) -> Vec<CallRecord> {
        self.shared.calls.snapshot()
    }
    /// Forget the call log.
    pub fn clear_call_log(&self) {
        self.shared.calls.clear();
    }
    /// Replace the injected faults (restarts the deterministic stream).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.faults.set(faults);
    }
    /// Remove every injected fault.
    pub fn clear_faults(&self) {
        self.shared.faults.set(Faults::default());
    }
    /// Lock or unlock a resource by id: while locked, every change to it
    /// answers 409 `locked`, and a locked server shows the `locked` state.
    pub fn set_locked(&self, id: uuid::Uuid, locked: bool) {
        let mut w = self.shared.world.lock().unwrap_or_else(|p| p.into_inner());
        if locked {
            w.locked.insert(id);
        } else {
            w.locked.remove(&id);
        }
    }
    /// Mark a commercial type out of stock in a zone (or back in stock):
    /// creating or powering on such a server answers 503 `out_of_stock`.
    pub fn set_out_of_stock(&self, zone: &str, commercial_type: &str, out: bool) {
        let mut w = self.shared.world.lock().unwrap_or_else(|p| p.into_inner());
        let key = (zone.to_owned(), commercial_type.to_owned());
        if out {
            w.out_of_stock.insert(key);
        } else {
            w.out_of_stock.remove(&key);
        }
    }
    /// The ids of every Block volume of every tenant, in creation order
    /// (what is left behind once servers are gone).
    pub fn block_volume_ids(&self) -> Vec<uuid::Uuid> {
        let w = self.shared.world.lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<(u64, uuid::Uuid)> =
            w.block_volumes.values().map(|v| (v.seq, v.id)).collect();
        v.sort_unstable();
        v.into_iter().map(|(_, id)| id).collect()
    }
    /// How many state transitions are scheduled and not yet applied (they
    /// apply at the next request after their time): zero means no answer
    /// will change until a client changes something.
    pub fn pending_transitions(&self) -> usize {
        let w = self.shared.world.lock().unwrap_or_else(|p| p.into_inner());
        w.pending_transitions()
    }
    /// The current faults.
    pub fn faults(&self) -> Faults {
        self.shared.faults.get()
    }
    /// Stop accepting, drop open connections, and wait for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn prepare(
    config: &EmulatorConfig,
) -> Result<
    (
        Arc<server::Shared>,
        tokio::net::TcpListener,
        watch::Sender<bool>,
    ),
    EmulatorError,
> {
    let catalog = Arc::new(catalog_data::Catalog::load()?);
    let tokens = match &config.tokens_file {
        Some(p) => Some(TokensConfig::from_file(p)?),
        None => config.tokens.clone(),
    };
    let listener = server::bind(config.listen)
        .await
        .map_err(|source| EmulatorError::Bind {
            addr: config.listen,
            source,
        })?;
    let (stop, rx) = watch::channel(false);
    let shared = Arc::new(server::Shared {
        world: Mutex::new(state::World::new(
            catalog,
            config.transition,
            config.seed,
            config.quotas.clone(),
        )),
        auth: auth::Authenticator::new(tokens.as_ref()),
        faults: faults::FaultInjector::new(config.seed, config.faults.clone()),
        limiter: config.rate_limit.map(ratelimit::RateLimiter::new),
        calls: calllog::CallLog::default(),
        seed: config.seed,
        requests: AtomicU64::new(0),
        shutdown: rx,
    });
    Ok((shared, listener, stop))
}

async fn start(config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
    let (shared, listener, stop) = prepare(&config).await?;
    let addr = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind {
            addr: config.listen,
            source,
        })?;
    let router = server::router(shared.clone());
    let task = tokio::spawn(server::serve(listener, router, stop.subscribe()));
    Ok(RunningEmulator {
        shared,
        addr,
        stop,
        task: Some(task),
    })
}

/// Run until `shutdown` completes (for `fleet emulator --listen ADDR`).
/// `on_ready` receives the bound address once listening.
pub async fn run(
    config: EmulatorConfig,
    shutdown: impl Future<Output = ()> + Send,
    on_ready: impl FnOnce(SocketAddr) + Send,
) -> Result<(), EmulatorError> {
    let emu = start(config).await?;
    on_ready(emu.local_addr());
    shutdown.await;
    emu.shutdown().await;
    Ok(())
}
