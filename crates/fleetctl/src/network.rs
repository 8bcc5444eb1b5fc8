//! Network commands: `security-groups` (and their rules), `placement-groups`,
//! `ips` and `private-nics`.

use clap::{Args, Subcommand};
use fleet_proto::v1;

use crate::args::{ListZone, LongRunning, Mutation, Paging, Source, Zone};
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::resources::{done, from_file, mask};

#[derive(Subcommand, Debug)]
pub enum SecurityGroupsCmd {
    /// List security groups (--zone all for every zone)
    List {
        #[command(flatten)]
        zone: ListZone,
        #[arg(long)]
        name: Option<String>,
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long)]
        project: Option<String>,
        /// Only the project's default group (true) or the others (false)
        #[arg(long)]
        project_default: Option<bool>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show a security group
    Get {
        #[command(flatten)]
        zone: Zone,
        security_group_id: String,
    },
    /// Create a security group
    Create {
        #[command(flatten)]
        zone: Zone,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Track connections (replies are let through)
        #[arg(long)]
        stateful: bool,
        /// accept or drop
        #[arg(long)]
        inbound_default_policy: Option<String>,
        /// accept or drop
        #[arg(long)]
        outbound_default_policy: Option<String>,
        /// Make it the project's default group
        #[arg(long)]
        project_default: Option<bool>,
        /// Block SMTP and other abuse-prone ports
        #[arg(long)]
        enable_default_security: Option<bool>,
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long)]
        project: Option<String>,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Change some fields of a security group
    Update {
        #[command(flatten)]
        zone: Zone,
        security_group_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        stateful: Option<bool>,
        #[arg(long)]
        inbound_default_policy: Option<String>,
        #[arg(long)]
        outbound_default_policy: Option<String>,
        #[arg(long)]
        project_default: Option<bool>,
        #[arg(long)]
        enable_default_security: Option<bool>,
        /// Replace the tags with these (repeat)
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Replace a security group with the JSON object in a file (PUT)
    Replace {
        #[command(flatten)]
        zone: Zone,
        #[arg(long)]
        file: String,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Delete a security group
    Delete {
        #[command(flatten)]
        zone: Zone,
        security_group_id: String,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// The zone's default rules, applied to every group
    DefaultRules {
        #[command(flatten)]
        zone: Zone,
        #[command(flatten)]
        paging: Paging,
    },
    /// Rules of a security group
    #[command(subcommand)]
    Rules(RulesCmd),
}

/// Fields of a rule, shared by create and update.
#[derive(Args, Debug)]
pub struct RuleFields {
    /// TCP, UDP, ICMP or ANY
    #[arg(long)]
    protocol: Option<String>,
    /// inbound or outbound
    #[arg(long)]
    direction: Option<String>,
    /// accept or drop
    #[arg(long)]
    action: Option<String>,
    /// CIDR, e.g. 203.0.113.0/24
    #[arg(long)]
    ip_range: Option<String>,
    #[arg(long)]
    dest_port_from: Option<u32>,
    #[arg(long)]
    dest_port_to: Option<u32>,
    /// Position in the group (rules apply in order)
    #[arg(long)]
    position: Option<u32>,
}

#[derive(Subcommand, Debug)]
pub enum RulesCmd {
    /// List the rules of a group, in order
    List {
        #[command(flatten)]
        zone: Zone,
        security_group_id: String,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one rule
    Get {
        #[command(flatten)]
        zone: Zone,
        security_group_id: String,
        rule_id: String,
    },
    /// Add a rule (--protocol, --direction, --action and --ip-range are required)
    Create {
        #[command(flatten)]
        zone: Zone,
        security_group_id: String,
        #[command(flatten)]
        fields: RuleFields,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Replace every rule of the group with the ordered list in a JSON file, in one change
    Set {
        #[command(flatten)]
        zone: Zone,
        security_group_id: String,
        /// JSON array of rules (or {"rules": [...]}), Scaleway fields; `@-` for stdin
        #[arg(long)]
        file: String,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Change some fields of a rule
    Update {
        #[command(flatten)]
        zone: Zone,
        security_group_id: String,
        rule_id: String,
        #[command(flatten)]
        fields: RuleFields,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Replace a rule with the JSON object in a file (PUT)
    Replace {
        #[command(flatten)]
        zone: Zone,
        security_group_id: String,
        #[arg(long)]
        file: String,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Delete a rule
    Delete {
        #[command(flatten)]
        zone: Zone,
        security_group_id: String,
        rule_id: String,
        #[command(flatten)]
        mutation: Mutation,
    },
}

pub async fn run_security_groups(ctx: &Ctx, cmd: SecurityGroupsCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.security_groups();
    match cmd {
        SecurityGroupsCmd::List {
            zone,
            name,
            tags,
            project,
            project_default,
            paging,
        } => {
            let request = v1::ListSecurityGroupsRequest {
                zone: zone.zone,
                name,
                tags,
                project,
                project_default,
                ..Default::default()
            };
            ctx.list(request, &paging, |r| {
                let mut c = ctx.gateway.security_groups();
                async move { c.list_security_groups(r).await }
            })
            .await
        }
        SecurityGroupsCmd::Get {
            zone,
            security_group_id,
        } => {
            let group = client
                .get_security_group(v1::GetSecurityGroupRequest {
                    zone: zone.zone,
                    security_group_id,
                })
                .await?
                .into_inner();
            ctx.print(&group)
        }
        SecurityGroupsCmd::Create {
            zone,
            name,
            description,
            stateful,
            inbound_default_policy,
            outbound_default_policy,
            project_default,
            enable_default_security,
            tags,
            project,
            mutation,
        } => {
            let group = client
                .create_security_group(v1::CreateSecurityGroupRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    name,
                    description,
                    stateful,
                    inbound_default_policy,
                    outbound_default_policy,
                    project_default,
                    enable_default_security,
                    tags,
                    project,
                    ..Default::default()
                })
                .await?
                .into_inner();
            ctx.print(&group)
        }
        SecurityGroupsCmd::Update {
            zone,
            security_group_id,
            name,
            description,
            stateful,
            inbound_default_policy,
            outbound_default_policy,
            project_default,
            enable_default_security,
            tags,
            mutation,
        } => {
            let mut group = v1::SecurityGroup {
                id: security_group_id,
                ..Default::default()
            };
            let mut paths = Vec::new();
            if let Some(v) = name {
                group.name = v;
                paths.push("name");
            }
            if let Some(v) = description {
                group.description = Some(v);
                paths.push("description");
            }
            if let Some(v) = stateful {
                group.stateful = v;
                paths.push("stateful");
            }
            if let Some(v) = inbound_default_policy {
                group.inbound_default_policy = v;
                paths.push("inbound_default_policy");
            }
            if let Some(v) = outbound_default_policy {
                group.outbound_default_policy = v;
                paths.push("outbound_default_policy");
            }
            if let Some(v) = project_default {
                group.project_default = v;
                paths.push("project_default");
            }
            if let Some(v) = enable_default_security {
                group.enable_default_security = v;
                paths.push("enable_default_security");
            }
            if !tags.is_empty() {
                group.tags = tags;
                paths.push("tags");
            }
            let update_mask = mask(
                &paths,
                "--name, --description, --stateful, --inbound-default-policy, \
                 --outbound-default-policy, --project-default, --enable-default-security or --tag",
            )?;
            let group = client
                .update_security_group(v1::UpdateSecurityGroupRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    security_group: Some(group),
                    update_mask: Some(update_mask),
                })
                .await?
                .into_inner();
            ctx.print(&group)
        }
        SecurityGroupsCmd::Replace {
            zone,
            file,
            mutation,
        } => {
            let group = client
                .replace_security_group(v1::ReplaceSecurityGroupRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    security_group: Some(from_file(&file)?),
                })
                .await?
                .into_inner();
            ctx.print(&group)
        }
        SecurityGroupsCmd::Delete {
            zone,
            security_group_id,
            mutation,
        } => {
            client
                .delete_security_group(v1::DeleteSecurityGroupRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    security_group_id: security_group_id.clone(),
                })
                .await?;
            done(&format!("security group {security_group_id} deleted"))
        }
        SecurityGroupsCmd::DefaultRules { zone, paging } => {
            let request = v1::ListDefaultSecurityGroupRulesRequest {
                zone: zone.zone,
                ..Default::default()
            };
            ctx.list(request, &paging, |r| {
                let mut c = ctx.gateway.security_groups();
                async move { c.list_default_security_group_rules(r).await }
            })
            .await
        }
        SecurityGroupsCmd::Rules(cmd) => run_rules(ctx, cmd).await,
    }
}

async fn run_rules(ctx: &Ctx, cmd: RulesCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.security_groups();
    match cmd {
        RulesCmd::List {
            zone,
            security_group_id,
            paging,
        } => {
            let request = v1::ListSecurityGroupRulesRequest {
                zone: zone.zone,
                security_group_id,
                ..Default::default()
            };
            ctx.list(request, &paging, |r| {
                let mut c = ctx.gateway.security_groups();
                async move { c.list_security_group_rules(r).await }
            })
            .await
        }
        RulesCmd::Get {
            zone,
            security_group_id,
            rule_id,
        } => {
            let rule = client
                .get_security_group_rule(v1::GetSecurityGroupRuleRequest {
                    zone: zone.zone,
                    security_group_id,
                    security_group_rule_id: rule_id,
                })
                .await?
                .into_inner();
            ctx.print(&rule)
        }
        RulesCmd::Create {
            zone,
            security_group_id,
            fields,
            mutation,
        } => {
            let missing: Vec<&str> = [
                ("--protocol", fields.protocol.is_none()),
                ("--direction", fields.direction.is_none()),
                ("--action", fields.action.is_none()),
                ("--ip-range", fields.ip_range.is_none()),
            ]
            .iter()
            .filter(|(_, missing)| *missing)
            .map(|(flag, _)| *flag)
            .collect();
            if !missing.is_empty() {
                return Err(CliError::usage(format!(
                    "a new rule needs {}",
                    missing.join(", ")
                )));
            }
            let rule = client
                .create_security_group_rule(v1::CreateSecurityGroupRuleRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    security_group_id,
                    protocol: fields.protocol.unwrap_or_default(),
                    direction: fields.direction.unwrap_or_default(),
                    action: fields.action.unwrap_or_default(),
                    ip_range: fields.ip_range.unwrap_or_default(),
                    dest_port_from: fields.dest_port_from,
                    dest_port_to: fields.dest_port_to,
                    position: fields.position.unwrap_or_default(),
                    editable: true,
                })
                .await?
                .into_inner();
            ctx.print(&rule)
        }
        RulesCmd::Set {
            zone,
            security_group_id,
            file,
            mutation,
        } => {
            let source = match file.as_str() {
                "-" | "@-" => Source::Stdin,
                path => Source::File(path.trim_start_matches('@').to_owned()),
            };
            let rules = match source.json()? {
                serde_json::Value::Array(rules) => serde_json::json!({ "rules": rules }),
                other => other,
            };
            let mut request: v1::SetSecurityGroupRulesRequest = fleet_proto::json::from_json(rules)
                .map_err(|err| {
                    CliError::usage(format!("{file} does not hold a list of rules: {err}"))
                })?;
            request.zone = zone.zone;
            request.request_id = mutation.id();
            request.security_group_id = security_group_id;
            let rules = client.set_security_group_rules(request).await?.into_inner();
            ctx.print(&rules)
        }
        RulesCmd::Update {
            zone,
            security_group_id,
            rule_id,
            fields,
            mutation,
        } => {
            let mut rule = v1::SecurityGroupRule {
                id: rule_id,
                ..Default::default()
            };
            let mut paths = Vec::new();
            if let Some(v) = fields.protocol {
                rule.protocol = v;
                paths.push("protocol");
            }
            if let Some(v) = fields.direction {
                rule.direction = v;
                paths.push("direction");
            }
            if let Some(v) = fields.action {
                rule.action = v;
                paths.push("action");
            }
            if let Some(v) = fields.ip_range {
                rule.ip_range = v;
                paths.push("ip_range");
            }
            if let Some(v) = fields.dest_port_from {
                rule.dest_port_from = Some(v);
                paths.push("dest_port_from");
            }
            if let Some(v) = fields.dest_port_to {
                rule.dest_port_to = Some(v);
                paths.push("dest_port_to");
            }
            if let Some(v) = fields.position {
                rule.position = v;
                paths.push("position");
            }
            let update_mask = mask(
                &paths,
                "--protocol, --direction, --action, --ip-range, --dest-port-from, --dest-port-to or --position",
            )?;
            let rule = client
                .update_security_group_rule(v1::UpdateSecurityGroupRuleRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    security_group_id,
                    rule: Some(rule),
                    update_mask: Some(update_mask),
                })
                .await?
                .into_inner();
            ctx.print(&rule)
        }
        RulesCmd::Replace {
            zone,
            security_group_id,
            file,
            mutation,
        } => {
            let rule = client
                .replace_security_group_rule(v1::ReplaceSecurityGroupRuleRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    security_group_id,
                    rule: Some(from_file(&file)?),
                })
                .await?
                .into_inner();
            ctx.print(&rule)
        }
        RulesCmd::Delete {
            zone,
            security_group_id,
            rule_id,
            mutation,
        } => {
            client
                .delete_security_group_rule(v1::DeleteSecurityGroupRuleRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    security_group_id,
                    security_group_rule_id: rule_id.clone(),
                })
                .await?;
            done(&format!("rule {rule_id} deleted"))
        }
    }
}

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
    Replace {
        #[command(flatten)]
        zone: Zone,
        #[arg(long)]
        file: String,
        #[command(flatten)]
        mutation: Mutation,
    },
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

