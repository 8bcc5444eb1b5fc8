//! Images: public ones from the catalogue (read-only) and tenant images made
//! from snapshots (Instance or Block ones) or by the `backup` action. An
//! image links the Block snapshots it uses (they read `in_use`) and lets go
//! of them a transition after it is deleted.

use std::collections::BTreeMap;
use std::time::SystemTime;

use fleet_core::{
    CreateImageRequest, ImageResponse, ListImagesResponse, UpdateImageRequest, VolumeSummary,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{Ctx, Owner, World, block, ts, visible, zone};
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp, non_empty, one_of};
use crate::pagination::list_response;

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
    /// Root snapshot (Instance or Block).
    pub root: Uuid,
    /// Extra snapshots keyed "1", "2", … (Instance or Block).
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

/// An image's volume: an Instance snapshot in full; a Block one as
/// recorded, `sbs_snapshot` with no name and size 0.
fn snapshot_summary(w: &World, id: Uuid) -> VolumeSummary {
    let (name, size, volume_type) = match w.snapshots.get(&id) {
        Some(s) => (s.name.clone(), s.size, s.volume_type.as_str()),
        None if w.block_snapshots.contains_key(&id) => (String::new(), 0, "sbs_snapshot"),
        None => (String::new(), 0, "l_ssd"),
    };
    VolumeSummary {
        id: id.to_string(),
        name,
        size,
        volume_type: volume_type.into(),
        extra: Map::new(),
    }
}

/// A tenant image as the API shows it.
pub fn render(w: &World, i: &Image) -> fleet_core::Image {
    fleet_core::Image {
        id: i.id.to_string(),
        name: i.name.clone(),
        organization: i.owner.organization.clone(),
        project: i.owner.project.clone(),
        root_volume: Some(snapshot_summary(w, i.root)),
        extra_volumes: i
            .extra
            .iter()
            .map(|(k, s)| (k.clone(), snapshot_summary(w, *s)))
            .collect(),
        public: i.public,
        arch: i.arch.as_str().into(),
        creation_date: Some(ts(i.created)),
        modification_date: Some(ts(i.modified)),
        default_bootscript: None,
        from_server: i.from_server.clone(),
        state: i.state.as_str().into(),
        tags: i.tags.clone(),
        zone: zone(&i.owner.zone),
        extra: Map::new(),
    }
}

/// A public image of the catalogue. Its data are recorded API bodies,
/// which core reads whole (the conformance test proves it), so `None`
/// only means a corrupt catalogue entry, treated as absent.
pub fn from_catalog(v: &Value) -> Option<fleet_core::Image> {
    serde_json::from_value(v.clone()).ok()
}

/// An image the caller can use: its own, or a public one.
pub fn lookup(w: &World, ctx: &Ctx, id: Uuid) -> Option<fleet_core::Image> {
    if let Some(i) = w.images.get(&id).filter(|i| visible(ctx, &i.owner)) {
        return Some(render(w, i));
    }
    w.catalog
        .public_image(&ctx.zone, &id.to_string())
        .and_then(from_catalog)
}

fn wrap(image: fleet_core::Image) -> ImageResponse {
    ImageResponse {
        image,
        extra: Map::new(),
    }
}

fn get<'a>(w: &'a World, ctx: &Ctx, id: Uuid) -> ApiResult<&'a Image> {
    w.images
        .get(&id)
        .filter(|i| visible(ctx, &i.owner))
        .ok_or_else(|| Error::not_found("instance_image", id.to_string()))
}

/// `GET images/{id}`: a tenant image or a public one.
pub fn get_one(w: &World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    lookup(w, ctx, id)
        .map(|i| Resp::ok(wrap(i)))
        .ok_or_else(|| Error::not_found("instance_image", id.to_string()))
}

/// `DELETE images/{id}`: public images are not the caller's to delete.
pub fn delete(w: &mut World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    if w.catalog.public_image(&ctx.zone, &id.to_string()).is_some() {
        return Err(Error::permissions_denied("instance_image", "delete"));
    }
    let image = get(w, ctx, id)?.clone();
    w.images.remove(&id);
    let t = w.transition;
    for s in image.snapshots() {
        if w.block_snapshots.contains_key(&s) {
            let ev = block::Event::SnapshotUnlinked {
                snapshot: s,
                image: id,
            };
            block::schedule(w, ctx.instant, t, ev);
        }
    }
    Ok(Resp::no_content())
}

impl Image {
    /// Every snapshot it uses, root first.
    pub fn snapshots(&self) -> Vec<Uuid> {
        std::iter::once(self.root)
            .chain(self.extra.values().copied())
            .collect()
    }
}

