//! Typed model of the Scaleway Instance API v1 (and its v2alpha1 private
//! network interfaces and placement groups, [`v2alpha1`]) and of the Block
//! Storage API ([`block`]).
//!
//! The foundation crate of the fleet platform: the HTTP client, the local
//! API emulator and the gRPC gateway all speak through these types, so they
//! are built to round-trip real traffic byte-for-byte (see
//! `tests/cassette_conformance.rs`).
//!
//! - [`resources`]: objects the API returns (`Server`, `Volume`, …);
//! - [`requests`]: request bodies and query structs;
//! - [`responses`]: response envelopes (`{"server": …}`);
//! - [`enums`]: string enums with a catch-all `Other(String)`;
//! - [`catalog`]: the endpoints of the three families, with path matching;
//! - [`ApiError`]: the error body as a typed error;
//! - [`Zone`], [`Timestamp`], [`Maybe`]: the small value types.
//!
//! Everything is also re-exported at the crate root.

pub mod block;
pub mod catalog;
pub mod enums;
pub mod error;
pub mod maybe;
pub mod requests;
pub mod resources;
pub mod responses;
pub mod time;
pub mod v2alpha1;
mod wire;
pub mod zone;

pub use catalog::{ENDPOINTS, Endpoint, Method, Operation, PathParams};
pub use enums::*;
pub use error::*;
pub use maybe::Maybe;
pub use requests::*;
pub use resources::*;
pub use responses::*;
pub use time::{InvalidTimestamp, Timestamp};
pub use zone::{UnknownZone, Zone};
