//! The v2alpha1 server, as the attach and detach of a private network
//! interface answer it (`POST servers/{server_id}/attach-private-network-
//! interface`, `…/detach-private-network-interface`). Not recorded: the
//! fields are the Go SDK's `instance/v2alpha1.Server`; `extra` keeps
//! whatever else the API sends. The words that differ from v1 are mapped
//! here once (`from_v1`), so every shower of a v1 server in the v2alpha1
//! shape says the same.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::PrivateNetworkInterfaceStatus;
use crate::enums::{Arch, ServerFilesystemState, ServerState, VolumeServerVolumeType, api_enum};
use crate::time::Timestamp;
use crate::wire::wire_structs;
use crate::zone::Zone;

api_enum! {
    /// Power status of a server (v1: `state`).
    ServerStatus default UnknownStatus {
        UnknownStatus = "unknown_status",
        Started = "started",
        Stopped = "stopped",
        Paused = "paused",
        Starting = "starting",
        Stopping = "stopping",
        Pausing = "pausing",
        Locked = "locked",
        Rebooting = "rebooting",
    }
}

impl ServerStatus {
    /// The v2alpha1 word for a v1 state: `running` is `started` and v1's
    /// `stopped in place` (powered off, resources kept) is `paused`.
    pub fn from_v1(state: &ServerState) -> Self {
        match state {
            ServerState::Running => Self::Started,
            ServerState::Stopped => Self::Stopped,
            ServerState::StoppedInPlace => Self::Paused,
            ServerState::Starting => Self::Starting,
            ServerState::Stopping => Self::Stopping,
            ServerState::Locked => Self::Locked,
            ServerState::Other(other) => Self::Other(other.clone()),
        }
    }
}

api_enum! {
    /// CPU architecture of a server (v1: `arch`).
    ServerArchitecture default UnknownArchitecture {
        UnknownArchitecture = "unknown_architecture",
        X86_64 = "x86_64",
        Aarch64 = "aarch64",
    }
}

impl ServerArchitecture {
    /// v1's `arm64` is `aarch64`; v1's 32-bit `arm` has no v2alpha1 word.
    pub fn from_v1(arch: &Arch) -> Self {
        match arch {
            Arch::X86_64 => Self::X86_64,
            Arch::Arm64 => Self::Aarch64,
            Arch::UnknownArch | Arch::Arm => Self::UnknownArchitecture,
            Arch::Other(other) => Self::Other(other.clone()),
        }
    }
}

api_enum! {
    /// Type of a server's volume (v1: `volume_type` of `server.volumes`).
    ServerVolumeType default UnknownVolumeType {
        UnknownVolumeType = "unknown_volume_type",
        LSsd = "l_ssd",
        Sbs = "sbs",
        Scratch = "scratch",
    }
}

impl ServerVolumeType {
    /// v1's `sbs_volume` is `sbs`; the deprecated `b_ssd` has no word.
    pub fn from_v1(volume_type: &VolumeServerVolumeType) -> Self {
        match volume_type {
            VolumeServerVolumeType::LSsd => Self::LSsd,
            VolumeServerVolumeType::SbsVolume => Self::Sbs,
            VolumeServerVolumeType::Scratch => Self::Scratch,
            VolumeServerVolumeType::BSsd => Self::UnknownVolumeType,
            VolumeServerVolumeType::Other(other) => Self::Other(other.clone()),
        }
    }
}

api_enum! {
    /// Status of a filesystem attachment (v1: `state`, same words but
    /// the unknown one).
    ServerFilesystemStatus default UnknownStatus {
        UnknownStatus = "unknown_status",
        Attaching = "attaching",
        Available = "available",
        Detaching = "detaching",
    }
}

impl ServerFilesystemStatus {
    /// The same word, `unknown_state` read as `unknown_status`.
    pub fn from_v1(state: &ServerFilesystemState) -> Self {
        match state {
            ServerFilesystemState::UnknownState => Self::UnknownStatus,
            other => Self::from_wire(other.as_str()),
        }
    }
}

wire_structs! {
    /// A v2alpha1 server.
    body Server {
        project_id: String,
        id: String,
        name: String,
        tags: Vec<String>,
        /// v1: `commercial_type`.
        server_type: String,
        /// `null` outside any group.
        placement_group_id: Option<String>,
        status: ServerStatus,
        volumes: Vec<ServerVolume>,
        architecture: ServerArchitecture,
        created_at: Option<Timestamp>,
        updated_at: Option<Timestamp>,
        private_network_interfaces: Vec<ServerPrivateNetworkInterface>,
        rescue_mode: bool,
        /// `null` without a boot volume.
        boot_volume_id: Option<String>,
        status_detail: String,
        filesystems: Vec<ServerFilesystem>,
        zone: Zone,
    }

    /// An entry of `server.volumes`.
    body ServerVolume {
        id: String,
        volume_type: ServerVolumeType,
    }

    /// An entry of `server.private_network_interfaces`.
    body ServerPrivateNetworkInterface {
        id: String,
        private_network_id: String,
        mac_address: String,
        status: PrivateNetworkInterfaceStatus,
        ip_ids: Vec<String>,
    }

    /// An entry of `server.filesystems`.
    body ServerFilesystem {
        id: String,
        status: ServerFilesystemStatus,
    }

    /// `POST servers/{server_id}/attach-private-network-interface`.
    body AttachServerPrivateNetworkInterfaceRequest {
        private_network_interface_id?: String,
    }

    /// `POST servers/{server_id}/detach-private-network-interface`.
    body DetachServerPrivateNetworkInterfaceRequest {
        private_network_interface_id?: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v1_words_map_to_v2alpha1_ones() {
        assert_eq!(
            ServerStatus::from_v1(&ServerState::Running),
            ServerStatus::Started
        );
        assert_eq!(
            ServerStatus::from_v1(&ServerState::StoppedInPlace).as_str(),
            "paused"
        );
        assert_eq!(
            ServerArchitecture::from_v1(&Arch::Arm64).as_str(),
            "aarch64"
        );
        assert_eq!(
            ServerVolumeType::from_v1(&VolumeServerVolumeType::SbsVolume).as_str(),
            "sbs"
        );
        assert_eq!(
            ServerFilesystemStatus::from_v1(&ServerFilesystemState::UnknownState).as_str(),
            "unknown_status"
        );
        assert_eq!(
            ServerFilesystemStatus::from_v1(&ServerFilesystemState::Detaching),
            ServerFilesystemStatus::Detaching
        );
    }

    #[test]
    fn a_server_round_trips_with_nulls_and_unknown_keys() {
        let value = json!({"project_id": "p", "id": "s", "name": "n", "tags": [],
            "server_type": "DEV1-S", "placement_group_id": null, "status": "started",
            "volumes": [{"id": "v", "volume_type": "sbs"}], "architecture": "x86_64",
            "created_at": "2026-07-30T12:56:03.039693Z", "updated_at": null,
            "private_network_interfaces": [{"id": "n", "private_network_id": "pn",
                "mac_address": "02:00:00:00:00:01", "status": "available", "ip_ids": [],
                "security_group_id": "sg"}],
            "rescue_mode": false, "boot_volume_id": "v", "status_detail": "",
            "filesystems": [], "zone": "fr-par-1", "windows_rdp_password": null});
        let server: Server = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(server.status, ServerStatus::Started);
        assert_eq!(
            server.private_network_interfaces[0].extra["security_group_id"],
            "sg"
        );
        assert_eq!(serde_json::to_value(&server).unwrap(), value);
    }
}
