//! Product catalog: server types, their availability, volume types.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::{Arch, BootType, ServerTypesAvailability};
use crate::maybe::Maybe;

/// An Instance type (`GET products/servers`, keyed by commercial type).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerType {
    pub alt_names: Vec<String>,
    pub arch: Arch,
    pub ncpus: u32,
    /// Bytes.
    pub ram: u64,
    pub gpu: Option<u64>,
    pub gpu_info: Option<ServerTypeGpuInfo>,
    /// Undocumented, always `null` in recordings (shape unknown, so raw).
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub mig_profile: Maybe<Value>,
    /// Limits on the total local storage.
    pub volumes_constraint: Option<ServerTypeVolumeConstraintSizes>,
    pub per_volume_constraint: Option<ServerTypeVolumeConstraintsByType>,
    /// Bytes.
    pub scratch_storage_max_size: Option<u64>,
    /// Deprecated; euros per 30-day month. `f64` so prices round-trip
    /// exactly (`f32` would turn `0.3454` into `0.34540000557899475`).
    pub monthly_price: Option<f64>,
    /// Euros per hour.
    pub hourly_price: f64,
    pub capabilities: Option<ServerTypeCapabilities>,
    pub network: Option<ServerTypeNetwork>,
    /// Bytes per second.
    pub block_bandwidth: Option<u64>,
    pub end_of_service: bool,
    /// Not sent by every API version.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub scratch_storage_max_volumes_count: Maybe<u32>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What a server type supports.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerTypeCapabilities {
    pub block_storage: Option<bool>,
    pub boot_types: Vec<BootType>,
    pub max_file_systems: u32,
    /// Undocumented.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub placement_groups: Maybe<bool>,
    /// Undocumented.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub hot_snapshots_local_volume: Maybe<bool>,
    /// Undocumented: how many private networks (8 in recordings).
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub private_network: Maybe<u32>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// GPU of a server type.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerTypeGpuInfo {
    pub gpu_manufacturer: String,
    pub gpu_name: String,
    /// Bytes, per GPU.
    pub gpu_memory: u64,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Network capacity of a server type.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerTypeNetwork {
    pub interfaces: Vec<ServerTypeNetworkInterface>,
    /// Bits per second.
    pub sum_internal_bandwidth: Option<u64>,
    /// Bits per second.
    pub sum_internet_bandwidth: Option<u64>,
    pub ipv6_support: bool,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One network interface of a server type.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerTypeNetworkInterface {
    /// Bits per second.
    pub internal_bandwidth: Option<u64>,
    /// Bits per second.
    pub internet_bandwidth: Option<u64>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Minimum and maximum size, in bytes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerTypeVolumeConstraintSizes {
    pub min_size: u64,
    pub max_size: u64,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Per-volume limits by volume type.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerTypeVolumeConstraintsByType {
    pub l_ssd: Option<ServerTypeVolumeConstraintSizes>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Stock level of a server type (Go
/// `GetServerTypesAvailabilityResponseAvailability`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerTypeAvailability {
    pub availability: ServerTypesAvailability,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A volume type (`GET products/volumes`, keyed by type name).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeType {
    pub display_name: String,
    pub capabilities: Option<VolumeTypeCapabilities>,
    pub constraints: Option<VolumeTypeConstraints>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What a volume type supports.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeTypeCapabilities {
    pub snapshot: bool,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Size limits of a volume type, in bytes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeTypeConstraints {
    pub min: u64,
    pub max: u64,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
