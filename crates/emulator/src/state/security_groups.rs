//! Security groups and their rules: the 6 non-editable default rules (SMTP
//! blocked outbound on IPv4 and IPv6) listed first, user rules renumbered
//! from position 1, `PUT …/rules` set semantics (no id = create, id = update,
//! omitted = delete), and the per-project default group.

use std::net::IpAddr;
use std::time::SystemTime;

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Ctx, Owner, World, path_id, summary, visible};
use crate::errors::{ApiError, ApiResult, ArgDetail};
use crate::http::{Obj, Req, Resp};
use crate::pagination::list_response;
use crate::util::{parse_uuid, rfc3339};

/// A user rule; its position is its index + 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Id.
    pub id: Uuid,
    /// `TCP`, `UDP`, `ICMP`, `ANY`.
    pub protocol: String,
    /// `inbound`, `outbound`.
    pub direction: String,
    /// `accept`, `drop`.
    pub action: String,
    /// Normalised range (host ranges without prefix).
    pub ip_range: String,
    /// First port.
    pub dest_port_from: Option<u32>,
    /// Last port (None when equal to the first).
    pub dest_port_to: Option<u32>,
}

/// A security group.
#[derive(Debug, Clone)]
pub struct SecurityGroup {
    /// Id.
    pub id: Uuid,
    /// Ownership.
    pub owner: Owner,
    /// Name.
    pub name: String,
    /// Description (null when unset, as observed).
    pub description: Option<String>,
    /// Stateful flag.
    pub stateful: bool,
    /// Inbound default policy.
    pub inbound: String,
    /// Outbound default policy.
    pub outbound: String,
    /// Deprecated organization default flag.
    pub organization_default: bool,
    /// Project default flag.
    pub project_default: bool,
    /// Whether the 6 SMTP-blocking rules apply.
    pub enable_default_security: bool,
    /// State.
    pub state: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Editable rules.
    pub rules: Vec<Rule>,
    /// Creation time.
    pub created: SystemTime,
    /// Last modification.
    pub modified: SystemTime,
    /// Creation order.
    pub seq: u64,
}

/// The 6 default rules (fixed ids `11111111-2222-4333-8444-00000000000N`).
pub fn default_rules(zone: &str) -> Vec<Value> {
    let mut v = Vec::new();
    for (i, (range, port)) in [
        ("0.0.0.0/0", 25),
        ("0.0.0.0/0", 465),
        ("0.0.0.0/0", 587),
        ("::/0", 25),
        ("::/0", 465),
        ("::/0", 587),
    ]
    .into_iter()
    .enumerate()
    {
        v.push(json!({
            "id": format!("11111111-2222-4333-8444-{:012}", i + 1),
            "protocol": "TCP", "direction": "outbound", "ip_range": range, "dest_ip_range": null,
            "dest_port_from": port, "dest_port_to": null, "position": i + 1, "editable": false,
            "action": "drop", "zone": zone,
        }));
    }
    v
}

fn is_default_rule(id: &str) -> bool {
    id.starts_with("11111111-2222-4333-8444-00000000000")
}

fn render_rule(r: &Rule, position: usize, zone: &str) -> Value {
    json!({
        "id": r.id.to_string(),
        "protocol": r.protocol,
        "direction": r.direction,
        "ip_range": r.ip_range,
        "dest_ip_range": null,
        "dest_port_from": r.dest_port_from,
        "dest_port_to": r.dest_port_to,
        "position": position,
        "editable": true,
        "action": r.action,
        "zone": zone,
    })
}

fn all_rules(g: &SecurityGroup) -> Vec<Value> {
    let mut v = if g.enable_default_security {
        default_rules(&g.owner.zone)
    } else {
        Vec::new()
    };
    v.extend(
        g.rules
            .iter()
            .enumerate()
            .map(|(i, r)| render_rule(r, i + 1, &g.owner.zone)),
    );
    v
}

