//! The one place a request meets its handler: `fleet_core::catalog` has
//! already resolved the path to an [`Operation`] (so a path exists in one
//! table, and every catalog operation must have an arm here), and this
//! match hands the typed path parameters to the resource module.

use fleet_core::block::BlockResource;
use fleet_core::catalog::Api;
use fleet_core::{Method, Operation};

use super::{
    World, block, images, ips, placement_groups, private_nics, products, security_groups, servers,
    snapshots, volumes,
};
use crate::errors::{ApiResult, Error};
use crate::http::{Req, Resp};
use crate::state::Ctx;
use crate::util::parse_uuid;

/// Serve one catalog operation.
pub fn dispatch(w: &mut World, ctx: &Ctx, op: Operation, req: &Req) -> ApiResult<Resp> {
    check_locked(w, op, req)?;
    use Operation as Op;
    match op {
        Op::ListServersTypes => products::list_server_types(w, ctx, req),
        Op::GetServerTypesAvailability => products::server_types_availability(w, ctx, req),
        Op::ListVolumesTypes => products::list_volume_types(w, req),
        Op::GetDashboard => products::dashboard(w, ctx, req),

        Op::ListServers => servers::list(w, ctx, req),
        Op::CreateServer => servers::create::create(w, ctx, req),
        Op::GetServer => servers::get_one(w, ctx, req.id("server_id")?),
        Op::UpdateServer => servers::update::update(w, ctx, req, req.id("server_id")?, false),
        Op::SetServer => servers::update::update(w, ctx, req, req.id("server_id")?, true),
        Op::DeleteServer => servers::delete(w, ctx, req.id("server_id")?),
        Op::GetServerCompatibleTypes => servers::compatible_types(w, ctx, req.id("server_id")?),
        Op::ListServerActions => servers::actions::list(w, ctx, req.id("server_id")?),
        Op::ServerAction => servers::actions::action(w, ctx, req, req.id("server_id")?),
        Op::ListServerUserData => servers::user_data::list(w, ctx, req.id("server_id")?),
        Op::GetServerUserData => {
            servers::user_data::get_value(w, ctx, req.id("server_id")?, req.param("key"))
        }
        Op::SetServerUserData => {
            servers::user_data::set(w, ctx, req, req.id("server_id")?, req.param("key"))
        }
        Op::DeleteServerUserData => {
            servers::user_data::delete(w, ctx, req.id("server_id")?, req.param("key"))
        }
        Op::AttachServerVolume => servers::attach::attach(w, ctx, req, req.id("server_id")?),
        Op::DetachServerVolume => servers::attach::detach(w, ctx, req, req.id("server_id")?),
        Op::AttachServerFileSystem => {
            servers::filesystems::change(w, ctx, req, req.id("server_id")?, true)
        }
        Op::DetachServerFileSystem => {
            servers::filesystems::change(w, ctx, req, req.id("server_id")?, false)
        }

        Op::ListImages => images::list(w, ctx, req),
        Op::GetImage => images::get_one(w, ctx, req.id("image_id")?),
        Op::CreateImage => images::create(w, ctx, req),
        Op::UpdateImage | Op::SetImage => images::update(w, ctx, req, req.id("image_id")?),
        Op::DeleteImage => images::delete(w, ctx, req.id("image_id")?),

        Op::ListSnapshots => snapshots::list(w, ctx, req),
        Op::CreateSnapshot => snapshots::create(w, ctx, req),
        Op::GetSnapshot => snapshots::get_one(w, ctx, req.id("snapshot_id")?),
        Op::UpdateSnapshot | Op::SetSnapshot => {
            snapshots::update(w, ctx, req, req.id("snapshot_id")?)
        }
        Op::DeleteSnapshot => snapshots::delete(w, ctx, req.id("snapshot_id")?),
        Op::ExportSnapshot => snapshots::export(w, ctx, req, req.id("snapshot_id")?),

        Op::ListVolumes => volumes::list(w, ctx, req),
        Op::CreateVolume => volumes::create(w, ctx, req),
        Op::GetVolume => volumes::get_one(w, ctx, req.id("volume_id")?),
        Op::UpdateVolume => volumes::update(w, ctx, req, req.id("volume_id")?),
        Op::DeleteVolume => volumes::delete(w, ctx, req.id("volume_id")?),
        Op::PlanBlockMigration => volumes::plan(w, ctx, req),
        Op::ApplyBlockMigration => volumes::apply(w, ctx, req),
        Op::CheckBlockMigrationOrganizationQuotas => volumes::check_quotas(ctx, req),

        Op::ListSecurityGroups => security_groups::list(w, ctx, req),
        Op::CreateSecurityGroup => security_groups::create(w, ctx, req),
        Op::GetSecurityGroup => security_groups::get_one(w, ctx, sg_id(req)?),
        Op::UpdateSecurityGroup | Op::SetSecurityGroup => {
            security_groups::update(w, ctx, req, sg_id(req)?)
        }
        Op::DeleteSecurityGroup => security_groups::delete(w, ctx, sg_id(req)?),
        Op::ListDefaultSecurityGroupRules => security_groups::list_default_rules(ctx, req),
        Op::ListSecurityGroupRules => security_groups::list_rules(w, ctx, req, sg_id(req)?),
        Op::CreateSecurityGroupRule => security_groups::create_rule(w, ctx, req, sg_id(req)?),
        Op::SetSecurityGroupRules => security_groups::set_rules(w, ctx, req, sg_id(req)?),
        Op::GetSecurityGroupRule
        | Op::UpdateSecurityGroupRule
        | Op::SetSecurityGroupRule
        | Op::DeleteSecurityGroupRule => {
            let rule = req.param("security_group_rule_id");
            security_groups::rule(w, ctx, req, sg_id(req)?, rule)
        }

        Op::ListPlacementGroups => placement_groups::list(w, ctx, req),
        Op::CreatePlacementGroup => placement_groups::create(w, ctx, req),
        Op::GetPlacementGroup => placement_groups::get_one(w, ctx, pg_id(req)?),
        Op::UpdatePlacementGroup => placement_groups::update(w, ctx, req, pg_id(req)?, false),
        Op::SetPlacementGroup => placement_groups::update(w, ctx, req, pg_id(req)?, true),
        Op::DeletePlacementGroup => placement_groups::delete(w, ctx, pg_id(req)?),
        Op::GetPlacementGroupServers => placement_groups::servers(w, ctx, req, pg_id(req)?),
        Op::SetPlacementGroupServers | Op::UpdatePlacementGroupServers => {
            placement_groups::set_servers(w, ctx, req, pg_id(req)?)
        }

        Op::ListIps => ips::list(w, ctx, req),
        Op::CreateIp => ips::create(w, ctx, req),
        Op::GetIp => ips::get_one(w, ctx, req.param("ip")),
        Op::UpdateIp => ips::update(w, ctx, req, req.param("ip")),
        Op::DeleteIp => ips::delete(w, ctx, req.param("ip")),
        Op::ReleaseIpToIpam => ips::delete(w, ctx, req.param("ip_id")),

        Op::ListPrivateNics => private_nics::list(w, ctx, req, req.id("server_id")?),
        Op::CreatePrivateNic => private_nics::create(w, ctx, req, req.id("server_id")?),
        Op::GetPrivateNic | Op::UpdatePrivateNic | Op::DeletePrivateNic => {
            let server = req.id("server_id")?;
            private_nics::one(w, ctx, req, server, req.path_id("private_nic_id")?)
        }

        Op::V2Alpha1ListPrivateNetworkInterfaces => private_nics::v2_list(w, ctx, req),
        Op::V2Alpha1CreatePrivateNetworkInterface => private_nics::v2_create(w, ctx, req),
        Op::V2Alpha1GetPrivateNetworkInterface => private_nics::v2_get(w, ctx, nic_id(req)?),
        Op::V2Alpha1UpdatePrivateNetworkInterface => {
            private_nics::v2_update(w, ctx, req, nic_id(req)?)
        }
        Op::V2Alpha1DeletePrivateNetworkInterface => private_nics::v2_delete(w, ctx, nic_id(req)?),
        Op::V2Alpha1AttachServerPrivateNetworkInterface => {
            private_nics::v2_attach(w, ctx, req, req.id("server_id")?)
        }
        Op::V2Alpha1DetachServerPrivateNetworkInterface => {
            private_nics::v2_detach(w, ctx, req, req.id("server_id")?)
        }
        Op::V2Alpha1ListPlacementGroups => placement_groups::v2_list(w, ctx, req),
        Op::V2Alpha1CreatePlacementGroup => placement_groups::v2_create(w, ctx, req),
        Op::V2Alpha1GetPlacementGroup => placement_groups::v2_get(w, ctx, pg_id(req)?),
        Op::V2Alpha1UpdatePlacementGroup => placement_groups::v2_update(w, ctx, req, pg_id(req)?),
        Op::V2Alpha1DeletePlacementGroup => placement_groups::delete(w, ctx, pg_id(req)?),

        Op::BlockListVolumeTypes => block::volume_types::list(req),
        Op::BlockListVolumes => block::volumes::list(w, ctx, req),
        Op::BlockCreateVolume => block::volumes::create(w, ctx, req),
        Op::BlockGetVolume => block::volumes::get_one(w, ctx, req, req.id("volume_id")?),
        Op::BlockUpdateVolume => block::volumes::update(w, ctx, req, req.id("volume_id")?),
        Op::BlockDeleteVolume => block::volumes::delete(w, ctx, req.id("volume_id")?),
        Op::BlockListSnapshots => block::snapshots::list(w, ctx, req),
        Op::BlockCreateSnapshot => block::snapshots::create(w, ctx, req),
        Op::BlockImportSnapshotFromObjectStorage | Op::BlockImportSnapshotFromS3 => {
            block::snapshots::import(w, ctx, req)
        }
        Op::BlockExportSnapshotToObjectStorage => {
            block::snapshots::export(w, ctx, req, req.id("snapshot_id")?)
        }
        Op::BlockGetSnapshot => block::snapshots::get_one(w, ctx, req, req.id("snapshot_id")?),
        Op::BlockUpdateSnapshot => block::snapshots::update(w, ctx, req, req.id("snapshot_id")?),
        Op::BlockDeleteSnapshot => block::snapshots::delete(w, ctx, req.id("snapshot_id")?),
    }
}

