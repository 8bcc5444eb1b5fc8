//! Placement groups and their member servers (get/set/update), in v1 and
//! in v2alpha1 (`v2_…`, the same groups in the newer shape).

use std::time::SystemTime;

use fleet_core::v2alpha1;
use fleet_core::{
    CreatePlacementGroupRequest, ListPlacementGroupsResponse, PlacementGroupPolicyType,
    PlacementGroupResponse, PlacementGroupServer, PlacementGroupServersResponse,
    SetPlacementGroupServersRequest, UpdatePlacementGroupRequest,
};
use serde_json::Map;
use uuid::Uuid;

use super::{Ctx, Owner, World, visible, zone};
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp, non_empty, one_of};
use crate::pagination::{list_response, token_list_response};
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
    /// Creation time (shown by v2alpha1 only).
    pub created: SystemTime,
    /// Last change of a field either version shows (v2alpha1 only shows
    /// it; recorded: a v1 PATCH that changes nothing leaves it).
    pub updated: SystemTime,
}

impl PlacementGroup {
    /// Keep `updated` unless a field changed since `before`.
    fn touch(&mut self, before: &PlacementGroup, now: SystemTime) {
        let fields = |g: &PlacementGroup| {
            (
                g.name.clone(),
                g.policy_mode.clone(),
                g.policy_type.clone(),
                g.tags.clone(),
            )
        };
        if fields(self) != fields(before) {
            self.updated = now;
        }
    }
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
    let policy_mode = one_of("policy_mode", body.policy_mode, &MODES)?
        .map_or_else(|| "optional".into(), |p| p.to_string());
    let policy_type = one_of("policy_type", body.policy_type, &TYPES)?
        .map_or_else(|| "max_availability".into(), |p| p.to_string());
    let g = insert(
        w,
        ctx,
        NewGroup {
            owner,
            name: body.name,
            policy_mode,
            policy_type,
            tags: body.tags.unwrap_or_default(),
        },
    )?;
    let id = g.id;
    Ok(Resp::created(
        wrap(render(g)),
        Some(format!("/placement_groups/{id}")),
    ))
}

/// What a create of either version asks for, checked.
struct NewGroup {
    owner: Owner,
    name: Option<String>,
    policy_mode: String,
    policy_type: String,
    tags: Vec<String>,
}

/// Makes a group within the project's quota (named `pg-emulated` when unnamed).
fn insert<'w>(w: &'w mut World, ctx: &Ctx, new: NewGroup) -> ApiResult<&'w PlacementGroup> {
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
        owner: new.owner,
        name: non_empty(new.name).unwrap_or_else(|| "pg-emulated".into()),
        policy_mode: new.policy_mode,
        policy_type: new.policy_type,
        tags: new.tags,
        seq,
        created: ctx.now,
        updated: ctx.now,
    };
    Ok(w.placement_groups.entry(id).or_insert(g))
}

/// `GET placement_groups/{id}`.
pub fn get_one(w: &World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    Ok(Resp::ok(wrap(render(get(w, ctx, id)?))))
}

/// `PATCH` / `PUT placement_groups/{id}`: PUT sends every field (a name
/// is required there); its writable ones are the PATCH ones.
pub fn update(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid, is_put: bool) -> ApiResult<Resp> {
    let body: UpdatePlacementGroupRequest = req.decode()?;
    let before = get(w, ctx, id)?;
    let mut g = before.clone();
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
    g.touch(before, ctx.now);
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

/// A placement group as v2alpha1 shows it (no policy mode; timestamps
/// with `Z`).
pub fn render_v2(g: &PlacementGroup) -> v2alpha1::PlacementGroup {
    v2alpha1::PlacementGroup {
        project_id: g.owner.project.clone(),
        name: g.name.clone(),
        id: g.id.to_string(),
        policy_type: g.policy_type.as_str().into(),
        tags: g.tags.clone(),
        created_at: super::block::ts(g.created),
        updated_at: super::block::ts(g.updated),
        zone: zone(&g.owner.zone),
        extra: Map::new(),
    }
}

/// A v2alpha1 `policy_type`: the SDK's zero value `unknown_policy_type`
/// (sent on every PATCH) means none.
fn v2_policy_type(v: Option<PlacementGroupPolicyType>) -> ApiResult<Option<String>> {
    let v = v.filter(|p| p.as_str() != "unknown_policy_type");
    Ok(one_of("policy_type", v, &TYPES)?.map(|p| p.to_string()))
}

/// `GET placement-groups`: filters by project, ids, name (a substring, as
/// v1) and tags (all), in `order_by` order (default newest first).
pub fn v2_list(w: &World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let query: v2alpha1::ListPlacementGroupsQuery = super::private_nics::v2_query(req)?;
    let ids = req.q_all("placement_group_ids");
    let tags = query.tags.unwrap_or_default();
    let mut v: Vec<&PlacementGroup> = w
        .placement_groups
        .values()
        .filter(|g| visible(ctx, &g.owner))
        .filter(|g| {
            query
                .project_id
                .as_ref()
                .is_none_or(|p| &g.owner.project == p)
        })
        .filter(|g| ids.is_empty() || ids.contains(&g.id.to_string()))
        .filter(|g| {
            query
                .name
                .as_ref()
                .is_none_or(|n| g.name.contains(n.as_str()))
        })
        .filter(|g| tags.iter().all(|t| g.tags.contains(t)))
        .collect();
    super::private_nics::sort_v2(&mut v, query.order_by.unwrap_or_default(), |g| {
        (g.created, g.updated, g.seq)
    })?;
    token_list_response(
        req,
        v.into_iter().map(render_v2).collect(),
        |placement_groups, next_page_token, total_count| v2alpha1::ListPlacementGroupsResponse {
            placement_groups,
            next_page_token,
            total_count,
            extra: Map::new(),
        },
    )
}

/// `POST placement-groups` (answers 200 and the bare group; the policy
/// mode is v1's default, `optional`).
pub fn v2_create(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body: v2alpha1::CreatePlacementGroupRequest = req.decode()?;
    let owner = w.owner_for_create(ctx, body.project_id.as_deref(), None)?;
    let policy_type =
        v2_policy_type(body.policy_type)?.unwrap_or_else(|| "max_availability".into());
    let g = insert(
        w,
        ctx,
        NewGroup {
            owner,
            name: body.name,
            policy_mode: "optional".into(),
            policy_type,
            tags: body.tags.unwrap_or_default(),
        },
    )?;
    Ok(Resp::ok(render_v2(g)))
}

/// `GET placement-groups/{id}`.
pub fn v2_get(w: &World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    Ok(Resp::ok(render_v2(get(w, ctx, id)?)))
}

/// `PATCH placement-groups/{id}`: name, policy type, tags.
pub fn v2_update(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body: v2alpha1::UpdatePlacementGroupRequest = req.decode()?;
    let before = get(w, ctx, id)?;
    let mut g = before.clone();
    if let Some(n) = non_empty(body.name) {
        g.name = n;
    }
    if let Some(p) = v2_policy_type(body.policy_type)? {
        g.policy_type = p;
    }
    if let Some(t) = body.tags {
        g.tags = t;
    }
    g.touch(before, ctx.now);
    let out = render_v2(&g);
    w.placement_groups.insert(id, g);
    Ok(Resp::ok(out))
}
