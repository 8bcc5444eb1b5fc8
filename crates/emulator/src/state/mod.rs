//! The in-memory world: every resource of every tenant, the lazily applied
//! state transitions; `dispatch` hands a request to its handler.
//!
//! Transitions are events in a time-ordered queue, applied at the start of
//! every request (under the world lock) for every event whose time has come.
//! No timers run in the background, so an idle emulator costs nothing and a
//! transition is visible exactly when its time has passed.

pub mod block;
mod dispatch;
pub mod images;
pub mod ips;
pub mod placement_groups;
pub mod private_nics;
pub mod products;
pub mod security_groups;
pub mod servers;
pub mod snapshots;
pub mod volumes;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use fleet_core::{ServerSummary, Task, TaskStatus, Timestamp, Zone};
use serde::{Deserialize, Serialize};
use serde_json::Map;
use uuid::Uuid;

use crate::auth::Tenant;
use crate::catalog_data::Catalog;
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::{Obj, Req};
use crate::util::{SplitMix, parse_uuid};

pub use dispatch::dispatch;
pub use images::Image;
pub use ips::Ip;
pub use placement_groups::PlacementGroup;
pub use private_nics::PrivateNic;
pub use security_groups::SecurityGroup;
pub use servers::Server;
pub use snapshots::Snapshot;
pub use volumes::Volume;

/// Per-tenant, per-zone resource quotas; a create beyond one answers 403
/// `quotas_exceeded` with the quota and the current count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Quotas {
    /// Servers.
    pub servers: u64,
    /// Local volumes.
    pub volumes: u64,
    /// Snapshots.
    pub snapshots: u64,
    /// Images.
    pub images: u64,
    /// Flexible IPs.
    pub ips: u64,
    /// Security groups.
    pub security_groups: u64,
    /// Placement groups.
    pub placement_groups: u64,
    /// Private NICs.
    pub private_nics: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            servers: 500,
            volumes: 1000,
            snapshots: 1000,
            images: 500,
            ips: 500,
            security_groups: 500,
            placement_groups: 100,
            private_nics: 1000,
        }
    }
}

/// Who asks, where, and when.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Authenticated tenant.
    pub tenant: Tenant,
    /// Zone of the path.
    pub zone: String,
    /// Wall-clock time of the request (for timestamps).
    pub now: SystemTime,
    /// Monotonic time of the request (for transitions).
    pub instant: Instant,
}

/// Common ownership fields of every resource.
#[derive(Debug, Clone)]
pub struct Owner {
    /// Zone.
    pub zone: String,
    /// Project id.
    pub project: String,
    /// Organization id.
    pub organization: String,
}

/// A scheduled state change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    /// A server step; ignored when `generation` is stale.
    Server {
        /// Server id.
        id: Uuid,
        /// Generation at scheduling time.
        generation: u64,
        /// What happens.
        step: servers::Step,
    },
    /// Volume back to `available`.
    VolumeAvailable(Uuid),
    /// Snapshot back to `available`.
    SnapshotAvailable(Uuid),
    /// Image to `available`.
    ImageAvailable(Uuid),
    /// Private NIC to `available`, unless it moved again since (its
    /// `moves` then differs from the one recorded here).
    NicAvailable(Uuid, u64),
    /// Security group back to `available`.
    SecurityGroupAvailable(Uuid),
    /// Filesystem attachment settles (attached or removed).
    Filesystem {
        /// Server id.
        server: Uuid,
        /// Filesystem id.
        filesystem: String,
    },
    /// A Block volume or snapshot change.
    Block(block::Event),
}

