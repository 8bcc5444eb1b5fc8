//! Security groups and their rules: the 6 non-editable default rules (SMTP
//! blocked outbound on IPv4 and IPv6) listed first, user rules renumbered
//! from position 1, `PUT …/rules` set semantics (no id = create, id = update,
//! omitted = delete), and the per-project default group.

use std::net::IpAddr;
use std::time::SystemTime;

use fleet_core::{
    CreateSecurityGroupRequest, CreateSecurityGroupRuleRequest, ListSecurityGroupRulesResponse,
    ListSecurityGroupsResponse, Maybe, SecurityGroupPolicy, SecurityGroupResponse,
    SecurityGroupRule, SecurityGroupRuleAction, SecurityGroupRuleDirection,
    SecurityGroupRuleProtocol, SecurityGroupRuleResponse, SetSecurityGroupRulesRequest,
    SetSecurityGroupRulesRequestRule, UpdateSecurityGroupRequest, UpdateSecurityGroupRuleRequest,
};
use fleet_core::{Method, PreconditionFailedKind};
use serde_json::Map;
use uuid::Uuid;

use super::{Ctx, Event, Owner, World, summary, ts, visible, zone};
use crate::errors::{ApiError, ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp, non_empty, one_of};
use crate::pagination::{list_response, untotalled_list_response};
use crate::util::parse_uuid;

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
pub fn default_rules(zone_name: &str) -> Vec<SecurityGroupRule> {
    [
        ("0.0.0.0/0", 25),
        ("0.0.0.0/0", 465),
        ("0.0.0.0/0", 587),
        ("::/0", 25),
        ("::/0", 465),
        ("::/0", 587),
    ]
    .into_iter()
    .zip(1u32..)
    .map(|((range, port), position)| SecurityGroupRule {
        id: format!("11111111-2222-4333-8444-{position:012}"),
        protocol: SecurityGroupRuleProtocol::Tcp,
        direction: SecurityGroupRuleDirection::Outbound,
        ip_range: range.to_owned(),
        dest_ip_range: Maybe::Null,
        dest_port_from: Some(port),
        dest_port_to: None,
        position,
        editable: false,
        action: SecurityGroupRuleAction::Drop,
        zone: zone(zone_name),
        extra: Map::new(),
    })
    .collect()
}

fn is_default_rule(id: &str) -> bool {
    id.starts_with("11111111-2222-4333-8444-00000000000")
}

fn render_rule(r: &Rule, position: usize, zone_name: &str) -> SecurityGroupRule {
    SecurityGroupRule {
        id: r.id.to_string(),
        protocol: r.protocol.as_str().into(),
        direction: r.direction.as_str().into(),
        ip_range: r.ip_range.clone(),
        dest_ip_range: Maybe::Null,
        dest_port_from: r.dest_port_from,
        dest_port_to: r.dest_port_to,
        position: u32::try_from(position).unwrap_or(u32::MAX),
        editable: true,
        action: r.action.as_str().into(),
        zone: zone(zone_name),
        extra: Map::new(),
    }
}

fn all_rules(g: &SecurityGroup) -> ListSecurityGroupRulesResponse {
    let mut rules = if g.enable_default_security {
        default_rules(&g.owner.zone)
    } else {
        Vec::new()
    };
    rules.extend(
        g.rules
            .iter()
            .enumerate()
            .map(|(i, r)| render_rule(r, i + 1, &g.owner.zone)),
    );
    ListSecurityGroupRulesResponse {
        rules,
        extra: Map::new(),
    }
}

/// A security group as the API shows it.
pub fn render(w: &World, g: &SecurityGroup) -> fleet_core::SecurityGroup {
    let mut servers: Vec<&super::Server> = w
        .servers
        .values()
        .filter(|s| s.security_group == g.id)
        .collect();
    servers.sort_by_key(|s| s.seq);
    fleet_core::SecurityGroup {
        id: g.id.to_string(),
        creation_date: Some(ts(g.created)),
        modification_date: Some(ts(g.modified)),
        name: g.name.clone(),
        description: g.description.clone(),
        organization: g.owner.organization.clone(),
        project: g.owner.project.clone(),
        servers: servers.iter().map(|s| summary(s.id, &s.name)).collect(),
        stateful: g.stateful,
        inbound_default_policy: g.inbound.as_str().into(),
        outbound_default_policy: g.outbound.as_str().into(),
        organization_default: Some(g.organization_default),
        project_default: g.project_default,
        enable_default_security: g.enable_default_security,
        state: g.state.as_str().into(),
        tags: g.tags.clone(),
        zone: zone(&g.owner.zone),
        extra: Map::new(),
    }
}

