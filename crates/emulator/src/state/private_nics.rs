//! Private NICs of a server (`syncing → available`).

use std::time::SystemTime;

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Ctx, Event, World, path_id, visible};
use crate::errors::{ApiError, ApiResult, ArgDetail};
use crate::http::{Req, Resp};
use crate::pagination::list_response;
use crate::util::{parse_uuid, rfc3339};

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

/// NIC JSON, key order as recorded.
pub fn render(n: &PrivateNic) -> Value {
    json!({
        "id": n.id.to_string(),
        "private_network_id": n.private_network_id,
        "server_id": n.server.to_string(),
        "mac_address": n.mac_address,
        "state": n.state,
        "creation_date": rfc3339(n.created),
        "modification_date": rfc3339(n.modified),
        "zone": n.zone,
        "tags": n.tags,
        "ipam_ip_ids": n.ipam_ip_ids,
    })
}

/// Routes under `servers/{id}/private_nics`.
pub fn route(
    w: &mut World,
    ctx: &Ctx,
    req: &Req,
    m: &str,
    server: Uuid,
    segs: &[&str],
) -> ApiResult<Resp> {
    super::servers::get(w, ctx, server)?;
    match (m, segs) {
        ("GET", []) => {
            let tags = req.q_list("tags");
            let mut v: Vec<&PrivateNic> = w
                .private_nics
                .values()
                .filter(|n| n.server == server && tags.iter().all(|t| n.tags.contains(t)))
                .collect();
            v.sort_by_key(|n| n.seq);
            list_response(
                req,
                "private_nics",
                v.into_iter().map(render).collect(),
                &format!("/servers/{server}/private_nics"),
            )
        }
        ("POST", []) => {
            let body = req.json()?;
            let pn = body
                .uuid("private_network_id")?
                .ok_or_else(|| ApiError::invalid(ArgDetail::required("private_network_id")))?
                .to_string();
            let on_server: Vec<&PrivateNic> = w
                .private_nics
                .values()
                .filter(|n| n.server == server)
                .collect();
            if on_server.iter().any(|n| n.private_network_id == pn) {
                return Err(ApiError::invalid(ArgDetail::constraint(
                    "private_network_id",
                    "the server already has a NIC in this private network",
                )));
            }
            if on_server.len() >= MAX_PER_SERVER {
                return Err(ApiError::invalid(ArgDetail::constraint(
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
            let mut ipam: Vec<String> = body.str_list("ipam_ip_ids")?.unwrap_or_default();
            for s in &ipam {
                if parse_uuid(s).is_none() {
                    return Err(ApiError::invalid(ArgDetail::format(
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
                tags: super::tags_of(&body)?.unwrap_or_default(),
                ipam_ip_ids: ipam,
                created: ctx.now,
                modified: ctx.now,
                seq,
            };
            let out = json!({"private_nic": render(&nic)});
            w.private_nics.insert(id, nic);
            let t = w.transition;
            w.schedule(ctx.instant, t, Event::NicAvailable(id));
            Ok(Resp::created(out, None))
        }
        (_, [nid]) => {
            let nid = path_id(nid, "private_nic_id")?;
            let nic = w
                .private_nics
                .get(&nid)
                .filter(|n| n.server == server)
                .ok_or_else(|| ApiError::not_found("instance_private_nic", nid.to_string()))?;
            match m {
                "GET" => Ok(Resp::ok(json!({"private_nic": render(nic)}))),
                "PATCH" => {
                    let body = req.json()?;
                    let mut nic = nic.clone();
                    if let Some(t) = super::tags_of(&body)? {
                        nic.tags = t;
                    }
                    nic.modified = ctx.now;
                    let out = render(&nic); // unwrapped, as documented
                    w.private_nics.insert(nid, nic);
                    Ok(Resp::ok(out))
                }
                "DELETE" => {
                    w.private_nics.remove(&nid);
                    Ok(Resp::no_content())
                }
                _ => Err(ApiError::MethodNotAllowed),
            }
        }
        _ => Err(ApiError::UnknownRoute),
    }
}
