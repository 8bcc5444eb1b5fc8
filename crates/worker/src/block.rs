//! Typed calls of the Block Storage (SBS) API for the job handlers.
//!
//! They go through [`Client::invoke`], so a Block call spends the zone's rate budget and gets
//! the retries, caller header, cancellation and telemetry of every other call. Answers decode
//! into `fleet_core::block` types; an error answer becomes the client's own
//! [`fleet_scaleway::Error`] (`Api` with the parsed body, or `Status`), so the handlers classify
//! Block failures exactly as Instance ones (`is_not_found`, retryable, permanent).

use std::collections::BTreeMap;

use fleet_core::block::{
    CreateSnapshotRequest, CreateVolumeRequest, ExportSnapshotToObjectStorageRequest,
    ImportSnapshotFromObjectStorageRequest, ListSnapshotsQuery, ListSnapshotsResponse,
    ListVolumesQuery, ListVolumesResponse, Snapshot, UpdateVolumeRequest, Volume,
};
use fleet_core::error::ApiError;
use fleet_core::{Operation, Zone};
use fleet_scaleway::{Client, Error, InvokeBody, InvokeResponse, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Most bytes of a non-JSON error body kept in [`Error::Status`].
const MAX_ERROR_BODY: usize = 512;

/// The Block API of one zone, through one client. Cheap to copy.
#[derive(Debug, Clone, Copy)]
pub struct BlockCalls<'a> {
    client: &'a Client,
    zone: Zone,
}

impl<'a> BlockCalls<'a> {
    pub fn new(client: &'a Client, zone: Zone) -> Self {
        Self { client, zone }
    }

    pub async fn get_volume(self, volume_id: &str) -> Result<Volume> {
        self.json(Operation::BlockGetVolume, &[("volume_id", volume_id)], None)
            .await
    }

    pub async fn list_volumes(self, query: &ListVolumesQuery) -> Result<ListVolumesResponse> {
        let query = query_pairs(query)?;
        self.send(Operation::BlockListVolumes, &[], &query, None)
            .await
            .and_then(|answer| decode(Operation::BlockListVolumes, &answer))
    }

    pub async fn create_volume(self, request: &CreateVolumeRequest) -> Result<Volume> {
        self.json(Operation::BlockCreateVolume, &[], Some(body(request)?))
            .await
    }

    pub async fn update_volume(
        self,
        volume_id: &str,
        request: &UpdateVolumeRequest,
    ) -> Result<Volume> {
        self.json(
            Operation::BlockUpdateVolume,
            &[("volume_id", volume_id)],
            Some(body(request)?),
        )
        .await
    }

    pub async fn delete_volume(self, volume_id: &str) -> Result<()> {
        self.send(
            Operation::BlockDeleteVolume,
            &[("volume_id", volume_id)],
            &[],
            None,
        )
        .await
        .map(drop)
    }

    pub async fn get_snapshot(self, snapshot_id: &str) -> Result<Snapshot> {
        self.json(
            Operation::BlockGetSnapshot,
            &[("snapshot_id", snapshot_id)],
            None,
        )
        .await
    }

    pub async fn list_snapshots(self, query: &ListSnapshotsQuery) -> Result<ListSnapshotsResponse> {
        let query = query_pairs(query)?;
        self.send(Operation::BlockListSnapshots, &[], &query, None)
            .await
            .and_then(|answer| decode(Operation::BlockListSnapshots, &answer))
    }

    pub async fn create_snapshot(self, request: &CreateSnapshotRequest) -> Result<Snapshot> {
        self.json(Operation::BlockCreateSnapshot, &[], Some(body(request)?))
            .await
    }

    pub async fn import_snapshot(
        self,
        request: &ImportSnapshotFromObjectStorageRequest,
    ) -> Result<Snapshot> {
        self.json(
            Operation::BlockImportSnapshotFromObjectStorage,
            &[],
            Some(body(request)?),
        )
        .await
    }

    pub async fn export_snapshot(
        self,
        snapshot_id: &str,
        request: &ExportSnapshotToObjectStorageRequest,
    ) -> Result<Snapshot> {
        self.json(
            Operation::BlockExportSnapshotToObjectStorage,
            &[("snapshot_id", snapshot_id)],
            Some(body(request)?),
        )
        .await
    }

    pub async fn delete_snapshot(self, snapshot_id: &str) -> Result<()> {
        self.send(
            Operation::BlockDeleteSnapshot,
            &[("snapshot_id", snapshot_id)],
            &[],
            None,
        )
        .await
        .map(drop)
    }

