//! The caller's project scope on a `ZoneCalls` call (see the module doc of [`super`]), for
//! every API family: Instance v1 bodies name their project `project` (single resources inside
//! an envelope, `{"server": {"project": …}}`), Block and Instance v2alpha1 bodies `project_id`
//! (single resources bare); the key and the envelope are the `Api`'s.

use std::collections::{BTreeMap, HashMap};

use fleet_core::Zone;
use fleet_core::catalog::{Api, ENDPOINTS, Method, Operation};
use fleet_proto::internal::InvokeResponse;
use fleet_scaleway::InvokeBody;
use serde_json::Value;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::{ERROR_DOMAIN, OUTSIDE_PROJECT_SCOPE, bad_request};

/// The key naming a resource's project in the bodies and list filters of `api`.
fn project_key(api: Api) -> &'static str {
    api.project_key()
}

/// The caller's project scope (`None` when unrestricted).
#[derive(Debug)]
pub(super) struct Scope {
    projects: Vec<String>,
}

impl Scope {
    pub(super) fn new(projects: &[String]) -> Option<Self> {
        let projects: Vec<String> = projects.iter().filter(|p| !p.is_empty()).cloned().collect();
        (!projects.is_empty()).then_some(Self { projects })
    }

    pub(super) fn allows(&self, project: &str) -> bool {
        self.projects.iter().any(|p| p == project)
    }

    pub(super) fn refusal(&self, zone: Zone, project: &str, operation: Operation) -> Status {
        Status::with_error_details(
            Code::PermissionDenied,
            format!("{operation} touches project {project}, outside the caller's projects"),
            ErrorDetails::with_error_info(
                OUTSIDE_PROJECT_SCOPE,
                ERROR_DOMAIN,
                HashMap::from([
                    ("project".to_owned(), project.to_owned()),
                    ("zone".to_owned(), zone.as_str().to_owned()),
                ]),
            ),
        )
    }

    /// With one project in scope, lists that take a project filter get it (exact totals).
    pub(super) fn narrow_list_query(
        &self,
        operation: Operation,
        query: &mut Vec<(String, String)>,
    ) {
        let endpoint = operation.endpoint();
        if endpoint.pagination.is_none() || self.projects.len() != 1 {
            return;
        }
        let key = project_key(endpoint.api());
        if query.iter().any(|(k, _)| k == key) {
            return;
        }
        let Some(ty) = endpoint.query else { return };
        let probe = serde_json::json!({ key: self.projects[0] });
        let takes_project = ty.reencode(&probe).is_ok_and(|v| v.get(key).is_some());
        if takes_project {
            query.push((key.to_owned(), self.projects[0].clone()));
        }
    }

    /// A create must name a project in scope. Creates are the Instance v1 `create_*` POSTs and
    /// every Block or Instance v2alpha1 POST on a collection (volume, snapshot, imports,
    /// interface, placement group), ids not yet known.
    pub(super) fn check_create(
        &self,
        zone: Zone,
        operation: Operation,
        body: Option<&InvokeBody>,
    ) -> Result<(), Status> {
        let endpoint = operation.endpoint();
        let api = endpoint.api();
        let is_create = endpoint.method == Method::Post
            && (api != Api::Instance || operation.name().starts_with("create_"))
            && endpoint.param_names().filter(|p| *p != "zone").count() == 0;
        if !is_create {
            return Ok(());
        }
        let key = project_key(api);
        let project = body
            .and_then(|b| serde_json::from_slice::<Value>(&b.bytes).ok())
            .and_then(|v| v.get(key).and_then(|p| p.as_str()).map(str::to_owned));
        match project {
            Some(project) if self.allows(&project) => Ok(()),
            Some(project) => Err(self.refusal(zone, &project, operation)),
            None => Err(bad_request(
                &format!("body.{key}"),
                format!("{operation} must name a project of the caller's scope"),
            )),
        }
    }

    /// Drops list items outside the scope; refuses a single read of a resource outside it.
    pub(super) fn filter_response(
        &self,
        zone: Zone,
        operation: Operation,
        response: &mut InvokeResponse,
    ) -> Result<(), Status> {
        if !(200..300).contains(&response.status) || response.body.is_empty() {
            return Ok(());
        }
        let endpoint = operation.endpoint();
        if endpoint.method != Method::Get {
            return Ok(());
        }
        let api = endpoint.api();
        let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(&response.body) else {
            return Ok(());
        };
        if let Some(key) = endpoint.pagination {
            let Some(Value::Array(items)) = body.get_mut(key) else {
                return Ok(());
            };
            let before = items.len();
            let project = project_key(api);
            items.retain(|item| {
                item.get(project)
                    .and_then(|p| p.as_str())
                    .is_none_or(|p| self.allows(p))
            });
            let dropped = (before - items.len()) as u64;
            if dropped > 0 {
                response.total_count = response.total_count.map(|t| t.saturating_sub(dropped));
                if api.total_in_body()
                    && let Some(total) = body.get("total_count").and_then(Value::as_u64)
                {
                    body.insert(
                        "total_count".into(),
                        Value::from(total.saturating_sub(dropped)),
                    );
                }
                response.body = serde_json::to_vec(&body).map_err(|e| {
                    Status::internal(format!("cannot re-encode a filtered list: {e}"))
                })?;
            }
            return Ok(());
        }
        if let Some(project) = resource_project(api, &response.body)
            && !self.allows(&project)
        {
            // The resource was read but is not handed out.
            return Err(self.refusal(zone, &project, operation));
        }
        Ok(())
    }
}

