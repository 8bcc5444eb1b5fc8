//! `security-groups rules`: the rules of one security group.

use clap::{Args, Subcommand};
use fleet_proto::v1;

use super::{Changes, confirm, file_source, from_file, list, show};
use crate::args::{Mutation, Paging, Zone};
use crate::ctx::Ctx;
use crate::error::CliError;

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

impl RuleFields {
    /// The flags a new rule cannot do without, among those not given.
    fn missing(&self) -> Vec<&'static str> {
        [
            ("--protocol", self.protocol.is_none()),
            ("--direction", self.direction.is_none()),
            ("--action", self.action.is_none()),
            ("--ip-range", self.ip_range.is_none()),
        ]
        .iter()
        .filter(|(_, missing)| *missing)
        .map(|(flag, _)| *flag)
        .collect()
    }

    /// The rule's changes: the fields given, named in the update mask.
    fn changes(self, rule: &mut v1::SecurityGroupRule) -> Changes {
        let mut changes = Changes::default();
        changes.set("protocol", &mut rule.protocol, self.protocol);
        changes.set("direction", &mut rule.direction, self.direction);
        changes.set("action", &mut rule.action, self.action);
        changes.set("ip_range", &mut rule.ip_range, self.ip_range);
        changes.set_some(
            "dest_port_from",
            &mut rule.dest_port_from,
            self.dest_port_from,
        );
        changes.set_some("dest_port_to", &mut rule.dest_port_to, self.dest_port_to);
        changes.set("position", &mut rule.position, self.position);
        changes
    }
}

pub async fn run(ctx: &Ctx, cmd: RulesCmd) -> Result<(), CliError> {
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
            list!(
                ctx,
                security_groups.list_security_group_rules,
                request,
                paging
            )
        }
        RulesCmd::Get {
            zone,
            security_group_id,
            rule_id,
        } => {
            let request = v1::GetSecurityGroupRuleRequest {
                zone: zone.zone,
                security_group_id,
                security_group_rule_id: rule_id,
            };
            show(ctx, client.get_security_group_rule(request)).await
        }
        RulesCmd::Create {
            zone,
            security_group_id,
            fields,
            mutation,
        } => {
            let missing = fields.missing();
            if !missing.is_empty() {
                return Err(CliError::usage(format!(
                    "a new rule needs {}",
                    missing.join(", ")
                )));
            }
            let request = v1::CreateSecurityGroupRuleRequest {
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
            };
            show(ctx, client.create_security_group_rule(request)).await
        }
        RulesCmd::Set {
            zone,
            security_group_id,
            file,
            mutation,
        } => {
            let rules = match file_source(&file).json()? {
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
            show(ctx, client.set_security_group_rules(request)).await
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
            let update_mask = fields.changes(&mut rule).mask(
                "--protocol, --direction, --action, --ip-range, --dest-port-from, --dest-port-to or --position",
            )?;
            let request = v1::UpdateSecurityGroupRuleRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                security_group_id,
                rule: Some(rule),
                update_mask: Some(update_mask),
            };
            show(ctx, client.update_security_group_rule(request)).await
        }
        RulesCmd::Replace {
            zone,
            security_group_id,
            file,
            mutation,
        } => {
            let request = v1::ReplaceSecurityGroupRuleRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                security_group_id,
                rule: Some(from_file(&file)?),
            };
            show(ctx, client.replace_security_group_rule(request)).await
        }
        RulesCmd::Delete {
            zone,
            security_group_id,
            rule_id,
            mutation,
        } => {
            let request = v1::DeleteSecurityGroupRuleRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                security_group_id,
                security_group_rule_id: rule_id.clone(),
            };
            let deleted = format!("rule {rule_id} deleted");
            confirm(client.delete_security_group_rule(request), &deleted).await
        }
    }
}
