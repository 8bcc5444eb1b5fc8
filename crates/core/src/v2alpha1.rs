//! Typed model of the Instance API `v2alpha1` surfaces current Terraform
//! (v2.80+) calls: private network interfaces and placement groups. They
//! address the same resources as the v1 private NICs and placement groups,
//! in another shape: objects answered bare (no `{"placement_group": …}`),
//! `project_id` instead of `project`/`organization`, `created_at` and
//! `updated_at` in RFC 3339 with `Z`, and lists paged by token
//! (`page_token` in, `next_page_token` out, left out on the last page) with
//! `total_count` in the body.
//!
//! The endpoints are in [`crate::catalog`], as the
//! [`Api::InstanceV2Alpha1`](crate::catalog::Api::InstanceV2Alpha1) family
//! (operations named `v2alpha1_…`). Errors use the v1 shapes (recorded:
//! `not_found` with `resource` `instance_placement_group`). As for
//! [`crate::block`], nothing is re-exported at the crate root: the names
//! (`PlacementGroup`, …) are the v1 ones, so callers write
//! `v2alpha1::PlacementGroup`.
//!
//! Fields follow the Go SDK's `api/instance/v2alpha1`; only the placement
//! groups and empty interface lists were recorded, so the interface and
//! server shapes are the SDK's, and `extra` keeps whatever else the API
//! sends (the SDK's `security_group_id` of an interface, for one).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::{PlacementGroupPolicyType, api_enum};
use crate::requests::comma_list;
use crate::time::Timestamp;
use crate::wire::wire_structs;
use crate::zone::Zone;

mod server;
pub use server::{
    AttachServerPrivateNetworkInterfaceRequest, DetachServerPrivateNetworkInterfaceRequest, Server,
    ServerArchitecture, ServerFilesystem, ServerFilesystemStatus, ServerPrivateNetworkInterface,
    ServerStatus, ServerVolume, ServerVolumeType,
};

api_enum! {
    /// Status of a private network interface (the Go SDK's words).
    PrivateNetworkInterfaceStatus default UnknownStatus {
        UnknownStatus = "unknown_status",
        Available = "available",
        Attaching = "attaching",
        Detaching = "detaching",
        /// While the interface or its security-group rules are applied.
        Syncing = "syncing",
    }
}

impl PrivateNetworkInterfaceStatus {
    /// What the SDK's waiter waits through: `attaching`, `detaching` and
    /// `syncing`.
    pub const fn is_transient(&self) -> bool {
        matches!(self, Self::Attaching | Self::Detaching | Self::Syncing)
    }
}

api_enum! {
    /// `order_by` of the v2alpha1 lists (the SDK's zero value is
    /// `created_at_desc`).
    ListOrderBy default CreatedAtDesc {
        CreatedAtDesc = "created_at_desc",
        CreatedAtAsc = "created_at_asc",
        UpdatedAtDesc = "updated_at_desc",
        UpdatedAtAsc = "updated_at_asc",
    }
}

