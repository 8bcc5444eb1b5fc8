//! Server (Instance) and the objects nested in it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::{
    Arch, BootType, ServerAction, ServerFilesystemState, ServerIpIpFamily,
    ServerIpProvisioningMode, ServerIpState, ServerState, VolumeServerState,
    VolumeServerVolumeType,
};
use crate::maybe::Maybe;
use crate::resources::{Bootscript, Image, PlacementGroup, PrivateNic, SecurityGroupSummary};
use crate::time::Timestamp;
use crate::zone::Zone;

/// An Instance.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub arch: Arch,
    /// e.g. `DEV1-S`, `POP2-2C-8G`.
    pub commercial_type: String,
    pub boot_type: BootType,
    pub organization: String,
    pub project: String,
    pub hostname: String,
    pub image: Option<Image>,
    /// Attached volumes keyed `"0"`, `"1"`, …; `"0"` is the root volume
    /// unless another entry has `boot: true`.
    pub volumes: BTreeMap<String, VolumeServer>,
    pub tags: Vec<String>,
    pub state: ServerState,
    pub protected: bool,
    /// Free text such as `booting kernel`, `stopped in place`, `terminating`.
    pub state_detail: String,
    /// Deprecated in favour of `public_ips`.
    pub public_ip: Option<ServerIp>,
    pub public_ips: Vec<ServerIp>,
    pub mac_address: String,
    /// Deprecated.
    pub routed_ip_enabled: Option<bool>,
    /// Deprecated.
    pub ipv6: Option<ServerIpv6>,
    /// Undocumented, always `[]` in recordings.
    pub extra_networks: Vec<Value>,
    pub dynamic_ip_required: bool,
    /// Deprecated.
    pub enable_ipv6: Option<bool>,
    /// Deprecated, `null` with routed IPs.
    pub private_ip: Option<String>,
    pub creation_date: Option<Timestamp>,
    pub modification_date: Option<Timestamp>,
    /// Undocumented legacy field, always `null` in recordings.
    pub bootscript: Option<Bootscript>,
    pub security_group: Option<SecurityGroupSummary>,
    /// `null` while the server is not on a hypervisor.
    pub location: Option<ServerLocation>,
    pub maintenances: Vec<ServerMaintenance>,
    pub allowed_actions: Vec<ServerAction>,
    pub placement_group: Option<PlacementGroup>,
    pub private_nics: Vec<PrivateNic>,
    pub zone: Zone,
    pub filesystems: Vec<ServerFilesystem>,
    pub end_of_service: bool,
    /// Only sent by some API versions; `""` resets it on update.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub admin_password_encryption_ssh_key_id: Maybe<String>,
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub admin_password_encrypted_value: Maybe<String>,
    /// `<server_id>.pub.instances.scw.cloud` with routed IPs; not always sent.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub dns: Maybe<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{id, name}` reference to a server.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSummary {
    pub id: String,
    pub name: String,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A public IP as seen from its server.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerIp {
    pub id: String,
    pub address: String,
    pub dynamic: bool,
    pub gateway: Option<String>,
    /// CIDR netmask, e.g. `"32"`.
    pub netmask: String,
    pub family: ServerIpIpFamily,
    pub provisioning_mode: ServerIpProvisioningMode,
    pub tags: Vec<String>,
    pub state: ServerIpState,
    /// IPAM id of the address; `null` when it does not come from IPAM.
    pub ipam_id: Option<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Deprecated IPv6 block of a server.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerIpv6 {
    pub address: String,
    pub gateway: String,
    pub netmask: String,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Where a running server is hosted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerLocation {
    pub cluster_id: String,
    pub hypervisor_id: String,
    pub node_id: String,
    pub platform_id: String,
    /// The zone name as a plain string, e.g. `fr-par-1`.
    pub zone_id: String,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A planned maintenance.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerMaintenance {
    pub reason: String,
    pub start_date: Option<Timestamp>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An attached file system.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerFilesystem {
    pub filesystem_id: String,
    pub state: ServerFilesystemState,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An entry of `server.volumes`.
///
/// `l_ssd`/`scratch` entries are full volume objects, while `sbs_volume`
/// entries only carry `id`, `boot`, `volume_type`, `zone` and sometimes
/// `state`; hence the many [`Maybe`] fields.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeServer {
    pub id: String,
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub name: Maybe<String>,
    /// Deprecated, `null` when sent.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub export_uri: Maybe<String>,
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub organization: Maybe<String>,
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub project: Maybe<String>,
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub server: Maybe<ServerSummary>,
    /// Bytes.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub size: Maybe<u64>,
    pub volume_type: VolumeServerVolumeType,
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub creation_date: Maybe<Timestamp>,
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub modification_date: Maybe<Timestamp>,
    /// Also `deleting` (as `Other`) during terminate.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub state: Maybe<VolumeServerState>,
    /// Undocumented, sent on local volumes.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub tags: Maybe<Vec<String>>,
    pub boot: bool,
    pub zone: Zone,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
