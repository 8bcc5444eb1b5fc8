//! The zone-sharded Scaleway caller. See `docs/architecture.md` (worker section).
//!
//! * [`ownership`]: zone leases, fair sharing between live workers, renewal and hand-over.
//! * [`context`]: what a zone's handlers get, and the [`context::ZoneGuard`] checked before
//!   every upstream call.
//! * [`jobs`]: the long-running operations as resumable step machines, and the zone watcher
//!   that observes the resources they wait on.
//! * [`calls`]: the internal `ZoneCalls` gRPC service (the gateway's synchronous calls).
//! * [`service`]: `WorkerConfig` → build → run until shutdown.

pub mod context;
