//! Block volumes: created empty or from a snapshot (`creating` →
//! `available`), resized (grow only) or moved between `sbs_5k` and
//! `sbs_15k` through `updating`, held by servers (`in_use`), deleted once
//! free. Servers made from an image label get their root here.

use std::time::{Instant, SystemTime};

use fleet_core::block::{
    BlockResource, CreateVolumeRequest, ListVolumesResponse, MAX_VOLUME_SIZE, MIN_VOLUME_SIZE,
    ProductResourceType, ReferenceStatus, StorageClass, UpdateVolumeRequest, Volume, VolumeSource,
    VolumeSpecs, VolumeStatus, VolumeType,
};
use fleet_core::{Maybe, PreconditionFailedKind};
use serde_json::Map;
use uuid::Uuid;

use super::{
    Event, Holder, list_filter, not_found, order_by, owner_for_create, schedule, sort, ts,
};
use crate::errors::{ApiError, ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp, Version, uuid_arg};
use crate::pagination::block_list_response;
use crate::state::{Ctx, Owner, World, visible, zone};

/// Bytes in a gigabyte: Block sizes go in 1 GB steps.
const GB: u64 = fleet_core::block::GB;

/// A Block volume.
#[derive(Debug, Clone)]
pub struct BlockVolume {
    /// Id.
    pub id: Uuid,
    /// Ownership.
    pub owner: Owner,
    /// Name.
    pub name: String,
    /// `sbs_5k`, `sbs_15k`, or `b_ssd` after a block migration.
    pub volume_type: VolumeType,
    /// `sbs`, or `bssd` after a block migration.
    pub class: StorageClass,
    /// Bytes.
    pub size: u64,
    /// `creating` or `updating` while a change runs, else `available`;
    /// what the API shows is [`BlockVolume::status`].
    pub phase: VolumeStatus,
    /// The size and type an `updating` volume will have.
    pub pending: Option<(u64, VolumeType)>,
    /// Who holds it (a server while attached).
    pub references: Vec<Holder>,
    /// The snapshot it was made from (a marketplace one for image roots).
    pub parent_snapshot: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created: SystemTime,
    /// Last modification.
    pub modified: SystemTime,
    /// When a server last let go of it.
    pub last_detached: Option<SystemTime>,
    /// Creation order.
    pub seq: u64,
    /// The boot flag of its Instance attachment.
    pub boot: bool,
    /// `kms_key_id` given at creation (v1).
    pub kms_key_id: Option<String>,
}

impl BlockVolume {
    /// The status the API shows: `locked` while locked, the phase while a
    /// change runs, `in_use` while a server holds it.
    pub fn status(&self, locked: bool) -> VolumeStatus {
        if locked {
            VolumeStatus::Locked
        } else if self.phase.is_transient() {
            self.phase.clone()
        } else if self
            .references
            .iter()
            .any(|r| r.kind == ProductResourceType::InstanceServer)
        {
            VolumeStatus::InUse
        } else {
            self.phase.clone()
        }
    }

    /// The server holding it, whatever the state of the hold.
    pub fn server(&self) -> Option<Uuid> {
        self.references
            .iter()
            .find(|r| r.kind == ProductResourceType::InstanceServer)
            .map(|r| r.resource)
    }
}

/// A volume as the API shows it in `version`.
pub fn render(w: &World, v: &BlockVolume, version: Version) -> Volume {
    Volume {
        id: v.id.to_string(),
        name: v.name.clone(),
        volume_type: v.volume_type.clone(),
        size: v.size,
        project_id: v.owner.project.clone(),
        created_at: ts(v.created),
        updated_at: ts(v.modified),
        references: v.references.iter().map(Holder::render).collect(),
        parent_snapshot_id: v.parent_snapshot.clone(),
        status: v.status(w.locked.contains(&v.id)),
        tags: v.tags.clone(),
        zone: zone(&v.owner.zone),
        specs: VolumeSpecs {
            perf_iops: v.volume_type.perf_iops(),
            class: v.class.clone(),
            extra: Map::new(),
        },
        last_detached_at: v.last_detached.and_then(ts),
        kms_key_id: match version {
            Version::V1 => v.kms_key_id.clone().map_or(Maybe::Null, Maybe::Value),
            Version::V1Alpha1 => Maybe::Absent,
        },
        extra: Map::new(),
    }
}

/// Look a volume up for the caller (404 `volume` otherwise).
pub fn get<'a>(w: &'a World, ctx: &Ctx, id: Uuid) -> ApiResult<&'a BlockVolume> {
    w.block_volumes
        .get(&id)
        .filter(|v| visible(ctx, &v.owner))
        .ok_or_else(|| not_found(BlockResource::Volume, id))
}

