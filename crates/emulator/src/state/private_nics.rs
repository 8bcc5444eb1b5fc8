//! Private NICs (`syncing → available`): v1 serves them per server,
//! v2alpha1 as private network interfaces of a project, over the same
//! NICs, so each version sees what the other made.

use std::time::SystemTime;

use fleet_core::v2alpha1::{
    self, CreatePrivateNetworkInterfaceRequest, ListOrderBy, ListPrivateNetworkInterfacesResponse,
    UpdatePrivateNetworkInterfaceRequest,
};
use fleet_core::{
    CreatePrivateNicRequest, ListPrivateNicsResponse, Maybe, Method, PrivateNicResponse,
    UpdatePrivateNicRequest,
};
use serde_json::Map;
use uuid::Uuid;

use super::{Ctx, Event, Owner, World, ts, visible, zone};
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp, uuid_arg};
use crate::pagination::{list_response, token_list_response};
use crate::util::parse_uuid;

/// Most private NICs on one server (the types' `capabilities.private_network`).
const MAX_PER_SERVER: usize = 8;

/// A private NIC: a v1 private NIC of its server, a v2alpha1 private
/// network interface (which may be attached to no server).
#[derive(Debug, Clone)]
pub struct PrivateNic {
    /// Id.
    pub id: Uuid,
    /// The server it is attached to.
    pub server: Option<Uuid>,
    /// Ownership: the server's when made through v1.
    pub owner: Owner,
    /// Private network id.
    pub private_network_id: String,
    /// MAC address.
    pub mac_address: String,
    /// `syncing`, `available` (the words of both versions).
    pub state: String,
    /// Tags.
    pub tags: Vec<String>,
    /// IPAM ips (v2alpha1: `ip_ids`).
    pub ipam_ip_ids: Vec<String>,
    /// Creation time.
    pub created: SystemTime,
    /// Last modification.
    pub modified: SystemTime,
    /// Creation order.
    pub seq: u64,
    /// Attaches and detaches so far: the transient state of the latest
    /// one is the one its event ends.
    pub moves: u64,
}

/// A private NIC as v1 shows it.
pub fn render(n: &PrivateNic) -> fleet_core::PrivateNic {
    fleet_core::PrivateNic {
        id: n.id.to_string(),
        private_network_id: n.private_network_id.clone(),
        server_id: n.server.map(|s| s.to_string()).unwrap_or_default(),
        mac_address: n.mac_address.clone(),
        state: n.state.as_str().into(),
        creation_date: Some(ts(n.created)),
        modification_date: Maybe::Value(ts(n.modified)),
        zone: zone(&n.owner.zone),
        tags: n.tags.clone(),
        ipam_ip_ids: n.ipam_ip_ids.clone(),
        extra: Map::new(),
    }
}

/// A private NIC as v2alpha1 shows it (timestamps with `Z`).
pub fn render_v2(n: &PrivateNic) -> v2alpha1::PrivateNetworkInterface {
    v2alpha1::PrivateNetworkInterface {
        id: n.id.to_string(),
        private_network_id: n.private_network_id.clone(),
        project_id: n.owner.project.clone(),
        server_id: n.server.map(|s| s.to_string()).unwrap_or_default(),
        mac_address: n.mac_address.clone(),
        status: n.state.as_str().into(),
        ip_ids: n.ipam_ip_ids.clone(),
        tags: n.tags.clone(),
        created_at: super::block::ts(n.created),
        updated_at: super::block::ts(n.modified),
        extra: Map::new(),
    }
}

fn wrap(private_nic: fleet_core::PrivateNic) -> PrivateNicResponse {
    PrivateNicResponse {
        private_nic,
        extra: Map::new(),
    }
}

/// `GET servers/{id}/private_nics`.
pub fn list(w: &World, ctx: &Ctx, req: &Req, server: Uuid) -> ApiResult<Resp> {
    super::servers::get(w, ctx, server)?;
    let tags = req.q_list("tags");
    let mut v: Vec<&PrivateNic> = w
        .private_nics
        .values()
        .filter(|n| n.server == Some(server) && tags.iter().all(|t| n.tags.contains(t)))
        .collect();
    v.sort_by_key(|n| n.seq);
    list_response(
        req,
        v.into_iter().map(render).collect(),
        &format!("/servers/{server}/private_nics"),
        |private_nics| ListPrivateNicsResponse {
            private_nics,
            extra: Map::new(),
        },
    )
}

/// What a create asks for, in either version.
struct NewNic {
    owner: Owner,
    server: Option<Uuid>,
    private_network_id: Option<String>,
    tags: Vec<String>,
    ipam_ip_ids: Vec<String>,
    /// The argument naming the IPAM ips (`ipam_ip_ids` or `ip_ids`).
    ips_arg: &'static str,
}

