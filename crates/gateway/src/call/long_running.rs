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
                project = Some(
                    self.target_project(operation, param, id, &zone, caller, json)
                        .await?,
                );
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

    /// Reads the resource a job will act on: NOT_FOUND is answered before anything is
    /// accepted, and its project decides whether the caller may act on it.
    async fn target_project(
        &self,
        operation: Operation,
        param: &str,
        id: &str,
        zone: &str,
        caller: &Caller,
        json: &Value,
    ) -> Result<String, GatewayError> {
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
        let project = body
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|r| r.get("project"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok(project)
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
