//! Instance volumes (`l_ssd`, `scratch`, legacy `b_ssd`), plus the
//! block-migration plan/apply endpoints that move `b_ssd` volumes and
//! snapshots to the Block API. SBS volumes live in [`super::block`]: the
//! Instance API answers 404 `instance_volume` for them, as the real one
//! does.

use std::collections::HashMap;
use std::time::SystemTime;

use fleet_core::PreconditionFailedKind;
use fleet_core::{
    ApplyBlockMigrationRequest, CheckBlockMigrationOrganizationQuotasRequest, CreateVolumeRequest,
    ListVolumesResponse, Maybe, MigrationPlan, PlanBlockMigrationRequest, UpdateVolumeRequest,
    VolumeResponse, VolumeServer,
};
use serde_json::Map;
use uuid::Uuid;

use super::{Ctx, Owner, World, summary, ts, visible, zone};
use crate::errors::{ApiError, ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp, non_empty, one_of, uuid_arg};
use crate::pagination::list_response;
use crate::util::mix;

/// A volume.
#[derive(Debug, Clone)]
pub struct Volume {
    /// Id.
    pub id: Uuid,
    /// Ownership.
    pub owner: Owner,
    /// Name.
    pub name: String,
    /// `l_ssd`, `scratch` or `b_ssd`.
    pub kind: String,
    /// Bytes.
    pub size: u64,
    /// State.
    pub state: String,
    /// Attached server.
    pub server: Option<Uuid>,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created: SystemTime,
    /// Last modification.
    pub modified: SystemTime,
    /// Creation order.
    pub seq: u64,
    /// Boot flag of the attachment.
    pub boot: bool,
}

/// Standalone volume.
pub fn render(w: &World, v: &Volume) -> fleet_core::Volume {
    fleet_core::Volume {
        id: v.id.to_string(),
        name: v.name.clone(),
        volume_type: v.kind.as_str().into(),
        organization: v.owner.organization.clone(),
        project: v.owner.project.clone(),
        server: v
            .server
            .and_then(|id| w.servers.get(&id))
            .map(|s| summary(s.id, &s.name)),
        size: v.size,
        state: v.state.as_str().into(),
        creation_date: Some(ts(v.created)),
        modification_date: Some(ts(v.modified)),
        tags: v.tags.clone(),
        zone: zone(&v.owner.zone),
        export_uri: Maybe::Null,
        extra: Map::new(),
    }
}

/// A `server.volumes` entry of an Instance volume.
pub fn render_in_server(v: &Volume, s: &super::Server) -> VolumeServer {
    VolumeServer {
        id: v.id.to_string(),
        name: Maybe::Value(v.name.clone()),
        export_uri: Maybe::Null,
        organization: Maybe::Value(v.owner.organization.clone()),
        project: Maybe::Value(v.owner.project.clone()),
        server: Maybe::Value(summary(s.id, &s.name)),
        size: Maybe::Value(v.size),
        volume_type: v.kind.as_str().into(),
        creation_date: Maybe::Value(ts(v.created)),
        modification_date: Maybe::Value(ts(v.modified)),
        state: Maybe::Value(v.state.as_str().into()),
        tags: Maybe::Value(v.tags.clone()),
        boot: v.boot,
        zone: zone(&v.owner.zone),
        extra: Map::new(),
    }
}

fn wrap(volume: fleet_core::Volume) -> VolumeResponse {
    VolumeResponse {
        volume,
        extra: Map::new(),
    }
}

/// Look a local volume up for the caller.
pub fn get<'a>(w: &'a World, ctx: &Ctx, id: Uuid) -> ApiResult<&'a Volume> {
    w.volumes
        .get(&id)
        .filter(|v| visible(ctx, &v.owner))
        .ok_or_else(|| Error::not_found("instance_volume", id.to_string()))
}

/// `GET volumes` (Instance volumes only).
pub fn list(w: &World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let vt = req.q("volume_type");
    let mut v: Vec<&Volume> = w
        .volumes
        .values()
        .filter(|v| visible(ctx, &v.owner))
        .filter(|v| super::list_filter(req, &v.owner, &v.name, &v.tags))
        .filter(|v| vt.is_none_or(|t| v.kind == t))
        .collect();
    v.sort_by_key(|v| std::cmp::Reverse(v.seq));
    let items = v.into_iter().map(|v| render(w, v)).collect();
    list_response(req, items, "/volumes", |volumes| ListVolumesResponse {
        volumes,
        extra: Map::new(),
    })
}

/// `GET volumes/{id}`.
pub fn get_one(w: &World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    Ok(Resp::ok(wrap(render(w, get(w, ctx, id)?))))
}

