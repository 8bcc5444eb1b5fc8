//! Private NICs of a server.
//!
//! One method per catalog endpoint; each doc line gives the method and
//! path template. Lists also have a `…_all` variant streaming every item
//! of every page (see [`crate::pagination`]).

use fleet_core::{
    CreatePrivateNicRequest, CreatePrivateNicResponse, GetPrivateNicResponse, ListPrivateNicsQuery,
    ListPrivateNicsResponse, PrivateNic, UpdatePrivateNicRequest, Zone,
};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::client::Client;
use crate::endpoint::Operation;
use crate::error::Result;
use crate::pagination::{Page, PageRequest, paginate};

impl Client {
    /// `GET /instance/v1/zones/{zone}/servers/{server_id}/private_nics`
    ///
    /// One page; `query.page`/`query.per_page` choose it.
    pub async fn list_private_nics(
        &self,
        zone: Zone,
        server_id: &str,
        query: &ListPrivateNicsQuery,
    ) -> Result<Page<PrivateNic>> {
        let (response, total_count) = self
            .call::<_, _, ListPrivateNicsResponse>(
                Operation::ListPrivateNics,
                zone,
                &[server_id],
                Some(query),
                None::<&()>,
            )
            .await?;
        Ok(Page {
            items: response.private_nics,
            total_count,
        })
    }

    /// Every item of [`Client::list_private_nics`], page after page (`per_page = 100`).
    pub fn list_private_nics_all(
        &self,
        zone: Zone,
        server_id: &str,
        query: ListPrivateNicsQuery,
    ) -> BoxStream<'static, Result<PrivateNic>> {
        let client = self.clone();
        let server_id = server_id.to_owned();
        paginate(move |at: PageRequest| {
            let client = client.clone();
            let server_id = server_id.clone();
            let mut query = query.clone();
            query.page = Some(at.page);
            query.per_page = Some(at.per_page);
            async move { client.list_private_nics(zone, &server_id, &query).await }
        })
        .boxed()
    }

    /// `POST /instance/v1/zones/{zone}/servers/{server_id}/private_nics`
    pub async fn create_private_nic(
        &self,
        zone: Zone,
        server_id: &str,
        request: &CreatePrivateNicRequest,
    ) -> Result<PrivateNic> {
        let (response, _) = self
            .call::<_, _, CreatePrivateNicResponse>(
                Operation::CreatePrivateNic,
                zone,
                &[server_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.private_nic)
    }

    /// `GET /instance/v1/zones/{zone}/servers/{server_id}/private_nics/{private_nic_id}`
    pub async fn get_private_nic(
        &self,
        zone: Zone,
        server_id: &str,
        private_nic_id: &str,
    ) -> Result<PrivateNic> {
        let (response, _) = self
            .call::<_, _, GetPrivateNicResponse>(
                Operation::GetPrivateNic,
                zone,
                &[server_id, private_nic_id],
                None::<&()>,
                None::<&()>,
            )
            .await?;
        Ok(response.private_nic)
    }

    /// `PATCH /instance/v1/zones/{zone}/servers/{server_id}/private_nics/{private_nic_id}`
    pub async fn update_private_nic(
        &self,
        zone: Zone,
        server_id: &str,
        private_nic_id: &str,
        request: &UpdatePrivateNicRequest,
    ) -> Result<PrivateNic> {
        let (response, _) = self
            .call::<_, _, PrivateNic>(
                Operation::UpdatePrivateNic,
                zone,
                &[server_id, private_nic_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response)
    }

    /// `DELETE /instance/v1/zones/{zone}/servers/{server_id}/private_nics/{private_nic_id}`
    pub async fn delete_private_nic(
        &self,
        zone: Zone,
        server_id: &str,
        private_nic_id: &str,
    ) -> Result<()> {
        self.call_empty(
            Operation::DeletePrivateNic,
            zone,
            &[server_id, private_nic_id],
            None::<&()>,
        )
        .await
    }
}