/// Every resource of every tenant.
#[derive(Debug)]
pub struct World {
    /// Static catalogue.
    pub catalog: Arc<Catalog>,
    /// How long a transient state lasts.
    pub transition: Duration,
    /// Quotas applied to every tenant.
    pub quotas: Quotas,
    rng: SplitMix,
    seq: u64,
    events: BinaryHeap<Reverse<(Instant, u64, Event)>>,
    /// Servers.
    pub servers: HashMap<Uuid, Server>,
    /// Instance volumes (`l_ssd`, `scratch`, `b_ssd`).
    pub volumes: HashMap<Uuid, Volume>,
    /// Instance snapshots.
    pub snapshots: HashMap<Uuid, Snapshot>,
    /// Block volumes (SBS, and `b_ssd` ones after a block migration).
    pub block_volumes: HashMap<Uuid, block::BlockVolume>,
    /// Block snapshots.
    pub block_snapshots: HashMap<Uuid, block::BlockSnapshot>,
    /// Objects written by Block exports (`region/bucket/key` → bytes), so
    /// an import of one knows its size.
    pub exported_objects: HashMap<String, u64>,
    /// Tenant images.
    pub images: HashMap<Uuid, Image>,
    /// Flexible IPs.
    pub ips: HashMap<Uuid, Ip>,
    /// Security groups.
    pub security_groups: HashMap<Uuid, SecurityGroup>,
    /// Placement groups.
    pub placement_groups: HashMap<Uuid, PlacementGroup>,
    /// Private NICs.
    pub private_nics: HashMap<Uuid, PrivateNic>,
    /// Pending block-migration plans by validation key.
    pub migration_plans: HashMap<String, Vec<Uuid>>,
    /// Locked resources (any kind, by id): they answer 409 `locked` to
    /// every change, and locked servers show the `locked` state.
    pub locked: HashSet<Uuid>,
    /// (zone, commercial type) pairs with no capacity left: creating or
    /// starting such a server answers 503 `out_of_stock`, and the type
    /// shows `shortage` in `products/servers/availability`.
    pub out_of_stock: HashSet<(String, String)>,
    counter: u32,
}

impl World {
    /// An empty world.
    pub fn new(catalog: Arc<Catalog>, transition: Duration, seed: u64, quotas: Quotas) -> Self {
        Self {
            catalog,
            transition,
            quotas,
            rng: SplitMix::new(seed),
            seq: 0,
            events: BinaryHeap::new(),
            servers: HashMap::new(),
            volumes: HashMap::new(),
            snapshots: HashMap::new(),
            block_volumes: HashMap::new(),
            block_snapshots: HashMap::new(),
            exported_objects: HashMap::new(),
            images: HashMap::new(),
            ips: HashMap::new(),
            security_groups: HashMap::new(),
            placement_groups: HashMap::new(),
            private_nics: HashMap::new(),
            migration_plans: HashMap::new(),
            locked: HashSet::new(),
            out_of_stock: HashSet::new(),
            counter: 0,
        }
    }

    /// A fresh id.
    pub fn new_id(&mut self) -> Uuid {
        self.rng.uuid()
    }