/// Image `image` links the Block snapshots among `snapshots`.
pub fn link_block_snapshots(w: &mut World, ctx: &Ctx, image: Uuid, snapshots: &[Uuid]) {
    for s in snapshots {
        if w.block_snapshots.contains_key(s) {
            block::snapshots::link_image(w, *s, image, ctx.now);
        }
    }
}

pub fn list(w: &World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
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
    let mut items: Vec<fleet_core::Image> = Vec::new();
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
                .filter_map(from_catalog),
        );
    }
    list_response(req, items, "/images", |images| ListImagesResponse {
        images,
        extra: Map::new(),
    })
}

/// A snapshot an image may use: the caller's, Instance or Block.
fn snapshot_ref(w: &World, ctx: &Ctx, arg: &str, id: &str) -> ApiResult<Uuid> {
    let id = crate::util::parse_uuid(id)
        .ok_or_else(|| Error::invalid(ArgDetail::format(arg, "not a valid UUID")))?;
    if block::snapshots::get(w, ctx, id).is_ok() {
        return Ok(id);
    }
    Ok(super::snapshots::get(w, ctx, id)?.id)
}

fn extras<'a>(
    w: &World,
    ctx: &Ctx,
    ids: Option<impl Iterator<Item = (&'a String, &'a str)>>,
) -> ApiResult<Option<BTreeMap<String, Uuid>>> {
    let Some(ids) = ids else {
        return Ok(None);
    };
    let mut m = BTreeMap::new();
    for (k, id) in ids {
        let arg = format!("extra_volumes.{k}.id");
        m.insert(k.clone(), snapshot_ref(w, ctx, &arg, id)?);
    }
    Ok(Some(m))
}

pub fn create(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body: CreateImageRequest = req.decode()?;
    let owner = w.owner_for_create(ctx, body.project.as_deref(), body.organization.as_deref())?;
    let count = w.images.values().filter(|i| visible(ctx, &i.owner)).count();
    w.check_quota(ctx, "instance_images", count, w.quotas.images)?;
    let root = match non_empty(body.root_volume) {
        Some(r) => snapshot_ref(w, ctx, "root_volume", &r)?,
        None => return Err(Error::invalid(ArgDetail::required("root_volume"))),
    };
    let arch = one_of("arch", body.arch, &["x86_64", "arm", "arm64"])?
        .map_or_else(|| "x86_64".to_owned(), |a| a.to_string());
    let extra = extras(
        w,
        ctx,
        body.extra_volumes.as_ref().map(|m| {
            m.iter()
                .map(|(k, v)| (k, v.id.as_deref().unwrap_or_default()))
        }),
    )?
    .unwrap_or_default();
    let id = w.new_id();
    let seq = w.next_seq();
    let img = Image {
        id,
        owner,
        name: non_empty(body.name).unwrap_or_else(|| "img-emulated".into()),
        arch,
        root,
        extra,
        public: body.public.unwrap_or(false),
        from_server: String::new(),
        state: "available".into(),
        tags: body.tags.unwrap_or_default(),
        created: ctx.now,
        modified: ctx.now,
        seq,
    };
    let out = wrap(render(w, &img));
    let snapshots = img.snapshots();
    w.images.insert(id, img);
    link_block_snapshots(w, ctx, id, &snapshots);
    Ok(Resp::created(out, Some(format!("/images/{id}"))))
}

pub fn update(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    // PUT sends the whole object; only its writable fields (the PATCH
    // ones) matter.
    let body: UpdateImageRequest = req.decode()?;
    if w.catalog.public_image(&ctx.zone, &id.to_string()).is_some() {
        return Err(Error::permissions_denied("instance_image", "write"));
    }
    let mut i = get(w, ctx, id)?.clone();
    if let Some(n) = non_empty(body.name) {
        i.name = n;
    }
    if let Some(a) = one_of("arch", body.arch, &["x86_64", "arm", "arm64"])? {
        i.arch = a.to_string();
    }
    if let Some(t) = body.tags {
        i.tags = t;
    }
    if let Some(p) = body.public {
        i.public = p;
    }
    if let Some(e) = extras(
        w,
        ctx,
        body.extra_volumes
            .as_ref()
            .map(|m| m.iter().map(|(k, v)| (k, v.id.as_str()))),
    )? {
        let dropped: Vec<Uuid> = i
            .extra
            .values()
            .filter(|s| !e.values().any(|n| n == *s))
            .copied()
            .collect();
        let added: Vec<Uuid> = e
            .values()
            .filter(|n| !i.extra.values().any(|s| s == *n))
            .copied()
            .collect();
        for s in dropped {
            block::snapshots::release(w, s, id, ctx.now);
        }
        link_block_snapshots(w, ctx, id, &added);
        i.extra = e;
    }
    i.modified = ctx.now;
    let out = wrap(render(w, &i));
    w.images.insert(id, i);
    Ok(Resp::ok(out))
}
