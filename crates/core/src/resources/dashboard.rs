//! Per-zone resource counters (`GET dashboard`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Resource counters of a zone.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Dashboard {
    pub volumes_count: u32,
    pub running_servers_count: u32,
    pub servers_by_types: BTreeMap<String, u32>,
    pub images_count: u32,
    pub snapshots_count: u32,
    pub servers_count: u32,
    pub ips_count: u32,
    pub security_groups_count: u32,
    pub ips_unused: u32,
    pub volumes_l_ssd_count: u32,
    /// Bytes.
    pub volumes_l_ssd_total_size: u64,
    pub private_nics_count: u32,
    pub placement_groups_count: u32,
    pub volumes_scratch_count: u32,
    /// Deprecated.
    pub volumes_b_ssd_count: Option<u32>,
    /// Deprecated; bytes.
    pub volumes_b_ssd_total_size: Option<u64>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
