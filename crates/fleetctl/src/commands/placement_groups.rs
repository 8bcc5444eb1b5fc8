//! `placement-groups`: the PlacementGroups service and the groups' members.

use clap::{Args, Subcommand};
use fleet_proto::v1;

use super::{ReplaceFile, confirm, list, plain_update, request, show};
use crate::args::{ListZone, Mutation, Paging, Zone};
use crate::ctx::Ctx;
use crate::error::CliError;

#[derive(Subcommand, Debug)]
pub enum PlacementGroupsCmd {
    /// List placement groups (--zone all for every zone)
    List(ListPlacementGroups),
    /// Show a placement group
    Get {
        #[command(flatten)]
        zone: Zone,
        placement_group_id: String,
    },
    /// Create a placement group
    Create(CreatePlacementGroup),
    /// Change some fields of a placement group
    Update(UpdatePlacementGroup),
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

// The arguments of `placement-groups list`.
#[derive(Args, Debug)]
pub struct ListPlacementGroups {
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
}

// The arguments of `placement-groups create`.
#[derive(Args, Debug)]
pub struct CreatePlacementGroup {
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
}

plain_update! {
    // The arguments of `placement-groups update`.
    UpdatePlacementGroup => UpdatePlacementGroupRequest { placement_group: PlacementGroup, id: placement_group_id }
    flags {
        #[arg(long)] name: String,
        #[arg(long)] policy_mode: String,
        #[arg(long)] policy_type: String,
    }
}

pub async fn run(ctx: &Ctx, cmd: PlacementGroupsCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.placement_groups();
    match cmd {
        PlacementGroupsCmd::List(args) => {
            let request = request!(ListPlacementGroupsRequest {
                zone: args.zone.zone,
                ..args => name, tags, project
            });
            list!(
                ctx,
                placement_groups.list_placement_groups,
                request,
                args.paging
            )
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
        PlacementGroupsCmd::Create(args) => {
            let request = request!(CreatePlacementGroupRequest {
                zone: args.zone.zone,
                request_id: args.mutation.id(),
                ..args => name, policy_mode, policy_type, tags, project
            });
            show(ctx, client.create_placement_group(request)).await
        }
        PlacementGroupsCmd::Update(args) => {
            show(ctx, client.update_placement_group(args.request()?)).await
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