/// Make a NIC: one per private network and at most [`MAX_PER_SERVER`] on
/// a server, within the quota, with two IPAM ips when none are given. One
/// on a server that is not stopped is `syncing` until its event; any other
/// is `available` at once.
fn insert<'w>(w: &'w mut World, ctx: &Ctx, new: NewNic) -> ApiResult<&'w PrivateNic> {
    let pn = uuid_arg(new.private_network_id.as_deref(), "private_network_id")?
        .ok_or_else(|| Error::invalid(ArgDetail::required("private_network_id")))?
        .to_string();
    if let Some(server) = new.server {
        check_room(w, server, &pn, "private_network_id")?;
    }
    let count = w
        .private_nics
        .values()
        .filter(|n| visible(ctx, &n.owner))
        .count();
    w.check_quota(ctx, "instance_private_nics", count, w.quotas.private_nics)?;
    let mut ipam = new.ipam_ip_ids;
    if ipam.iter().any(|s| parse_uuid(s).is_none()) {
        return Err(Error::invalid(ArgDetail::format(
            new.ips_arg,
            "not a valid UUID",
        )));
    }
    if ipam.is_empty() {
        ipam = vec![w.new_id().to_string(), w.new_id().to_string()];
    }
    // Recorded: a NIC made on a stopped server (no hypervisor to tell) is `available` at
    // once; one on a running server syncs first.
    let syncs = new.server.is_some_and(|server| {
        w.servers
            .get(&server)
            .is_some_and(|s| s.state != fleet_core::ServerState::Stopped)
    });
    let id = w.new_id();
    let seq = w.next_seq();
    let n = w.next_counter();
    let nic = PrivateNic {
        id,
        server: new.server,
        owner: new.owner,
        private_network_id: pn,
        mac_address: format!(
            "02:00:00:{:02x}:{:02x}:{:02x}",
            (n >> 16) & 0xff,
            (n >> 8) & 0xff,
            n & 0xff
        ),
        state: if syncs { "syncing" } else { "available" }.into(),
        tags: new.tags,
        ipam_ip_ids: ipam,
        created: ctx.now,
        modified: ctx.now,
        seq,
        moves: 0,
    };
    if syncs {
        let t = w.transition;
        w.schedule(ctx.instant, t, Event::NicAvailable(id, 0));
    }
    Ok(w.private_nics.entry(id).or_insert(nic))
}

/// Whether `server` can take one more NIC in private network `pn`: one
/// per private network, at most [`MAX_PER_SERVER`]; a refusal names `arg`.
fn check_room(w: &World, server: Uuid, pn: &str, arg: &'static str) -> ApiResult<()> {
    let on_server: Vec<&PrivateNic> = w
        .private_nics
        .values()
        .filter(|n| n.server == Some(server))
        .collect();
    if on_server.iter().any(|n| n.private_network_id == pn) {
        return Err(Error::invalid(ArgDetail::constraint(
            arg,
            "the server already has a NIC in this private network",
        )));
    }
    if on_server.len() >= MAX_PER_SERVER {
        return Err(Error::invalid(ArgDetail::constraint(
            arg,
            "too many private NICs on this server",
        )));
    }
    Ok(())
}

/// `POST servers/{id}/private_nics`.
pub fn create(w: &mut World, ctx: &Ctx, req: &Req, server: Uuid) -> ApiResult<Resp> {
    let owner = super::servers::get(w, ctx, server)?.owner.clone();
    let body: CreatePrivateNicRequest = req.decode()?;
    let nic = insert(
        w,
        ctx,
        NewNic {
            owner,
            server: Some(server),
            private_network_id: body.private_network_id,
            tags: body.tags.unwrap_or_default(),
            ipam_ip_ids: body.ipam_ip_ids.unwrap_or_default(),
            ips_arg: "ipam_ip_ids",
        },
    )?;
    Ok(Resp::created(wrap(render(nic)), None))
}

/// `GET`, `PATCH` (answers the bare NIC, as documented) or `DELETE
/// servers/{id}/private_nics/{nic}`.
pub fn one(w: &mut World, ctx: &Ctx, req: &Req, server: Uuid, nid: Uuid) -> ApiResult<Resp> {
    super::servers::get(w, ctx, server)?;
    let nic = w
        .private_nics
        .get(&nid)
        .filter(|n| n.server == Some(server))
        .ok_or_else(|| Error::not_found("instance_private_nic", nid.to_string()))?;
    match req.method {
        Method::Patch => {
            let body: UpdatePrivateNicRequest = req.decode()?;
            let mut nic = nic.clone();
            if let Some(t) = body.tags {
                nic.tags = t;
            }
            nic.modified = ctx.now;
            let out = render(&nic);
            w.private_nics.insert(nid, nic);
            Ok(Resp::ok(out))
        }
        Method::Delete => {
            w.private_nics.remove(&nid);
            Ok(Resp::no_content())
        }
        _ => Ok(Resp::ok(wrap(render(nic)))),
    }
}