/// The project of a single-resource body of `api`: `{"server": {"project": …}}` (Instance v1),
/// `{"id": …, "project_id": …}` (Block, Instance v2alpha1).
pub(super) fn resource_project(api: Api, body: &[u8]) -> Option<String> {
    let Value::Object(map) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    let key = project_key(api);
    if api.wraps_objects() {
        map.values()
            .find_map(|v| v.as_object()?.get(key)?.as_str().map(str::to_owned))
    } else {
        map.get(key)?.as_str().map(str::to_owned)
    }
}

/// The read of the resource a change belongs to: the `GET` endpoint whose template is the
/// change's template cut after its first id, with that id. Instance v2alpha1 reads no server,
/// so its server changes (attach, detach of an interface) are checked on the v1 read of the
/// same server: the first v2alpha1 template segment read as `v1`.
pub(super) fn owning_read(
    operation: Operation,
    path_params: &BTreeMap<String, String>,
) -> Option<(Operation, BTreeMap<String, String>)> {
    let mut segments: Vec<&str> = operation.endpoint().path.split('/').collect();
    let (at, name) = segments
        .iter()
        .enumerate()
        .find_map(|(i, s)| param(s).filter(|p| *p != "zone").map(|p| (i, p)))?;
    let find_get = |prefix: &[&str]| {
        ENDPOINTS.iter().find(|e| {
            e.method == Method::Get && {
                let other: Vec<&str> = e.path.split('/').collect();
                other.len() == prefix.len()
                    && other
                        .iter()
                        .zip(prefix)
                        .all(|(a, b)| a == b || (param(a).is_some() && param(b).is_some()))
            }
        })
    };
    let get = match find_get(&segments[..=at]) {
        Some(get) => get,
        None if operation.api() == Api::InstanceV2Alpha1 => {
            let version = segments.iter().position(|s| *s == "v2alpha1")?;
            segments[version] = "v1";
            find_get(&segments[..=at])?
        }
        None => return None,
    };
    let get_name = get.path.split('/').nth(at).and_then(param)?;
    let value = path_params.get(name)?;
    Some((
        get.operation,
        BTreeMap::from([(get_name.to_owned(), value.clone())]),
    ))
}

