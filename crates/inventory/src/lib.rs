//! The fleet inventory: one Postgres row per resource fleet can see, per zone
//! (`inventory_resources`, migration `20261202050000_inventory.sql`), and one row per zone and
//! kind saying when its last full resync ran (`inventory_syncs`).
//!
//! Only the worker that owns a zone writes that zone's rows (it is the only role that calls
//! Scaleway); the gateway only reads them. This crate is the one place that knows the tables,
//! so neither side writes SQL against them.

mod kind;
mod record;
pub mod write;

pub use kind::{Kind, UnknownKind};
pub use record::{MissingId, Record};
