//! Block Storage (SBS) snapshots, including import from and export to
//! Object Storage (both answer the snapshot, not a task).

use fleet_core::block::{
    CreateSnapshotRequest, ExportSnapshotToObjectStorageRequest,
    ImportSnapshotFromObjectStorageRequest, ListSnapshotsQuery, ListSnapshotsResponse, Snapshot,
    UpdateSnapshotRequest,
};

use super::client_methods;
use crate::client::Client;

impl Client {
    client_methods! {
        /// `GET /block/v1/zones/{zone}/snapshots`
        list block_list_snapshots / block_list_snapshots_all() ListSnapshotsQuery => Snapshot
            = BlockListSnapshots(ListSnapshotsResponse).snapshots;
        /// `POST /block/v1/zones/{zone}/snapshots` (answers `creating`)
        send block_create_snapshot() CreateSnapshotRequest => Snapshot = BlockCreateSnapshot(Snapshot);
        /// `POST /block/v1/zones/{zone}/snapshots/import-from-object-storage`
        send block_import_snapshot_from_object_storage() ImportSnapshotFromObjectStorageRequest => Snapshot
            = BlockImportSnapshotFromObjectStorage(Snapshot);
        /// `POST /block/v1alpha1/zones/{zone}/snapshots/import-from-s3` (the
        /// deprecated v1alpha1 name of the import)
        send block_import_snapshot_from_s3() ImportSnapshotFromObjectStorageRequest => Snapshot
            = BlockImportSnapshotFromS3(Snapshot);
        /// `POST /block/v1/zones/{zone}/snapshots/{snapshot_id}/export-to-object-storage`
        /// (answers `exporting`)
        send block_export_snapshot_to_object_storage(snapshot_id) ExportSnapshotToObjectStorageRequest => Snapshot
            = BlockExportSnapshotToObjectStorage(Snapshot);
        /// `GET /block/v1/zones/{zone}/snapshots/{snapshot_id}`
        get block_get_snapshot(snapshot_id) => Snapshot = BlockGetSnapshot(Snapshot);
        /// `PATCH /block/v1/zones/{zone}/snapshots/{snapshot_id}`
        send block_update_snapshot(snapshot_id) UpdateSnapshotRequest => Snapshot
            = BlockUpdateSnapshot(Snapshot);
        /// `DELETE /block/v1/zones/{zone}/snapshots/{snapshot_id}`
        empty block_delete_snapshot(snapshot_id) = BlockDeleteSnapshot;
    }
}
