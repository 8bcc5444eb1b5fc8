//! Servers, their actions, user data and volume/filesystem attachment.
//!
//! One method per catalog endpoint; each doc line gives the method and
//! path template. Lists also have a `…_all` variant streaming every item
//! of every page (see [`crate::pagination`]).

use fleet_core::{
    AttachServerFileSystemRequest, AttachServerFileSystemResponse, AttachServerVolumeRequest,
    AttachServerVolumeResponse, CreateServerRequest, CreateServerResponse,
    DetachServerFileSystemRequest, DetachServerFileSystemResponse, DetachServerVolumeRequest,
    DetachServerVolumeResponse, GetServerCompatibleTypesResponse, GetServerResponse,
    ListServerActionsResponse, ListServerUserDataResponse, ListServersQuery, ListServersResponse,
    Server, ServerAction, ServerActionRequest, ServerActionResponse, SetServerRequest,
    SetServerResponse, Task, UpdateServerRequest, UpdateServerResponse, Zone,
};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::client::Client;
use crate::endpoint::Operation;
use crate::error::Result;
use crate::pagination::{Page, PageRequest, paginate};

impl Client {
    /// `GET /instance/v1/zones/{zone}/servers`
    ///
    /// One page; `query.page`/`query.per_page` choose it.
    pub async fn list_servers(&self, zone: Zone, query: &ListServersQuery) -> Result<Page<Server>> {
        let (response, total_count) = self
            .call::<_, _, ListServersResponse>(
                Operation::ListServers,
                zone,
                &[],
                Some(query),
                None::<&()>,
            )
            .await?;
        Ok(Page {
            items: response.servers,
            total_count,
        })
    }

