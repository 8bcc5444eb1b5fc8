//! Snapshots, including export to Object Storage.
//!
//! One method per catalog endpoint; each doc line gives the method and
//! path template. Lists also have a `…_all` variant streaming every item
//! of every page (see [`crate::pagination`]).

use fleet_core::{
    CreateSnapshotRequest, CreateSnapshotResponse, ExportSnapshotRequest, ExportSnapshotResponse,
    GetSnapshotResponse, ListSnapshotsQuery, ListSnapshotsResponse, SetSnapshotRequest,
    SetSnapshotResponse, Snapshot, Task, UpdateSnapshotRequest, UpdateSnapshotResponse, Zone,
};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::client::Client;
use crate::endpoint::Operation;
use crate::error::Result;
use crate::pagination::{Page, PageRequest, paginate};

impl Client {
    /// `GET /instance/v1/zones/{zone}/snapshots`
    ///
    /// One page; `query.page`/`query.per_page` choose it.
    pub async fn list_snapshots(
        &self,
        zone: Zone,
        query: &ListSnapshotsQuery,
    ) -> Result<Page<Snapshot>> {
        let (response, total_count) = self
            .call::<_, _, ListSnapshotsResponse>(
                Operation::ListSnapshots,
                zone,
                &[],
                Some(query),
                None::<&()>,
            )
            .await?;
        Ok(Page {
            items: response.snapshots,
            total_count,
        })
    }

    /// Every item of [`Client::list_snapshots`], page after page (`per_page = 100`).
    pub fn list_snapshots_all(
        &self,
        zone: Zone,
        query: ListSnapshotsQuery,
    ) -> BoxStream<'static, Result<Snapshot>> {
        let client = self.clone();
        paginate(move |at: PageRequest| {
            let client = client.clone();
            let mut query = query.clone();
            query.page = Some(at.page);
            query.per_page = Some(at.per_page);
            async move { client.list_snapshots(zone, &query).await }
        })
        .boxed()
    }

    /// `POST /instance/v1/zones/{zone}/snapshots`
    pub async fn create_snapshot(
        &self,
        zone: Zone,
        request: &CreateSnapshotRequest,
    ) -> Result<CreateSnapshotResponse> {
        let (response, _) = self
            .call::<_, _, CreateSnapshotResponse>(
                Operation::CreateSnapshot,
                zone,
                &[],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response)
    }

    /// `GET /instance/v1/zones/{zone}/snapshots/{snapshot_id}`
    pub async fn get_snapshot(&self, zone: Zone, snapshot_id: &str) -> Result<Snapshot> {
        let (response, _) = self
            .call::<_, _, GetSnapshotResponse>(
                Operation::GetSnapshot,
                zone,
                &[snapshot_id],
                None::<&()>,
                None::<&()>,
            )
            .await?;
        Ok(response.snapshot)
    }

    /// `PATCH /instance/v1/zones/{zone}/snapshots/{snapshot_id}`
    pub async fn update_snapshot(
        &self,
        zone: Zone,
        snapshot_id: &str,
        request: &UpdateSnapshotRequest,
    ) -> Result<Snapshot> {
        let (response, _) = self
            .call::<_, _, UpdateSnapshotResponse>(
                Operation::UpdateSnapshot,
                zone,
                &[snapshot_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.snapshot)
    }

    /// `PUT /instance/v1/zones/{zone}/snapshots/{snapshot_id}`
    pub async fn set_snapshot(
        &self,
        zone: Zone,
        snapshot_id: &str,
        request: &SetSnapshotRequest,
    ) -> Result<Snapshot> {
        let (response, _) = self
            .call::<_, _, SetSnapshotResponse>(
                Operation::SetSnapshot,
                zone,
                &[snapshot_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.snapshot)
    }

    /// `DELETE /instance/v1/zones/{zone}/snapshots/{snapshot_id}`
    pub async fn delete_snapshot(&self, zone: Zone, snapshot_id: &str) -> Result<()> {
        self.call_empty(Operation::DeleteSnapshot, zone, &[snapshot_id], None::<&()>)
            .await
    }

    /// `POST /instance/v1/zones/{zone}/snapshots/{snapshot_id}/export`
    pub async fn export_snapshot(
        &self,
        zone: Zone,
        snapshot_id: &str,
        request: &ExportSnapshotRequest,
    ) -> Result<Task> {
        let (response, _) = self
            .call::<_, _, ExportSnapshotResponse>(
                Operation::ExportSnapshot,
                zone,
                &[snapshot_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.task)
    }
}
