//! Attaching and detaching volumes of either API: an Instance volume
//! records its server; a Block volume gets (or loses) the server's
//! reference, through `attaching` / `detaching`.

use std::collections::BTreeMap;

use fleet_core::{AttachServerVolumeRequest, DetachServerVolumeRequest};
use uuid::Uuid;

use super::storage::check_local_constraints;
use super::{get, get_mut, wrap};
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp, one_of, uuid_arg};
use crate::state::block;
use crate::state::{Ctx, World, visible};

/// A volume of either API as a server sees it.
#[derive(Debug, Clone)]
pub(super) struct FoundVolume {
    /// `l_ssd`, `scratch`, `b_ssd`, or `sbs_volume` for Block volumes.
    pub kind: String,
    /// Bytes.
    pub size: u64,
    /// Name.
    pub name: String,
    /// The server holding it.
    pub server: Option<Uuid>,
}

/// The caller's volume `id`, Instance or Block (404 `instance_volume`, the
/// error of the Instance endpoints, otherwise).
pub(super) fn find_volume(w: &World, ctx: &Ctx, id: Uuid) -> ApiResult<FoundVolume> {
    if let Some(v) = w.volumes.get(&id).filter(|v| visible(ctx, &v.owner)) {
        return Ok(FoundVolume {
            kind: v.kind.clone(),
            size: v.size,
            name: v.name.clone(),
            server: v.server,
        });
    }
    match w.block_volumes.get(&id).filter(|v| visible(ctx, &v.owner)) {
        Some(v) => Ok(FoundVolume {
            kind: "sbs_volume".into(),
            size: v.size,
            name: v.name.clone(),
            server: v.server(),
        }),
        None => Err(Error::not_found("instance_volume", id.to_string())),
    }
}

/// The kind and size of each volume (either API) for the storage rules.
pub(super) fn kinds_and_sizes<'a>(
    w: &World,
    ids: impl IntoIterator<Item = &'a Uuid>,
) -> Vec<(String, u64)> {
    ids.into_iter()
        .filter_map(|id| match w.volumes.get(id) {
            Some(v) => Some((v.kind.clone(), v.size)),
            None => w
                .block_volumes
                .get(id)
                .map(|v| ("sbs_volume".to_owned(), v.size)),
        })
        .collect()
}

/// Server `server` takes volume `id`; a Block volume is held at once when
/// the server is being created, else through `attaching`.
pub(super) fn take(w: &mut World, ctx: &Ctx, id: Uuid, server: Uuid, boot: bool, at_once: bool) {
    if w.block_volumes.contains_key(&id) {
        block::volumes::hold(w, ctx, id, server, boot, at_once);
    } else if let Some(v) = w.volumes.get_mut(&id) {
        v.server = Some(server);
        v.boot = boot;
        v.modified = ctx.now;
    }
}

/// Server `server` lets volume `id` go; a Block volume through `detaching`.
pub(super) fn give_back(w: &mut World, ctx: &Ctx, id: Uuid, server: Uuid) {
    if w.block_volumes.contains_key(&id) {
        block::volumes::release(w, ctx.instant, ctx.now, id, server);
    } else if let Some(v) = w.volumes.get_mut(&id) {
        v.server = None;
        v.modified = ctx.now;
    }
}

/// `POST servers/{id}/attach-volume`.
pub fn attach(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body: AttachServerVolumeRequest = req.decode()?;
    let vid = uuid_arg(body.volume_id.as_deref(), "volume_id")?
        .ok_or_else(|| Error::invalid(ArgDetail::required("volume_id")))?;
    one_of(
        "volume_type",
        body.volume_type,
        &["unknown_volume_type", "l_ssd", "b_ssd", "sbs_volume"],
    )?;
    let boot = body.boot.unwrap_or(false);
    let s = get(w, ctx, id)?.clone();
    let v = find_volume(w, ctx, vid)?;
    if v.server.is_some() {
        return Err(Error::invalid(ArgDetail::constraint(
            "volume_id",
            "volume is already attached to a server",
        )));
    }
    let mut sizes = kinds_and_sizes(w, s.volumes.values());
    sizes.push((v.kind.clone(), v.size));
    check_local_constraints(w, &ctx.zone, &s.commercial_type, &sizes)?;
    let idx = (0..).find(|i| !s.volumes.contains_key(i)).unwrap_or(0);
    take(w, ctx, vid, id, boot, false);
    let s = get_mut(w, ctx, id)?;
    s.volumes.insert(idx, vid);
    s.modified = ctx.now;
    let s = s.clone();
    Ok(Resp::ok(wrap(w, &s)))
}

/// `POST servers/{id}/detach-volume`: keys stay contiguous.
pub fn detach(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body: DetachServerVolumeRequest = req.decode()?;
    let vid = uuid_arg(body.volume_id.as_deref(), "volume_id")?
        .ok_or_else(|| Error::invalid(ArgDetail::required("volume_id")))?;
    let s = get_mut(w, ctx, id)?;
    let Some(idx) = s.volumes.iter().find(|(_, v)| **v == vid).map(|(i, _)| *i) else {
        return Err(Error::invalid(ArgDetail::constraint(
            "volume_id",
            "volume is not attached to this server",
        )));
    };
    s.volumes.remove(&idx);
    // Keys stay contiguous from 0, as the API renumbers them.
    let renumbered: BTreeMap<u32, Uuid> = s
        .volumes
        .values()
        .enumerate()
        .map(|(i, v)| (u32::try_from(i).unwrap_or(u32::MAX), *v))
        .collect();
    s.volumes = renumbered;
    s.modified = ctx.now;
    let s = s.clone();
    give_back(w, ctx, vid, id);
    Ok(Resp::ok(wrap(w, &s)))
}
