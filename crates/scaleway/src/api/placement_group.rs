//! Placement groups and their servers.

use fleet_core::{
    CreatePlacementGroupRequest, CreatePlacementGroupResponse, GetPlacementGroupResponse,
    GetPlacementGroupServersResponse, ListPlacementGroupsQuery, ListPlacementGroupsResponse,
    PlacementGroup, PlacementGroupServer, SetPlacementGroupRequest, SetPlacementGroupResponse,
    SetPlacementGroupServersRequest, SetPlacementGroupServersResponse, UpdatePlacementGroupRequest,
    UpdatePlacementGroupResponse, UpdatePlacementGroupServersRequest,
    UpdatePlacementGroupServersResponse,
};

use super::client_methods;
use crate::client::Client;

impl Client {
    client_methods! {
        /// `GET /instance/v1/zones/{zone}/placement_groups`
        list list_placement_groups / list_placement_groups_all() ListPlacementGroupsQuery => PlacementGroup
            = ListPlacementGroups(ListPlacementGroupsResponse).placement_groups;
        /// `POST /instance/v1/zones/{zone}/placement_groups`
        send create_placement_group() CreatePlacementGroupRequest => PlacementGroup
            = CreatePlacementGroup(CreatePlacementGroupResponse).placement_group;
        /// `GET /instance/v1/zones/{zone}/placement_groups/{placement_group_id}`
        get get_placement_group(placement_group_id) => PlacementGroup
            = GetPlacementGroup(GetPlacementGroupResponse).placement_group;
        /// `PATCH /instance/v1/zones/{zone}/placement_groups/{placement_group_id}`
        send update_placement_group(placement_group_id) UpdatePlacementGroupRequest => PlacementGroup
            = UpdatePlacementGroup(UpdatePlacementGroupResponse).placement_group;
        /// `PUT /instance/v1/zones/{zone}/placement_groups/{placement_group_id}`
        send set_placement_group(placement_group_id) SetPlacementGroupRequest => PlacementGroup
            = SetPlacementGroup(SetPlacementGroupResponse).placement_group;
        /// `DELETE /instance/v1/zones/{zone}/placement_groups/{placement_group_id}`
        empty delete_placement_group(placement_group_id) = DeletePlacementGroup;
        /// `GET /instance/v1/zones/{zone}/placement_groups/{placement_group_id}/servers`
        get get_placement_group_servers(placement_group_id) => Vec<PlacementGroupServer>
            = GetPlacementGroupServers(GetPlacementGroupServersResponse).servers;
        /// `PUT /instance/v1/zones/{zone}/placement_groups/{placement_group_id}/servers`
        send set_placement_group_servers(placement_group_id) SetPlacementGroupServersRequest => Vec<PlacementGroupServer>
            = SetPlacementGroupServers(SetPlacementGroupServersResponse).servers;
        /// `PATCH /instance/v1/zones/{zone}/placement_groups/{placement_group_id}/servers`
        send update_placement_group_servers(placement_group_id) UpdatePlacementGroupServersRequest => Vec<PlacementGroupServer>
            = UpdatePlacementGroupServers(UpdatePlacementGroupServersResponse).servers;
    }
}
