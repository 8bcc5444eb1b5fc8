//! What each child of a batch does: the typed action ([`BatchAction`], from the proto's
//! `BatchAction` oneof, stored with the batch) and the one mapping from an action and a child
//! to the child's job ([`BatchAction::child_job`]).
//!
//! Wherever a single RPC does the same thing, the child is built exactly as that RPC would
//! build its job: the RPC's public request is made and goes through the same field rules and
//! [`crate::request::plan`]. Tags and commercial type changes have no long-running RPC; their
//! jobs (`update_server_tags`, `change_server_type`) are built here and recorded under
//! `UpdateServer`, whose answer (a server) is theirs.

use fleet_core::ServerAction;
use fleet_jobs::{
    ChangeServerTypeJob, JobSpec, ResourceKind, TagsOperation, UpdateServerTagsJob, resource_key,
};
use fleet_proto::v1;
use fleet_proto::v1::batch_action::Action as ProtoAction;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use super::ChildRow;
use crate::call::long_running::serialization_key;
use crate::errors::GatewayError;
use crate::request::methods::method;
use crate::request::rules::validate;
use crate::request::{Plan, plan};

const POWER_ON: &str = "fleet.v1.ServerActions/PowerOnServer";
const POWER_OFF: &str = "fleet.v1.ServerActions/PowerOffServer";
const STOP_IN_PLACE: &str = "fleet.v1.ServerActions/StopServerInPlace";
const REBOOT: &str = "fleet.v1.ServerActions/RebootServer";
const TERMINATE: &str = "fleet.v1.ServerActions/TerminateServer";
const BACKUP: &str = "fleet.v1.ServerActions/BackupServer";
const ENABLE_ROUTED_IP: &str = "fleet.v1.ServerActions/EnableRoutedIp";
const CREATE_SNAPSHOT: &str = "fleet.v1.Snapshots/CreateSnapshot";
const APPLY_BLOCK_MIGRATION: &str = "fleet.v1.BlockMigration/ApplyBlockMigration";
const DELETE_SERVER: &str = "fleet.v1.Servers/DeleteServer";
const UPDATE_SERVER: &str = "fleet.v1.Servers/UpdateServer";

const DEFAULT_BACKUP_NAME: &str = "{name}-backup-{batch}";
const DEFAULT_SNAPSHOT_NAME: &str = "{name}-{batch}";
/// The placeholders of a name template.
const TEMPLATE_KEYS: [&str; 4] = ["name", "id", "batch", "position"];

/// A batch's action, as checked at create and stored in `batches.spec`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BatchAction {
    /// poweron, poweroff, stop_in_place, reboot or terminate.
    Power {
        action: ServerAction,
    },
    Backup {
        name_template: String,
    },
    EnableRoutedIp {
        disable_ipv6: bool,
    },
    Snapshot {
        name_template: String,
        tags: Vec<String>,
        /// Server selections: each server's root volume (slot 0) only.
        #[serde(default)]
        root_only: bool,
    },
    Tags {
        operation: TagsOperation,
        tags: Vec<String>,
    },
    ChangeType {
        commercial_type: String,
    },
    BlockMigration,
    Delete {
        stop_first: bool,
        delete_volumes: bool,
        delete_ips: bool,
    },
}

/// Reads the action of a stored batch. Batches stored before every action was served hold the
/// power action's bare name (`"reboot"`); they are read as that power action, so a batch
/// accepted before an upgrade runs on after it.
pub(super) fn stored_action<'de, D: Deserializer<'de>>(d: D) -> Result<BatchAction, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Current(BatchAction),
        PowerName(ServerAction),
    }
    match Stored::deserialize(d)? {
        Stored::Current(action) => Ok(action),
        Stored::PowerName(action) if power_rpc(&action).is_some() => {
            Ok(BatchAction::Power { action })
        }
        Stored::PowerName(action) => Err(serde::de::Error::custom(format!(
            "stored batch action {:?} is not a power action",
            action.as_str()
        ))),
    }
}

/// The RPC of a power action; `None` for the server actions that are not power actions
/// (backup and routed IPs have their own batch actions, with options).
fn power_rpc(action: &ServerAction) -> Option<&'static str> {
    match action {
        ServerAction::Poweron => Some(POWER_ON),
        ServerAction::Poweroff => Some(POWER_OFF),
        ServerAction::StopInPlace => Some(STOP_IN_PLACE),
        ServerAction::Reboot => Some(REBOOT),
        ServerAction::Terminate => Some(TERMINATE),
        ServerAction::Backup | ServerAction::EnableRoutedIp | ServerAction::Other(_) => None,
    }
}

