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

/// Query of `GET security_groups`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ListSecurityGroupsQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", with = "comma_list")]
    pub tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_default: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<i32>,
}

/// Query of `GET security_groups/{security_group_id}/rules`.
pub type ListSecurityGroupRulesQuery = PaginationQuery;

/// `POST security_groups`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateSecurityGroupRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_default: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_default: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stateful: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbound_default_policy: Option<SecurityGroupPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound_default_policy: Option<SecurityGroupPolicy>,
    /// Read-only in practice (support ticket to change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_default_security: Option<bool>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PATCH security_groups/{security_group_id}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateSecurityGroupRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_default_security: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbound_default_policy: Option<SecurityGroupPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_default: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_default: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound_default_policy: Option<SecurityGroupPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stateful: Option<bool>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PUT security_groups/{id}`: full replacement, every field sent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SetSecurityGroupRequest {
    pub name: String,
    pub tags: Option<Vec<String>>,
    pub creation_date: Option<Timestamp>,
    pub modification_date: Option<Timestamp>,
    pub description: String,
    pub enable_default_security: bool,
    pub inbound_default_policy: SecurityGroupPolicy,
    pub outbound_default_policy: SecurityGroupPolicy,
    pub organization: String,
    pub project: String,
    pub organization_default: Option<bool>,
    pub project_default: bool,
    pub servers: Vec<ServerSummary>,
    pub stateful: bool,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST security_groups/{security_group_id}/rules`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateSecurityGroupRuleRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<SecurityGroupRuleProtocol>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<SecurityGroupRuleDirection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<SecurityGroupRuleAction>,
    /// CIDR, e.g. `8.8.8.8/32`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port_from: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port_to: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
    /// Ignored by the API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub editable: Option<bool>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One rule of `PUT security_groups/{security_group_id}/rules`: without
/// `id` it is created, with `id` updated; editable rules left out are
/// deleted. The Go SDK sends `null` for unset fields, hence [`Maybe`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SetSecurityGroupRulesRequestRule {
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub id: Maybe<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<SecurityGroupRuleAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<SecurityGroupRuleProtocol>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<SecurityGroupRuleDirection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub dest_port_from: Maybe<u32>,
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub dest_port_to: Maybe<u32>,
    /// The Go SDK was seen sending `0`; the API renumbers from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
    /// Rules with `false` are ignored.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub editable: Maybe<bool>,
    /// Ignored by the API, so kept as a plain string.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub zone: Maybe<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PUT security_groups/{security_group_id}/rules`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SetSecurityGroupRulesRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<SetSecurityGroupRulesRequestRule>>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PATCH security_groups/{security_group_id}/rules/{security_group_rule_id}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateSecurityGroupRuleRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<SecurityGroupRuleProtocol>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<SecurityGroupRuleDirection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<SecurityGroupRuleAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    /// `0` unsets the port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port_from: Option<u32>,
    /// `0` unsets the port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port_to: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PUT security_groups/{security_group_id}/rules/{security_group_rule_id}`:
/// every field sent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SetSecurityGroupRuleRequest {
    pub id: String,
    pub protocol: SecurityGroupRuleProtocol,
    pub direction: SecurityGroupRuleDirection,
    pub action: SecurityGroupRuleAction,
    pub ip_range: String,
    pub dest_port_from: Option<u32>,
    pub dest_port_to: Option<u32>,
    pub position: u32,
    pub editable: bool,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
