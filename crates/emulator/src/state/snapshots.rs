//! Snapshots: from a volume (`snapshotting → available`; `available` at
//! once from a stopped server's volume), imported from a
//! bucket (`importing → available`), exported to a bucket
//! (`exporting → available`).

use std::time::SystemTime;

use fleet_core::PreconditionFailedKind;
use fleet_core::{
    CreateSnapshotRequest, CreateSnapshotResponse, ExportSnapshotRequest, ListSnapshotsResponse,
    Maybe, SnapshotBaseVolume, SnapshotResponse, TaskResponse, UpdateSnapshotRequest,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{Ctx, Event, Owner, World, task, ts, visible, zone};
use crate::errors::{ApiError, ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp, non_empty, one_of, uuid_arg};
use crate::pagination::list_response;

/// A snapshot.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Id.
    pub id: Uuid,
    /// Ownership.
    pub owner: Owner,
    /// Name.
    pub name: String,
    /// `l_ssd`, `b_ssd` or `unified` (SBS snapshots live in the Block API).
    pub volume_type: String,
    /// Bytes.
    pub size: u64,
    /// State.
    pub state: String,
    /// Source volume (id, name).
    pub base_volume: Option<(Uuid, String)>,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created: SystemTime,
    /// Last modification.
    pub modified: SystemTime,
    /// Creation order.
    pub seq: u64,
    /// `error_details`.
    pub error: Option<String>,
}

/// A snapshot as the API shows it.
pub fn render(s: &Snapshot) -> fleet_core::Snapshot {
    fleet_core::Snapshot {
        id: s.id.to_string(),
        name: s.name.clone(),
        volume_type: s.volume_type.as_str().into(),
        creation_date: Some(ts(s.created)),
        modification_date: Some(ts(s.modified)),
        organization: s.owner.organization.clone(),
        project: s.owner.project.clone(),
        size: s.size,
        state: s.state.as_str().into(),
        base_volume: s.base_volume.as_ref().map(|(id, name)| SnapshotBaseVolume {
            id: id.to_string(),
            name: name.clone(),
            extra: Map::new(),
        }),
        tags: s.tags.clone(),
        zone: zone(&s.owner.zone),
        error_details: match &s.error {
            Some(e) => Maybe::Value(Value::String(e.clone())),
            None => Maybe::Null,
        },
        error_reason: Maybe::Absent,
        extra: Map::new(),
    }
}

fn wrap(snapshot: fleet_core::Snapshot) -> SnapshotResponse {
    SnapshotResponse {
        snapshot,
        extra: Map::new(),
    }
}

/// Look a snapshot up for the caller (SBS snapshots live in the Block API).
pub fn get<'a>(w: &'a World, ctx: &Ctx, id: Uuid) -> ApiResult<&'a Snapshot> {
    w.snapshots
        .get(&id)
        .filter(|s| visible(ctx, &s.owner))
        .ok_or_else(|| Error::not_found("instance_snapshot", id.to_string()))
}

/// `GET snapshots` (SBS snapshots live in the Block API, not here).
pub fn list(w: &World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let base = req.q("base_volume_id");
    let mut v: Vec<&Snapshot> = w
        .snapshots
        .values()
        .filter(|s| visible(ctx, &s.owner))
        .filter(|s| super::list_filter(req, &s.owner, &s.name, &s.tags))
        .filter(|s| {
            base.is_none_or(|b| {
                s.base_volume
                    .as_ref()
                    .is_some_and(|(id, _)| id.to_string() == b)
            })
        })
        .collect();
    v.sort_by_key(|s| std::cmp::Reverse(s.seq));
    let items = v.into_iter().map(render).collect();
    list_response(req, items, "/snapshots", |snapshots| {
        ListSnapshotsResponse {
            snapshots,
            extra: Map::new(),
        }
    })
}

/// `GET snapshots/{id}`.
pub fn get_one(w: &World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    Ok(Resp::ok(wrap(render(get(w, ctx, id)?))))
}

/// `PATCH` / `PUT snapshots/{id}`: PUT sends the whole object; only its
/// writable fields (the PATCH ones) matter.
pub fn update(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body: UpdateSnapshotRequest = req.decode()?;
    let mut s = get(w, ctx, id)?.clone();
    if let Some(n) = non_empty(body.name) {
        s.name = n;
    }
    if let Some(t) = body.tags {
        s.tags = t;
    }
    s.modified = ctx.now;
    let out = wrap(render(&s));
    w.snapshots.insert(id, s);
    Ok(Resp::ok(out))
}

/// `DELETE snapshots/{id}`, refused while an image uses it.
pub fn delete(w: &mut World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    get(w, ctx, id)?;
    if w.images
        .values()
        .any(|i| i.root == id || i.extra.values().any(|x| *x == id))
    {
        return Err(Error::from(ApiError::precondition_failed_with(
            PreconditionFailedKind::ResourceStillInUse,
            "snapshot is used by an image",
        )));
    }
    w.snapshots.remove(&id);
    Ok(Resp::no_content())
}

/// Volume `vid` is gone: the snapshots taken from it show `base_volume:
/// null` from now on (recorded).
pub fn forget_base(w: &mut World, vid: Uuid) {
    for s in w.snapshots.values_mut() {
        if s.base_volume.as_ref().is_some_and(|(id, _)| *id == vid) {
            s.base_volume = None;
        }
    }
}