/// The job one child runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildJob {
    /// The public method whose job it is (its operation's `method`).
    pub method: &'static str,
    pub spec: JobSpec,
    /// Its serialization key: the server, or the volume's server for a volume attached to one.
    pub resource: String,
}

fn invalid(field: &str, message: impl Into<String>) -> GatewayError {
    GatewayError::invalid(format!("action.{field}"), message)
}

impl BatchAction {
    /// The action a request names, with its offline checks (name templates, tags, type).
    pub fn from_proto(action: Option<&v1::BatchAction>) -> Result<Self, GatewayError> {
        let Some(action) = action.and_then(|a| a.action.as_ref()) else {
            return Err(GatewayError::invalid(
                "action",
                "required: power, backup, enable_routed_ip, snapshot, tags, \
                 change_commercial_type, apply_block_migration or delete",
            ));
        };
        let parsed = match action {
            ProtoAction::Power(power) => {
                let action = match v1::BatchPowerAction::try_from(*power) {
                    Ok(v1::BatchPowerAction::Poweron) => ServerAction::Poweron,
                    Ok(v1::BatchPowerAction::Poweroff) => ServerAction::Poweroff,
                    Ok(v1::BatchPowerAction::StopInPlace) => ServerAction::StopInPlace,
                    Ok(v1::BatchPowerAction::Reboot) => ServerAction::Reboot,
                    Ok(v1::BatchPowerAction::Terminate) => ServerAction::Terminate,
                    Ok(v1::BatchPowerAction::Unspecified) | Err(_) => {
                        return Err(invalid(
                            "power",
                            format!(
                                "must be poweron, poweroff, stop_in_place, reboot or \
                                 terminate; got {power}"
                            ),
                        ));
                    }
                };
                Self::Power { action }
            }
            ProtoAction::Backup(backup) => Self::Backup {
                name_template: template(&backup.name_template, DEFAULT_BACKUP_NAME, "backup")?,
            },
            ProtoAction::EnableRoutedIp(e) => Self::EnableRoutedIp {
                disable_ipv6: e.disable_ipv6,
            },
            ProtoAction::Snapshot(s) => Self::Snapshot {
                name_template: template(&s.name_template, DEFAULT_SNAPSHOT_NAME, "snapshot")?,
                tags: s.tags.clone(),
                root_only: s.root_volume_only,
            },
            ProtoAction::Tags(t) => {
                let operation = match v1::batch_tags::Operation::try_from(t.operation) {
                    Ok(v1::batch_tags::Operation::Set) => TagsOperation::Set,
                    Ok(v1::batch_tags::Operation::Add) => TagsOperation::Add,
                    Ok(v1::batch_tags::Operation::Remove) => TagsOperation::Remove,
                    _ => {
                        return Err(invalid(
                            "tags.operation",
                            format!("must be set, add or remove; got {}", t.operation),
                        ));
                    }
                };
                if operation != TagsOperation::Set && t.tags.is_empty() {
                    return Err(invalid("tags.tags", "add and remove need at least one tag"));
                }
                if let Some(i) = t.tags.iter().position(|tag| tag.trim().is_empty()) {
                    return Err(invalid(&format!("tags.tags[{i}]"), "must not be empty"));
                }
                Self::Tags {
                    operation,
                    tags: t.tags.clone(),
                }
            }
            ProtoAction::ChangeCommercialType(c) => {
                if c.commercial_type.trim().is_empty() {
                    return Err(invalid(
                        "change_commercial_type.commercial_type",
                        "required, e.g. \"DEV1-M\"",
                    ));
                }
                Self::ChangeType {
                    commercial_type: c.commercial_type.clone(),
                }
            }
            ProtoAction::ApplyBlockMigration(_) => Self::BlockMigration,
            ProtoAction::Delete(d) => Self::Delete {
                stop_first: d.stop_first,
                delete_volumes: d.delete_volumes,
                delete_ips: d.delete_ips,
            },
        };
        Ok(parsed)
    }

    /// Whether the children are volumes (one per volume of each selected server, or each
    /// selected volume) rather than servers.
    pub fn on_volumes(&self) -> bool {
        matches!(self, Self::Snapshot { .. } | Self::BlockMigration)
    }

