//! Flexible IP bodies and queries.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::IpType;
use crate::maybe::Maybe;
use crate::requests::comma_list;

/// Query of `GET ips`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ListIpsQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", with = "comma_list")]
    pub tags: Option<Vec<String>>,
    /// Matches the address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<i32>,
    /// `routed_ipv4` or `routed_ipv6`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub ip_type: Option<String>,
}

/// `POST ips`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateIpRequest {
    /// Deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Attach at once to this server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub ip_type: Option<IpType>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PATCH ips/{ip}` (by id or address).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateIpRequest {
    /// A name sets the reverse (it must resolve to the IP), `null` resets.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub reverse: Maybe<String>,
    /// Has no effect.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub ip_type: Option<IpType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// A server id attaches, `null` detaches.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub server: Maybe<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST ips/{ip_id}/release-to-ipam`: the SDK sends `{}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ReleaseIpToIpamRequest {
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
