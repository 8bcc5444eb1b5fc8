//! Attaching and detaching volumes.

use std::collections::BTreeMap;

use fleet_core::{AttachServerVolumeRequest, DetachServerVolumeRequest};
use uuid::Uuid;

use super::storage::check_local_constraints;
use super::{get, get_mut, wrap};
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp, one_of, uuid_arg};
use crate::state::{Ctx, World, visible};

/// `POST servers/{id}/attach-volume`.
pub fn attach(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body: AttachServerVolumeRequest = req.decode()?;
    let vid = uuid_arg(body.volume_id.as_deref(), "volume_id")?
        .ok_or_else(|| Error::invalid(ArgDetail::required("volume_id")))?;
    let vt = one_of(
        "volume_type",
        body.volume_type,
        &["unknown_volume_type", "l_ssd", "b_ssd", "sbs_volume"],
    )?
    .map(|t| t.to_string());
    let boot = body.boot.unwrap_or(false);
    let s = get(w, ctx, id)?.clone();
    if vt.as_deref() == Some("sbs_volume") {
        crate::state::volumes::adopt_external_sbs(w, ctx, &s.owner, vid)?;
    }
    let v = w
        .volumes
        .get(&vid)
        .filter(|v| visible(ctx, &v.owner))
        .ok_or_else(|| Error::not_found("instance_volume", vid.to_string()))?;
    if v.server.is_some() {
        return Err(Error::invalid(ArgDetail::constraint(
            "volume_id",
            "volume is already attached to a server",
        )));
    }
    let mut sizes: Vec<(String, u64)> = s
        .volumes
        .values()
        .filter_map(|x| w.volumes.get(x))
        .map(|x| (x.kind.clone(), x.size))
        .collect();
    sizes.push((v.kind.clone(), v.size));
    check_local_constraints(w, &ctx.zone, &s.commercial_type, &sizes)?;
    let idx = (0..).find(|i| !s.volumes.contains_key(i)).unwrap_or(0);
    if let Some(v) = w.volumes.get_mut(&vid) {
        v.server = Some(id);
        v.boot = boot;
        v.modified = ctx.now;
    }
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
    if let Some(v) = w.volumes.get_mut(&vid) {
        v.server = None;
        v.modified = ctx.now;
    }
    Ok(Resp::ok(wrap(w, &s)))
}
