//! Block snapshots: of a volume (`creating`, with the API's transient
//! `internal` reference half-way, then `available`), imported from Object
//! Storage (`creating` → `available`, no parent volume), exported to it
//! (`exporting` → `available`), linked by images (`in_use`).

use std::collections::HashMap;
use std::time::SystemTime;

use fleet_core::block::{
    BlockResource, CreateSnapshotRequest, ExportSnapshotToObjectStorageRequest,
    ImportSnapshotFromObjectStorageRequest, ListSnapshotsResponse, ProductResourceType, Snapshot,
    SnapshotParentVolume, SnapshotStatus, StorageClass, UpdateSnapshotRequest,
};
use fleet_core::{Maybe, PreconditionFailedKind};
use serde_json::Map;
use uuid::Uuid;

use super::{
    BlockVolume, Event, Holder, list_filter, not_found, order_by, owner_for_create, schedule, sort,
    ts,
};
use crate::errors::{ApiError, ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp, Version, non_empty, uuid_arg};
use crate::pagination::block_list_response;
use crate::state::{Ctx, Owner, World, visible, zone};

/// Size of an imported object the emulator has not exported itself (the
/// API reads it from the object; 10 GB, as for Instance imports).
const UNKNOWN_OBJECT_SIZE: u64 = 10_000_000_000;

/// A Block snapshot.
#[derive(Debug, Clone)]
pub struct BlockSnapshot {
    /// Id.
    pub id: Uuid,
    /// Ownership.
    pub owner: Owner,
    /// Name.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// `creating` or `exporting` while that runs, else `available`; what
    /// the API shows is [`BlockSnapshot::status`].
    pub phase: SnapshotStatus,
    /// The volume it was taken from (`None` for imports).
    pub parent: Option<Uuid>,
    /// Who holds it (images, and the API while creating).
    pub references: Vec<Holder>,
    /// Tags.
    pub tags: Vec<String>,
    /// `sbs`, or `bssd` after a block migration.
    pub class: StorageClass,
    /// `public` (v1).
    pub public: bool,
    /// Creation time.
    pub created: SystemTime,
    /// Last modification.
    pub modified: SystemTime,
    /// Creation order.
    pub seq: u64,
}

impl BlockSnapshot {
    /// The status the API shows: `locked` while locked, the phase while
    /// something runs, `in_use` while an image links it.
    pub fn status(&self, locked: bool) -> SnapshotStatus {
        if locked {
            SnapshotStatus::Locked
        } else if self.phase.is_transient() {
            self.phase.clone()
        } else if self.linked() {
            SnapshotStatus::InUse
        } else {
            self.phase.clone()
        }
    }

    /// Whether an image links it.
    pub fn linked(&self) -> bool {
        self.references
            .iter()
            .any(|r| r.kind == ProductResourceType::InstanceImage)
    }
}

/// A snapshot as the API shows it in `version`; its parent volume as that
/// volume is now, `null` once deleted.
pub fn render(w: &World, s: &BlockSnapshot, version: Version) -> Snapshot {
    let parent_volume = s
        .parent
        .and_then(|p| w.block_volumes.get(&p))
        .map(|v: &BlockVolume| SnapshotParentVolume {
            id: v.id.to_string(),
            name: v.name.clone(),
            volume_type: v.volume_type.clone(),
            status: v.status(w.locked.contains(&v.id)),
            extra: Map::new(),
        });
    Snapshot {
        id: s.id.to_string(),
        name: s.name.clone(),
        parent_volume,
        size: s.size,
        project_id: s.owner.project.clone(),
        created_at: ts(s.created),
        updated_at: ts(s.modified),
        references: s.references.iter().map(Holder::render).collect(),
        status: s.status(w.locked.contains(&s.id)),
        tags: s.tags.clone(),
        zone: zone(&s.owner.zone),
        class: s.class.clone(),
        public: match version {
            Version::V1 => Maybe::Value(s.public),
            Version::V1Alpha1 => Maybe::Absent,
        },
        extra: Map::new(),
    }
}

/// Look a snapshot up for the caller (404 `snapshot` otherwise).
pub fn get<'a>(w: &'a World, ctx: &Ctx, id: Uuid) -> ApiResult<&'a BlockSnapshot> {
    w.block_snapshots
        .get(&id)
        .filter(|s| visible(ctx, &s.owner))
        .ok_or_else(|| not_found(BlockResource::Snapshot, id))
}

/// `GET snapshots/{id}`.
pub fn get_one(w: &World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    Ok(Resp::ok(render(w, get(w, ctx, id)?, req.version)))
}

/// `GET snapshots` (`volume_id` filters on the parent volume).
pub fn list(w: &World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let order = order_by(req)?;
    let volume = req.q("volume_id");
    let mut items: Vec<&BlockSnapshot> = w
        .block_snapshots
        .values()
        .filter(|s| visible(ctx, &s.owner) && list_filter(req, &s.owner, &s.name, &s.tags))
        .filter(|s| volume.is_none_or(|v| s.parent.is_some_and(|p| p.to_string() == v)))
        .collect();
    sort(&mut items, &order, |s| (s.seq, s.name.as_str()));
    let items = items
        .into_iter()
        .map(|s| render(w, s, req.version))
        .collect();
    block_list_response(req, items, |snapshots, total_count| ListSnapshotsResponse {
        snapshots,
        total_count,
        extra: Map::new(),
    })
}

