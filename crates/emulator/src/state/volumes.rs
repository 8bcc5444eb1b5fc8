//! Local volumes (`l_ssd`, `scratch`, legacy `b_ssd`) and the hidden SBS
//! volumes that servers reference (the Instance API answers 404 for those,
//! as the real one does), plus the block-migration plan/apply endpoints.

use std::time::SystemTime;

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Ctx, Owner, World, path_id, summary, visible};
use crate::errors::{ApiError, ApiResult, ArgDetail};
use crate::http::{Req, Resp};
use crate::pagination::list_response;
use crate::util::{mix, rfc3339};

/// A volume.
#[derive(Debug, Clone)]
pub struct Volume {
    /// Id.
    pub id: Uuid,
    /// Ownership.
    pub owner: Owner,
    /// Name.
    pub name: String,
    /// `l_ssd`, `scratch`, `b_ssd` or `sbs_volume`.
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

impl Volume {
    /// Whether the Instance API serves it (SBS volumes live in the Block API).
    pub fn is_instance(&self) -> bool {
        self.kind != "sbs_volume"
    }
}

/// Accept an SBS volume id the emulator has never seen: SBS volumes are
/// created through the Block API, which the emulator does not model, so a
/// referenced `sbs_volume` id is trusted to exist (10 GB, the caller's).
pub fn adopt_external_sbs(w: &mut World, ctx: &Ctx, owner: &Owner, id: Uuid) -> ApiResult<()> {
    if let Some(v) = w.volumes.get(&id) {
        return if visible(ctx, &v.owner) {
            Ok(())
        } else {
            Err(ApiError::not_found("instance_volume", id.to_string()))
        };
    }
    let seq = w.next_seq();
    w.volumes.insert(
        id,
        Volume {
            id,
            owner: owner.clone(),
            name: format!("sbs-volume-{}", &id.simple().to_string()[..8]),
            kind: "sbs_volume".into(),
            size: 10_000_000_000,
            state: "available".into(),
            server: None,
            tags: Vec::new(),
            created: ctx.now,
            modified: ctx.now,
            seq,
            boot: false,
        },
    );
    Ok(())
}

/// Standalone volume JSON.
pub fn render(w: &World, v: &Volume) -> Value {
    let server = v
        .server
        .and_then(|id| w.servers.get(&id))
        .map(|s| summary(s.id, &s.name))
        .unwrap_or(Value::Null);
    json!({
        "id": v.id.to_string(),
        "name": v.name,
        "volume_type": v.kind,
        "export_uri": null,
        "organization": v.owner.organization,
        "project": v.owner.project,
        "server": server,
        "size": v.size,
        "state": v.state,
        "creation_date": rfc3339(v.created),
        "modification_date": rfc3339(v.modified),
        "tags": v.tags,
        "zone": v.owner.zone,
    })
}

/// A `server.volumes` entry: full for local volumes, short for SBS ones.
pub fn render_in_server(v: &Volume, s: &super::Server) -> Value {
    if v.kind == "sbs_volume" {
        return json!({
            "boot": v.boot, "volume_type": "sbs_volume", "id": v.id.to_string(),
            "state": if v.state == "deleting" { "available" } else { v.state.as_str() }, "zone": v.owner.zone,
        });
    }
    json!({
        "boot": v.boot,
        "id": v.id.to_string(),
        "name": v.name,
        "volume_type": v.kind,
        "export_uri": null,
        "organization": v.owner.organization,
        "project": v.owner.project,
        "server": summary(s.id, &s.name),
        "size": v.size,
        "state": v.state,
        "creation_date": rfc3339(v.created),
        "modification_date": rfc3339(v.modified),
        "tags": v.tags,
        "zone": v.owner.zone,
    })
}

/// Look a local volume up for the caller.
pub fn get<'a>(w: &'a World, ctx: &Ctx, id: Uuid) -> ApiResult<&'a Volume> {
    w.volumes
        .get(&id)
        .filter(|v| v.is_instance() && visible(ctx, &v.owner))
        .ok_or_else(|| ApiError::not_found("instance_volume", id.to_string()))
}

