//! `servers`: the Servers and ServerActions services.

use std::collections::BTreeMap;

use clap::{Args, Subcommand, ValueEnum};
use fleet_proto::v1;

use super::{Changes, ReplaceRequest as _, from_file, list, request, show, start};
use crate::args::{
    KeyValue, ListZone, LongRunning, Mutation, Paging, Zone, parse_key_value, parse_size,
    read_key_values,
};
use crate::ctx::Ctx;
use crate::error::CliError;

#[derive(Subcommand, Debug)]
pub enum ServersCmd {
    /// List servers (--zone all for every zone)
    List(ListServers),
    /// Show a server
    Get {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
    },
    /// Create a server (an operation: user data is set and the server started before it ends)
    Create(CreateServer),
    /// Change some fields of a server (never its power state)
    Update(UpdateServer),
    /// Replace a server with the JSON object in a file (PUT; every field is sent)
    Replace {
        #[command(flatten)]
        zone: Zone,
        #[command(flatten)]
        mutation: Mutation,
        /// The whole server as JSON (Scaleway fields; `id` names it), `@-` for stdin
        #[arg(long)]
        file: String,
    },
    /// Delete a server (an operation)
    Delete {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        /// Power it off first (a running server cannot be deleted)
        #[arg(long)]
        stop_first: bool,
        /// Also delete the local volumes it leaves behind
        #[arg(long)]
        delete_volumes: bool,
        /// Also delete its flexible IPs
        #[arg(long)]
        delete_ips: bool,
        #[command(flatten)]
        long: LongRunning,
    },
    /// Run a power or lifecycle action (an operation)
    Action(RunAction),
    /// Actions the server accepts in its current state
    Actions {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        #[command(flatten)]
        paging: Paging,
    },
    /// Commercial types the server can be changed to
    CompatibleTypes {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
    },
    /// Attach a volume (an operation)
    AttachVolume {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        #[arg(long)]
        volume: String,
        /// l_ssd, b_ssd or sbs_volume (default: let Scaleway decide)
        #[arg(long, default_value = "")]
        volume_type: String,
        /// Boot from this volume
        #[arg(long)]
        boot: Option<bool>,
        /// Power the server off first when the volume type needs it, and back on after
        #[arg(long)]
        stop_if_needed: bool,
        #[command(flatten)]
        long: LongRunning,
    },
    /// Detach a volume (an operation)
    DetachVolume {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        #[arg(long)]
        volume: String,
        /// Power the server off first when the volume type needs it, and back on after
        #[arg(long)]
        stop_if_needed: bool,
        #[command(flatten)]
        long: LongRunning,
    },
    /// Attach a file system (an operation)
    AttachFilesystem {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        #[arg(long)]
        filesystem: String,
        #[command(flatten)]
        long: LongRunning,
    },
    /// Detach a file system (an operation)
    DetachFilesystem {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        #[arg(long)]
        filesystem: String,
        #[command(flatten)]
        long: LongRunning,
    },
}

// The arguments of `servers list`.
#[derive(Args, Debug)]
pub struct ListServers {
    #[command(flatten)]
    zone: ListZone,
    /// Name contains this text
    #[arg(long)]
    name: Option<String>,
    /// Has this tag (repeat: has all of them)
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// In this state, e.g. running, stopped
    #[arg(long)]
    state: Option<String>,
    /// Of this commercial type, e.g. DEV1-S
    #[arg(long)]
    commercial_type: Option<String>,
    /// In this project
    #[arg(long)]
    project: Option<String>,
    /// creation_date_desc (default), creation_date_asc, modification_date_desc, modification_date_asc
    #[arg(long)]
    order: Option<String>,
    #[command(flatten)]
    paging: Paging,
}

// The arguments of `servers action`.
#[derive(Args, Debug)]
pub struct RunAction {
    #[command(flatten)]
    zone: Zone,
    server_id: String,
    action: Action,
    /// backup: name of the image (default image_<server>_<date>)
    #[arg(long)]
    name: Option<String>,
    /// enable-routed-ip: disable IPv6 during the migration
    #[arg(long)]
    disable_ipv6: Option<bool>,
    #[command(flatten)]
    long: LongRunning,
}

