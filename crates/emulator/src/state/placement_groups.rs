//! Placement groups and their member servers (get/set/update).

use fleet_core::{
    CreatePlacementGroupRequest, ListPlacementGroupsResponse, Method, PlacementGroupResponse,
    PlacementGroupServer, PlacementGroupServersResponse, SetPlacementGroupServersRequest,
    UpdatePlacementGroupRequest,
};
use serde_json::{Map, json};
use uuid::Uuid;

use super::{Ctx, Owner, World, visible, zone};
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp, non_empty, one_of};
use crate::pagination::list_response;
use crate::util::parse_uuid;

/// Servers a `max_availability` group can spread (the API's documented limit).
const MAX_AVAILABILITY_SERVERS: usize = 20;

/// A placement group.
#[derive(Debug, Clone)]
pub struct PlacementGroup {
    /// Id.
    pub id: Uuid,
    /// Ownership.
    pub owner: Owner,
    /// Name.
    pub name: String,
    /// `optional` or `enforced`.
    pub policy_mode: String,
    /// `max_availability` or `low_latency`.
    pub policy_type: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation order.
    pub seq: u64,
    /// Creation time (shown by the v2alpha1 surface only).
    pub created: std::time::SystemTime,
}

/// A placement group as the API shows it.
pub fn render(g: &PlacementGroup) -> fleet_core::PlacementGroup {
    fleet_core::PlacementGroup {
        id: g.id.to_string(),
        name: g.name.clone(),
        organization: g.owner.organization.clone(),
        project: g.owner.project.clone(),
        policy_mode: g.policy_mode.as_str().into(),
        policy_type: g.policy_type.as_str().into(),
        policy_respected: true,
        tags: g.tags.clone(),
        zone: zone(&g.owner.zone),
        extra: Map::new(),
    }
}

fn wrap(placement_group: fleet_core::PlacementGroup) -> PlacementGroupResponse {
    PlacementGroupResponse {
        placement_group,
        extra: Map::new(),
    }
}

/// Look a group up for the caller.
pub fn get<'a>(w: &'a World, ctx: &Ctx, id: Uuid) -> ApiResult<&'a PlacementGroup> {
    w.placement_groups
        .get(&id)
        .filter(|g| visible(ctx, &g.owner))
        .ok_or_else(|| Error::not_found("instance_placement_group", id.to_string()))
}

const MODES: [&str; 2] = ["optional", "enforced"];
const TYPES: [&str; 2] = ["max_availability", "low_latency"];

/// `GET placement_groups`.
pub fn list(w: &World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let mut v: Vec<&PlacementGroup> = w
        .placement_groups
        .values()
        .filter(|g| visible(ctx, &g.owner))
        .filter(|g| super::list_filter(req, &g.owner, &g.name, &g.tags))
        .collect();
    v.sort_by_key(|g| std::cmp::Reverse(g.seq));
    list_response(
        req,
        v.into_iter().map(render).collect(),
        "/placement_groups",
        |placement_groups| ListPlacementGroupsResponse {
            placement_groups,
            extra: Map::new(),
        },
    )
}

/// `POST placement_groups`.
pub fn create(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body: CreatePlacementGroupRequest = req.decode()?;
    let owner = w.owner_for_create(ctx, body.project.as_deref(), body.organization.as_deref())?;
    let count = w
        .placement_groups
        .values()
        .filter(|g| visible(ctx, &g.owner))
        .count();
    w.check_quota(
        ctx,
        "instance_placement_groups",
        count,
        w.quotas.placement_groups,
    )?;
    let id = w.new_id();
    let seq = w.next_seq();
    let g = PlacementGroup {
        id,
        owner,
        name: non_empty(body.name).unwrap_or_else(|| "pg-emulated".into()),
        policy_mode: one_of("policy_mode", body.policy_mode, &MODES)?
            .map_or_else(|| "optional".into(), |p| p.to_string()),
        policy_type: one_of("policy_type", body.policy_type, &TYPES)?
            .map_or_else(|| "max_availability".into(), |p| p.to_string()),
        tags: body.tags.unwrap_or_default(),
        seq,
        created: ctx.now,
    };
    let out = wrap(render(&g));
    w.placement_groups.insert(id, g);
    Ok(Resp::created(out, Some(format!("/placement_groups/{id}"))))
}

/// `GET placement_groups/{id}`.
pub fn get_one(w: &World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    Ok(Resp::ok(wrap(render(get(w, ctx, id)?))))
}

/// `PATCH` / `PUT placement_groups/{id}`: PUT sends every field (a name
/// is required there); its writable ones are the PATCH ones.
pub fn update(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid, is_put: bool) -> ApiResult<Resp> {
    let body: UpdatePlacementGroupRequest = req.decode()?;
    let mut g = get(w, ctx, id)?.clone();
    let name = non_empty(body.name);
    if is_put && name.is_none() {
        return Err(Error::invalid(ArgDetail::required("name")));
    }
    if let Some(n) = name {
        g.name = n;
    }
    if let Some(p) = one_of("policy_mode", body.policy_mode, &MODES)? {
        g.policy_mode = p.to_string();
    }
    if let Some(p) = one_of("policy_type", body.policy_type, &TYPES)? {
        g.policy_type = p.to_string();
    }
    if let Some(t) = body.tags {
        g.tags = t;
    }
    let out = wrap(render(&g));
    w.placement_groups.insert(id, g);
    Ok(Resp::ok(out))
}

