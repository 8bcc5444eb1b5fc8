//! Placement-group bodies and queries.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::{PlacementGroupPolicyMode, PlacementGroupPolicyType};
use crate::requests::comma_list;

/// Query of `GET placement_groups`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ListPlacementGroupsQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", with = "comma_list")]
    pub tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `POST placement_groups`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreatePlacementGroupRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// API default `optional`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_mode: Option<PlacementGroupPolicyMode>,
    /// API default `max_availability`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_type: Option<PlacementGroupPolicyType>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PATCH placement_groups/{placement_group_id}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdatePlacementGroupRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_mode: Option<PlacementGroupPolicyMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_type: Option<PlacementGroupPolicyType>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PUT placement_groups/{placement_group_id}`: every field sent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SetPlacementGroupRequest {
    pub name: String,
    pub organization: String,
    pub policy_mode: PlacementGroupPolicyMode,
    pub policy_type: PlacementGroupPolicyType,
    pub project: String,
    pub tags: Option<Vec<String>>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PUT`/`PATCH placement_groups/{placement_group_id}/servers`: the
/// complete list of member server ids.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SetPlacementGroupServersRequest {
    pub servers: Vec<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PATCH placement_groups/{placement_group_id}/servers` (same shape as the
/// PUT).
pub type UpdatePlacementGroupServersRequest = SetPlacementGroupServersRequest;