#[derive(Args, Debug)]
pub struct CreateServer {
    #[command(flatten)]
    pub zone: Zone,
    /// Instance name
    #[arg(long)]
    pub name: String,
    /// Commercial type, e.g. DEV1-S
    #[arg(long)]
    pub commercial_type: String,
    /// Image UUID or label, e.g. ubuntu_noble
    #[arg(long)]
    pub image: Option<String>,
    /// Power the server on once created and wait for running
    #[arg(long)]
    pub start: bool,
    /// Tag (repeat for several)
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// User data KEY=VALUE, KEY=@file or KEY=@- (repeat), e.g. cloud-init=@init.yaml
    #[arg(long, value_parser = parse_key_value)]
    pub user_data: Vec<KeyValue>,
    /// Project UUID (default: the token's)
    #[arg(long)]
    pub project: Option<String>,
    /// Security group UUID (default: the project's)
    #[arg(long)]
    pub security_group: Option<String>,
    /// Placement group UUID
    #[arg(long)]
    pub placement_group: Option<String>,
    /// Flexible IP UUID to attach (repeat)
    #[arg(long = "public-ip")]
    pub public_ips: Vec<String>,
    /// Attach a dynamic IPv4 when no flexible IP is given
    #[arg(long)]
    pub dynamic_ip_required: Option<bool>,
    /// Root volume size, bytes or e.g. 20GB
    #[arg(long, value_parser = parse_size)]
    pub root_volume_size: Option<u64>,
    /// Root volume type, e.g. l_ssd or sbs_volume
    #[arg(long)]
    pub root_volume_type: Option<String>,
    /// local (default) or rescue
    #[arg(long)]
    pub boot_type: Option<String>,
    /// Protect against deletion
    #[arg(long)]
    pub protected: bool,
    #[command(flatten)]
    pub long: LongRunning,
}

#[derive(Args, Debug)]
pub struct UpdateServer {
    #[command(flatten)]
    zone: Zone,
    server_id: String,
    #[arg(long)]
    name: Option<String>,
    /// Replace the tags with these (repeat)
    #[arg(long = "tag", conflicts_with = "clear_tags")]
    tags: Vec<String>,
    /// Remove every tag
    #[arg(long)]
    clear_tags: bool,
    /// Change the commercial type (the server must be stopped)
    #[arg(long)]
    commercial_type: Option<String>,
    #[arg(long)]
    protected: Option<bool>,
    /// local or rescue
    #[arg(long)]
    boot_type: Option<String>,
    #[arg(long)]
    dynamic_ip_required: Option<bool>,
    /// Security group UUID
    #[arg(long)]
    security_group: Option<String>,
    /// Placement group UUID
    #[arg(long, conflicts_with = "no_placement_group")]
    placement_group: Option<String>,
    /// Remove the server from its placement group
    #[arg(long)]
    no_placement_group: bool,
    #[command(flatten)]
    mutation: Mutation,
}

/// Server actions; names as Scaleway spells them, with dashes accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Action {
    #[value(name = "poweron")]
    Poweron,
    #[value(name = "poweroff")]
    Poweroff,
    #[value(name = "stop_in_place", alias = "stop-in-place")]
    StopInPlace,
    #[value(name = "reboot")]
    Reboot,
    #[value(name = "terminate")]
    Terminate,
    #[value(name = "backup")]
    Backup,
    #[value(name = "enable_routed_ip", alias = "enable-routed-ip")]
    EnableRoutedIp,
}

