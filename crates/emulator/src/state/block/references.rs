//! A product resource's hold on a Block volume or snapshot: what the API
//! lists under `references` (a server's `exclusive` hold on its volumes,
//! an image's `link` to its snapshots, the Block API's own `internal` hold
//! on a snapshot being created).

use std::time::SystemTime;

use fleet_core::block::{ProductResourceType, Reference, ReferenceStatus, ReferenceType};
use serde_json::Map;
use uuid::Uuid;

/// One reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Reference id.
    pub id: Uuid,
    /// What holds the resource.
    pub kind: ProductResourceType,
    /// The server or image (nil for `internal`).
    pub resource: Uuid,
    /// How it holds it.
    pub link: ReferenceType,
    /// Where the hold is.
    pub status: ReferenceStatus,
    /// When it was taken.
    pub created: SystemTime,
}

impl Holder {
    /// A server's hold on one of its volumes.
    pub fn server(id: Uuid, server: Uuid, status: ReferenceStatus, now: SystemTime) -> Self {
        Self {
            id,
            kind: ProductResourceType::InstanceServer,
            resource: server,
            link: ReferenceType::Exclusive,
            status,
            created: now,
        }
    }

    /// An image's link to one of its snapshots.
    pub fn image(id: Uuid, image: Uuid, now: SystemTime) -> Self {
        Self {
            id,
            kind: ProductResourceType::InstanceImage,
            resource: image,
            link: ReferenceType::Link,
            status: ReferenceStatus::Attached,
            created: now,
        }
    }

    /// The Block API's own hold on a snapshot being created (recorded:
    /// `internal`, all-zero resource id, `unknown_type`, `attached`).
    pub fn internal(id: Uuid, now: SystemTime) -> Self {
        Self {
            id,
            kind: ProductResourceType::Internal,
            resource: Uuid::nil(),
            link: ReferenceType::UnknownType,
            status: ReferenceStatus::Attached,
            created: now,
        }
    }

    /// Whether this is `server`'s hold.
    pub fn is_server(&self, server: Uuid) -> bool {
        self.kind == ProductResourceType::InstanceServer && self.resource == server
    }

    /// As the API shows it.
    pub fn render(&self) -> Reference {
        Reference {
            id: self.id.to_string(),
            product_resource_type: self.kind.clone(),
            product_resource_id: self.resource.to_string(),
            created_at: super::ts(self.created),
            reference_type: self.link.clone(),
            status: self.status.clone(),
            extra: Map::new(),
        }
    }
}
