//! How a failed job records why (`errors[-1].kind` and `.details`), so the gateway can turn it
//! into a `google.rpc.Status` with the same error table as synchronous calls.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::progress::Observation;

/// Values of the error entry's `kind`.
pub mod failure_kind {
    /// Scaleway answered with an error: `Failure::status` and `Failure::upstream` are set.
    pub const UPSTREAM: &str = "upstream";
    /// The resource reached a state from which the target cannot be reached.
    pub const UNREACHABLE_STATE: &str = "unreachable_state";
    /// The resource disappeared (404) in the middle of the operation.
    pub const RESOURCE_GONE: &str = "resource_gone";
    /// The operation's deadline passed.
    pub const DEADLINE_EXCEEDED: &str = "deadline_exceeded";
    /// Transient upstream trouble (429, 5xx, timeouts) outlasted the job's attempts.
    pub const UNAVAILABLE: &str = "unavailable";
    /// The job's arguments were refused before any upstream call.
    pub const INVALID_ARGUMENT: &str = "invalid_argument";
    /// Cancelled at the caller's request.
    pub const CANCELLED: &str = "cancelled";
    /// A bug or an inconsistency on our side.
    pub const INTERNAL: &str = "internal";
    /// The job's recorded progress does not decode: it may hold an intent (a create issued,
    /// an id to adopt), so the job stops rather than start over and risk acting twice.
    pub const PROGRESS_UNDECODABLE: &str = "progress_undecodable";
}

/// Details of a failure (`errors[-1].details`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Failure {
    /// Upstream HTTP status, for `upstream` failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Scaleway's error body, whole (`type`, `message` and the type's extra fields).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub upstream: Value,
    /// The state the resource was in when the job gave up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The state the job was waiting for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Upstream states observed, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Observation>,
    /// What the job did to undo its partial work, or what it left and where.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compensation: Vec<String>,
    /// Resources the job made and could not remove (names, `zones/{zone}/servers/{id}`),
    /// left for the caller (or the orphan sweeper) to delete.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left: Vec<String>,
    /// Resource name, when known (`zones/{zone}/servers/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

impl Failure {
    /// Serializes as the error entry's details.
    pub fn to_details(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Reads an error entry's details (empty when foreign).
    pub fn from_details(details: &Value) -> Self {
        serde_json::from_value(details.clone()).unwrap_or_default()
    }
}