pub async fn run(ctx: &Ctx, cmd: ServersCmd) -> Result<(), CliError> {
    let mut servers = ctx.gateway.servers();
    match cmd {
        ServersCmd::List(args) => {
            let request = request!(ListServersRequest {
                zone: args.zone.zone,
                ..args => name, tags, state, commercial_type, project, order
            });
            list!(ctx, servers.list_servers, request, args.paging)
        }
        ServersCmd::Get { zone, server_id } => {
            let request = v1::GetServerRequest {
                zone: zone.zone,
                server_id,
            };
            show(ctx, servers.get_server(request)).await
        }
        ServersCmd::Create(create) => {
            let long = create.long.clone();
            start(ctx, servers.create_server(create.request()?), &long).await
        }
        ServersCmd::Update(update) => show(ctx, servers.update_server(update.request()?)).await,
        ServersCmd::Replace {
            zone,
            mutation,
            file,
        } => {
            let request =
                v1::ReplaceServerRequest::new(zone.zone, mutation.id(), from_file(&file)?);
            show(ctx, servers.replace_server(request)).await
        }
        ServersCmd::Delete {
            zone,
            server_id,
            stop_first,
            delete_volumes,
            delete_ips,
            long,
        } => {
            let request = v1::DeleteServerRequest {
                zone: zone.zone,
                request_id: long.request_id(),
                server_id,
                stop_first,
                delete_volumes,
                delete_ips,
            };
            start(ctx, servers.delete_server(request), &long).await
        }
        ServersCmd::Action(action) => action.run(ctx).await,
        ServersCmd::Actions {
            zone,
            server_id,
            paging,
        } => {
            let request = v1::ListServerActionsRequest {
                zone: zone.zone,
                server_id,
                ..Default::default()
            };
            list!(ctx, server_actions.list_server_actions, request, paging)
        }
        ServersCmd::CompatibleTypes { zone, server_id } => {
            let request = v1::GetServerCompatibleTypesRequest {
                zone: zone.zone,
                server_id,
            };
            show(ctx, servers.get_server_compatible_types(request)).await
        }
        ServersCmd::AttachVolume {
            zone,
            server_id,
            volume,
            volume_type,
            boot,
            stop_if_needed,
            long,
        } => {
            let request = v1::AttachServerVolumeRequest {
                zone: zone.zone,
                request_id: long.request_id(),
                server_id,
                volume_id: volume,
                volume_type,
                boot,
                stop_if_needed,
            };
            start(ctx, servers.attach_server_volume(request), &long).await
        }
        ServersCmd::DetachVolume {
            zone,
            server_id,
            volume,
            stop_if_needed,
            long,
        } => {
            let request = v1::DetachServerVolumeRequest {
                zone: zone.zone,
                request_id: long.request_id(),
                server_id,
                volume_id: volume,
                stop_if_needed,
            };
            start(ctx, servers.detach_server_volume(request), &long).await
        }
        ServersCmd::AttachFilesystem {
            zone,
            server_id,
            filesystem,
            long,
        } => {
            let request = v1::AttachServerFileSystemRequest {
                zone: zone.zone,
                request_id: long.request_id(),
                server_id,
                filesystem_id: filesystem,
            };
            start(ctx, servers.attach_server_file_system(request), &long).await
        }
        ServersCmd::DetachFilesystem {
            zone,
            server_id,
            filesystem,
            long,
        } => {
            let request = v1::DetachServerFileSystemRequest {
                zone: zone.zone,
                request_id: long.request_id(),
                server_id,
                filesystem_id: filesystem,
            };
            start(ctx, servers.detach_server_file_system(request), &long).await
        }
    }
}

impl CreateServer {
    /// The CreateServer request; the root volume template only when sized or typed.
    fn request(self) -> Result<v1::CreateServerRequest, CliError> {
        let mut volumes = BTreeMap::new();
        if self.root_volume_size.is_some() || self.root_volume_type.is_some() {
            volumes.insert(
                "0".to_owned(),
                v1::VolumeServerTemplate {
                    size: self.root_volume_size,
                    volume_type: self.root_volume_type,
                    ..Default::default()
                },
            );
        }
        Ok(v1::CreateServerRequest {
            zone: self.zone.zone,
            request_id: self.long.request_id(),
            name: self.name,
            commercial_type: self.commercial_type,
            image: self.image,
            tags: self.tags,
            user_data: read_key_values(&self.user_data)?,
            project: self.project,
            security_group: self.security_group,
            placement_group: self.placement_group,
            public_ips: self.public_ips,
            dynamic_ip_required: self.dynamic_ip_required,
            boot_type: self.boot_type,
            protected: self.protected,
            start: self.start,
            volumes,
            ..Default::default()
        })
    }
}