/// Security group JSON, key order as recorded.
pub fn render(w: &World, g: &SecurityGroup) -> Value {
    let mut servers: Vec<&super::Server> = w
        .servers
        .values()
        .filter(|s| s.security_group == g.id)
        .collect();
    servers.sort_by_key(|s| s.seq);
    json!({
        "id": g.id.to_string(),
        "creation_date": rfc3339(g.created),
        "modification_date": rfc3339(g.modified),
        "name": g.name,
        "description": g.description,
        "organization": g.owner.organization,
        "project": g.owner.project,
        "servers": servers.iter().map(|s| summary(s.id, &s.name)).collect::<Vec<_>>(),
        "stateful": g.stateful,
        "inbound_default_policy": g.inbound,
        "outbound_default_policy": g.outbound,
        "organization_default": g.organization_default,
        "project_default": g.project_default,
        "enable_default_security": g.enable_default_security,
        "state": g.state,
        "tags": g.tags,
        "zone": g.owner.zone,
    })
}

/// Look a group up for the caller.
pub fn get<'a>(w: &'a World, ctx: &Ctx, id: Uuid) -> ApiResult<&'a SecurityGroup> {
    w.security_groups
        .get(&id)
        .filter(|g| visible(ctx, &g.owner))
        .ok_or_else(|| ApiError::not_found("instance_security_group", id.to_string()))
}

/// The project's default group in the zone, created on first need.
pub fn ensure_default(w: &mut World, ctx: &Ctx, owner: &Owner) -> Uuid {
    if let Some(g) = w.security_groups.values().find(|g| {
        g.owner.zone == owner.zone && g.owner.project == owner.project && g.project_default
    }) {
        return g.id;
    }
    let id = w.new_id();
    let seq = w.next_seq();
    w.security_groups.insert(
        id,
        SecurityGroup {
            id,
            owner: owner.clone(),
            name: "Default security group".into(),
            description: Some("Auto generated security group.".into()),
            stateful: true,
            inbound: "accept".into(),
            outbound: "accept".into(),
            organization_default: owner.project == owner.organization,
            project_default: true,
            enable_default_security: true,
            state: "available".into(),
            tags: Vec::new(),
            rules: Vec::new(),
            created: ctx.now,
            modified: ctx.now,
            seq,
        },
    );
    id
}

/// Routes under `security_groups`.
pub fn route(w: &mut World, ctx: &Ctx, req: &Req, m: &str, segs: &[&str]) -> ApiResult<Resp> {
    match (m, segs) {
        ("GET", []) => {
            let pd = req.q_bool("project_default")?;
            let mut v: Vec<&SecurityGroup> = w
                .security_groups
                .values()
                .filter(|g| visible(ctx, &g.owner))
                .filter(|g| super::list_filter(req, &g.owner, &g.name, &g.tags))
                .filter(|g| pd.is_none_or(|p| g.project_default == p))
                .collect();
            v.sort_by_key(|g| std::cmp::Reverse(g.seq));
            let items = v.into_iter().map(|g| render(w, g)).collect();
            list_response(req, "security_groups", items, "/security_groups")
        }
        ("POST", []) => create(w, ctx, req),
        ("GET", ["default", "rules"]) => list_response(
            req,
            "rules",
            default_rules(&ctx.zone),
            "/security_groups/default/rules",
        ),
        (_, [id, rest @ ..]) => {
            let id = path_id(id, "security_group_id")?;
            match (m, rest) {
                ("GET", []) => Ok(Resp::ok(
                    json!({"security_group": render(w, get(w, ctx, id)?)}),
                )),
                ("PATCH", []) | ("PUT", []) => update(w, ctx, req, id),
                ("DELETE", []) => {
                    get(w, ctx, id)?;
                    if w.servers.values().any(|s| s.security_group == id) {
                        return Err(ApiError::PreconditionFailed {
                            message: "Group is in use. You cannot delete it.".into(),
                            precondition: "resource_still_in_use",
                        });
                    }
                    w.security_groups.remove(&id);
                    Ok(Resp::no_content())
                }
                // Not paginated in practice: no X-Total-Count/Link (as observed).
                ("GET", ["rules"]) => Ok(Resp::ok(json!({"rules": all_rules(get(w, ctx, id)?)}))),
                ("POST", ["rules"]) => create_rule(w, ctx, req, id),
                ("PUT", ["rules"]) => set_rules(w, ctx, req, id),
                (_, ["rules", rid]) => rule(w, ctx, req, m, id, rid),
                _ => Err(ApiError::UnknownRoute),
            }
        }
        _ => Err(ApiError::UnknownRoute),
    }
}

