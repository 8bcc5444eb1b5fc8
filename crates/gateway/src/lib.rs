//! The public gRPC API of fleet (`fleet.v1`): authentication, validation, idempotent requests,
//! long-running operations and rich errors over the whole Scaleway Instance API.
//!
//! Flow of a call: [`auth`] (bearer token → [`auth::Caller`]) → [`validate`] → [`convert`]
//! (the generic proto → fleet-core request) → either [`routing`] (`ZoneCalls.Invoke` on the
//! worker owning the zone) or, for long-running methods, [`lro`] + the scheduler (job and
//! request record in one transaction) → [`errors`] (the one error table).
//!
//! Entry points for the `fleet` binary: [`GatewayConfig::from_env`], [`GatewayConfig::build`]
//! (or [`GatewayConfig::build_with_pool`]), [`Gateway::local_addr`], [`Gateway::run`].

pub mod api;
pub mod auth;
pub mod config;
pub mod convert;
pub mod errors;
pub mod idempotency;
pub mod limits;
pub mod lro;
pub mod operations;
pub mod ops_service;
pub mod paging;
pub mod routing;
pub mod server;
pub mod services;
pub mod validate;
pub mod validation;

pub use auth::{CallerConfig, Role, token_sha256_hex};
pub use config::{GatewayConfig, GatewayStartError};
pub use errors::GatewayError;
pub use server::Gateway;
