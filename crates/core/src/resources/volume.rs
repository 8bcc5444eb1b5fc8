//! Local volumes (`l_ssd`, `scratch`); SBS volumes live in the Block API.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::{VolumeState, VolumeVolumeType};
use crate::maybe::Maybe;
use crate::resources::ServerSummary;
use crate::time::Timestamp;
use crate::zone::Zone;

/// A volume.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Volume {
    pub id: String,
    pub name: String,
    pub volume_type: VolumeVolumeType,
    pub organization: String,
    pub project: String,
    /// The server it is attached to, `null` when detached.
    pub server: Option<ServerSummary>,
    /// Bytes.
    pub size: u64,
    pub state: VolumeState,
    pub creation_date: Option<Timestamp>,
    pub modification_date: Option<Timestamp>,
    pub tags: Vec<String>,
    pub zone: Zone,
    /// Deprecated: `null` in most responses, absent in some.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub export_uri: Maybe<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
