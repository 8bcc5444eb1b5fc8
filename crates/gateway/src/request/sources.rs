//! The upstream collections one List request reads, and the Block half of the volume and
//! snapshot lists.
//!
//! Fleet shows the volumes and snapshots of both storage APIs as one collection: per zone
//! the Instance list, then the Block list of the same zone, its items in the Instance shape
//! (`fleet_core::block::unified`). A `zone = "all"` list reads every zone that way. Every
//! other list reads the Instance API alone. The call path pages over these sources behind
//! one token (`crate::call::list`); this module decides them and builds and reads the Block
//! calls, as pure functions of the request.

use std::str::FromStr;

use fleet_core::block::{self, ListPage, unified};
use fleet_core::catalog::Api;
use fleet_core::{Operation, VolumeVolumeType, Zone};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::errors::GatewayError;
use crate::request::convert::{Prepared, prepare, query_pairs};
use crate::request::methods::MethodInfo;

/// One upstream list: a zone's Instance or Block collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub zone: Zone,
    pub api: Api,
}

/// The sources of a List request, in the order their items are served: the request's zone
/// (every zone of [`Zone::ALL`] for `"all"`), each with its Instance list and, for volumes
/// and snapshots, its Block list, unless the filters exclude a family.
pub fn sources(info: &MethodInfo, request: &Value) -> Result<Vec<Source>, GatewayError> {
    let zones: Vec<Zone> = match request.get("zone").and_then(Value::as_str) {
        Some("all") => Zone::ALL.to_vec(),
        Some(zone) => vec![
            Zone::from_str(zone).map_err(|err| GatewayError::invalid("zone", err.to_string()))?,
        ],
        None => return Err(GatewayError::invalid("zone", "required")),
    };
    let (instance, block) = families(info, request)?;
    let apis: Vec<Api> = [(instance, Api::Instance), (block, Api::Block)]
        .into_iter()
        .filter_map(|(read, api)| read.then_some(api))
        .collect();
    Ok(zones
        .into_iter()
        .flat_map(|zone| apis.iter().map(move |&api| Source { zone, api }))
        .collect())
}

/// The Block list standing for the method's list, if it has one.
pub fn block_list(info: &MethodInfo) -> Option<Operation> {
    let block = info.endpoint.operation.block_counterpart()?;
    block.endpoint().is_paginated().then_some(block)
}

/// Whether the request reads the (Instance, Block) families.
fn families(info: &MethodInfo, request: &Value) -> Result<(bool, bool), GatewayError> {
    let Some(block) = block_list(info) else {
        return Ok((true, false));
    };
    let instance = prepare(info, &one_zone(request), None)?;
    let read_block = block_query(block, &instance.query)?.is_some();
    // SBS volumes are never in Instance lists (only inside `server.volumes`).
    let read_instance = match block {
        Operation::BlockListVolumes => {
            instance_query::<fleet_core::ListVolumesQuery>(&instance.query)?.volume_type
                != Some(VolumeVolumeType::SbsVolume)
        }
        _ => true,
    };
    Ok((read_instance, read_block))
}

/// The request with one zone (any zone: the zone is a path parameter, never a filter).
fn one_zone(request: &Value) -> Value {
    let mut request = request.clone();
    if let Value::Object(map) = &mut request
        && map.get("zone").and_then(Value::as_str) == Some("all")
    {
        map.insert(
            "zone".into(),
            Value::String(Zone::ALL[0].as_str().to_owned()),
        );
    }
    request
}

/// The Block call for page `page` (1-based) of `page_size` items of `request`'s list,
/// which must have a Block list; `request` names one zone.
pub fn block_call(
    info: &MethodInfo,
    request: &Value,
    page: u64,
    page_size: u64,
) -> Result<(Operation, Prepared), GatewayError> {
    let block = block_list(info)
        .ok_or_else(|| GatewayError::Internal(format!("{} has no Block list", info.operation())))?;
    let instance = prepare(info, request, None)?;
    let mut query = block_query(block, &instance.query)?.ok_or_else(|| {
        GatewayError::Internal(format!(
            "the filters of {} exclude the Block list",
            info.operation()
        ))
    })?;
    query.insert("page".into(), Value::from(page));
    query.insert(Api::Block.page_size_param().into(), Value::from(page_size));
    Ok((
        block,
        Prepared {
            query: query_pairs(&query),
            ..Prepared::default()
        },
    ))
}