fn param(segment: &str) -> Option<&str> {
    segment.strip_prefix('{')?.strip_suffix('}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn changes_are_checked_against_the_resource_they_belong_to() {
        let (get, p) = owning_read(Operation::SetServer, &params(&[("id", "s1")])).unwrap();
        assert_eq!(get, Operation::GetServer);
        assert_eq!(p, params(&[("server_id", "s1")]));
        let (get, p) = owning_read(
            Operation::DeleteServerUserData,
            &params(&[("server_id", "s1"), ("key", "k")]),
        )
        .unwrap();
        assert_eq!(get, Operation::GetServer);
        assert_eq!(p, params(&[("server_id", "s1")]));
        assert!(owning_read(Operation::CreateServer, &params(&[])).is_none());
        // A resource's own read is its own check; a sub-resource read checks the resource.
        let (get, _) = owning_read(Operation::GetServer, &params(&[("server_id", "s1")])).unwrap();
        assert_eq!(get, Operation::GetServer);
        let (get, _) = owning_read(
            Operation::ListServerUserData,
            &params(&[("server_id", "s1")]),
        )
        .unwrap();
        assert_eq!(get, Operation::GetServer);
        let (get, p) = owning_read(
            Operation::V2Alpha1AttachServerPrivateNetworkInterface,
            &params(&[("server_id", "s1")]),
        )
        .unwrap();
        assert_eq!(
            (get, p),
            (Operation::GetServer, params(&[("server_id", "s1")]))
        );
        let (get, _) = owning_read(
            Operation::V2Alpha1UpdatePlacementGroup,
            &params(&[("placement_group_id", "g1")]),
        )
        .unwrap();
        assert_eq!(get, Operation::V2Alpha1GetPlacementGroup);
        // Every change of an existing resource has a read to check.
        for endpoint in ENDPOINTS {
            let ids: Vec<&str> = endpoint.param_names().filter(|p| *p != "zone").collect();
            if endpoint.method == Method::Get || ids.is_empty() {
                continue;
            }
            let all = ids.iter().map(|p| (*p, "x")).collect::<Vec<_>>();
            assert!(
                owning_read(endpoint.operation, &params(&all)).is_some(),
                "{}",
                endpoint.operation
            );
        }
    }

    #[test]
    fn lists_are_filtered_and_reads_refused_outside_the_scope() {
        let scope = Scope::new(&["p1".to_owned()]).unwrap();
        let mut list = InvokeResponse {
            status: 200,
            body: serde_json::to_vec(&serde_json::json!({"servers": [
                {"id": "a", "project": "p1"}, {"id": "b", "project": "p2"}
            ]}))
            .unwrap(),
            total_count: Some(2),
            ..InvokeResponse::default()
        };
        scope
            .filter_response(Zone::FrPar1, Operation::ListServers, &mut list)
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&list.body).unwrap();
        assert_eq!(body["servers"].as_array().unwrap().len(), 1);
        assert_eq!(list.total_count, Some(1));

        let mut get = InvokeResponse {
            status: 200,
            body: br#"{"server": {"id": "b", "project": "p2", "zone": "fr-par-1"}}"#.to_vec(),
            ..InvokeResponse::default()
        };
        let err = scope
            .filter_response(Zone::FrPar1, Operation::GetServer, &mut get)
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);

        let mut query = Vec::new();
        scope.narrow_list_query(Operation::ListServers, &mut query);
        assert_eq!(query, [("project".to_owned(), "p1".to_owned())]);
        assert!(Scope::new(&[String::new()]).is_none());
    }

    #[test]
    fn creates_must_name_a_project_in_scope() {
        let scope = Scope::new(&["p1".to_owned()]).unwrap();
        let body = |v: serde_json::Value| InvokeBody {
            bytes: serde_json::to_vec(&v).unwrap(),
            content_type: "application/json".to_owned(),
        };
        assert!(
            scope
                .check_create(
                    Zone::FrPar1,
                    Operation::CreateIp,
                    Some(&body(serde_json::json!({"project": "p1"})))
                )
                .is_ok()
        );
        assert_eq!(
            scope
                .check_create(
                    Zone::FrPar1,
                    Operation::CreateIp,
                    Some(&body(serde_json::json!({"project": "p2"})))
                )
                .unwrap_err()
                .code(),
            Code::PermissionDenied
        );
        assert_eq!(
            scope
                .check_create(
                    Zone::FrPar1,
                    Operation::CreateIp,
                    Some(&body(serde_json::json!({})))
                )
                .unwrap_err()
                .code(),
            Code::InvalidArgument
        );
    }

    #[test]
    fn block_bodies_are_scoped_by_project_id() {
        let scope = Scope::new(&["p1".to_owned()]).unwrap();
        let mut list = InvokeResponse {
            status: 200,
            body: serde_json::to_vec(&serde_json::json!({"volumes": [
                {"id": "a", "project_id": "p1"}, {"id": "b", "project_id": "p2"}
            ], "total_count": 2}))
            .unwrap(),
            ..InvokeResponse::default()
        };
        scope
            .filter_response(Zone::FrPar1, Operation::BlockListVolumes, &mut list)
            .unwrap();
        let body: Value = serde_json::from_slice(&list.body).unwrap();
        assert_eq!(body["volumes"].as_array().unwrap().len(), 1);
        assert_eq!(body["total_count"], 1);

        let mut get = InvokeResponse {
            status: 200,
            body: br#"{"id": "b", "project_id": "p2", "zone": "fr-par-1"}"#.to_vec(),
            ..InvokeResponse::default()
        };
        let err = scope
            .filter_response(Zone::FrPar1, Operation::BlockGetVolume, &mut get)
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);

        let mut query = Vec::new();
        scope.narrow_list_query(Operation::BlockListSnapshots, &mut query);
        assert_eq!(query, [("project_id".to_owned(), "p1".to_owned())]);

        let body = |v: Value| InvokeBody {
            bytes: serde_json::to_vec(&v).unwrap(),
            content_type: "application/json".to_owned(),
        };
        for operation in [
            Operation::BlockCreateVolume,
            Operation::BlockCreateSnapshot,
            Operation::BlockImportSnapshotFromObjectStorage,
        ] {
            let outside = scope.check_create(
                Zone::FrPar1,
                operation,
                Some(&body(serde_json::json!({"project_id": "p2"}))),
            );
            assert_eq!(outside.unwrap_err().code(), Code::PermissionDenied);
            let unnamed = scope.check_create(
                Zone::FrPar1,
                operation,
                Some(&body(serde_json::json!({"project": "p1"}))),
            );
            assert_eq!(unnamed.unwrap_err().code(), Code::InvalidArgument);
            assert!(
                scope
                    .check_create(
                        Zone::FrPar1,
                        operation,
                        Some(&body(serde_json::json!({"project_id": "p1"})))
                    )
                    .is_ok()
            );
        }
        // A change of a Block resource is checked against its Block read.
        let (get, p) = owning_read(
            Operation::BlockExportSnapshotToObjectStorage,
            &params(&[("snapshot_id", "s1")]),
        )
        .unwrap();
        assert_eq!(get, Operation::BlockGetSnapshot);
        assert_eq!(p, params(&[("snapshot_id", "s1")]));
    }
}
