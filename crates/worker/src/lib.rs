//! The zone-sharded Scaleway caller. See `docs/architecture.md` (worker section).
//!
//! * [`ownership`]: zone leases, fair sharing between live workers, renewal and hand-over.
//! * [`context`]: what a zone's handlers get, and the [`context::ZoneGuard`] checked before
//!   every upstream call.
//! * [`jobs`]: the long-running operations as resumable step machines, and the zone watcher
//!   that observes the resources they wait on.
//! * [`calls`]: the internal `ZoneCalls` gRPC service (the gateway's synchronous calls).
//! * [`service`]: `WorkerConfig` → build → run until shutdown.

pub mod calls;
pub mod config;
pub mod context;
pub mod jobs;
pub mod ownership;
pub mod service;

pub use config::{ConfigError, WorkerConfig};
pub use ownership::{HeldZone, HeldZones, ZoneWork, ZoneWorkFactory};
pub use service::{BuildError, Worker, WorkerHandle, jobs_factory};
