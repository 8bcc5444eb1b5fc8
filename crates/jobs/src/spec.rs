//! What a long-running operation asks for: one variant per kind, stored as the job's `args`.
//!
//! Result JSON per kind (`job.result`): create_server, attach/detach volume and file system →
//! a server object; server actions → [`ServerActionOutput`]; delete_server →
//! [`DeleteServerOutput`]; create_snapshot → a snapshot; export_snapshot →
//! [`ExportSnapshotOutput`]; create_image → an image; create_volume → a volume;
//! create_private_nic → a private NIC; block migration → the migration plan it applied;
//! block_update_volume → a volume; block_import_snapshot → a snapshot; update_server_tags and
//! change_server_type → a server.
//!
//! Volumes and snapshots in results are fleet's unified shapes
//! (`fleet_core::block::unified`): the Instance object, or a Block one converted to it.
//! Volume and snapshot jobs take ids of either API; the worker finds which holds them.

use std::collections::BTreeMap;
use std::time::Duration;

use fleet_core::block::{self, ImportSnapshotFromObjectStorageRequest, UpdateVolumeRequest};
use fleet_core::catalog::Api;
use fleet_core::{
    AttachServerVolumeRequest, CreateImageRequest, CreatePrivateNicRequest, CreateServerRequest,
    CreateSnapshotRequest, CreateVolumeRequest, DetachServerVolumeRequest, ExportSnapshotRequest,
    Image, ImageState, Operation, PrivateNicState, Server, ServerActionRequest, ServerState,
    Snapshot, SnapshotState, Task, VolumeState,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A resource family a job acts on (and the worker's watcher observes).
///
/// Volumes and snapshots come in two kinds each, one per API that holds them: callers see one
/// volume or snapshot ([`ResourceKind::public`]), the worker reads a Block one through the
/// Block API ([`ResourceKind::api`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    Server,
    Snapshot,
    Volume,
    Image,
    PrivateNic,
    /// An SBS volume, held by the Block API.
    BlockVolume,
    /// An SBS snapshot, held by the Block API.
    BlockSnapshot,
}

impl ResourceKind {
    /// Singular name used in serialization keys.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Server => "server",
            ResourceKind::Volume => "volume",
            ResourceKind::Snapshot => "snapshot",
            ResourceKind::Image => "image",
            ResourceKind::PrivateNic => "private_nic",
            ResourceKind::BlockVolume => "block_volume",
            ResourceKind::BlockSnapshot => "block_snapshot",
        }
    }

    /// The kind callers see: a Block volume is a volume, a Block snapshot a snapshot.
    pub fn public(self) -> ResourceKind {
        match self {
            ResourceKind::BlockVolume => ResourceKind::Volume,
            ResourceKind::BlockSnapshot => ResourceKind::Snapshot,
            other => other,
        }
    }

    /// The API that holds resources of this kind.
    pub fn api(self) -> Api {
        self.get_operation().api()
    }

    /// Whether `state` is one a resource of this kind passes through (`fleet-core`'s transient
    /// table; an unknown state is not transient).
    pub fn is_transient(self, state: &str) -> bool {
        match self {
            ResourceKind::Server => ServerState::from(state).is_transient(),
            ResourceKind::Snapshot => SnapshotState::from(state).is_transient(),
            ResourceKind::Volume => VolumeState::from(state).is_transient(),
            ResourceKind::Image => ImageState::from(state).is_transient(),
            ResourceKind::PrivateNic => PrivateNicState::from(state).is_transient(),
            ResourceKind::BlockVolume => block::VolumeStatus::from(state).is_transient(),
            ResourceKind::BlockSnapshot => block::SnapshotStatus::from(state).is_transient(),
        }
    }

    /// The catalog GET that reads one resource of this kind.
    pub fn get_operation(self) -> Operation {
        match self {
            ResourceKind::Server => Operation::GetServer,
            ResourceKind::Snapshot => Operation::GetSnapshot,
            ResourceKind::Volume => Operation::GetVolume,
            ResourceKind::Image => Operation::GetImage,
            ResourceKind::PrivateNic => Operation::GetPrivateNic,
            ResourceKind::BlockVolume => Operation::BlockGetVolume,
            ResourceKind::BlockSnapshot => Operation::BlockGetSnapshot,
        }
    }

    /// Collection name in resource names (`zones/{zone}/servers/{id}`); one per public kind.
    pub fn collection(self) -> &'static str {
        match self {
            ResourceKind::Server => "servers",
            ResourceKind::Volume | ResourceKind::BlockVolume => "volumes",
            ResourceKind::Snapshot | ResourceKind::BlockSnapshot => "snapshots",
            ResourceKind::Image => "images",
            ResourceKind::PrivateNic => "private_nics",
        }
    }
}

