//! `POST servers`, in named steps: required fields, the commercial type,
//! the image, the planned volumes (the image's root unless templated
//! otherwise, then the template entries), IPs and groups; nothing is
//! written before every step has passed.

use std::collections::BTreeMap;

use fleet_core::{CreateServerRequest, Image, ServerState, VolumeServerTemplate, VolumeVolumeType};
use serde_json::Value;
use uuid::Uuid;

use super::attach::{find_volume, take};
use super::storage::{BOOT_TYPES, check_local_constraints, type_u64, volume_index};
use super::update::parse_ip_id;
use super::{Server, resolve_pg, wrap};
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp, non_empty, one_of, uuid_arg};
use crate::state::{Ctx, Owner, Volume, World, block, images, security_groups, visible};
use crate::util::parse_uuid;

/// A planned volume of a server being created (`sbs_volume` ones are made
/// in the Block API).
struct PlannedVolume {
    idx: u32,
    existing: Option<Uuid>,
    kind: String,
    size: u64,
    name: String,
    boot: bool,
    /// The snapshot a new Block volume is made from.
    parent_snapshot: Option<String>,
}

/// The kind a volume made from an image's or template's snapshot gets.
const SBS_VOLUME: &str = "sbs_volume";

/// Volume types a template entry may ask for.
const TEMPLATE_TYPES: [&str; 5] = ["l_ssd", "b_ssd", "scratch", "sbs_volume", "unified"];
/// Volume types the image's root may be given.
const ROOT_TYPES: [&str; 4] = ["l_ssd", "b_ssd", "scratch", "sbs_volume"];

/// Create a server.
pub fn create(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body: CreateServerRequest = req.decode()?;
    let ctype = required_fields(&body)?;
    let owner = w.owner_for_create(ctx, body.project.as_deref(), body.organization.as_deref())?;
    let count = w
        .servers
        .values()
        .filter(|s| visible(ctx, &s.owner))
        .count();
    w.check_quota(ctx, "instance_servers", count, w.quotas.servers)?;
    let ty = server_type(w, ctx, &ctype)?;
    let arch = ty
        .get("arch")
        .and_then(Value::as_str)
        .unwrap_or("x86_64")
        .to_owned();
    let name = non_empty(body.name.clone()).unwrap_or_else(|| "srv-emulated".to_owned());
    let boot_type = one_of("boot_type", body.boot_type.clone(), &BOOT_TYPES)?.unwrap_or_default();
    let image = resolve_image(w, ctx, non_empty(body.image.clone()).as_deref(), &ctype)?;
    let planned = plan_volumes(w, ctx, &body, &ty, image.as_ref(), &name)?;
    let sizes: Vec<(String, u64)> = planned.iter().map(|p| (p.kind.clone(), p.size)).collect();
    check_local_constraints(w, &ctx.zone, &ctype, &sizes)?;
    let ip_ids = resolve_public_ips(w, ctx, &body)?;
    let security_group = match non_empty(body.security_group.clone()) {
        Some(s) => {
            let id = parse_uuid(&s).ok_or_else(|| {
                Error::invalid(ArgDetail::format("security_group", "not a valid UUID"))
            })?;
            security_groups::get(w, ctx, id)?.id
        }
        None => security_groups::ensure_default(w, ctx, &owner),
    };
    let placement_group = match non_empty(body.placement_group.clone()) {
        Some(s) => Some(resolve_pg(w, ctx, &s)?),
        None => None,
    };

    // Commit.
    let id = w.new_id();
    let seq = w.next_seq();
    let mac_address = {
        let n = w.next_counter();
        format!(
            "de:00:00:{:02x}:{:02x}:{:02x}",
            (n >> 16) & 0xff,
            (n >> 8) & 0xff,
            n & 0xff
        )
    };
    let volumes = commit_volumes(w, ctx, &owner, id, planned);
    for ip in &ip_ids {
        if let Some(ip) = w.ips.get_mut(ip) {
            ip.server = Some(id);
            ip.state = "attached".into();
        }
    }
    let server = Server {
        id,
        owner,
        hostname: name.replace('_', "-"),
        name,
        commercial_type: ctype,
        arch,
        boot_type,
        image,
        volumes,
        tags: body.tags.clone().unwrap_or_default(),
        state: ServerState::Stopped,
        state_detail: String::new(),
        protected: body.protected.unwrap_or(false),
        public_ips: ip_ids,
        dynamic_ip: None,
        dynamic_ip_pending: false,
        mac_address,
        routed_ip_enabled: body.routed_ip_enabled.unwrap_or(true),
        enable_ipv6: body.enable_ipv6.unwrap_or(false),
        dynamic_ip_required: body.dynamic_ip_required.unwrap_or(true),
        created: ctx.now,
        modified: ctx.now,
        seq,
        security_group,
        placement_group,
        filesystems: Vec::new(),
        user_data: BTreeMap::new(),
        generation: 0,
        location: None,
        admin_key: non_empty(body.admin_password_encryption_ssh_key_id.clone()),
    };
    let out = wrap(w, &server);
    w.servers.insert(id, server);
    Ok(Resp::created(out, Some(format!("/servers/{id}"))))
}

