//! Private NICs connecting a server to a Private Network.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::PrivateNicState;
use crate::maybe::Maybe;
use crate::time::Timestamp;
use crate::zone::Zone;

/// A private NIC.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PrivateNic {
    pub id: String,
    pub private_network_id: String,
    pub server_id: String,
    pub mac_address: String,
    pub state: PrivateNicState,
    pub creation_date: Option<Timestamp>,
    /// Undocumented but always sent by the live API.
    #[serde(skip_serializing_if = "Maybe::is_absent")]
    pub modification_date: Maybe<Timestamp>,
    pub zone: Zone,
    pub tags: Vec<String>,
    pub ipam_ip_ids: Vec<String>,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
