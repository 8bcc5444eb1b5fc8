//! The API's error body (`{"type": …, "message": …, …}`) as a typed error.
//!
//! The SDKs dispatch on `type`, never on the HTTP status, so [`ApiError`] is
//! an enum over `type` with one struct per kind holding the kind's extra
//! fields. Unknown keys of each body are kept in `extra`; an unknown `type`
//! (or a body whose fields do not fit its kind) is kept whole in
//! [`ApiError::Other`], so any error body round-trips.
//!
//! Statuses follow reference section 3. Two are not documented anywhere:
//! `locked` is given 409 Conflict, because the request conflicts with the
//! state of the resource just like `transient_state`; `out_of_stock` is
//! given 503 Service Unavailable, because it is a temporary capacity
//! shortage (the legacy API answered 503 to "No free IP address").
//!
//! - `kind`: [`ErrorKind`], the `type` string and HTTP status of each kind;
//! - `body`: one struct per kind, the details they hold and the enums of
//!   their fields;
//! - `api_error`: [`ApiError`] over those bodies, its constructors, and
//!   reading and writing a whole body;
//! - `display`: the one-line messages.

mod api_error;
mod body;
mod display;
mod kind;
#[cfg(test)]
mod tests;

pub use api_error::ApiError;
pub use body::*;
pub use kind::ErrorKind;

#[cfg(test)]
use crate::time::Timestamp;
#[cfg(test)]
use serde_json::Value;