const POLICIES: [&str; 3] = ["unknown_policy", "accept", "drop"];

fn create(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body = req.json()?;
    let owner = w.owner_for_create(ctx, &body)?;
    let count = w
        .security_groups
        .values()
        .filter(|g| visible(ctx, &g.owner))
        .count();
    w.check_quota(
        ctx,
        "instance_security_groups",
        count,
        w.quotas.security_groups,
    )?;
    let policy = |k: &str| -> ApiResult<String> {
        Ok(body
            .enum_str(k, &POLICIES)?
            .filter(|p| p != "unknown_policy")
            .unwrap_or_else(|| "accept".into()))
    };
    let project_default = body
        .bool("project_default")?
        .or(body.bool("organization_default")?)
        .unwrap_or(false);
    if project_default {
        for g in w.security_groups.values_mut() {
            if g.owner.zone == owner.zone && g.owner.project == owner.project {
                g.project_default = false;
                g.organization_default = false;
            }
        }
    }
    let id = w.new_id();
    let seq = w.next_seq();
    let g = SecurityGroup {
        id,
        name: body.str_ne("name")?.unwrap_or_else(|| "sg-emulated".into()),
        description: body.str_ne("description")?,
        stateful: body.bool("stateful")?.unwrap_or(true),
        inbound: policy("inbound_default_policy")?,
        outbound: policy("outbound_default_policy")?,
        organization_default: project_default && owner.project == owner.organization,
        project_default,
        enable_default_security: body.bool("enable_default_security")?.unwrap_or(true),
        state: "available".into(),
        tags: super::tags_of(&body)?.unwrap_or_default(),
        rules: Vec::new(),
        created: ctx.now,
        modified: ctx.now,
        seq,
        owner,
    };
    let out = json!({"security_group": render(w, &g)});
    w.security_groups.insert(id, g);
    Ok(Resp::created(out, Some(format!("/security_groups/{id}"))))
}

fn update(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body = req.json()?;
    let mut g = get(w, ctx, id)?.clone();
    if let Some(n) = body.str_ne("name")? {
        g.name = n;
    }
    if body.has("description") {
        g.description = body.str_ne("description")?;
    }
    if let Some(b) = body.bool("stateful")? {
        g.stateful = b;
    }
    if let Some(b) = body.bool("enable_default_security")? {
        g.enable_default_security = b;
    }
    if let Some(p) = body
        .enum_str("inbound_default_policy", &POLICIES)?
        .filter(|p| p != "unknown_policy")
    {
        g.inbound = p;
    }
    if let Some(p) = body
        .enum_str("outbound_default_policy", &POLICIES)?
        .filter(|p| p != "unknown_policy")
    {
        g.outbound = p;
    }
    if let Some(t) = super::tags_of(&body)? {
        g.tags = t;
    }
    if let Some(pd) = body
        .bool("project_default")?
        .or(body.bool("organization_default")?)
    {
        if pd {
            for o in w.security_groups.values_mut() {
                if o.owner.zone == g.owner.zone && o.owner.project == g.owner.project {
                    o.project_default = false;
                    o.organization_default = false;
                }
            }
        }
        g.project_default = pd;
        g.organization_default = pd && g.owner.project == g.owner.organization;
    }
    g.modified = ctx.now;
    let out = json!({"security_group": render(w, &g)});
    w.security_groups.insert(id, g);
    Ok(Resp::ok(out))
}

