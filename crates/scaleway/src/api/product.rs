//! Instance and volume types (`products/…`). These lists are maps keyed
//! by type name, so their items are `(name, type)` pairs.

use fleet_core::{
    GetServerTypesAvailabilityQuery, GetServerTypesAvailabilityResponse, ListServersTypesQuery,
    ListServersTypesResponse, ListVolumesTypesQuery, ListVolumesTypesResponse, ServerType,
    ServerTypeAvailability, VolumeType,
};

use super::client_methods;
use crate::client::Client;

impl Client {
    client_methods! {
        /// `GET /instance/v1/zones/{zone}/products/servers`
        list list_servers_types / list_servers_types_all() ListServersTypesQuery => (String, ServerType)
            = ListServersTypes(ListServersTypesResponse).servers;
        /// `GET /instance/v1/zones/{zone}/products/servers/availability`
        list get_server_types_availability / get_server_types_availability_all() GetServerTypesAvailabilityQuery
            => (String, ServerTypeAvailability)
            = GetServerTypesAvailability(GetServerTypesAvailabilityResponse).servers;
        /// `GET /instance/v1/zones/{zone}/products/volumes`
        list list_volumes_types / list_volumes_types_all() ListVolumesTypesQuery => (String, VolumeType)
            = ListVolumesTypes(ListVolumesTypesResponse).volumes;
    }
}