/// A placement group (`v1`'s `policy_mode` and `policy_respected` are not
/// shown here).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PlacementGroup {
    pub project_id: String,
    pub name: String,
    pub id: String,
    /// A PATCH sends `unknown_policy_type` (the SDK's zero value) to keep it.
    pub policy_type: PlacementGroupPolicyType,
    pub tags: Vec<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    pub zone: Zone,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A private network interface (v1: a private NIC).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PrivateNetworkInterface {
    pub id: String,
    pub private_network_id: String,
    pub project_id: String,
    /// Empty when the interface is attached to no server.
    pub server_id: String,
    pub mac_address: String,
    pub status: PrivateNetworkInterfaceStatus,
    /// v1: `ipam_ip_ids`.
    pub ip_ids: Vec<String>,
    pub tags: Vec<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Declares a token-paged list envelope
/// `{"<key>": [Item], "next_page_token"?: "…", "total_count": n}`.
macro_rules! token_page {
    ($(#[$meta:meta])* $name:ident { $key:ident: $item:ty }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        #[serde(default)]
        pub struct $name {
            pub $key: Vec<$item>,
            /// The `page_token` of the next page; absent on the last one.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub next_page_token: Option<String>,
            /// Items over all pages.
            pub total_count: u64,
            /// Keys this crate does not model, written back unchanged.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }
    };
}

token_page! {
    /// `GET placement-groups`.
    ListPlacementGroupsResponse { placement_groups: PlacementGroup }
}

token_page! {
    /// `GET private-network-interfaces`.
    ListPrivateNetworkInterfacesResponse { private_network_interfaces: PrivateNetworkInterface }
}

// List filters of several values are one comma-joined parameter, like the
// v1 and Block filters (only single values were recorded).
wire_structs! {
    /// Query of `GET placement-groups`.
    query ListPlacementGroupsQuery {
        /// A `next_page_token` from the previous page.
        page_token?: String,
        /// At most 100.
        page_size?: u32,
        order_by?: ListOrderBy,
        project_id?: String,
        #[serde(with = "comma_list")]
        placement_group_ids?: Vec<String>,
        name?: String,
        #[serde(with = "comma_list")]
        tags?: Vec<String>,
    }

    /// `POST placement-groups`.
    body CreatePlacementGroupRequest {
        project_id?: String,
        name?: String,
        /// `unknown_policy_type` (the SDK's zero value) means the default,
        /// `max_availability`.
        policy_type?: PlacementGroupPolicyType,
        tags?: Vec<String>,
    }

    /// `PATCH placement-groups/{placement_group_id}`.
    body UpdatePlacementGroupRequest {
        name?: String,
        /// `unknown_policy_type` (always sent by the SDK) keeps the type.
        policy_type?: PlacementGroupPolicyType,
        tags?: Vec<String>,
    }

    /// Query of `GET private-network-interfaces`.
    query ListPrivateNetworkInterfacesQuery {
        /// A `next_page_token` from the previous page.
        page_token?: String,
        /// At most 100.
        page_size?: u32,
        order_by?: ListOrderBy,
        project_id?: String,
        #[serde(with = "comma_list")]
        server_ids?: Vec<String>,
        #[serde(with = "comma_list")]
        private_network_ids?: Vec<String>,
        #[serde(with = "comma_list")]
        tags?: Vec<String>,
    }

    /// `POST private-network-interfaces`.
    body CreatePrivateNetworkInterfaceRequest {
        private_network_id?: String,
        project_id?: String,
        /// The server to attach it to; none leaves it unattached.
        server_id?: String,
        ip_ids?: Vec<String>,
        tags?: Vec<String>,
    }

    /// `PATCH private-network-interfaces/{private_network_interface_id}`.
    body UpdatePrivateNetworkInterfaceRequest {
        tags?: Vec<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_recorded_group_round_trips_and_an_unknown_policy_is_kept() {
        let recorded = json!({"project_id": "105bdce1-64c0-48ab-899d-868455867ecf",
            "name": "tf-pg", "id": "aca59013-c1c4-4a2d-a01b-f5862ab4abda",
            "policy_type": "low_latency", "tags": [], "created_at": "2026-07-30T12:56:03.039693Z",
            "updated_at": "2026-07-30T12:56:05.271401Z", "zone": "fr-par-1"});
        let group: PlacementGroup = serde_json::from_value(recorded.clone()).unwrap();
        assert_eq!(group.policy_type, PlacementGroupPolicyType::LowLatency);
        assert_eq!(serde_json::to_value(&group).unwrap(), recorded);
        let patch: UpdatePlacementGroupRequest =
            serde_json::from_value(json!({"name": "bar", "policy_type": "unknown_policy_type"}))
                .unwrap();
        assert_eq!(
            patch.policy_type,
            Some(PlacementGroupPolicyType::Other(
                "unknown_policy_type".into()
            ))
        );
    }

    #[test]
    fn the_last_page_has_no_token() {
        let page = ListPrivateNetworkInterfacesResponse::default();
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            json!({"private_network_interfaces": [], "total_count": 0})
        );
        let next: ListPlacementGroupsResponse = serde_json::from_value(
            json!({"placement_groups": [], "next_page_token": "t2", "total_count": 3}),
        )
        .unwrap();
        assert_eq!(next.next_page_token.as_deref(), Some("t2"));
    }

    #[test]
    fn statuses_that_wait() {
        use PrivateNetworkInterfaceStatus as S;
        let transient: Vec<&str> = S::KNOWN
            .iter()
            .filter(|s| s.is_transient())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(transient, ["attaching", "detaching", "syncing"]);
        assert!(!S::from("new_status").is_transient());
    }
}