/// The commercial type, and an image or volumes: every missing one is
/// named in the same 400.
fn required_fields(body: &CreateServerRequest) -> ApiResult<String> {
    let ctype = non_empty(body.commercial_type.clone());
    let mut missing = Vec::new();
    if ctype.is_none() {
        missing.push(ArgDetail::required("commercial_type"));
    }
    if non_empty(body.image.clone()).is_none() && body.volumes.as_ref().is_none_or(|v| v.is_empty())
    {
        missing.push(ArgDetail::required("image"));
        missing.push(ArgDetail::required("volumes"));
    }
    ctype
        .filter(|_| missing.is_empty())
        .ok_or_else(|| Error::invalid_all(missing))
}

/// The catalogue entry of the type, in stock in the zone.
fn server_type(w: &World, ctx: &Ctx, ctype: &str) -> ApiResult<Value> {
    let ty = w
        .catalog
        .server_type(&ctx.zone, ctype)
        .cloned()
        .ok_or_else(|| {
            Error::invalid(ArgDetail::constraint(
                "commercial_type",
                format!("{ctype:?} is not a valid commercial type in {}", ctx.zone),
            ))
        })?;
    if w.out_of_stock
        .contains(&(ctx.zone.clone(), ctype.to_owned()))
    {
        return Err(Error::out_of_stock(ctype));
    }
    Ok(ty)
}

/// Image: a UUID (tenant or public image) or a label (`ubuntu_noble`).
fn resolve_image(
    w: &World,
    ctx: &Ctx,
    image_ref: Option<&str>,
    ctype: &str,
) -> ApiResult<Option<Image>> {
    let Some(r) = image_ref else {
        return Ok(None);
    };
    let image = match parse_uuid(r) {
        Some(id) => images::lookup(w, ctx, id)
            .ok_or_else(|| Error::not_found("instance_image", r.to_owned()))?,
        None => w
            .catalog
            .resolve_label(&ctx.zone, r, ctype)
            .and_then(images::from_catalog)
            .ok_or_else(|| {
                Error::invalid(ArgDetail::constraint(
                    "image",
                    format!("no image with label {r:?} for {ctype} in {}", ctx.zone),
                ))
            })?,
    };
    Ok(Some(image))
}

/// Every volume the server will have, in template order, root included.
fn plan_volumes(
    w: &World,
    ctx: &Ctx,
    body: &CreateServerRequest,
    ty: &Value,
    image: Option<&Image>,
    server_name: &str,
) -> ApiResult<Vec<PlannedVolume>> {
    let mut tpl: Vec<(u32, VolumeServerTemplate)> = Vec::new();
    for (k, o) in body.volumes.clone().unwrap_or_default() {
        tpl.push((volume_index(&k)?, o));
    }
    tpl.sort_by_key(|(i, _)| *i);
    let mut planned: Vec<PlannedVolume> = Vec::new();
    for (idx, o) in &tpl {
        planned.extend(plan_entry(w, ctx, *idx, o, image.is_some(), server_name)?);
    }
    if let Some(img) = image
        && !planned.iter().any(|p| p.idx == 0)
    {
        let root_tpl = tpl.iter().find(|(i, _)| *i == 0).map(|(_, o)| o.clone());
        planned.push(plan_root(
            w,
            ty,
            img,
            root_tpl.unwrap_or_default(),
            &planned,
        )?);
    }
    if !planned.iter().any(|p| p.idx == 0) {
        return Err(Error::invalid(ArgDetail::required("volumes.0")));
    }
    Ok(planned)
}

