//! What a waiting job observes: a resource's state, read from the zone watcher's shared
//! observations when fresh, otherwise with one GET.

use fleet_core::block::{self, unified};
use fleet_core::{Image, PrivateNic, Server, Snapshot, Volume, Zone};
use fleet_jobs::ResourceKind;
use fleet_scaleway::Client;

/// One watched resource. Private NICs are addressed through their server.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WatchKey {
    pub kind: ResourceKind,
    pub id: String,
    /// The server of a private NIC.
    pub parent: Option<String>,
}

impl WatchKey {
    pub fn new(kind: ResourceKind, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
            parent: None,
        }
    }

    pub fn nic(server_id: impl Into<String>, nic_id: impl Into<String>) -> Self {
        Self {
            kind: ResourceKind::PrivateNic,
            id: nic_id.into(),
            parent: Some(server_id.into()),
        }
    }
}

/// A resource as last seen, or its absence (404).
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    Server(Box<Server>),
    Snapshot(Box<Snapshot>),
    Volume(Box<Volume>),
    Image(Box<Image>),
    PrivateNic(Box<PrivateNic>),
    BlockVolume(Box<block::Volume>),
    BlockSnapshot(Box<block::Snapshot>),
    Gone,
}

impl Observed {
    /// `(state, state_detail)`; `("gone", "")` for a 404. A Block resource's detail names its
    /// references (`instance_server detaching`), which change while its status holds.
    pub fn state(&self) -> (String, String) {
        match self {
            Observed::BlockVolume(v) => (v.status.as_str().to_owned(), references(&v.references)),
            Observed::BlockSnapshot(s) => (s.status.as_str().to_owned(), references(&s.references)),
            Observed::Server(s) => (s.state.as_str().to_owned(), s.state_detail.clone()),
            Observed::Snapshot(s) => (s.state.as_str().to_owned(), String::new()),
            Observed::Volume(v) => (v.state.as_str().to_owned(), String::new()),
            Observed::Image(i) => (i.state.as_str().to_owned(), String::new()),
            Observed::PrivateNic(n) => (n.state.as_str().to_owned(), String::new()),
            Observed::Gone => ("gone".to_owned(), String::new()),
        }
    }

    pub fn is_gone(&self) -> bool {
        matches!(self, Observed::Gone)
    }

    /// The resource as JSON (`null` when gone); Block resources in their unified shape.
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            Observed::BlockVolume(v) => serde_json::to_value(unified::volume_as_instance(v)),
            Observed::BlockSnapshot(s) => serde_json::to_value(unified::snapshot_as_instance(s)),
            Observed::Server(s) => serde_json::to_value(s),
            Observed::Snapshot(s) => serde_json::to_value(s),
            Observed::Volume(v) => serde_json::to_value(v),
            Observed::Image(i) => serde_json::to_value(i),
            Observed::PrivateNic(n) => serde_json::to_value(n),
            Observed::Gone => Ok(serde_json::Value::Null),
        };
        value.unwrap_or(serde_json::Value::Null)
    }

    pub fn server(&self) -> Option<&Server> {
        match self {
            Observed::Server(s) => Some(s),
            _ => None,
        }
    }

    pub fn block_volume(&self) -> Option<&block::Volume> {
        match self {
            Observed::BlockVolume(v) => Some(v),
            _ => None,
        }
    }
}

/// `"instance_server attached, internal attached"`: who holds a Block resource, and how far.
fn references(references: &[block::Reference]) -> String {
    references
        .iter()
        .map(|r| format!("{} {}", r.product_resource_type.as_str(), r.status.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One GET of `key`; a 404 is [`Observed::Gone`].
pub async fn fetch(
    client: &Client,
    zone: Zone,
    key: &WatchKey,
) -> Result<Observed, fleet_scaleway::Error> {
    let result = match key.kind {
        ResourceKind::Server => client
            .get_server(zone, &key.id)
            .await
            .map(|s| Observed::Server(Box::new(s))),
        ResourceKind::Snapshot => client
            .get_snapshot(zone, &key.id)
            .await
            .map(|s| Observed::Snapshot(Box::new(s))),
        ResourceKind::Volume => client
            .get_volume(zone, &key.id)
            .await
            .map(|v| Observed::Volume(Box::new(v))),
        ResourceKind::Image => client
            .get_image(zone, &key.id)
            .await
            .map(|i| Observed::Image(Box::new(i))),
        ResourceKind::BlockVolume => client
            .block_get_volume(zone, &key.id)
            .await
            .map(|v| Observed::BlockVolume(Box::new(v))),
        ResourceKind::BlockSnapshot => client
            .block_get_snapshot(zone, &key.id)
            .await
            .map(|s| Observed::BlockSnapshot(Box::new(s))),
        ResourceKind::PrivateNic => {
            let server = key.parent.as_deref().unwrap_or_default();
            client
                .get_private_nic(zone, server, &key.id)
                .await
                .map(|n| Observed::PrivateNic(Box::new(n)))
        }
    };
    match result {
        Err(err) if err.is_not_found() => Ok(Observed::Gone),
        other => other,
    }
}
