//! End-to-end tests of fleet: the gateway in front of real workers, the emulator and the
//! scheduler, over a private Postgres, all in one process.
//!
//! They live in their own crate so that what they need (the worker, the Scaleway client, the
//! emulator, a Postgres cluster) is never a dependency of `fleet-gateway`, which must not
//! depend on `fleet-scaleway` in any way (docs/architecture.md). The library is empty; the
//! tests are in `tests/` (`gateway_e2e.rs`, `security.rs`, the shared harness in `common/`).
