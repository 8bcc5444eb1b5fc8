//! Servers: create with the volume rules, get/list/update/delete, the action
//! state machine (`poweron`, `poweroff`, `stop_in_place`, `reboot`,
//! `terminate`, `backup`, `enable_routed_ip`), user data, volume and
//! filesystem attachment, compatible types.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use fleet_core::{
    AttachServerFileSystemRequest, AttachServerVolumeRequest, CreateServerRequest,
    DetachServerVolumeRequest, GetServerCompatibleTypesResponse, ListServerActionsResponse,
    ListServerUserDataResponse, ListServersResponse, Maybe, SecurityGroupSummary, ServerAction,
    ServerActionRequest, ServerFilesystem, ServerIp, ServerIpIpFamily, ServerIpProvisioningMode,
    ServerIpState, ServerLocation, ServerResponse, TaskResponse, UpdateServerRequest, VolumeServer,
    VolumeServerTemplate,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{Ctx, Event, Owner, World, path_id, task, ts, visible, zone};
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::{Body, Req, Resp, non_empty, one_of, uuid_arg};
use crate::pagination::list_response;
use crate::util::{backup_stamp, parse_uuid};

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
    /// `local`, `bootscript` or `rescue`.
    pub boot_type: String,
    /// The embedded image object, when created from one.
    pub image: Option<fleet_core::Image>,
    /// Attached volumes by index.
    pub volumes: BTreeMap<u32, Uuid>,
    /// Tags.
    pub tags: Vec<String>,
    /// State (`stopped in place` has spaces).
    pub state: String,
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

/// A scheduled step of a server action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// `starting`, "provisioning node".
    Provisioning,
    /// → `running`.
    Running,
    /// → `stopped`.
    Stopped,
    /// → `stopped in place`.
    StoppedInPlace,
    /// Reboot: `stopping` → `starting`.
    RebootStarting,
    /// Terminate done: delete.
    Terminated,
}

/// Actions allowed in a state (as observed).
pub fn allowed_actions(state: &str) -> &'static [&'static str] {
    match state {
        "stopped" => &["poweron", "backup"],
        "running" => &["poweroff", "terminate", "reboot", "stop_in_place", "backup"],
        "starting" | "stopping" => &["stop_in_place", "backup"],
        "stopped in place" => &["poweron", "poweroff", "terminate", "reboot", "backup"],
        _ => &[],
    }
}

const ACTIONS: [&str; 7] = [
    "poweron",
    "poweroff",
    "stop_in_place",
    "reboot",
    "terminate",
    "backup",
    "enable_routed_ip",
];

