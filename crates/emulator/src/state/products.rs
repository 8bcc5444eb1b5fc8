//! Catalogue endpoints (`products/servers`, `products/servers/availability`,
//! `products/volumes`) and the dashboard.

use std::collections::BTreeMap;

use fleet_core::{
    Dashboard, GetDashboardResponse, GetServerTypesAvailabilityResponse, ListServersTypesResponse,
    ListVolumesTypesResponse, ServerState, ServerType, ServerTypeAvailability, VolumeType,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{Ctx, World, visible};
use crate::errors::{ApiResult, Error};
use crate::http::{Req, Resp};
use crate::pagination::list_response;

/// Catalogue entries read as core types. The data are recorded API bodies,
/// which core reads whole, so a failure means a corrupt catalogue: 500.
fn typed<T: DeserializeOwned>(entries: Vec<(String, Value)>) -> ApiResult<Vec<(String, T)>> {
    entries
        .into_iter()
        .map(|(k, v)| serde_json::from_value(v).map(|t| (k, t)))
        .collect::<Result<_, _>>()
        .map_err(|_| Error::internal(500))
}

// Map-shaped lists are paginated in catalogue order (the API's), then
// keyed by name.

/// `GET products/servers`.
pub fn list_server_types(w: &World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    list_response(
        req,
        typed::<ServerType>(w.catalog.server_types(&ctx.zone).to_vec())?,
        "/products/servers",
        |page| ListServersTypesResponse {
            servers: page.into_iter().collect(),
            extra: Map::new(),
        },
    )
}

/// `GET products/servers/availability`; out-of-stock types show `shortage`.
pub fn server_types_availability(w: &World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
    let entries = w
        .catalog
        .availability(&ctx.zone)
        .into_iter()
        .map(|(name, v)| {
            if w.out_of_stock.contains(&(ctx.zone.clone(), name.clone())) {
                (name, serde_json::json!({"availability": "shortage"}))
            } else {
                (name, v)
            }
        })
        .collect();
    list_response(
        req,
        typed::<ServerTypeAvailability>(entries)?,
        "/products/servers/availability",
        |page| GetServerTypesAvailabilityResponse {
            servers: page.into_iter().collect(),
            extra: Map::new(),
        },
    )
}

/// `GET products/volumes`.
pub fn list_volume_types(w: &World, req: &Req) -> ApiResult<Resp> {
    list_response(
        req,
        typed::<VolumeType>(w.catalog.volume_types().to_vec())?,
        "/products/volumes",
        |page| ListVolumesTypesResponse {
            volumes: page.into_iter().collect(),
            extra: Map::new(),
        },
    )
}

/// `GET dashboard`: counts of the caller's resources in the zone.
pub fn dashboard(w: &World, ctx: &Ctx, req: &Req) -> ApiResult<Resp> {
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
    let vols: Vec<&super::Volume> = w.volumes.values().filter(|v| keep(&v.owner)).collect();
    let count = |k: &str| vols.iter().filter(|v| v.kind == k).count();
    let size = |k: &str| {
        vols.iter()
            .filter(|v| v.kind == k)
            .map(|v| v.size)
            .sum::<u64>()
    };
    let ips: Vec<&super::Ip> = w.ips.values().filter(|i| keep(&i.owner)).collect();
    let nics = w.private_nics.values().filter(|n| keep(&n.owner)).count();
    let n = |c: usize| u32::try_from(c).unwrap_or(u32::MAX);
    let dashboard = Dashboard {
        volumes_count: n(vols.len()),
        running_servers_count: n(servers
            .iter()
            .filter(|s| s.state == ServerState::Running)
            .count()),
        servers_by_types: by_type,
        images_count: n(w.images.values().filter(|i| keep(&i.owner)).count()),
        snapshots_count: n(w.snapshots.values().filter(|s| keep(&s.owner)).count()),
        servers_count: n(servers.len()),
        ips_count: n(ips.len()),
        security_groups_count: n(w
            .security_groups
            .values()
            .filter(|g| keep(&g.owner))
            .count()),
        ips_unused: n(ips.iter().filter(|i| i.server.is_none()).count()),
        volumes_l_ssd_count: n(count("l_ssd")),
        volumes_l_ssd_total_size: size("l_ssd"),
        private_nics_count: n(nics),
        placement_groups_count: n(w
            .placement_groups
            .values()
            .filter(|g| keep(&g.owner))
            .count()),
        volumes_scratch_count: n(count("scratch")),
        volumes_b_ssd_count: Some(n(count("b_ssd"))),
        volumes_b_ssd_total_size: Some(size("b_ssd")),
        extra: Map::new(),
    };
    Ok(Resp::ok(GetDashboardResponse {
        dashboard,
        extra: Map::new(),
    }))
}
