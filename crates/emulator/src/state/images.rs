//! Images: public ones from the catalogue (read-only) and tenant images made
//! from snapshots or by the `backup` action.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Ctx, Owner, World, path_id, visible};
use crate::errors::{ApiError, ApiResult, ArgDetail};
use crate::http::{Obj, Req, Resp};
use crate::pagination::list_response;
use crate::util::rfc3339;

/// A tenant image.
#[derive(Debug, Clone)]
pub struct Image {
    /// Id.
    pub id: Uuid,
    /// Ownership.
    pub owner: Owner,
    /// Name.
    pub name: String,
    /// Architecture.
    pub arch: String,
    /// Root snapshot.
    pub root: Uuid,
    /// Extra snapshots keyed "1", "2", ….
    pub extra: BTreeMap<String, Uuid>,
    /// Public flag.
    pub public: bool,
    /// Server it was backed up from ("" otherwise).
    pub from_server: String,
    /// `creating`, `available`, `error`.
    pub state: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time.
    pub created: SystemTime,
    /// Last modification.
    pub modified: SystemTime,
    /// Creation order.
    pub seq: u64,
}

fn snapshot_summary(w: &World, id: Uuid) -> Value {
    match w.snapshots.get(&id) {
        Some(s) if s.volume_type == "sbs_snapshot" => {
            json!({"volume_type": "sbs_snapshot", "id": id.to_string(), "size": 0, "name": ""})
        }
        Some(s) => {
            json!({"id": id.to_string(), "name": s.name, "volume_type": s.volume_type, "size": s.size})
        }
        None => json!({"id": id.to_string(), "name": "", "volume_type": "l_ssd", "size": 0}),
    }
}

/// Image JSON, key order as recorded.
pub fn render(w: &World, i: &Image) -> Value {
    let extra: serde_json::Map<String, Value> = i
        .extra
        .iter()
        .map(|(k, s)| (k.clone(), snapshot_summary(w, *s)))
        .collect();
    json!({
        "id": i.id.to_string(),
        "name": i.name,
        "organization": i.owner.organization,
        "project": i.owner.project,
        "root_volume": snapshot_summary(w, i.root),
        "extra_volumes": extra,
        "public": i.public,
        "arch": i.arch,
        "creation_date": rfc3339(i.created),
        "modification_date": rfc3339(i.modified),
        "default_bootscript": null,
        "from_server": i.from_server,
        "state": i.state,
        "tags": i.tags,
        "zone": i.owner.zone,
    })
}

/// The JSON of an image the caller can use: its own, or a public one.
pub fn lookup_value(w: &World, ctx: &Ctx, id: Uuid) -> Option<Value> {
    if let Some(i) = w.images.get(&id).filter(|i| visible(ctx, &i.owner)) {
        return Some(render(w, i));
    }
    w.catalog.public_image(&ctx.zone, &id.to_string()).cloned()
}

fn get<'a>(w: &'a World, ctx: &Ctx, id: Uuid) -> ApiResult<&'a Image> {
    w.images
        .get(&id)
        .filter(|i| visible(ctx, &i.owner))
        .ok_or_else(|| ApiError::not_found("instance_image", id.to_string()))
}

/// Routes under `images`.
pub fn route(w: &mut World, ctx: &Ctx, req: &Req, m: &str, segs: &[&str]) -> ApiResult<Resp> {
    match (m, segs) {
        ("GET", []) => list(w, ctx, req),
        ("POST", []) => create(w, ctx, req),
        (_, [id]) => {
            let id = path_id(id, "image_id")?;
            match m {
                "GET" => lookup_value(w, ctx, id)
                    .map(|v| Resp::ok(json!({"image": v})))
                    .ok_or_else(|| ApiError::not_found("instance_image", id.to_string())),
                "PATCH" | "PUT" => update(w, ctx, req, id),
                "DELETE" => {
                    if w.catalog.public_image(&ctx.zone, &id.to_string()).is_some() {
                        return Err(ApiError::PermissionsDenied {
                            resource: "instance_image",
                            action: "delete",
                        });
                    }
                    get(w, ctx, id)?;
                    w.images.remove(&id);
                    Ok(Resp::no_content())
                }
                _ => Err(ApiError::MethodNotAllowed),
            }
        }
        _ => Err(ApiError::UnknownRoute),
    }
}