fn wrap(security_group: fleet_core::SecurityGroup) -> SecurityGroupResponse {
    SecurityGroupResponse {
        security_group,
        extra: Map::new(),
    }
}

/// Look a group up for the caller.
pub fn get<'a>(w: &'a World, ctx: &Ctx, id: Uuid) -> ApiResult<&'a SecurityGroup> {
    w.security_groups
        .get(&id)
        .filter(|g| visible(ctx, &g.owner))
        .ok_or_else(|| Error::not_found("instance_security_group", id.to_string()))
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

/// `GET security_groups`.
pub fn list(w: &World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
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
    list_response(req, items, "/security_groups", |security_groups| {
        ListSecurityGroupsResponse {
            security_groups,
            extra: Map::new(),
        }
    })
}

/// `GET security_groups/default/rules`.
pub fn list_default_rules(ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    list_response(
        req,
        default_rules(&ctx.zone),
        "/security_groups/default/rules",
        |rules| ListSecurityGroupRulesResponse {
            rules,
            extra: Map::new(),
        },
    )
}

/// `GET security_groups/{id}`.
pub fn get_one(w: &World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    Ok(Resp::ok(wrap(render(w, get(w, ctx, id)?))))
}

/// `DELETE security_groups/{id}`, refused while a server uses it.
pub fn delete(w: &mut World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    get(w, ctx, id)?;
    if w.servers.values().any(|s| s.security_group == id) {
        return Err(Error::from(ApiError::precondition_failed_with(
            PreconditionFailedKind::ResourceStillInUse,
            "Group is in use. You cannot delete it.",
        )));
    }
    w.security_groups.remove(&id);
    Ok(Resp::no_content())
}

/// `GET security_groups/{id}/rules`: paged by `page`/`per_page` like every
/// Instance list, but without X-Total-Count/Link (as observed), so the
/// SDKs' pagers end on the empty page past the last rule.
pub fn list_rules(w: &World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let rules = all_rules(get(w, ctx, id)?).rules;
    untotalled_list_response(req, rules, |rules| ListSecurityGroupRulesResponse {
        rules,
        extra: Map::new(),
    })
}

const POLICIES: [&str; 3] = ["unknown_policy", "accept", "drop"];

fn policy(name: &str, v: Option<SecurityGroupPolicy>) -> ApiResult<Option<String>> {
    Ok(one_of(name, v, &POLICIES)?
        .map(|p| p.to_string())
        .filter(|p| p != "unknown_policy"))
}

pub fn create(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body: CreateSecurityGroupRequest = req.decode()?;
    let owner = w.owner_for_create(ctx, body.project.as_deref(), body.organization.as_deref())?;
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
    let project_default = body
        .project_default
        .or(body.organization_default)
        .unwrap_or(false);
    let inbound = policy("inbound_default_policy", body.inbound_default_policy)?;
    let outbound = policy("outbound_default_policy", body.outbound_default_policy)?;
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
        name: non_empty(body.name).unwrap_or_else(|| "sg-emulated".into()),
        description: non_empty(body.description),
        stateful: body.stateful.unwrap_or(true),
        inbound: inbound.unwrap_or_else(|| "accept".into()),
        outbound: outbound.unwrap_or_else(|| "accept".into()),
        organization_default: project_default && owner.project == owner.organization,
        project_default,
        enable_default_security: body.enable_default_security.unwrap_or(true),
        state: "available".into(),
        tags: body.tags.unwrap_or_default(),
        rules: Vec::new(),
        created: ctx.now,
        modified: ctx.now,
        seq,
        owner,
    };
    let out = wrap(render(w, &g));
    w.security_groups.insert(id, g);
    Ok(Resp::created(out, Some(format!("/security_groups/{id}"))))
}

