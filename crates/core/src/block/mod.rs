//! Typed model of the Scaleway Block Storage (SBS) API, v1 and v1alpha1.
//!
//! The data of servers made from an image label lives here: their root is
//! an `sbs_volume` that the Instance API shows only inside
//! `server.volumes`. Built like the Instance model and from its pieces
//! ([`Timestamp`](crate::Timestamp), [`Maybe`](crate::Maybe),
//! [`Zone`](crate::Zone), the string-enum macro, the catalog's
//! [`Method`](crate::Method)/[`TypeRef`](crate::catalog::TypeRef)/[`Body`](crate::catalog::Body)),
//! with `extra` maps so nothing the API sends is dropped (see
//! `tests/block_cassette_conformance.rs`).
//!
//! - [`resources`]: [`Volume`], [`Snapshot`], [`Reference`], [`VolumeTypeInfo`];
//! - [`requests`]: create (empty or from a snapshot), update, snapshot
//!   create, import and export bodies, list queries;
//! - [`responses`]: list envelopes with `total_count` in the body;
//! - [`enums`]: statuses with `is_transient()`, volume types, classes;
//! - [`unified`]: Block resources in the Instance shapes fleet shows, and
//!   the Instance filters and update bodies as Block ones.
//!
//! The endpoints are in [`crate::catalog`], as the [`Api::Block`](crate::catalog::Api::Block)
//! family (operations named `block_…`).
//!
//! Errors: the Block API answers the Instance error shapes (recorded:
//! `not_found` with `resource` `volume` or `snapshot`, `permissions_denied`),
//! so [`ApiError`](crate::ApiError) reads both; [`BlockResource`] names the
//! `resource` values. Nothing here is re-exported at the crate root: the
//! names (`Volume`, `Snapshot`, …) are the Instance ones, so callers write
//! `block::Volume`.

pub mod enums;
pub mod requests;
pub mod resources;
pub mod responses;
pub mod unified;

pub use enums::*;
pub use requests::*;
pub use resources::*;
pub use responses::*;
