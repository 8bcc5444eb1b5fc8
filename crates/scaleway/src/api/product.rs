//! Instance and volume types (`products/…`).
//!
//! One method per catalog endpoint; each doc line gives the method and
//! path template. Lists also have a `…_all` variant streaming every item
//! of every page (see [`crate::pagination`]).

use fleet_core::{
    GetServerTypesAvailabilityQuery, GetServerTypesAvailabilityResponse, ListServersTypesQuery,
    ListServersTypesResponse, ListVolumesTypesQuery, ListVolumesTypesResponse, ServerType,
    ServerTypeAvailability, VolumeType, Zone,
};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::client::Client;
use crate::endpoint::Operation;
use crate::error::Result;
use crate::pagination::{Page, PageRequest, paginate};

impl Client {
    /// `GET /instance/v1/zones/{zone}/products/servers`
    ///
    /// One page; `query.page`/`query.per_page` choose it.
    pub async fn list_servers_types(
        &self,
        zone: Zone,
        query: &ListServersTypesQuery,
    ) -> Result<Page<(String, ServerType)>> {
        let (response, total_count) = self
            .call::<_, _, ListServersTypesResponse>(
                Operation::ListServersTypes,
                zone,
                &[],
                Some(query),
                None::<&()>,
            )
            .await?;
        Ok(Page {
            items: response.servers.into_iter().collect(),
            total_count,
        })
    }

    /// Every item of [`Client::list_servers_types`], page after page (`per_page = 100`).
    pub fn list_servers_types_all(
        &self,
        zone: Zone,
        query: ListServersTypesQuery,
    ) -> BoxStream<'static, Result<(String, ServerType)>> {
        let client = self.clone();
        paginate(move |at: PageRequest| {
            let client = client.clone();
            let mut query = query.clone();
            query.page = Some(at.page);
            query.per_page = Some(at.per_page);
            async move { client.list_servers_types(zone, &query).await }
        })
        .boxed()
    }

    /// `GET /instance/v1/zones/{zone}/products/servers/availability`
    ///
    /// One page; `query.page`/`query.per_page` choose it.
    pub async fn get_server_types_availability(
        &self,
        zone: Zone,
        query: &GetServerTypesAvailabilityQuery,
    ) -> Result<Page<(String, ServerTypeAvailability)>> {
        let (response, total_count) = self
            .call::<_, _, GetServerTypesAvailabilityResponse>(
                Operation::GetServerTypesAvailability,
                zone,
                &[],
                Some(query),
                None::<&()>,
            )
            .await?;
        Ok(Page {
            items: response.servers.into_iter().collect(),
            total_count,
        })
    }

    /// Every item of [`Client::get_server_types_availability`], page after page (`per_page = 100`).
    pub fn get_server_types_availability_all(
        &self,
        zone: Zone,
        query: GetServerTypesAvailabilityQuery,
    ) -> BoxStream<'static, Result<(String, ServerTypeAvailability)>> {
        let client = self.clone();
        paginate(move |at: PageRequest| {
            let client = client.clone();
            let mut query = query.clone();
            query.page = Some(at.page);
            query.per_page = Some(at.per_page);
            async move { client.get_server_types_availability(zone, &query).await }
        })
        .boxed()
    }

    /// `GET /instance/v1/zones/{zone}/products/volumes`
    ///
    /// One page; `query.page`/`query.per_page` choose it.
    pub async fn list_volumes_types(
        &self,
        zone: Zone,
        query: &ListVolumesTypesQuery,
    ) -> Result<Page<(String, VolumeType)>> {
        let (response, total_count) = self
            .call::<_, _, ListVolumesTypesResponse>(
                Operation::ListVolumesTypes,
                zone,
                &[],
                Some(query),
                None::<&()>,
            )
            .await?;
        Ok(Page {
            items: response.volumes.into_iter().collect(),
            total_count,
        })
    }

    /// Every item of [`Client::list_volumes_types`], page after page (`per_page = 100`).
    pub fn list_volumes_types_all(
        &self,
        zone: Zone,
        query: ListVolumesTypesQuery,
    ) -> BoxStream<'static, Result<(String, VolumeType)>> {
        let client = self.clone();
        paginate(move |at: PageRequest| {
            let client = client.clone();
            let mut query = query.clone();
            query.page = Some(at.page);
            query.per_page = Some(at.per_page);
            async move { client.list_volumes_types(zone, &query).await }
        })
        .boxed()
    }
}