/// One template entry: an existing volume, one from a snapshot, or a new
/// one; `None` for the root of an image, planned by [`plan_root`].
fn plan_entry(
    w: &World,
    ctx: &Ctx,
    idx: u32,
    o: &VolumeServerTemplate,
    has_image: bool,
    server_name: &str,
) -> ApiResult<Option<PlannedVolume>> {
    let path = format!("volumes.{idx}");
    let vt = one_of(
        &format!("{path}.volume_type"),
        o.volume_type.clone(),
        &TEMPLATE_TYPES,
    )?
    .map(|t| t.to_string());
    let boot = o.boot.unwrap_or(false);
    if let Some(vid) = uuid_arg(o.id.as_deref(), &format!("{path}.id"))? {
        let v = find_volume(w, ctx, vid)?;
        if v.server.is_some() {
            return Err(Error::invalid(ArgDetail::constraint(
                format!("{path}.id"),
                "volume is already attached to a server",
            )));
        }
        return Ok(Some(PlannedVolume {
            idx,
            existing: Some(vid),
            kind: v.kind,
            size: v.size,
            name: v.name,
            boot,
            parent_snapshot: None,
        }));
    }
    if let Some(sid) = uuid_arg(o.base_snapshot.as_deref(), &format!("{path}.base_snapshot"))? {
        let (kind, size, name) = match w.snapshots.get(&sid).filter(|s| visible(ctx, &s.owner)) {
            Some(s) => (s.volume_type.clone(), s.size, s.name.clone()),
            None => {
                // A Block snapshot makes a Block volume (recorded).
                let s = block::snapshots::get(w, ctx, sid)
                    .map_err(|_| Error::not_found("instance_snapshot", sid.to_string()))?;
                (SBS_VOLUME.to_owned(), s.size, s.name.clone())
            }
        };
        let block = kind == SBS_VOLUME;
        return Ok(Some(PlannedVolume {
            idx,
            existing: None,
            kind: if block { kind } else { vt.unwrap_or(kind) },
            size: o.size.unwrap_or(size).max(size),
            name: non_empty(o.name.clone()).unwrap_or(name),
            boot,
            parent_snapshot: block.then(|| sid.to_string()),
        }));
    }
    if idx == 0 && has_image {
        return Ok(None);
    }
    let size = o
        .size
        .ok_or_else(|| Error::invalid(ArgDetail::required(format!("{path}.size"))))?;
    if !size.is_multiple_of(512) {
        return Err(Error::invalid(ArgDetail::constraint(
            format!("{path}.size"),
            "must be a multiple of 512",
        )));
    }
    Ok(Some(PlannedVolume {
        idx,
        existing: None,
        kind: vt.unwrap_or_else(|| "l_ssd".into()),
        size,
        name: non_empty(o.name.clone()).unwrap_or_else(|| format!("{server_name}-vol-{idx}")),
        boot,
        parent_snapshot: None,
    }))
}