/// `POST snapshots`.
pub fn create(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body: CreateSnapshotRequest = req.decode()?;
    let owner = w.owner_for_create(ctx, body.project.as_deref(), body.organization.as_deref())?;
    let count = w
        .snapshots
        .values()
        .filter(|s| visible(ctx, &s.owner))
        .count();
    w.check_quota(ctx, "instance_snapshots", count, w.quotas.snapshots)?;
    let vt = one_of(
        "volume_type",
        body.volume_type,
        &["unknown_volume_type", "l_ssd", "b_ssd", "unified"],
    )?
    .map(|t| t.to_string())
    .filter(|t| t != "unknown_volume_type");
    let bucket = non_empty(body.bucket);
    let key = non_empty(body.key);
    let volume_id = uuid_arg(body.volume_id.as_deref(), "volume_id")?;
    let t = w.transition;
    let id = w.new_id();
    let seq = w.next_seq();
    let name = non_empty(body.name).unwrap_or_else(|| "snp-emulated".into());
    let tags = body.tags.unwrap_or_default();
    let snap = match volume_id {
        Some(vid) => {
            let v = super::volumes::get(w, ctx, vid)?.clone();
            if v.state != "available" && v.state != "snapshotting" {
                return Err(Error::transient_state(
                    "instance_volume",
                    vid.to_string(),
                    &v.state,
                ));
            }
            if v.kind == "scratch" {
                return Err(Error::invalid(ArgDetail::constraint(
                    "volume_id",
                    "scratch volumes cannot be snapshotted",
                )));
            }
            // Observed: the local volume of a stopped server (archived,
            // off any hypervisor) is copied at once: the snapshot answers
            // `available` and the volume never shows `snapshotting`; with
            // its server on, the copy takes a while.
            let at_once = v
                .server
                .and_then(|s| w.servers.get(&s))
                .is_some_and(|s| s.state == fleet_core::ServerState::Stopped);
            if !at_once {
                if let Some(vm) = w.volumes.get_mut(&vid) {
                    vm.state = "snapshotting".into();
                }
                w.schedule(ctx.instant, t, Event::VolumeAvailable(vid));
                w.schedule(ctx.instant, t, Event::SnapshotAvailable(id));
            }
            Snapshot {
                id,
                owner,
                name,
                volume_type: vt.unwrap_or(v.kind),
                size: v.size,
                state: if at_once { "available" } else { "snapshotting" }.into(),
                base_volume: Some((v.id, v.name)),
                tags,
                created: ctx.now,
                modified: ctx.now,
                seq,
                error: None,
            }
        }
        None => {
            let (Some(_bucket), Some(_key)) = (bucket, key) else {
                return Err(Error::invalid_all(vec![ArgDetail::required("volume_id")]));
            };
            // Observed: an import without `size` is accepted (the object's size is used).
            let size = body.size.unwrap_or(10_000_000_000);
            if !size.is_multiple_of(512) || size == 0 {
                return Err(Error::invalid(ArgDetail::constraint(
                    "size",
                    "must be a non-zero multiple of 512",
                )));
            }
            w.schedule(ctx.instant, t, Event::SnapshotAvailable(id));
            Snapshot {
                id,
                owner,
                name,
                volume_type: vt.unwrap_or_else(|| "l_ssd".into()),
                size,
                state: "importing".into(),
                base_volume: None,
                tags,
                created: ctx.now,
                modified: ctx.now,
                seq,
                error: None,
            }
        }
    };
    let tk = task(
        ctx,
        w.new_id(),
        "volume_snapshot",
        "/snapshots",
        &format!("snapshots/{id}"),
    );
    let out = CreateSnapshotResponse {
        snapshot: render(&snap),
        task: tk,
        extra: Map::new(),
    };
    w.snapshots.insert(id, snap);
    // No Location header on snapshot creation (as observed).
    Ok(Resp::created(out, None))
}

/// `POST snapshots/{id}/export`.
pub fn export(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body: ExportSnapshotRequest = req.decode()?;
    let bucket = non_empty(body.bucket);
    let key = non_empty(body.key);
    let (bucket, key) = match (bucket, key) {
        (Some(b), Some(k)) => (b, k),
        (b, k) => {
            let mut d = Vec::new();
            if b.is_none() {
                d.push(ArgDetail::required("bucket"));
            }
            if k.is_none() {
                d.push(ArgDetail::required("key"));
            }
            return Err(Error::invalid_all(d));
        }
    };
    let s = get(w, ctx, id)?;
    if s.state != "available" {
        return Err(Error::transient_state(
            "instance_snapshot",
            id.to_string(),
            &s.state.clone(),
        ));
    }
    let t = w.transition;
    if let Some(s) = w.snapshots.get_mut(&id) {
        s.state = "exporting".into();
        s.modified = ctx.now;
    }
    w.schedule(ctx.instant, t, Event::SnapshotAvailable(id));
    let region = ctx
        .zone
        .rsplit_once('-')
        .map(|(r, _)| r)
        .unwrap_or(&ctx.zone);
    let href = format!("https://s3.{region}.scw.cloud/{bucket}/{key}");
    let tk = task(
        ctx,
        Uuid::nil(),
        "fake task",
        &format!("/snapshots/{id}/export"),
        &href,
    );
    Ok(Resp::accepted(TaskResponse {
        task: tk,
        extra: Map::new(),
    }))
}
