//! Long-running calls: the job and its method record in one transaction, answered with the
//! Operation at once (AIP-151); a `request_id` names the job, so a retry gets the same one.

use fleet_core::Operation;
use fleet_jobs::{JobSpec, ResourceKind, resource_key};
use fleet_proto::v1;
use fleet_scheduler::NewJob;
use serde_json::Value;

use super::{Api, upstream_error, zone_of};
use crate::auth::Caller;
use crate::errors::GatewayError;
use crate::operations::{self, to_operation};
use crate::request::convert::Prepared;
use crate::request::methods::MethodInfo;
use crate::request::request_id;

impl Api {
    /// A long-running call: the job and its method record in one transaction.
    pub(super) async fn long_running(
        &self,
        info: &MethodInfo,
        caller: &Caller,
        json: &Value,
        spec: JobSpec,
        trace: Value,
    ) -> Result<v1::Operation, GatewayError> {
        let zone = zone_of(json);
        let kind = spec.kind();
        let args = spec.to_args();
        let request_id = request_id(json);

        if let Some(request_id) = &request_id
            && let Some(job) =
                operations::by_request_id(&self.pool, &caller.name, request_id).await?
        {
            if job.kind == kind && job.zone == zone && json_eq(&job.args, &args) {
                let method = operations::method_of(&self.pool, job.id).await?;
                return Ok(to_operation(&job, method.as_deref()));
            }
            return Err(GatewayError::RequestIdReused {
                request_id: request_id.clone(),
                method: info.grpc_method.clone(),
            });
        }

        let mut project = json
            .get("project")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let mut resource = None;
        if let Some((kind, id)) = spec.target() {
            resource = Some(resource_key(&zone, kind, id));
            if let Some((operation, param)) = target_lookup(kind) {
                let target = self
                    .read_target(operation, param, id, &zone, caller, json)
                    .await?;
                project = Some(
                    target
                        .get("project")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                );
                resource = Some(serialization_key(&zone, kind, id, &target));
            }
        }
        if let Some(project) = &project {
            caller.require_project(project)?;
        }

        let mut job = NewJob::new(kind, zone.clone(), args)
            .caller(caller.name.clone())
            .trace_context(trace);
        if let Some(project) = project {
            job = job.project(project);
        }
        if let Some(resource) = resource {
            job = job.resource(resource);
        }
        if let Some(request_id) = &request_id {
            job = job.idempotency_key(request_id.clone());
        }
        let mut tx = self.pool.begin().await?;
        let enqueued = fleet_scheduler::enqueue_tx(&mut tx, &job)
            .await
            .map_err(|err| match GatewayError::from(err) {
                GatewayError::RequestIdReused { request_id, .. } => GatewayError::RequestIdReused {
                    request_id,
                    method: info.grpc_method.clone(),
                },
                other => other,
            })?;
        sqlx::query(
            "INSERT INTO gateway_operations (job_id, method) VALUES ($1, $2) \
             ON CONFLICT (job_id) DO NOTHING",
        )
        .bind(enqueued.id)
        .bind(&info.grpc_method)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(
            job_id = enqueued.id,
            created = enqueued.created,
            method = %info.grpc_method,
            caller = %caller.name,
            zone = %zone,
            "operation accepted"
        );
        let job = fleet_scheduler::get_job(&self.pool, enqueued.id).await?;
        let method = operations::method_of(&self.pool, job.id).await?;
        Ok(to_operation(&job, method.as_deref()))
    }

    /// Reads the resource a job will act on (the object out of its envelope): NOT_FOUND is
    /// answered before anything is accepted, its project decides whether the caller may act
    /// on it, and a volume's server the job's serialization key.
    async fn read_target(
        &self,
        operation: Operation,
        param: &str,
        id: &str,
        zone: &str,
        caller: &Caller,
        json: &Value,
    ) -> Result<Value, GatewayError> {
        let endpoint = operation.endpoint();
        let mut prepared = Prepared::default();
        prepared.path_params.insert(param.to_owned(), id.to_owned());
        let response = self
            .invoke(operation.name(), zone, &prepared, caller, json)
            .await?;
        if response.status >= 400 {
            return Err(upstream_error(endpoint, zone, &prepared, &response));
        }
        let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        Ok(body
            .as_object()
            .and_then(|o| o.values().next())
            .cloned()
            .unwrap_or(Value::Null))
    }
}

/// The key a job is serialized on: its target, except that a job on a volume attached to a
/// server (`server.id` in the volume of either API, unified) is keyed on that server, so a
/// snapshot or a resize of a server's volume and an action on that server do not race.
pub fn serialization_key(zone: &str, kind: ResourceKind, id: &str, target: &Value) -> String {
    let server = target
        .get("server")
        .and_then(|s| s.get("id"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    match (kind, server) {
        (ResourceKind::Volume, Some(server)) => resource_key(zone, ResourceKind::Server, server),
        _ => resource_key(zone, kind, id),
    }
}

/// JSON equality ignoring object key order (jsonb does not keep it).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| json_eq(v, w)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(v, w)| json_eq(v, w))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => a == b,
    }
}

/// The catalog GET that reads a job's target, and its path parameter.
pub fn target_lookup(kind: ResourceKind) -> Option<(Operation, &'static str)> {
    match kind {
        ResourceKind::Server => Some((Operation::GetServer, "server_id")),
        ResourceKind::Snapshot => Some((Operation::GetSnapshot, "snapshot_id")),
        ResourceKind::Volume => Some((Operation::GetVolume, "volume_id")),
        ResourceKind::Image => Some((Operation::GetImage, "image_id")),
        ResourceKind::PrivateNic => None,
        // Job targets name volumes and snapshots by their public kind (the worker answers an
        // SBS id's Instance GET from Block); these kinds are the worker's, read in Block.
        ResourceKind::BlockVolume => Some((Operation::BlockGetVolume, "volume_id")),
        ResourceKind::BlockSnapshot => Some((Operation::BlockGetSnapshot, "snapshot_id")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_job_on_an_attached_volume_is_keyed_on_its_server() {
        let attached = json!({"id": "v", "volume_type": "sbs_volume", "api": "block",
                              "server": {"id": "srv", "name": ""}});
        let detached = json!({"id": "v", "volume_type": "l_ssd", "server": null});
        let zone = "fr-par-1";
        assert_eq!(
            serialization_key(zone, ResourceKind::Volume, "v", &attached),
            resource_key(zone, ResourceKind::Server, "srv")
        );
        assert_eq!(
            serialization_key(zone, ResourceKind::Volume, "v", &detached),
            resource_key(zone, ResourceKind::Volume, "v")
        );
        assert_eq!(
            serialization_key(
                zone,
                ResourceKind::Volume,
                "v",
                &json!({"server": {"id": ""}})
            ),
            resource_key(zone, ResourceKind::Volume, "v")
        );
        // Only volumes move to their server: a snapshot keeps its own key.
        assert_eq!(
            serialization_key(zone, ResourceKind::Snapshot, "s", &attached),
            resource_key(zone, ResourceKind::Snapshot, "s")
        );
    }
}
