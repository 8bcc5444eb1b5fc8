//! Instance v2alpha1: private network interfaces (the v1 private NICs as
//! resources of a project), their attach and detach on servers, and
//! placement groups. Objects come bare; lists page by `page_token` (the
//! `…_all` streams follow `next_page_token`).

use fleet_core::v2alpha1::{
    AttachServerPrivateNetworkInterfaceRequest, CreatePlacementGroupRequest,
    CreatePrivateNetworkInterfaceRequest, DetachServerPrivateNetworkInterfaceRequest,
    ListPlacementGroupsQuery, ListPlacementGroupsResponse, ListPrivateNetworkInterfacesQuery,
    ListPrivateNetworkInterfacesResponse, PlacementGroup, PrivateNetworkInterface, Server,
    UpdatePlacementGroupRequest, UpdatePrivateNetworkInterfaceRequest,
};

use super::client_methods;
use crate::client::Client;

impl Client {
    client_methods! {
        /// `GET /instance/v2alpha1/zones/{zone}/private-network-interfaces`
        list v2alpha1_list_private_network_interfaces / v2alpha1_list_private_network_interfaces_all() ListPrivateNetworkInterfacesQuery => PrivateNetworkInterface
            = V2Alpha1ListPrivateNetworkInterfaces(ListPrivateNetworkInterfacesResponse).private_network_interfaces;
        /// `POST /instance/v2alpha1/zones/{zone}/private-network-interfaces`
        /// (on a server when `server_id` is set, else on none)
        send v2alpha1_create_private_network_interface() CreatePrivateNetworkInterfaceRequest => PrivateNetworkInterface
            = V2Alpha1CreatePrivateNetworkInterface(PrivateNetworkInterface);
        /// `GET /instance/v2alpha1/zones/{zone}/private-network-interfaces/{private_network_interface_id}`
        get v2alpha1_get_private_network_interface(private_network_interface_id) => PrivateNetworkInterface
            = V2Alpha1GetPrivateNetworkInterface(PrivateNetworkInterface);
        /// `PATCH /instance/v2alpha1/zones/{zone}/private-network-interfaces/{private_network_interface_id}`
        send v2alpha1_update_private_network_interface(private_network_interface_id) UpdatePrivateNetworkInterfaceRequest => PrivateNetworkInterface
            = V2Alpha1UpdatePrivateNetworkInterface(PrivateNetworkInterface);
        /// `DELETE /instance/v2alpha1/zones/{zone}/private-network-interfaces/{private_network_interface_id}`
        empty v2alpha1_delete_private_network_interface(private_network_interface_id)
            = V2Alpha1DeletePrivateNetworkInterface;
        /// `POST /instance/v2alpha1/zones/{zone}/servers/{server_id}/attach-private-network-interface`
        send v2alpha1_attach_server_private_network_interface(server_id) AttachServerPrivateNetworkInterfaceRequest => Server
            = V2Alpha1AttachServerPrivateNetworkInterface(Server);
        /// `POST /instance/v2alpha1/zones/{zone}/servers/{server_id}/detach-private-network-interface`
        send v2alpha1_detach_server_private_network_interface(server_id) DetachServerPrivateNetworkInterfaceRequest => Server
            = V2Alpha1DetachServerPrivateNetworkInterface(Server);
        /// `GET /instance/v2alpha1/zones/{zone}/placement-groups`
        list v2alpha1_list_placement_groups / v2alpha1_list_placement_groups_all() ListPlacementGroupsQuery => PlacementGroup
            = V2Alpha1ListPlacementGroups(ListPlacementGroupsResponse).placement_groups;
        /// `POST /instance/v2alpha1/zones/{zone}/placement-groups` (answers 200)
        send v2alpha1_create_placement_group() CreatePlacementGroupRequest => PlacementGroup
            = V2Alpha1CreatePlacementGroup(PlacementGroup);
        /// `GET /instance/v2alpha1/zones/{zone}/placement-groups/{placement_group_id}`
        get v2alpha1_get_placement_group(placement_group_id) => PlacementGroup
            = V2Alpha1GetPlacementGroup(PlacementGroup);
        /// `PATCH /instance/v2alpha1/zones/{zone}/placement-groups/{placement_group_id}`
        /// (`policy_type` `unknown_policy_type` keeps the type)
        send v2alpha1_update_placement_group(placement_group_id) UpdatePlacementGroupRequest => PlacementGroup
            = V2Alpha1UpdatePlacementGroup(PlacementGroup);
        /// `DELETE /instance/v2alpha1/zones/{zone}/placement-groups/{placement_group_id}`
        empty v2alpha1_delete_placement_group(placement_group_id) = V2Alpha1DeletePlacementGroup;
    }
}