/// A long-running operation. Serialized (internally tagged by `type`) as the job's `args`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobSpec {
    CreateServer(CreateServerJob),
    ServerAction(ServerActionJob),
    DeleteServer(DeleteServerJob),
    AttachVolume(AttachVolumeJob),
    DetachVolume(DetachVolumeJob),
    AttachFileSystem(FileSystemJob),
    DetachFileSystem(FileSystemJob),
    CreateSnapshot(CreateSnapshotJob),
    ExportSnapshot(ExportSnapshotJob),
    CreateImage(CreateImageJob),
    CreateVolume(CreateVolumeJob),
    CreatePrivateNic(CreatePrivateNicJob),
    BlockMigration(BlockMigrationJob),
    UpdateBlockVolume(UpdateBlockVolumeJob),
    ImportBlockSnapshot(ImportBlockSnapshotJob),
    UpdateServerTags(UpdateServerTagsJob),
    ChangeServerType(ChangeServerTypeJob),
}

/// `POST servers`, then optionally user data and power-on until `running`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateServerJob {
    /// The upstream create body (the job adds its [`crate::job_tag`] to `tags`).
    pub request: CreateServerRequest,
    /// User data set after create and before power-on, key → raw bytes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub user_data: BTreeMap<String, Vec<u8>>,
    /// Power on and wait for `running`.
    pub start: bool,
}

/// `POST servers/{id}/action` and wait until the action's target state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerActionJob {
    pub server_id: String,
    /// The upstream body; `action` is always set.
    pub request: ServerActionRequest,
}

/// `DELETE servers/{id}`, optionally powering off first and deleting what it leaves behind.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeleteServerJob {
    pub server_id: String,
    /// Power off (and wait for `stopped`) first: Scaleway refuses to delete a running server.
    pub stop_first: bool,
    /// Delete the volumes the server leaves behind.
    pub delete_volumes: bool,
    /// Delete its flexible IPs.
    pub delete_ips: bool,
}

/// `POST servers/{id}/attach-volume`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AttachVolumeJob {
    pub server_id: String,
    pub request: AttachServerVolumeRequest,
    /// When the volume type needs a stopped server (local volumes), power off first and back
    /// on after, instead of failing.
    pub stop_if_needed: bool,
}

/// `POST servers/{id}/detach-volume`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DetachVolumeJob {
    pub server_id: String,
    pub request: DetachServerVolumeRequest,
    /// As for [`AttachVolumeJob::stop_if_needed`].
    pub stop_if_needed: bool,
}

/// `POST servers/{id}/attach-filesystem` or `detach-filesystem`, waiting for the attachment.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FileSystemJob {
    pub server_id: String,
    pub filesystem_id: String,
}

/// A snapshot of a volume of either API (Instance `POST snapshots`, or Block `POST
/// snapshots` for an SBS volume), or an Instance import (`bucket`/`key`); waits for
/// `available`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateSnapshotJob {
    pub request: CreateSnapshotRequest,
}

/// An export to Object Storage of a snapshot of either API; waits until the snapshot
/// leaves `exporting`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExportSnapshotJob {
    pub snapshot_id: String,
    pub request: ExportSnapshotRequest,
}

/// `POST images` and wait for `available`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateImageJob {
    pub request: CreateImageRequest,
}

/// A volume, empty or restored from a snapshot, waiting for `available`. Made in Block
/// when `volume_type` is `sbs_volume`, `perf_iops` is set or `base_snapshot` is a Block
/// snapshot; else in Instance.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateVolumeJob {
    pub request: CreateVolumeRequest,
    /// Block only: 5000 (`sbs_5k`) or 15000 (`sbs_15k`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perf_iops: Option<u32>,
}

/// Block `PATCH volumes/{id}` (grow, IOPS change, name, tags), waiting out `updating`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateBlockVolumeJob {
    pub volume_id: String,
    pub request: UpdateVolumeRequest,
}

/// Block `POST snapshots/import-from-object-storage` (a QCOW2 object), waiting for
/// `available`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportBlockSnapshotJob {
    pub request: ImportSnapshotFromObjectStorageRequest,
}