pub async fn run_placement_groups(ctx: &Ctx, cmd: PlacementGroupsCmd) -> Result<(), CliError> {
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
            ctx.list(request, &paging, |r| {
                let mut c = ctx.gateway.placement_groups();
                async move { c.list_placement_groups(r).await }
            })
            .await
        }
        PlacementGroupsCmd::Get {
            zone,
            placement_group_id,
        } => {
            let group = client
                .get_placement_group(v1::GetPlacementGroupRequest {
                    zone: zone.zone,
                    placement_group_id,
                })
                .await?
                .into_inner();
            ctx.print(&group)
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
            let group = client
                .create_placement_group(v1::CreatePlacementGroupRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    name,
                    policy_mode,
                    policy_type,
                    tags,
                    project,
                    ..Default::default()
                })
                .await?
                .into_inner();
            ctx.print(&group)
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
            let mut paths = Vec::new();
            if let Some(v) = name {
                group.name = v;
                paths.push("name");
            }
            if let Some(v) = policy_mode {
                group.policy_mode = v;
                paths.push("policy_mode");
            }
            if let Some(v) = policy_type {
                group.policy_type = v;
                paths.push("policy_type");
            }
            if !tags.is_empty() {
                group.tags = tags;
                paths.push("tags");
            }
            let update_mask = mask(&paths, "--name, --policy-mode, --policy-type or --tag")?;
            let group = client
                .update_placement_group(v1::UpdatePlacementGroupRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    placement_group: Some(group),
                    update_mask: Some(update_mask),
                })
                .await?
                .into_inner();
            ctx.print(&group)
        }
        PlacementGroupsCmd::Replace {
            zone,
            file,
            mutation,
        } => {
            let group = client
                .replace_placement_group(v1::ReplacePlacementGroupRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    placement_group: Some(from_file(&file)?),
                })
                .await?
                .into_inner();
            ctx.print(&group)
        }
        PlacementGroupsCmd::Delete {
            zone,
            placement_group_id,
            mutation,
        } => {
            client
                .delete_placement_group(v1::DeletePlacementGroupRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    placement_group_id: placement_group_id.clone(),
                })
                .await?;
            done(&format!("placement group {placement_group_id} deleted"))
        }
        PlacementGroupsCmd::Servers {
            zone,
            placement_group_id,
        } => {
            let servers = client
                .get_placement_group_servers(v1::GetPlacementGroupServersRequest {
                    zone: zone.zone,
                    placement_group_id,
                })
                .await?
                .into_inner();
            ctx.print(&servers)
        }
        PlacementGroupsCmd::SetServers {
            zone,
            placement_group_id,
            servers,
            mutation,
        } => {
            let servers = client
                .set_placement_group_servers(v1::SetPlacementGroupServersRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    placement_group_id,
                    servers,
                })
                .await?
                .into_inner();
            ctx.print(&servers)
        }
        PlacementGroupsCmd::UpdateServers {
            zone,
            placement_group_id,
            servers,
            mutation,
        } => {
            let servers = client
                .update_placement_group_servers(v1::UpdatePlacementGroupServersRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    placement_group_id,
                    servers,
                })
                .await?
                .into_inner();
            ctx.print(&servers)
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum IpsCmd {
    /// List flexible IPs (--zone all for every zone)
    List {
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
    },
    /// Show an IP (UUID or address)
    Get {
        #[command(flatten)]
        zone: Zone,
        ip: String,
    },
    /// Reserve a flexible IP, optionally attached to a server
    Create {
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
    },
    /// Attach, detach, set the reverse DNS or the tags of an IP
    Update {
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
    },
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

pub async fn run_ips(ctx: &Ctx, cmd: IpsCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.ips();
    match cmd {
        IpsCmd::List {
            zone,
            name,
            tags,
            ip_type,
            project,
            paging,
        } => {
            let request = v1::ListIpsRequest {
                zone: zone.zone,
                name,
                tags,
                r#type: ip_type,
                project,
                ..Default::default()
            };
            ctx.list(request, &paging, |r| {
                let mut c = ctx.gateway.ips();
                async move { c.list_ips(r).await }
            })
            .await
        }
        IpsCmd::Get { zone, ip } => {
            let ip = client
                .get_ip(v1::GetIpRequest {
                    zone: zone.zone,
                    ip,
                })
                .await?
                .into_inner();
            ctx.print(&ip)
        }
        IpsCmd::Create {
            zone,
            ip_type,
            server,
            tags,
            project,
            mutation,
        } => {
            let ip = client
                .create_ip(v1::CreateIpRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    r#type: ip_type,
                    server,
                    tags,
                    project,
                    ..Default::default()
                })
                .await?
                .into_inner();
            ctx.print(&ip)
        }
        IpsCmd::Update {
            zone,
            ip,
            server,
            detach,
            reverse,
            reset_reverse,
            ip_type,
            tags,
            mutation,
        } => {
            let mut value = v1::Ip {
                id: ip,
                ..Default::default()
            };
            let mut paths = Vec::new();
            if let Some(id) = server {
                value.server = Some(v1::ServerSummary {
                    id,
                    ..Default::default()
                });
                paths.push("server");
            } else if detach {
                // In the mask but unset: sent as null, which detaches.
                paths.push("server");
            }
            if let Some(v) = reverse {
                value.reverse = Some(v);
                paths.push("reverse");
            } else if reset_reverse {
                paths.push("reverse");
            }
            if let Some(v) = ip_type {
                value.r#type = v;
                paths.push("type");
            }
            if !tags.is_empty() {
                value.tags = tags;
                paths.push("tags");
            }
            let update_mask = mask(
                &paths,
                "--server, --detach, --reverse, --reset-reverse, --type or --tag",
            )?;
            let ip = client
                .update_ip(v1::UpdateIpRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    ip: Some(value),
                    update_mask: Some(update_mask),
                })
                .await?
                .into_inner();
            ctx.print(&ip)
        }
        IpsCmd::Delete { zone, ip, mutation } => {
            client
                .delete_ip(v1::DeleteIpRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    ip: ip.clone(),
                })
                .await?;
            done(&format!("ip {ip} released"))
        }
        IpsCmd::ReleaseToIpam {
            zone,
            ip_id,
            mutation,
        } => {
            client
                .release_ip_to_ipam(v1::ReleaseIpToIpamRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    ip_id: ip_id.clone(),
                })
                .await?;
            done(&format!("ip {ip_id} handed over to IPAM"))
        }
    }
}

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
    Create {
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
    },
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

