//! Flexible IP bodies and queries.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::IpType;
use crate::maybe::Maybe;
use crate::requests::comma_list;
use crate::wire::wire_structs;

wire_structs! {
    /// Query of `GET ips`.
    #[derive(Eq)]
    query ListIpsQuery {
        project?: String,
        organization?: String,
        #[serde(with = "comma_list")]
        tags?: Vec<String>,
        /// Matches the address.
        name?: String,
        per_page?: u32,
        page?: i32,
        /// `routed_ipv4` or `routed_ipv6`.
        #[serde(rename = "type")]
        ip_type?: String,
    }

    /// `POST ips`.
    body CreateIpRequest {
        /// Deprecated.
        organization?: String,
        project?: String,
        tags?: Vec<String>,
        /// Attach at once to this server.
        server?: String,
        #[serde(rename = "type")]
        ip_type?: IpType,
    }

    /// `PATCH ips/{ip}` (by id or address).
    body UpdateIpRequest {
        /// A name sets the reverse (it must resolve to the IP), `null` resets.
        reverse: Maybe<String>,
        /// Has no effect.
        #[serde(rename = "type")]
        ip_type?: IpType,
        tags?: Vec<String>,
        /// A server id attaches, `null` detaches.
        server: Maybe<String>,
    }

    /// `POST ips/{ip_id}/release-to-ipam`: the SDK sends `{}`.
    body ReleaseIpToIpamRequest {
    }
}