    async fn json<T: DeserializeOwned>(
        self,
        operation: Operation,
        params: &[(&str, &str)],
        body: Option<InvokeBody>,
    ) -> Result<T> {
        let answer = self.send(operation, params, &[], body).await?;
        decode(operation, &answer)
    }

    /// One call; a 2xx answer, or the error answer as an [`Error`].
    async fn send(
        self,
        operation: Operation,
        params: &[(&str, &str)],
        query: &[(String, String)],
        body: Option<InvokeBody>,
    ) -> Result<InvokeResponse> {
        let params: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let answer = self
            .client
            .invoke(operation, self.zone, &params, query, body)
            .await?;
        if answer.is_success() {
            Ok(answer)
        } else {
            Err(error_of(operation, &answer))
        }
    }
}

fn body<B: Serialize>(request: &B) -> Result<InvokeBody> {
    Ok(InvokeBody {
        bytes: serde_json::to_vec(request).map_err(|e| Error::InvalidRequest(e.to_string()))?,
        content_type: "application/json".to_owned(),
    })
}

fn decode<T: DeserializeOwned>(operation: Operation, answer: &InvokeResponse) -> Result<T> {
    let endpoint = operation.endpoint();
    serde_json::from_slice(&answer.body).map_err(|e| Error::Decode {
        status: answer.status,
        reason: e.to_string(),
        method: endpoint.method.as_str(),
        template: endpoint.path,
    })
}

/// A query struct as `key=value` pairs (lists are already comma-joined by their serializer).
fn query_pairs<Q: Serialize>(query: &Q) -> Result<Vec<(String, String)>> {
    let Value::Object(map) =
        serde_json::to_value(query).map_err(|e| Error::InvalidRequest(e.to_string()))?
    else {
        return Err(Error::InvalidRequest("a query must be an object".into()));
    };
    let mut pairs = Vec::with_capacity(map.len());
    for (key, value) in map {
        let value = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            other => {
                return Err(Error::InvalidRequest(format!(
                    "query parameter {key} cannot be {other}"
                )));
            }
        };
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// The client's error for an error answer that retrying cannot change.
fn error_of(operation: Operation, answer: &InvokeResponse) -> Error {
    let endpoint = operation.endpoint();
    let request_id = answer.headers.get("x-request-id").cloned();
    let is_json = answer
        .content_type
        .as_deref()
        .is_some_and(|ct| ct.trim_start().starts_with("application/json"));
    if is_json && let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&answer.body) {
        return Error::Api {
            status: answer.status,
            source: Box::new(ApiError::from_body(map)),
            request_id,
            retry_after: None,
            method: endpoint.method.as_str(),
            template: endpoint.path,
        };
    }
    let kept = &answer.body[..answer.body.len().min(MAX_ERROR_BODY)];
    Error::Status {
        status: answer.status,
        content_type: answer.content_type.clone(),
        body: String::from_utf8_lossy(kept).into_owned(),
        request_id,
        retry_after: None,
        method: endpoint.method.as_str(),
        template: endpoint.path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, content_type: &str, body: &str) -> InvokeResponse {
        InvokeResponse {
            status,
            body: body.as_bytes().to_vec(),
            content_type: Some(content_type.to_owned()),
            total_count: None,
            headers: BTreeMap::from([("x-request-id".to_owned(), "rq".to_owned())]),
            attempts: 1,
        }
    }

    #[test]
    fn error_answers_become_the_client_s_errors() {
        let not_found = answer(
            404,
            "application/json",
            r#"{"message": "resource is not found", "resource": "volume", "resource_id": "v", "type": "not_found"}"#,
        );
        let err = error_of(Operation::BlockGetVolume, &not_found);
        assert!(err.is_not_found(), "{err}");
        assert!(!err.retryable());
        assert!(matches!(&err, Error::Api { request_id: Some(id), .. } if id == "rq"));
        let bare = error_of(
            Operation::BlockDeleteVolume,
            &answer(409, "text/plain", "busy"),
        );
        assert!(matches!(bare, Error::Status { status: 409, ref body, .. } if body == "busy"));
    }

    #[test]
    fn queries_are_flat_pairs() {
        let query = ListVolumesQuery {
            tags: Some(vec!["fleet-job=1".into()]),
            page_size: Some(100),
            include_deleted: Some(false),
            ..Default::default()
        };
        let mut pairs = query_pairs(&query).unwrap();
        pairs.sort();
        assert_eq!(
            pairs,
            [
                ("include_deleted".to_owned(), "false".to_owned()),
                ("page_size".to_owned(), "100".to_owned()),
                ("tags".to_owned(), "fleet-job=1".to_owned()),
            ]
        );
    }
}
