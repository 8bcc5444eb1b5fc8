//! Flexible IPs: routed IPv4 (address) and IPv6 (prefix), attach/detach via
//! PATCH `server`, reverse DNS, lookup by id or by address.

use std::net::IpAddr;

use fleet_core::{
    CreateIpRequest, IpResponse, ListIpsResponse, ServerIp, ServerIpIpFamily,
    ServerIpProvisioningMode, ServerIpState, UpdateIpRequest,
};
use serde_json::Map;
use uuid::Uuid;

use super::{Ctx, Owner, World, summary, visible, zone};
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp, one_of, uuid_arg};
use crate::pagination::list_response;
use crate::util::parse_uuid;

/// A flexible IP.
#[derive(Debug, Clone)]
pub struct Ip {
    /// Id.
    pub id: Uuid,
    /// Ownership.
    pub owner: Owner,
    /// IPv4 address (routed_ipv4).
    pub address: Option<String>,
    /// IPv6 prefix (routed_ipv6).
    pub prefix: Option<String>,
    /// Reverse DNS.
    pub reverse: Option<String>,
    /// Attached server.
    pub server: Option<Uuid>,
    /// `routed_ipv4` or `routed_ipv6`.
    pub kind: String,
    /// `detached`, `attached`, `pending`.
    pub state: String,
    /// Tags.
    pub tags: Vec<String>,
    /// IPAM id.
    pub ipam_id: Uuid,
    /// Creation order.
    pub seq: u64,
}

/// A flexible IP as the API shows it.
pub fn render(w: &World, ip: &Ip) -> fleet_core::Ip {
    fleet_core::Ip {
        id: ip.id.to_string(),
        address: ip.address.clone(),
        prefix: ip.prefix.clone(),
        reverse: ip.reverse.clone(),
        server: ip
            .server
            .and_then(|id| w.servers.get(&id))
            .map(|s| summary(s.id, &s.name)),
        organization: ip.owner.organization.clone(),
        project: ip.owner.project.clone(),
        zone: zone(&ip.owner.zone),
        ip_type: ip.kind.as_str().into(),
        state: ip.state.as_str().into(),
        tags: ip.tags.clone(),
        ipam_id: ip.ipam_id.to_string(),
        extra: Map::new(),
    }
}

/// The `server.public_ips[]` form of a flexible IP.
pub fn render_server_ip(ip: &Ip) -> ServerIp {
    let (address, gateway, netmask, family, mode) = match &ip.prefix {
        Some(p) => (
            format!("{}1", p.trim_end_matches("/64")),
            "fe80::dc00:ff:fe12:3456",
            "64",
            ServerIpIpFamily::Inet6,
            ServerIpProvisioningMode::Slaac,
        ),
        None => (
            ip.address.clone().unwrap_or_default(),
            "62.210.0.1",
            "32",
            ServerIpIpFamily::Inet,
            ServerIpProvisioningMode::Dhcp,
        ),
    };
    ServerIp {
        id: ip.id.to_string(),
        address,
        dynamic: false,
        gateway: Some(gateway.to_owned()),
        netmask: netmask.to_owned(),
        family,
        provisioning_mode: mode,
        tags: ip.tags.clone(),
        state: if ip.state == "pending" {
            ServerIpState::Pending
        } else {
            ServerIpState::Attached
        },
        ipam_id: Some(ip.ipam_id.to_string()),
        extra: Map::new(),
    }
}

fn ip_response(w: &World, id: Uuid) -> ApiResult<IpResponse> {
    w.ips
        .get(&id)
        .map(|ip| IpResponse {
            ip: render(w, ip),
            extra: Map::new(),
        })
        .ok_or_else(|| Error::not_found("instance_ip", id.to_string()))
}

