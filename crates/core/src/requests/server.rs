//! Server bodies and queries: create, update, set, actions, volume and
//! filesystem attachment.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::{
    Arch, AttachServerVolumeRequestVolumeType, BootType, ListServersRequestOrder, ServerAction,
    ServerState, SnapshotVolumeType, VolumeVolumeType,
};
use crate::maybe::Maybe;
use crate::requests::comma_list;
use crate::resources::{
    Image, PlacementGroup, PrivateNic, SecurityGroupSummary, ServerIp, ServerIpv6, ServerLocation,
    ServerMaintenance, Volume,
};
use crate::time::Timestamp;

/// Query of `GET servers`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ListServersQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Substring match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub without_ip: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub with_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commercial_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<ServerState>,
    #[serde(skip_serializing_if = "Option::is_none", with = "comma_list")]
    pub tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_network: Option<String>,
    /// The Go SDK always sends `creation_date_desc`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<ListServersRequestOrder>,
    #[serde(skip_serializing_if = "Option::is_none", with = "comma_list")]
    pub private_networks: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_nic_mac_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", with = "comma_list")]
    pub servers: Option<Vec<String>>,
}

/// A volume in a create/update server `volumes` map. The official docs
/// describe four uses: from the image (`volume_type`, `size`, `boot`),
/// attach existing (`id`, `name`/`volume_type`, `boot`), empty (`name`,
/// `volume_type`, `size`), from snapshot (`base_snapshot`, `name`,
/// `volume_type`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeServerTemplate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Bytes, a multiple of 512.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<VolumeVolumeType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_snapshot: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST servers`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateServerRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The API defaults it to true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_ip_required: Option<bool>,
    /// Deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routed_ip_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commercial_type: Option<String>,
    /// Image UUID or label (e.g. `ubuntu_noble`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Keyed `"0"`, `"1"`, ….
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, VolumeServerTemplate>>,
    /// Deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_ipv6: Option<bool>,
    /// Deprecated: id of a reserved IP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<String>,
    /// Ids of reserved IPs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_ips: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_type: Option<BootType>,
    /// Deprecated; one of `organization`/`project`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// A plain id here, an object on update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_password_encryption_ssh_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Security group reference in a server update: `{"id": …}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityGroupTemplate {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PATCH servers/{server_id}`: partial update; lists and `volumes` are
/// replaced wholesale.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateServerRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_type: Option<BootType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Replaces the whole attachment map (`{}` detaches everything).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, VolumeServerTemplate>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_ip_required: Option<bool>,
    /// Deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routed_ip_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_ips: Option<Vec<String>>,
    /// Deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_ipv6: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_group: Option<SecurityGroupTemplate>,
    /// `null` removes the server from its placement group.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub placement_group: Maybe<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_nics: Option<Vec<String>>,
    /// Only while `stopped`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commercial_type: Option<String>,
    /// `""` resets it and the encrypted password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_password_encryption_ssh_key_id: Option<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PUT servers/{id}`: full replacement, every field sent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SetServerRequest {
    pub name: String,
    pub organization: String,
    pub project: String,
    pub allowed_actions: Vec<ServerAction>,
    pub tags: Option<Vec<String>>,
    pub commercial_type: String,
    pub creation_date: Option<Timestamp>,
    pub dynamic_ip_required: bool,
    pub routed_ip_enabled: Option<bool>,
    pub enable_ipv6: Option<bool>,
    pub hostname: String,
    pub image: Option<Image>,
    pub protected: bool,
    pub private_ip: Option<String>,
    pub public_ip: Option<ServerIp>,
    pub public_ips: Vec<ServerIp>,
    pub modification_date: Option<Timestamp>,
    pub state: ServerState,
    pub location: Option<ServerLocation>,
    pub ipv6: Option<ServerIpv6>,
    pub boot_type: BootType,
    pub volumes: BTreeMap<String, Volume>,
    pub security_group: Option<SecurityGroupSummary>,
    pub maintenances: Vec<ServerMaintenance>,
    pub state_detail: String,
    pub arch: Arch,
    pub placement_group: Option<PlacementGroup>,
    pub private_nics: Vec<PrivateNic>,
    pub admin_password_encryption_ssh_key_id: Option<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Per-volume snapshot parameters of a backup action.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerActionRequestVolumeBackupTemplate {
    /// The API also accepts `sbs_snapshot` (kept as `Other`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<SnapshotVolumeType>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST servers/{server_id}/action`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerActionRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<ServerAction>,
    /// Backup only: name of the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Backup only: keyed by volume UUID; omitted = every non-scratch volume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, ServerActionRequestVolumeBackupTemplate>>,
    /// `enable_routed_ip` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_ipv6: Option<bool>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ServerActionRequest {
    /// A body with just `action`.
    pub fn new(action: ServerAction) -> Self {
        ServerActionRequest {
            action: Some(action),
            ..Default::default()
        }
    }
}

/// `POST servers/{server_id}/attach-volume`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AttachServerVolumeRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<AttachServerVolumeRequestVolumeType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot: Option<bool>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST servers/{server_id}/detach-volume`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DetachServerVolumeRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_id: Option<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST servers/{server_id}/attach-filesystem`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AttachServerFileSystemRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem_id: Option<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST servers/{server_id}/detach-filesystem`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DetachServerFileSystemRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem_id: Option<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
