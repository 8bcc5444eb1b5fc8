//! Security groups and their rules.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::{
    SecurityGroupPolicy, SecurityGroupRuleAction, SecurityGroupRuleDirection,
    SecurityGroupRuleProtocol, SecurityGroupState,
};
use crate::maybe::Maybe;
use crate::resources::ServerSummary;
use crate::time::Timestamp;
use crate::zone::Zone;

/// A security group.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityGroup {
    pub id: String,
    pub creation_date: Option<Timestamp>,
    pub modification_date: Option<Timestamp>,
    pub name: String,
    /// Usually `null` when none was given.
    pub description: Option<String>,
    pub organization: String,
    pub project: String,
    pub servers: Vec<ServerSummary>,
    pub stateful: bool,
    pub inbound_default_policy: SecurityGroupPolicy,
    pub outbound_default_policy: SecurityGroupPolicy,
    /// Deprecated.
    pub organization_default: Option<bool>,
    pub project_default: bool,
    /// True when the default SMTP-blocking rules apply.
    pub enable_default_security: bool,
    pub state: SecurityGroupState,
    pub tags: Vec<String>,
    pub zone: Zone,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{id, name}` reference to a security group (on servers).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityGroupSummary {
    pub id: String,
    pub name: String,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A rule of a security group.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityGroupRule {
    pub id: String,
    pub protocol: SecurityGroupRuleProtocol,
    pub direction: SecurityGroupRuleDirection,
    /// CIDR on input; host ranges come back without prefix (`8.8.8.8`).
    pub ip_range: String,
    /// Undocumented, always `null` in recordings.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub dest_ip_range: Maybe<String>,
    /// `null` for ICMP/ANY.
    pub dest_port_from: Option<u32>,
    /// `null` for ICMP/ANY or when equal to `dest_port_from`.
    pub dest_port_to: Option<u32>,
    pub position: u32,
    /// False for the six default SMTP-blocking rules.
    pub editable: bool,
    pub action: SecurityGroupRuleAction,
    pub zone: Zone,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
