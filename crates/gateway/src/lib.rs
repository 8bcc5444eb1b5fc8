//! The public gRPC API of fleet (`fleet.v1`): authentication, validation, idempotent requests,
//! long-running operations and rich errors over the whole Scaleway Instance API.
//!
//! Flow of a call: [`service`] (the tonic services, generated from the method table) →
//! [`auth`] (bearer token → [`auth::Caller`], [`limits`]) → [`call`] (the call path) →
//! [`request`] (field rules, then the pure [`request::plan`]: conversion to the fleet-core
//! request, the job of a long-running call, the page of a list) → either
//! [`call::routing`] (`ZoneCalls.Invoke` on the worker owning the zone) or, for long-running
//! methods, [`call::long_running`] + the scheduler (job and request record in one
//! transaction) → [`errors`] (the one error table). [`operations`] serves the jobs as
//! AIP-151 operations. [`batches`] and [`policies`] are fleet's own services over those
//! jobs: a batch acts on a selection under a rollout policy; a policy starts a batch on each
//! slot of its schedules.
//!
//! Entry points for the `fleet` binary: [`GatewayConfig`] (a `clap::Args` group), [`GatewayConfig::build`]
//! (or [`GatewayConfig::build_with_pool`]), [`Gateway::local_addr`], [`Gateway::run`].

pub mod audit;
pub mod auth;
pub mod batches;
pub mod call;
pub mod config;
pub mod errors;
pub mod limits;
pub mod operations;
pub mod paging;
pub mod policies;
pub mod request;
pub mod retention;
pub mod service;
pub mod visible;

pub use auth::{CallerConfig, Role, token_sha256_hex};
pub use config::GatewayConfig;
pub use errors::GatewayError;
pub use service::build::GatewayStartError;
pub use service::server::Gateway;
