//! Servers, their actions, user data and volume/filesystem attachment.

use fleet_core::{
    AttachServerFileSystemRequest, AttachServerFileSystemResponse, AttachServerVolumeRequest,
    AttachServerVolumeResponse, CreateServerRequest, CreateServerResponse,
    DetachServerFileSystemRequest, DetachServerFileSystemResponse, DetachServerVolumeRequest,
    DetachServerVolumeResponse, GetServerCompatibleTypesResponse, GetServerResponse,
    ListServerActionsResponse, ListServerUserDataResponse, ListServersQuery, ListServersResponse,
    Server, ServerAction, ServerActionRequest, ServerActionResponse, SetServerRequest,
    SetServerResponse, Task, UpdateServerRequest, UpdateServerResponse, Zone,
};

use super::client_methods;
use crate::client::Client;
use crate::endpoint::Operation;
use crate::error::Result;

impl Client {
    client_methods! {
        /// `GET /instance/v1/zones/{zone}/servers`
        list list_servers / list_servers_all() ListServersQuery => Server = ListServers(ListServersResponse).servers;
        /// `POST /instance/v1/zones/{zone}/servers`
        send create_server() CreateServerRequest => Server = CreateServer(CreateServerResponse).server;
        /// `GET /instance/v1/zones/{zone}/servers/{server_id}`
        get get_server(server_id) => Server = GetServer(GetServerResponse).server;
        /// `PATCH /instance/v1/zones/{zone}/servers/{server_id}`
        send update_server(server_id) UpdateServerRequest => Server = UpdateServer(UpdateServerResponse).server;
        /// `PUT /instance/v1/zones/{zone}/servers/{id}`
        send set_server(id) SetServerRequest => Server = SetServer(SetServerResponse).server;
        /// `DELETE /instance/v1/zones/{zone}/servers/{server_id}`
        empty delete_server(server_id) = DeleteServer;
        /// `GET /instance/v1/zones/{zone}/servers/{server_id}/compatible-types`
        get get_server_compatible_types(server_id) => Vec<String>
            = GetServerCompatibleTypes(GetServerCompatibleTypesResponse).compatible_types;
        /// `GET /instance/v1/zones/{zone}/servers/{server_id}/action`
        get list_server_actions(server_id) => Vec<ServerAction>
            = ListServerActions(ListServerActionsResponse).actions;
        /// `POST /instance/v1/zones/{zone}/servers/{server_id}/action`
        send server_action(server_id) ServerActionRequest => Task = ServerAction(ServerActionResponse).task;
        /// `GET /instance/v1/zones/{zone}/servers/{server_id}/user_data`
        get list_server_user_data(server_id) => Vec<String>
            = ListServerUserData(ListServerUserDataResponse).user_data;
        /// `DELETE /instance/v1/zones/{zone}/servers/{server_id}/user_data/{key}`
        empty delete_server_user_data(server_id, key) = DeleteServerUserData;
        /// `POST /instance/v1/zones/{zone}/servers/{server_id}/attach-volume`
        send attach_server_volume(server_id) AttachServerVolumeRequest => Server
            = AttachServerVolume(AttachServerVolumeResponse).server;
        /// `POST /instance/v1/zones/{zone}/servers/{server_id}/detach-volume`
        send detach_server_volume(server_id) DetachServerVolumeRequest => Server
            = DetachServerVolume(DetachServerVolumeResponse).server;
        /// `POST /instance/v1/zones/{zone}/servers/{server_id}/attach-filesystem`
        send attach_server_file_system(server_id) AttachServerFileSystemRequest => Server
            = AttachServerFileSystem(AttachServerFileSystemResponse).server;
        /// `POST /instance/v1/zones/{zone}/servers/{server_id}/detach-filesystem`
        send detach_server_file_system(server_id) DetachServerFileSystemRequest => Server
            = DetachServerFileSystem(DetachServerFileSystemResponse).server;
    }

    /// `GET /instance/v1/zones/{zone}/servers/{server_id}/user_data/{key}`
    ///
    /// The raw `text/plain` value; a missing key is an [`crate::Error::Status`]
    /// 404 without a body (see [`crate::Error::is_not_found`]).
    pub async fn get_server_user_data(
        &self,
        zone: Zone,
        server_id: &str,
        key: &str,
    ) -> Result<Vec<u8>> {
        self.call_raw(Operation::GetServerUserData, zone, &[server_id, key], None)
            .await
    }

    /// `PATCH /instance/v1/zones/{zone}/servers/{server_id}/user_data/{key}`
    ///
    /// Sends `value` raw as `text/plain`; creates or replaces the key.
    pub async fn set_server_user_data(
        &self,
        zone: Zone,
        server_id: &str,
        key: &str,
        value: impl Into<Vec<u8>>,
    ) -> Result<()> {
        self.call_raw(
            Operation::SetServerUserData,
            zone,
            &[server_id, key],
            Some(value.into()),
        )
        .await
        .map(drop)
    }
}
