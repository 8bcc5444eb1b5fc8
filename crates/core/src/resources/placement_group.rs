//! Placement groups.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::{PlacementGroupPolicyMode, PlacementGroupPolicyType};
use crate::zone::Zone;

/// A placement group.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PlacementGroup {
    pub id: String,
    pub name: String,
    pub organization: String,
    pub project: String,
    pub policy_mode: PlacementGroupPolicyMode,
    pub policy_type: PlacementGroupPolicyType,
    /// Always `false` when embedded in a server (deprecated there).
    pub policy_respected: bool,
    pub tags: Vec<String>,
    pub zone: Zone,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A server as listed by `GET placement_groups/{id}/servers`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PlacementGroupServer {
    pub id: String,
    pub name: String,
    pub policy_respected: bool,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
