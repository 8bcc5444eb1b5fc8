//! Private NICs of a server.

use fleet_core::{
    CreatePrivateNicRequest, CreatePrivateNicResponse, GetPrivateNicResponse, ListPrivateNicsQuery,
    ListPrivateNicsResponse, PrivateNic, UpdatePrivateNicRequest,
};

use super::client_methods;
use crate::client::Client;

impl Client {
    client_methods! {
        /// `GET /instance/v1/zones/{zone}/servers/{server_id}/private_nics`
        list list_private_nics / list_private_nics_all(server_id) ListPrivateNicsQuery => PrivateNic
            = ListPrivateNics(ListPrivateNicsResponse).private_nics;
        /// `POST /instance/v1/zones/{zone}/servers/{server_id}/private_nics`
        send create_private_nic(server_id) CreatePrivateNicRequest => PrivateNic
            = CreatePrivateNic(CreatePrivateNicResponse).private_nic;
        /// `GET /instance/v1/zones/{zone}/servers/{server_id}/private_nics/{private_nic_id}`
        get get_private_nic(server_id, private_nic_id) => PrivateNic
            = GetPrivateNic(GetPrivateNicResponse).private_nic;
        /// `PATCH /instance/v1/zones/{zone}/servers/{server_id}/private_nics/{private_nic_id}`
        send update_private_nic(server_id, private_nic_id) UpdatePrivateNicRequest => PrivateNic
            = UpdatePrivateNic(PrivateNic);
        /// `DELETE /instance/v1/zones/{zone}/servers/{server_id}/private_nics/{private_nic_id}`
        empty delete_private_nic(server_id, private_nic_id) = DeletePrivateNic;
    }
}
