//! `private-nics`: a server's private NICs (the PrivateNics service).

use clap::{Args, Subcommand};
use fleet_proto::v1;

use super::{confirm, list, request, show, start};
use crate::args::{LongRunning, Mutation, Paging, Zone};
use crate::ctx::Ctx;
use crate::error::CliError;

#[derive(Subcommand, Debug)]
pub enum PrivateNicsCmd {
    /// Private NICs of a server
    List {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show a private NIC
    Get {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        private_nic_id: String,
    },
    /// Plug the server into a private network (an operation)
    Create(CreatePrivateNic),
    /// Replace the tags of a private NIC
    Update {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        private_nic_id: String,
        /// New tags (repeat; none clears them)
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Unplug a private NIC
    Delete {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        private_nic_id: String,
        #[command(flatten)]
        mutation: Mutation,
    },
}

// The arguments of `private-nics create`.
#[derive(Args, Debug)]
pub struct CreatePrivateNic {
    #[command(flatten)]
    zone: Zone,
    server_id: String,
    /// Private network UUID
    #[arg(long)]
    private_network: String,
    /// IPAM IP UUID to use in the network (repeat)
    #[arg(long = "ipam-ip")]
    ipam_ip_ids: Vec<String>,
    #[arg(long = "tag")]
    tags: Vec<String>,
    #[command(flatten)]
    long: LongRunning,
}

pub async fn run(ctx: &Ctx, cmd: PrivateNicsCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.private_nics();
    match cmd {
        PrivateNicsCmd::List {
            zone,
            server_id,
            tags,
            paging,
        } => {
            let request = v1::ListPrivateNicsRequest {
                zone: zone.zone,
                server_id,
                tags,
                ..Default::default()
            };
            list!(ctx, private_nics.list_private_nics, request, paging)
        }
        PrivateNicsCmd::Get {
            zone,
            server_id,
            private_nic_id,
        } => {
            let request = v1::GetPrivateNicRequest {
                zone: zone.zone,
                server_id,
                private_nic_id,
            };
            show(ctx, client.get_private_nic(request)).await
        }
        PrivateNicsCmd::Create(args) => {
            let request = request!(CreatePrivateNicRequest {
                zone: args.zone.zone,
                request_id: args.long.request_id(),
                private_network_id: args.private_network,
                ..args => server_id, ipam_ip_ids, tags
            });
            start(ctx, client.create_private_nic(request), &args.long).await
        }
        PrivateNicsCmd::Update {
            zone,
            server_id,
            private_nic_id,
            tags,
            mutation,
        } => {
            let request = v1::UpdatePrivateNicRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                server_id,
                private_nic: Some(v1::PrivateNic {
                    id: private_nic_id,
                    tags,
                    ..Default::default()
                }),
                // Only the tags can change, and no tag given clears them.
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["tags".to_owned()],
                }),
            };
            show(ctx, client.update_private_nic(request)).await
        }
        PrivateNicsCmd::Delete {
            zone,
            server_id,
            private_nic_id,
            mutation,
        } => {
            let request = v1::DeletePrivateNicRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                server_id,
                private_nic_id: private_nic_id.clone(),
            };
            let deleted = format!("private NIC {private_nic_id} deleted");
            confirm(client.delete_private_nic(request), &deleted).await
        }
    }
}