    /// Every item of [`Client::list_servers`], page after page (`per_page = 100`).
    pub fn list_servers_all(
        &self,
        zone: Zone,
        query: ListServersQuery,
    ) -> BoxStream<'static, Result<Server>> {
        let client = self.clone();
        paginate(move |at: PageRequest| {
            let client = client.clone();
            let mut query = query.clone();
            query.page = Some(at.page);
            query.per_page = Some(at.per_page);
            async move { client.list_servers(zone, &query).await }
        })
        .boxed()
    }

    /// `POST /instance/v1/zones/{zone}/servers`
    pub async fn create_server(&self, zone: Zone, request: &CreateServerRequest) -> Result<Server> {
        let (response, _) = self
            .call::<_, _, CreateServerResponse>(
                Operation::CreateServer,
                zone,
                &[],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.server)
    }

    /// `GET /instance/v1/zones/{zone}/servers/{server_id}`
    pub async fn get_server(&self, zone: Zone, server_id: &str) -> Result<Server> {
        let (response, _) = self
            .call::<_, _, GetServerResponse>(
                Operation::GetServer,
                zone,
                &[server_id],
                None::<&()>,
                None::<&()>,
            )
            .await?;
        Ok(response.server)
    }

    /// `PATCH /instance/v1/zones/{zone}/servers/{server_id}`
    pub async fn update_server(
        &self,
        zone: Zone,
        server_id: &str,
        request: &UpdateServerRequest,
    ) -> Result<Server> {
        let (response, _) = self
            .call::<_, _, UpdateServerResponse>(
                Operation::UpdateServer,
                zone,
                &[server_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.server)
    }

    /// `PUT /instance/v1/zones/{zone}/servers/{id}`
    pub async fn set_server(
        &self,
        zone: Zone,
        id: &str,
        request: &SetServerRequest,
    ) -> Result<Server> {
        let (response, _) = self
            .call::<_, _, SetServerResponse>(
                Operation::SetServer,
                zone,
                &[id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.server)
    }

    /// `DELETE /instance/v1/zones/{zone}/servers/{server_id}`
    pub async fn delete_server(&self, zone: Zone, server_id: &str) -> Result<()> {
        self.call_empty(Operation::DeleteServer, zone, &[server_id], None::<&()>)
            .await
    }

    /// `GET /instance/v1/zones/{zone}/servers/{server_id}/compatible-types`
    pub async fn get_server_compatible_types(
        &self,
        zone: Zone,
        server_id: &str,
    ) -> Result<Vec<String>> {
        let (response, _) = self
            .call::<_, _, GetServerCompatibleTypesResponse>(
                Operation::GetServerCompatibleTypes,
                zone,
                &[server_id],
                None::<&()>,
                None::<&()>,
            )
            .await?;
        Ok(response.compatible_types)
    }

    /// `GET /instance/v1/zones/{zone}/servers/{server_id}/action`
    pub async fn list_server_actions(
        &self,
        zone: Zone,
        server_id: &str,
    ) -> Result<Vec<ServerAction>> {
        let (response, _) = self
            .call::<_, _, ListServerActionsResponse>(
                Operation::ListServerActions,
                zone,
                &[server_id],
                None::<&()>,
                None::<&()>,
            )
            .await?;
        Ok(response.actions)
    }

    /// `POST /instance/v1/zones/{zone}/servers/{server_id}/action`
    pub async fn server_action(
        &self,
        zone: Zone,
        server_id: &str,
        request: &ServerActionRequest,
    ) -> Result<Task> {
        let (response, _) = self
            .call::<_, _, ServerActionResponse>(
                Operation::ServerAction,
                zone,
                &[server_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.task)
    }

    /// `GET /instance/v1/zones/{zone}/servers/{server_id}/user_data`
    pub async fn list_server_user_data(&self, zone: Zone, server_id: &str) -> Result<Vec<String>> {
        let (response, _) = self
            .call::<_, _, ListServerUserDataResponse>(
                Operation::ListServerUserData,
                zone,
                &[server_id],
                None::<&()>,
                None::<&()>,
            )
            .await?;
        Ok(response.user_data)
    }

    /// `DELETE /instance/v1/zones/{zone}/servers/{server_id}/user_data/{key}`
    pub async fn delete_server_user_data(
        &self,
        zone: Zone,
        server_id: &str,
        key: &str,
    ) -> Result<()> {
        self.call_empty(
            Operation::DeleteServerUserData,
            zone,
            &[server_id, key],
            None::<&()>,
        )
        .await
    }

    /// `POST /instance/v1/zones/{zone}/servers/{server_id}/attach-volume`
    pub async fn attach_server_volume(
        &self,
        zone: Zone,
        server_id: &str,
        request: &AttachServerVolumeRequest,
    ) -> Result<Server> {
        let (response, _) = self
            .call::<_, _, AttachServerVolumeResponse>(
                Operation::AttachServerVolume,
                zone,
                &[server_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.server)
    }

    /// `POST /instance/v1/zones/{zone}/servers/{server_id}/detach-volume`
    pub async fn detach_server_volume(
        &self,
        zone: Zone,
        server_id: &str,
        request: &DetachServerVolumeRequest,
    ) -> Result<Server> {
        let (response, _) = self
            .call::<_, _, DetachServerVolumeResponse>(
                Operation::DetachServerVolume,
                zone,
                &[server_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.server)
    }

    /// `POST /instance/v1/zones/{zone}/servers/{server_id}/attach-filesystem`
    pub async fn attach_server_file_system(
        &self,
        zone: Zone,
        server_id: &str,
        request: &AttachServerFileSystemRequest,
    ) -> Result<Server> {
        let (response, _) = self
            .call::<_, _, AttachServerFileSystemResponse>(
                Operation::AttachServerFileSystem,
                zone,
                &[server_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.server)
    }

    /// `POST /instance/v1/zones/{zone}/servers/{server_id}/detach-filesystem`
    pub async fn detach_server_file_system(
        &self,
        zone: Zone,
        server_id: &str,
        request: &DetachServerFileSystemRequest,
    ) -> Result<Server> {
        let (response, _) = self
            .call::<_, _, DetachServerFileSystemResponse>(
                Operation::DetachServerFileSystem,
                zone,
                &[server_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.server)
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
