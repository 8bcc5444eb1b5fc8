//! Long-running methods → the [`JobSpec`] the worker runs (the fleet-jobs contract).
//!
//! The upstream part of each job is the fleet-core request built by [`crate::request::convert`]; the
//! job options (`start`, `user_data`, `stop_first`, CreateVolume's `perf_iops`, …) come from the
//! public request.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fleet_core::Operation;
use fleet_jobs::{
    AttachVolumeJob, BlockMigrationJob, CreateImageJob, CreatePrivateNicJob, CreateServerJob,
    CreateSnapshotJob, CreateVolumeJob, DeleteServerJob, DetachVolumeJob, ExportSnapshotJob,
    FileSystemJob, ImportBlockSnapshotJob, JobSpec, ServerActionJob, UpdateBlockVolumeJob,
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

fn opt_u32(request: &Value, name: &str) -> Result<Option<u32>, GatewayError> {
    match request.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| GatewayError::invalid(name, format!("must be a number; got {value}"))),
    }
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
            perf_iops: opt_u32(request, "perf_iops")?,
        }),
        Operation::BlockUpdateVolume => JobSpec::UpdateBlockVolume(UpdateBlockVolumeJob {
            volume_id: param(prepared, "volume_id"),
            request: body(prepared)?,
        }),
        Operation::BlockImportSnapshotFromObjectStorage => {
            JobSpec::ImportBlockSnapshot(ImportBlockSnapshotJob {
                request: body(prepared)?,
            })
        }
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

#[cfg(test)]
mod tests {
    use fleet_core::block;
    use fleet_core::catalog::Api;
    use fleet_proto::json::to_json;
    use fleet_proto::v1;
    use serde_json::json;

    use super::*;
    use crate::request::methods::method;
    use crate::request::{Plan, plan, rules::validate};

    const VOLUME: &str = "11111111-2222-3333-4444-555555555555";
    const PROJECT: &str = "22222222-2222-3333-4444-555555555555";

    /// The job a request plans to, after the field rules.
    fn spec_of(grpc_method: &str, request: &Value) -> JobSpec {
        let info = method(grpc_method).unwrap();
        validate(info, request).unwrap();
        match plan(info, request).unwrap() {
            Plan::LongRunning(spec) => *spec,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn create_volume_takes_perf_iops_as_a_job_option() {
        let request = to_json(&v1::CreateVolumeRequest {
            zone: "fr-par-1".into(),
            name: "data".into(),
            volume_type: Some("sbs_volume".into()),
            size: Some(20_000_000_000),
            perf_iops: Some(15000),
            ..Default::default()
        });
        let JobSpec::CreateVolume(job) = spec_of("fleet.v1.Volumes/CreateVolume", &request) else {
            panic!("not a volume create");
        };
        assert_eq!(job.perf_iops, Some(15000));
        // The Instance body the worker starts from carries no Block key.
        let body = serde_json::to_value(&job.request).unwrap();
        assert_eq!(
            body,
            json!({"name": "data", "tags": [], "volume_type": "sbs_volume", "size": 20_000_000_000u64})
        );
        let plain = to_json(&v1::CreateVolumeRequest {
            zone: "fr-par-1".into(),
            name: "scratch".into(),
            size: Some(20_000_000_000),
            ..Default::default()
        });
        let JobSpec::CreateVolume(job) = spec_of("fleet.v1.Volumes/CreateVolume", &plain) else {
            panic!("not a volume create");
        };
        assert_eq!(job.perf_iops, None);
    }

    #[test]
    fn resize_is_a_block_update_keeping_perf_iops_in_its_body() {
        let request = to_json(&v1::ResizeVolumeRequest {
            zone: "fr-par-1".into(),
            volume_id: VOLUME.into(),
            size: Some(40_000_000_000),
            perf_iops: Some(15000),
            ..Default::default()
        });
        let spec = spec_of("fleet.v1.Volumes/ResizeVolume", &request);
        assert_eq!(
            spec,
            JobSpec::UpdateBlockVolume(UpdateBlockVolumeJob {
                volume_id: VOLUME.into(),
                request: block::UpdateVolumeRequest {
                    size: Some(40_000_000_000),
                    perf_iops: Some(15000),
                    ..Default::default()
                },
            })
        );
        assert_eq!(spec.kind(), "block_update_volume");
    }

    #[test]
    fn import_is_a_block_import_naming_the_project_as_block_does() {
        let request = to_json(&v1::ImportSnapshotRequest {
            zone: "fr-par-1".into(),
            bucket: "backups".into(),
            key: "web-1.qcow2".into(),
            name: "web-1".into(),
            project: Some(PROJECT.into()),
            tags: vec!["restore".into()],
            size: Some(10_000_000_000),
            ..Default::default()
        });
        let info = method("fleet.v1.Snapshots/ImportSnapshot").unwrap();
        assert_eq!(info.endpoint.api(), Api::Block);
        let JobSpec::ImportBlockSnapshot(job) =
            spec_of("fleet.v1.Snapshots/ImportSnapshot", &request)
        else {
            panic!("not an import");
        };
        assert_eq!(
            serde_json::to_value(&job.request).unwrap(),
            json!({"bucket": "backups", "key": "web-1.qcow2", "name": "web-1",
                   "project_id": PROJECT, "tags": ["restore"], "size": 10_000_000_000u64})
        );
    }
}