/// Normalise a CIDR: host ranges lose their prefix (`8.8.8.8/32` → `8.8.8.8`).
fn normalise_range(s: &str) -> ApiResult<String> {
    let bad = || {
        ApiError::invalid(ArgDetail::format(
            "ip_range",
            format!("{s:?} is not a valid CIDR"),
        ))
    };
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().map_err(|_| bad())?)),
        None => (s, None),
    };
    let ip: IpAddr = addr.parse().map_err(|_| bad())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    match len {
        Some(l) if l > max => Err(bad()),
        Some(l) if l < max => Ok(format!("{ip}/{l}")),
        _ => Ok(ip.to_string()),
    }
}

/// Build a rule from a JSON object, merging onto `base` when updating.
fn rule_from(o: &Obj, base: Option<&Rule>, id: Uuid) -> ApiResult<Rule> {
    let req = |k: &str, allowed: &[&str], cur: Option<&String>| -> ApiResult<String> {
        match o
            .enum_str(k, allowed)?
            .filter(|v| !v.starts_with("unknown_"))
        {
            Some(v) => Ok(v),
            None => cur
                .cloned()
                .ok_or_else(|| ApiError::invalid(ArgDetail::required(k))),
        }
    };
    let protocol = req(
        "protocol",
        &["unknown_protocol", "TCP", "UDP", "ICMP", "ANY"],
        base.map(|b| &b.protocol),
    )?;
    let direction = req(
        "direction",
        &["unknown_direction", "inbound", "outbound"],
        base.map(|b| &b.direction),
    )?;
    let action = req(
        "action",
        &["unknown_action", "accept", "drop"],
        base.map(|b| &b.action),
    )?;
    let ip_range = match o.str_ne("ip_range")? {
        Some(r) => normalise_range(&r)?,
        None => base
            .map(|b| b.ip_range.clone())
            .ok_or_else(|| ApiError::invalid(ArgDetail::required("ip_range")))?,
    };
    let port = |k: &str, cur: Option<u32>| -> ApiResult<Option<u32>> {
        if o.is_null(k) {
            return Ok(if base.is_some() && !o.has(k) {
                cur
            } else {
                None
            });
        }
        match o.u64(k)? {
            None => Ok(cur),
            Some(0) => Ok(None),
            Some(p) if p <= 65535 => Ok(u32::try_from(p).ok()),
            Some(_) => Err(ApiError::invalid(ArgDetail::constraint(
                k,
                "port must be between 1 and 65535",
            ))),
        }
    };
    let mut from = port("dest_port_from", base.and_then(|b| b.dest_port_from))?;
    let mut to = port("dest_port_to", base.and_then(|b| b.dest_port_to))?;
    if matches!(protocol.as_str(), "ICMP" | "ANY") {
        from = None;
        to = None;
    }
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            return Err(ApiError::invalid(ArgDetail::constraint(
                "dest_port_to",
                "dest_port_to must be greater than dest_port_from",
            )));
        }
        if t == f {
            to = None;
        }
    }
    if from.is_none() {
        to = None;
    }
    Ok(Rule {
        id,
        protocol,
        direction,
        action,
        ip_range,
        dest_port_from: from,
        dest_port_to: to,
    })
}

/// Insert at a 1-based position among user rules (0/absent = append).
fn insert_at(rules: &mut Vec<Rule>, r: Rule, position: Option<u64>) {
    let idx = match position {
        Some(p) if p >= 1 => usize::try_from(p - 1)
            .unwrap_or(usize::MAX)
            .min(rules.len()),
        _ => rules.len(),
    };
    rules.insert(idx, r);
}

fn create_rule(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body = req.json()?;
    get(w, ctx, id)?;
    let rid = w.new_id();
    let r = rule_from(&body, None, rid)?;
    let pos = body.u64("position")?;
    let g = w
        .security_groups
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("instance_security_group", id.to_string()))?;
    insert_at(&mut g.rules, r, pos);
    g.modified = ctx.now;
    let out = rule_json(g, rid)?;
    Ok(Resp::created(
        out,
        Some(format!("/security_groups/{id}/rules/{rid}")),
    ))
}

fn rule_json(g: &SecurityGroup, rid: Uuid) -> ApiResult<Value> {
    g.rules
        .iter()
        .enumerate()
        .find(|(_, r)| r.id == rid)
        .map(|(i, r)| json!({"rule": render_rule(r, i + 1, &g.owner.zone)}))
        .ok_or_else(|| ApiError::not_found("instance_security_group_rule", rid.to_string()))
}