/// The v2alpha1 `not_found` names the resource as v1 does.
fn get_v2<'a>(w: &'a World, ctx: &Ctx, id: Uuid) -> ApiResult<&'a PrivateNic> {
    w.private_nics
        .get(&id)
        .filter(|n| visible(ctx, &n.owner))
        .ok_or_else(|| Error::not_found("instance_private_nic", id.to_string()))
}

/// `GET private-network-interfaces`: filters by project, servers, private
/// networks and tags (all), in `order_by` order (default newest first).
pub fn v2_list(w: &World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let query: v2alpha1::ListPrivateNetworkInterfacesQuery = v2_query(req)?;
    let servers = req.q_all("server_ids");
    let networks = req.q_all("private_network_ids");
    let tags = query.tags.unwrap_or_default();
    let mut v: Vec<&PrivateNic> = w
        .private_nics
        .values()
        .filter(|n| visible(ctx, &n.owner))
        .filter(|n| {
            query
                .project_id
                .as_ref()
                .is_none_or(|p| &n.owner.project == p)
        })
        .filter(|n| {
            servers.is_empty() || n.server.is_some_and(|s| servers.contains(&s.to_string()))
        })
        .filter(|n| networks.is_empty() || networks.contains(&n.private_network_id))
        .filter(|n| tags.iter().all(|t| n.tags.contains(t)))
        .collect();
    sort_v2(&mut v, query.order_by.unwrap_or_default(), |n| {
        (n.created, n.modified, n.seq)
    })?;
    token_list_response(
        req,
        v.into_iter().map(render_v2).collect(),
        |private_network_interfaces, next_page_token, total_count| {
            ListPrivateNetworkInterfacesResponse {
                private_network_interfaces,
                next_page_token,
                total_count,
                extra: Map::new(),
            }
        },
    )
}

/// A v2alpha1 list query, decoded from the query pairs (a malformed value
/// is a 400 naming it).
pub fn v2_query<Q: serde::de::DeserializeOwned>(req: &Req) -> ApiResult<Q> {
    let pairs: serde_json::Map<String, serde_json::Value> = req
        .query
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| {
            // Numbers are typed in the query struct; they arrive as text.
            let value = match k.as_str() {
                "page_size" => v
                    .parse::<u64>()
                    .map(serde_json::Value::from)
                    .unwrap_or_else(|_| v.clone().into()),
                _ => v.clone().into(),
            };
            (k.clone(), value)
        })
        .collect();
    crate::http::decode(pairs)
}