/// A server as the API shows it.
pub fn render(w: &World, s: &Server) -> fleet_core::Server {
    let volumes: BTreeMap<String, VolumeServer> = s
        .volumes
        .iter()
        .filter_map(|(idx, vid)| {
            w.volumes
                .get(vid)
                .map(|v| (idx.to_string(), super::volumes::render_in_server(v, s)))
        })
        .collect();
    let mut public_ips: Vec<ServerIp> = s
        .public_ips
        .iter()
        .filter_map(|id| w.ips.get(id))
        .map(super::ips::render_server_ip)
        .collect();
    if let Some((id, addr)) = &s.dynamic_ip {
        public_ips.push(ServerIp {
            id: id.to_string(),
            address: addr.clone(),
            dynamic: true,
            gateway: Some("62.210.0.1".into()),
            netmask: "32".into(),
            family: ServerIpIpFamily::Inet,
            provisioning_mode: ServerIpProvisioningMode::Dhcp,
            tags: Vec::new(),
            state: ServerIpState::Attached,
            ipam_id: Some(id.to_string()),
            extra: Map::new(),
        });
    }
    let public_ip = public_ips
        .iter()
        .find(|ip| ip.family == ServerIpIpFamily::Inet)
        .cloned();
    let security_group = w
        .security_groups
        .get(&s.security_group)
        .map(|g| SecurityGroupSummary {
            id: g.id.to_string(),
            name: g.name.clone(),
            extra: Map::new(),
        });
    let placement_group = s
        .placement_group
        .and_then(|id| w.placement_groups.get(&id))
        .map(super::placement_groups::render);
    let mut nics: Vec<&super::PrivateNic> = w
        .private_nics
        .values()
        .filter(|n| n.server == s.id)
        .collect();
    nics.sort_by_key(|n| n.seq);
    let end_of_service = w
        .catalog
        .server_type(&s.owner.zone, &s.commercial_type)
        .and_then(|t| t.get("end_of_service"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let state = if w.locked.contains(&s.id) {
        "locked"
    } else {
        s.state.as_str()
    };
    // Windows servers get an encrypted admin password once booted; the
    // value appears only once set (observed), never as null.
    let encrypted = match &s.admin_key {
        Some(_) if s.state == "running" => {
            Maybe::Value(format!("emulated-encrypted-password-{}", s.id.simple()))
        }
        _ => Maybe::Absent,
    };
    fleet_core::Server {
        id: s.id.to_string(),
        name: s.name.clone(),
        arch: s.arch.as_str().into(),
        commercial_type: s.commercial_type.clone(),
        boot_type: s.boot_type.as_str().into(),
        organization: s.owner.organization.clone(),
        project: s.owner.project.clone(),
        hostname: s.hostname.clone(),
        image: s.image.clone(),
        volumes,
        tags: s.tags.clone(),
        state: state.into(),
        protected: s.protected,
        state_detail: s.state_detail.clone(),
        public_ip,
        public_ips,
        mac_address: s.mac_address.clone(),
        routed_ip_enabled: Some(s.routed_ip_enabled),
        ipv6: None,
        extra_networks: Vec::new(),
        dynamic_ip_required: s.dynamic_ip_required,
        enable_ipv6: Some(s.enable_ipv6),
        private_ip: None,
        creation_date: Some(ts(s.created)),
        modification_date: Some(ts(s.modified)),
        bootscript: None,
        security_group,
        location: s.location.clone(),
        maintenances: Vec::new(),
        allowed_actions: allowed_actions(state)
            .iter()
            .map(|a| ServerAction::from(*a))
            .collect(),
        placement_group,
        private_nics: nics
            .iter()
            .map(|n| super::private_nics::render(n))
            .collect(),
        zone: zone(&s.owner.zone),
        filesystems: s
            .filesystems
            .iter()
            .map(|(id, st)| ServerFilesystem {
                filesystem_id: id.clone(),
                state: st.as_str().into(),
                extra: Map::new(),
            })
            .collect(),
        end_of_service,
        admin_password_encryption_ssh_key_id: s
            .admin_key
            .clone()
            .map_or(Maybe::Absent, Maybe::Value),
        admin_password_encrypted_value: encrypted,
        dns: if s.routed_ip_enabled {
            Maybe::Value(format!("{}.pub.instances.scw.cloud", s.id))
        } else {
            Maybe::Null
        },
        extra: Map::new(),
    }
}

fn wrap(w: &World, s: &Server) -> ServerResponse {
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

fn get_mut<'a>(w: &'a mut World, ctx: &Ctx, id: Uuid) -> ApiResult<&'a mut Server> {
    w.servers
        .get_mut(&id)
        .filter(|s| visible(ctx, &s.owner))
        .ok_or_else(|| Error::not_found("instance_server", id.to_string()))
}

/// Routes under `servers`.
pub fn route(w: &mut World, ctx: &Ctx, req: &Req, m: &str, segs: &[&str]) -> ApiResult<Resp> {
    match (m, segs) {
        ("GET", []) => list(w, ctx, req),
        ("POST", []) => create(w, ctx, req),
        (_, [id, rest @ ..]) => {
            let id = path_id(id, "server_id")?;
            match (m, rest) {
                ("GET", []) => Ok(Resp::ok(wrap(w, get(w, ctx, id)?))),
                ("PATCH", []) | ("PUT", []) => update(w, ctx, req, id, m == "PUT"),
                ("DELETE", []) => delete(w, ctx, id),
                ("GET", ["action"]) => {
                    let s = get(w, ctx, id)?;
                    let state = if w.locked.contains(&id) {
                        "locked"
                    } else {
                        s.state.as_str()
                    };
                    Ok(Resp::ok(ListServerActionsResponse {
                        actions: allowed_actions(state)
                            .iter()
                            .map(|a| ServerAction::from(*a))
                            .collect(),
                        extra: Map::new(),
                    }))
                }
                ("POST", ["action"]) => action(w, ctx, req, id),
                ("GET", ["compatible-types"]) => compatible_types(w, ctx, id),
                ("GET", ["user_data"]) => {
                    let s = get(w, ctx, id)?;
                    Ok(Resp::ok(ListServerUserDataResponse {
                        user_data: s.user_data.keys().cloned().collect(),
                        extra: Map::new(),
                    }))
                }
                (_, ["user_data", key]) => user_data(w, ctx, req, m, id, key),
                ("POST", ["attach-volume"]) => attach_volume(w, ctx, req, id),
                ("POST", ["detach-volume"]) => detach_volume(w, ctx, req, id),
                ("POST", ["attach-filesystem"]) => filesystem(w, ctx, req, id, true),
                ("POST", ["detach-filesystem"]) => filesystem(w, ctx, req, id, false),
                (_, ["private_nics", rest @ ..]) => {
                    super::private_nics::route(w, ctx, req, m, id, rest)
                }
                _ => Err(Error::unknown_route()),
            }
        }
        _ => Err(Error::unknown_route()),
    }
}

fn list(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
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
        .filter(|s| state.is_none_or(|st| s.state == st))
        .filter(|s| ctype.is_none_or(|t| s.commercial_type == t))
        .filter(|s| ids.is_empty() || ids.contains(&s.id.to_string()))
        .filter(|s| {
            pns.is_empty()
                || w.private_nics
                    .values()
                    .any(|n| n.server == s.id && pns.contains(&n.private_network_id))
        })
        .filter(|s| {
            mac.is_none_or(|m| {
                w.private_nics
                    .values()
                    .any(|n| n.server == s.id && n.mac_address == m)
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

/// A planned volume of a server being created.
struct PlannedVolume {
    idx: u32,
    existing: Option<Uuid>,
    kind: String,
    size: u64,
    name: String,
    boot: bool,
}

fn type_u64(t: &Value, ptr: &str) -> u64 {
    t.pointer(ptr).and_then(Value::as_u64).unwrap_or(0)
}

/// Enforce the type's local-storage constraints on the planned volumes.
fn check_local_constraints(
    w: &World,
    zone: &str,
    ctype: &str,
    vols: &[(String, u64)],
) -> ApiResult<()> {
    let Some(t) = w.catalog.server_type(zone, ctype) else {
        return Ok(());
    };
    let local: Vec<u64> = vols
        .iter()
        .filter(|(k, _)| k == "l_ssd")
        .map(|(_, s)| *s)
        .collect();
    let scratch: Vec<u64> = vols
        .iter()
        .filter(|(k, _)| k == "scratch")
        .map(|(_, s)| *s)
        .collect();
    let max_total = type_u64(t, "/volumes_constraint/max_size");
    let min_total = type_u64(t, "/volumes_constraint/min_size");
    if !local.is_empty() {
        let total: u64 = local.iter().sum();
        // Types without local storage still accept an l_ssd root of the
        // image's size (observed), so only types with a budget are checked.
        if max_total > 0 && (total > max_total || total < min_total) {
            return Err(Error::invalid(ArgDetail::constraint(
                "volumes",
                format!(
                    "the total size of local volumes must be between {} GB and {} GB, got {} GB",
                    min_total / 1_000_000_000,
                    max_total / 1_000_000_000,
                    total / 1_000_000_000
                ),
            )));
        }
        let pmin = type_u64(t, "/per_volume_constraint/l_ssd/min_size");
        let pmax = type_u64(t, "/per_volume_constraint/l_ssd/max_size");
        if let Some(bad) = local
            .iter()
            .find(|s| (pmax > 0 && **s > pmax) || **s < pmin)
        {
            return Err(Error::invalid(ArgDetail::constraint(
                "volumes",
                format!(
                    "local volume size {} GB is out of bounds [{} GB, {} GB]",
                    bad / 1_000_000_000,
                    pmin / 1_000_000_000,
                    pmax / 1_000_000_000
                ),
            )));
        }
    }
    if !scratch.is_empty() {
        let max = type_u64(t, "/scratch_storage_max_size");
        if max == 0 || scratch.iter().sum::<u64>() > max {
            return Err(Error::invalid(ArgDetail::constraint(
                "volumes",
                format!("scratch storage exceeds what {ctype} offers"),
            )));
        }
    }
    Ok(())
}

const BOOT_TYPES: [&str; 3] = ["local", "bootscript", "rescue"];

/// A `volumes` key of a server body: a decimal index.
fn volume_index(k: &str) -> ApiResult<u32> {
    k.parse().map_err(|_| {
        Error::invalid(ArgDetail::format(
            "volumes",
            format!("volume key {k:?} is not an index"),
        ))
    })
}

fn create(w: &mut World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let body: CreateServerRequest = req.decode()?;
    let ctype = non_empty(body.commercial_type.clone());
    let image_ref = non_empty(body.image.clone());
    let vol_tpl = body.volumes.clone();
    let mut missing = Vec::new();
    if ctype.is_none() {
        missing.push(ArgDetail::required("commercial_type"));
    }
    if image_ref.is_none() && vol_tpl.as_ref().is_none_or(|v| v.is_empty()) {
        missing.push(ArgDetail::required("image"));
        missing.push(ArgDetail::required("volumes"));
    }
    let Some(ctype) = ctype.filter(|_| missing.is_empty()) else {
        return Err(Error::invalid_all(missing));
    };
    let owner = w.owner_for_create(ctx, body.project.as_deref(), body.organization.as_deref())?;
    let count = w
        .servers
        .values()
        .filter(|s| visible(ctx, &s.owner))
        .count();
    w.check_quota(ctx, "instance_servers", count, w.quotas.servers)?;
    let ty = w
        .catalog
        .server_type(&ctx.zone, &ctype)
        .cloned()
        .ok_or_else(|| {
            Error::invalid(ArgDetail::constraint(
                "commercial_type",
                format!("{ctype:?} is not a valid commercial type in {}", ctx.zone),
            ))
        })?;
    if w.out_of_stock.contains(&(ctx.zone.clone(), ctype.clone())) {
        return Err(Error::out_of_stock(&ctype));
    }
    let arch = ty
        .get("arch")
        .and_then(Value::as_str)
        .unwrap_or("x86_64")
        .to_owned();
    let name = non_empty(body.name.clone()).unwrap_or_else(|| "srv-emulated".to_owned());
    let boot_type = one_of("boot_type", body.boot_type.clone(), &BOOT_TYPES)?
        .map_or_else(|| "local".to_owned(), |b| b.to_string());
    let tags = body.tags.clone().unwrap_or_default();

    // Image: a UUID (tenant or public image) or a label (`ubuntu_noble`).
    let image: Option<fleet_core::Image> = match &image_ref {
        None => None,
        Some(r) => Some(match parse_uuid(r) {
            Some(id) => super::images::lookup(w, ctx, id)
                .ok_or_else(|| Error::not_found("instance_image", r.clone()))?,
            None => w
                .catalog
                .resolve_label(&ctx.zone, r, &ctype)
                .and_then(super::images::from_catalog)
                .ok_or_else(|| {
                    Error::invalid(ArgDetail::constraint(
                        "image",
                        format!("no image with label {r:?} for {ctype} in {}", ctx.zone),
                    ))
                })?,
        }),
    };

    // Volumes: the image's root unless templated otherwise, then the template entries.
    let mut tpl: Vec<(u32, VolumeServerTemplate)> = Vec::new();
    for (k, o) in vol_tpl.unwrap_or_default() {
        tpl.push((volume_index(&k)?, o));
    }
    tpl.sort_by_key(|(i, _)| *i);
    let local_cap = type_u64(&ty, "/volumes_constraint/max_size");
    let mut planned: Vec<PlannedVolume> = Vec::new();
    let root_tpl = tpl.iter().find(|(i, _)| *i == 0).map(|(_, o)| o.clone());
    for (idx, o) in &tpl {
        let path = format!("volumes.{idx}");
        let vt = one_of(
            &format!("{path}.volume_type"),
            o.volume_type.clone(),
            &["l_ssd", "b_ssd", "scratch", "sbs_volume", "unified"],
        )?
        .map(|t| t.to_string());
        let boot = o.boot.unwrap_or(false);
        if let Some(vid) = uuid_arg(o.id.as_deref(), &format!("{path}.id"))? {
            if vt.as_deref() == Some("sbs_volume") {
                super::volumes::adopt_external_sbs(w, ctx, &owner, vid)?;
            }
            let v = w
                .volumes
                .get(&vid)
                .filter(|v| visible(ctx, &v.owner))
                .ok_or_else(|| Error::not_found("instance_volume", vid.to_string()))?;
            if v.server.is_some() {
                return Err(Error::invalid(ArgDetail::constraint(
                    format!("{path}.id"),
                    "volume is already attached to a server",
                )));
            }
            planned.push(PlannedVolume {
                idx: *idx,
                existing: Some(vid),
                kind: v.kind.clone(),
                size: v.size,
                name: v.name.clone(),
                boot,
            });
            continue;
        }
        if let Some(sid) = uuid_arg(o.base_snapshot.as_deref(), &format!("{path}.base_snapshot"))? {
            let s = w
                .snapshots
                .get(&sid)
                .filter(|s| visible(ctx, &s.owner))
                .ok_or_else(|| Error::not_found("instance_snapshot", sid.to_string()))?;
            let kind = vt.unwrap_or_else(|| {
                if s.volume_type == "sbs_snapshot" {
                    "sbs_volume".into()
                } else {
                    s.volume_type.clone()
                }
            });
            let size = o.size.unwrap_or(s.size).max(s.size);
            let name = non_empty(o.name.clone()).unwrap_or_else(|| s.name.clone());
            planned.push(PlannedVolume {
                idx: *idx,
                existing: None,
                kind,
                size,
                name,
                boot,
            });
            continue;
        }
        if *idx == 0 && image.is_some() {
            continue; // root from the image, handled below with this template's overrides
        }
        let kind = vt.unwrap_or_else(|| "l_ssd".into());
        let size = o
            .size
            .ok_or_else(|| Error::invalid(ArgDetail::required(format!("{path}.size"))))?;
        if !size.is_multiple_of(512) {
            return Err(Error::invalid(ArgDetail::constraint(
                format!("{path}.size"),
                "must be a multiple of 512",
            )));
        }
        let name = non_empty(o.name.clone()).unwrap_or_else(|| format!("{name}-vol-{idx}"));
        planned.push(PlannedVolume {
            idx: *idx,
            existing: None,
            kind,
            size,
            name,
            boot,
        });
    }
    if let Some(img) = &image {
        let root_planned = planned.iter().any(|p| p.idx == 0);
        if !root_planned {
            let root_kind = img
                .root_volume
                .as_ref()
                .map_or("l_ssd", |r| r.volume_type.as_str());
            let root_size = img.root_volume.as_ref().map_or(0, |r| r.size);
            let img_name = img.name.clone();
            let o = root_tpl.unwrap_or_default();
            let want = one_of(
                "volumes.0.volume_type",
                o.volume_type.clone(),
                &["l_ssd", "b_ssd", "scratch", "sbs_volume"],
            )?
            .map(|t| t.to_string());
            let other_local: u64 = planned
                .iter()
                .filter(|p| p.kind == "l_ssd")
                .map(|p| p.size)
                .sum();
            let kind = want.unwrap_or_else(|| {
                if root_kind == "sbs_snapshot" {
                    "sbs_volume".into()
                } else {
                    // Observed: an l_ssd image on a type without local
                    // storage (PRO2-XXS) still gets an l_ssd root of the
                    // image's size.
                    "l_ssd".into()
                }
            });
            let default_size = match kind.as_str() {
                "l_ssd" if local_cap > 0 => local_cap.saturating_sub(other_local).max(root_size),
                "l_ssd" => root_size.max(10_000_000_000),
                _ => root_size.max(10_000_000_000),
            };
            let size = o.size.unwrap_or(default_size);
            if size < root_size {
                return Err(Error::invalid(ArgDetail::constraint(
                    "volumes.0.size",
                    format!("size must be at least {root_size} bytes (the image's root volume)"),
                )));
            }
            let vname = if kind == "sbs_volume" {
                format!("{img_name}_sbs_volume_0")
            } else {
                img_name
            };
            planned.push(PlannedVolume {
                idx: 0,
                existing: None,
                kind,
                size,
                name: vname,
                boot: o.boot.unwrap_or(false),
            });
        }
    }
    if !planned.iter().any(|p| p.idx == 0) {
        return Err(Error::invalid(ArgDetail::required("volumes.0")));
    }
    let sizes: Vec<(String, u64)> = planned.iter().map(|p| (p.kind.clone(), p.size)).collect();
    check_local_constraints(w, &ctx.zone, &ctype, &sizes)?;

    // IPs.
    let mut ip_ids: Vec<Uuid> = Vec::new();
    for s in body
        .public_ips
        .clone()
        .unwrap_or_default()
        .into_iter()
        .chain(non_empty(body.public_ip.clone()))
    {
        let id = parse_uuid(&s)
            .ok_or_else(|| Error::invalid(ArgDetail::format("public_ips", "not a valid UUID")))?;
        let ip = w
            .ips
            .get(&id)
            .filter(|ip| visible(ctx, &ip.owner))
            .ok_or_else(|| Error::not_found("instance_ip", id.to_string()))?;
        if ip.server.is_some() {
            return Err(Error::invalid(ArgDetail::constraint(
                "public_ips",
                "IP is already attached to a server",
            )));
        }
        if !ip_ids.contains(&id) {
            ip_ids.push(id);
        }
    }
    // Security group and placement group.
    let sg = match non_empty(body.security_group.clone()) {
        Some(s) => {
            let id = parse_uuid(&s).ok_or_else(|| {
                Error::invalid(ArgDetail::format("security_group", "not a valid UUID"))
            })?;
            super::security_groups::get(w, ctx, id)?.id
        }
        None => super::security_groups::ensure_default(w, ctx, &owner),
    };
    let pg = match non_empty(body.placement_group.clone()) {
        Some(s) => Some(resolve_pg(w, ctx, &s)?),
        None => None,
    };

    // Commit.
    let id = w.new_id();
    let seq = w.next_seq();
    let mac = {
        let n = w.next_counter();
        format!(
            "de:00:00:{:02x}:{:02x}:{:02x}",
            (n >> 16) & 0xff,
            (n >> 8) & 0xff,
            n & 0xff
        )
    };
    let mut volumes = BTreeMap::new();
    for p in planned {
        let vid = match p.existing {
            Some(vid) => vid,
            None => {
                let vid = w.new_id();
                let vseq = w.next_seq();
                w.volumes.insert(
                    vid,
                    super::Volume {
                        id: vid,
                        owner: owner.clone(),
                        name: p.name,
                        kind: p.kind,
                        size: p.size,
                        state: "available".into(),
                        server: None,
                        tags: Vec::new(),
                        created: ctx.now,
                        modified: ctx.now,
                        seq: vseq,
                        boot: p.boot,
                    },
                );
                vid
            }
        };
        if let Some(v) = w.volumes.get_mut(&vid) {
            v.server = Some(id);
            v.boot = p.boot;
            v.modified = ctx.now;
        }
        volumes.insert(p.idx, vid);
    }
    for ip in &ip_ids {
        if let Some(ip) = w.ips.get_mut(ip) {
            ip.server = Some(id);
            ip.state = "attached".into();
        }
    }
    let admin_key = non_empty(body.admin_password_encryption_ssh_key_id.clone());
    let server = Server {
        id,
        owner,
        hostname: name.replace('_', "-"),
        name,
        commercial_type: ctype,
        arch,
        boot_type,
        image,
        volumes,
        tags,
        state: "stopped".into(),
        state_detail: String::new(),
        protected: body.protected.unwrap_or(false),
        public_ips: ip_ids,
        dynamic_ip: None,
        mac_address: mac,
        routed_ip_enabled: body.routed_ip_enabled.unwrap_or(true),
        enable_ipv6: body.enable_ipv6.unwrap_or(false),
        dynamic_ip_required: body.dynamic_ip_required.unwrap_or(true),
        created: ctx.now,
        modified: ctx.now,
        seq,
        security_group: sg,
        placement_group: pg,
        filesystems: Vec::new(),
        user_data: BTreeMap::new(),
        generation: 0,
        location: None,
        admin_key,
    };
    let out = wrap(w, &server);
    w.servers.insert(id, server);
    Ok(Resp::created(out, Some(format!("/servers/{id}"))))
}

fn resolve_pg(w: &World, ctx: &Ctx, s: &str) -> ApiResult<Uuid> {
    let id = parse_uuid(s).ok_or_else(|| {
        Error::invalid(ArgDetail::constraint(
            "placement_group",
            "not a valid value",
        ))
    })?;
    Ok(super::placement_groups::get(w, ctx, id)?.id)
}

fn update(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid, is_put: bool) -> ApiResult<Resp> {
    let mut raw = req.json()?.0;
    if is_put {
        // PUT sends the whole server: references are objects there, ids
        // in the PATCH body this handler shares.
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
    let body: UpdateServerRequest = crate::http::decode(raw)?;
    let cur = get(w, ctx, id)?.clone();
    let mut s = cur.clone();
    if let Some(n) = non_empty(body.name) {
        s.name = n;
    }
    if let Some(t) = body.tags {
        s.tags = t;
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
    if let Some(bt) = one_of("boot_type", body.boot_type, &BOOT_TYPES)? {
        s.boot_type = bt.to_string();
    }
    if let Some(k) = body.admin_password_encryption_ssh_key_id {
        s.admin_key = non_empty(Some(k));
    }
    if let Some(ct) = non_empty(body.commercial_type)
        && ct != cur.commercial_type
    {
        if cur.state != "stopped" {
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
    }
    if let Some(sg) = body.security_group {
        let sid = uuid_arg(Some(&sg.id), "security_group.id")?
            .ok_or_else(|| Error::invalid(ArgDetail::required("security_group.id")))?;
        s.security_group = super::security_groups::get(w, ctx, sid)?.id;
    }
    match body.placement_group.as_patch() {
        Some(None) => s.placement_group = None,
        Some(Some(pg)) => s.placement_group = Some(resolve_pg(w, ctx, pg)?),
        None => {}
    }
    let mut new_ips: Option<Vec<Uuid>> = None;
    if let Some(list) = body.public_ips {
        let mut ids = Vec::new();
        for x in list {
            let iid = parse_uuid(&x).ok_or_else(|| {
                Error::invalid(ArgDetail::format("public_ips", "not a valid UUID"))
            })?;
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
        new_ips = Some(ids);
    }
    let mut new_vols: Option<BTreeMap<u32, Uuid>> = None;
    if let Some(vt) = body.volumes {
        let mut map = BTreeMap::new();
        for (k, o) in &vt {
            let idx = volume_index(k)?;
            let vid = uuid_arg(o.id.as_deref(), &format!("volumes.{k}.id"))?
                .ok_or_else(|| Error::invalid(ArgDetail::required(format!("volumes.{k}.id"))))?;
            if o.volume_type.as_ref().map(ToString::to_string).as_deref() == Some("sbs_volume") {
                super::volumes::adopt_external_sbs(w, ctx, &cur.owner, vid)?;
            }
            let vol = w
                .volumes
                .get(&vid)
                .filter(|v| visible(ctx, &v.owner))
                .ok_or_else(|| Error::not_found("instance_volume", vid.to_string()))?;
            if vol.server.is_some_and(|sv| sv != id) {
                return Err(Error::invalid(ArgDetail::constraint(
                    format!("volumes.{k}.id"),
                    "volume is attached to another server",
                )));
            }
            map.insert(idx, vid);
        }
        let sizes: Vec<(String, u64)> = map
            .values()
            .filter_map(|v| w.volumes.get(v))
            .map(|v| (v.kind.clone(), v.size))
            .collect();
        check_local_constraints(w, &ctx.zone, &s.commercial_type, &sizes)?;
        new_vols = Some(map);
    }
    // Commit.
    if let Some(ips) = new_ips {
        for old in &cur.public_ips {
            if !ips.contains(old)
                && let Some(ip) = w.ips.get_mut(old)
            {
                ip.server = None;
                ip.state = "detached".into();
            }
        }
        for n in &ips {
            if let Some(ip) = w.ips.get_mut(n) {
                ip.server = Some(id);
                ip.state = "attached".into();
            }
        }
        s.public_ips = ips;
    }
    if let Some(map) = new_vols {
        for old in cur.volumes.values() {
            if !map.values().any(|v| v == old)
                && let Some(v) = w.volumes.get_mut(old)
            {
                v.server = None;
                v.modified = ctx.now;
            }
        }
        for v in map.values() {
            if let Some(v) = w.volumes.get_mut(v) {
                v.server = Some(id);
            }
        }
        s.volumes = map;
    }
    s.modified = ctx.now;
    let out = wrap(w, &s);
    w.servers.insert(id, s);
    Ok(Resp::ok(out))
}

fn delete(w: &mut World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    let s = get(w, ctx, id)?;
    if s.state != "stopped" {
        if matches!(s.state.as_str(), "starting" | "stopping") {
            return Err(Error::transient_state(
                "instance_server",
                id.to_string(),
                &s.state.clone(),
            ));
        }
        return Err(Error::precondition("server should be stopped"));
    }
    remove_server(w, id, false, ctx.now);
    Ok(Resp::no_content())
}

/// Remove a server; local volumes are deleted on terminate, kept otherwise.
fn remove_server(w: &mut World, id: Uuid, terminate: bool, now: SystemTime) {
    let Some(s) = w.servers.remove(&id) else {
        return;
    };
    for vid in s.volumes.values() {
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
    w.private_nics.retain(|_, n| n.server != id);
}

fn action(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body: ServerActionRequest = req.decode()?;
    let act = body
        .action
        .as_ref()
        .map(ToString::to_string)
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "poweron".into());
    if !ACTIONS.contains(&act.as_str()) {
        return Err(Error::invalid(ArgDetail::constraint(
            "action",
            format!("{act:?} is not a valid action"),
        )));
    }
    let s = get(w, ctx, id)?.clone();
    let allowed = allowed_actions(&s.state).contains(&act.as_str()) || act == "enable_routed_ip";
    if !allowed {
        if matches!(s.state.as_str(), "starting" | "stopping") {
            return Err(Error::transient_state(
                "instance_server",
                id.to_string(),
                &s.state.clone(),
            ));
        }
        let want = if act == "poweron" {
            "stopped"
        } else {
            "running"
        };
        return Err(Error::precondition(format!("server should be {want}")));
    }
    let href_from = format!("/servers/{id}/action");
    let mut href_result = format!("/servers/{id}");
    let t = w.transition;
    let generation = s.generation + 1;
    let now = ctx.instant;
    let set = |w: &mut World, state: &str, detail: &str| {
        if let Some(s) = w.servers.get_mut(&id) {
            s.state = state.into();
            s.state_detail = detail.into();
            s.generation = generation;
            s.modified = ctx.now;
        }
    };
    let ev = |step| Event::Server {
        id,
        generation,
        step,
    };
    if act == "poweron"
        && w.out_of_stock
            .contains(&(s.owner.zone.clone(), s.commercial_type.clone()))
    {
        return Err(Error::out_of_stock(&s.commercial_type));
    }
    match act.as_str() {
        "poweron" => {
            let detail = if s.state == "stopped in place" {
                "stopped in place"
            } else {
                "allocating node"
            };
            set(w, "starting", detail);
            w.schedule(now, t / 2, ev(Step::Provisioning));
            w.schedule(now, t, ev(Step::Running));
        }
        "poweroff" => {
            set(w, "stopping", "stopping");
            w.schedule(now, t, ev(Step::Stopped));
        }
        "stop_in_place" => {
            set(w, "stopping", "stopping in place");
            w.schedule(now, t, ev(Step::StoppedInPlace));
        }
        "reboot" => {
            set(w, "stopping", "rebooting");
            w.schedule(now, t / 2, ev(Step::RebootStarting));
            w.schedule(now, t, ev(Step::Running));
        }
        "terminate" => {
            set(w, "stopping", "terminating");
            for vid in s.volumes.values() {
                if let Some(v) = w.volumes.get_mut(vid)
                    && matches!(v.kind.as_str(), "l_ssd" | "scratch")
                {
                    v.state = "deleting".into();
                }
            }
            w.schedule(now, t, ev(Step::Terminated));
        }
        "backup" => {
            let image_id = backup(w, ctx, &body, &s)?;
            href_result = format!("/images/{image_id}");
        }
        "enable_routed_ip" => {
            if s.routed_ip_enabled {
                return Err(Error::precondition("server is already using routed IPs"));
            }
            if let Some(s) = w.servers.get_mut(&id) {
                s.routed_ip_enabled = true;
                s.enable_ipv6 = false;
                s.modified = ctx.now;
            }
        }
        _ => {}
    }
    let task = task(ctx, Uuid::nil(), "fake task", &href_from, &href_result);
    Ok(Resp::accepted(TaskResponse {
        task,
        extra: Map::new(),
    })
    .with_header("location", format!("/tasks/{}", Uuid::nil())))
}

/// `backup`: an image of the server's (non-scratch) volumes, each snapshotted.
fn backup(w: &mut World, ctx: &Ctx, body: &ServerActionRequest, s: &Server) -> ApiResult<Uuid> {
    let name = non_empty(body.name.clone())
        .unwrap_or_else(|| format!("image_{}_{}", s.name, backup_stamp(ctx.now)));
    let selected: Option<Vec<(Uuid, Option<String>)>> = match &body.volumes {
        None => None,
        Some(o) => {
            let mut v = Vec::new();
            for (k, t) in o {
                let vid = parse_uuid(k).ok_or_else(|| {
                    Error::invalid(ArgDetail::format(
                        "volumes",
                        format!("{k:?} is not a volume UUID"),
                    ))
                })?;
                if !s.volumes.values().any(|x| *x == vid) {
                    return Err(Error::invalid(ArgDetail::constraint(
                        "volumes",
                        format!("volume {vid} is not attached to the server"),
                    )));
                }
                let vt = t
                    .volume_type
                    .as_ref()
                    .map(ToString::to_string)
                    .filter(|t| !t.is_empty());
                v.push((vid, vt));
            }
            Some(v)
        }
    };
    let count = w.images.values().filter(|i| visible(ctx, &i.owner)).count();
    w.check_quota(ctx, "instance_images", count, w.quotas.images)?;
    let image_id = w.new_id();
    let t = w.transition;
    let mut root: Option<Uuid> = None;
    let mut extra: BTreeMap<String, Uuid> = BTreeMap::new();
    let mut n = 0u32;
    for (_, vid) in s.volumes.iter() {
        let Some(v) = w.volumes.get(vid).cloned() else {
            continue;
        };
        if v.kind == "scratch" {
            continue;
        }
        let override_type = match &selected {
            Some(sel) => match sel.iter().find(|(id, _)| id == vid) {
                Some((_, t)) => t.clone(),
                None => continue,
            },
            None => None,
        };
        n += 1;
        let sid = w.new_id();
        let seq = w.next_seq();
        let vt = override_type.unwrap_or_else(|| {
            if v.kind == "sbs_volume" {
                "sbs_snapshot".into()
            } else {
                v.kind.clone()
            }
        });
        w.snapshots.insert(
            sid,
            super::Snapshot {
                id: sid,
                owner: s.owner.clone(),
                name: format!("{name}_snap_{}", n - 1),
                volume_type: vt,
                size: v.size,
                state: "snapshotting".into(),
                base_volume: Some((v.id, v.name.clone())),
                tags: Vec::new(),
                created: ctx.now,
                modified: ctx.now,
                seq,
                error: None,
            },
        );
        w.schedule(ctx.instant, t, Event::SnapshotAvailable(sid));
        if let Some(vm) = w.volumes.get_mut(vid) {
            vm.state = "snapshotting".into();
            vm.modified = ctx.now;
        }
        w.schedule(ctx.instant, t, Event::VolumeAvailable(*vid));
        if root.is_none() {
            root = Some(sid);
        } else {
            extra.insert(extra.len().saturating_add(1).to_string(), sid);
        }
    }
    let Some(root) = root else {
        return Err(Error::precondition(
            "server has no volume that can be backed up",
        ));
    };
    let seq = w.next_seq();
    w.images.insert(
        image_id,
        super::Image {
            id: image_id,
            owner: s.owner.clone(),
            name,
            arch: s.arch.clone(),
            root,
            extra,
            public: false,
            from_server: s.id.to_string(),
            state: "creating".into(),
            tags: Vec::new(),
            created: ctx.now,
            modified: ctx.now,
            seq,
        },
    );
    w.schedule(ctx.instant, t, Event::ImageAvailable(image_id));
    Ok(image_id)
}

/// Apply a scheduled server step.
pub fn apply_step(
    w: &mut World,
    id: Uuid,
    generation: u64,
    step: Step,
    _now: Instant,
    wall: SystemTime,
) {
    let dyn_ip = {
        let n = w.next_counter();
        let r = w.random();
        (
            w.new_id(),
            format!("51.15.{}.{}", (n >> 8) % 250 + 1, (n % 250) + 1),
            r,
        )
    };
    let Some(s) = w.servers.get_mut(&id) else {
        return;
    };
    if s.generation != generation {
        return;
    }
    s.modified = wall;
    match step {
        Step::Provisioning => {
            if s.state_detail == "allocating node" {
                s.state_detail = "provisioning node".into();
            }
        }
        Step::RebootStarting => {
            s.state = "starting".into();
            s.state_detail = "rebooting".into();
        }
        Step::Running => {
            s.state = "running".into();
            s.state_detail = "booting kernel".into();
            let r = dyn_ip.2;
            s.location = Some(ServerLocation {
                zone_id: s.owner.zone.replace('-', "").chars().take(6).collect(),
                platform_id: format!("{}", 10 + r % 20),
                cluster_id: format!("{}", 1 + (r >> 8) % 100),
                hypervisor_id: format!("{}", 100 + (r >> 16) % 900),
                node_id: format!("{}", 1 + (r >> 24) % 60),
                extra: Map::new(),
            });
            if s.dynamic_ip_required && s.public_ips.is_empty() && s.dynamic_ip.is_none() {
                s.dynamic_ip = Some((dyn_ip.0, dyn_ip.1));
            }
        }
        Step::Stopped => {
            s.state = "stopped".into();
            s.state_detail = String::new();
            s.location = None;
            s.dynamic_ip = None;
        }
        Step::StoppedInPlace => {
            s.state = "stopped in place".into();
            s.state_detail = "stopped in place".into();
        }
        Step::Terminated => remove_server(w, id, true, wall),
    }
}

fn compatible_types(w: &World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
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

fn user_data(w: &mut World, ctx: &Ctx, req: &Req, m: &str, id: Uuid, key: &str) -> ApiResult<Resp> {
    let s = get_mut(w, ctx, id)?;
    match m {
        "GET" => Ok(match s.user_data.get(key) {
            Some(v) => Resp {
                status: 200,
                body: Body::Text(v.clone()),
                headers: Vec::new(),
            },
            // Observed: 404 with text/plain and an empty body.
            None => Resp {
                status: 404,
                body: Body::Empty("text/plain"),
                headers: Vec::new(),
            },
        }),
        "PATCH" => {
            if key.is_empty() || key.len() > 255 {
                return Err(Error::invalid(ArgDetail::constraint(
                    "key",
                    "key must be 1 to 255 characters",
                )));
            }
            s.user_data.insert(key.to_owned(), req.body.to_vec());
            Ok(Resp {
                status: 204,
                body: Body::Empty("text/plain"),
                headers: Vec::new(),
            })
        }
        "DELETE" => {
            s.user_data.remove(key);
            Ok(Resp::no_content())
        }
        _ => Err(Error::method_not_allowed()),
    }
}

fn attach_volume(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body: AttachServerVolumeRequest = req.decode()?;
    let vid = uuid_arg(body.volume_id.as_deref(), "volume_id")?
        .ok_or_else(|| Error::invalid(ArgDetail::required("volume_id")))?;
    let vt = one_of(
        "volume_type",
        body.volume_type,
        &["unknown_volume_type", "l_ssd", "b_ssd", "sbs_volume"],
    )?
    .map(|t| t.to_string());
    let boot = body.boot.unwrap_or(false);
    let s = get(w, ctx, id)?.clone();
    if vt.as_deref() == Some("sbs_volume") {
        super::volumes::adopt_external_sbs(w, ctx, &s.owner, vid)?;
    }
    let v = w
        .volumes
        .get(&vid)
        .filter(|v| visible(ctx, &v.owner))
        .ok_or_else(|| Error::not_found("instance_volume", vid.to_string()))?;
    if v.server.is_some() {
        return Err(Error::invalid(ArgDetail::constraint(
            "volume_id",
            "volume is already attached to a server",
        )));
    }
    let mut sizes: Vec<(String, u64)> = s
        .volumes
        .values()
        .filter_map(|x| w.volumes.get(x))
        .map(|x| (x.kind.clone(), x.size))
        .collect();
    sizes.push((v.kind.clone(), v.size));
    check_local_constraints(w, &ctx.zone, &s.commercial_type, &sizes)?;
    let idx = (0..).find(|i| !s.volumes.contains_key(i)).unwrap_or(0);
    if let Some(v) = w.volumes.get_mut(&vid) {
        v.server = Some(id);
        v.boot = boot;
        v.modified = ctx.now;
    }
    let s = get_mut(w, ctx, id)?;
    s.volumes.insert(idx, vid);
    s.modified = ctx.now;
    let s = s.clone();
    Ok(Resp::ok(wrap(w, &s)))
}

fn detach_volume(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body: DetachServerVolumeRequest = req.decode()?;
    let vid = uuid_arg(body.volume_id.as_deref(), "volume_id")?
        .ok_or_else(|| Error::invalid(ArgDetail::required("volume_id")))?;
    let s = get_mut(w, ctx, id)?;
    let Some(idx) = s.volumes.iter().find(|(_, v)| **v == vid).map(|(i, _)| *i) else {
        return Err(Error::invalid(ArgDetail::constraint(
            "volume_id",
            "volume is not attached to this server",
        )));
    };
    s.volumes.remove(&idx);
    // Keys stay contiguous from 0, as the API renumbers them.
    let renumbered: BTreeMap<u32, Uuid> = s
        .volumes
        .values()
        .enumerate()
        .map(|(i, v)| (u32::try_from(i).unwrap_or(u32::MAX), *v))
        .collect();
    s.volumes = renumbered;
    s.modified = ctx.now;
    let s = s.clone();
    if let Some(v) = w.volumes.get_mut(&vid) {
        v.server = None;
        v.modified = ctx.now;
    }
    Ok(Resp::ok(wrap(w, &s)))
}

fn filesystem(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid, attach: bool) -> ApiResult<Resp> {
    // Attach and detach bodies are the same shape.
    let body: AttachServerFileSystemRequest = req.decode()?;
    let fs = uuid_arg(body.filesystem_id.as_deref(), "filesystem_id")?
        .ok_or_else(|| Error::invalid(ArgDetail::required("filesystem_id")))?
        .to_string();
    let t = w.transition;
    let s = get_mut(w, ctx, id)?;
    let present = s.filesystems.iter().any(|(f, _)| *f == fs);
    if attach {
        if present {
            return Err(Error::invalid(ArgDetail::constraint(
                "filesystem_id",
                "filesystem is already attached",
            )));
        }
        s.filesystems.push((fs.clone(), "attaching".into()));
    } else {
        if !present {
            return Err(Error::invalid(ArgDetail::constraint(
                "filesystem_id",
                "filesystem is not attached to this server",
            )));
        }
        for (f, st) in &mut s.filesystems {
            if *f == fs {
                *st = "detaching".into();
            }
        }
    }
    s.modified = ctx.now;
    let s = s.clone();
    w.schedule(
        ctx.instant,
        t,
        Event::Filesystem {
            server: id,
            filesystem: fs,
        },
    );
    Ok(Resp::ok(wrap(w, &s)))
}