/// `GET volumes/{id}`.
pub fn get_one(w: &World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    Ok(Resp::ok(render(w, get(w, ctx, id)?, req.version)))
}

/// `GET volumes`.
pub fn list(w: &World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let order = order_by(req)?;
    let volume_type = match req.q("volume_type").map(VolumeType::from) {
        Some(t) if !t.is_known() => {
            return Err(Error::invalid(ArgDetail::constraint(
                "volume_type",
                format!("{:?} is not a volume type", t.as_str()),
            )));
        }
        t => t,
    };
    let ids = req.q_list("volume_ids");
    let held_by = req.q("product_resource_id");
    let mut items: Vec<&BlockVolume> = w
        .block_volumes
        .values()
        .filter(|v| visible(ctx, &v.owner) && list_filter(req, &v.owner, &v.name, &v.tags))
        .filter(|v| volume_type.as_ref().is_none_or(|t| v.volume_type == *t))
        .filter(|v| ids.is_empty() || ids.contains(&v.id.to_string()))
        .filter(|v| {
            held_by.is_none_or(|p| v.references.iter().any(|r| r.resource.to_string() == p))
        })
        .collect();
    sort(&mut items, &order, |v| (v.seq, v.name.as_str()));
    let items = items
        .into_iter()
        .map(|v| render(w, v, req.version))
        .collect();
    block_list_response(req, items, |volumes, total_count| ListVolumesResponse {
        volumes,
        total_count,
        extra: Map::new(),
    })
}

/// A size in 1 GB steps between 5 GB and 10 TB.
fn check_size(arg: &str, size: u64) -> ApiResult<u64> {
    if !size.is_multiple_of(GB) || !(MIN_VOLUME_SIZE..=MAX_VOLUME_SIZE).contains(&size) {
        return Err(Error::invalid(ArgDetail::constraint(
            arg,
            format!(
                "size must be a whole number of GB between {} GB and {} GB",
                MIN_VOLUME_SIZE / GB,
                MAX_VOLUME_SIZE / GB
            ),
        )));
    }
    Ok(size)
}

/// The type offering `perf_iops` (5000 when not given).
fn type_for(perf_iops: Option<u32>) -> ApiResult<VolumeType> {
    match perf_iops {
        None => Ok(VolumeType::default()),
        Some(iops) => VolumeType::for_perf_iops(iops).ok_or_else(|| {
            Error::invalid(ArgDetail::constraint(
                "perf_iops",
                format!("{iops} is not offered: perf_iops must be 5000 or 15000"),
            ))
        }),
    }
}

/// The size of the new volume and the snapshot it copies.
fn source(w: &World, ctx: &Ctx, body: &CreateVolumeRequest) -> ApiResult<(u64, Option<Uuid>)> {
    match body.source() {
        Some(VolumeSource::Empty { size }) => {
            let size =
                size.ok_or_else(|| Error::invalid(ArgDetail::required("from_empty.size")))?;
            Ok((check_size("from_empty.size", size)?, None))
        }
        Some(VolumeSource::Snapshot { snapshot_id, size }) => {
            let sid = uuid_arg(snapshot_id, "from_snapshot.snapshot_id")?
                .ok_or_else(|| Error::invalid(ArgDetail::required("from_snapshot.snapshot_id")))?;
            let s = super::snapshots::get(w, ctx, sid)?;
            if s.phase.is_transient() {
                let status = s.status(w.locked.contains(&sid));
                return Err(Error::transient_state(
                    BlockResource::Snapshot.as_str(),
                    sid.to_string(),
                    status.as_str(),
                ));
            }
            // 0 is the SDKs' zero value for "the snapshot's size".
            let size = match size {
                None | Some(0) => s.size,
                Some(size) if size < s.size => {
                    return Err(Error::invalid(ArgDetail::constraint(
                        "from_snapshot.size",
                        format!("size must be at least the snapshot's {} bytes", s.size),
                    )));
                }
                Some(size) => check_size("from_snapshot.size", size)?,
            };
            Ok((size, Some(sid)))
        }
        None if body.from_empty.is_some() => Err(Error::invalid(ArgDetail::constraint(
            "from_snapshot",
            "give from_empty or from_snapshot, not both",
        ))),
        None => Err(Error::invalid_all([
            ArgDetail::required("from_empty"),
            ArgDetail::required("from_snapshot"),
        ])),
    }
}

