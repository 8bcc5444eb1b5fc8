//! `security-groups`: the groups of the SecurityGroups service and the zone's
//! default rules; the rules of a group are in [`super::rules`].

use clap::{Args, Subcommand};
use fleet_proto::v1;

use super::rules::{self, RulesCmd};
use super::{Changes, ReplaceFile, confirm, list, request, show};
use crate::args::{ListZone, Mutation, Paging, Zone};
use crate::ctx::Ctx;
use crate::error::CliError;

#[derive(Subcommand, Debug)]
pub enum SecurityGroupsCmd {
    /// List security groups (--zone all for every zone)
    List(ListSecurityGroups),
    /// Show a security group
    Get {
        #[command(flatten)]
        zone: Zone,
        security_group_id: String,
    },
    /// Create a security group
    Create(CreateSecurityGroup),
    /// Change some fields of a security group
    Update(UpdateSecurityGroup),
    /// Replace a security group with the JSON object in a file (PUT)
    Replace(ReplaceFile),
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

// The arguments of `security-groups list`.
#[derive(Args, Debug)]
pub struct ListSecurityGroups {
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
}

// The arguments of `security-groups create`.
#[derive(Args, Debug)]
pub struct CreateSecurityGroup {
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
}

// The arguments of `security-groups update`.
#[derive(Args, Debug)]
pub struct UpdateSecurityGroup {
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
}

impl UpdateSecurityGroup {
    /// The UpdateSecurityGroupRequest: the fields given, named in the update mask.
    fn request(self) -> Result<v1::UpdateSecurityGroupRequest, CliError> {
        let mut group = v1::SecurityGroup {
            id: self.security_group_id,
            ..Default::default()
        };
        let mut changes = Changes::default();
        changes.set("name", &mut group.name, self.name);
        changes.set_some("description", &mut group.description, self.description);
        changes.set("stateful", &mut group.stateful, self.stateful);
        changes.set(
            "inbound_default_policy",
            &mut group.inbound_default_policy,
            self.inbound_default_policy,
        );
        changes.set(
            "outbound_default_policy",
            &mut group.outbound_default_policy,
            self.outbound_default_policy,
        );
        changes.set(
            "project_default",
            &mut group.project_default,
            self.project_default,
        );
        changes.set(
            "enable_default_security",
            &mut group.enable_default_security,
            self.enable_default_security,
        );
        changes.tags(&mut group.tags, self.tags);
        let update_mask = changes.mask(
            "--name, --description, --stateful, --inbound-default-policy, \
             --outbound-default-policy, --project-default, --enable-default-security or --tag",
        )?;
        Ok(v1::UpdateSecurityGroupRequest {
            zone: self.zone.zone,
            request_id: self.mutation.id(),
            security_group: Some(group),
            update_mask: Some(update_mask),
        })
    }
}

pub async fn run(ctx: &Ctx, cmd: SecurityGroupsCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.security_groups();
    match cmd {
        SecurityGroupsCmd::List(args) => {
            let request = request!(ListSecurityGroupsRequest {
                zone: args.zone.zone,
                ..args => name, tags, project, project_default
            });
            list!(
                ctx,
                security_groups.list_security_groups,
                request,
                args.paging
            )
        }
        SecurityGroupsCmd::Get {
            zone,
            security_group_id,
        } => {
            let request = v1::GetSecurityGroupRequest {
                zone: zone.zone,
                security_group_id,
            };
            show(ctx, client.get_security_group(request)).await
        }
        SecurityGroupsCmd::Create(args) => {
            let request = request!(CreateSecurityGroupRequest {
                zone: args.zone.zone,
                request_id: args.mutation.id(),
                ..args => name, description, stateful, inbound_default_policy, outbound_default_policy,
                    project_default, enable_default_security, tags, project
            });
            show(ctx, client.create_security_group(request)).await
        }
        SecurityGroupsCmd::Update(args) => {
            show(ctx, client.update_security_group(args.request()?)).await
        }
        SecurityGroupsCmd::Replace(replace) => {
            show(
                ctx,
                client
                    .replace_security_group(replace.request::<v1::ReplaceSecurityGroupRequest>()?),
            )
            .await
        }
        SecurityGroupsCmd::Delete {
            zone,
            security_group_id,
            mutation,
        } => {
            let request = v1::DeleteSecurityGroupRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                security_group_id: security_group_id.clone(),
            };
            let deleted = format!("security group {security_group_id} deleted");
            confirm(client.delete_security_group(request), &deleted).await
        }
        SecurityGroupsCmd::DefaultRules { zone, paging } => {
            let request = v1::ListDefaultSecurityGroupRulesRequest {
                zone: zone.zone,
                ..Default::default()
            };
            list!(
                ctx,
                security_groups.list_default_security_group_rules,
                request,
                paging
            )
        }
        SecurityGroupsCmd::Rules(cmd) => rules::run(ctx, cmd).await,
    }
}