/// `DELETE volumes/{id}`, refused while attached.
pub fn delete(w: &mut World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    let v = get(w, ctx, id)?;
    if v.server.is_some() {
        return Err(Error::from(ApiError::precondition_failed_with(
            PreconditionFailedKind::ResourceStillInUse,
            "volume is attached to a server",
        )));
    }
    w.volumes.remove(&id);
    super::snapshots::forget_base(w, id);
    Ok(Resp::no_content())
}

fn check_size(w: &World, kind: &str, size: u64) -> ApiResult<()> {
    if !size.is_multiple_of(512) {
        return Err(Error::invalid(ArgDetail::constraint(
            "size",
            "must be a multiple of 512",
        )));
    }
    let (min, max) = w
        .catalog
        .volume_type_bounds(kind)
        .unwrap_or((1_000_000_000, 10_000_000_000_000));
    if size < min || size > max {
        return Err(Error::invalid(ArgDetail::constraint(
            "size",
            format!(
                "size must be between {} GB and {} GB for {kind}",
                min / 1_000_000_000,
                max / 1_000_000_000
            ),
        )));
    }
    Ok(())
}

pub fn create(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body: CreateVolumeRequest = req.decode()?;
    let owner = w.owner_for_create(ctx, body.project.as_deref(), body.organization.as_deref())?;
    let count = w
        .volumes
        .values()
        .filter(|v| visible(ctx, &v.owner))
        .count();
    w.check_quota(ctx, "instance_volumes", count, w.quotas.volumes)?;
    let kind = one_of(
        "volume_type",
        body.volume_type,
        &["l_ssd", "b_ssd", "unified", "scratch", "sbs_volume"],
    )?
    .map_or_else(|| "l_ssd".to_owned(), |t| t.to_string());
    if kind == "sbs_volume" {
        return Err(Error::invalid(ArgDetail::constraint(
            "volume_type",
            "sbs_volume volumes are managed by the Block Storage API",
        )));
    }
    let base = uuid_arg(body.base_snapshot.as_deref(), "base_snapshot")?;
    let size = match (body.size, base) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(ArgDetail::constraint(
                "size",
                "size and base_snapshot are mutually exclusive",
            )));
        }
        (Some(s), None) => s,
        (None, Some(sid)) => {
            let s = super::snapshots::get(w, ctx, sid)?;
            s.size
        }
        (None, None) => {
            return Err(Error::invalid_all([
                ArgDetail::required("size"),
                ArgDetail::required("base_snapshot"),
            ]));
        }
    };
    check_size(w, &kind, size)?;
    let id = w.new_id();
    let seq = w.next_seq();
    let v = Volume {
        id,
        owner,
        name: non_empty(body.name).unwrap_or_else(|| "vol-emulated".into()),
        kind,
        size,
        state: "available".into(),
        server: None,
        tags: body.tags.unwrap_or_default(),
        created: ctx.now,
        modified: ctx.now,
        seq,
        boot: false,
    };
    let out = wrap(render(w, &v));
    w.volumes.insert(id, v);
    Ok(Resp::created(out, Some(format!("/volumes/{id}"))))
}

pub fn update(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body: UpdateVolumeRequest = req.decode()?;
    let cur = get(w, ctx, id)?.clone();
    let mut v = cur.clone();
    if let Some(n) = non_empty(body.name) {
        v.name = n;
    }
    if let Some(t) = body.tags {
        v.tags = t;
    }
    if let Some(size) = body.size {
        if size < cur.size {
            return Err(Error::invalid(ArgDetail::constraint(
                "size",
                "a volume can only grow",
            )));
        }
        check_size(w, &cur.kind, size)?;
        v.size = size;
    }
    v.modified = ctx.now;
    let out = wrap(render(w, &v));
    w.volumes.insert(id, v);
    Ok(Resp::ok(out))
}

/// `POST block-migration/check-organization-quotas`: only the caller's
/// organization may be checked, and it always has room.
pub fn check_quotas(ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body: CheckBlockMigrationOrganizationQuotasRequest = req.decode()?;
    if let Some(o) = non_empty(body.organization)
        && o != ctx.tenant.organization
    {
        return Err(Error::permissions_denied("instance_organization", "read"));
    }
    Ok(Resp::no_content())
}