/// Routes under `volumes`.
pub fn route(w: &mut World, ctx: &Ctx, req: &Req, m: &str, segs: &[&str]) -> ApiResult<Resp> {
    match (m, segs) {
        ("GET", []) => {
            let vt = req.q("volume_type");
            let mut v: Vec<&Volume> = w
                .volumes
                .values()
                .filter(|v| v.is_instance() && visible(ctx, &v.owner))
                .filter(|v| super::list_filter(req, &v.owner, &v.name, &v.tags))
                .filter(|v| vt.is_none_or(|t| v.kind == t))
                .collect();
            v.sort_by_key(|v| std::cmp::Reverse(v.seq));
            let items = v.into_iter().map(|v| render(w, v)).collect();
            list_response(req, "volumes", items, "/volumes")
        }
        ("POST", []) => create(w, ctx, req),
        (_, [id]) => {
            let id = path_id(id, "volume_id")?;
            match m {
                "GET" => Ok(Resp::ok(json!({"volume": render(w, get(w, ctx, id)?)}))),
                "PATCH" => update(w, ctx, req, id),
                "DELETE" => {
                    let v = get(w, ctx, id)?;
                    if v.server.is_some() {
                        return Err(ApiError::PreconditionFailed {
                            message: "volume is attached to a server".into(),
                            precondition: "resource_still_in_use",
                        });
                    }
                    w.volumes.remove(&id);
                    Ok(Resp::no_content())
                }
                _ => Err(ApiError::MethodNotAllowed),
            }
        }
        _ => Err(ApiError::UnknownRoute),
    }
}

