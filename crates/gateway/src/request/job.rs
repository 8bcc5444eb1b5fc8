//! Long-running methods → the [`JobSpec`] the worker runs (the fleet-jobs contract).
//!
//! The upstream part of each job is the fleet-core request built by [`crate::request::convert`]; the
//! job options (`start`, `user_data`, `stop_first`, …) come from the public request.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fleet_core::Operation;
use fleet_jobs::{
    AttachVolumeJob, BlockMigrationJob, CreateImageJob, CreatePrivateNicJob, CreateServerJob,
    CreateSnapshotJob, CreateVolumeJob, DeleteServerJob, DetachVolumeJob, ExportSnapshotJob,
    FileSystemJob, JobSpec, ServerActionJob,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::errors::GatewayError;
use crate::request::convert::Prepared;
use crate::request::methods::MethodInfo;

fn body<T: DeserializeOwned>(prepared: &Prepared) -> Result<T, GatewayError> {
    let value = prepared
        .body
        .clone()
        .unwrap_or(Value::Object(Default::default()));
    serde_json::from_value(value)
        .map_err(|err| GatewayError::invalid("request", format!("cannot be sent upstream: {err}")))
}

fn flag(request: &Value, name: &str) -> bool {
    request.get(name).and_then(Value::as_bool).unwrap_or(false)
}

fn param(prepared: &Prepared, name: &str) -> String {
    prepared.path_params.get(name).cloned().unwrap_or_default()
}

fn opt_str(request: &Value, name: &str) -> Option<String> {
    request
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The job of a long-running call.
pub fn job_spec(
    info: &MethodInfo,
    request: &Value,
    prepared: &Prepared,
) -> Result<JobSpec, GatewayError> {
    let spec = match info.endpoint.operation {
        Operation::CreateServer => {
            let mut user_data = BTreeMap::new();
            if let Some(Value::Object(map)) = request.get("user_data") {
                for (key, value) in map {
                    let raw = STANDARD.decode(value.as_str().unwrap_or("")).map_err(|_| {
                        GatewayError::invalid(format!("user_data.{key}"), "is not valid bytes")
                    })?;
                    user_data.insert(key.clone(), raw);
                }
            }
            JobSpec::CreateServer(CreateServerJob {
                request: body(prepared)?,
                user_data,
                start: flag(request, "start"),
            })
        }
        Operation::ServerAction => JobSpec::ServerAction(ServerActionJob {
            server_id: param(prepared, "server_id"),
            request: body(prepared)?,
        }),
        Operation::DeleteServer => JobSpec::DeleteServer(DeleteServerJob {
            server_id: param(prepared, "server_id"),
            stop_first: flag(request, "stop_first"),
            delete_volumes: flag(request, "delete_volumes"),
            delete_ips: flag(request, "delete_ips"),
        }),
        Operation::AttachServerVolume => JobSpec::AttachVolume(AttachVolumeJob {
            server_id: param(prepared, "server_id"),
            request: body(prepared)?,
            stop_if_needed: flag(request, "stop_if_needed"),
        }),
        Operation::DetachServerVolume => JobSpec::DetachVolume(DetachVolumeJob {
            server_id: param(prepared, "server_id"),
            request: body(prepared)?,
            stop_if_needed: flag(request, "stop_if_needed"),
        }),
        Operation::AttachServerFileSystem => JobSpec::AttachFileSystem(FileSystemJob {
            server_id: param(prepared, "server_id"),
            filesystem_id: opt_str(request, "filesystem_id").unwrap_or_default(),
        }),
        Operation::DetachServerFileSystem => JobSpec::DetachFileSystem(FileSystemJob {
            server_id: param(prepared, "server_id"),
            filesystem_id: opt_str(request, "filesystem_id").unwrap_or_default(),
        }),
        Operation::CreateSnapshot => JobSpec::CreateSnapshot(CreateSnapshotJob {
            request: body(prepared)?,
        }),
        Operation::ExportSnapshot => JobSpec::ExportSnapshot(ExportSnapshotJob {
            snapshot_id: param(prepared, "snapshot_id"),
            request: body(prepared)?,
        }),
        Operation::CreateImage => JobSpec::CreateImage(CreateImageJob {
            request: body(prepared)?,
        }),
        Operation::CreateVolume => JobSpec::CreateVolume(CreateVolumeJob {
            request: body(prepared)?,
            perf_iops: None,
        }),
        Operation::CreatePrivateNic => JobSpec::CreatePrivateNic(CreatePrivateNicJob {
            server_id: param(prepared, "server_id"),
            request: body(prepared)?,
        }),
        Operation::ApplyBlockMigration => JobSpec::BlockMigration(BlockMigrationJob {
            volume_id: opt_str(request, "volume_id"),
            snapshot_id: opt_str(request, "snapshot_id"),
            validation_key: opt_str(request, "validation_key"),
        }),
        other => {
            return Err(GatewayError::Internal(format!(
                "{} is marked long-running but has no job kind",
                other.name()
            )));
        }
    };
    Ok(spec)
}
