//! A server as the API shows it.

use std::collections::BTreeMap;

use fleet_core::v2alpha1;
use fleet_core::{
    BootType, Maybe, SecurityGroupSummary, ServerFilesystem, ServerIp, ServerIpIpFamily,
    ServerIpProvisioningMode, ServerIpState, ServerState, VolumeServer, VolumeServerVolumeType,
};
use serde_json::{Map, Value};

use super::{Server, allowed_actions, shown_state};
use crate::state::block::BlockVolume;
use crate::state::{World, ts, zone};

/// The short `server.volumes` entry of a Block volume: no name, size or
/// server, and `state` reads `available` even while attached (recorded).
fn block_entry(v: &BlockVolume) -> VolumeServer {
    VolumeServer {
        id: v.id.to_string(),
        volume_type: VolumeServerVolumeType::SbsVolume,
        state: Maybe::Value("available".into()),
        boot: v.boot,
        zone: zone(&v.owner.zone),
        ..VolumeServer::default()
    }
}

/// A server as the API shows it.
pub fn render(w: &World, s: &Server) -> fleet_core::Server {
    let volumes: BTreeMap<String, VolumeServer> = s
        .volumes
        .iter()
        .filter_map(|(idx, vid)| {
            let entry = match w.volumes.get(vid) {
                Some(v) => crate::state::volumes::render_in_server(v, s),
                None => block_entry(w.block_volumes.get(vid)?),
            };
            Some((idx.to_string(), entry))
        })
        .collect();
    let mut public_ips: Vec<ServerIp> = s
        .public_ips
        .iter()
        .filter_map(|id| w.ips.get(id))
        .map(crate::state::ips::render_server_ip)
        .collect();
    if let Some((id, addr)) = &s.dynamic_ip {
        public_ips.push(ServerIp {
            id: id.to_string(),
            address: addr.clone(),
            dynamic: true,
            gateway: Some("62.210.0.1".into()),
            netmask: "32".into(),
            family: ServerIpIpFamily::Inet,
            provisioning_mode: ServerIpProvisioningMode::Dhcp,
            tags: Vec::new(),
            state: ServerIpState::Attached,
            ipam_id: Some(id.to_string()),
            extra: Map::new(),
        });
    }
    let public_ip = public_ips
        .iter()
        .find(|ip| ip.family == ServerIpIpFamily::Inet)
        .cloned();
    let security_group = w
        .security_groups
        .get(&s.security_group)
        .map(|g| SecurityGroupSummary {
            id: g.id.to_string(),
            name: g.name.clone(),
            extra: Map::new(),
        });
    let placement_group = s
        .placement_group
        .and_then(|id| w.placement_groups.get(&id))
        .map(crate::state::placement_groups::render);
    let mut nics: Vec<&crate::state::PrivateNic> = w
        .private_nics
        .values()
        .filter(|n| n.server == Some(s.id))
        .collect();
    nics.sort_by_key(|n| n.seq);
    let end_of_service = w
        .catalog
        .server_type(&s.owner.zone, &s.commercial_type)
        .and_then(|t| t.get("end_of_service"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let state = shown_state(w, s);
    // Windows servers get an encrypted admin password once booted; the
    // value appears only once set (observed), never as null.
    let encrypted = match &s.admin_key {
        Some(_) if s.state == ServerState::Running => {
            Maybe::Value(format!("emulated-encrypted-password-{}", s.id.simple()))
        }
        _ => Maybe::Absent,
    };
    fleet_core::Server {
        id: s.id.to_string(),
        name: s.name.clone(),
        arch: s.arch.as_str().into(),
        commercial_type: s.commercial_type.clone(),
        boot_type: s.boot_type.clone(),
        organization: s.owner.organization.clone(),
        project: s.owner.project.clone(),
        hostname: s.hostname.clone(),
        image: s.image.clone(),
        volumes,
        tags: s.tags.clone(),
        state: state.clone(),
        protected: s.protected,
        state_detail: s.state_detail.clone(),
        public_ip,
        public_ips,
        mac_address: s.mac_address.clone(),
        routed_ip_enabled: Some(s.routed_ip_enabled),
        ipv6: None,
        extra_networks: Vec::new(),
        dynamic_ip_required: s.dynamic_ip_required,
        enable_ipv6: Some(s.enable_ipv6),
        private_ip: None,
        creation_date: Some(ts(s.created)),
        modification_date: Some(ts(s.modified)),
        bootscript: None,
        security_group,
        location: s.location.clone(),
        maintenances: Vec::new(),
        allowed_actions: allowed_actions(state).to_vec(),
        placement_group,
        private_nics: nics
            .iter()
            .map(|n| crate::state::private_nics::render(n))
            .collect(),
        zone: zone(&s.owner.zone),
        filesystems: s
            .filesystems
            .iter()
            .map(|(id, st)| ServerFilesystem {
                filesystem_id: id.clone(),
                state: st.as_str().into(),
                extra: Map::new(),
            })
            .collect(),
        end_of_service,
        admin_password_encryption_ssh_key_id: s
            .admin_key
            .clone()
            .map_or(Maybe::Absent, Maybe::Value),
        admin_password_encrypted_value: encrypted,
        dns: if s.routed_ip_enabled {
            Maybe::Value(format!("{}.pub.instances.scw.cloud", s.id))
        } else {
            Maybe::Null
        },
        extra: Map::new(),
    }
}

/// A server as Instance v2alpha1 shows it (what the attach and detach of
/// a private network interface answer): the v1 rendering in the v2alpha1
/// words ([`fleet_core::v2alpha1`] maps them), timestamps with `Z`.
pub fn render_v2(w: &World, s: &Server) -> v2alpha1::Server {
    let v1 = render(w, s);
    let boot_volume_id = v1
        .volumes
        .values()
        .find(|v| v.boot)
        .or_else(|| v1.volumes.get("0"))
        .map(|v| v.id.clone());
    v2alpha1::Server {
        project_id: v1.project,
        id: v1.id,
        name: v1.name,
        tags: v1.tags,
        server_type: v1.commercial_type,
        placement_group_id: v1.placement_group.map(|g| g.id),
        status: v2alpha1::ServerStatus::from_v1(&v1.state),
        volumes: v1
            .volumes
            .values()
            .map(|v| v2alpha1::ServerVolume {
                id: v.id.clone(),
                volume_type: v2alpha1::ServerVolumeType::from_v1(&v.volume_type),
                extra: Map::new(),
            })
            .collect(),
        architecture: v2alpha1::ServerArchitecture::from_v1(&v1.arch),
        created_at: crate::state::block::ts(s.created),
        updated_at: crate::state::block::ts(s.modified),
        private_network_interfaces: v1
            .private_nics
            .iter()
            .map(|n| v2alpha1::ServerPrivateNetworkInterface {
                id: n.id.clone(),
                private_network_id: n.private_network_id.clone(),
                mac_address: n.mac_address.clone(),
                status: n.state.as_str().into(),
                ip_ids: n.ipam_ip_ids.clone(),
                extra: Map::new(),
            })
            .collect(),
        rescue_mode: v1.boot_type == BootType::Rescue,
        boot_volume_id,
        status_detail: v1.state_detail,
        filesystems: v1
            .filesystems
            .iter()
            .map(|f| v2alpha1::ServerFilesystem {
                id: f.filesystem_id.clone(),
                status: v2alpha1::ServerFilesystemStatus::from_v1(&f.state),
                extra: Map::new(),
            })
            .collect(),
        zone: v1.zone,
        extra: Map::new(),
    }
}
