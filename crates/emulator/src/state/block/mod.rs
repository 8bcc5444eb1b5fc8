//! The Block Storage API (SBS), `v1` and `v1alpha1`, over the same world as
//! the Instance API: Block volumes and snapshots live here, and servers and
//! images hold them through [`Holder`]s (the API's `references`).
//!
//! What a resource shows as its status is derived, not stored: a volume is
//! `in_use` while a server holds it and a snapshot while an image does; the
//! stored `phase` only says what the resource is doing (`creating`,
//! `updating`, `exporting`) or that it is at rest (`available`). Timed
//! changes are [`Event`]s of the world's queue, after the configured
//! transition like every Instance change.
//!
//! The Instance side of the interplay (a server's root made from an image
//! label, attach/detach, terminate, backup, images of Block snapshots, block
//! migration) lives in the Instance modules and calls the functions here.

pub mod references;
pub mod snapshots;
pub mod volume_types;
pub mod volumes;

use std::time::{Duration, Instant, SystemTime};

use fleet_core::Timestamp;
use fleet_core::block::{BlockResource, ListOrderBy};
use uuid::Uuid;

pub use references::Holder;
pub use snapshots::BlockSnapshot;
pub use volumes::BlockVolume;

use super::{Ctx, Owner, World};
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::Req;

/// A scheduled Block change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    /// A volume's `creating` or `updating` ends (a pending resize or IOPS
    /// change is applied).
    VolumeReady(Uuid),
    /// A server's `attaching` reference to a volume becomes `attached`.
    VolumeAttached {
        /// Volume id.
        volume: Uuid,
        /// Reference id.
        reference: Uuid,
    },
    /// A server's `detaching` reference to a volume goes away.
    VolumeDetached {
        /// Volume id.
        volume: Uuid,
        /// Reference id.
        reference: Uuid,
    },
    /// A snapshot being created gets the Block API's own `internal` hold
    /// on it (recorded half-way through a create).
    SnapshotInternal(Uuid),
    /// A snapshot's `creating` or `exporting` ends.
    SnapshotReady(Uuid),
    /// A deleted image lets go of a snapshot.
    SnapshotUnlinked {
        /// Snapshot id.
        snapshot: Uuid,
        /// Image id.
        image: Uuid,
    },
}

/// Schedule `ev` after `after` from `now`.
pub fn schedule(w: &mut World, now: Instant, after: Duration, ev: Event) {
    w.schedule(now, after, super::Event::Block(ev));
}

/// Apply a due Block event.
pub fn apply(w: &mut World, ev: Event, wall: SystemTime) {
    match ev {
        Event::VolumeReady(id) => volumes::settle(w, id, wall),
        Event::VolumeAttached { volume, reference } => {
            volumes::attached(w, volume, reference, wall);
        }
        Event::VolumeDetached { volume, reference } => {
            volumes::detached(w, volume, reference, wall);
        }
        Event::SnapshotInternal(id) => snapshots::hold_internally(w, id, wall),
        Event::SnapshotReady(id) => snapshots::settle(w, id, wall),
        Event::SnapshotUnlinked { snapshot, image } => {
            snapshots::release(w, snapshot, image, wall);
        }
    }
}

/// A wall-clock time as the Block API writes it (`…T09:54:11.906519Z`;
/// the Instance API writes `+00:00`).
pub fn ts(t: SystemTime) -> Option<Timestamp> {
    Timestamp::parse(&crate::util::rfc3339_z(t)).ok()
}

/// The Block `not_found` body (`resource` is `volume` or `snapshot`).
pub fn not_found(resource: BlockResource, id: Uuid) -> Error {
    Error::not_found(resource.as_str(), id.to_string())
}

/// The owner of a Block create: `project_id`, else the tenant's default
/// project; a foreign project is refused.
pub fn owner_for_create(w: &World, ctx: &Ctx, project_id: Option<&str>) -> ApiResult<Owner> {
    w.owner_for_create(ctx, project_id, None)
}

/// What every Block list filters on: `project_id`, `organization_id`,
/// `name` (substring) and `tags` (all of them). A project the caller does
/// not own simply matches nothing, as recorded.
pub fn list_filter(req: &Req, o: &Owner, name: &str, tags: &[String]) -> bool {
    if req.q("project_id").is_some_and(|p| o.project != p)
        || req
            .q("organization_id")
            .is_some_and(|org| o.organization != org)
        || req.q("name").is_some_and(|n| !name.contains(n))
    {
        return false;
    }
    req.q_list("tags").iter().all(|t| tags.contains(t))
}

/// `order_by` of a Block list (default `created_at_asc`).
pub fn order_by(req: &Req) -> ApiResult<ListOrderBy> {
    let order = req.q("order_by").map(ListOrderBy::from).unwrap_or_default();
    if order.is_known() {
        Ok(order)
    } else {
        Err(Error::invalid(ArgDetail::constraint(
            "order_by",
            format!("{:?} is not a valid order", order.as_str()),
        )))
    }
}

/// Sort a Block list by `order`; `key` gives (creation order, name).
pub fn sort<T>(items: &mut [T], order: &ListOrderBy, key: impl Fn(&T) -> (u64, &str)) {
    match order {
        ListOrderBy::CreatedAtDesc => items.sort_by_key(|x| std::cmp::Reverse(key(x).0)),
        ListOrderBy::NameAsc => items.sort_by(|a, b| key(a).1.cmp(key(b).1)),
        ListOrderBy::NameDesc => items.sort_by(|a, b| key(b).1.cmp(key(a).1)),
        _ => items.sort_by_key(|x| key(x).0),
    }
}

/// Tags of a create or update body (`null` is no tags).
pub fn tags(t: fleet_core::Maybe<Vec<String>>) -> Option<Vec<String>> {
    t.into_patch().map(Option::unwrap_or_default)
}

/// A name argument: empty counts as absent.
pub fn name(n: Option<String>) -> Option<String> {
    n.filter(|s| !s.trim().is_empty())
}