/// `POST volumes`: `creating`, then `available`.
pub fn create(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body: CreateVolumeRequest = req.decode()?;
    let owner = owner_for_create(w, ctx, body.project_id.as_deref())?;
    let volume_type = type_for(body.perf_iops)?;
    let (size, parent) = source(w, ctx, &body)?;
    let id = w.new_id();
    let seq = w.next_seq();
    let v = BlockVolume {
        id,
        owner,
        name: super::name(body.name).unwrap_or_else(|| "vol-emulated".into()),
        volume_type,
        class: StorageClass::Sbs,
        size,
        phase: VolumeStatus::Creating,
        pending: None,
        references: Vec::new(),
        parent_snapshot: parent.map(|p| p.to_string()),
        tags: super::tags(body.tags).unwrap_or_default(),
        created: ctx.now,
        modified: ctx.now,
        last_detached: None,
        seq,
        boot: false,
        kms_key_id: body.kms_key_id.filter(|k| !k.is_empty()),
    };
    let out = render(w, &v, req.version);
    w.block_volumes.insert(id, v);
    let t = w.transition;
    schedule(w, ctx.instant, t, Event::VolumeReady(id));
    Ok(Resp::ok(out))
}

/// The size and type a PATCH asks for (the current ones when not given).
fn requested_change(v: &BlockVolume, body: &UpdateVolumeRequest) -> ApiResult<(u64, VolumeType)> {
    let size = match body.size {
        None => v.size,
        Some(size) if size < v.size => {
            return Err(Error::invalid(ArgDetail::constraint(
                "size",
                format!("a volume can only grow: it has {} bytes", v.size),
            )));
        }
        Some(size) if size == v.size => size,
        Some(size) => check_size("size", size)?,
    };
    let volume_type = match body.perf_iops {
        None => v.volume_type.clone(),
        Some(_) if v.class != StorageClass::Sbs => {
            return Err(Error::invalid(ArgDetail::constraint(
                "perf_iops",
                format!(
                    "the IOPS of a {} volume cannot change (its storage class is fixed)",
                    v.class.as_str()
                ),
            )));
        }
        iops => type_for(iops)?,
    };
    Ok((size, volume_type))
}

/// `PATCH volumes/{id}`: name and tags at once; a new size or IOPS through
/// `updating` (the answer still shows the old values, as recorded).
pub fn update(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body: UpdateVolumeRequest = req.decode()?;
    let cur = get(w, ctx, id)?;
    let (size, volume_type) = requested_change(cur, &body)?;
    let changes = size != cur.size || volume_type != cur.volume_type;
    if changes && cur.phase.is_transient() {
        return Err(Error::transient_state(
            BlockResource::Volume.as_str(),
            id.to_string(),
            cur.phase.as_str(),
        ));
    }
    let mut v = cur.clone();
    if let Some(n) = super::name(body.name.clone()) {
        v.name = n;
    }
    if let Some(t) = super::tags(body.tags) {
        v.tags = t;
    }
    v.modified = ctx.now;
    if changes {
        v.phase = VolumeStatus::Updating;
        v.pending = Some((size, volume_type));
        let t = w.transition;
        schedule(w, ctx.instant, t, Event::VolumeReady(id));
    }
    let out = render(w, &v, req.version);
    w.block_volumes.insert(id, v);
    Ok(Resp::ok(out))
}

/// `DELETE volumes/{id}`: refused while a server holds it or while it is
/// `updating`; a volume still `creating` may be deleted.
pub fn delete(w: &mut World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    let v = get(w, ctx, id)?;
    if let Some(r) = v.references.first() {
        return Err(Error::from(ApiError::precondition_failed_with(
            PreconditionFailedKind::ResourceStillInUse,
            format!(
                "volume is in use by {} {}",
                r.kind.as_str(),
                r.resource.simple()
            ),
        )));
    }
    if v.phase == VolumeStatus::Updating {
        return Err(Error::transient_state(
            BlockResource::Volume.as_str(),
            id.to_string(),
            v.phase.as_str(),
        ));
    }
    w.block_volumes.remove(&id);
    Ok(Resp::no_content())
}

/// A `creating` or `updating` volume is done (a pending change applied).
pub fn settle(w: &mut World, id: Uuid, wall: SystemTime) {
    if let Some(v) = w.block_volumes.get_mut(&id)
        && v.phase.is_transient()
    {
        if let Some((size, volume_type)) = v.pending.take() {
            v.size = size;
            v.volume_type = volume_type;
        }
        v.phase = VolumeStatus::Available;
        v.modified = wall;
    }
}

