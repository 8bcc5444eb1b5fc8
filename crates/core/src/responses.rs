//! Response envelopes of every endpoint.
//!
//! Single objects are wrapped under a singular key (`{"server": …}`;
//! security-group rules under `{"rule": …}`), lists under the plural key
//! with no `total_count` in the body: the total is in the `X-Total-Count`
//! header. A few responses are bare objects (the PATCH private NIC answer
//! is a [`PrivateNic`], the block-migration plan a [`MigrationPlan`](crate::resources::MigrationPlan)).
//! Aliases give each endpoint its own response name in the catalog while
//! sharing one struct per shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::ServerAction;
use crate::resources::{
    Dashboard, Image, Ip, PlacementGroup, PlacementGroupServer, PrivateNic, SecurityGroup,
    SecurityGroupRule, Server, ServerType, ServerTypeAvailability, Snapshot, Task, Volume,
    VolumeType,
};

/// Declares a one-key envelope struct.
macro_rules! envelope {
    ($(#[$meta:meta])* $name:ident { $key:ident: $ty:ty }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        pub struct $name {
            pub $key: $ty,
            /// Keys this crate does not model, written back unchanged.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }
    };
}

envelope! {
    /// `{"servers": {"DEV1-S": ServerType, …}}`.
    ListServersTypesResponse { servers: BTreeMap<String, ServerType> }
}
envelope! {
    /// `{"servers": {"DEV1-S": {"availability": …}, …}}`.
    GetServerTypesAvailabilityResponse { servers: BTreeMap<String, ServerTypeAvailability> }
}
envelope! {
    /// `{"volumes": {"l_ssd": VolumeType, …}}`.
    ListVolumesTypesResponse { volumes: BTreeMap<String, VolumeType> }
}
envelope! {
    /// `{"servers": [Server]}`.
    ListServersResponse { servers: Vec<Server> }
}
envelope! {
    /// `{"server": Server}`.
    ServerResponse { server: Server }
}
envelope! {
    /// `{"compatible_types": [string]}` (Go `ServerCompatibleTypes`).
    GetServerCompatibleTypesResponse { compatible_types: Vec<String> }
}
envelope! {
    /// `{"actions": [ServerAction]}`.
    ListServerActionsResponse { actions: Vec<ServerAction> }
}
envelope! {
    /// `{"task": Task}`.
    TaskResponse { task: Task }
}
envelope! {
    /// `{"user_data": [key]}`, sorted by key.
    ListServerUserDataResponse { user_data: Vec<String> }
}
envelope! {
    /// `{"images": [Image]}`.
    ListImagesResponse { images: Vec<Image> }
}
envelope! {
    /// `{"image": Image}`.
    ImageResponse { image: Image }
}
envelope! {
    /// `{"snapshots": [Snapshot]}`.
    ListSnapshotsResponse { snapshots: Vec<Snapshot> }
}
envelope! {
    /// `{"snapshot": Snapshot}`.
    SnapshotResponse { snapshot: Snapshot }
}
envelope! {
    /// `{"volumes": [Volume]}`.
    ListVolumesResponse { volumes: Vec<Volume> }
}
envelope! {
    /// `{"volume": Volume}`.
    VolumeResponse { volume: Volume }
}
envelope! {
    /// `{"security_groups": [SecurityGroup]}`.
    ListSecurityGroupsResponse { security_groups: Vec<SecurityGroup> }
}
envelope! {
    /// `{"security_group": SecurityGroup}`.
    SecurityGroupResponse { security_group: SecurityGroup }
}
envelope! {
    /// `{"rules": [SecurityGroupRule]}`; default rules come first.
    ListSecurityGroupRulesResponse { rules: Vec<SecurityGroupRule> }
}
envelope! {
    /// `{"rule": SecurityGroupRule}`.
    SecurityGroupRuleResponse { rule: SecurityGroupRule }
}
envelope! {
    /// `{"placement_groups": [PlacementGroup]}`.
    ListPlacementGroupsResponse { placement_groups: Vec<PlacementGroup> }
}
envelope! {
    /// `{"placement_group": PlacementGroup}`.
    PlacementGroupResponse { placement_group: PlacementGroup }
}
envelope! {
    /// `{"servers": [PlacementGroupServer]}`.
    PlacementGroupServersResponse { servers: Vec<PlacementGroupServer> }
}
envelope! {
    /// `{"ips": [Ip]}`.
    ListIpsResponse { ips: Vec<Ip> }
}
envelope! {
    /// `{"ip": Ip}`.
    IpResponse { ip: Ip }
}
envelope! {
    /// `{"private_nics": [PrivateNic]}`.
    ListPrivateNicsResponse { private_nics: Vec<PrivateNic> }
}
envelope! {
    /// `{"private_nic": PrivateNic}`.
    PrivateNicResponse { private_nic: PrivateNic }
}
envelope! {
    /// `{"dashboard": Dashboard}`.
    GetDashboardResponse { dashboard: Dashboard }
}

/// `{"snapshot": Snapshot, "task": Task}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CreateSnapshotResponse {
    pub snapshot: Snapshot,
    pub task: Task,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST servers`.
pub type CreateServerResponse = ServerResponse;
/// `GET servers/{server_id}`.
pub type GetServerResponse = ServerResponse;
/// `PATCH servers/{server_id}`.
pub type UpdateServerResponse = ServerResponse;
/// `PUT servers/{id}`.
pub type SetServerResponse = ServerResponse;
/// `POST servers/{server_id}/action` (202).
pub type ServerActionResponse = TaskResponse;
/// `POST servers/{server_id}/attach-volume`.
pub type AttachServerVolumeResponse = ServerResponse;
/// `POST servers/{server_id}/detach-volume`.
pub type DetachServerVolumeResponse = ServerResponse;
/// `POST servers/{server_id}/attach-filesystem`.
pub type AttachServerFileSystemResponse = ServerResponse;
/// `POST servers/{server_id}/detach-filesystem`.
pub type DetachServerFileSystemResponse = ServerResponse;
/// `GET images/{image_id}`.
pub type GetImageResponse = ImageResponse;
/// `POST images`.
pub type CreateImageResponse = ImageResponse;
/// `PATCH images/{image_id}`.
pub type UpdateImageResponse = ImageResponse;
/// `PUT images/{id}`.
pub type SetImageResponse = ImageResponse;
/// `GET snapshots/{snapshot_id}`.
pub type GetSnapshotResponse = SnapshotResponse;
/// `PATCH snapshots/{snapshot_id}`.
pub type UpdateSnapshotResponse = SnapshotResponse;
/// `PUT snapshots/{snapshot_id}`.
pub type SetSnapshotResponse = SnapshotResponse;
/// `POST snapshots/{snapshot_id}/export` (202).
pub type ExportSnapshotResponse = TaskResponse;
/// `POST volumes`.
pub type CreateVolumeResponse = VolumeResponse;
/// `GET volumes/{volume_id}`.
pub type GetVolumeResponse = VolumeResponse;
/// `PATCH volumes/{volume_id}`.
pub type UpdateVolumeResponse = VolumeResponse;
/// `POST security_groups`.
pub type CreateSecurityGroupResponse = SecurityGroupResponse;
/// `GET security_groups/{security_group_id}`.
pub type GetSecurityGroupResponse = SecurityGroupResponse;
/// `PATCH security_groups/{security_group_id}`.
pub type UpdateSecurityGroupResponse = SecurityGroupResponse;
/// `PUT security_groups/{id}`.
pub type SetSecurityGroupResponse = SecurityGroupResponse;
/// `GET security_groups/default/rules`.
pub type ListDefaultSecurityGroupRulesResponse = ListSecurityGroupRulesResponse;
/// `PUT security_groups/{security_group_id}/rules`.
pub type SetSecurityGroupRulesResponse = ListSecurityGroupRulesResponse;
/// `POST security_groups/{security_group_id}/rules`.
pub type CreateSecurityGroupRuleResponse = SecurityGroupRuleResponse;
/// `GET …/rules/{security_group_rule_id}`.
pub type GetSecurityGroupRuleResponse = SecurityGroupRuleResponse;
/// `PATCH …/rules/{security_group_rule_id}`.
pub type UpdateSecurityGroupRuleResponse = SecurityGroupRuleResponse;
/// `PUT …/rules/{security_group_rule_id}`.
pub type SetSecurityGroupRuleResponse = SecurityGroupRuleResponse;
/// `POST placement_groups`.
pub type CreatePlacementGroupResponse = PlacementGroupResponse;
/// `GET placement_groups/{placement_group_id}`.
pub type GetPlacementGroupResponse = PlacementGroupResponse;
/// `PATCH placement_groups/{placement_group_id}`.
pub type UpdatePlacementGroupResponse = PlacementGroupResponse;
/// `PUT placement_groups/{placement_group_id}`.
pub type SetPlacementGroupResponse = PlacementGroupResponse;
/// `GET placement_groups/{placement_group_id}/servers`.
pub type GetPlacementGroupServersResponse = PlacementGroupServersResponse;
/// `PUT placement_groups/{placement_group_id}/servers`.
pub type SetPlacementGroupServersResponse = PlacementGroupServersResponse;
/// `PATCH placement_groups/{placement_group_id}/servers`.
pub type UpdatePlacementGroupServersResponse = PlacementGroupServersResponse;
/// `POST ips`.
pub type CreateIpResponse = IpResponse;
/// `GET ips/{ip}`.
pub type GetIpResponse = IpResponse;
/// `PATCH ips/{ip}`.
pub type UpdateIpResponse = IpResponse;
/// `POST servers/{server_id}/private_nics`.
pub type CreatePrivateNicResponse = PrivateNicResponse;
/// `GET servers/{server_id}/private_nics/{private_nic_id}`.
pub type GetPrivateNicResponse = PrivateNicResponse;