/// `POST servers/{id}/private_nics` and wait for `available`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreatePrivateNicJob {
    pub server_id: String,
    pub request: CreatePrivateNicRequest,
}

/// Block migration of a volume or a snapshot to SBS: plan (unless a validation key is given),
/// apply, wait until migrated.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BlockMigrationJob {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// From a plan the caller made; planned by the job when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_key: Option<String>,
}

/// How [`UpdateServerTagsJob`] changes a server's tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagsOperation {
    /// The tags become exactly the job's.
    #[default]
    Set,
    /// The job's tags are added (each once); the others are kept.
    Add,
    /// The job's tags are removed; the others are kept.
    Remove,
}

impl TagsOperation {
    /// The tags a server carrying `current` ends with: order kept, new ones appended.
    pub fn apply(self, current: &[String], tags: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let source = match self {
            TagsOperation::Set => tags,
            TagsOperation::Add => current,
            TagsOperation::Remove => current,
        };
        for tag in source {
            if self == TagsOperation::Remove && tags.contains(tag) {
                continue;
            }
            if !out.contains(tag) {
                out.push(tag.clone());
            }
        }
        if self == TagsOperation::Add {
            for tag in tags {
                if !out.contains(tag) {
                    out.push(tag.clone());
                }
            }
        }
        out
    }
}

/// A read-modify-write of a server's tags: `GET servers/{id}`, then `PATCH` with the tags
/// [`TagsOperation::apply`] makes (no call when they are unchanged). One job, so it is
/// serialized with the server's other jobs.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateServerTagsJob {
    pub server_id: String,
    pub operation: TagsOperation,
    pub tags: Vec<String>,
}

/// Change a server's commercial type: power off a running server (waiting for `stopped`),
/// `PATCH commercial_type`, and power it back on when it was running: the previous power
/// state is restored.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChangeServerTypeJob {
    pub server_id: String,
    pub commercial_type: String,
}

