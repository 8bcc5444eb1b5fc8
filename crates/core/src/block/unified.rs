//! Block volumes and snapshots in the Instance shapes, so a caller sees one
//! `Volume` and one `Snapshot` whichever API holds the data.
//!
//! fleet's public volume and snapshot are the Instance ones plus the Block
//! fields under their own keys (kept in `extra`, so they reach the public
//! message by name): [`API_KEY`] says which API holds the resource
//! (`"block"`; absent for Instance resources), and `perf_iops`,
//! `storage_class`, `block_type`, `references`, `parent_snapshot_id` and
//! `last_detached_at` carry what Instance has no field for. The Block status
//! goes in `state` unchanged (`in_use`, `updating`, … are Block values).
//!
//! This module is the one place that maps between the families: the
//! resources here, the list filters, the create, export and update bodies
//! below, the Instance `not_found` answers that send a caller on to Block
//! ([`missing_from_instance`]), and
//! [`Operation::block_counterpart`](crate::Operation::block_counterpart)
//! for the endpoints.

use serde_json::{Map, Value, json};

use crate::block::enums::{BlockResource, ProductResourceType};
use crate::block::requests::{
    CreateSnapshotRequest, CreateVolumeFromEmpty, CreateVolumeFromSnapshot, CreateVolumeRequest,
    ExportSnapshotToObjectStorageRequest, ListSnapshotsQuery, ListVolumesQuery,
    UpdateSnapshotRequest, UpdateVolumeRequest,
};
use crate::block::resources::{Snapshot, Volume};
use crate::enums::{SnapshotState, VolumeState, VolumeVolumeType};
use crate::error::ApiError;
use crate::maybe::Maybe;
use crate::resources::{ServerSummary, SnapshotBaseVolume};

/// Key naming the API that holds a resource in its unified shape.
pub const API_KEY: &str = "api";

/// Whether a unified volume or snapshot (as JSON) is held by Block.
pub fn is_block(unified: &Value) -> bool {
    unified.get(API_KEY).and_then(Value::as_str) == Some(crate::catalog::Api::Block.as_str())
}

/// A Block volume as fleet shows every volume.
pub fn volume_as_instance(volume: &Volume) -> crate::Volume {
    let server = volume
        .references
        .iter()
        .find(|r| r.product_resource_type == ProductResourceType::InstanceServer)
        .map(|r| ServerSummary {
            id: r.product_resource_id.clone(),
            name: String::new(),
            extra: Map::new(),
        });
    let mut extra = block_extra();
    extra.insert("block_type".into(), json!(volume.volume_type.as_str()));
    extra.insert("perf_iops".into(), json!(volume.specs.perf_iops));
    extra.insert("storage_class".into(), json!(volume.specs.class.as_str()));
    extra.insert("references".into(), json!(volume.references));
    extra.insert(
        "parent_snapshot_id".into(),
        json!(volume.parent_snapshot_id),
    );
    extra.insert("last_detached_at".into(), json!(volume.last_detached_at));
    crate::Volume {
        id: volume.id.clone(),
        name: volume.name.clone(),
        volume_type: VolumeVolumeType::SbsVolume,
        organization: String::new(),
        project: volume.project_id.clone(),
        server,
        size: volume.size,
        state: VolumeState::from(volume.status.as_str()),
        creation_date: volume.created_at.clone(),
        modification_date: volume.updated_at.clone(),
        tags: volume.tags.clone(),
        zone: volume.zone,
        export_uri: Maybe::Absent,
        extra,
    }
}

/// A Block snapshot as fleet shows every snapshot.
pub fn snapshot_as_instance(snapshot: &Snapshot) -> crate::Snapshot {
    let mut extra = block_extra();
    extra.insert("storage_class".into(), json!(snapshot.class.as_str()));
    extra.insert("references".into(), json!(snapshot.references));
    crate::Snapshot {
        id: snapshot.id.clone(),
        name: snapshot.name.clone(),
        volume_type: VolumeVolumeType::SbsSnapshot,
        creation_date: snapshot.created_at.clone(),
        modification_date: snapshot.updated_at.clone(),
        organization: String::new(),
        project: snapshot.project_id.clone(),
        size: snapshot.size,
        state: SnapshotState::from(snapshot.status.as_str()),
        base_volume: snapshot
            .parent_volume
            .as_ref()
            .map(|parent| SnapshotBaseVolume {
                id: parent.id.clone(),
                name: parent.name.clone(),
                extra: Map::new(),
            }),
        tags: snapshot.tags.clone(),
        zone: snapshot.zone,
        error_details: Maybe::Absent,
        error_reason: Maybe::Absent,
        extra,
    }
}

fn block_extra() -> Map<String, Value> {
    let mut extra = Map::new();
    extra.insert(
        API_KEY.into(),
        Value::String(crate::catalog::Api::Block.as_str().into()),
    );
    extra
}