fn transient(s: &BlockSnapshot, locked: bool) -> Error {
    Error::transient_state(
        BlockResource::Snapshot.as_str(),
        s.id.to_string(),
        s.status(locked).as_str(),
    )
}

/// `POST snapshots` of a volume `available` or `in_use`.
pub fn create(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body: CreateSnapshotRequest = req.decode()?;
    let owner = owner_for_create(w, ctx, body.project_id.as_deref())?;
    let vid = uuid_arg(body.volume_id.as_deref(), "volume_id")?
        .ok_or_else(|| Error::invalid(ArgDetail::required("volume_id")))?;
    let v = super::volumes::get(w, ctx, vid)?;
    if v.phase.is_transient() {
        return Err(Error::transient_state(
            BlockResource::Volume.as_str(),
            vid.to_string(),
            v.phase.as_str(),
        ));
    }
    let (size, class) = (v.size, v.class.clone());
    let id = w.new_id();
    let seq = w.next_seq();
    let s = BlockSnapshot {
        id,
        owner,
        name: super::name(body.name).unwrap_or_else(|| "snp-emulated".into()),
        size,
        phase: SnapshotStatus::Creating,
        parent: Some(vid),
        references: Vec::new(),
        tags: super::tags(body.tags).unwrap_or_default(),
        class,
        public: body.public.unwrap_or(false),
        created: ctx.now,
        modified: ctx.now,
        seq,
    };
    let out = render(w, &s, req.version);
    w.block_snapshots.insert(id, s);
    let t = w.transition;
    schedule(w, ctx.instant, t / 2, Event::SnapshotInternal(id));
    schedule(w, ctx.instant, t, Event::SnapshotReady(id));
    Ok(Resp::ok(out))
}

/// `bucket` and `key` of an import or export body, both required.
fn object(bucket: Option<String>, key: Option<String>) -> ApiResult<(String, String)> {
    match (non_empty(bucket), non_empty(key)) {
        (Some(b), Some(k)) => Ok((b, k)),
        (b, k) => Err(Error::invalid_all(
            [
                b.is_none().then(|| ArgDetail::required("bucket")),
                k.is_none().then(|| ArgDetail::required("key")),
            ]
            .into_iter()
            .flatten(),
        )),
    }
}

/// Where an object is, for the exported-objects table: region, bucket, key.
fn object_key(ctx: &Ctx, bucket: &str, key: &str) -> String {
    format!("{}/{bucket}/{key}", zone(&ctx.zone).region())
}

/// `POST snapshots/import-from-object-storage` (and v1alpha1's
/// `import-from-s3`): `creating`, then `available`, no parent volume. The
/// size is `size`, else the object's: known when this emulator exported it.
pub fn import(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body: ImportSnapshotFromObjectStorageRequest = req.decode()?;
    let (bucket, key) = object(body.bucket, body.key)?;
    let owner = owner_for_create(w, ctx, body.project_id.as_deref())?;
    let size = match body.size {
        Maybe::Value(size) => size,
        _ => w
            .exported_objects
            .get(&object_key(ctx, &bucket, &key))
            .copied()
            .unwrap_or(UNKNOWN_OBJECT_SIZE),
    };
    if size == 0 {
        return Err(Error::invalid(ArgDetail::constraint(
            "size",
            "must be greater than 0",
        )));
    }
    let id = w.new_id();
    let seq = w.next_seq();
    let s = BlockSnapshot {
        id,
        owner,
        name: super::name(body.name).unwrap_or_else(|| "snp-emulated".into()),
        size,
        phase: SnapshotStatus::Creating,
        parent: None,
        references: Vec::new(),
        tags: super::tags(body.tags).unwrap_or_default(),
        class: StorageClass::Sbs,
        public: false,
        created: ctx.now,
        modified: ctx.now,
        seq,
    };
    let out = render(w, &s, req.version);
    w.block_snapshots.insert(id, s);
    let t = w.transition;
    schedule(w, ctx.instant, t, Event::SnapshotReady(id));
    Ok(Resp::ok(out))
}

/// `POST snapshots/{id}/export-to-object-storage`: the snapshot answers
/// `exporting` (no task), then `available`; refused while it is busy.
pub fn export(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body: ExportSnapshotToObjectStorageRequest = req.decode()?;
    let (bucket, key) = object(body.bucket, body.key)?;
    let s = get(w, ctx, id)?;
    if s.phase.is_transient() {
        return Err(transient(s, w.locked.contains(&id)));
    }
    let size = s.size;
    w.exported_objects
        .insert(object_key(ctx, &bucket, &key), size);
    let Some(s) = w.block_snapshots.get_mut(&id) else {
        return Err(not_found(BlockResource::Snapshot, id));
    };
    s.phase = SnapshotStatus::Exporting;
    s.modified = ctx.now;
    let t = w.transition;
    schedule(w, ctx.instant, t, Event::SnapshotReady(id));
    let s = get(w, ctx, id)?;
    Ok(Resp::ok(render(w, s, req.version)))
}

