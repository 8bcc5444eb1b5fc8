//! Volumes, snapshots, their references and volume types as the Block API
//! returns them. Field conventions are the Instance resources': plain `T`
//! where the key is always sent, `Option<T>` where `null` occurs,
//! [`Maybe<T>`] where some answers omit the key (v1alpha1 has no
//! `kms_key_id` and no snapshot `public`), unknown keys kept in `extra`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::block::enums::{
    ProductResourceType, ReferenceStatus, ReferenceType, SnapshotStatus, StorageClass,
    VolumeStatus, VolumeType,
};
use crate::maybe::Maybe;
use crate::time::Timestamp;
use crate::zone::Zone;

/// One gigabyte, the step of Block volume sizes (bytes).
pub const GB: u64 = 1_000_000_000;
/// Smallest Block volume (5 GB).
pub const MIN_VOLUME_SIZE: u64 = 5 * GB;
/// Largest Block volume (10 TB).
pub const MAX_VOLUME_SIZE: u64 = 10_000 * GB;

/// A Block volume.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Volume {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub volume_type: VolumeType,
    /// Bytes.
    pub size: u64,
    pub project_id: String,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    /// Who holds the volume: an `instance_server` while attached.
    pub references: Vec<Reference>,
    /// The snapshot it was made from (a marketplace snapshot for a server
    /// root), `null` for volumes created empty.
    pub parent_snapshot_id: Option<String>,
    pub status: VolumeStatus,
    pub tags: Vec<String>,
    pub zone: Zone,
    pub specs: VolumeSpecs,
    pub last_detached_at: Option<Timestamp>,
    /// v1 only, and missing from some v1 answers too.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub kms_key_id: Maybe<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Volume {
    /// True while the volume or one of its references is changing: what the
    /// SDK's volume-and-references waiter waits out (a detached volume
    /// reads `in_use` with a `detaching` reference for a while).
    pub fn is_transient(&self) -> bool {
        self.status.is_transient() || self.references.iter().any(|r| r.status.is_transient())
    }
}

/// Performance of a volume.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeSpecs {
    /// 5000 or 15000 for SBS volumes; a pointer in the SDK, so `null` is
    /// accepted.
    pub perf_iops: Option<u32>,
    pub class: StorageClass,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A product resource's hold on a volume or snapshot.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Reference {
    pub id: String,
    pub product_resource_type: ProductResourceType,
    /// The server or image id (all zeros for `internal`).
    pub product_resource_id: String,
    pub created_at: Option<Timestamp>,
    #[serde(rename = "type")]
    pub reference_type: ReferenceType,
    pub status: ReferenceStatus,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A Block snapshot.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Snapshot {
    pub id: String,
    pub name: String,
    /// `null` for imported snapshots and once the volume is deleted.
    pub parent_volume: Option<SnapshotParentVolume>,
    /// Bytes.
    pub size: u64,
    pub project_id: String,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
    /// `instance_image` links while an image uses it.
    pub references: Vec<Reference>,
    pub status: SnapshotStatus,
    pub tags: Vec<String>,
    pub zone: Zone,
    pub class: StorageClass,
    /// v1 only, and missing from some v1alpha1-era answers.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub public: Maybe<bool>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Snapshot {
    /// True while the snapshot is being created, deleted or exported.
    pub fn is_transient(&self) -> bool {
        self.status.is_transient()
    }
}

/// The volume a snapshot was taken from, as it was then.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SnapshotParentVolume {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub volume_type: VolumeType,
    pub status: VolumeStatus,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of `GET volume-types` (never recorded: only `type` and `specs`
/// are typed, pricing and the rest stay in `extra`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeTypeInfo {
    #[serde(rename = "type")]
    pub volume_type: VolumeType,
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub specs: Maybe<VolumeSpecs>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn volume(status: &str, reference: Option<&str>) -> Volume {
        let references: Vec<Value> = reference
            .into_iter()
            .map(|status| {
                json!({"id": "r", "product_resource_type": "instance_server",
                       "product_resource_id": "s", "created_at": null,
                       "type": "exclusive", "status": status})
            })
            .collect();
        serde_json::from_value(json!({"status": status, "references": references})).unwrap()
    }

    #[test]
    fn a_detach_is_transient_until_the_reference_is_gone() {
        // The recorded sequence after an Instance detach.
        assert!(!volume("in_use", Some("attached")).is_transient());
        assert!(volume("in_use", Some("detaching")).is_transient());
        assert!(!volume("available", None).is_transient());
    }

    #[test]
    fn creates_and_updates_are_transient_until_available() {
        // Recorded: create `creating` → `available`; PATCH `updating` → `available`.
        assert!(volume("creating", None).is_transient());
        assert!(volume("updating", Some("attached")).is_transient());
        assert!(!volume("available", None).is_transient());
        let snapshot = |status: &str| -> Snapshot {
            serde_json::from_value(json!({"status": status})).unwrap()
        };
        for (status, transient) in [
            ("creating", true),
            ("available", false),
            ("exporting", true),
            ("available", false),
            ("in_use", false),
        ] {
            assert_eq!(snapshot(status).is_transient(), transient, "{status}");
        }
    }

    #[test]
    fn absent_and_null_keys_write_back_as_read() {
        let v1alpha1 = json!({"id": "v", "kms_key_id": null, "specs": {"perf_iops": 5000, "class": "sbs", "burst": 1}});
        let parsed: Volume = serde_json::from_value(v1alpha1).unwrap();
        assert!(parsed.kms_key_id.is_null());
        let back = serde_json::to_value(&parsed).unwrap();
        assert_eq!(back["specs"]["burst"], 1);
        assert_eq!(back["kms_key_id"], Value::Null);
        let parsed: Snapshot = serde_json::from_value(json!({"id": "s"})).unwrap();
        assert!(parsed.public.is_absent());
        assert!(
            serde_json::to_value(&parsed)
                .unwrap()
                .get("public")
                .is_none()
        );
    }
}
