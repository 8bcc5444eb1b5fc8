//! Catalogue endpoints (`products/servers`, `products/servers/availability`,
//! `products/volumes`) and the dashboard.

use std::collections::BTreeMap;

use serde_json::json;

use super::{Ctx, World, visible};
use crate::errors::{ApiError, ApiResult};
use crate::http::{Req, Resp};
use crate::pagination::map_response;

/// Routes under `products`.
pub fn route(w: &mut World, ctx: &Ctx, req: &Req, m: &str, segs: &[&str]) -> ApiResult<Resp> {
    match (m, segs) {
        ("GET", ["servers"]) => map_response(
            req,
            "servers",
            w.catalog.server_types(&ctx.zone).to_vec(),
            "/products/servers",
        ),
        ("GET", ["servers", "availability"]) => map_response(
            req,
            "servers",
            w.catalog.availability(&ctx.zone),
            "/products/servers/availability",
        ),
        ("GET", ["volumes"]) => map_response(
            req,
            "volumes",
            w.catalog.volume_types().to_vec(),
            "/products/volumes",
        ),
        _ => Err(ApiError::UnknownRoute),
    }
}

/// `GET dashboard`: counts of the caller's resources in the zone.
pub fn route_dashboard(
    w: &mut World,
    ctx: &Ctx,
    req: &Req,
    m: &str,
    segs: &[&str],
) -> ApiResult<Resp> {
    if m != "GET" || !segs.is_empty() {
        return Err(ApiError::UnknownRoute);
    }
    let keep = |o: &super::Owner| {
        visible(ctx, o)
            && req.q("project").is_none_or(|p| o.project == p)
            && req.q("organization").is_none_or(|p| o.organization == p)
    };
    let servers: Vec<&super::Server> = w.servers.values().filter(|s| keep(&s.owner)).collect();
    let mut by_type: BTreeMap<String, u32> = BTreeMap::new();
    for s in &servers {
        *by_type.entry(s.commercial_type.clone()).or_default() += 1;
    }
    let vols: Vec<&super::Volume> = w
        .volumes
        .values()
        .filter(|v| v.is_instance() && keep(&v.owner))
        .collect();
    let count = |k: &str| vols.iter().filter(|v| v.kind == k).count();
    let size = |k: &str| {
        vols.iter()
            .filter(|v| v.kind == k)
            .map(|v| v.size)
            .sum::<u64>()
    };
    let ips: Vec<&super::Ip> = w.ips.values().filter(|i| keep(&i.owner)).collect();
    let nics = w
        .private_nics
        .values()
        .filter(|n| w.servers.get(&n.server).is_some_and(|s| keep(&s.owner)))
        .count();
    Ok(Resp::ok(json!({"dashboard": {
        "volumes_count": vols.len(),
        "running_servers_count": servers.iter().filter(|s| s.state == "running").count(),
        "servers_by_types": by_type,
        "images_count": w.images.values().filter(|i| keep(&i.owner)).count(),
        "snapshots_count": w.snapshots.values().filter(|s| s.volume_type != "sbs_snapshot" && keep(&s.owner)).count(),
        "servers_count": servers.len(),
        "ips_count": ips.len(),
        "security_groups_count": w.security_groups.values().filter(|g| keep(&g.owner)).count(),
        "ips_unused": ips.iter().filter(|i| i.server.is_none()).count(),
        "volumes_l_ssd_count": count("l_ssd"),
        "volumes_l_ssd_total_size": size("l_ssd"),
        "private_nics_count": nics,
        "placement_groups_count": w.placement_groups.values().filter(|g| keep(&g.owner)).count(),
        "volumes_scratch_count": count("scratch"),
        "volumes_b_ssd_count": count("b_ssd"),
        "volumes_b_ssd_total_size": size("b_ssd"),
    }})))
}