/// Error decoding a job's `args`.
#[derive(Debug, thiserror::Error)]
#[error("job args do not decode as a fleet job: {0}")]
pub struct InvalidJobArgs(#[from] serde_json::Error);

impl JobSpec {
    /// The job's `kind` label, e.g. `create_server`, `server_action.poweron`.
    pub fn kind(&self) -> String {
        match self {
            JobSpec::CreateServer(_) => "create_server".into(),
            JobSpec::ServerAction(job) => match &job.request.action {
                Some(action) => format!("server_action.{}", action.as_str()),
                None => "server_action".into(),
            },
            JobSpec::DeleteServer(_) => "delete_server".into(),
            JobSpec::AttachVolume(_) => "attach_server_volume".into(),
            JobSpec::DetachVolume(_) => "detach_server_volume".into(),
            JobSpec::AttachFileSystem(_) => "attach_server_file_system".into(),
            JobSpec::DetachFileSystem(_) => "detach_server_file_system".into(),
            JobSpec::CreateSnapshot(_) => "create_snapshot".into(),
            JobSpec::ExportSnapshot(_) => "export_snapshot".into(),
            JobSpec::CreateImage(_) => "create_image".into(),
            JobSpec::CreateVolume(_) => "create_volume".into(),
            JobSpec::CreatePrivateNic(_) => "create_private_nic".into(),
            JobSpec::BlockMigration(_) => "apply_block_migration".into(),
            JobSpec::UpdateBlockVolume(_) => "block_update_volume".into(),
            JobSpec::ImportBlockSnapshot(_) => "block_import_snapshot".into(),
            JobSpec::UpdateServerTags(_) => "update_server_tags".into(),
            JobSpec::ChangeServerType(_) => "change_server_type".into(),
        }
    }

    /// The existing resource the job acts on, if any (creates have none until they ran; a
    /// snapshot acts on its volume). Jobs on the same resource are serialized through
    /// [`crate::resource_key`]; the gateway keys a job on a volume attached to a server on
    /// that server instead, so it and the server's actions do not race.
    pub fn target(&self) -> Option<(ResourceKind, &str)> {
        match self {
            JobSpec::ServerAction(ServerActionJob { server_id, .. })
            | JobSpec::DeleteServer(DeleteServerJob { server_id, .. })
            | JobSpec::AttachVolume(AttachVolumeJob { server_id, .. })
            | JobSpec::DetachVolume(DetachVolumeJob { server_id, .. })
            | JobSpec::AttachFileSystem(FileSystemJob { server_id, .. })
            | JobSpec::DetachFileSystem(FileSystemJob { server_id, .. })
            | JobSpec::CreatePrivateNic(CreatePrivateNicJob { server_id, .. })
            | JobSpec::UpdateServerTags(UpdateServerTagsJob { server_id, .. })
            | JobSpec::ChangeServerType(ChangeServerTypeJob { server_id, .. }) => {
                Some((ResourceKind::Server, server_id))
            }
            JobSpec::ExportSnapshot(job) => Some((ResourceKind::Snapshot, &job.snapshot_id)),
            JobSpec::UpdateBlockVolume(job) => Some((ResourceKind::Volume, &job.volume_id)),
            JobSpec::CreateSnapshot(CreateSnapshotJob {
                request:
                    CreateSnapshotRequest {
                        volume_id: Some(id),
                        ..
                    },
            }) => Some((ResourceKind::Volume, id)),
            JobSpec::BlockMigration(job) => match (&job.volume_id, &job.snapshot_id) {
                (Some(id), _) => Some((ResourceKind::Volume, id)),
                (None, Some(id)) => Some((ResourceKind::Snapshot, id)),
                (None, None) => None,
            },
            JobSpec::CreateServer(_)
            | JobSpec::CreateSnapshot(_)
            | JobSpec::CreateImage(_)
            | JobSpec::CreateVolume(_)
            | JobSpec::ImportBlockSnapshot(_) => None,
        }
    }

    /// How long the whole operation may take before it fails with `deadline_exceeded`.
    /// Generous upper bounds of what Scaleway takes, so a stuck resource is reported rather
    /// than polled forever.
    pub fn deadline(&self) -> Duration {
        const MIN: u64 = 60;
        let minutes = match self {
            JobSpec::CreateServer(_) => 30,
            JobSpec::ServerAction(job) => match job.request.action.as_ref().map(|a| a.as_str()) {
                Some("backup") => 6 * 60,
                _ => 30,
            },
            JobSpec::DeleteServer(_) => 30,
            JobSpec::AttachVolume(_) | JobSpec::DetachVolume(_) => 30,
            JobSpec::AttachFileSystem(_) | JobSpec::DetachFileSystem(_) => 15,
            JobSpec::CreateSnapshot(_) | JobSpec::CreateImage(_) => 6 * 60,
            JobSpec::ExportSnapshot(_) => 12 * 60,
            JobSpec::CreateVolume(_) => 60,
            JobSpec::CreatePrivateNic(_) => 15,
            JobSpec::BlockMigration(_) => 6 * 60,
            JobSpec::UpdateBlockVolume(_) => 60,
            JobSpec::ImportBlockSnapshot(_) => 6 * 60,
            JobSpec::UpdateServerTags(_) => 5,
            // Two power transitions and the change.
            JobSpec::ChangeServerType(_) => 60,
        };
        Duration::from_secs(minutes * MIN)
    }

    /// Serializes the spec as the job's `args`.
    pub fn to_args(&self) -> Value {
        // A JobSpec holds only strings, numbers, maps and byte vectors: it always serializes.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Decodes a job's `args`.
    pub fn from_args(args: &Value) -> Result<Self, InvalidJobArgs> {
        Ok(serde_json::from_value(args.clone())?)
    }
}

/// Result of a server action (`fleet.v1.ServerActionResult`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerActionOutput {
    pub action: String,
    /// The server in its final state (absent after terminate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<Server>,
    /// The image a backup created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
}

/// Result of a server delete (`fleet.v1.DeleteServerResult`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeleteServerOutput {
    pub server_id: String,
    pub deleted_volumes: Vec<String>,
    pub deleted_ips: Vec<String>,
}

/// Result of a snapshot export (`fleet.v1.ExportSnapshotResult`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExportSnapshotOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Snapshot>,
    pub object_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
}

#[cfg(test)]
mod tests {
    use fleet_core::ServerAction;

    use super::*;

    #[test]
    fn args_round_trip_with_type_tag() {
        let spec = JobSpec::ServerAction(ServerActionJob {
            server_id: "s1".into(),
            request: ServerActionRequest::new(ServerAction::Poweron),
        });
        let args = spec.to_args();
        assert_eq!(args["type"], "server_action");
        assert_eq!(args["request"]["action"], "poweron");
        assert_eq!(JobSpec::from_args(&args).unwrap(), spec);
        assert_eq!(spec.kind(), "server_action.poweron");
        assert_eq!(spec.target(), Some((ResourceKind::Server, "s1")));
    }