/// The Block list matching an Instance volume list's filters; `None` when
/// the filters exclude every Block volume (a `volume_type` other than
/// `sbs_volume`). Paging is the caller's.
pub fn list_volumes_query(query: &crate::ListVolumesQuery) -> Option<ListVolumesQuery> {
    if let Some(volume_type) = &query.volume_type
        && *volume_type != VolumeVolumeType::SbsVolume
    {
        return None;
    }
    Some(ListVolumesQuery {
        project_id: query.project.clone(),
        organization_id: query.organization.clone(),
        name: query.name.clone(),
        tags: query.tags.clone(),
        ..Default::default()
    })
}

/// The Block list matching an Instance snapshot list's filters
/// (`base_volume_id` is Block's `volume_id`). Paging is the caller's.
pub fn list_snapshots_query(query: &crate::ListSnapshotsQuery) -> ListSnapshotsQuery {
    ListSnapshotsQuery {
        project_id: query.project.clone(),
        organization_id: query.organization.clone(),
        name: query.name.clone(),
        tags: query.tags.clone(),
        volume_id: query.base_volume_id.clone(),
        ..Default::default()
    }
}

/// An Instance volume PATCH (name, tags, size) as a Block one.
pub fn update_volume_request(request: &crate::UpdateVolumeRequest) -> UpdateVolumeRequest {
    UpdateVolumeRequest {
        name: request.name.clone(),
        size: request.size,
        tags: request.tags.clone().map_or(Maybe::Absent, Maybe::Value),
        ..Default::default()
    }
}

/// The `resource` of the Instance API's `not_found` for a volume id it does
/// not hold (SBS volumes appear only inside `server.volumes`).
pub const INSTANCE_VOLUME_RESOURCE: &str = "instance_volume";
/// The `resource` of the Instance API's `not_found` for a snapshot id it
/// does not hold.
pub const INSTANCE_SNAPSHOT_RESOURCE: &str = "instance_snapshot";

/// Whether an Instance error says the volume or snapshot asked for is not an
/// Instance one, so it may be a Block one (and which): what clients that get
/// a volume by id check before asking Block.
pub fn missing_from_instance(error: &ApiError) -> Option<BlockResource> {
    match error {
        ApiError::NotFound(e) if e.resource == INSTANCE_VOLUME_RESOURCE => {
            Some(BlockResource::Volume)
        }
        ApiError::NotFound(e) if e.resource == INSTANCE_SNAPSHOT_RESOURCE => {
            Some(BlockResource::Snapshot)
        }
        _ => None,
    }
}

/// An Instance snapshot create of an SBS volume as a Block one (the
/// Instance `volume_type` and import fields have no Block meaning here).
pub fn create_snapshot_request(request: &crate::CreateSnapshotRequest) -> CreateSnapshotRequest {
    CreateSnapshotRequest {
        volume_id: request.volume_id.clone(),
        name: request.name.clone(),
        project_id: request.project.clone(),
        tags: request.tags.clone().map_or(Maybe::Absent, Maybe::Value),
        ..Default::default()
    }
}

/// An Instance volume create as a Block one: restored from `base_snapshot`
/// (grown to `size` when given) when set, else empty of `size` bytes.
pub fn create_volume_request(
    request: &crate::CreateVolumeRequest,
    perf_iops: Option<u32>,
) -> CreateVolumeRequest {
    let (from_empty, from_snapshot) = match &request.base_snapshot {
        Some(snapshot) => (
            None,
            Some(CreateVolumeFromSnapshot {
                snapshot_id: Some(snapshot.clone()),
                size: request.size.map_or(Maybe::Absent, Maybe::Value),
                extra: Map::new(),
            }),
        ),
        None => (
            Some(CreateVolumeFromEmpty {
                size: request.size,
                extra: Map::new(),
            }),
            None,
        ),
    };
    CreateVolumeRequest {
        name: request.name.clone(),
        perf_iops,
        project_id: request.project.clone(),
        from_empty,
        from_snapshot,
        tags: request.tags.clone().map_or(Maybe::Absent, Maybe::Value),
        ..Default::default()
    }
}

/// An Instance snapshot export as a Block one (same bucket and key).
pub fn export_snapshot_request(
    request: &crate::ExportSnapshotRequest,
) -> ExportSnapshotToObjectStorageRequest {
    ExportSnapshotToObjectStorageRequest {
        bucket: request.bucket.clone(),
        key: request.key.clone(),
        ..Default::default()
    }
}

