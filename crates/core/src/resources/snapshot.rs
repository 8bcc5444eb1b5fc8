//! Snapshots of local volumes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::{SnapshotState, VolumeVolumeType};
use crate::maybe::Maybe;
use crate::time::Timestamp;
use crate::zone::Zone;

/// A snapshot.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Snapshot {
    pub id: String,
    pub name: String,
    pub volume_type: VolumeVolumeType,
    pub creation_date: Option<Timestamp>,
    pub modification_date: Option<Timestamp>,
    pub organization: String,
    pub project: String,
    /// Bytes.
    pub size: u64,
    pub state: SnapshotState,
    /// `null` for imported snapshots.
    pub base_volume: Option<SnapshotBaseVolume>,
    pub tags: Vec<String>,
    pub zone: Zone,
    /// Undocumented, always `null` in recordings (shape unknown, so raw).
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub error_details: Maybe<Value>,
    /// In the SDK (failed imports) but never seen on the wire.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub error_reason: Maybe<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The volume a snapshot was taken from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SnapshotBaseVolume {
    pub id: String,
    pub name: String,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
