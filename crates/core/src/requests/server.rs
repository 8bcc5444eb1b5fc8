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
use crate::wire::wire_structs;

wire_structs! {
    /// Query of `GET servers`.
    query ListServersQuery {
        per_page?: u32,
        page?: i32,
        organization?: String,
        project?: String,
        /// Substring match.
        name?: String,
        private_ip?: String,
        without_ip?: bool,
        with_ip?: String,
        commercial_type?: String,
        state?: ServerState,
        #[serde(with = "comma_list")]
        tags?: Vec<String>,
        private_network?: String,
        /// The Go SDK always sends `creation_date_desc`.
        order?: ListServersRequestOrder,
        #[serde(with = "comma_list")]
        private_networks?: Vec<String>,
        private_nic_mac_address?: String,
        #[serde(with = "comma_list")]
        servers?: Vec<String>,
    }

    /// A volume in a create/update server `volumes` map. The official docs
    /// describe four uses: from the image (`volume_type`, `size`, `boot`),
    /// attach existing (`id`, `name`/`volume_type`, `boot`), empty (`name`,
    /// `volume_type`, `size`), from snapshot (`base_snapshot`, `name`,
    /// `volume_type`).
    body VolumeServerTemplate {
        id?: String,
        boot?: bool,
        name?: String,
        /// Bytes, a multiple of 512.
        size?: u64,
        volume_type?: VolumeVolumeType,
        base_snapshot?: String,
        organization?: String,
        project?: String,
    }

    /// `POST servers`.
    body CreateServerRequest {
        name?: String,
        /// The API defaults it to true.
        dynamic_ip_required?: bool,
        /// Deprecated.
        routed_ip_enabled?: bool,
        commercial_type?: String,
        /// Image UUID or label (e.g. `ubuntu_noble`).
        image?: String,
        /// Keyed `"0"`, `"1"`, ….
        volumes?: BTreeMap<String, VolumeServerTemplate>,
        /// Deprecated.
        enable_ipv6?: bool,
        /// Deprecated: id of a reserved IP.
        public_ip?: String,
        /// Ids of reserved IPs.
        public_ips?: Vec<String>,
        boot_type?: BootType,
        /// Deprecated; one of `organization`/`project`.
        organization?: String,
        project?: String,
        tags?: Vec<String>,
        /// A plain id here, an object on update.
        security_group?: String,
        placement_group?: String,
        admin_password_encryption_ssh_key_id?: String,
        protected?: bool,
    }

    /// Security group reference in a server update: `{"id": …}`.
    body SecurityGroupTemplate {
        id: String,
        name?: String,
    }

    /// `PATCH servers/{server_id}`: partial update; lists and `volumes` are
    /// replaced wholesale.
    body UpdateServerRequest {
        name?: String,
        boot_type?: BootType,
        tags?: Vec<String>,
        /// Replaces the whole attachment map (`{}` detaches everything).
        volumes?: BTreeMap<String, VolumeServerTemplate>,
        dynamic_ip_required?: bool,
        /// Deprecated.
        routed_ip_enabled?: bool,
        public_ips?: Vec<String>,
        /// Deprecated.
        enable_ipv6?: bool,
        protected?: bool,
        security_group?: SecurityGroupTemplate,
        /// `null` removes the server from its placement group.
        placement_group: Maybe<String>,
        private_nics?: Vec<String>,
        /// Only while `stopped`.
        commercial_type?: String,
        /// `""` resets it and the encrypted password.
        admin_password_encryption_ssh_key_id?: String,
    }

    /// `PUT servers/{id}`: full replacement, every field sent.
    body SetServerRequest {
        name: String,
        organization: String,
        project: String,
        allowed_actions: Vec<ServerAction>,
        tags: Option<Vec<String>>,
        commercial_type: String,
        creation_date: Option<Timestamp>,
        dynamic_ip_required: bool,
        routed_ip_enabled: Option<bool>,
        enable_ipv6: Option<bool>,
        hostname: String,
        image: Option<Image>,
        protected: bool,
        private_ip: Option<String>,
        public_ip: Option<ServerIp>,
        public_ips: Vec<ServerIp>,
        modification_date: Option<Timestamp>,
        state: ServerState,
        location: Option<ServerLocation>,
        ipv6: Option<ServerIpv6>,
        boot_type: BootType,
        volumes: BTreeMap<String, Volume>,
        security_group: Option<SecurityGroupSummary>,
        maintenances: Vec<ServerMaintenance>,
        state_detail: String,
        arch: Arch,
        placement_group: Option<PlacementGroup>,
        private_nics: Vec<PrivateNic>,
        admin_password_encryption_ssh_key_id: Option<String>,
    }

    /// Per-volume snapshot parameters of a backup action.
    body ServerActionRequestVolumeBackupTemplate {
        /// `sbs_snapshot` for the SBS volumes of a server.
        volume_type?: SnapshotVolumeType,
    }

    /// `POST servers/{server_id}/action`.
    body ServerActionRequest {
        action?: ServerAction,
        /// Backup only: name of the image.
        name?: String,
        /// Backup only: keyed by volume UUID; omitted = every non-scratch volume.
        volumes?: BTreeMap<String, ServerActionRequestVolumeBackupTemplate>,
        /// `enable_routed_ip` only.
        disable_ipv6?: bool,
    }
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

wire_structs! {
    /// `POST servers/{server_id}/attach-volume`.
    body AttachServerVolumeRequest {
        volume_id?: String,
        volume_type?: AttachServerVolumeRequestVolumeType,
        boot?: bool,
    }

    /// `POST servers/{server_id}/detach-volume`.
    body DetachServerVolumeRequest {
        volume_id?: String,
    }

    /// `POST servers/{server_id}/attach-filesystem`.
    body AttachServerFileSystemRequest {
        filesystem_id?: String,
    }

    /// `POST servers/{server_id}/detach-filesystem`.
    body DetachServerFileSystemRequest {
        filesystem_id?: String,
    }
}
