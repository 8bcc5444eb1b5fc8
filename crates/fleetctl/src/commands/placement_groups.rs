//! `placement-groups`: the PlacementGroups service and the groups' members.

use clap::Subcommand;
use fleet_proto::v1;

use super::{Changes, ReplaceFile, confirm, list, show};
use crate::args::{ListZone, Mutation, Paging, Zone};
use crate::ctx::Ctx;
use crate::error::CliError;

#[derive(Subcommand, Debug)]
pub enum PlacementGroupsCmd {
    /// List placement groups (--zone all for every zone)
    List {
        #[command(flatten)]
        zone: ListZone,
        #[arg(long)]
        name: Option<String>,
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long)]
        project: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show a placement group
    Get {
        #[command(flatten)]
        zone: Zone,
        placement_group_id: String,
    },
    /// Create a placement group
    Create {
        #[command(flatten)]
        zone: Zone,
        #[arg(long)]
        name: String,
        /// optional (default) or enforced
        #[arg(long)]
        policy_mode: Option<String>,
        /// max_availability (default) or low_latency
        #[arg(long)]
        policy_type: Option<String>,
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long)]
        project: Option<String>,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Change some fields of a placement group
    Update {
        #[command(flatten)]
        zone: Zone,
        placement_group_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        policy_mode: Option<String>,
        #[arg(long)]
        policy_type: Option<String>,
        /// Replace the tags with these (repeat)
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Replace a placement group with the JSON object in a file (PUT)
    Replace(ReplaceFile),
    /// Delete a placement group
    Delete {
        #[command(flatten)]
        zone: Zone,
        placement_group_id: String,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Servers in a placement group
    Servers {
        #[command(flatten)]
        zone: Zone,
        placement_group_id: String,
    },
    /// Make exactly these servers the members (repeat --server; none empties it)
    SetServers {
        #[command(flatten)]
        zone: Zone,
        placement_group_id: String,
        #[arg(long = "server")]
        servers: Vec<String>,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Update the member servers (PATCH semantics of Scaleway)
    UpdateServers {
        #[command(flatten)]
        zone: Zone,
        placement_group_id: String,
        #[arg(long = "server")]
        servers: Vec<String>,
        #[command(flatten)]
        mutation: Mutation,
    },
}

pub async fn run(ctx: &Ctx, cmd: PlacementGroupsCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.placement_groups();
    match cmd {
        PlacementGroupsCmd::List {
            zone,
            name,
            tags,
            project,
            paging,
        } => {
            let request = v1::ListPlacementGroupsRequest {
                zone: zone.zone,
                name,
                tags,
                project,
                ..Default::default()
            };
            list!(ctx, placement_groups.list_placement_groups, request, paging)
        }
        PlacementGroupsCmd::Get {
            zone,
            placement_group_id,
        } => {
            let request = v1::GetPlacementGroupRequest {
                zone: zone.zone,
                placement_group_id,
            };
            show(ctx, client.get_placement_group(request)).await
        }
        PlacementGroupsCmd::Create {
            zone,
            name,
            policy_mode,
            policy_type,
            tags,
            project,
            mutation,
        } => {
            let request = v1::CreatePlacementGroupRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                name,
                policy_mode,
                policy_type,
                tags,
                project,
                ..Default::default()
            };
            show(ctx, client.create_placement_group(request)).await
        }
        PlacementGroupsCmd::Update {
            zone,
            placement_group_id,
            name,
            policy_mode,
            policy_type,
            tags,
            mutation,
        } => {
            let mut group = v1::PlacementGroup {
                id: placement_group_id,
                ..Default::default()
            };
            let mut changes = Changes::default();
            changes.set("name", &mut group.name, name);
            changes.set("policy_mode", &mut group.policy_mode, policy_mode);
            changes.set("policy_type", &mut group.policy_type, policy_type);
            changes.tags(&mut group.tags, tags);
            let flags = "--name, --policy-mode, --policy-type or --tag";
            let request = v1::UpdatePlacementGroupRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                placement_group: Some(group),
                update_mask: Some(changes.mask(flags)?),
            };
            show(ctx, client.update_placement_group(request)).await
        }
        PlacementGroupsCmd::Replace(replace) => {
            show(
                ctx,
                client.replace_placement_group(
                    replace.request::<v1::ReplacePlacementGroupRequest>()?,
                ),
            )
            .await
        }
        PlacementGroupsCmd::Delete {
            zone,
            placement_group_id,
            mutation,
        } => {
            let request = v1::DeletePlacementGroupRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                placement_group_id: placement_group_id.clone(),
            };
            let deleted = format!("placement group {placement_group_id} deleted");
            confirm(client.delete_placement_group(request), &deleted).await
        }
        PlacementGroupsCmd::Servers {
            zone,
            placement_group_id,
        } => {
            let request = v1::GetPlacementGroupServersRequest {
                zone: zone.zone,
                placement_group_id,
            };
            show(ctx, client.get_placement_group_servers(request)).await
        }
        PlacementGroupsCmd::SetServers {
            zone,
            placement_group_id,
            servers,
            mutation,
        } => {
            let request = v1::SetPlacementGroupServersRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                placement_group_id,
                servers,
            };
            show(ctx, client.set_placement_group_servers(request)).await
        }
        PlacementGroupsCmd::UpdateServers {
            zone,
            placement_group_id,
            servers,
            mutation,
        } => {
            let request = v1::UpdatePlacementGroupServersRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                placement_group_id,
                servers,
            };
            show(ctx, client.update_placement_group_servers(request)).await
        }
    }
}
