//! What a waiting job observes: a resource's state, read from the zone watcher's shared
//! observations when fresh, otherwise with one GET.

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
    Gone,
}

impl Observed {
    /// `(state, state_detail)`; `("gone", "")` for a 404.
    pub fn state(&self) -> (String, String) {
        match self {
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

    /// The resource as JSON (`null` when gone).
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
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