/// The volume and snapshots a plan covers.
fn plan_members(
    w: &World,
    ctx: &Ctx,
    volume_id: Option<&str>,
    snapshot_id: Option<&str>,
) -> ApiResult<(Option<Uuid>, Vec<Uuid>)> {
    match (
        uuid_arg(volume_id, "volume_id")?,
        uuid_arg(snapshot_id, "snapshot_id")?,
    ) {
        (Some(vid), None) => {
            let v = get(w, ctx, vid)?;
            if v.kind != "b_ssd" && v.kind != "unified" {
                return Err(Error::precondition(format!(
                    "only b_ssd volumes can be migrated, {vid} is {}",
                    v.kind
                )));
            }
            let mut snaps: Vec<&super::Snapshot> = w
                .snapshots
                .values()
                .filter(|s| {
                    visible(ctx, &s.owner) && s.base_volume.as_ref().is_some_and(|(b, _)| *b == vid)
                })
                .collect();
            snaps.sort_by_key(|s| s.seq);
            Ok((Some(vid), snaps.into_iter().map(|s| s.id).collect()))
        }
        (None, Some(sid)) => {
            let s = super::snapshots::get(w, ctx, sid)?;
            if s.volume_type != "b_ssd" && s.volume_type != "unified" {
                return Err(Error::precondition(format!(
                    "only b_ssd snapshots can be migrated, {sid} is {}",
                    s.volume_type
                )));
            }
            let base = s
                .base_volume
                .as_ref()
                .map(|(b, _)| *b)
                .filter(|b| w.volumes.contains_key(b));
            let mut snaps: Vec<&super::Snapshot> = w
                .snapshots
                .values()
                .filter(|x| visible(ctx, &x.owner))
                .filter(|x| {
                    x.id == sid
                        || (base.is_some() && x.base_volume.as_ref().map(|(b, _)| *b) == base)
                })
                .collect();
            snaps.sort_by_key(|s| s.seq);
            Ok((base, snaps.into_iter().map(|s| s.id).collect()))
        }
        (Some(_), Some(_)) => Err(Error::invalid(ArgDetail::constraint(
            "volume_id",
            "give volume_id or snapshot_id, not both",
        ))),
        (None, None) => Err(Error::invalid_all(vec![
            ArgDetail::required("volume_id"),
            ArgDetail::required("snapshot_id"),
        ])),
    }
}

fn key_of(vol: Option<Uuid>, snaps: &[Uuid]) -> String {
    let mut h: u64 = 0x5ca1_e000;
    for id in vol.iter().chain(snaps) {
        for b in id.as_bytes() {
            h = mix(h ^ u64::from(*b));
        }
    }
    format!("{h:016x}")
}

pub fn plan(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body: PlanBlockMigrationRequest = req.decode()?;
    let (vol, snaps) = plan_members(
        w,
        ctx,
        body.volume_id.as_deref(),
        body.snapshot_id.as_deref(),
    )?;
    let key = key_of(vol, &snaps);
    let volume = vol.and_then(|v| w.volumes.get(&v)).map(|v| render(w, v));
    let snapshots: Vec<fleet_core::Snapshot> = snaps
        .iter()
        .filter_map(|s| w.snapshots.get(s))
        .map(super::snapshots::render)
        .collect();
    let mut members = snaps.clone();
    members.extend(vol);
    w.migration_plans.insert(key.clone(), members);
    // Unwrapped, as observed for MigrationPlan.
    Ok(Resp::ok(MigrationPlan {
        volume,
        snapshots,
        validation_key: key,
        extra: Map::new(),
    }))
}

pub fn apply(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body: ApplyBlockMigrationRequest = req.decode()?;
    let key = non_empty(body.validation_key)
        .ok_or_else(|| Error::invalid(ArgDetail::required("validation_key")))?;
    let (vol, snaps) = plan_members(
        w,
        ctx,
        body.volume_id.as_deref(),
        body.snapshot_id.as_deref(),
    )?;
    if key_of(vol, &snaps) != key || !w.migration_plans.contains_key(&key) {
        return Err(Error::invalid(ArgDetail::constraint(
            "validation_key",
            "the validation key does not match the current migration plan; plan again",
        )));
    }
    w.migration_plans.remove(&key);
    // Migrated resources leave the Instance API for the Block API, with
    // the servers and images that hold them.
    if let Some(v) = vol.and_then(|v| w.volumes.remove(&v)) {
        super::block::volumes::from_migration(w, v, ctx.now);
    }
    let mut images: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for i in w.images.values() {
        for s in std::iter::once(&i.root).chain(i.extra.values()) {
            images.entry(*s).or_default().push(i.id);
        }
    }
    for s in snaps {
        if let Some(s) = w.snapshots.remove(&s) {
            super::block::snapshots::from_migration(w, s, &images, ctx.now);
        }
    }
    Ok(Resp::no_content())
}