/// `DELETE placement_groups/{id}`. Observed: deleting a group with
/// members succeeds and leaves the servers without a group.
pub fn delete(w: &mut World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    get(w, ctx, id)?;
    for s in w.servers.values_mut() {
        if s.placement_group == Some(id) {
            s.placement_group = None;
        }
    }
    w.placement_groups.remove(&id);
    Ok(Resp::no_content())
}

/// `GET placement_groups/{id}/servers`.
pub fn servers(w: &World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    get(w, ctx, id)?;
    list_response(
        req,
        members(w, id),
        &format!("/placement_groups/{id}/servers"),
        |servers| PlacementGroupServersResponse {
            servers,
            extra: Map::new(),
        },
    )
}

fn members(w: &World, id: Uuid) -> Vec<PlacementGroupServer> {
    let mut v: Vec<&super::Server> = w
        .servers
        .values()
        .filter(|s| s.placement_group == Some(id))
        .collect();
    v.sort_by_key(|s| s.seq);
    v.into_iter()
        .map(|s| PlacementGroupServer {
            id: s.id.to_string(),
            name: s.name.clone(),
            policy_respected: true,
            extra: Map::new(),
        })
        .collect()
}

/// `PUT` / `PATCH placement_groups/{id}/servers`: the whole member list.
pub fn set_servers(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let raw = req.json()?;
    if !raw.has("servers") {
        return Err(Error::invalid(ArgDetail::required("servers")));
    }
    let body: SetPlacementGroupServersRequest = crate::http::decode(raw.0)?;
    let g = get(w, ctx, id)?.clone();
    let list = body.servers;
    let mut ids = Vec::new();
    for s in list {
        let sid = parse_uuid(&s)
            .ok_or_else(|| Error::invalid(ArgDetail::format("servers", "not a valid UUID")))?;
        super::servers::get(w, ctx, sid)?;
        if !ids.contains(&sid) {
            ids.push(sid);
        }
    }
    if g.policy_type == "max_availability" && ids.len() > MAX_AVAILABILITY_SERVERS {
        return Err(Error::invalid(ArgDetail::constraint(
            "servers",
            format!(
                "a max_availability placement group holds at most {MAX_AVAILABILITY_SERVERS} servers"
            ),
        )));
    }
    for s in w.servers.values_mut() {
        if ids.contains(&s.id) {
            s.placement_group = Some(id);
            s.modified = ctx.now;
        } else if s.placement_group == Some(id) {
            s.placement_group = None;
            s.modified = ctx.now;
        }
    }
    Ok(Resp::ok(PlacementGroupServersResponse {
        servers: members(w, id),
        extra: Map::new(),
    }))
}

/// The newer `instance/v2alpha1` placement-group surface (create, get,
/// update, delete), used by current Terraform; it shares the v1 groups.
/// `segs` follow `placement-groups`; this surface is not in the v1 catalog.
pub fn route_v2(w: &mut World, ctx: &Ctx, req: &Req, segs: &[&str]) -> ApiResult<Resp> {
    if req.method != Method::Get
        && let Some(id) = segs.first().and_then(|s| parse_uuid(s))
        && w.locked.contains(&id)
    {
        return Err(Error::locked("instance_placement_group", id.to_string()));
    }
    let render_v2 = |g: &PlacementGroup| {
        json!({
            "project_id": g.owner.project, "name": g.name, "id": g.id.to_string(), "policy_type": g.policy_type,
            "tags": g.tags, "created_at": crate::util::rfc3339(g.created), "updated_at": crate::util::rfc3339(g.created),
            "zone": g.owner.zone,
        })
    };
    match (req.method, segs) {
        (Method::Post, []) => {
            let mut body = req.json()?;
            if let Some(p) = body.0.remove("project_id") {
                body.0.insert("project".into(), p);
            }
            let owner = w.owner_for_create(
                ctx,
                body.str_ne("project")?.as_deref(),
                body.str_ne("organization")?.as_deref(),
            )?;
            let id = w.new_id();
            let seq = w.next_seq();
            let g = PlacementGroup {
                id,
                owner,
                name: body.str_ne("name")?.unwrap_or_else(|| "pg-emulated".into()),
                policy_mode: "optional".into(),
                policy_type: body
                    .enum_str("policy_type", &TYPES)?
                    .unwrap_or_else(|| "max_availability".into()),
                tags: super::tags_of(&body)?.unwrap_or_default(),
                seq,
                created: ctx.now,
            };
            let out = render_v2(&g);
            w.placement_groups.insert(id, g);
            Ok(Resp::ok(out))
        }
        (Method::Get, [id]) => Ok(Resp::ok(render_v2(get(w, ctx, v2_id(id)?)?))),
        (Method::Delete, [id]) => delete(w, ctx, v2_id(id)?),
        _ => Err(Error::unknown_route()),
    }
}

fn v2_id(seg: &str) -> ApiResult<Uuid> {
    parse_uuid(seg)
        .ok_or_else(|| Error::invalid(ArgDetail::format("placement_group_id", "not a valid UUID")))
}