fn check_size(w: &World, kind: &str, size: u64) -> ApiResult<()> {
    if !size.is_multiple_of(512) {
        return Err(ApiError::invalid(ArgDetail::constraint(
            "size",
            "must be a multiple of 512",
        )));
    }
    let (min, max) = w
        .catalog
        .volume_type_bounds(kind)
        .unwrap_or((1_000_000_000, 10_000_000_000_000));
    if size < min || size > max {
        return Err(ApiError::invalid(ArgDetail::constraint(
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

fn create(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body = req.json()?;
    let owner = w.owner_for_create(ctx, &body)?;
    let count = w
        .volumes
        .values()
        .filter(|v| v.is_instance() && visible(ctx, &v.owner))
        .count();
    w.check_quota(ctx, "instance_volumes", count, w.quotas.volumes)?;
    let kind = body
        .enum_str(
            "volume_type",
            &["l_ssd", "b_ssd", "unified", "scratch", "sbs_volume"],
        )?
        .unwrap_or_else(|| "l_ssd".into());
    if kind == "sbs_volume" {
        return Err(ApiError::invalid(ArgDetail::constraint(
            "volume_type",
            "sbs_volume volumes are managed by the Block Storage API",
        )));
    }
    let size = match (body.u64("size")?, body.uuid("base_snapshot")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(ArgDetail::constraint(
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
            return Err(ApiError::InvalidArguments(vec![
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
        name: body
            .str_ne("name")?
            .unwrap_or_else(|| "vol-emulated".into()),
        kind,
        size,
        state: "available".into(),
        server: None,
        tags: super::tags_of(&body)?.unwrap_or_default(),
        created: ctx.now,
        modified: ctx.now,
        seq,
        boot: false,
    };
    let out = json!({"volume": render(w, &v)});
    w.volumes.insert(id, v);
    Ok(Resp::created(out, Some(format!("/volumes/{id}"))))
}

fn update(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body = req.json()?;
    let cur = get(w, ctx, id)?.clone();
    let mut v = cur.clone();
    if let Some(n) = body.str_ne("name")? {
        v.name = n;
    }
    if let Some(t) = super::tags_of(&body)? {
        v.tags = t;
    }
    if let Some(size) = body.u64("size")? {
        if size < cur.size {
            return Err(ApiError::invalid(ArgDetail::constraint(
                "size",
                "a volume can only grow",
            )));
        }
        check_size(w, &cur.kind, size)?;
        v.size = size;
    }
    v.modified = ctx.now;
    let out = json!({"volume": render(w, &v)});
    w.volumes.insert(id, v);
    Ok(Resp::ok(out))
}

/// Routes under `block-migration`.
pub fn route_migration(
    w: &mut World,
    ctx: &Ctx,
    req: &Req,
    m: &str,
    segs: &[&str],
) -> ApiResult<Resp> {
    match (m, segs) {
        ("POST", ["plan"]) => plan(w, ctx, req),
        ("POST", ["apply"]) => apply(w, ctx, req),
        ("POST", ["check-organization-quotas"]) => {
            let body = req.json()?;
            if let Some(o) = body.str_ne("organization")?
                && o != ctx.tenant.organization
            {
                return Err(ApiError::PermissionsDenied {
                    resource: "instance_organization",
                    action: "read",
                });
            }
            Ok(Resp::no_content())
        }
        _ => Err(ApiError::UnknownRoute),
    }
}

/// The volume and snapshots a plan covers.
fn plan_members(w: &World, ctx: &Ctx, req: &Req) -> ApiResult<(Option<Uuid>, Vec<Uuid>)> {
    let body = req.json()?;
    match (body.uuid("volume_id")?, body.uuid("snapshot_id")?) {
        (Some(vid), None) => {
            let v = get(w, ctx, vid)?;
            if v.kind != "b_ssd" && v.kind != "unified" {
                return Err(ApiError::precondition(format!(
                    "only b_ssd volumes can be migrated, {vid} is {}",
                    v.kind
                )));
            }
            let mut snaps: Vec<&super::Snapshot> = w
                .snapshots
                .values()
                .filter(|s| {
                    visible(ctx, &s.owner)
                        && s.base_volume.as_ref().is_some_and(|(b, _)| *b == vid)
                        && s.volume_type != "sbs_snapshot"
                })
                .collect();
            snaps.sort_by_key(|s| s.seq);
            Ok((Some(vid), snaps.into_iter().map(|s| s.id).collect()))
        }
        (None, Some(sid)) => {
            let s = super::snapshots::get(w, ctx, sid)?;
            if s.volume_type != "b_ssd" && s.volume_type != "unified" {
                return Err(ApiError::precondition(format!(
                    "only b_ssd snapshots can be migrated, {sid} is {}",
                    s.volume_type
                )));
            }
            let base = s
                .base_volume
                .as_ref()
                .map(|(b, _)| *b)
                .filter(|b| w.volumes.get(b).is_some_and(Volume::is_instance));
            let mut snaps: Vec<&super::Snapshot> = w
                .snapshots
                .values()
                .filter(|x| visible(ctx, &x.owner) && x.volume_type != "sbs_snapshot")
                .filter(|x| {
                    x.id == sid
                        || (base.is_some() && x.base_volume.as_ref().map(|(b, _)| *b) == base)
                })
                .collect();
            snaps.sort_by_key(|s| s.seq);
            Ok((base, snaps.into_iter().map(|s| s.id).collect()))
        }
        (Some(_), Some(_)) => Err(ApiError::invalid(ArgDetail::constraint(
            "volume_id",
            "give volume_id or snapshot_id, not both",
        ))),
        (None, None) => Err(ApiError::InvalidArguments(vec![
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

fn plan(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let (vol, snaps) = plan_members(w, ctx, req)?;
    let key = key_of(vol, &snaps);
    let volume = vol
        .and_then(|v| w.volumes.get(&v))
        .map(|v| render(w, v))
        .unwrap_or(Value::Null);
    let snapshots: Vec<Value> = snaps
        .iter()
        .filter_map(|s| w.snapshots.get(s))
        .map(super::snapshots::render)
        .collect();
    let mut members = snaps.clone();
    members.extend(vol);
    w.migration_plans.insert(key.clone(), members);
    // Unwrapped, as observed for MigrationPlan.
    Ok(Resp::ok(
        json!({"volume": volume, "snapshots": snapshots, "validation_key": key}),
    ))
}

fn apply(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body = req.json()?;
    let key = body
        .str_ne("validation_key")?
        .ok_or_else(|| ApiError::invalid(ArgDetail::required("validation_key")))?;
    let (vol, snaps) = plan_members(w, ctx, req)?;
    if key_of(vol, &snaps) != key || !w.migration_plans.contains_key(&key) {
        return Err(ApiError::invalid(ArgDetail::constraint(
            "validation_key",
            "the validation key does not match the current migration plan; plan again",
        )));
    }
    w.migration_plans.remove(&key);
    // Migrated resources leave the Instance API for the Block API.
    if let Some(v) = vol.and_then(|v| w.volumes.get_mut(&v)) {
        v.kind = "sbs_volume".into();
        v.modified = ctx.now;
    }
    for s in snaps {
        if let Some(s) = w.snapshots.get_mut(&s) {
            s.volume_type = "sbs_snapshot".into();
            s.modified = ctx.now;
        }
    }
    Ok(Resp::no_content())
}