/// The Block query (paging aside) matching the Instance list's query pairs, or `None` when
/// the filters exclude every Block item.
fn block_query(
    block: Operation,
    instance: &[(String, String)],
) -> Result<Option<Map<String, Value>>, GatewayError> {
    match block {
        Operation::BlockListVolumes => {
            let query = instance_query::<fleet_core::ListVolumesQuery>(instance)?;
            unified::list_volumes_query(&query)
                .map(|block| object_of(&block))
                .transpose()
        }
        Operation::BlockListSnapshots => {
            let query = instance_query::<fleet_core::ListSnapshotsQuery>(instance)?;
            object_of(&unified::list_snapshots_query(&query)).map(Some)
        }
        other => Err(GatewayError::Internal(format!(
            "{} is not a Block list fleet merges",
            other.name()
        ))),
    }
}

/// fleet-core's typed Instance query from the query pairs (every filter is a string on
/// the wire; paging is left out, each source pages itself).
fn instance_query<Q: DeserializeOwned>(pairs: &[(String, String)]) -> Result<Q, GatewayError> {
    let object: Map<String, Value> = pairs
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "page" | "per_page"))
        .map(|(key, value)| (key.clone(), Value::String(value.clone())))
        .collect();
    serde_json::from_value(Value::Object(object))
        .map_err(|err| GatewayError::invalid("request", format!("filters do not fit: {err}")))
}

fn object_of(query: &impl Serialize) -> Result<Map<String, Value>, GatewayError> {
    match serde_json::to_value(query) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(GatewayError::Internal(format!(
            "a Block query is not an object: {other}"
        ))),
        Err(err) => Err(GatewayError::Internal(format!(
            "a Block query does not serialize: {err}"
        ))),
    }
}

/// The items of a Block list page in the Instance shape, and the page's `total_count`.
pub fn block_page(block: Operation, body: &[u8]) -> Result<(Vec<Value>, u64), GatewayError> {
    match block {
        Operation::BlockListVolumes => {
            unified_page::<block::ListVolumesResponse, _>(body, unified::volume_as_instance)
        }
        Operation::BlockListSnapshots => {
            unified_page::<block::ListSnapshotsResponse, _>(body, unified::snapshot_as_instance)
        }
        other => Err(GatewayError::Internal(format!(
            "{} is not a Block list fleet merges",
            other.name()
        ))),
    }
}

fn unified_page<P, T>(
    body: &[u8],
    as_instance: fn(&P::Item) -> T,
) -> Result<(Vec<Value>, u64), GatewayError>
where
    P: ListPage + DeserializeOwned,
    T: Serialize,
{
    let page: P = serde_json::from_slice(body).map_err(|err| {
        GatewayError::Internal(format!("Block list answer does not decode: {err}"))
    })?;
    let total = page.total_count();
    let items = page
        .into_items()
        .iter()
        .map(|item| {
            serde_json::to_value(as_instance(item)).map_err(|err| {
                GatewayError::Internal(format!("a unified item does not serialize: {err}"))
            })
        })
        .collect::<Result<Vec<Value>, GatewayError>>()?;
    Ok((items, total))
}

#[cfg(test)]
mod tests {
    use fleet_proto::json::to_json;
    use fleet_proto::v1;
    use serde_json::json;

    use super::*;
    use crate::request::methods::method;

    fn volumes(request: v1::ListVolumesRequest) -> (Vec<Source>, Value) {
        let info = method("fleet.v1.Volumes/ListVolumes").unwrap();
        let json = to_json(&request);
        (sources(info, &json).unwrap(), json)
    }

    #[test]
    fn volumes_read_both_families_per_zone_and_other_lists_instance_only() {
        let (one, _) = volumes(v1::ListVolumesRequest {
            zone: "nl-ams-1".into(),
            ..Default::default()
        });
        assert_eq!(
            one,
            [Api::Instance, Api::Block].map(|api| Source {
                zone: Zone::NlAms1,
                api
            })
        );
        let (all, _) = volumes(v1::ListVolumesRequest {
            zone: "all".into(),
            ..Default::default()
        });
        assert_eq!(all.len(), Zone::ALL.len() * 2);
        assert_eq!(
            (all[0], all[1], all[2].zone),
            (
                Source {
                    zone: Zone::ALL[0],
                    api: Api::Instance
                },
                Source {
                    zone: Zone::ALL[0],
                    api: Api::Block
                },
                Zone::ALL[1]
            )
        );
        let servers = method("fleet.v1.Servers/ListServers").unwrap();
        let all_servers = sources(servers, &json!({"zone": "all"})).unwrap();
        assert!(all_servers.iter().all(|s| s.api == Api::Instance));
        assert_eq!(all_servers.len(), Zone::ALL.len());
    }

