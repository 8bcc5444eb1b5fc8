//! `ips`: flexible IPs (the Ips service).

use clap::{Args, Subcommand};
use fleet_proto::v1;

use super::{Changes, confirm, list, request, show};
use crate::args::{ListZone, Mutation, Paging, Zone};
use crate::ctx::Ctx;
use crate::error::CliError;

#[derive(Subcommand, Debug)]
pub enum IpsCmd {
    /// List flexible IPs (--zone all for every zone)
    List(ListIps),
    /// Show an IP (UUID or address)
    Get {
        #[command(flatten)]
        zone: Zone,
        ip: String,
    },
    /// Reserve a flexible IP, optionally attached to a server
    Create(CreateIp),
    /// Attach, detach, set the reverse DNS or the tags of an IP
    Update(UpdateIp),
    /// Release an IP
    Delete {
        #[command(flatten)]
        zone: Zone,
        ip: String,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Hand an IP over to IPAM
    ReleaseToIpam {
        #[command(flatten)]
        zone: Zone,
        ip_id: String,
        #[command(flatten)]
        mutation: Mutation,
    },
}

// The arguments of `ips list`.
#[derive(Args, Debug)]
pub struct ListIps {
    #[command(flatten)]
    zone: ListZone,
    /// Address contains this text
    #[arg(long)]
    name: Option<String>,
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// routed_ipv4 or routed_ipv6
    #[arg(long = "type")]
    ip_type: Option<String>,
    #[arg(long)]
    project: Option<String>,
    #[command(flatten)]
    paging: Paging,
}

// The arguments of `ips create`.
#[derive(Args, Debug)]
pub struct CreateIp {
    #[command(flatten)]
    zone: Zone,
    /// routed_ipv4 or routed_ipv6
    #[arg(long = "type", default_value = "routed_ipv4")]
    ip_type: String,
    /// Server UUID to attach it to
    #[arg(long)]
    server: Option<String>,
    #[arg(long = "tag")]
    tags: Vec<String>,
    #[arg(long)]
    project: Option<String>,
    #[command(flatten)]
    mutation: Mutation,
}

// The arguments of `ips update`.
#[derive(Args, Debug)]
pub struct UpdateIp {
    #[command(flatten)]
    zone: Zone,
    /// IP UUID
    ip: String,
    /// Attach to this server
    #[arg(long, conflicts_with = "detach")]
    server: Option<String>,
    /// Detach from its server
    #[arg(long)]
    detach: bool,
    /// Reverse DNS name
    #[arg(long, conflicts_with = "reset_reverse")]
    reverse: Option<String>,
    /// Reset the reverse DNS to the default
    #[arg(long)]
    reset_reverse: bool,
    /// routed_ipv4 or routed_ipv6
    #[arg(long = "type")]
    ip_type: Option<String>,
    /// Replace the tags with these (repeat)
    #[arg(long = "tag")]
    tags: Vec<String>,
    #[command(flatten)]
    mutation: Mutation,
}

impl UpdateIp {
    /// The UpdateIpRequest: the fields given, named in the update mask.
    fn request(self) -> Result<v1::UpdateIpRequest, CliError> {
        let mut value = v1::Ip {
            id: self.ip,
            ..Default::default()
        };
        let mut changes = Changes::default();
        let server = self.server.map(|id| v1::ServerSummary {
            id,
            ..Default::default()
        });
        changes.set_some("server", &mut value.server, server);
        if self.detach {
            changes.clear("server");
        }
        changes.set_some("reverse", &mut value.reverse, self.reverse);
        if self.reset_reverse {
            changes.clear("reverse");
        }
        changes.set("type", &mut value.r#type, self.ip_type);
        changes.tags(&mut value.tags, self.tags);
        let update_mask =
            changes.mask("--server, --detach, --reverse, --reset-reverse, --type or --tag")?;
        Ok(v1::UpdateIpRequest {
            zone: self.zone.zone,
            request_id: self.mutation.id(),
            ip: Some(value),
            update_mask: Some(update_mask),
        })
    }
}

pub async fn run(ctx: &Ctx, cmd: IpsCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.ips();
    match cmd {
        IpsCmd::List(args) => {
            let request = request!(ListIpsRequest {
                zone: args.zone.zone,
                r#type: args.ip_type,
                ..args => name, tags, project
            });
            list!(ctx, ips.list_ips, request, args.paging)
        }
        IpsCmd::Get { zone, ip } => {
            let request = v1::GetIpRequest {
                zone: zone.zone,
                ip,
            };
            show(ctx, client.get_ip(request)).await
        }
        IpsCmd::Create(args) => {
            let request = request!(CreateIpRequest {
                zone: args.zone.zone,
                request_id: args.mutation.id(),
                r#type: args.ip_type,
                ..args => server, tags, project
            });
            show(ctx, client.create_ip(request)).await
        }
        IpsCmd::Update(args) => show(ctx, client.update_ip(args.request()?)).await,
        IpsCmd::Delete { zone, ip, mutation } => {
            let request = v1::DeleteIpRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                ip: ip.clone(),
            };
            confirm(client.delete_ip(request), &format!("ip {ip} released")).await
        }
        IpsCmd::ReleaseToIpam {
            zone,
            ip_id,
            mutation,
        } => {
            let request = v1::ReleaseIpToIpamRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                ip_id: ip_id.clone(),
            };
            let released = format!("ip {ip_id} handed over to IPAM");
            confirm(client.release_ip_to_ipam(request), &released).await
        }
    }
}
