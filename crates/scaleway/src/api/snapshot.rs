//! Snapshots, including export to Object Storage.

use fleet_core::{
    CreateSnapshotRequest, CreateSnapshotResponse, ExportSnapshotRequest, ExportSnapshotResponse,
    GetSnapshotResponse, ListSnapshotsQuery, ListSnapshotsResponse, SetSnapshotRequest,
    SetSnapshotResponse, Snapshot, Task, UpdateSnapshotRequest, UpdateSnapshotResponse,
};

use super::client_methods;
use crate::client::Client;

impl Client {
    client_methods! {
        /// `GET /instance/v1/zones/{zone}/snapshots`
        list list_snapshots / list_snapshots_all() ListSnapshotsQuery => Snapshot
            = ListSnapshots(ListSnapshotsResponse).snapshots;
        /// `POST /instance/v1/zones/{zone}/snapshots`
        send create_snapshot() CreateSnapshotRequest => CreateSnapshotResponse
            = CreateSnapshot(CreateSnapshotResponse);
        /// `GET /instance/v1/zones/{zone}/snapshots/{snapshot_id}`
        get get_snapshot(snapshot_id) => Snapshot = GetSnapshot(GetSnapshotResponse).snapshot;
        /// `PATCH /instance/v1/zones/{zone}/snapshots/{snapshot_id}`
        send update_snapshot(snapshot_id) UpdateSnapshotRequest => Snapshot
            = UpdateSnapshot(UpdateSnapshotResponse).snapshot;
        /// `PUT /instance/v1/zones/{zone}/snapshots/{snapshot_id}`
        send set_snapshot(snapshot_id) SetSnapshotRequest => Snapshot
            = SetSnapshot(SetSnapshotResponse).snapshot;
        /// `DELETE /instance/v1/zones/{zone}/snapshots/{snapshot_id}`
        empty delete_snapshot(snapshot_id) = DeleteSnapshot;
        /// `POST /instance/v1/zones/{zone}/snapshots/{snapshot_id}/export`
        send export_snapshot(snapshot_id) ExportSnapshotRequest => Task
            = ExportSnapshot(ExportSnapshotResponse).task;
    }
}
