//! Security-group and rule bodies and queries.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::{
    SecurityGroupPolicy, SecurityGroupRuleAction, SecurityGroupRuleDirection,
    SecurityGroupRuleProtocol,
};
use crate::maybe::Maybe;
use crate::requests::{PaginationQuery, comma_list};
use crate::resources::ServerSummary;
use crate::time::Timestamp;
use crate::wire::wire_structs;

wire_structs! {
    /// Query of `GET security_groups`.
    #[derive(Eq)]
    query ListSecurityGroupsQuery {
        name?: String,
        organization?: String,
        project?: String,
        #[serde(with = "comma_list")]
        tags?: Vec<String>,
        project_default?: bool,
        per_page?: u32,
        page?: i32,
    }
}

/// Query of `GET security_groups/{security_group_id}/rules`.
pub type ListSecurityGroupRulesQuery = PaginationQuery;

wire_structs! {
    /// `POST security_groups`.
    body CreateSecurityGroupRequest {
        name?: String,
        description?: String,
        /// Deprecated.
        organization?: String,
        project?: String,
        tags?: Vec<String>,
        /// Deprecated.
        organization_default?: bool,
        project_default?: bool,
        stateful?: bool,
        inbound_default_policy?: SecurityGroupPolicy,
        outbound_default_policy?: SecurityGroupPolicy,
        /// Read-only in practice (support ticket to change).
        enable_default_security?: bool,
    }

    /// `PATCH security_groups/{security_group_id}`.
    body UpdateSecurityGroupRequest {
        name?: String,
        description?: String,
        enable_default_security?: bool,
        inbound_default_policy?: SecurityGroupPolicy,
        tags?: Vec<String>,
        /// Deprecated.
        organization_default?: bool,
        project_default?: bool,
        outbound_default_policy?: SecurityGroupPolicy,
        stateful?: bool,
    }

    /// `PUT security_groups/{id}`: full replacement, every field sent.
    body SetSecurityGroupRequest {
        name: String,
        tags: Option<Vec<String>>,
        creation_date: Option<Timestamp>,
        modification_date: Option<Timestamp>,
        description: String,
        enable_default_security: bool,
        inbound_default_policy: SecurityGroupPolicy,
        outbound_default_policy: SecurityGroupPolicy,
        organization: String,
        project: String,
        organization_default: Option<bool>,
        project_default: bool,
        servers: Vec<ServerSummary>,
        stateful: bool,
    }

    /// `POST security_groups/{security_group_id}/rules`.
    body CreateSecurityGroupRuleRequest {
        protocol?: SecurityGroupRuleProtocol,
        direction?: SecurityGroupRuleDirection,
        action?: SecurityGroupRuleAction,
        /// CIDR, e.g. `8.8.8.8/32`.
        ip_range?: String,
        dest_port_from?: u32,
        dest_port_to?: u32,
        position?: u32,
        /// Ignored by the API.
        editable?: bool,
    }

    /// One rule of `PUT security_groups/{security_group_id}/rules`: without
    /// `id` it is created, with `id` updated; editable rules left out are
    /// deleted. The Go SDK sends `null` for unset fields, hence [`Maybe`].
    body SetSecurityGroupRulesRequestRule {
        id: Maybe<String>,
        action?: SecurityGroupRuleAction,
        protocol?: SecurityGroupRuleProtocol,
        direction?: SecurityGroupRuleDirection,
        ip_range?: String,
        dest_port_from: Maybe<u32>,
        dest_port_to: Maybe<u32>,
        /// The Go SDK was seen sending `0`; the API renumbers from 1.
        position?: u32,
        /// Rules with `false` are ignored.
        editable: Maybe<bool>,
        /// Ignored by the API, so kept as a plain string.
        zone: Maybe<String>,
    }

    /// `PUT security_groups/{security_group_id}/rules`.
    body SetSecurityGroupRulesRequest {
        rules?: Vec<SetSecurityGroupRulesRequestRule>,
    }

    /// `PATCH security_groups/{security_group_id}/rules/{security_group_rule_id}`.
    body UpdateSecurityGroupRuleRequest {
        protocol?: SecurityGroupRuleProtocol,
        direction?: SecurityGroupRuleDirection,
        action?: SecurityGroupRuleAction,
        ip_range?: String,
        /// `0` unsets the port.
        dest_port_from?: u32,
        /// `0` unsets the port.
        dest_port_to?: u32,
        position?: u32,
    }

    /// `PUT security_groups/{security_group_id}/rules/{security_group_rule_id}`:
    /// every field sent.
    body SetSecurityGroupRuleRequest {
        id: String,
        protocol: SecurityGroupRuleProtocol,
        direction: SecurityGroupRuleDirection,
        action: SecurityGroupRuleAction,
        ip_range: String,
        dest_port_from: Option<u32>,
        dest_port_to: Option<u32>,
        position: u32,
        editable: bool,
    }
}