    /// A short label of the action (logs, dry-run messages).
    pub fn label(&self) -> String {
        match self {
            Self::Power { action } => action.as_str().to_owned(),
            Self::Backup { .. } => "backup".into(),
            Self::EnableRoutedIp { .. } => "enable_routed_ip".into(),
            Self::Snapshot { .. } => "snapshot".into(),
            Self::Tags { operation, .. } => format!("tags.{operation:?}").to_lowercase(),
            Self::ChangeType { commercial_type } => {
                format!("change_commercial_type {commercial_type}")
            }
            Self::BlockMigration => "apply_block_migration".into(),
            Self::Delete { .. } => "delete".into(),
        }
    }

    /// The job of `child` of batch `batch_id`, and what it does in words.
    pub fn child_job(
        &self,
        batch_id: i64,
        child: &ChildRow,
    ) -> Result<(ChildJob, String), GatewayError> {
        let zone = child.zone.as_str();
        let target = &child.target;
        let server = target.server().unwrap_or_default();
        let name = |template: &str| {
            expand(
                template,
                &[
                    ("name", child.name.as_str()),
                    ("id", target.id()),
                    ("batch", &batch_id.to_string()),
                    ("position", &child.position.to_string()),
                ],
                "name_template",
            )
        };
        let server_request = |extra: Value| {
            let mut request = json!({ "zone": zone, "server_id": server });
            if let (Value::Object(map), Value::Object(extra)) = (&mut request, extra) {
                map.extend(extra);
            }
            request
        };
        let (rpc, request, plan_text) = match self {
            Self::Power { action } => {
                let rpc = power_rpc(action).ok_or_else(|| {
                    GatewayError::Internal(format!(
                        "batch {batch_id} stores {:?} as a power action",
                        action.as_str()
                    ))
                })?;
                let text = format!("{} server {server}", action.as_str());
                (rpc, server_request(json!({})), text)
            }
            Self::Backup { name_template } => {
                let image = name(name_template)?;
                let text = format!("back server {server} up as image {image:?}");
                (BACKUP, server_request(json!({ "name": image })), text)
            }
            Self::EnableRoutedIp { disable_ipv6 } => (
                ENABLE_ROUTED_IP,
                server_request(json!({ "disable_ipv6": disable_ipv6 })),
                format!("enable routed IPs on server {server}"),
            ),
            Self::Snapshot {
                name_template,
                tags,
                ..
            } => {
                let snapshot = name(name_template)?;
                let volume = target.id();
                let text = format!("snapshot volume {volume} as {snapshot:?}");
                let request = json!({ "zone": zone, "volume_id": volume, "name": snapshot,
                                      "tags": tags });
                (CREATE_SNAPSHOT, request, text)
            }
            Self::BlockMigration => {
                let volume = target.id();
                (
                    APPLY_BLOCK_MIGRATION,
                    json!({ "zone": zone, "volume_id": volume }),
                    format!("migrate volume {volume} to SBS"),
                )
            }
            Self::Delete {
                stop_first,
                delete_volumes,
                delete_ips,
            } => {
                let text = format!(
                    "delete server {server}{}{}{}",
                    if *stop_first {
                        ", powered off first"
                    } else {
                        ""
                    },
                    if *delete_volumes {
                        ", with its volumes"
                    } else {
                        ""
                    },
                    if *delete_ips {
                        ", with its flexible IPs"
                    } else {
                        ""
                    },
                );
                let request = server_request(json!({ "stop_first": stop_first,
                    "delete_volumes": delete_volumes, "delete_ips": delete_ips }));
                (DELETE_SERVER, request, text)
            }
            Self::Tags { operation, tags } => {
                let spec = JobSpec::UpdateServerTags(UpdateServerTagsJob {
                    server_id: server.to_owned(),
                    operation: *operation,
                    tags: tags.clone(),
                });
                let text = format!("{operation:?} tags {tags:?} on server {server}").to_lowercase();
                return Ok((direct(zone, target, spec), text));
            }
            Self::ChangeType { commercial_type } => {
                let spec = JobSpec::ChangeServerType(ChangeServerTypeJob {
                    server_id: server.to_owned(),
                    commercial_type: commercial_type.clone(),
                });
                let text = format!(
                    "change server {server} to {commercial_type} (stop, change, start \
                     if it was running)"
                );
                return Ok((direct(zone, target, spec), text));
            }
        };
        let info = method(rpc)?;
        validate(info, &request)?;
        let Plan::LongRunning(spec) = plan(info, &request)? else {
            return Err(GatewayError::Internal(format!("{rpc} is not long-running")));
        };
        let job = ChildJob {
            method: rpc,
            spec: *spec,
            resource: target.resource(zone),
        };
        Ok((job, plan_text))
    }
}