/// The root volume from the image, with the template's overrides. An SBS
/// image's root is made in the Block API from the image's snapshot (a
/// Block snapshot of the caller's sets the smallest size).
fn plan_root(
    w: &World,
    ty: &Value,
    img: &Image,
    o: VolumeServerTemplate,
    planned: &[PlannedVolume],
) -> ApiResult<PlannedVolume> {
    let root_kind = img
        .root_volume
        .as_ref()
        .map_or("l_ssd", |r| r.volume_type.as_str());
    let root_id = img.root_volume.as_ref().map(|r| r.id.clone());
    let block_root = root_id
        .as_deref()
        .and_then(parse_uuid)
        .and_then(|id| w.block_snapshots.get(&id));
    let root_size = match block_root {
        Some(s) => s.size,
        None if root_kind == "sbs_snapshot" => w.catalog.sbs_root_size(&img.name).unwrap_or(0),
        None => img.root_volume.as_ref().map_or(0, |r| r.size),
    };
    let want = one_of("volumes.0.volume_type", o.volume_type.clone(), &ROOT_TYPES)?
        .map(|t: VolumeVolumeType| t.to_string());
    let other_local: u64 = planned
        .iter()
        .filter(|p| p.kind == "l_ssd")
        .map(|p| p.size)
        .sum();
    let kind = want.unwrap_or_else(|| {
        if root_kind == "sbs_snapshot" {
            "sbs_volume".into()
        } else {
            // Observed: an l_ssd image on a type without local storage
            // (PRO2-XXS) still gets an l_ssd root of the image's size.
            "l_ssd".into()
        }
    });
    let local_cap = type_u64(ty, "/volumes_constraint/max_size");
    let default_size = match kind.as_str() {
        "l_ssd" if local_cap > 0 => local_cap.saturating_sub(other_local).max(root_size),
        _ => root_size.max(10_000_000_000),
    };
    let size = o.size.unwrap_or(default_size);
    if size < root_size {
        return Err(Error::invalid(ArgDetail::constraint(
            "volumes.0.size",
            format!("size must be at least {root_size} bytes (the image's root volume)"),
        )));
    }
    let block = kind == SBS_VOLUME;
    let name = if block {
        format!("{}_sbs_volume_0", img.name)
    } else {
        img.name.clone()
    };
    Ok(PlannedVolume {
        idx: 0,
        existing: None,
        kind,
        size,
        name,
        boot: o.boot.unwrap_or(false),
        parent_snapshot: root_id.filter(|_| block && root_kind == "sbs_snapshot"),
    })
}

/// `public_ips` and the deprecated `public_ip`: the caller's free IPs.
fn resolve_public_ips(w: &World, ctx: &Ctx, body: &CreateServerRequest) -> ApiResult<Vec<Uuid>> {
    let mut ip_ids: Vec<Uuid> = Vec::new();
    for s in body
        .public_ips
        .clone()
        .unwrap_or_default()
        .into_iter()
        .chain(non_empty(body.public_ip.clone()))
    {
        let id = parse_ip_id(&s)?;
        let ip = w
            .ips
            .get(&id)
            .filter(|ip| visible(ctx, &ip.owner))
            .ok_or_else(|| Error::not_found("instance_ip", id.to_string()))?;
        if ip.server.is_some() {
            return Err(Error::invalid(ArgDetail::constraint(
                "public_ips",
                "IP is already attached to a server",
            )));
        }
        if !ip_ids.contains(&id) {
            ip_ids.push(id);
        }
    }
    Ok(ip_ids)
}

/// Create the new volumes (Block ones in the Block API) and attach every
/// planned one to server `id`, held at once.
fn commit_volumes(
    w: &mut World,
    ctx: &Ctx,
    owner: &Owner,
    id: Uuid,
    planned: Vec<PlannedVolume>,
) -> BTreeMap<u32, Uuid> {
    let mut attached = BTreeMap::new();
    for p in planned {
        let vid = match p.existing {
            Some(vid) => {
                take(w, ctx, vid, id, p.boot, true);
                vid
            }
            None if p.kind == SBS_VOLUME => {
                let spec = block::volumes::ServerVolume {
                    name: p.name,
                    size: p.size,
                    parent_snapshot: p.parent_snapshot,
                    boot: p.boot,
                };
                block::volumes::create_for_server(w, ctx, owner, spec, id)
            }
            None => {
                let vid = w.new_id();
                let seq = w.next_seq();
                w.volumes.insert(
                    vid,
                    Volume {
                        id: vid,
                        owner: owner.clone(),
                        name: p.name,
                        kind: p.kind,
                        size: p.size,
                        state: "available".into(),
                        server: Some(id),
                        tags: Vec::new(),
                        created: ctx.now,
                        modified: ctx.now,
                        seq,
                        boot: p.boot,
                    },
                );
                vid
            }
        };
        attached.insert(p.idx, vid);
    }
    attached
}
