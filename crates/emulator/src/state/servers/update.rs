//! `PATCH` / `PUT servers/{id}`: validate every change first, then commit
//! the server and the IPs and volumes it gains or loses.

use std::collections::BTreeMap;

use fleet_core::{ServerState, UpdateServerRequest};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::attach::{find_volume, give_back, kinds_and_sizes, take};
use super::storage::{BOOT_TYPES, check_local_constraints, volume_index};
use super::{Server, get, resolve_pg, wrap};
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp, non_empty, one_of, uuid_arg};
use crate::state::{Ctx, World, visible};

/// Update a server; `is_put` when the body is a whole server (PUT).
pub fn update(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid, is_put: bool) -> ApiResult<Resp> {
    let mut raw = req.json()?.0;
    if is_put {
        references_to_ids(&mut raw);
    }
    let body: UpdateServerRequest = crate::http::decode(raw)?;
    let cur = get(w, ctx, id)?.clone();
    let mut s = cur.clone();
    apply_fields(w, ctx, &cur, &mut s, &body)?;
    let new_ips = match &body.public_ips {
        Some(list) => Some(resolve_ips(w, ctx, id, list)?),
        None => None,
    };
    let new_vols = match &body.volumes {
        Some(templates) => Some(resolve_volumes(w, ctx, &cur, &s, templates)?),
        None => None,
    };
    if let Some(ips) = new_ips {
        commit_ips(w, &cur, id, &ips);
        s.public_ips = ips;
    }
    // Asking for a dynamic IP while running gets one now, `pending` (recorded).
    if s.dynamic_ip_required
        && !cur.dynamic_ip_required
        && s.state == ServerState::Running
        && s.public_ips.is_empty()
        && s.dynamic_ip.is_none()
    {
        let n = w.next_counter();
        s.dynamic_ip = Some((w.new_id(), super::actions::dynamic_address(n)));
        s.dynamic_ip_pending = true;
    }
    if let Some(map) = new_vols {
        commit_volumes(w, ctx, &cur, id, &map);
        s.volumes = map;
    }
    s.modified = ctx.now;
    let out = wrap(w, &s);
    w.servers.insert(id, s);
    Ok(Resp::ok(out))
}

/// PUT sends the whole server: references are objects there, ids in the
/// PATCH body this handler shares.
fn references_to_ids(raw: &mut Map<String, Value>) {
    if let Some(pg) = raw.get_mut("placement_group")
        && let Some(id) = pg.get("id").cloned()
    {
        *pg = id;
    }
    if let Some(Value::Array(ips)) = raw.get_mut("public_ips") {
        for ip in ips.iter_mut() {
            if let Some(id) = ip.get("id").cloned() {
                *ip = id;
            }
        }
    }
}

/// The plain fields, the commercial type and the groups.
fn apply_fields(
    w: &World,
    ctx: &Ctx,
    cur: &Server,
    s: &mut Server,
    body: &UpdateServerRequest,
) -> ApiResult<()> {
    if let Some(n) = non_empty(body.name.clone()) {
        s.name = n;
    }
    if let Some(t) = &body.tags {
        s.tags = t.clone();
    }
    if let Some(b) = body.protected {
        s.protected = b;
    }
    if let Some(b) = body.dynamic_ip_required {
        s.dynamic_ip_required = b;
    }
    if let Some(b) = body.enable_ipv6 {
        s.enable_ipv6 = b;
    }
    if let Some(b) = body.routed_ip_enabled {
        if !b && cur.routed_ip_enabled {
            return Err(Error::invalid(ArgDetail::constraint(
                "routed_ip_enabled",
                "routed IP mode cannot be disabled once enabled",
            )));
        }
        s.routed_ip_enabled = b;
    }
    if let Some(bt) = one_of("boot_type", body.boot_type.clone(), &BOOT_TYPES)? {
        s.boot_type = bt;
    }
    if let Some(k) = &body.admin_password_encryption_ssh_key_id {
        s.admin_key = non_empty(Some(k.clone()));
    }
    if let Some(ct) = non_empty(body.commercial_type.clone())
        && ct != cur.commercial_type
    {
        change_type(w, ctx, cur, s, ct)?;
    }
    if let Some(sg) = &body.security_group {
        let sid = uuid_arg(Some(&sg.id), "security_group.id")?
            .ok_or_else(|| Error::invalid(ArgDetail::required("security_group.id")))?;
        s.security_group = crate::state::security_groups::get(w, ctx, sid)?.id;
    }
    match body.placement_group.as_patch() {
        Some(None) => s.placement_group = None,
        Some(Some(pg)) => s.placement_group = Some(resolve_pg(w, ctx, pg)?),
        None => {}
    }
    Ok(())
}

