//! Placement-group bodies and queries.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::{PlacementGroupPolicyMode, PlacementGroupPolicyType};
use crate::requests::comma_list;
use crate::wire::wire_structs;

wire_structs! {
    /// Query of `GET placement_groups`.
    #[derive(Eq)]
    query ListPlacementGroupsQuery {
        per_page?: u32,
        page?: i32,
        organization?: String,
        project?: String,
        #[serde(with = "comma_list")]
        tags?: Vec<String>,
        name?: String,
    }

    /// `POST placement_groups`.
    body CreatePlacementGroupRequest {
        name?: String,
        /// Deprecated.
        organization?: String,
        project?: String,
        tags?: Vec<String>,
        /// API default `optional`.
        policy_mode?: PlacementGroupPolicyMode,
        /// API default `max_availability`.
        policy_type?: PlacementGroupPolicyType,
    }

    /// `PATCH placement_groups/{placement_group_id}`.
    body UpdatePlacementGroupRequest {
        name?: String,
        tags?: Vec<String>,
        policy_mode?: PlacementGroupPolicyMode,
        policy_type?: PlacementGroupPolicyType,
    }

    /// `PUT placement_groups/{placement_group_id}`: every field sent.
    body SetPlacementGroupRequest {
        name: String,
        organization: String,
        policy_mode: PlacementGroupPolicyMode,
        policy_type: PlacementGroupPolicyType,
        project: String,
        tags: Option<Vec<String>>,
    }

    /// `PUT`/`PATCH placement_groups/{placement_group_id}/servers`: the
    /// complete list of member server ids.
    body SetPlacementGroupServersRequest {
        servers: Vec<String>,
    }
}

/// `PATCH placement_groups/{placement_group_id}/servers` (same shape as the
/// PUT).
pub type UpdatePlacementGroupServersRequest = SetPlacementGroupServersRequest;
