//! The Volumes and Snapshots services of the in-test gateway: lists of both storage APIs
//! (an Instance and an SBS volume), and every long-running call answered with a queued
//! operation named after it.

use fleet_proto::v1;
use fleet_proto::v1::snapshots_server::Snapshots;
use fleet_proto::v1::volumes_server::Volumes;
use tonic::{Request, Response, Status};

use super::{Gateway, operation, unimplemented};

pub const VOLUME_ID: &str = "66666666-2222-3333-4444-555555555555";
pub const SNAPSHOT_ID: &str = "77777777-2222-3333-4444-555555555555";

/// A queued operation named `operations/{name}`.
fn queued(name: &str) -> Result<Response<v1::Operation>, Status> {
    Ok(Response::new(operation(
        &format!("operations/{name}"),
        "queued",
        0,
        false,
    )))
}

fn volumes() -> Vec<v1::Volume> {
    vec![
        v1::Volume {
            id: "l1".into(),
            name: "scratch".into(),
            volume_type: "l_ssd".into(),
            size: 20_000_000_000,
            state: "available".into(),
            zone: "fr-par-1".into(),
            ..Default::default()
        },
        v1::Volume {
            id: VOLUME_ID.into(),
            name: "ubuntu_noble_sbs_volume_0".into(),
            volume_type: "sbs_volume".into(),
            size: 10_000_000_000,
            state: "in_use".into(),
            zone: "nl-ams-1".into(),
            api: Some("block".into()),
            block_type: Some("sbs_5k".into()),
            perf_iops: Some(5000),
            ..Default::default()
        },
    ]
}

#[tonic::async_trait]
impl Volumes for Gateway {
    async fn list_volumes(
        &self,
        request: Request<v1::ListVolumesRequest>,
    ) -> Result<Response<v1::ListVolumesResponse>, Status> {
        self.record("ListVolumes", &request)?;
        Ok(Response::new(v1::ListVolumesResponse {
            volumes: volumes(),
            next_page_token: String::new(),
            total_size: 2,
            unreachable: vec![],
        }))
    }

    async fn get_volume(
        &self,
        _: Request<v1::GetVolumeRequest>,
    ) -> Result<Response<v1::Volume>, Status> {
        unimplemented()
    }

    async fn create_volume(
        &self,
        request: Request<v1::CreateVolumeRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.record("CreateVolume", &request)?;
        queued("volume-1")
    }

    async fn resize_volume(
        &self,
        request: Request<v1::ResizeVolumeRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.record("ResizeVolume", &request)?;
        queued("resize-1")
    }

    async fn update_volume(
        &self,
        _: Request<v1::UpdateVolumeRequest>,
    ) -> Result<Response<v1::Volume>, Status> {
        unimplemented()
    }

    async fn delete_volume(
        &self,
        _: Request<v1::DeleteVolumeRequest>,
    ) -> Result<Response<()>, Status> {
        unimplemented()
    }
}

#[tonic::async_trait]
impl Snapshots for Gateway {
    async fn list_snapshots(
        &self,
        _: Request<v1::ListSnapshotsRequest>,
    ) -> Result<Response<v1::ListSnapshotsResponse>, Status> {
        unimplemented()
    }

    async fn get_snapshot(
        &self,
        _: Request<v1::GetSnapshotRequest>,
    ) -> Result<Response<v1::Snapshot>, Status> {
        unimplemented()
    }

    async fn create_snapshot(
        &self,
        request: Request<v1::CreateSnapshotRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.record("CreateSnapshot", &request)?;
        queued("snapshot-1")
    }

    async fn update_snapshot(
        &self,
        _: Request<v1::UpdateSnapshotRequest>,
    ) -> Result<Response<v1::Snapshot>, Status> {
        unimplemented()
    }

    async fn replace_snapshot(
        &self,
        _: Request<v1::ReplaceSnapshotRequest>,
    ) -> Result<Response<v1::Snapshot>, Status> {
        unimplemented()
    }

    async fn delete_snapshot(
        &self,
        _: Request<v1::DeleteSnapshotRequest>,
    ) -> Result<Response<()>, Status> {
        unimplemented()
    }

    async fn export_snapshot(
        &self,
        request: Request<v1::ExportSnapshotRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.record("ExportSnapshot", &request)?;
        queued("export-1")
    }

    async fn import_snapshot(
        &self,
        request: Request<v1::ImportSnapshotRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.record("ImportSnapshot", &request)?;
        queued("import-1")
    }
}