/// A new commercial type: only while stopped, and it brings its arch.
fn change_type(w: &World, ctx: &Ctx, cur: &Server, s: &mut Server, ct: String) -> ApiResult<()> {
    if cur.state != ServerState::Stopped {
        return Err(Error::precondition(
            "server should be stopped to change its commercial type",
        ));
    }
    let t = w.catalog.server_type(&ctx.zone, &ct).ok_or_else(|| {
        Error::invalid(ArgDetail::constraint(
            "commercial_type",
            format!("{ct:?} is not a valid commercial type"),
        ))
    })?;
    s.arch = t
        .get("arch")
        .and_then(Value::as_str)
        .unwrap_or("x86_64")
        .to_owned();
    s.commercial_type = ct;
    Ok(())
}

/// The requested public IPs: the caller's, and free or already this server's.
fn resolve_ips(w: &World, ctx: &Ctx, id: Uuid, list: &[String]) -> ApiResult<Vec<Uuid>> {
    let mut ids = Vec::new();
    for x in list {
        let iid = parse_ip_id(x)?;
        let ip = w
            .ips
            .get(&iid)
            .filter(|ip| visible(ctx, &ip.owner))
            .ok_or_else(|| Error::not_found("instance_ip", iid.to_string()))?;
        if ip.server.is_some_and(|sv| sv != id) {
            return Err(Error::invalid(ArgDetail::constraint(
                "public_ips",
                "IP is already attached to another server",
            )));
        }
        ids.push(iid);
    }
    Ok(ids)
}

/// A `public_ips` entry.
pub(super) fn parse_ip_id(x: &str) -> ApiResult<Uuid> {
    crate::util::parse_uuid(x)
        .ok_or_else(|| Error::invalid(ArgDetail::format("public_ips", "not a valid UUID")))
}

/// The requested volumes by index (either API), within the type's
/// storage rules.
fn resolve_volumes(
    w: &World,
    ctx: &Ctx,
    cur: &Server,
    s: &Server,
    templates: &BTreeMap<String, fleet_core::VolumeServerTemplate>,
) -> ApiResult<BTreeMap<u32, Uuid>> {
    let mut map = BTreeMap::new();
    for (k, o) in templates {
        let idx = volume_index(k)?;
        let vid = uuid_arg(o.id.as_deref(), &format!("volumes.{k}.id"))?
            .ok_or_else(|| Error::invalid(ArgDetail::required(format!("volumes.{k}.id"))))?;
        let vol = find_volume(w, ctx, vid)?;
        if vol.server.is_some_and(|sv| sv != cur.id) {
            return Err(Error::invalid(ArgDetail::constraint(
                format!("volumes.{k}.id"),
                "volume is attached to another server",
            )));
        }
        map.insert(idx, vid);
    }
    let sizes = kinds_and_sizes(w, map.values());
    check_local_constraints(w, &ctx.zone, &s.commercial_type, &sizes)?;
    Ok(map)
}

fn commit_ips(w: &mut World, cur: &Server, id: Uuid, ips: &[Uuid]) {
    for old in &cur.public_ips {
        if !ips.contains(old)
            && let Some(ip) = w.ips.get_mut(old)
        {
            ip.server = None;
            ip.state = "detached".into();
        }
    }
    let state = crate::state::ips::joins_state(cur);
    for n in ips {
        if !cur.public_ips.contains(n)
            && let Some(ip) = w.ips.get_mut(n)
        {
            ip.server = Some(id);
            ip.state = state.into();
        }
    }
}

/// The server lets go of the volumes it no longer lists and takes the new
/// ones (Block ones through `attaching`).
fn commit_volumes(w: &mut World, ctx: &Ctx, cur: &Server, id: Uuid, map: &BTreeMap<u32, Uuid>) {
    for old in cur.volumes.values() {
        if !map.values().any(|v| v == old) {
            give_back(w, ctx, *old, id);
        }
    }
    for v in map.values() {
        if !cur.volumes.values().any(|o| o == v) {
            take(w, ctx, *v, id, false, false);
        }
    }
}
