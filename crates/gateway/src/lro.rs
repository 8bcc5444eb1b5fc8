//! Long-running methods → the [`JobSpec`] the worker runs (the fleet-jobs contract).
//!
//! The upstream part of each job is the fleet-core request built by [`crate::convert`]; the
//! job options (`start`, `user_data`, `stop_first`, …) come from the public request.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fleet_jobs::{
    AttachVolumeJob, BlockMigrationJob, CreateImageJob, CreatePrivateNicJob, CreateServerJob,
    CreateSnapshotJob, CreateVolumeJob, DeleteServerJob, DetachVolumeJob, ExportSnapshotJob,
    FileSystemJob, JobSpec, ResourceKind, ServerActionJob,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::convert::{MethodInfo, Prepared};
use crate::errors::GatewayError;

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
    let spec = match info.operation() {
        "create_server" => {
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
        "server_action" => JobSpec::ServerAction(ServerActionJob {
            server_id: param(prepared, "server_id"),
            request: body(prepared)?,
        }),
        "delete_server" => JobSpec::DeleteServer(DeleteServerJob {
            server_id: param(prepared, "server_id"),
            stop_first: flag(request, "stop_first"),
            delete_volumes: flag(request, "delete_volumes"),
            delete_ips: flag(request, "delete_ips"),
        }),
        "attach_server_volume" => JobSpec::AttachVolume(AttachVolumeJob {
            server_id: param(prepared, "server_id"),
            request: body(prepared)?,
            stop_if_needed: flag(request, "stop_if_needed"),
        }),
        "detach_server_volume" => JobSpec::DetachVolume(DetachVolumeJob {
            server_id: param(prepared, "server_id"),
            request: body(prepared)?,
            stop_if_needed: flag(request, "stop_if_needed"),
        }),
        "attach_server_file_system" => JobSpec::AttachFileSystem(FileSystemJob {
            server_id: param(prepared, "server_id"),
            filesystem_id: opt_str(request, "filesystem_id").unwrap_or_default(),
        }),
        "detach_server_file_system" => JobSpec::DetachFileSystem(FileSystemJob {
            server_id: param(prepared, "server_id"),
            filesystem_id: opt_str(request, "filesystem_id").unwrap_or_default(),
        }),
        "create_snapshot" => JobSpec::CreateSnapshot(CreateSnapshotJob {
            request: body(prepared)?,
        }),
        "export_snapshot" => JobSpec::ExportSnapshot(ExportSnapshotJob {
            snapshot_id: param(prepared, "snapshot_id"),
            request: body(prepared)?,
        }),
        "create_image" => JobSpec::CreateImage(CreateImageJob {
            request: body(prepared)?,
        }),
        "create_volume" => JobSpec::CreateVolume(CreateVolumeJob {
            request: body(prepared)?,
        }),
        "create_private_nic" => JobSpec::CreatePrivateNic(CreatePrivateNicJob {
            server_id: param(prepared, "server_id"),
            request: body(prepared)?,
        }),
        "apply_block_migration" => JobSpec::BlockMigration(BlockMigrationJob {
            volume_id: opt_str(request, "volume_id"),
            snapshot_id: opt_str(request, "snapshot_id"),
            validation_key: opt_str(request, "validation_key"),
        }),
        other => {
            return Err(GatewayError::Internal(format!(
                "{other} is marked long-running but has no job kind"
            )));
        }
    };
    Ok(spec)
}

/// The catalog GET that reads a job's target, and its path parameter.
pub fn target_lookup(kind: ResourceKind) -> Option<(&'static str, &'static str)> {
    match kind {
        ResourceKind::Server => Some(("get_server", "server_id")),
        ResourceKind::Snapshot => Some(("get_snapshot", "snapshot_id")),
        ResourceKind::Volume => Some(("get_volume", "volume_id")),
        ResourceKind::Image => Some(("get_image", "image_id")),
        ResourceKind::PrivateNic => None,
    }
}

/// The fully qualified response type of a job kind (`Operation.response`).
pub fn response_type(kind: &str) -> &'static str {
    match kind {
        k if k.starts_with("server_action") => "fleet.v1.ServerActionResult",
        "delete_server" => "fleet.v1.DeleteServerResult",
        "create_snapshot" => "fleet.v1.Snapshot",
        "export_snapshot" => "fleet.v1.ExportSnapshotResult",
        "create_image" => "fleet.v1.Image",
        "create_volume" => "fleet.v1.Volume",
        "create_private_nic" => "fleet.v1.PrivateNic",
        "apply_block_migration" => "fleet.v1.MigrationPlan",
        _ => "fleet.v1.Server",
    }
}