impl UpdateServer {
    /// The UpdateServer request: the fields given, named in the update mask.
    fn request(self) -> Result<v1::UpdateServerRequest, CliError> {
        let mut server = v1::Server {
            id: self.server_id,
            ..Default::default()
        };
        let mut changes = Changes::default();
        changes.set("name", &mut server.name, self.name);
        if self.clear_tags {
            changes.clear("tags");
        } else {
            changes.tags(&mut server.tags, self.tags);
        }
        changes.set(
            "commercial_type",
            &mut server.commercial_type,
            self.commercial_type,
        );
        changes.set("protected", &mut server.protected, self.protected);
        changes.set("boot_type", &mut server.boot_type, self.boot_type);
        changes.set(
            "dynamic_ip_required",
            &mut server.dynamic_ip_required,
            self.dynamic_ip_required,
        );
        let security_group = self.security_group.map(|id| v1::SecurityGroupSummary {
            id,
            ..Default::default()
        });
        changes.set_some("security_group", &mut server.security_group, security_group);
        let placement_group = self.placement_group.map(|id| v1::PlacementGroup {
            id,
            ..Default::default()
        });
        changes.set_some(
            "placement_group",
            &mut server.placement_group,
            placement_group,
        );
        if self.no_placement_group {
            changes.clear("placement_group");
        }
        let update_mask = changes.mask(
            "--name, --tag, --clear-tags, --commercial-type, --protected, --boot-type, \
             --dynamic-ip-required, --security-group, --placement-group or --no-placement-group",
        )?;
        Ok(v1::UpdateServerRequest {
            zone: self.zone.zone,
            request_id: self.mutation.id(),
            server: Some(server),
            update_mask: Some(update_mask),
        })
    }
}

impl RunAction {
    /// Starts the action with its own ServerActions method; `--name` and
    /// `--disable-ipv6` belong to one action each.
    async fn run(self, ctx: &Ctx) -> Result<(), CliError> {
        if self.name.is_some() && self.action != Action::Backup {
            return Err(CliError::usage("--name applies only to the backup action"));
        }
        if self.disable_ipv6.is_some() && self.action != Action::EnableRoutedIp {
            return Err(CliError::usage(
                "--disable-ipv6 applies only to the enable_routed_ip action",
            ));
        }
        let mut actions = ctx.gateway.server_actions();
        let target = v1::ServerActionTarget {
            zone: self.zone.zone,
            request_id: self.long.request_id(),
            server_id: self.server_id,
        };
        let op = match self.action {
            Action::Poweron => actions.power_on_server(target).await?,
            Action::Poweroff => actions.power_off_server(target).await?,
            Action::StopInPlace => actions.stop_server_in_place(target).await?,
            Action::Reboot => actions.reboot_server(target).await?,
            Action::Terminate => actions.terminate_server(target).await?,
            Action::Backup => {
                let request = v1::BackupServerRequest {
                    zone: target.zone,
                    request_id: target.request_id,
                    server_id: target.server_id,
                    name: self.name,
                    volumes: BTreeMap::new(),
                };
                actions.backup_server(request).await?
            }
            Action::EnableRoutedIp => {
                let request = v1::EnableRoutedIpRequest {
                    zone: target.zone,
                    request_id: target.request_id,
                    server_id: target.server_id,
                    disable_ipv6: self.disable_ipv6,
                };
                actions.enable_routed_ip(request).await?
            }
        }
        .into_inner();
        ctx.operation(op, &self.long).await
    }
}