pub async fn run_private_nics(ctx: &Ctx, cmd: PrivateNicsCmd) -> Result<(), CliError> {
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
            ctx.list(request, &paging, |r| {
                let mut c = ctx.gateway.private_nics();
                async move { c.list_private_nics(r).await }
            })
            .await
        }
        PrivateNicsCmd::Get {
            zone,
            server_id,
            private_nic_id,
        } => {
            let nic = client
                .get_private_nic(v1::GetPrivateNicRequest {
                    zone: zone.zone,
                    server_id,
                    private_nic_id,
                })
                .await?
                .into_inner();
            ctx.print(&nic)
        }
        PrivateNicsCmd::Create {
            zone,
            server_id,
            private_network,
            ipam_ip_ids,
            tags,
            long,
        } => {
            let op = client
                .create_private_nic(v1::CreatePrivateNicRequest {
                    zone: zone.zone,
                    request_id: long.request_id(),
                    server_id,
                    private_network_id: private_network,
                    ipam_ip_ids,
                    tags,
                    ..Default::default()
                })
                .await?
                .into_inner();
            ctx.operation(op, &long).await
        }
        PrivateNicsCmd::Update {
            zone,
            server_id,
            private_nic_id,
            tags,
            mutation,
        } => {
            let nic = client
                .update_private_nic(v1::UpdatePrivateNicRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    server_id,
                    private_nic: Some(v1::PrivateNic {
                        id: private_nic_id,
                        tags,
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["tags".to_owned()],
                    }),
                })
                .await?
                .into_inner();
            ctx.print(&nic)
        }
        PrivateNicsCmd::Delete {
            zone,
            server_id,
            private_nic_id,
            mutation,
        } => {
            client
                .delete_private_nic(v1::DeletePrivateNicRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    server_id,
                    private_nic_id: private_nic_id.clone(),
                })
                .await?;
            done(&format!("private NIC {private_nic_id} deleted"))
        }
    }
}
