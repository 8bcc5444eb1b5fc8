//! Images, their volume summaries and the legacy bootscript.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::{Arch, ImageState, VolumeVolumeType};
use crate::time::Timestamp;
use crate::zone::Zone;

/// An Instance image.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Image {
    pub id: String,
    pub name: String,
    pub organization: String,
    pub project: String,
    pub root_volume: Option<VolumeSummary>,
    /// Keyed `"1"`, `"2"`, … (the root volume is separate). The SDK types
    /// the values as full volumes, but the API sends the summary shape
    /// `{id, name, size, volume_type}`; any further key lands in `extra`.
    pub extra_volumes: BTreeMap<String, VolumeSummary>,
    pub public: bool,
    pub arch: Arch,
    pub creation_date: Option<Timestamp>,
    pub modification_date: Option<Timestamp>,
    /// Deprecated, always `null`.
    pub default_bootscript: Option<Bootscript>,
    /// Id of the server a backup was made from, `""` otherwise.
    pub from_server: String,
    pub state: ImageState,
    pub tags: Vec<String>,
    pub zone: Zone,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Short form of a volume or snapshot inside an image. SBS-based images
/// have `volume_type: sbs_snapshot`, `size: 0` and `name: ""`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeSummary {
    pub id: String,
    pub name: String,
    /// Bytes.
    pub size: u64,
    pub volume_type: VolumeVolumeType,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Deprecated boot configuration; only ever `null` in current responses.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Bootscript {
    pub architecture: Arch,
    pub bootcmdargs: String,
    pub default: bool,
    pub dtb: String,
    pub id: String,
    pub initrd: String,
    pub kernel: String,
    pub organization: String,
    pub public: bool,
    pub title: String,
    pub project: String,
    pub zone: Zone,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
