//! Flexible IPs.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::{IpState, IpType};
use crate::resources::ServerSummary;
use crate::zone::Zone;

/// A flexible IP. `routed_ipv4` has `address` set and `prefix: null`;
/// `routed_ipv6` has `address: null` and a `/64` `prefix`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Ip {
    pub id: String,
    pub address: Option<String>,
    pub prefix: Option<String>,
    /// Reverse DNS name, `null` when unset.
    pub reverse: Option<String>,
    /// The attached server, `null` when detached.
    pub server: Option<ServerSummary>,
    pub organization: String,
    pub project: String,
    pub zone: Zone,
    #[serde(rename = "type")]
    pub ip_type: IpType,
    pub state: IpState,
    pub tags: Vec<String>,
    pub ipam_id: String,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
