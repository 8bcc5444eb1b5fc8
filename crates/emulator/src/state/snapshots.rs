//! Snapshots: from a volume (`snapshotting → available`), imported from a
//! bucket (`importing → available`), exported to a bucket
//! (`exporting → available`).

use std::time::SystemTime;

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Ctx, Event, Owner, World, path_id, task, visible};
use crate::errors::{ApiError, ApiResult, ArgDetail};
use crate::http::{Req, Resp};
use crate::pagination::list_response;
use crate::util::rfc3339;

/// A snapshot.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Id.
    pub id: Uuid,
    /// Ownership.
    pub owner: Owner,
    /// Name.
    pub name: String,
    /// `l_ssd`, `b_ssd`, `unified` or the hidden `sbs_snapshot`.
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

/// Snapshot JSON, key order as recorded.
pub fn render(s: &Snapshot) -> Value {
    json!({
        "id": s.id.to_string(),
        "name": s.name,
        "volume_type": s.volume_type,
        "creation_date": rfc3339(s.created),
        "modification_date": rfc3339(s.modified),
        "organization": s.owner.organization,
        "project": s.owner.project,
        "size": s.size,
        "state": s.state,
        "base_volume": s.base_volume.as_ref().map(|(id, n)| json!({"id": id.to_string(), "name": n})).unwrap_or(Value::Null),
        "tags": s.tags,
        "zone": s.owner.zone,
        "error_details": s.error,
    })
}

/// Look a snapshot up for the caller (SBS snapshots live in the Block API).
pub fn get<'a>(w: &'a World, ctx: &Ctx, id: Uuid) -> ApiResult<&'a Snapshot> {
    w.snapshots
        .get(&id)
        .filter(|s| s.volume_type != "sbs_snapshot" && visible(ctx, &s.owner))
        .ok_or_else(|| ApiError::not_found("instance_snapshot", id.to_string()))
}

/// Routes under `snapshots`.
pub fn route(w: &mut World, ctx: &Ctx, req: &Req, m: &str, segs: &[&str]) -> ApiResult<Resp> {
    match (m, segs) {
        ("GET", []) => {
            let base = req.q("base_volume_id");
            let mut v: Vec<&Snapshot> = w
                .snapshots
                .values()
                .filter(|s| s.volume_type != "sbs_snapshot" && visible(ctx, &s.owner))
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
            list_response(req, "snapshots", items, "/snapshots")
        }
        ("POST", []) => create(w, ctx, req),
        ("POST", [id, "export"]) => export(w, ctx, req, path_id(id, "snapshot_id")?),
        (_, [id]) => {
            let id = path_id(id, "snapshot_id")?;
            match m {
                "GET" => Ok(Resp::ok(json!({"snapshot": render(get(w, ctx, id)?)}))),
                "PATCH" | "PUT" => {
                    let body = req.json()?;
                    let mut s = get(w, ctx, id)?.clone();
                    if let Some(n) = body.str_ne("name")? {
                        s.name = n;
                    }
                    if let Some(t) = super::tags_of(&body)? {
                        s.tags = t;
                    }
                    s.modified = ctx.now;
                    let out = json!({"snapshot": render(&s)});
                    w.snapshots.insert(id, s);
                    Ok(Resp::ok(out))
                }
                "DELETE" => {
                    get(w, ctx, id)?;
                    if w.images
                        .values()
                        .any(|i| i.root == id || i.extra.values().any(|x| *x == id))
                    {
                        return Err(ApiError::PreconditionFailed {
                            message: "snapshot is used by an image".into(),
                            precondition: "resource_still_in_use",
                        });
                    }
                    w.snapshots.remove(&id);
                    Ok(Resp::no_content())
                }
                _ => Err(ApiError::MethodNotAllowed),
            }
        }
        _ => Err(ApiError::UnknownRoute),
    }
}

fn create(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body = req.json()?;
    let owner = w.owner_for_create(ctx, &body)?;
    let count = w
        .snapshots
        .values()
        .filter(|s| visible(ctx, &s.owner))
        .count();
    w.check_quota(ctx, "instance_snapshots", count, w.quotas.snapshots)?;
    let vt = body
        .enum_str(
            "volume_type",
            &["unknown_volume_type", "l_ssd", "b_ssd", "unified"],
        )?
        .filter(|t| t != "unknown_volume_type");
    let bucket = body.str_ne("bucket")?;
    let key = body.str_ne("key")?;
    let t = w.transition;
    let id = w.new_id();
    let seq = w.next_seq();
    let name = body
        .str_ne("name")?
        .unwrap_or_else(|| "snp-emulated".into());
    let tags = super::tags_of(&body)?.unwrap_or_default();
    let snap = match body.uuid("volume_id")? {
        Some(vid) => {
            let v = super::volumes::get(w, ctx, vid)?.clone();
            if v.state != "available" && v.state != "snapshotting" {
                return Err(ApiError::TransientState {
                    resource: "instance_volume",
                    resource_id: vid.to_string(),
                    current_state: v.state,
                });
            }
            if v.kind == "scratch" {
                return Err(ApiError::invalid(ArgDetail::constraint(
                    "volume_id",
                    "scratch volumes cannot be snapshotted",
                )));
            }
            if let Some(vm) = w.volumes.get_mut(&vid) {
                vm.state = "snapshotting".into();
            }
            w.schedule(ctx.instant, t, Event::VolumeAvailable(vid));
            Snapshot {
                id,
                owner,
                name,
                volume_type: vt.unwrap_or(v.kind),
                size: v.size,
                state: "snapshotting".into(),
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
                return Err(ApiError::InvalidArguments(vec![ArgDetail::required(
                    "volume_id",
                )]));
            };
            // Observed: an import without `size` is accepted (the object's size is used).
            let size = body.u64("size")?.unwrap_or(10_000_000_000);
            if size % 512 != 0 || size == 0 {
                return Err(ApiError::invalid(ArgDetail::constraint(
                    "size",
                    "must be a non-zero multiple of 512",
                )));
            }
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
    w.schedule(ctx.instant, t, Event::SnapshotAvailable(id));
    let tk = task(
        ctx,
        w.new_id(),
        "volume_snapshot",
        "/snapshots",
        &format!("snapshots/{id}"),
    );
    let out = json!({"snapshot": render(&snap), "task": tk});
    w.snapshots.insert(id, snap);
    // No Location header on snapshot creation (as observed).
    Ok(Resp::created(out, None))
}

fn export(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body = req.json()?;
    let bucket = body.str_ne("bucket")?;
    let key = body.str_ne("key")?;
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
            return Err(ApiError::InvalidArguments(d));
        }
    };
    let s = get(w, ctx, id)?;
    if s.state != "available" {
        return Err(ApiError::TransientState {
            resource: "instance_snapshot",
            resource_id: id.to_string(),
            current_state: s.state.clone(),
        });
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
    Ok(Resp::accepted(json!({"task": tk})))
}