fn sg_id(req: &Req) -> ApiResult<uuid::Uuid> {
    req.id("security_group_id")
}

fn pg_id(req: &Req) -> ApiResult<uuid::Uuid> {
    req.id("placement_group_id")
}

fn nic_id(req: &Req) -> ApiResult<uuid::Uuid> {
    req.id("private_network_interface_id")
}

/// Refuse any change to a locked resource named in the path: the
/// collection is the first literal segment after the zone (named as its
/// API names it), the resource the first parameter after it.
fn check_locked(w: &World, op: Operation, req: &Req) -> ApiResult<()> {
    let endpoint = op.endpoint();
    if endpoint.method == Method::Get || w.locked.is_empty() {
        return Ok(());
    }
    let block = endpoint.api() == Api::Block;
    let kind = match endpoint.path.split('/').nth(5) {
        Some("volumes") if block => BlockResource::Volume.as_str(),
        Some("snapshots") if block => BlockResource::Snapshot.as_str(),
        Some("servers") => "instance_server",
        Some("volumes") => "instance_volume",
        Some("snapshots") => "instance_snapshot",
        Some("images") => "instance_image",
        Some("ips") => "instance_ip",
        Some("security_groups") => "instance_security_group",
        Some("placement_groups" | "placement-groups") => "instance_placement_group",
        Some("private-network-interfaces") => "instance_private_nic",
        _ => return Ok(()),
    };
    match req.first_id().and_then(parse_uuid) {
        Some(id) if w.locked.contains(&id) => Err(Error::locked(kind, id.to_string())),
        _ => Ok(()),
    }
}