/// Sort by the v2alpha1 `order_by`; `key` gives (created, updated, seq).
pub fn sort_v2<T>(
    v: &mut [T],
    order: ListOrderBy,
    key: impl Fn(&T) -> (SystemTime, SystemTime, u64),
) -> ApiResult<()> {
    match order {
        ListOrderBy::CreatedAtAsc => v.sort_by_key(|x| (key(x).0, key(x).2)),
        ListOrderBy::CreatedAtDesc => v.sort_by_key(|x| std::cmp::Reverse((key(x).0, key(x).2))),
        ListOrderBy::UpdatedAtAsc => v.sort_by_key(|x| (key(x).1, key(x).2)),
        ListOrderBy::UpdatedAtDesc => v.sort_by_key(|x| std::cmp::Reverse((key(x).1, key(x).2))),
        ListOrderBy::Other(o) => {
            return Err(Error::invalid(ArgDetail::constraint(
                "order_by",
                format!(
                    "{o:?} is not one of {}",
                    ListOrderBy::KNOWN
                        .iter()
                        .map(ListOrderBy::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )));
        }
    }
    Ok(())
}

/// `POST private-network-interfaces`: in the server's project when
/// attached (a `project_id` must then be the server's), else in
/// `project_id` or the caller's default project.
pub fn v2_create(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body: CreatePrivateNetworkInterfaceRequest = req.decode()?;
    let server = uuid_arg(body.server_id.as_deref(), "server_id")?;
    let project = body.project_id.as_deref().filter(|p| !p.is_empty());
    let owner = match server {
        Some(id) => {
            let owner = super::servers::get(w, ctx, id)?.owner.clone();
            if project.is_some_and(|p| p != owner.project) {
                return Err(Error::invalid(ArgDetail::constraint(
                    "project_id",
                    "the server belongs to another project",
                )));
            }
            owner
        }
        None => w.owner_for_create(ctx, project, None)?,
    };
    let nic = insert(
        w,
        ctx,
        NewNic {
            owner,
            server,
            private_network_id: body.private_network_id,
            tags: body.tags.unwrap_or_default(),
            ipam_ip_ids: body.ip_ids.unwrap_or_default(),
            ips_arg: "ip_ids",
        },
    )?;
    Ok(Resp::ok(render_v2(nic)))
}

/// `GET private-network-interfaces/{id}`.
pub fn v2_get(w: &World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    Ok(Resp::ok(render_v2(get_v2(w, ctx, id)?)))
}

/// `PATCH private-network-interfaces/{id}`: the tags.
pub fn v2_update(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body: UpdatePrivateNetworkInterfaceRequest = req.decode()?;
    let mut nic = get_v2(w, ctx, id)?.clone();
    if let Some(t) = body.tags {
        nic.tags = t;
    }
    nic.modified = ctx.now;
    let out = render_v2(&nic);
    w.private_nics.insert(id, nic);
    Ok(Resp::ok(out))
}

/// `DELETE private-network-interfaces/{id}`.
pub fn v2_delete(w: &mut World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    get_v2(w, ctx, id)?;
    w.private_nics.remove(&id);
    Ok(Resp::no_content())
}

/// The interface an attach or detach body names (`private_network_interface_id`,
/// required, a UUID), looked up for the caller.
fn named_interface(w: &World, ctx: &Ctx, req: &Req) -> ApiResult<Uuid> {
    const ARG: &str = "private_network_interface_id";
    let raw = req.json()?;
    if !raw.has(ARG) {
        return Err(Error::invalid(ArgDetail::required(ARG)));
    }
    let body: v2alpha1::AttachServerPrivateNetworkInterfaceRequest = crate::http::decode(raw.0)?;
    let id = uuid_arg(body.private_network_interface_id.as_deref(), ARG)?
        .ok_or_else(|| Error::invalid(ArgDetail::required(ARG)))?;
    get_v2(w, ctx, id)?;
    Ok(id)
}

/// `POST servers/{id}/attach-private-network-interface`: an unattached
/// interface of the server's project joins it (`attaching`, then
/// `available`), within the server's room; answers the v2alpha1 server.
pub fn v2_attach(w: &mut World, ctx: &Ctx, req: &Req, server: Uuid) -> ApiResult<Resp> {
    let owner = super::servers::get(w, ctx, server)?.owner.clone();
    let id = named_interface(w, ctx, req)?;
    let nic = get_v2(w, ctx, id)?;
    if nic.server.is_some() {
        return Err(Error::invalid(ArgDetail::constraint(
            "private_network_interface_id",
            "the private network interface is already attached to a server",
        )));
    }
    if nic.owner.project != owner.project {
        return Err(Error::invalid(ArgDetail::constraint(
            "private_network_interface_id",
            "the private network interface belongs to another project",
        )));
    }
    let pn = nic.private_network_id.clone();
    check_room(w, server, &pn, "private_network_interface_id")?;
    move_nic(w, ctx, id, Some(server), "attaching");
    attached_answer(w, ctx, server)
}

/// `POST servers/{id}/detach-private-network-interface`: an interface of
/// this server leaves it (`detaching`, then `available`) and stays, as
/// v2alpha1 interfaces may be on no server; answers the v2alpha1 server.
pub fn v2_detach(w: &mut World, ctx: &Ctx, req: &Req, server: Uuid) -> ApiResult<Resp> {
    super::servers::get(w, ctx, server)?;
    let id = named_interface(w, ctx, req)?;
    if get_v2(w, ctx, id)?.server != Some(server) {
        return Err(Error::invalid(ArgDetail::constraint(
            "private_network_interface_id",
            "the private network interface is not attached to this server",
        )));
    }
    move_nic(w, ctx, id, None, "detaching");
    attached_answer(w, ctx, server)
}

/// Put NIC `id` on `server` (or none) in the transient `state`, which ends
/// in `available` one transition later; the server counts as modified.
fn move_nic(w: &mut World, ctx: &Ctx, id: Uuid, server: Option<Uuid>, state: &str) {
    let touched = server.or_else(|| w.private_nics.get(&id).and_then(|n| n.server));
    let Some(n) = w.private_nics.get_mut(&id) else {
        return;
    };
    n.server = server;
    n.state = state.into();
    n.modified = ctx.now;
    n.moves += 1;
    let moves = n.moves;
    if let Some(s) = touched.and_then(|s| w.servers.get_mut(&s)) {
        s.modified = ctx.now;
    }
    let t = w.transition;
    w.schedule(ctx.instant, t, Event::NicAvailable(id, moves));
}

fn attached_answer(w: &World, ctx: &Ctx, server: Uuid) -> ApiResult<Resp> {
    let s = super::servers::get(w, ctx, server)?;
    Ok(Resp::ok(super::servers::render_v2(w, s)))
}