pub fn update(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    // PUT sends the whole object; only its writable fields (the PATCH
    // ones) matter.
    let raw = req.json()?;
    let clears_description = raw.is_null("description");
    let body: UpdateSecurityGroupRequest = crate::http::decode(raw.0)?;
    let mut g = get(w, ctx, id)?.clone();
    if let Some(n) = non_empty(body.name) {
        g.name = n;
    }
    if clears_description || body.description.is_some() {
        g.description = non_empty(body.description);
    }
    if let Some(b) = body.stateful {
        g.stateful = b;
    }
    if let Some(b) = body.enable_default_security {
        g.enable_default_security = b;
    }
    if let Some(p) = policy("inbound_default_policy", body.inbound_default_policy)? {
        g.inbound = p;
    }
    if let Some(p) = policy("outbound_default_policy", body.outbound_default_policy)? {
        g.outbound = p;
    }
    if let Some(t) = body.tags {
        g.tags = t;
    }
    if let Some(pd) = body.project_default.or(body.organization_default) {
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
    let out = wrap(render(w, &g));
    w.security_groups.insert(id, g);
    Ok(Resp::ok(out))
}

/// Normalise a CIDR: host ranges lose their prefix (`8.8.8.8/32` → `8.8.8.8`).
fn normalise_range(s: &str) -> ApiResult<String> {
    let bad = || {
        Error::invalid(ArgDetail::format(
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

/// The rule fields of the three rule bodies (create, update, and an entry
/// of set-rules), so one function validates and merges them all.
struct RuleInput {
    protocol: Option<SecurityGroupRuleProtocol>,
    direction: Option<SecurityGroupRuleDirection>,
    action: Option<SecurityGroupRuleAction>,
    ip_range: Option<String>,
    /// Absent keeps the current port, `null` or `0` unsets it.
    dest_port_from: Maybe<u32>,
    dest_port_to: Maybe<u32>,
    position: Option<u32>,
}

/// `Option` ports come from bodies where `null` means "not given".
fn port_of(v: Option<u32>) -> Maybe<u32> {
    v.map_or(Maybe::Absent, Maybe::Value)
}

impl From<CreateSecurityGroupRuleRequest> for RuleInput {
    fn from(r: CreateSecurityGroupRuleRequest) -> Self {
        Self {
            protocol: r.protocol,
            direction: r.direction,
            action: r.action,
            ip_range: r.ip_range,
            dest_port_from: port_of(r.dest_port_from),
            dest_port_to: port_of(r.dest_port_to),
            position: r.position,
        }
    }
}

impl From<UpdateSecurityGroupRuleRequest> for RuleInput {
    fn from(r: UpdateSecurityGroupRuleRequest) -> Self {
        Self {
            protocol: r.protocol,
            direction: r.direction,
            action: r.action,
            ip_range: r.ip_range,
            dest_port_from: port_of(r.dest_port_from),
            dest_port_to: port_of(r.dest_port_to),
            position: r.position,
        }
    }
}

impl From<SetSecurityGroupRulesRequestRule> for RuleInput {
    fn from(r: SetSecurityGroupRulesRequestRule) -> Self {
        Self {
            protocol: r.protocol,
            direction: r.direction,
            action: r.action,
            ip_range: r.ip_range,
            dest_port_from: r.dest_port_from,
            dest_port_to: r.dest_port_to,
            position: r.position,
        }
    }
}

/// Build a rule, merging onto `base` when updating.
fn rule_from(o: &RuleInput, base: Option<&Rule>, id: Uuid) -> ApiResult<Rule> {
    fn pick<E: std::fmt::Display + Clone>(
        k: &str,
        v: &Option<E>,
        allowed: &[&str],
        cur: Option<&String>,
    ) -> ApiResult<String> {
        match one_of(k, v.clone(), allowed)?
            .map(|v| v.to_string())
            .filter(|v| !v.starts_with("unknown_"))
        {
            Some(v) => Ok(v),
            None => cur
                .cloned()
                .ok_or_else(|| Error::invalid(ArgDetail::required(k))),
        }
    }
    let protocol = pick(
        "protocol",
        &o.protocol,
        &["unknown_protocol", "TCP", "UDP", "ICMP", "ANY"],
        base.map(|b| &b.protocol),
    )?;
    let direction = pick(
        "direction",
        &o.direction,
        &["unknown_direction", "inbound", "outbound"],
        base.map(|b| &b.direction),
    )?;
    let action = pick(
        "action",
        &o.action,
        &["unknown_action", "accept", "drop"],
        base.map(|b| &b.action),
    )?;
    let ip_range = match o.ip_range.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => normalise_range(r)?,
        None => base
            .map(|b| b.ip_range.clone())
            .ok_or_else(|| Error::invalid(ArgDetail::required("ip_range")))?,
    };
    let port = |k: &str, v: &Maybe<u32>, cur: Option<u32>| -> ApiResult<Option<u32>> {
        match v {
            Maybe::Absent => Ok(cur),
            Maybe::Null | Maybe::Value(0) => Ok(None),
            Maybe::Value(p) if *p <= 65535 => Ok(Some(*p)),
            Maybe::Value(_) => Err(Error::invalid(ArgDetail::constraint(
                k,
                "port must be between 1 and 65535",
            ))),
        }
    };
    let mut from = port(
        "dest_port_from",
        &o.dest_port_from,
        base.and_then(|b| b.dest_port_from),
    )?;
    let mut to = port(
        "dest_port_to",
        &o.dest_port_to,
        base.and_then(|b| b.dest_port_to),
    )?;
    if matches!(protocol.as_str(), "ICMP" | "ANY") {
        from = None;
        to = None;
    }
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            return Err(Error::invalid(ArgDetail::constraint(
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
fn insert_at(rules: &mut Vec<Rule>, r: Rule, position: Option<u32>) {
    let idx = match position {
        Some(p) if p >= 1 => usize::try_from(p - 1)
            .unwrap_or(usize::MAX)
            .min(rules.len()),
        _ => rules.len(),
    };
    rules.insert(idx, r);
}

pub fn create_rule(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body: RuleInput = req.decode::<CreateSecurityGroupRuleRequest>()?.into();
    get(w, ctx, id)?;
    let rid = w.new_id();
    let r = rule_from(&body, None, rid)?;
    let pos = body.position;
    let g = w
        .security_groups
        .get_mut(&id)
        .ok_or_else(|| Error::not_found("instance_security_group", id.to_string()))?;
    insert_at(&mut g.rules, r, pos);
    g.modified = ctx.now;
    let out = rule_json(g, rid)?;
    syncing(w, ctx, id);
    Ok(Resp::created(
        out,
        Some(format!("/security_groups/{id}/rules/{rid}")),
    ))
}

fn rule_json(g: &SecurityGroup, rid: Uuid) -> ApiResult<SecurityGroupRuleResponse> {
    g.rules
        .iter()
        .enumerate()
        .find(|(_, r)| r.id == rid)
        .map(|(i, r)| SecurityGroupRuleResponse {
            rule: render_rule(r, i + 1, &g.owner.zone),
            extra: Map::new(),
        })
        .ok_or_else(|| Error::not_found("instance_security_group_rule", rid.to_string()))
}

pub fn set_rules(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body: SetSecurityGroupRulesRequest = req.decode()?;
    let g = get(w, ctx, id)?.clone();
    let mut next: Vec<(u32, usize, Rule)> = Vec::new();
    for (i, r) in body.rules.unwrap_or_default().into_iter().enumerate() {
        // Non-editable (default) rules are ignored, as documented.
        if r.editable.value() == Some(&false) {
            continue;
        }
        let rid = r.id.value().filter(|s| !s.is_empty()).cloned();
        if rid.as_deref().is_some_and(is_default_rule) {
            continue;
        }
        let input = RuleInput::from(r);
        let rule = match rid {
            Some(rid) => {
                let rid = parse_uuid(&rid).ok_or_else(|| {
                    Error::invalid(ArgDetail::format(
                        format!("rules.{i}.id"),
                        "not a valid UUID",
                    ))
                })?;
                let base = g.rules.iter().find(|r| r.id == rid).ok_or_else(|| {
                    Error::not_found("instance_security_group_rule", rid.to_string())
                })?;
                rule_from(&input, Some(base), rid)?
            }
            None => rule_from(&input, None, w.new_id())?,
        };
        let pos = input.position.filter(|p| *p > 0).unwrap_or(u32::MAX);
        next.push((pos, i, rule));
    }
    next.sort_by_key(|(p, i, _)| (*p, *i));
    let g = w
        .security_groups
        .get_mut(&id)
        .ok_or_else(|| Error::not_found("instance_security_group", id.to_string()))?;
    g.rules = next.into_iter().map(|(_, _, r)| r).collect();
    g.modified = ctx.now;
    let out = all_rules(g);
    syncing(w, ctx, id);
    Ok(Resp::ok(out))
}

/// Rule changes are pushed to the hypervisors: the group shows `syncing`
/// for one transition, then `available` again (reference §5, "briefly
/// `syncing` after rule changes").
fn syncing(w: &mut World, ctx: &Ctx, id: Uuid) {
    if let Some(g) = w.security_groups.get_mut(&id) {
        g.state = "syncing".into();
    }
    let t = w.transition;
    w.schedule(ctx.instant, t, Event::SecurityGroupAvailable(id));
}

/// One rule: `GET`, `PATCH` / `PUT` (the whole rule; its writable fields
/// are the PATCH ones) or `DELETE`; default rules are read-only.
pub fn rule(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid, rid: &str) -> ApiResult<Resp> {
    let g = get(w, ctx, id)?;
    if is_default_rule(rid) {
        let zone = g.owner.zone.clone();
        return match req.method {
            Method::Get => default_rules(&zone)
                .into_iter()
                .find(|r| r.id == rid)
                .map(|rule| {
                    Resp::ok(SecurityGroupRuleResponse {
                        rule,
                        extra: Map::new(),
                    })
                })
                .ok_or_else(|| Error::not_found("instance_security_group_rule", rid.to_owned())),
            _ => Err(Error::invalid(ArgDetail::constraint(
                "security_group_rule_id",
                "default rules are not editable",
            ))),
        };
    }
    let rid = parse_uuid(rid).ok_or_else(|| {
        Error::invalid(ArgDetail::format(
            "security_group_rule_id",
            "not a valid UUID",
        ))
    })?;
    let base = g
        .rules
        .iter()
        .find(|r| r.id == rid)
        .cloned()
        .ok_or_else(|| Error::not_found("instance_security_group_rule", rid.to_string()))?;
    match req.method {
        Method::Get => Ok(Resp::ok(rule_json(g, rid)?)),
        Method::Patch | Method::Put => {
            let body: RuleInput = req.decode::<UpdateSecurityGroupRuleRequest>()?.into();
            let r = rule_from(&body, Some(&base), rid)?;
            let pos = body.position.filter(|p| *p > 0);
            let g = w
                .security_groups
                .get_mut(&id)
                .ok_or_else(|| Error::not_found("instance_security_group", id.to_string()))?;
            let cur = g.rules.iter().position(|x| x.id == rid).unwrap_or(0);
            g.rules.retain(|x| x.id != rid);
            let cur = u32::try_from(cur).unwrap_or(u32::MAX - 1);
            insert_at(&mut g.rules, r, Some(pos.unwrap_or(cur + 1)));
            g.modified = ctx.now;
            let out = rule_json(g, rid)?;
            syncing(w, ctx, id);
            Ok(Resp::ok(out))
        }
        Method::Delete => {
            let g = w
                .security_groups
                .get_mut(&id)
                .ok_or_else(|| Error::not_found("instance_security_group", id.to_string()))?;
            g.rules.retain(|x| x.id != rid);
            g.modified = ctx.now;
            syncing(w, ctx, id);
            Ok(Resp::no_content())
        }
        _ => Err(Error::method_not_allowed()),
    }
}
