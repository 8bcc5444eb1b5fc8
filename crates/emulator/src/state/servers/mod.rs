//! Servers: the resource, its lookups, list, delete and compatible types;
//! each other job on a server has its own module.

pub mod actions;
pub mod attach;
mod backup;
pub mod create;
pub mod filesystems;
mod render;
mod storage;
pub mod update;
pub mod user_data;

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use fleet_core::{
    BootType, GetServerCompatibleTypesResponse, ListServersResponse, ServerLocation,
    ServerResponse, ServerState,
};
use serde_json::{Map, Value};
use uuid::Uuid;

pub use actions::{Step, allowed_actions, apply_step};
pub use render::{render, render_v2};
use storage::type_u64;

use super::{Ctx, Owner, World, visible};
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp};
use crate::pagination::list_response;
use crate::util::parse_uuid;

/// A server.
#[derive(Debug, Clone)]
pub struct Server {
    /// Id.
    pub id: Uuid,
    /// Ownership.
    pub owner: Owner,
    /// Name.
    pub name: String,
    /// Host name (the name at creation).
    pub hostname: String,
    /// Commercial type.
    pub commercial_type: String,
    /// CPU architecture of the type.
    pub arch: String,
    /// How it boots.
    pub boot_type: BootType,
    /// The embedded image object, when created from one.
    pub image: Option<fleet_core::Image>,
    /// Attached volumes by index.
    pub volumes: BTreeMap<u32, Uuid>,
    /// Tags.
    pub tags: Vec<String>,
    /// Power state.
    pub state: ServerState,
    /// State detail.
    pub state_detail: String,
    /// Protection flag.
    pub protected: bool,
    /// Attached flexible IPs, in attach order.
    pub public_ips: Vec<Uuid>,
    /// Dynamic IP (id, address) while running with `dynamic_ip_required`.
    pub dynamic_ip: Option<(Uuid, String)>,
    /// MAC address.
    pub mac_address: String,
    /// Routed IP mode.
    pub routed_ip_enabled: bool,
    /// Deprecated IPv6 flag.
    pub enable_ipv6: bool,
    /// Whether a dynamic IPv4 is wanted.
    pub dynamic_ip_required: bool,
    /// Creation time.
    pub created: SystemTime,
    /// Last modification.
    pub modified: SystemTime,
    /// Creation order.
    pub seq: u64,
    /// Security group.
    pub security_group: Uuid,
    /// Placement group.
    pub placement_group: Option<Uuid>,
    /// Attached filesystems (id, state).
    pub filesystems: Vec<(String, String)>,
    /// User data by key.
    pub user_data: BTreeMap<String, Vec<u8>>,
    /// Bumped on every action, so stale scheduled steps are ignored.
    pub generation: u64,
    /// Hypervisor location while running.
    pub location: Option<ServerLocation>,
    /// Key used to encrypt the admin password (Windows).
    pub admin_key: Option<String>,
}

pub(super) fn wrap(w: &World, s: &Server) -> ServerResponse {
    ServerResponse {
        server: render(w, s),
        extra: Map::new(),
    }
}

/// Look a server up for the caller (404 `instance_server` otherwise).
pub fn get<'a>(w: &'a World, ctx: &Ctx, id: Uuid) -> ApiResult<&'a Server> {
    w.servers
        .get(&id)
        .filter(|s| visible(ctx, &s.owner))
        .ok_or_else(|| Error::not_found("instance_server", id.to_string()))
}

pub(super) fn get_mut<'a>(w: &'a mut World, ctx: &Ctx, id: Uuid) -> ApiResult<&'a mut Server> {
    w.servers
        .get_mut(&id)
        .filter(|s| visible(ctx, &s.owner))
        .ok_or_else(|| Error::not_found("instance_server", id.to_string()))
}

/// `GET servers/{id}`.
pub fn get_one(w: &World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    Ok(Resp::ok(wrap(w, get(w, ctx, id)?)))
}

/// The state a server shows: `locked` while locked, its own otherwise.
pub fn shown_state<'a>(w: &World, s: &'a Server) -> &'a ServerState {
    if w.locked.contains(&s.id) {
        &ServerState::Locked
    } else {
        &s.state
    }
}

