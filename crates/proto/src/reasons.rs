//! `google.rpc.ErrorInfo` reasons and domains that cross a process boundary.
//!
//! The worker sets them on `ZoneCalls` errors and the gateway branches on them (and sets
//! some on its public errors), so both sides read the same constant from here.

/// `ErrorInfo.domain` of the worker's internal errors.
pub const WORKER_DOMAIN: &str = "worker.fleet.internal";

/// The worker does not hold the zone; metadata `owner` names the current owner's address.
pub const NOT_ZONE_OWNER: &str = "NOT_ZONE_OWNER";
/// The upstream retry budget was spent (5xx, timeouts, resets).
pub const UPSTREAM_UNAVAILABLE: &str = "UPSTREAM_UNAVAILABLE";
/// The worker refused a resource outside the caller's project scope.
pub const OUTSIDE_PROJECT_SCOPE: &str = "OUTSIDE_PROJECT_SCOPE";
/// The gateway refused a project the caller's token does not grant.
pub const PROJECT_NOT_GRANTED: &str = "PROJECT_NOT_GRANTED";