    #[test]
    fn unknown_type_is_an_error() {
        let err = JobSpec::from_args(&serde_json::json!({"type": "mine_bitcoin"})).unwrap_err();
        assert!(err.to_string().contains("mine_bitcoin"), "{err}");
    }

    #[test]
    fn creates_have_no_target_until_they_ran() {
        let spec = JobSpec::CreateServer(CreateServerJob::default());
        assert_eq!(spec.target(), None);
        assert_eq!(spec.kind(), "create_server");
        let import = JobSpec::ImportBlockSnapshot(ImportBlockSnapshotJob::default());
        assert_eq!(import.target(), None);
    }

    #[test]
    fn a_snapshot_and_a_resize_act_on_their_volume() {
        let snapshot = JobSpec::CreateSnapshot(CreateSnapshotJob {
            request: CreateSnapshotRequest {
                volume_id: Some("v1".into()),
                ..Default::default()
            },
        });
        assert_eq!(snapshot.target(), Some((ResourceKind::Volume, "v1")));
        let resize = JobSpec::UpdateBlockVolume(UpdateBlockVolumeJob {
            volume_id: "v2".into(),
            request: UpdateVolumeRequest {
                size: Some(20_000_000_000),
                ..Default::default()
            },
        });
        assert_eq!(resize.target(), Some((ResourceKind::Volume, "v2")));
        assert_eq!(resize.kind(), "block_update_volume");
        let args = resize.to_args();
        assert_eq!(args["type"], "update_block_volume");
        assert_eq!(JobSpec::from_args(&args).unwrap(), resize);
    }

    #[test]
    fn tag_operations_keep_order_and_never_repeat_a_tag() {
        let tags = |t: &[&str]| -> Vec<String> { t.iter().map(|s| s.to_string()).collect() };
        let current = tags(&["web", "prod", "web"]);
        assert_eq!(
            TagsOperation::Set.apply(&current, &tags(&["a", "b", "a"])),
            tags(&["a", "b"])
        );
        assert_eq!(
            TagsOperation::Add.apply(&current, &tags(&["prod", "new"])),
            tags(&["web", "prod", "new"])
        );
        assert_eq!(
            TagsOperation::Remove.apply(&current, &tags(&["web", "absent"])),
            tags(&["prod"])
        );
        let job = JobSpec::UpdateServerTags(UpdateServerTagsJob {
            server_id: "s".into(),
            operation: TagsOperation::Remove,
            tags: tags(&["x"]),
        });
        assert_eq!(job.to_args()["operation"], "remove");
        assert_eq!(JobSpec::from_args(&job.to_args()).unwrap(), job);
        assert_eq!(job.target(), Some((ResourceKind::Server, "s")));
    }

    #[test]
    fn transient_states_are_core_s() {
        let table = [
            (ResourceKind::Server, &["starting", "stopping"][..]),
            (
                ResourceKind::Snapshot,
                &["snapshotting", "importing", "exporting"][..],
            ),
            (
                ResourceKind::Volume,
                &[
                    "snapshotting",
                    "fetching",
                    "saving",
                    "attaching",
                    "resizing",
                    "hotsyncing",
                ][..],
            ),
            (ResourceKind::Image, &["creating"][..]),
            (ResourceKind::PrivateNic, &["syncing"][..]),
            (
                ResourceKind::BlockVolume,
                &["creating", "updating", "resizing", "deleting"][..],
            ),
            (
                ResourceKind::BlockSnapshot,
                &["creating", "exporting", "deleting"][..],
            ),
        ];
        for (kind, transient) in table {
            for state in transient {
                assert!(kind.is_transient(state), "{kind:?} {state}");
            }
            for state in [
                "available",
                "running",
                "stopped",
                "error",
                "gone",
                "unknown",
            ] {
                assert!(!kind.is_transient(state), "{kind:?} {state}");
            }
        }
        assert_eq!(ResourceKind::Server.get_operation(), Operation::GetServer);
        assert_eq!(
            ResourceKind::BlockVolume.get_operation(),
            Operation::BlockGetVolume
        );
        assert_eq!(ResourceKind::BlockSnapshot.api(), Api::Block);
        assert_eq!(ResourceKind::Snapshot.api(), Api::Instance);
        assert_eq!(ResourceKind::BlockVolume.public(), ResourceKind::Volume);
        assert_eq!(ResourceKind::BlockSnapshot.collection(), "snapshots");
        assert_eq!(
            ResourceKind::PrivateNic.get_operation().name(),
            "get_private_nic"
        );
    }
}
