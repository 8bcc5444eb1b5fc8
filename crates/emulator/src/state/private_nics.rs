//! Private NICs of a server (`syncing → available`).

use std::time::SystemTime;

use fleet_core::{
    CreatePrivateNicRequest, ListPrivateNicsResponse, Maybe, Method, PrivateNicResponse,
    UpdatePrivateNicRequest,
};
use serde_json::Map;
use uuid::Uuid;

use super::{Ctx, Event, World, ts, visible, zone};
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp, uuid_arg};
use crate::pagination::list_response;
use crate::util::parse_uuid;

/// Most private NICs on one server (the types' `capabilities.private_network`).
const MAX_PER_SERVER: usize = 8;

/// A private NIC.
#[derive(Debug, Clone)]
pub struct PrivateNic {
    /// Id.
    pub id: Uuid,
    /// Server.
    pub server: Uuid,
    /// Zone.
    pub zone: String,
    /// Private network id.
    pub private_network_id: String,
    /// MAC address.
    pub mac_address: String,
    /// `syncing`, `available`.
    pub state: String,
    /// Tags.
    pub tags: Vec<String>,
    /// IPAM ips.
    pub ipam_ip_ids: Vec<String>,
    /// Creation time.
    pub created: SystemTime,
    /// Last modification.
    pub modified: SystemTime,
    /// Creation order.
    pub seq: u64,
}

/// A private NIC as the API shows it.
pub fn render(n: &PrivateNic) -> fleet_core::PrivateNic {
    fleet_core::PrivateNic {
        id: n.id.to_string(),
        private_network_id: n.private_network_id.clone(),
        server_id: n.server.to_string(),
        mac_address: n.mac_address.clone(),
        state: n.state.as_str().into(),
        creation_date: Some(ts(n.created)),
        modification_date: Maybe::Value(ts(n.modified)),
        zone: zone(&n.zone),
        tags: n.tags.clone(),
        ipam_ip_ids: n.ipam_ip_ids.clone(),
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
        .filter(|n| n.server == server && tags.iter().all(|t| n.tags.contains(t)))
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

/// `POST servers/{id}/private_nics`.
pub fn create(w: &mut World, ctx: &Ctx, req: &Req, server: Uuid) -> ApiResult<Resp> {
    super::servers::get(w, ctx, server)?;
    let body: CreatePrivateNicRequest = req.decode()?;
    let pn = uuid_arg(body.private_network_id.as_deref(), "private_network_id")?
        .ok_or_else(|| Error::invalid(ArgDetail::required("private_network_id")))?
        .to_string();
    let on_server: Vec<&PrivateNic> = w
        .private_nics
        .values()
        .filter(|n| n.server == server)
        .collect();
    if on_server.iter().any(|n| n.private_network_id == pn) {
        return Err(Error::invalid(ArgDetail::constraint(
            "private_network_id",
            "the server already has a NIC in this private network",
        )));
    }
    if on_server.len() >= MAX_PER_SERVER {
        return Err(Error::invalid(ArgDetail::constraint(
            "private_network_id",
            "too many private NICs on this server",
        )));
    }
    let count = w
        .private_nics
        .values()
        .filter(|n| {
            w.servers
                .get(&n.server)
                .is_some_and(|s| visible(ctx, &s.owner))
        })
        .count();
    w.check_quota(ctx, "instance_private_nics", count, w.quotas.private_nics)?;
    let mut ipam: Vec<String> = body.ipam_ip_ids.clone().unwrap_or_default();
    for s in &ipam {
        if parse_uuid(s).is_none() {
            return Err(Error::invalid(ArgDetail::format(
                "ipam_ip_ids",
                "not a valid UUID",
            )));
        }
    }
    if ipam.is_empty() {
        ipam = vec![w.new_id().to_string(), w.new_id().to_string()];
    }
    let id = w.new_id();
    let seq = w.next_seq();
    let n = w.next_counter();
    let nic = PrivateNic {
        id,
        server,
        zone: ctx.zone.clone(),
        private_network_id: pn,
        mac_address: format!(
            "02:00:00:{:02x}:{:02x}:{:02x}",
            (n >> 16) & 0xff,
            (n >> 8) & 0xff,
            n & 0xff
        ),
        state: "syncing".into(),
        tags: body.tags.unwrap_or_default(),
        ipam_ip_ids: ipam,
        created: ctx.now,
        modified: ctx.now,
        seq,
    };
    let out = wrap(render(&nic));
    w.private_nics.insert(id, nic);
    let t = w.transition;
    w.schedule(ctx.instant, t, Event::NicAvailable(id));
    Ok(Resp::created(out, None))
}

/// `GET`, `PATCH` (answers the bare NIC, as documented) or `DELETE
/// servers/{id}/private_nics/{nic}`.
pub fn one(w: &mut World, ctx: &Ctx, req: &Req, server: Uuid, nid: Uuid) -> ApiResult<Resp> {
    super::servers::get(w, ctx, server)?;
    let nic = w
        .private_nics
        .get(&nid)
        .filter(|n| n.server == server)
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
