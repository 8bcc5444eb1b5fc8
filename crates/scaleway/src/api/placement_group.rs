//! Placement groups and their servers.
//!
//! One method per catalog endpoint; each doc line gives the method and
//! path template. Lists also have a `…_all` variant streaming every item
//! of every page (see [`crate::pagination`]).

use fleet_core::{
    CreatePlacementGroupRequest, CreatePlacementGroupResponse, GetPlacementGroupResponse,
    GetPlacementGroupServersResponse, ListPlacementGroupsQuery, ListPlacementGroupsResponse,
    PlacementGroup, PlacementGroupServer, SetPlacementGroupRequest, SetPlacementGroupResponse,
    SetPlacementGroupServersRequest, SetPlacementGroupServersResponse, UpdatePlacementGroupRequest,
    UpdatePlacementGroupResponse, UpdatePlacementGroupServersRequest,
    UpdatePlacementGroupServersResponse, Zone,
};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::client::Client;
use crate::endpoint::Operation;
use crate::error::Result;
use crate::pagination::{Page, PageRequest, paginate};

impl Client {
    /// `GET /instance/v1/zones/{zone}/placement_groups`
    ///
    /// One page; `query.page`/`query.per_page` choose it.
    pub async fn list_placement_groups(
        &self,
        zone: Zone,
        query: &ListPlacementGroupsQuery,
    ) -> Result<Page<PlacementGroup>> {
        let (response, total_count) = self
            .call::<_, _, ListPlacementGroupsResponse>(
                Operation::ListPlacementGroups,
                zone,
                &[],
                Some(query),
                None::<&()>,
            )
            .await?;
        Ok(Page {
            items: response.placement_groups,
            total_count,
        })
    }

    /// Every item of [`Client::list_placement_groups`], page after page (`per_page = 100`).
    pub fn list_placement_groups_all(
        &self,
        zone: Zone,
        query: ListPlacementGroupsQuery,
    ) -> BoxStream<'static, Result<PlacementGroup>> {
        let client = self.clone();
        paginate(move |at: PageRequest| {
            let client = client.clone();
            let mut query = query.clone();
            query.page = Some(at.page);
            query.per_page = Some(at.per_page);
            async move { client.list_placement_groups(zone, &query).await }
        })
        .boxed()
    }

    /// `POST /instance/v1/zones/{zone}/placement_groups`
    pub async fn create_placement_group(
        &self,
        zone: Zone,
        request: &CreatePlacementGroupRequest,
    ) -> Result<PlacementGroup> {
        let (response, _) = self
            .call::<_, _, CreatePlacementGroupResponse>(
                Operation::CreatePlacementGroup,
                zone,
                &[],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.placement_group)
    }

    /// `GET /instance/v1/zones/{zone}/placement_groups/{placement_group_id}`
    pub async fn get_placement_group(
        &self,
        zone: Zone,
        placement_group_id: &str,
    ) -> Result<PlacementGroup> {
        let (response, _) = self
            .call::<_, _, GetPlacementGroupResponse>(
                Operation::GetPlacementGroup,
                zone,
                &[placement_group_id],
                None::<&()>,
                None::<&()>,
            )
            .await?;
        Ok(response.placement_group)
    }

    /// `PATCH /instance/v1/zones/{zone}/placement_groups/{placement_group_id}`
    pub async fn update_placement_group(
        &self,
        zone: Zone,
        placement_group_id: &str,
        request: &UpdatePlacementGroupRequest,
    ) -> Result<PlacementGroup> {
        let (response, _) = self
            .call::<_, _, UpdatePlacementGroupResponse>(
                Operation::UpdatePlacementGroup,
                zone,
                &[placement_group_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.placement_group)
    }

    /// `PUT /instance/v1/zones/{zone}/placement_groups/{placement_group_id}`
    pub async fn set_placement_group(
        &self,
        zone: Zone,
        placement_group_id: &str,
        request: &SetPlacementGroupRequest,
    ) -> Result<PlacementGroup> {
        let (response, _) = self
            .call::<_, _, SetPlacementGroupResponse>(
                Operation::SetPlacementGroup,
                zone,
                &[placement_group_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.placement_group)
    }

    /// `DELETE /instance/v1/zones/{zone}/placement_groups/{placement_group_id}`
    pub async fn delete_placement_group(&self, zone: Zone, placement_group_id: &str) -> Result<()> {
        self.call_empty(
            Operation::DeletePlacementGroup,
            zone,
            &[placement_group_id],
            None::<&()>,
        )
        .await
    }

    /// `GET /instance/v1/zones/{zone}/placement_groups/{placement_group_id}/servers`
    pub async fn get_placement_group_servers(
        &self,
        zone: Zone,
        placement_group_id: &str,
    ) -> Result<Vec<PlacementGroupServer>> {
        let (response, _) = self
            .call::<_, _, GetPlacementGroupServersResponse>(
                Operation::GetPlacementGroupServers,
                zone,
                &[placement_group_id],
                None::<&()>,
                None::<&()>,
            )
            .await?;
        Ok(response.servers)
    }

    /// `PUT /instance/v1/zones/{zone}/placement_groups/{placement_group_id}/servers`
    pub async fn set_placement_group_servers(
        &self,
        zone: Zone,
        placement_group_id: &str,
        request: &SetPlacementGroupServersRequest,
    ) -> Result<Vec<PlacementGroupServer>> {
        let (response, _) = self
            .call::<_, _, SetPlacementGroupServersResponse>(
                Operation::SetPlacementGroupServers,
                zone,
                &[placement_group_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.servers)
    }

    /// `PATCH /instance/v1/zones/{zone}/placement_groups/{placement_group_id}/servers`
    pub async fn update_placement_group_servers(
        &self,
        zone: Zone,
        placement_group_id: &str,
        request: &UpdatePlacementGroupServersRequest,
    ) -> Result<Vec<PlacementGroupServer>> {
        let (response, _) = self
            .call::<_, _, UpdatePlacementGroupServersResponse>(
                Operation::UpdatePlacementGroupServers,
                zone,
                &[placement_group_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.servers)
    }
}