/// Resolve `/ips/{ip}` by id or address.
fn find(w: &World, ctx: &Ctx, seg: &str) -> ApiResult<Uuid> {
    if let Some(id) = parse_uuid(seg) {
        return w
            .ips
            .get(&id)
            .filter(|ip| visible(ctx, &ip.owner))
            .map(|ip| ip.id)
            .ok_or_else(|| Error::not_found("instance_ip", id.to_string()));
    }
    let Ok(addr) = seg.parse::<IpAddr>() else {
        return Err(Error::invalid(ArgDetail::format(
            "ip",
            "not a valid IP id or address",
        )));
    };
    let text = addr.to_string();
    w.ips
        .values()
        .find(|ip| {
            visible(ctx, &ip.owner)
                && (ip.address.as_deref() == Some(&text)
                    || ip
                        .prefix
                        .as_deref()
                        .is_some_and(|p| p.starts_with(text.trim_end_matches(':'))))
        })
        .map(|ip| ip.id)
        .ok_or_else(|| {
            let bits = if addr.is_ipv4() { 32 } else { 128 };
            Error::not_found("instance_ip", format!("{text}/{bits}"))
        })
}

/// `GET ips`; `name` filters the address.
pub fn list(w: &World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let kind = req.q("type");
    let name = req.q("name");
    let mut v: Vec<&Ip> = w
        .ips
        .values()
        .filter(|ip| visible(ctx, &ip.owner))
        .filter(|ip| super::list_filter(&strip_name(req), &ip.owner, "", &ip.tags))
        .filter(|ip| kind.is_none_or(|k| ip.kind == k))
        .filter(|ip| {
            name.is_none_or(|n| {
                ip.address
                    .as_deref()
                    .or(ip.prefix.as_deref())
                    .is_some_and(|a| a.contains(n))
            })
        })
        .collect();
    v.sort_by_key(|ip| std::cmp::Reverse(ip.seq));
    let items = v.into_iter().map(|ip| render(w, ip)).collect();
    list_response(req, items, "/ips", |ips| ListIpsResponse {
        ips,
        extra: Map::new(),
    })
}

/// `GET ips/{ip}` (an id or an address).
pub fn get_one(w: &World, ctx: &Ctx, ip: &str) -> ApiResult<Resp> {
    let id = find(w, ctx, ip)?;
    ip_response(w, id).map(Resp::ok)
}

/// `DELETE ips/{ip}` and `POST ips/{ip_id}/release-to-ipam`: detach, then forget.
pub fn delete(w: &mut World, ctx: &Ctx, ip: &str) -> ApiResult<Resp> {
    let id = find(w, ctx, ip)?;
    detach(w, id);
    w.ips.remove(&id);
    Ok(Resp::no_content())
}

/// The request without `name` (IP `name` filters the address instead).
fn strip_name(req: &Req) -> Req {
    Req {
        method: req.method,
        version: req.version,
        params: req.params.clone(),
        query: req
            .query
            .iter()
            .filter(|(k, _)| k != "name")
            .cloned()
            .collect(),
        body: bytes::Bytes::new(),
    }
}

fn detach(w: &mut World, id: Uuid) {
    let Some(server) = w.ips.get(&id).and_then(|ip| ip.server) else {
        return;
    };
    if let Some(s) = w.servers.get_mut(&server) {
        s.public_ips.retain(|x| *x != id);
    }
    if let Some(ip) = w.ips.get_mut(&id) {
        ip.server = None;
        ip.state = "detached".into();
    }
}

/// The state of an IP joining `server`. Observed: an IP (flexible or
/// dynamic) that joins a running server stays `pending` (for as long as
/// the recording lasted, over a minute) until the server next boots or
/// stops; one joining a server that is off is `attached` at once.
pub fn joins_state(server: &super::servers::Server) -> &'static str {
    if server.state == fleet_core::ServerState::Running {
        "pending"
    } else {
        "attached"
    }
}