/// An Instance snapshot PATCH (name, tags) as a Block one.
pub fn update_snapshot_request(request: &crate::UpdateSnapshotRequest) -> UpdateSnapshotRequest {
    UpdateSnapshotRequest {
        name: request.name.clone(),
        tags: request.tags.clone().map_or(Maybe::Absent, Maybe::Value),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_volume() -> Volume {
        serde_json::from_value(json!({
            "id": "v1", "name": "ubuntu_noble_sbs_volume_0", "type": "sbs_15k",
            "size": 20_000_000_000u64, "project_id": "p", "status": "in_use",
            "zone": "fr-par-1", "tags": ["web"], "parent_snapshot_id": "snap",
            "specs": {"perf_iops": 15000, "class": "sbs"},
            "references": [{"id": "r", "product_resource_type": "instance_server",
                "product_resource_id": "srv", "type": "exclusive", "status": "attached"}]
        }))
        .unwrap()
    }

    #[test]
    fn a_block_volume_reads_as_an_sbs_volume_with_its_block_fields() {
        let unified = serde_json::to_value(volume_as_instance(&block_volume())).unwrap();
        assert_eq!(unified["volume_type"], "sbs_volume");
        assert_eq!(unified["state"], "in_use");
        assert_eq!(unified["project"], "p");
        assert_eq!(unified["server"]["id"], "srv");
        assert_eq!(unified["perf_iops"], 15000);
        assert_eq!(unified["block_type"], "sbs_15k");
        assert_eq!(unified["storage_class"], "sbs");
        assert_eq!(unified["references"][0]["status"], "attached");
        assert_eq!(unified["parent_snapshot_id"], "snap");
        assert!(is_block(&unified));
        assert!(!is_block(&json!({"id": "l"})));
    }

    #[test]
    fn a_block_snapshot_reads_as_an_sbs_snapshot() {
        let snapshot: Snapshot = serde_json::from_value(json!({
            "id": "s", "name": "n", "size": 10, "status": "exporting", "class": "sbs",
            "zone": "fr-par-1", "project_id": "p",
            "parent_volume": {"id": "v1", "name": "root", "type": "sbs_5k", "status": "in_use"}
        }))
        .unwrap();
        let unified = serde_json::to_value(snapshot_as_instance(&snapshot)).unwrap();
        assert_eq!(unified["volume_type"], "sbs_snapshot");
        assert_eq!(unified["state"], "exporting");
        assert_eq!(unified["base_volume"]["id"], "v1");
        assert!(is_block(&unified));
    }

    #[test]
    fn list_filters_map_and_a_local_type_excludes_block() {
        let query = crate::ListVolumesQuery {
            name: Some("web".into()),
            project: Some("p".into()),
            ..Default::default()
        };
        let block = list_volumes_query(&query).unwrap();
        assert_eq!(
            (block.name.as_deref(), block.project_id.as_deref()),
            (Some("web"), Some("p"))
        );
        let local = crate::ListVolumesQuery {
            volume_type: Some(VolumeVolumeType::LSsd),
            ..Default::default()
        };
        assert!(list_volumes_query(&local).is_none());
        let snapshots = list_snapshots_query(&crate::ListSnapshotsQuery {
            base_volume_id: Some("v1".into()),
            ..Default::default()
        });
        assert_eq!(snapshots.volume_id.as_deref(), Some("v1"));
    }

    #[test]
    fn only_instance_volume_and_snapshot_404s_point_to_block() {
        let volume = ApiError::not_found(INSTANCE_VOLUME_RESOURCE, "v");
        assert_eq!(missing_from_instance(&volume), Some(BlockResource::Volume));
        let snapshot = ApiError::not_found(INSTANCE_SNAPSHOT_RESOURCE, "s");
        assert_eq!(
            missing_from_instance(&snapshot),
            Some(BlockResource::Snapshot)
        );
        assert_eq!(
            missing_from_instance(&ApiError::not_found("instance_server", "x")),
            None
        );
        assert_eq!(
            missing_from_instance(&ApiError::conflict("instance_volume")),
            None
        );
    }

    #[test]
    fn creates_and_exports_map_to_block_bodies() {
        let snapshot = create_snapshot_request(&crate::CreateSnapshotRequest {
            volume_id: Some("v".into()),
            name: Some("snap".into()),
            project: Some("p".into()),
            tags: Some(vec!["t".into()]),
            volume_type: Some(crate::SnapshotVolumeType::LSsd),
            ..Default::default()
        });
        assert_eq!(
            serde_json::to_value(snapshot).unwrap(),
            json!({"volume_id": "v", "name": "snap", "project_id": "p", "tags": ["t"]})
        );
        let empty = create_volume_request(
            &crate::CreateVolumeRequest {
                name: Some("data".into()),
                size: Some(20_000_000_000),
                ..Default::default()
            },
            Some(15000),
        );
        assert_eq!(
            serde_json::to_value(empty).unwrap(),
            json!({"name": "data", "perf_iops": 15000, "from_empty": {"size": 20_000_000_000u64}})
        );
        let restore = create_volume_request(
            &crate::CreateVolumeRequest {
                name: Some("copy".into()),
                base_snapshot: Some("s".into()),
                ..Default::default()
            },
            None,
        );
        assert_eq!(
            serde_json::to_value(restore).unwrap(),
            json!({"name": "copy", "from_snapshot": {"snapshot_id": "s"}})
        );
        let export = export_snapshot_request(&crate::ExportSnapshotRequest {
            bucket: Some("b".into()),
            key: Some("k.qcow2".into()),
            ..Default::default()
        });
        assert_eq!(
            serde_json::to_value(export).unwrap(),
            json!({"bucket": "b", "key": "k.qcow2"})
        );
    }

    #[test]
    fn updates_keep_only_what_was_asked() {
        let block = update_volume_request(&crate::UpdateVolumeRequest {
            size: Some(30_000_000_000),
            ..Default::default()
        });
        assert_eq!(
            serde_json::to_value(block).unwrap(),
            json!({"size": 30_000_000_000u64})
        );
    }
}
