//! `servers` and `user-data`: the Servers, ServerActions and UserData services.

use std::collections::BTreeMap;

use clap::{Args, Subcommand, ValueEnum};
use fleet_proto::v1;

use crate::args::{
    KeyValue, ListZone, LongRunning, Mutation, Paging, Source, Zone, parse_key_value, parse_size,
    read_key_values,
};
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::output::{self, Format};
use crate::resources::{from_file, mask};

#[derive(Subcommand, Debug)]
pub enum ServersCmd {
    /// List servers (--zone all for every zone)
    List {
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
    },
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
    Action {
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
    },
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
        ServersCmd::List {
            zone,
            name,
            tags,
            state,
            commercial_type,
            project,
            order,
            paging,
        } => {
            let request = v1::ListServersRequest {
                zone: zone.zone,
                name,
                tags,
                state,
                commercial_type,
                project,
                order,
                ..Default::default()
            };
            ctx.list(request, &paging, |r| {
                let mut c = ctx.gateway.servers();
                async move { c.list_servers(r).await }
            })
            .await
        }
        ServersCmd::Get { zone, server_id } => {
            let server = servers
                .get_server(v1::GetServerRequest {
                    zone: zone.zone,
                    server_id,
                })
                .await?
                .into_inner();
            ctx.print(&server)
        }
        ServersCmd::Create(create) => {
            let mut volumes = BTreeMap::new();
            if create.root_volume_size.is_some() || create.root_volume_type.is_some() {
                volumes.insert(
                    "0".to_owned(),
                    v1::VolumeServerTemplate {
                        size: create.root_volume_size,
                        volume_type: create.root_volume_type,
                        ..Default::default()
                    },
                );
            }
            let request = v1::CreateServerRequest {
                zone: create.zone.zone,
                request_id: create.long.request_id(),
                name: create.name,
                commercial_type: create.commercial_type,
                image: create.image,
                tags: create.tags,
                user_data: read_key_values(&create.user_data)?,
                project: create.project,
                security_group: create.security_group,
                placement_group: create.placement_group,
                public_ips: create.public_ips,
                dynamic_ip_required: create.dynamic_ip_required,
                boot_type: create.boot_type,
                protected: create.protected,
                start: create.start,
                volumes,
                ..Default::default()
            };
            let op = servers.create_server(request).await?.into_inner();
            ctx.operation(op, &create.long).await
        }
        ServersCmd::Update(update) => {
            let mut server = v1::Server {
                id: update.server_id,
                ..Default::default()
            };
            let mut paths = Vec::new();
            if let Some(name) = update.name {
                server.name = name;
                paths.push("name");
            }
            if !update.tags.is_empty() || update.clear_tags {
                server.tags = update.tags;
                paths.push("tags");
            }
            if let Some(commercial_type) = update.commercial_type {
                server.commercial_type = commercial_type;
                paths.push("commercial_type");
            }
            if let Some(protected) = update.protected {
                server.protected = protected;
                paths.push("protected");
            }
            if let Some(boot_type) = update.boot_type {
                server.boot_type = boot_type;
                paths.push("boot_type");
            }
            if let Some(dynamic) = update.dynamic_ip_required {
                server.dynamic_ip_required = dynamic;
                paths.push("dynamic_ip_required");
            }
            if let Some(id) = update.security_group {
                server.security_group = Some(v1::SecurityGroupSummary {
                    id,
                    ..Default::default()
                });
                paths.push("security_group");
            }
            if let Some(id) = update.placement_group {
                server.placement_group = Some(v1::PlacementGroup {
                    id,
                    ..Default::default()
                });
                paths.push("placement_group");
            } else if update.no_placement_group {
                // Listed in the mask but unset: the gateway sends null, which removes it.
                paths.push("placement_group");
            }
            let update_mask = mask(
                &paths,
                "--name, --tag, --clear-tags, --commercial-type, --protected, --boot-type, \
                 --dynamic-ip-required, --security-group, --placement-group or --no-placement-group",
            )?;
            let server = servers
                .update_server(v1::UpdateServerRequest {
                    zone: update.zone.zone,
                    request_id: update.mutation.id(),
                    server: Some(server),
                    update_mask: Some(update_mask),
                })
                .await?
                .into_inner();
            ctx.print(&server)
        }
        ServersCmd::Replace {
            zone,
            mutation,
            file,
        } => {
            let server: v1::Server = from_file(&file)?;
            let server = servers
                .replace_server(v1::ReplaceServerRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    server: Some(server),
                })
                .await?
                .into_inner();
            ctx.print(&server)
        }
        ServersCmd::Delete {
            zone,
            server_id,
            stop_first,
            delete_volumes,
            delete_ips,
            long,
        } => {
            let op = servers
                .delete_server(v1::DeleteServerRequest {
                    zone: zone.zone,
                    request_id: long.request_id(),
                    server_id,
                    stop_first,
                    delete_volumes,
                    delete_ips,
                })
                .await?
                .into_inner();
            ctx.operation(op, &long).await
        }
        ServersCmd::Action {
            zone,
            server_id,
            action,
            name,
            disable_ipv6,
            long,
        } => {
            if name.is_some() && action != Action::Backup {
                return Err(CliError::usage("--name applies only to the backup action"));
            }
            if disable_ipv6.is_some() && action != Action::EnableRoutedIp {
                return Err(CliError::usage(
                    "--disable-ipv6 applies only to the enable_routed_ip action",
                ));
            }
            let mut actions = ctx.gateway.server_actions();
            let target = v1::ServerActionTarget {
                zone: zone.zone.clone(),
                request_id: long.request_id(),
                server_id: server_id.clone(),
            };
            let op = match action {
                Action::Poweron => actions.power_on_server(target).await?,
                Action::Poweroff => actions.power_off_server(target).await?,
                Action::StopInPlace => actions.stop_server_in_place(target).await?,
                Action::Reboot => actions.reboot_server(target).await?,
                Action::Terminate => actions.terminate_server(target).await?,
                Action::Backup => {
                    actions
                        .backup_server(v1::BackupServerRequest {
                            zone: target.zone,
                            request_id: target.request_id,
                            server_id: target.server_id,
                            name,
                            volumes: BTreeMap::new(),
                        })
                        .await?
                }
                Action::EnableRoutedIp => {
                    actions
                        .enable_routed_ip(v1::EnableRoutedIpRequest {
                            zone: target.zone,
                            request_id: target.request_id,
                            server_id: target.server_id,
                            disable_ipv6,
                        })
                        .await?
                }
            }
            .into_inner();
            ctx.operation(op, &long).await
        }
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
            ctx.list(request, &paging, |r| {
                let mut c = ctx.gateway.server_actions();
                async move { c.list_server_actions(r).await }
            })
            .await
        }
        ServersCmd::CompatibleTypes { zone, server_id } => {
            let types = servers
                .get_server_compatible_types(v1::GetServerCompatibleTypesRequest {
                    zone: zone.zone,
                    server_id,
                })
                .await?
                .into_inner();
            ctx.print(&types)
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
            let op = servers
                .attach_server_volume(v1::AttachServerVolumeRequest {
                    zone: zone.zone,
                    request_id: long.request_id(),
                    server_id,
                    volume_id: volume,
                    volume_type,
                    boot,
                    stop_if_needed,
                })
                .await?
                .into_inner();
            ctx.operation(op, &long).await
        }
        ServersCmd::DetachVolume {
            zone,
            server_id,
            volume,
            stop_if_needed,
            long,
        } => {
            let op = servers
                .detach_server_volume(v1::DetachServerVolumeRequest {
                    zone: zone.zone,
                    request_id: long.request_id(),
                    server_id,
                    volume_id: volume,
                    stop_if_needed,
                })
                .await?
                .into_inner();
            ctx.operation(op, &long).await
        }
        ServersCmd::AttachFilesystem {
            zone,
            server_id,
            filesystem,
            long,
        } => {
            let op = servers
                .attach_server_file_system(v1::AttachServerFileSystemRequest {
                    zone: zone.zone,
                    request_id: long.request_id(),
                    server_id,
                    filesystem_id: filesystem,
                })
                .await?
                .into_inner();
            ctx.operation(op, &long).await
        }
        ServersCmd::DetachFilesystem {
            zone,
            server_id,
            filesystem,
            long,
        } => {
            let op = servers
                .detach_server_file_system(v1::DetachServerFileSystemRequest {
                    zone: zone.zone,
                    request_id: long.request_id(),
                    server_id,
                    filesystem_id: filesystem,
                })
                .await?
                .into_inner();
            ctx.operation(op, &long).await
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum UserDataCmd {
    /// Keys of a server's user data
    List {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        #[command(flatten)]
        paging: Paging,
    },
    /// One value; raw bytes on stdout with the table format (redirect to a file)
    Get {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        key: String,
    },
    /// Create or replace one key: VALUE, @file or @- for stdin
    Set {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        key: String,
        value: String,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Delete one key
    Delete {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        key: String,
        #[command(flatten)]
        mutation: Mutation,
    },
}

pub async fn run_user_data(ctx: &Ctx, cmd: UserDataCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.user_data();
    match cmd {
        UserDataCmd::List {
            zone,
            server_id,
            paging,
        } => {
            let request = v1::ListServerUserDataRequest {
                zone: zone.zone,
                server_id,
                ..Default::default()
            };
            ctx.list(request, &paging, |r| {
                let mut c = ctx.gateway.user_data();
                async move { c.list_server_user_data(r).await }
            })
            .await
        }
        UserDataCmd::Get {
            zone,
            server_id,
            key,
        } => {
            let data = client
                .get_server_user_data(v1::GetServerUserDataRequest {
                    zone: zone.zone,
                    server_id,
                    key,
                })
                .await?
                .into_inner();
            match ctx.printer.format {
                Format::Table => output::write_stdout(&data.value),
                Format::Json | Format::Yaml => ctx.print(&data),
            }
        }
        UserDataCmd::Set {
            zone,
            server_id,
            key,
            value,
            mutation,
        } => {
            let value = Source::parse(&value).read()?;
            client
                .set_server_user_data(v1::SetServerUserDataRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    server_id,
                    key: key.clone(),
                    value,
                })
                .await?;
            output::note(&format!("user data {key} set"));
            Ok(())
        }
        UserDataCmd::Delete {
            zone,
            server_id,
            key,
            mutation,
        } => {
            client
                .delete_server_user_data(v1::DeleteServerUserDataRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    server_id,
                    key: key.clone(),
                })
                .await?;
            output::note(&format!("user data {key} deleted"));
            Ok(())
        }
    }
}
