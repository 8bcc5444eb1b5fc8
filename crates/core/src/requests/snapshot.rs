//! Snapshot bodies and queries, export included.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::{SnapshotState, SnapshotVolumeType, VolumeVolumeType};
use crate::requests::comma_list;
use crate::resources::SnapshotBaseVolume;
use crate::time::Timestamp;
use crate::wire::wire_structs;

wire_structs! {
    /// Query of `GET snapshots`.
    query ListSnapshotsQuery {
        organization?: String,
        project?: String,
        per_page?: u32,
        page?: i32,
        name?: String,
        #[serde(with = "comma_list")]
        tags?: Vec<String>,
        base_volume_id?: String,
    }

    /// `POST snapshots`: from a volume (`volume_id`) or imported from object
    /// storage (`bucket`, `key`, `size`).
    body CreateSnapshotRequest {
        name?: String,
        volume_id?: String,
        tags?: Vec<String>,
        /// Deprecated.
        organization?: String,
        project?: String,
        volume_type?: SnapshotVolumeType,
        bucket?: String,
        key?: String,
        /// Bytes, a multiple of 512.
        size?: u64,
    }

    /// `PATCH snapshots/{snapshot_id}`.
    body UpdateSnapshotRequest {
        name?: String,
        tags?: Vec<String>,
    }

    /// `PUT snapshots/{snapshot_id}`: full replacement, every field sent.
    body SetSnapshotRequest {
        id: String,
        name: String,
        organization: String,
        volume_type: VolumeVolumeType,
        /// Bytes.
        size: u64,
        state: SnapshotState,
        base_volume: Option<SnapshotBaseVolume>,
        creation_date: Option<Timestamp>,
        modification_date: Option<Timestamp>,
        project: String,
        tags: Option<Vec<String>>,
    }

    /// `POST snapshots/{snapshot_id}/export`.
    body ExportSnapshotRequest {
        bucket?: String,
        key?: String,
    }
}