/// A server's `attaching` hold `reference` is now `attached`.
pub fn attached(w: &mut World, id: Uuid, reference: Uuid, wall: SystemTime) {
    if let Some(v) = w.block_volumes.get_mut(&id)
        && let Some(r) = v
            .references
            .iter_mut()
            .find(|r| r.id == reference && r.status == ReferenceStatus::Attaching)
    {
        r.status = ReferenceStatus::Attached;
        v.modified = wall;
    }
}

/// A server's `detaching` hold `reference` goes away (and the volume
/// records when).
pub fn detached(w: &mut World, id: Uuid, reference: Uuid, wall: SystemTime) {
    let Some(v) = w.block_volumes.get_mut(&id) else {
        return;
    };
    let before = v.references.len();
    v.references
        .retain(|r| !(r.id == reference && r.status == ReferenceStatus::Detaching));
    if v.references.len() != before {
        v.last_detached = Some(wall);
        v.modified = wall;
    }
}

/// A Block volume the Instance API makes for a server being created.
#[derive(Debug, Clone)]
pub struct ServerVolume {
    /// Name (`<image name>_sbs_volume_0` for an image root).
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// The snapshot it is made from.
    pub parent_snapshot: Option<String>,
    /// Boot flag of the attachment.
    pub boot: bool,
}

/// Make a volume for server `server`, held by it at once (recorded: the
/// root of a new server reads `in_use`, reference `attached`).
pub fn create_for_server(
    w: &mut World,
    ctx: &Ctx,
    owner: &Owner,
    spec: ServerVolume,
    server: Uuid,
) -> Uuid {
    let id = w.new_id();
    let seq = w.next_seq();
    let holder = Holder::server(w.new_id(), server, ReferenceStatus::Attached, ctx.now);
    w.block_volumes.insert(
        id,
        BlockVolume {
            id,
            owner: owner.clone(),
            name: spec.name,
            volume_type: VolumeType::default(),
            class: StorageClass::Sbs,
            size: spec.size,
            phase: VolumeStatus::Available,
            pending: None,
            references: vec![holder],
            parent_snapshot: spec.parent_snapshot,
            tags: Vec::new(),
            created: ctx.now,
            modified: ctx.now,
            last_detached: None,
            seq,
            boot: spec.boot,
            kms_key_id: None,
        },
    );
    id
}

/// Server `server` takes hold of volume `id`: at once when the server is
/// being created, else through `attaching` (recorded for a server PATCH).
pub fn hold(w: &mut World, ctx: &Ctx, id: Uuid, server: Uuid, boot: bool, at_once: bool) {
    let rid = w.new_id();
    let status = if at_once {
        ReferenceStatus::Attached
    } else {
        ReferenceStatus::Attaching
    };
    if let Some(v) = w.block_volumes.get_mut(&id) {
        v.references
            .push(Holder::server(rid, server, status, ctx.now));
        v.boot = boot;
        v.modified = ctx.now;
    }
    if !at_once {
        let t = w.transition;
        let ev = Event::VolumeAttached {
            volume: id,
            reference: rid,
        };
        schedule(w, ctx.instant, t, ev);
    }
}

/// Server `server` lets go of volume `id`: its reference reads `detaching`
/// (the volume still `in_use`) until the transition ends, then goes.
pub fn release(w: &mut World, now: Instant, wall: SystemTime, id: Uuid, server: Uuid) {
    let Some(v) = w.block_volumes.get_mut(&id) else {
        return;
    };
    let mut released = Vec::new();
    for r in &mut v.references {
        if r.is_server(server) && r.status != ReferenceStatus::Detaching {
            r.status = ReferenceStatus::Detaching;
            released.push(r.id);
        }
    }
    v.boot = false;
    v.modified = wall;
    let t = w.transition;
    for reference in released {
        schedule(
            w,
            now,
            t,
            Event::VolumeDetached {
                volume: id,
                reference,
            },
        );
    }
}

/// A `b_ssd` Instance volume after a block migration: the same volume in
/// the Block API, class `bssd`, still held by its server.
pub fn from_migration(w: &mut World, v: crate::state::Volume, now: SystemTime) {
    let references = match v.server {
        Some(server) => vec![Holder::server(
            w.new_id(),
            server,
            ReferenceStatus::Attached,
            now,
        )],
        None => Vec::new(),
    };
    w.block_volumes.insert(
        v.id,
        BlockVolume {
            id: v.id,
            owner: v.owner,
            name: v.name,
            volume_type: VolumeType::BSsd,
            class: StorageClass::Bssd,
            size: v.size,
            phase: VolumeStatus::Available,
            pending: None,
            references,
            parent_snapshot: None,
            tags: v.tags,
            created: v.created,
            modified: now,
            last_detached: None,
            seq: v.seq,
            boot: v.boot,
            kms_key_id: None,
        },
    );
}