    #[test]
    fn a_volume_type_filter_picks_its_family() {
        let apis = |volume_type: &str| -> Vec<Api> {
            volumes(v1::ListVolumesRequest {
                zone: "fr-par-1".into(),
                volume_type: Some(volume_type.into()),
                ..Default::default()
            })
            .0
            .into_iter()
            .map(|s| s.api)
            .collect()
        };
        assert_eq!(apis("sbs_volume"), [Api::Block]);
        assert_eq!(apis("l_ssd"), [Api::Instance]);
        assert_eq!(apis("b_ssd"), [Api::Instance]);
    }

    #[test]
    fn the_block_call_carries_the_mapped_filters_and_block_paging() {
        let (_, json) = volumes(v1::ListVolumesRequest {
            zone: "fr-par-1".into(),
            name: Some("web".into()),
            project: Some("11111111-2222-3333-4444-555555555555".into()),
            tags: vec!["a".into(), "b".into()],
            ..Default::default()
        });
        let info = method("fleet.v1.Volumes/ListVolumes").unwrap();
        let (operation, prepared) = block_call(info, &json, 2, 100).unwrap();
        assert_eq!(operation, Operation::BlockListVolumes);
        let query: Map<String, Value> = prepared
            .query
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        assert_eq!(
            Value::Object(query),
            json!({"name": "web", "project_id": "11111111-2222-3333-4444-555555555555",
                   "tags": "a,b", "page": "2", "page_size": "100"})
        );
        let snapshots = method("fleet.v1.Snapshots/ListSnapshots").unwrap();
        let request = to_json(&v1::ListSnapshotsRequest {
            zone: "fr-par-1".into(),
            base_volume_id: Some("22222222-2222-3333-4444-555555555555".into()),
            ..Default::default()
        });
        let (operation, prepared) = block_call(snapshots, &request, 1, 100).unwrap();
        assert_eq!(operation, Operation::BlockListSnapshots);
        assert!(prepared.query.contains(&(
            "volume_id".into(),
            "22222222-2222-3333-4444-555555555555".into()
        )));
        assert!(!prepared.query.iter().any(|(k, _)| k == "base_volume_id"));
    }

    #[test]
    fn block_items_read_in_the_instance_shape_and_fit_the_public_volume() {
        let body = json!({"total_count": 3, "volumes": [{
            "id": "v1", "name": "root", "type": "sbs_15k", "size": 20_000_000_000u64,
            "project_id": "p", "status": "in_use", "zone": "fr-par-1", "tags": [],
            "specs": {"perf_iops": 15000, "class": "sbs"},
            "references": [{"id": "r", "product_resource_type": "instance_server",
                "product_resource_id": "srv", "type": "exclusive", "status": "attached",
                "created_at": "2025-11-04T10:16:43.388760Z"}]
        }]});
        let (items, total) = block_page(
            Operation::BlockListVolumes,
            &serde_json::to_vec(&body).unwrap(),
        )
        .unwrap();
        assert_eq!(total, 3);
        let volume: v1::Volume = fleet_proto::json::from_json(items[0].clone()).unwrap();
        assert_eq!(volume.api.as_deref(), Some("block"));
        assert_eq!(volume.volume_type, "sbs_volume");
        assert_eq!(volume.block_type.as_deref(), Some("sbs_15k"));
        assert_eq!(volume.perf_iops, Some(15000));
        assert_eq!(volume.state, "in_use");
        assert_eq!(volume.server.map(|s| s.id).as_deref(), Some("srv"));
        assert_eq!(
            volume.references[0].product_resource_type,
            "instance_server"
        );
        assert_eq!(volume.references[0].r#type, "exclusive");

        let body = json!({"total_count": 1, "snapshots": [{
            "id": "s1", "name": "snap", "size": 10, "status": "available", "class": "sbs",
            "zone": "fr-par-1", "project_id": "p", "parent_volume": null, "references": []
        }]});
        let (items, _) = block_page(
            Operation::BlockListSnapshots,
            &serde_json::to_vec(&body).unwrap(),
        )
        .unwrap();
        let snapshot: v1::Snapshot = fleet_proto::json::from_json(items[0].clone()).unwrap();
        assert_eq!(snapshot.api.as_deref(), Some("block"));
        assert_eq!(snapshot.volume_type, "sbs_snapshot");
        assert_eq!(snapshot.storage_class.as_deref(), Some("sbs"));
        assert!(block_page(Operation::BlockListVolumes, b"not json").is_err());
    }
}