fn list(w: &World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let public = req.q_bool("public")?;
    let arch = req.q("arch");
    let mut own: Vec<&Image> = w
        .images
        .values()
        .filter(|i| visible(ctx, &i.owner))
        .filter(|i| super::list_filter(req, &i.owner, &i.name, &i.tags))
        .filter(|i| arch.is_none_or(|a| i.arch == a))
        .collect();
    own.sort_by_key(|i| std::cmp::Reverse(i.seq));
    let mut items: Vec<Value> = Vec::new();
    if public != Some(true) {
        items.extend(own.into_iter().map(|i| render(w, i)));
    }
    if public != Some(false) && req.q("project").is_none() && req.q("organization").is_none() {
        let name = req.q("name");
        items.extend(
            w.catalog
                .public_images(&ctx.zone)
                .into_iter()
                .filter(|i| {
                    name.is_none_or(|n| {
                        i.get("name")
                            .and_then(Value::as_str)
                            .is_some_and(|x| x.contains(n))
                    })
                })
                .filter(|i| arch.is_none_or(|a| i.get("arch").and_then(Value::as_str) == Some(a)))
                .filter(|_| req.q_list("tags").is_empty())
                .cloned(),
        );
    }
    list_response(req, "images", items, "/images")
}

fn snapshot_ref(w: &World, ctx: &Ctx, arg: &str, v: &Value) -> ApiResult<Uuid> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => {
            return Err(ApiError::invalid(ArgDetail::format(
                arg,
                "expected a snapshot id",
            )));
        }
    };
    let id = crate::util::parse_uuid(&s)
        .ok_or_else(|| ApiError::invalid(ArgDetail::format(arg, "not a valid UUID")))?;
    Ok(super::snapshots::get(w, ctx, id)?.id)
}

fn extras(w: &World, ctx: &Ctx, body: &Obj) -> ApiResult<Option<BTreeMap<String, Uuid>>> {
    let Some(o) = body.obj("extra_volumes")? else {
        return Ok(None);
    };
    let mut m = BTreeMap::new();
    for (k, v) in &o.0 {
        m.insert(
            k.clone(),
            snapshot_ref(w, ctx, &format!("extra_volumes.{k}"), v)?,
        );
    }
    Ok(Some(m))
}

fn create(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body = req.json()?;
    let owner = w.owner_for_create(ctx, &body)?;
    let count = w.images.values().filter(|i| visible(ctx, &i.owner)).count();
    w.check_quota(ctx, "instance_images", count, w.quotas.images)?;
    let root = match body.get("root_volume") {
        Some(v) => snapshot_ref(w, ctx, "root_volume", v)?,
        None => return Err(ApiError::invalid(ArgDetail::required("root_volume"))),
    };
    let arch = body
        .enum_str("arch", &["x86_64", "arm", "arm64"])?
        .unwrap_or_else(|| "x86_64".into());
    let extra = extras(w, ctx, &body)?.unwrap_or_default();
    let id = w.new_id();
    let seq = w.next_seq();
    let img = Image {
        id,
        owner,
        name: body
            .str_ne("name")?
            .unwrap_or_else(|| "img-emulated".into()),
        arch,
        root,
        extra,
        public: body.bool("public")?.unwrap_or(false),
        from_server: String::new(),
        state: "available".into(),
        tags: super::tags_of(&body)?.unwrap_or_default(),
        created: ctx.now,
        modified: ctx.now,
        seq,
    };
    let out = json!({"image": render(w, &img)});
    w.images.insert(id, img);
    Ok(Resp::created(out, Some(format!("/images/{id}"))))
}

fn update(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body = req.json()?;
    if w.catalog.public_image(&ctx.zone, &id.to_string()).is_some() {
        return Err(ApiError::PermissionsDenied {
            resource: "instance_image",
            action: "write",
        });
    }
    let mut i = get(w, ctx, id)?.clone();
    if let Some(n) = body.str_ne("name")? {
        i.name = n;
    }
    if let Some(a) = body.enum_str("arch", &["x86_64", "arm", "arm64"])? {
        i.arch = a;
    }
    if let Some(t) = super::tags_of(&body)? {
        i.tags = t;
    }
    if let Some(p) = body.bool("public")? {
        i.public = p;
    }
    if let Some(e) = extras(w, ctx, &body)? {
        i.extra = e;
    }
    i.modified = ctx.now;
    let out = json!({"image": render(w, &i)});
    w.images.insert(id, i);
    Ok(Resp::ok(out))
}