    /// Random bits.
    pub fn random(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// A monotonically increasing sequence number (creation order).
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A small counter for addresses.
    pub fn next_counter(&mut self) -> u32 {
        self.counter = self.counter.wrapping_add(1);
        self.counter
    }

    /// Schedule `ev` after `after` from `now`.
    pub fn schedule(&mut self, now: Instant, after: Duration, ev: Event) {
        let seq = self.next_seq();
        self.events.push(Reverse((now + after, seq, ev)));
    }

    /// Apply every event due at `now`.
    pub fn settle(&mut self, now: Instant, wall: SystemTime) {
        while let Some(Reverse((at, _, _))) = self.events.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, _, ev))) = self.events.pop() else {
                break;
            };
            self.apply(ev, now, wall);
        }
    }

    fn apply(&mut self, ev: Event, now: Instant, wall: SystemTime) {
        match ev {
            Event::Server {
                id,
                generation,
                step,
            } => servers::apply_step(self, id, generation, step, now, wall),
            Event::VolumeAvailable(id) => {
                if let Some(v) = self.volumes.get_mut(&id)
                    && v.state != "available"
                {
                    v.state = "available".into();
                    v.modified = wall;
                }
            }
            Event::SnapshotAvailable(id) => {
                if let Some(s) = self.snapshots.get_mut(&id) {
                    s.state = "available".into();
                    s.modified = wall;
                }
            }
            Event::ImageAvailable(id) => {
                if let Some(i) = self.images.get_mut(&id) {
                    i.state = "available".into();
                    i.modified = wall;
                }
            }
            Event::NicAvailable(id, moves) => {
                if let Some(n) = self.private_nics.get_mut(&id).filter(|n| n.moves == moves) {
                    n.state = "available".into();
                    n.modified = wall;
                }
            }
            Event::SecurityGroupAvailable(id) => {
                if let Some(g) = self.security_groups.get_mut(&id) {
                    g.state = "available".into();
                }
            }
            Event::Block(ev) => block::apply(self, ev, wall),
            Event::Filesystem { server, filesystem } => {
                if let Some(s) = self.servers.get_mut(&server) {
                    s.filesystems.retain(|(_, st)| st != "detaching");
                    for (fs, st) in &mut s.filesystems {
                        if *fs == filesystem && st == "attaching" {
                            *st = "available".into();
                        }
                    }
                }
            }
        }
    }

    /// Resolve the project of a create: `project`, else `organization`'s
    /// default project, else the tenant's default; refuse foreign projects.
    pub fn owner_for_create(
        &self,
        ctx: &Ctx,
        project: Option<&str>,
        organization: Option<&str>,
    ) -> ApiResult<Owner> {
        let project = project.filter(|p| !p.is_empty()).map(str::to_owned);
        let organization = organization.filter(|o| !o.is_empty());
        let project = match (project, organization) {
            (Some(p), _) => {
                if parse_uuid(&p).is_none() {
                    return Err(Error::invalid(ArgDetail::format(
                        "project",
                        "not a valid UUID",
                    )));
                }
                p
            }
            (None, Some(o)) => {
                if o != ctx.tenant.organization {
                    return Err(Error::permissions_denied("instance_organization", "write"));
                }
                ctx.tenant.default_project.clone()
            }
            (None, None) => ctx.tenant.default_project.clone(),
        };
        if !ctx.tenant.owns(&project) {
            return Err(Error::permissions_denied("instance_project", "write"));
        }
        Ok(Owner {
            zone: ctx.zone.clone(),
            project,
            organization: ctx.tenant.organization.clone(),
        })
    }

    /// Refuse a create beyond the tenant's quota in this zone.
    pub fn check_quota(
        &self,
        ctx: &Ctx,
        resource: &'static str,
        current: usize,
        quota: u64,
    ) -> ApiResult<()> {
        let current = current as u64;
        if current >= quota {
            return Err(Error::quotas_exceeded(resource, quota, current));
        }
        let _ = ctx;
        Ok(())
    }
}

/// Whether a resource is visible to the request's tenant in its zone.
pub fn visible(ctx: &Ctx, o: &Owner) -> bool {
    o.zone == ctx.zone && ctx.tenant.owns(&o.project)
}

/// Common list filters: project, organization, name substring, tags (all).
pub fn list_filter(req: &Req, o: &Owner, name: &str, tags: &[String]) -> bool {
    if let Some(p) = req.q("project")
        && o.project != p
    {
        return false;
    }
    if let Some(org) = req.q("organization")
        && o.organization != org
    {
        return false;
    }
    if let Some(n) = req.q("name")
        && !name.contains(n)
    {
        return false;
    }
    let want = req.q_list("tags");
    want.iter().all(|t| tags.contains(t))
}

/// A wall-clock time in the API's timestamp format.
pub fn ts(t: SystemTime) -> Timestamp {
    Timestamp::new(time::OffsetDateTime::from(t))
}

/// The zone of a resource. Zones are validated by the router before any
/// resource exists, so the fallback is never taken.
pub fn zone(z: &str) -> Zone {
    z.parse().unwrap_or_default()
}

/// `{"id", "name"}` reference to a server.
pub fn summary(id: Uuid, name: &str) -> ServerSummary {
    ServerSummary {
        id: id.to_string(),
        name: name.to_owned(),
        extra: Map::new(),
    }
}

/// A deprecated-but-returned task object.
pub fn task(ctx: &Ctx, id: Uuid, description: &str, href_from: &str, href_result: &str) -> Task {
    Task {
        id: id.to_string(),
        description: description.to_owned(),
        status: TaskStatus::Pending,
        href_from: href_from.to_owned(),
        href_result: href_result.to_owned(),
        started_at: Some(ts(ctx.now)),
        terminated_at: None,
        progress: 0,
        zone: zone(&ctx.zone),
        extra: Map::new(),
    }
}

/// Validate `tags` in a body.
pub fn tags_of(body: &Obj) -> ApiResult<Option<Vec<String>>> {
    body.str_list("tags")
}
