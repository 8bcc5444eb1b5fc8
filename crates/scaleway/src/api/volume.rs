//! Local volumes (`l_ssd`, `scratch`).
//!
//! One method per catalog endpoint; each doc line gives the method and
//! path template. Lists also have a `…_all` variant streaming every item
//! of every page (see [`crate::pagination`]).

use fleet_core::{
    CreateVolumeRequest, CreateVolumeResponse, GetVolumeResponse, ListVolumesQuery,
    ListVolumesResponse, UpdateVolumeRequest, UpdateVolumeResponse, Volume, Zone,
};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::client::Client;
use crate::endpoint::Operation;
use crate::error::Result;
use crate::pagination::{Page, PageRequest, paginate};

impl Client {
    /// `GET /instance/v1/zones/{zone}/volumes`
    ///
    /// One page; `query.page`/`query.per_page` choose it.
    pub async fn list_volumes(&self, zone: Zone, query: &ListVolumesQuery) -> Result<Page<Volume>> {
        let (response, total_count) = self
            .call::<_, _, ListVolumesResponse>(
                Operation::ListVolumes,
                zone,
                &[],
                Some(query),
                None::<&()>,
            )
            .await?;
        Ok(Page {
            items: response.volumes,
            total_count,
        })
    }

    /// Every item of [`Client::list_volumes`], page after page (`per_page = 100`).
    pub fn list_volumes_all(
        &self,
        zone: Zone,
        query: ListVolumesQuery,
    ) -> BoxStream<'static, Result<Volume>> {
        let client = self.clone();
        paginate(move |at: PageRequest| {
            let client = client.clone();
            let mut query = query.clone();
            query.page = Some(at.page);
            query.per_page = Some(at.per_page);
            async move { client.list_volumes(zone, &query).await }
        })
        .boxed()
    }

    /// `POST /instance/v1/zones/{zone}/volumes`
    pub async fn create_volume(&self, zone: Zone, request: &CreateVolumeRequest) -> Result<Volume> {
        let (response, _) = self
            .call::<_, _, CreateVolumeResponse>(
                Operation::CreateVolume,
                zone,
                &[],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.volume)
    }

    /// `GET /instance/v1/zones/{zone}/volumes/{volume_id}`
    pub async fn get_volume(&self, zone: Zone, volume_id: &str) -> Result<Volume> {
        let (response, _) = self
            .call::<_, _, GetVolumeResponse>(
                Operation::GetVolume,
                zone,
                &[volume_id],
                None::<&()>,
                None::<&()>,
            )
            .await?;
        Ok(response.volume)
    }

    /// `PATCH /instance/v1/zones/{zone}/volumes/{volume_id}`
    pub async fn update_volume(
        &self,
        zone: Zone,
        volume_id: &str,
        request: &UpdateVolumeRequest,
    ) -> Result<Volume> {
        let (response, _) = self
            .call::<_, _, UpdateVolumeResponse>(
                Operation::UpdateVolume,
                zone,
                &[volume_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.volume)
    }

    /// `DELETE /instance/v1/zones/{zone}/volumes/{volume_id}`
    pub async fn delete_volume(&self, zone: Zone, volume_id: &str) -> Result<()> {
        self.call_empty(Operation::DeleteVolume, zone, &[volume_id], None::<&()>)
            .await
    }
}