fn set_rules(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body = req.json()?;
    let g = get(w, ctx, id)?.clone();
    let list = match body.get("rules") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            return Err(ApiError::invalid(ArgDetail::format(
                "rules",
                "expected a list of rules",
            )));
        }
    };
    let mut next: Vec<(u64, usize, Rule)> = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let Value::Object(o) = v else {
            return Err(ApiError::invalid(ArgDetail::format(
                &format!("rules.{i}"),
                "expected an object",
            )));
        };
        let o = Obj(o.clone());
        // Non-editable (default) rules are ignored, as documented.
        if o.bool("editable")? == Some(false) {
            continue;
        }
        let rid = o.str_ne("id")?;
        if rid.as_deref().is_some_and(is_default_rule) {
            continue;
        }
        let rule = match rid {
            Some(rid) => {
                let rid = parse_uuid(&rid).ok_or_else(|| {
                    ApiError::invalid(ArgDetail::format(
                        &format!("rules.{i}.id"),
                        "not a valid UUID",
                    ))
                })?;
                let base = g.rules.iter().find(|r| r.id == rid).ok_or_else(|| {
                    ApiError::not_found("instance_security_group_rule", rid.to_string())
                })?;
                rule_from(&o, Some(base), rid)?
            }
            None => rule_from(&o, None, w.new_id())?,
        };
        let pos = o.u64("position")?.filter(|p| *p > 0).unwrap_or(u64::MAX);
        next.push((pos, i, rule));
    }
    next.sort_by_key(|(p, i, _)| (*p, *i));
    let g = w
        .security_groups
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found("instance_security_group", id.to_string()))?;
    g.rules = next.into_iter().map(|(_, _, r)| r).collect();
    g.modified = ctx.now;
    Ok(Resp::ok(json!({"rules": all_rules(g)})))
}

fn rule(w: &mut World, ctx: &Ctx, req: &Req, m: &str, id: Uuid, rid: &str) -> ApiResult<Resp> {
    let g = get(w, ctx, id)?;
    if is_default_rule(rid) {
        let zone = g.owner.zone.clone();
        return match m {
            "GET" => default_rules(&zone)
                .into_iter()
                .find(|r| r.get("id").and_then(Value::as_str) == Some(rid))
                .map(|r| Resp::ok(json!({"rule": r})))
                .ok_or_else(|| ApiError::not_found("instance_security_group_rule", rid.to_owned())),
            _ => Err(ApiError::invalid(ArgDetail::constraint(
                "security_group_rule_id",
                "default rules are not editable",
            ))),
        };
    }
    let rid = path_id(rid, "security_group_rule_id")?;
    let base = g
        .rules
        .iter()
        .find(|r| r.id == rid)
        .cloned()
        .ok_or_else(|| ApiError::not_found("instance_security_group_rule", rid.to_string()))?;
    match m {
        "GET" => Ok(Resp::ok(rule_json(g, rid)?)),
        "PATCH" | "PUT" => {
            let body = req.json()?;
            let r = rule_from(&body, Some(&base), rid)?;
            let pos = body.u64("position")?.filter(|p| *p > 0);
            let g = w
                .security_groups
                .get_mut(&id)
                .ok_or_else(|| ApiError::not_found("instance_security_group", id.to_string()))?;
            let cur = g.rules.iter().position(|x| x.id == rid).unwrap_or(0);
            g.rules.retain(|x| x.id != rid);
            insert_at(&mut g.rules, r, Some(pos.unwrap_or(cur as u64 + 1)));
            g.modified = ctx.now;
            Ok(Resp::ok(rule_json(g, rid)?))
        }
        "DELETE" => {
            let g = w
                .security_groups
                .get_mut(&id)
                .ok_or_else(|| ApiError::not_found("instance_security_group", id.to_string()))?;
            g.rules.retain(|x| x.id != rid);
            g.modified = ctx.now;
            Ok(Resp::no_content())
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}