fn direct(zone: &str, target: &ChildTarget, spec: JobSpec) -> ChildJob {
    ChildJob {
        method: UPDATE_SERVER,
        spec,
        resource: target.resource(zone),
    }
}

/// What a child acts on. Stored in `batch_children.resource_id` as the server id, or as
/// `volume:{id}` / `volume:{id}:server:{server}` for a volume (ids never hold a colon), so a
/// volume child keeps the server it is serialized on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildTarget {
    Server(String),
    Volume { id: String, server: Option<String> },
}

impl ChildTarget {
    const VOLUME: &'static str = "volume:";
    const SERVER: &'static str = ":server:";

    /// The `resource_id` column.
    pub fn encode(&self) -> String {
        match self {
            Self::Server(id) => id.clone(),
            Self::Volume { id, server: None } => format!("{}{id}", Self::VOLUME),
            Self::Volume {
                id,
                server: Some(server),
            } => format!("{}{id}{}{server}", Self::VOLUME, Self::SERVER),
        }
    }

    pub fn decode(stored: &str) -> Self {
        match stored.strip_prefix(Self::VOLUME) {
            None => Self::Server(stored.to_owned()),
            Some(rest) => match rest.split_once(Self::SERVER) {
                Some((id, server)) => Self::Volume {
                    id: id.to_owned(),
                    server: Some(server.to_owned()),
                },
                None => Self::Volume {
                    id: rest.to_owned(),
                    server: None,
                },
            },
        }
    }

    /// The id acted on.
    pub fn id(&self) -> &str {
        match self {
            Self::Server(id) | Self::Volume { id, .. } => id,
        }
    }

    /// The server acted on, or the volume's.
    pub fn server(&self) -> Option<&str> {
        match self {
            Self::Server(id) => Some(id),
            Self::Volume { server, .. } => server.as_deref(),
        }
    }

    /// The volume acted on.
    pub fn volume(&self) -> Option<&str> {
        match self {
            Self::Server(_) => None,
            Self::Volume { id, .. } => Some(id),
        }
    }

    /// The serialization key, as a single call keys the same job.
    fn resource(&self, zone: &str) -> String {
        match self {
            Self::Server(id) => resource_key(zone, ResourceKind::Server, id),
            Self::Volume { id, server } => serialization_key(
                zone,
                ResourceKind::Volume,
                id,
                &json!({ "server": server.as_ref().map(|s| json!({ "id": s })) }),
            ),
        }
    }
}

/// `template` checked (or `default` when empty): only known placeholders.
fn template(template: &str, default: &str, field: &str) -> Result<String, GatewayError> {
    let template = if template.is_empty() {
        default
    } else {
        template
    };
    let sample: Vec<(&str, &str)> = TEMPLATE_KEYS.iter().map(|k| (*k, "x")).collect();
    expand(template, &sample, &format!("{field}.name_template"))?;
    Ok(template.to_owned())
}

