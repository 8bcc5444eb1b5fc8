//! Private NIC bodies and queries.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::requests::comma_list;
use crate::wire::wire_structs;

wire_structs! {
    /// Query of `GET servers/{server_id}/private_nics`.
    #[derive(Eq)]
    query ListPrivateNicsQuery {
        #[serde(with = "comma_list")]
        tags?: Vec<String>,
        per_page?: u32,
        page?: i32,
    }

    /// `POST servers/{server_id}/private_nics`.
    body CreatePrivateNicRequest {
        private_network_id?: String,
        tags?: Vec<String>,
        /// Deprecated.
        ip_ids?: Vec<String>,
        ipam_ip_ids?: Vec<String>,
    }

    /// `PATCH servers/{server_id}/private_nics/{private_nic_id}`.
    body UpdatePrivateNicRequest {
        tags?: Vec<String>,
    }
}