pub fn list(w: &World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let state = req.q("state");
    let ctype = req.q("commercial_type");
    let ids = req.q_list("servers");
    let pns: Vec<String> = req
        .q_list("private_networks")
        .into_iter()
        .chain(req.q("private_network").map(str::to_owned))
        .collect();
    let mac = req.q("private_nic_mac_address");
    let without_ip = req.q_bool("without_ip")?;
    let with_ip = req.q("with_ip");
    let order = req.q("order").unwrap_or("creation_date_desc");
    if ![
        "creation_date_desc",
        "creation_date_asc",
        "modification_date_desc",
        "modification_date_asc",
    ]
    .contains(&order)
    {
        return Err(Error::invalid(ArgDetail::constraint(
            "order",
            "unknown order",
        )));
    }
    let mut v: Vec<&Server> = w
        .servers
        .values()
        .filter(|s| visible(ctx, &s.owner))
        .filter(|s| super::list_filter(req, &s.owner, &s.name, &s.tags))
        .filter(|s| state.is_none_or(|st| s.state.as_str() == st))
        .filter(|s| ctype.is_none_or(|t| s.commercial_type == t))
        .filter(|s| ids.is_empty() || ids.contains(&s.id.to_string()))
        .filter(|s| {
            pns.is_empty()
                || w.private_nics
                    .values()
                    .any(|n| n.server == Some(s.id) && pns.contains(&n.private_network_id))
        })
        .filter(|s| {
            mac.is_none_or(|m| {
                w.private_nics
                    .values()
                    .any(|n| n.server == Some(s.id) && n.mac_address == m)
            })
        })
        .filter(|s| {
            let has = !s.public_ips.is_empty() || s.dynamic_ip.is_some();
            without_ip.is_none_or(|wo| wo != has)
        })
        .filter(|s| {
            with_ip.is_none_or(|a| {
                s.public_ips
                    .iter()
                    .filter_map(|i| w.ips.get(i))
                    .any(|ip| ip.address.as_deref() == Some(a))
                    || s.dynamic_ip.as_ref().is_some_and(|(_, d)| d == a)
            })
        })
        .collect();
    match order {
        "creation_date_asc" => v.sort_by_key(|s| s.seq),
        "modification_date_desc" => {
            v.sort_by(|a, b| b.modified.cmp(&a.modified).then(b.seq.cmp(&a.seq)))
        }
        "modification_date_asc" => {
            v.sort_by(|a, b| a.modified.cmp(&b.modified).then(a.seq.cmp(&b.seq)))
        }
        _ => v.sort_by_key(|s| std::cmp::Reverse(s.seq)),
    }
    let items = v.into_iter().map(|s| render(w, s)).collect();
    list_response(req, items, "/servers", |servers| ListServersResponse {
        servers,
        extra: Map::new(),
    })
}

pub(super) fn resolve_pg(w: &World, ctx: &Ctx, s: &str) -> ApiResult<Uuid> {
    let id = parse_uuid(s).ok_or_else(|| {
        Error::invalid(ArgDetail::constraint(
            "placement_group",
            "not a valid value",
        ))
    })?;
    Ok(super::placement_groups::get(w, ctx, id)?.id)
}

pub fn delete(w: &mut World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    let s = get(w, ctx, id)?;
    if s.state != ServerState::Stopped {
        if s.state.is_transient() {
            return Err(Error::transient_state(
                "instance_server",
                id.to_string(),
                s.state.as_str(),
            ));
        }
        return Err(Error::precondition("server should be stopped"));
    }
    remove_server(w, id, false, ctx.instant, ctx.now);
    Ok(Resp::no_content())
}

/// Remove a server; local volumes are deleted on terminate, kept otherwise;
/// Block volumes are always kept, and detached through `detaching`.
pub(super) fn remove_server(
    w: &mut World,
    id: Uuid,
    terminate: bool,
    instant: Instant,
    now: SystemTime,
) {
    let Some(s) = w.servers.remove(&id) else {
        return;
    };
    for vid in s.volumes.values() {
        if w.block_volumes.contains_key(vid) {
            crate::state::block::volumes::release(w, instant, now, *vid, id);
            continue;
        }
        let local = w
            .volumes
            .get(vid)
            .is_some_and(|v| matches!(v.kind.as_str(), "l_ssd" | "scratch"));
        if terminate && local {
            w.volumes.remove(vid);
        } else if let Some(v) = w.volumes.get_mut(vid) {
            v.server = None;
            v.state = "available".into();
            v.modified = now;
        }
    }
    for ip in &s.public_ips {
        if let Some(ip) = w.ips.get_mut(ip) {
            ip.server = None;
            ip.state = "detached".into();
        }
    }
    w.private_nics.retain(|_, n| n.server != Some(id));
}

pub fn compatible_types(w: &World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    let s = get(w, ctx, id)?;
    let local: u64 = s
        .volumes
        .values()
        .filter_map(|v| w.volumes.get(v))
        .filter(|v| v.kind == "l_ssd")
        .map(|v| v.size)
        .sum();
    let mut v: Vec<(f64, String)> = w
        .catalog
        .server_types(&ctx.zone)
        .iter()
        .filter(|(n, t)| {
            *n != s.commercial_type
                && t.get("arch").and_then(Value::as_str) == Some(s.arch.as_str())
                && !t
                    .get("end_of_service")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                && (local == 0 || type_u64(t, "/volumes_constraint/max_size") >= local)
                && (n.ends_with("-WIN") == s.commercial_type.ends_with("-WIN"))
        })
        .map(|(n, t)| {
            (
                t.get("hourly_price").and_then(Value::as_f64).unwrap_or(0.0),
                n.clone(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    Ok(Resp::ok(GetServerCompatibleTypesResponse {
        compatible_types: v.into_iter().map(|(_, n)| n).collect(),
        extra: Map::new(),
    }))
}