/// `PATCH snapshots/{id}`: name, tags, public.
pub fn update(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body: UpdateSnapshotRequest = req.decode()?;
    let mut s = get(w, ctx, id)?.clone();
    if let Some(n) = super::name(body.name) {
        s.name = n;
    }
    if let Some(t) = super::tags(body.tags) {
        s.tags = t;
    }
    if let Some(p) = body.public {
        s.public = p;
    }
    s.modified = ctx.now;
    let out = render(w, &s, req.version);
    w.block_snapshots.insert(id, s);
    Ok(Resp::ok(out))
}

/// `DELETE snapshots/{id}`: refused while an image links it or while it
/// is exported; a snapshot still `creating` may be deleted.
pub fn delete(w: &mut World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    let s = get(w, ctx, id)?;
    if let Some(r) = s
        .references
        .iter()
        .find(|r| r.kind == ProductResourceType::InstanceImage)
    {
        return Err(Error::from(ApiError::precondition_failed_with(
            PreconditionFailedKind::ResourceStillInUse,
            format!("snapshot is in use by instance_image {}", r.resource),
        )));
    }
    if s.phase == SnapshotStatus::Exporting {
        return Err(transient(s, w.locked.contains(&id)));
    }
    w.block_snapshots.remove(&id);
    Ok(Resp::no_content())
}

/// A snapshot half-way through its creation: the API holds it.
pub fn hold_internally(w: &mut World, id: Uuid, wall: SystemTime) {
    let rid = w.new_id();
    if let Some(s) = w.block_snapshots.get_mut(&id)
        && s.phase == SnapshotStatus::Creating
    {
        s.references.push(Holder::internal(rid, wall));
    }
}

/// A `creating` or `exporting` snapshot is done.
pub fn settle(w: &mut World, id: Uuid, wall: SystemTime) {
    if let Some(s) = w.block_snapshots.get_mut(&id)
        && s.phase.is_transient()
    {
        s.references
            .retain(|r| r.kind != ProductResourceType::Internal);
        s.phase = SnapshotStatus::Available;
        s.modified = wall;
    }
}

/// A deleted image lets go of snapshot `id`.
pub fn release(w: &mut World, id: Uuid, image: Uuid, wall: SystemTime) {
    if let Some(s) = w.block_snapshots.get_mut(&id) {
        s.references
            .retain(|r| !(r.kind == ProductResourceType::InstanceImage && r.resource == image));
        s.modified = wall;
    }
}

/// Image `image` links snapshot `id` (recorded: at once, `attached`).
pub fn link_image(w: &mut World, id: Uuid, image: Uuid, now: SystemTime) {
    let rid = w.new_id();
    if let Some(s) = w.block_snapshots.get_mut(&id) {
        s.references.push(Holder::image(rid, image, now));
        s.modified = now;
    }
}

/// The snapshot of a Block volume that a `backup` makes for its image:
/// named by the caller, linked by the image at once (recorded `in_use`).
pub fn create_for_backup(
    w: &mut World,
    ctx: &Ctx,
    volume: Uuid,
    name: String,
    image: Uuid,
) -> Option<Uuid> {
    let v = w.block_volumes.get(&volume)?;
    let (owner, size, class) = (v.owner.clone(), v.size, v.class.clone());
    let id = w.new_id();
    let seq = w.next_seq();
    let holder = Holder::image(w.new_id(), image, ctx.now);
    w.block_snapshots.insert(
        id,
        BlockSnapshot {
            id,
            owner,
            name,
            size,
            phase: SnapshotStatus::Available,
            parent: Some(volume),
            references: vec![holder],
            tags: Vec::new(),
            class,
            public: false,
            created: ctx.now,
            modified: ctx.now,
            seq,
        },
    );
    Some(id)
}

/// An Instance snapshot after a block migration: the same snapshot in the
/// Block API, class `bssd`, linked by the images that use it.
pub fn from_migration(
    w: &mut World,
    s: crate::state::Snapshot,
    images: &HashMap<Uuid, Vec<Uuid>>,
    now: SystemTime,
) {
    let mut references = Vec::new();
    for image in images.get(&s.id).into_iter().flatten() {
        references.push(Holder::image(w.new_id(), *image, now));
    }
    w.block_snapshots.insert(
        s.id,
        BlockSnapshot {
            id: s.id,
            owner: s.owner,
            name: s.name,
            size: s.size,
            phase: SnapshotStatus::Available,
            parent: s.base_volume.map(|(id, _)| id),
            references,
            tags: s.tags,
            class: StorageClass::Bssd,
            public: false,
            created: s.created,
            modified: now,
            seq: s.seq,
        },
    );
}