/// `template` with each `{key}` replaced by its value.
fn expand(template: &str, values: &[(&str, &str)], field: &str) -> Result<String, GatewayError> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| invalid(field, format!("{template:?} has an unclosed {{")))?;
        let key = &after[..close];
        let value = values.iter().find(|(k, _)| *k == key).ok_or_else(|| {
            invalid(
                field,
                format!(
                    "{template:?} names {{{key}}}; known: {}",
                    TEMPLATE_KEYS.map(|k| format!("{{{k}}}")).join(", ")
                ),
            )
        })?;
        out.push_str(value.1);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batches::ChildOutcome;

    const SERVER: &str = "11111111-2222-3333-4444-555555555555";
    const VOLUME: &str = "22222222-2222-3333-4444-555555555555";

    #[test]
    fn a_batch_stored_with_a_bare_power_action_name_still_reads() {
        #[derive(Deserialize)]
        struct Spec {
            #[serde(deserialize_with = "stored_action")]
            action: BatchAction,
        }
        let old: Spec = serde_json::from_value(json!({"action": "reboot"})).unwrap();
        assert_eq!(
            old.action,
            BatchAction::Power {
                action: ServerAction::Reboot
            }
        );
        let current = BatchAction::Tags {
            operation: TagsOperation::Add,
            tags: vec!["tier=db".into()],
        };
        let new: Spec =
            serde_json::from_value(json!({ "action": serde_json::to_value(&current).unwrap() }))
                .unwrap();
        assert_eq!(new.action, current);
        assert!(serde_json::from_value::<Spec>(json!({"action": {"type": "frobnicate"}})).is_err());
        // A bare name that was never a batch's power action is refused, not run as another.
        assert!(serde_json::from_value::<Spec>(json!({"action": "backup"})).is_err());
        assert!(serde_json::from_value::<Spec>(json!({"action": "frobnicate"})).is_err());
    }

    fn child(target: ChildTarget) -> ChildRow {
        ChildRow {
            position: 3,
            zone: "fr-par-1".into(),
            target,
            project: None,
            name: "db-1".into(),
            state: "running".into(),
            job_id: None,
            outcome: ChildOutcome::Pending,
            error: None,
        }
    }

    fn action(action: ProtoAction) -> Result<BatchAction, GatewayError> {
        BatchAction::from_proto(Some(&v1::BatchAction {
            action: Some(action),
        }))
    }

    #[test]
    fn children_are_the_jobs_of_the_single_rpcs() {
        let server = child(ChildTarget::Server(SERVER.into()));
        let reboot = action(ProtoAction::Power(v1::BatchPowerAction::Reboot as i32)).unwrap();
        let (job, _) = reboot.child_job(7, &server).unwrap();
        assert_eq!(job.method, REBOOT);
        assert_eq!(job.spec.kind(), "server_action.reboot");
        assert_eq!(
            job.resource,
            resource_key("fr-par-1", ResourceKind::Server, SERVER)
        );

        let backup = action(ProtoAction::Backup(v1::BatchBackup::default())).unwrap();
        let (job, text) = backup.child_job(7, &server).unwrap();
        let JobSpec::ServerAction(spec) = &job.spec else {
            panic!("{job:?}");
        };
        assert_eq!(spec.request.name.as_deref(), Some("db-1-backup-7"));
        assert!(text.contains("db-1-backup-7"), "{text}");

        let delete = action(ProtoAction::Delete(v1::BatchDelete {
            stop_first: true,
            delete_volumes: true,
            delete_ips: false,
        }))
        .unwrap();
        let (job, _) = delete.child_job(7, &server).unwrap();
        assert_eq!(
            job.spec,
            JobSpec::DeleteServer(fleet_jobs::DeleteServerJob {
                server_id: SERVER.into(),
                stop_first: true,
                delete_volumes: true,
                delete_ips: false,
            })
        );

        // A volume of a server is serialized on the server, like a single snapshot call.
        let volume = child(ChildTarget::Volume {
            id: VOLUME.into(),
            server: Some(SERVER.into()),
        });
        let snapshot = action(ProtoAction::Snapshot(v1::BatchSnapshot {
            name_template: "{name}-{position}".into(),
            tags: vec!["pre-release".into()],
            ..Default::default()
        }))
        .unwrap();
        let (job, _) = snapshot.child_job(7, &volume).unwrap();
        assert_eq!(job.method, CREATE_SNAPSHOT);
        assert_eq!(
            job.resource,
            resource_key("fr-par-1", ResourceKind::Server, SERVER)
        );
        let JobSpec::CreateSnapshot(spec) = &job.spec else {
            panic!("{job:?}");
        };
        assert_eq!(spec.request.volume_id.as_deref(), Some(VOLUME));
        assert_eq!(spec.request.name.as_deref(), Some("db-1-3"));
    }

    #[test]
    fn actions_are_checked_offline() {
        let err = BatchAction::from_proto(None).unwrap_err().to_string();
        assert!(err.contains("required"), "{err}");
        let err = action(ProtoAction::Power(0)).unwrap_err().to_string();
        assert!(err.contains("action.power"), "{err}");
        let err = action(ProtoAction::Snapshot(v1::BatchSnapshot {
            name_template: "{name}-{when}".into(),
            tags: vec![],
            ..Default::default()
        }))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("{when}") && err.contains("snapshot.name_template"),
            "{err}"
        );
        let err = action(ProtoAction::Tags(v1::BatchTags {
            operation: v1::batch_tags::Operation::Add as i32,
            tags: vec![],
        }))
        .unwrap_err()
        .to_string();
        assert!(err.contains("at least one tag"), "{err}");
        let err = action(ProtoAction::ChangeCommercialType(
            v1::BatchChangeType::default(),
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("commercial_type"), "{err}");
    }

    #[test]
    fn targets_round_trip_through_their_column() {
        for target in [
            ChildTarget::Server(SERVER.into()),
            ChildTarget::Volume {
                id: VOLUME.into(),
                server: None,
            },
            ChildTarget::Volume {
                id: VOLUME.into(),
                server: Some(SERVER.into()),
            },
        ] {
            assert_eq!(ChildTarget::decode(&target.encode()), target);
        }
    }
}