/// A server booted or stopped: its `pending` IPs are attached.
pub fn settle_pending(w: &mut World, server: Uuid) {
    for ip in w.ips.values_mut() {
        if ip.server == Some(server) && ip.state == "pending" {
            ip.state = "attached".into();
        }
    }
    if let Some(s) = w.servers.get_mut(&server) {
        s.dynamic_ip_pending = false;
    }
}

fn attach(w: &mut World, ctx: &Ctx, id: Uuid, server: Uuid) -> ApiResult<()> {
    let state = joins_state(super::servers::get(w, ctx, server)?);
    detach(w, id);
    if let Some(s) = w.servers.get_mut(&server) {
        s.public_ips.push(id);
        // A flexible IP replaces the dynamic one.
        s.dynamic_ip = None;
    }
    if let Some(ip) = w.ips.get_mut(&id) {
        ip.server = Some(server);
        ip.state = state.into();
    }
    Ok(())
}

/// `POST ips`.
pub fn create(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body: CreateIpRequest = req.decode()?;
    let owner = w.owner_for_create(ctx, body.project.as_deref(), body.organization.as_deref())?;
    let count = w.ips.values().filter(|ip| visible(ctx, &ip.owner)).count();
    w.check_quota(ctx, "instance_ips", count, w.quotas.ips)?;
    let kind = one_of(
        "type",
        body.ip_type,
        &["unknown_iptype", "routed_ipv4", "routed_ipv6"],
    )?
    .map(|k| k.to_string())
    .filter(|k| k != "unknown_iptype")
    .unwrap_or_else(|| "routed_ipv4".into());
    let server = uuid_arg(body.server.as_deref(), "server")?;
    if let Some(s) = server {
        super::servers::get(w, ctx, s)?;
    }
    let id = w.new_id();
    let ipam_id = w.new_id();
    let seq = w.next_seq();
    let n = w.next_counter();
    let (address, prefix) = if kind == "routed_ipv6" {
        (None, Some(format!("2001:bc8:1640:{:x}::/64", 0x1000 + n)))
    } else {
        (
            Some(format!("51.158.{}.{}", (n / 250) % 250 + 1, n % 250 + 1)),
            None,
        )
    };
    let ip = Ip {
        id,
        owner,
        address,
        prefix,
        reverse: None,
        server: None,
        kind,
        state: "detached".into(),
        tags: body.tags.unwrap_or_default(),
        ipam_id,
        seq,
    };
    w.ips.insert(id, ip);
    if let Some(s) = server {
        attach(w, ctx, id, s)?;
    }
    let out = ip_response(w, id)?;
    Ok(Resp::created(out, Some(format!("/ips/{id}"))))
}

/// `PATCH ips/{ip}`.
pub fn update(w: &mut World, ctx: &Ctx, req: &Req, ip: &str) -> ApiResult<Resp> {
    let id = find(w, ctx, ip)?;
    let body: UpdateIpRequest = req.decode()?;
    one_of(
        "type",
        body.ip_type,
        &["unknown_iptype", "routed_ipv4", "routed_ipv6"],
    )?;
    let tags = body.tags;
    // `null` and `""` both reset the reverse.
    let reverse = body
        .reverse
        .into_patch()
        .map(|r| r.filter(|r| !r.is_empty()));
    if let Some(Some(r)) = &reverse {
        let ok = r.len() <= 253
            && r.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !ok {
            return Err(Error::invalid(ArgDetail::constraint(
                "reverse",
                format!("{r:?} is not a valid domain name"),
            )));
        }
    }
    match body.server.as_patch() {
        Some(None) => detach(w, id),
        Some(Some(s)) => {
            if let Some(sid) = uuid_arg(Some(s), "server")? {
                attach(w, ctx, id, sid)?;
            }
        }
        None => {}
    }
    if let Some(ip) = w.ips.get_mut(&id) {
        if let Some(t) = tags {
            ip.tags = t;
        }
        if let Some(r) = reverse {
            ip.reverse = r;
        }
    }
    ip_response(w, id).map(Resp::ok)
}
