//! Request bodies and query structs of the Block API, with the conventions
//! of the Instance requests: body fields are `Option<T>` left out when
//! `None` (`wire_structs!`, as for the Instance requests), [`Maybe<T>`] where clients send `null` (the CLI sends
//! `"tags": null`, Terraform `"size": null` in `from_snapshot`), unknown
//! keys kept in `extra`. List filters such as `tags` are one comma-joined
//! parameter, like the Instance filters (only single tags were recorded).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::block::enums::{ListOrderBy, VolumeType};
use crate::maybe::Maybe;
use crate::requests::comma_list;
use crate::wire::wire_structs;

wire_structs! {
    /// Query of `GET volume-types`.
    #[derive(Eq)]
    query ListVolumeTypesQuery {
        page?: i32,
        /// At most 100.
        page_size?: u32,
    }
}

wire_structs! {
    /// Query of `GET volumes`.
    query ListVolumesQuery {
        order_by?: ListOrderBy,
        project_id?: String,
        organization_id?: String,
        page?: i32,
        /// At most 100.
        page_size?: u32,
        name?: String,
        /// Volumes held by this server or image.
        product_resource_id?: String,
        #[serde(with = "comma_list")]
        tags?: Vec<String>,
        /// v1 only.
        include_deleted?: bool,
        /// v1 only.
        volume_type?: VolumeType,
        /// v1 only.
        #[serde(with = "comma_list")]
        volume_ids?: Vec<String>,
    }
}

wire_structs! {
    /// Query of `GET snapshots`.
    query ListSnapshotsQuery {
        order_by?: ListOrderBy,
        project_id?: String,
        organization_id?: String,
        page?: i32,
        /// At most 100.
        page_size?: u32,
        /// Snapshots taken from this volume.
        volume_id?: String,
        name?: String,
        #[serde(with = "comma_list")]
        tags?: Vec<String>,
        /// v1 only.
        include_deleted?: bool,
    }
}

wire_structs! {
    /// `POST volumes`: exactly one of `from_empty` and `from_snapshot` (both
    /// are kept as sent so a server can refuse a body with none or both).
    body CreateVolumeRequest {
        name?: String,
        /// 5000 (the default, `sbs_5k`) or 15000 (`sbs_15k`).
        perf_iops?: u32,
        project_id?: String,
        from_empty?: CreateVolumeFromEmpty,
        from_snapshot?: CreateVolumeFromSnapshot,
        tags: Maybe<Vec<String>>,
        /// v1 only.
        kms_key_id?: String,
    }
}

/// Where a new volume's data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeSource<'a> {
    /// An empty volume of this many bytes (`None` when the body omits it).
    Empty { size: Option<u64> },
    /// A copy of a snapshot, grown to `size` bytes when given.
    Snapshot {
        snapshot_id: Option<&'a str>,
        size: Option<u64>,
    },
}

impl CreateVolumeRequest {
    /// A body for an empty volume of `size` bytes.
    pub fn empty(name: impl Into<String>, size: u64) -> Self {
        CreateVolumeRequest {
            name: Some(name.into()),
            from_empty: Some(CreateVolumeFromEmpty {
                size: Some(size),
                extra: Map::new(),
            }),
            ..Default::default()
        }
    }

    /// A body for a volume restored from `snapshot_id`, of the snapshot's
    /// size unless `size` is given.
    pub fn from_snapshot(
        name: impl Into<String>,
        snapshot_id: impl Into<String>,
        size: Option<u64>,
    ) -> Self {
        CreateVolumeRequest {
            name: Some(name.into()),
            from_snapshot: Some(CreateVolumeFromSnapshot {
                snapshot_id: Some(snapshot_id.into()),
                size: size.map_or(Maybe::Absent, Maybe::Value),
                extra: Map::new(),
            }),
            ..Default::default()
        }
    }

    /// The source, when exactly one of `from_empty` and `from_snapshot` is
    /// set; `None` for a body the API must refuse.
    pub fn source(&self) -> Option<VolumeSource<'_>> {
        match (&self.from_empty, &self.from_snapshot) {
            (Some(empty), None) => Some(VolumeSource::Empty { size: empty.size }),
            (None, Some(from)) => Some(VolumeSource::Snapshot {
                snapshot_id: from.snapshot_id.as_deref(),
                size: from.size.value().copied(),
            }),
            _ => None,
        }
    }
}

