//! What a zone's job handlers and watcher get from the worker: the zone, a Scaleway client for
//! it, the database, and the guard that says whether this worker still owns the zone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use fleet_core::Zone;
use fleet_scaleway::Client;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// The lease of a zone is no longer held by this worker: no upstream call may be made.
#[derive(Debug, Clone, thiserror::Error)]
#[error("zone {zone} is no longer owned by this worker (lease epoch {epoch})")]
pub struct LeaseLost {
    pub zone: Zone,
    pub epoch: i64,
}

/// Ownership of one zone in one lease epoch. Cheap to clone; every clone sees the loss.
#[derive(Debug, Clone)]
pub struct ZoneGuard {
    inner: Arc<GuardInner>,
}

#[derive(Debug)]
struct GuardInner {
    zone: Zone,
    epoch: i64,
    held: AtomicBool,
    lost: CancellationToken,
}

impl ZoneGuard {
    /// A guard for `zone` held in `epoch`.
    pub fn new(zone: Zone, epoch: i64) -> Self {
        Self {
            inner: Arc::new(GuardInner {
                zone,
                epoch,
                held: AtomicBool::new(true),
                lost: CancellationToken::new(),
            }),
        }
    }

    pub fn zone(&self) -> Zone {
        self.inner.zone
    }

    pub fn epoch(&self) -> i64 {
        self.inner.epoch
    }

    /// Still held (as far as the last renewal knows).
    pub fn is_held(&self) -> bool {
        self.inner.held.load(Ordering::SeqCst)
    }

    /// Call before every upstream call.
    pub fn check(&self) -> Result<(), LeaseLost> {
        if self.is_held() {
            Ok(())
        } else {
            Err(LeaseLost {
                zone: self.inner.zone,
                epoch: self.inner.epoch,
            })
        }
    }

    /// Cancelled when the lease is lost or released: pass it to the client
    /// (`Client::with_cancel`) so rate-limit waits and back-off sleeps stop at once.
    pub fn token(&self) -> CancellationToken {
        self.inner.lost.clone()
    }

    /// Marks the lease lost (renewal failed, expired, released or handed over).
    pub fn revoke(&self) {
        self.inner.held.store(false, Ordering::SeqCst);
        self.inner.lost.cancel();
    }
}

/// Everything a zone's handlers and watcher need.
#[derive(Debug, Clone)]
pub struct ZoneContext {
    pub zone: Zone,
    /// A client whose calls carry `X-Fleet-Caller: {worker id}/{epoch}` and are cancelled
    /// when the lease is lost.
    pub client: Client,
    pub pool: PgPool,
    pub guard: ZoneGuard,
    /// This worker's id (lease owner).
    pub worker_id: String,
}
