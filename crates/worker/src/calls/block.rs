//! The Block fallback of Instance volume and snapshot calls (see the module doc of [`super`]).

use std::collections::BTreeMap;

use fleet_core::block::{self, unified};
use fleet_core::catalog::Operation;
use fleet_core::error::ApiError;
use fleet_proto::internal::InvokeResponse;
use fleet_scaleway::InvokeBody;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tonic::Status;

use super::{ZoneCallsService, bad_request};
use crate::ownership::HeldZone;

impl ZoneCallsService {
    /// One call; an Instance volume or snapshot call on an SBS id goes on to its Block
    /// counterpart, answered in the Instance shape.
    pub(super) async fn call_unified(
        &self,
        held: &HeldZone,
        operation: Operation,
        path_params: &BTreeMap<String, String>,
        query: &[(String, String)],
        body: Option<InvokeBody>,
    ) -> Result<InvokeResponse, Status> {
        let block_body = body.clone();
        let answer = self.call(held, operation, path_params, query, body).await?;
        let Some(block_op) = operation.block_counterpart() else {
            return Ok(answer);
        };
        if !points_to_block(&answer) {
            return Ok(answer);
        }
        let params = block_params(operation, block_op, path_params);
        let block_body = block_request(operation, block_body)?;
        let answer = self
            .call(held, block_op, &params, query, block_body)
            .await?;
        if !(200..300).contains(&answer.status) || answer.body.is_empty() {
            return Ok(answer);
        }
        unify(block_op, answer)
    }
}

/// An Instance 404 saying the id is not an Instance volume or snapshot.
fn points_to_block(answer: &InvokeResponse) -> bool {
    if answer.status != 404 {
        return false;
    }
    match serde_json::from_slice::<Value>(&answer.body) {
        Ok(Value::Object(map)) => {
            unified::missing_from_instance(&ApiError::from_body(map)).is_some()
        }
        _ => false,
    }
}

/// The Instance call's path ids under the Block endpoint's names (same order).
fn block_params(
    operation: Operation,
    block_op: Operation,
    path_params: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let ids = |op: Operation| op.endpoint().param_names().filter(|p| *p != "zone");
    ids(operation)
        .zip(ids(block_op))
        .filter_map(|(from, to)| Some((to.to_owned(), path_params.get(from)?.clone())))
        .collect()
}

/// An Instance update body as the Block one; other calls have none.
fn block_request(
    operation: Operation,
    body: Option<InvokeBody>,
) -> Result<Option<InvokeBody>, Status> {
    fn convert<I: DeserializeOwned, B: Serialize>(
        body: Option<InvokeBody>,
        to_block: impl Fn(&I) -> B,
    ) -> Result<Option<InvokeBody>, Status> {
        let bytes = body.map(|b| b.bytes).filter(|b| !b.is_empty());
        let request: I = serde_json::from_slice(bytes.as_deref().unwrap_or(b"{}"))
            .map_err(|e| bad_request("body", format!("not an update body: {e}")))?;
        let bytes = serde_json::to_vec(&to_block(&request))
            .map_err(|e| Status::internal(format!("cannot encode a Block update: {e}")))?;
        Ok(Some(InvokeBody {
            bytes,
            content_type: "application/json".to_owned(),
        }))
    }
    match operation {
        Operation::UpdateVolume => convert(body, unified::update_volume_request),
        Operation::UpdateSnapshot => convert(body, unified::update_snapshot_request),
        _ => Ok(None),
    }
}

/// A Block success answer in the Instance envelope of the call it stands for.
fn unify(block_op: Operation, mut answer: InvokeResponse) -> Result<InvokeResponse, Status> {
    fn decode<T: DeserializeOwned>(block_op: Operation, body: &[u8]) -> Result<T, Status> {
        serde_json::from_slice(body).map_err(|e| {
            tracing::error!(operation = %block_op, error = %e, "undecodable Block answer");
            Status::internal(format!("{block_op} answered an undecodable body: {e}"))
        })
    }
    let envelope = match block_op {
        Operation::BlockGetVolume | Operation::BlockUpdateVolume => {
            let volume: block::Volume = decode(block_op, &answer.body)?;
            serde_json::to_vec(&fleet_core::VolumeResponse {
                volume: unified::volume_as_instance(&volume),
                extra: Default::default(),
            })
        }
        Operation::BlockGetSnapshot | Operation::BlockUpdateSnapshot => {
            let snapshot: block::Snapshot = decode(block_op, &answer.body)?;
            serde_json::to_vec(&fleet_core::SnapshotResponse {
                snapshot: unified::snapshot_as_instance(&snapshot),
                extra: Default::default(),
            })
        }
        _ => return Ok(answer),
    };
    answer.body =
        envelope.map_err(|e| Status::internal(format!("cannot encode a unified answer: {e}")))?;
    answer.content_type = "application/json".to_owned();
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u32, body: Value) -> InvokeResponse {
        InvokeResponse {
            status,
            body: serde_json::to_vec(&body).unwrap(),
            content_type: "application/json".to_owned(),
            ..InvokeResponse::default()
        }
    }

    #[test]
    fn only_instance_volume_and_snapshot_404s_go_on_to_block() {
        let missing = |resource: &str| {
            answer(
                404,
                serde_json::json!({"type": "not_found", "message": "resource is not found",
                    "resource": resource, "resource_id": "x"}),
            )
        };
        assert!(points_to_block(&missing("instance_volume")));
        assert!(points_to_block(&missing("instance_snapshot")));
        assert!(!points_to_block(&missing("instance_server")));
        let mut not_404 = missing("instance_volume");
        not_404.status = 403;
        assert!(!points_to_block(&not_404));
    }

    #[test]
    fn bodies_and_answers_are_translated() {
        let params = BTreeMap::from([("volume_id".to_owned(), "v1".to_owned())]);
        assert_eq!(
            block_params(Operation::GetVolume, Operation::BlockGetVolume, &params),
            params
        );
        let body = InvokeBody {
            bytes: br#"{"size": 30000000000, "name": "big"}"#.to_vec(),
            content_type: "application/json".to_owned(),
        };
        let sent = block_request(Operation::UpdateVolume, Some(body))
            .unwrap()
            .unwrap();
        let sent: Value = serde_json::from_slice(&sent.bytes).unwrap();
        assert_eq!(
            sent,
            serde_json::json!({"size": 30_000_000_000u64, "name": "big"})
        );
        assert!(block_request(Operation::GetVolume, None).unwrap().is_none());

        let unified = unify(
            Operation::BlockGetVolume,
            answer(
                200,
                serde_json::json!({"id": "v1", "status": "in_use", "type": "sbs_5k",
                    "project_id": "p", "zone": "fr-par-1", "size": 10_000_000_000u64}),
            ),
        )
        .unwrap();
        let body: Value = serde_json::from_slice(&unified.body).unwrap();
        assert_eq!(body["volume"]["id"], "v1");
        assert_eq!(body["volume"]["volume_type"], "sbs_volume");
        assert_eq!(body["volume"]["project"], "p");
        assert_eq!(body["volume"]["api"], "block");
        assert!(
            unify(
                Operation::BlockGetVolume,
                answer(200, serde_json::json!([]))
            )
            .is_err()
        );
    }
}