wire_structs! {
    /// `from_empty` of a volume create.
    body CreateVolumeFromEmpty {
        /// Bytes, in 1 GB steps.
        size?: u64,
    }
}

wire_structs! {
    /// `from_snapshot` of a volume create.
    body CreateVolumeFromSnapshot {
        snapshot_id?: String,
        /// Bytes; at least the snapshot's size. Terraform sends `null`.
        size: Maybe<u64>,
    }
}

wire_structs! {
    /// `PATCH volumes/{volume_id}`. `size` only grows; `perf_iops` moves the
    /// volume between `sbs_5k` and `sbs_15k` (both through `updating`).
    body UpdateVolumeRequest {
        name?: String,
        /// Bytes, in 1 GB steps.
        size?: u64,
        tags: Maybe<Vec<String>>,
        perf_iops?: u32,
    }
}

wire_structs! {
    /// `POST snapshots`, of a volume `available` or `in_use`.
    body CreateSnapshotRequest {
        volume_id?: String,
        name?: String,
        project_id?: String,
        tags: Maybe<Vec<String>>,
        /// v1 only.
        public?: bool,
    }
}

wire_structs! {
    /// `POST snapshots/import-from-object-storage` (and v1alpha1's deprecated
    /// `import-from-s3`, same body): a QCOW2 object of the same region.
    body ImportSnapshotFromObjectStorageRequest {
        bucket?: String,
        key?: String,
        name?: String,
        project_id?: String,
        tags: Maybe<Vec<String>>,
        /// Bytes; the object's size when not given.
        size: Maybe<u64>,
    }
}

wire_structs! {
    /// `POST snapshots/{snapshot_id}/export-to-object-storage`: writes a QCOW2
    /// object; the answer is the snapshot, `exporting`, not a task.
    body ExportSnapshotToObjectStorageRequest {
        bucket?: String,
        key?: String,
    }
}

wire_structs! {
    /// `PATCH snapshots/{snapshot_id}`.
    body UpdateSnapshotRequest {
        name?: String,
        tags: Maybe<Vec<String>>,
        /// v1 only.
        public?: bool,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_variants_name_their_source() {
        let empty = CreateVolumeRequest {
            perf_iops: Some(15000),
            ..CreateVolumeRequest::empty("data", 20_000_000_000)
        };
        assert_eq!(
            serde_json::to_value(&empty).unwrap(),
            json!({"name": "data", "perf_iops": 15000, "from_empty": {"size": 20_000_000_000u64}})
        );
        assert_eq!(
            empty.source(),
            Some(VolumeSource::Empty {
                size: Some(20_000_000_000)
            })
        );
        let restore = CreateVolumeRequest::from_snapshot("copy", "snap", None);
        assert_eq!(
            serde_json::to_value(&restore).unwrap(),
            json!({"name": "copy", "from_snapshot": {"snapshot_id": "snap"}})
        );
        assert_eq!(
            restore.source(),
            Some(VolumeSource::Snapshot {
                snapshot_id: Some("snap"),
                size: None
            })
        );
        let both: CreateVolumeRequest = serde_json::from_value(
            json!({"from_empty": {"size": 1}, "from_snapshot": {"snapshot_id": "s"}}),
        )
        .unwrap();
        assert_eq!(both.source(), None);
        assert_eq!(CreateVolumeRequest::default().source(), None);
    }

    #[test]
    fn null_tags_and_sizes_are_kept() {
        for body in [
            json!({"name": "v", "tags": null, "from_snapshot": {"snapshot_id": "s", "size": null}}),
            json!({"name": "v", "tags": [], "from_empty": {"size": 10}}),
        ] {
            let parsed: CreateVolumeRequest = serde_json::from_value(body.clone()).unwrap();
            assert_eq!(serde_json::to_value(&parsed).unwrap(), body);
        }
    }

    #[test]
    fn list_filters_are_comma_joined() {
        let query = ListVolumesQuery {
            order_by: Some(ListOrderBy::CreatedAtAsc),
            include_deleted: Some(false),
            tags: Some(vec!["a".into(), "b".into()]),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&query).unwrap(),
            json!({"order_by": "created_at_asc", "include_deleted": false, "tags": "a,b"})
        );
    }
}
