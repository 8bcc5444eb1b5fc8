//! Server actions: one action driven to its target state (shared by the other server
//! handlers), the `server_action.*` handler and backups.

use std::collections::BTreeMap;

use fleet_core::{
    ListImagesQuery, Operation, Server, ServerAction, ServerActionRequest,
    ServerActionRequestVolumeBackupTemplate, SnapshotVolumeType, VolumeServerVolumeType,
    VolumeVolumeType,
};
use fleet_jobs::{ResourceKind, ServerActionJob, ServerActionOutput, job_tag};
use fleet_scheduler::Outcome;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::jobs::error::StepError;
use crate::jobs::observe::{Observed, WatchKey};
use crate::jobs::{Judge, Run, Waited, now_rfc3339, parse_time};

/// Progress of one server action driven to its target state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ActionState {
    /// When the action was (about to be) sent: the intent.
    pub issued_at: Option<String>,
    /// The API accepted it.
    pub confirmed: bool,
    /// The (deprecated) task it returned.
    pub task: Option<Value>,
}

/// How driving an action ended this run.
pub(crate) enum Drive {
    Done(Box<Server>),
    Pending(Outcome),
    Failed(Waited),
}

/// Powers `server_id` on (its step state at `get` in `data`) and ends the job with the
/// running server, or snoozes while it boots, or fails with what the boot went through: the
/// last step of the handlers that leave a server running.
pub(crate) async fn power_on_to_finish<D: Serialize>(
    run: &mut Run<'_>,
    data: &mut D,
    get: fn(&mut D) -> &mut ActionState,
    server_id: &str,
) -> Result<Outcome, StepError> {
    let request = ServerActionRequest::new(ServerAction::Poweron);
    Ok(
        match drive(run, data, get, server_id, &request, "poweron").await? {
            Drive::Done(server) => {
                Outcome::Complete(serde_json::to_value(server).unwrap_or(Value::Null))
            }
            Drive::Pending(outcome) => outcome,
            Drive::Failed(waited) => run.wait_failed(&waited, "running", Vec::new()),
        },
    )
}

/// The state an action leads to; `None` for terminate (the server disappears).
fn action_target(action: &ServerAction) -> Option<&'static str> {
    match action {
        ServerAction::Poweron | ServerAction::Reboot => Some("running"),
        ServerAction::Poweroff => Some("stopped"),
        ServerAction::StopInPlace => Some("stopped in place"),
        _ => None,
    }
}

/// The transient state an action goes through first.
fn action_transient(action: &ServerAction) -> &'static str {
    match action {
        ServerAction::Poweron => "starting",
        _ => "stopping",
    }
}

/// Whether `state` shows that `action` was already applied (for a re-run that does not know
/// whether its call went through).
fn action_visible(action: &ServerAction, state: &str) -> bool {
    match action {
        ServerAction::Poweron => matches!(state, "starting" | "running"),
        ServerAction::Poweroff => matches!(state, "stopping" | "stopped"),
        ServerAction::StopInPlace => matches!(state, "stopping" | "stopped in place"),
        ServerAction::Reboot => matches!(state, "stopping" | "starting"),
        ServerAction::Terminate => matches!(state, "stopping" | "gone"),
        _ => false,
    }
}

fn judge_action(action: &ServerAction, observed: &Observed) -> Judge {
    let target = action_target(action);
    match observed {
        Observed::Gone if target.is_none() => Judge::Done,
        Observed::Server(s) => {
            let state = s.state.as_str();
            if ResourceKind::Server.is_transient(state) {
                Judge::Wait
            } else if Some(state) == target {
                Judge::Done
            } else {
                Judge::Unreachable
            }
        }
        _ => Judge::Wait,
    }
}

pub(super) fn issued_at(state: &ActionState) -> OffsetDateTime {
    state
        .issued_at
        .as_deref()
        .and_then(parse_time)
        .unwrap_or_else(OffsetDateTime::now_utc)
}

/// Sends `request` to the server once and waits for its target state. `get` picks the
/// action's progress out of the handler's data, which is saved at `step`.
pub(crate) async fn drive<D: Serialize>(
    run: &mut Run<'_>,
    data: &mut D,
    get: fn(&mut D) -> &mut ActionState,
    server_id: &str,
    request: &ServerActionRequest,
    step: &str,
) -> Result<Drive, StepError> {
    let action = request.action.clone().unwrap_or(ServerAction::Poweron);
    let key = WatchKey::new(ResourceKind::Server, server_id);
    if !get(data).confirmed {
        let mut send = true;
        if get(data).issued_at.is_some() {
            // A previous attempt may have sent it: look before sending again.
            let observed = run.observe(&key, OffsetDateTime::UNIX_EPOCH).await?;
            let state = observed.state().0;
            if action_visible(&action, &state) {
                send = false;
            } else if observed.is_gone() {
                return Ok(Drive::Failed(Waited::Gone));
            }
        }
        if send {
            get(data).issued_at = Some(now_rfc3339());
            run.set_data(&*data);
            run.save(&format!("{step}_requested")).await?;
            let task = run
                .call(
                    Operation::ServerAction,
                    run.client().server_action(run.zone(), server_id, request),
                )
                .await?;
            get(data).task = serde_json::to_value(task).ok();
        }
        get(data).confirmed = true;
        run.set_data(&*data);
        run.step = format!("{step}_waiting");
        let since = issued_at(get(data));
        return Ok(Drive::Pending(run.park(
            &key,
            since,
            Some(action_transient(&action)),
        )));
    }
    let since = issued_at(get(data));
    let waited = run
        .wait(&key, since, Some(action_transient(&action)), |o| {
            judge_action(&action, o)
        })
        .await?;
    Ok(match waited {
        Waited::Done(Observed::Server(server)) => Drive::Done(server),
        Waited::Done(_) => Drive::Done(Box::default()),
        Waited::Pending(outcome) => Drive::Pending(outcome),
        other => Drive::Failed(other),
    })
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct ServerActionData {
    action: ActionState,
    /// Backup: the image name used (to find it again) and the image id.
    backup_name: Option<String>,
    image_id: Option<String>,
}

/// `server_action.*`: send the action once and wait for its target: `running` for poweron and
/// reboot, `stopped` for poweroff, `stopped in place` for stop_in_place, the server's
/// disappearance for terminate, the backup image `available` for backup; enable_routed_ip
/// takes effect at once.
///
/// * Effectively once: intent recorded before the call; a re-run reads the server and sends
///   the action only if its effect is not visible (a reboot whose effect was missed may be
///   sent twice). A backup's image is found again by its name (the job names it when the
///   request does not).
/// * Fails early when the server settles in another state (e.g. `stopped` after poweron) or
///   disappears (except for terminate).
/// * A backup of a server with SBS volumes names them in the request's `volumes` map (unless
///   the caller did), so they are backed up as Block snapshots.
/// * Compensation: a backup whose image ends in `error` deletes that image and its snapshots
///   (Block ones through the Block API).
/// * Cancel: stops waiting; the action already sent is not undone.
pub(crate) async fn server_action(
    run: &mut Run<'_>,
    job: &ServerActionJob,
) -> Result<Outcome, StepError> {
    let zone = run.zone();
    let mut data: ServerActionData = run.data()?;
    let action = job.request.action.clone().unwrap_or(ServerAction::Poweron);
    run.set_resource(ResourceKind::Server, &job.server_id);
    match action {
        ServerAction::Backup => backup(run, job, &mut data).await,
        ServerAction::EnableRoutedIp | ServerAction::Other(_) => {
            if !data.action.confirmed {
                if data.action.issued_at.is_none() {
                    data.action.issued_at = Some(now_rfc3339());
                    run.set_data(&data);
                    run.save("action_requested").await?;
                    let task = run
                        .call(
                            Operation::ServerAction,
                            run.client()
                                .server_action(zone, &job.server_id, &job.request),
                        )
                        .await?;
                    data.action.task = serde_json::to_value(task).ok();
                }
                data.action.confirmed = true;
            }
            let server = run
                .call(
                    Operation::GetServer,
                    run.client().get_server(zone, &job.server_id),
                )
                .await?;
            Ok(complete_action(
                action.as_str(),
                Some(server),
                None,
                &data.action,
            ))
        }
        _ => {
            let target = action_target(&action).unwrap_or("gone");
            match drive(
                run,
                &mut data,
                |d| &mut d.action,
                &job.server_id,
                &job.request,
                action.as_str(),
            )
            .await?
            {
                Drive::Done(server) => {
                    let server = (action != ServerAction::Terminate).then_some(*server);
                    Ok(complete_action(action.as_str(), server, None, &data.action))
                }
                Drive::Pending(outcome) => Ok(outcome),
                Drive::Failed(waited) => Ok(run.wait_failed(&waited, target, Vec::new())),
            }
        }
    }
}

fn complete_action(
    action: &str,
    server: Option<Server>,
    image: Option<fleet_core::Image>,
    state: &ActionState,
) -> Outcome {
    let output = ServerActionOutput {
        action: action.to_owned(),
        server,
        image,
        task: state
            .task
            .clone()
            .and_then(|t| serde_json::from_value(t).ok()),
    };
    Outcome::Complete(serde_json::to_value(output).unwrap_or(Value::Null))
}

/// The `volumes` map of a backup of `server`, when it has SBS volumes: the API backs those up
/// only when told to make `sbs_snapshot`s of them, so every volume gets its snapshot type
/// (scratch volumes are never backed up). `None` (the API's default, every non-scratch volume)
/// for a server without SBS volumes.
fn backup_volumes(
    server: &Server,
) -> Option<BTreeMap<String, ServerActionRequestVolumeBackupTemplate>> {
    let has_sbs = server
        .volumes
        .values()
        .any(|v| v.volume_type == VolumeServerVolumeType::SbsVolume);
    if !has_sbs {
        return None;
    }
    let templates = server
        .volumes
        .values()
        .filter_map(|v| {
            let snapshot_type = match &v.volume_type {
                VolumeServerVolumeType::SbsVolume => SnapshotVolumeType::SbsSnapshot,
                VolumeServerVolumeType::LSsd => SnapshotVolumeType::LSsd,
                VolumeServerVolumeType::BSsd => SnapshotVolumeType::BSsd,
                _ => return None,
            };
            let template = ServerActionRequestVolumeBackupTemplate {
                volume_type: Some(snapshot_type),
                ..Default::default()
            };
            Some((v.id.clone(), template))
        })
        .collect();
    Some(templates)
}

async fn backup(
    run: &mut Run<'_>,
    job: &ServerActionJob,
    data: &mut ServerActionData,
) -> Result<Outcome, StepError> {
    let zone = run.zone();
    if data.image_id.is_none() {
        if data.action.issued_at.is_some()
            && let Some(name) = &data.backup_name
        {
            let query = ListImagesQuery {
                name: Some(name.clone()),
                public: Some(false),
                ..ListImagesQuery::default()
            };
            let page = run
                .call(
                    Operation::ListImages,
                    run.client().list_images(zone, &query),
                )
                .await?;
            data.image_id = page
                .items
                .into_iter()
                .find(|i| &i.name == name && i.from_server == job.server_id)
                .map(|i| i.id);
        }
        if data.image_id.is_none() {
            let name =
                job.request.name.clone().unwrap_or_else(|| {
                    format!("backup-{}-{}", job.server_id, job_tag(run.job_id()))
                });
            data.backup_name = Some(name.clone());
            data.action.issued_at = Some(now_rfc3339());
            run.set_data(&*data);
            run.save("backup_requested").await?;
            let mut request = job.request.clone();
            request.name = Some(name);
            // An empty map is what a public request without volumes decodes to: it means
            // "the default", not "none".
            if request.volumes.as_ref().is_none_or(BTreeMap::is_empty) {
                let server = run
                    .call(
                        Operation::GetServer,
                        run.client().get_server(zone, &job.server_id),
                    )
                    .await?;
                request.volumes = backup_volumes(&server);
            }
            let task = run
                .call(
                    Operation::ServerAction,
                    run.client().server_action(zone, &job.server_id, &request),
                )
                .await?;
            data.image_id = task
                .href_result
                .rsplit('/')
                .next()
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            data.action.task = serde_json::to_value(&task).ok();
            if data.image_id.is_none() {
                return Ok(run.fail(
                    fleet_jobs::failure_kind::INTERNAL,
                    format!("backup task names no image: {:?}", task.href_result),
                    fleet_jobs::Failure::default(),
                ));
            }
        }
        data.action.confirmed = true;
        run.set_data(&*data);
        run.save("backup_waiting").await?;
    }
    let image_id = data.image_id.clone().unwrap_or_default();
    let key = WatchKey::new(ResourceKind::Image, &image_id);
    let since = issued_at(&data.action);
    let waited = run
        .wait(&key, since, Some("creating"), |o| match o {
            Observed::Image(i) => match i.state.as_str() {
                "available" => Judge::Done,
                "creating" => Judge::Wait,
                _ => Judge::Unreachable,
            },
            _ => Judge::Wait,
        })
        .await?;
    match waited {
        Waited::Done(Observed::Image(image)) => {
            let server = run
                .call(
                    Operation::GetServer,
                    run.client().get_server(zone, &job.server_id),
                )
                .await?;
            Ok(complete_action(
                "backup",
                Some(server),
                Some(*image),
                &data.action,
            ))
        }
        Waited::Pending(outcome) => Ok(outcome),
        Waited::Unreachable(Observed::Image(image)) => {
            let mut notes = Vec::new();
            // (id, held by Block): an SBS server's backup is made of Block snapshots.
            let snapshots: Vec<(String, bool)> = image
                .root_volume
                .iter()
                .chain(image.extra_volumes.values())
                .map(|v| (v.id.clone(), v.volume_type == VolumeVolumeType::SbsSnapshot))
                .collect();
            match run
                .call(
                    Operation::DeleteImage,
                    run.client().delete_image(zone, &image.id),
                )
                .await
            {
                Ok(()) => notes.push(format!("deleted image {}", image.id)),
                Err(err) => notes.push(format!("left image {}: {err}", image.id)),
            }
            for (id, in_block) in snapshots {
                let deleted = if in_block {
                    run.call(
                        Operation::BlockDeleteSnapshot,
                        run.client().block_delete_snapshot(run.zone(), &id),
                    )
                    .await
                } else {
                    run.call(
                        Operation::DeleteSnapshot,
                        run.client().delete_snapshot(zone, &id),
                    )
                    .await
                };
                match deleted {
                    Ok(()) => notes.push(format!("deleted snapshot {id}")),
                    Err(err) => notes.push(format!("left snapshot {id}: {err}")),
                }
            }
            Ok(run.wait_failed(
                &Waited::Unreachable(Observed::Image(image)),
                "available",
                notes,
            ))
        }
        other => Ok(run.wait_failed(&other, "available", Vec::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(volumes: &[(&str, &str)]) -> Server {
        let volumes: serde_json::Map<String, Value> = volumes
            .iter()
            .enumerate()
            .map(|(slot, (id, kind))| {
                (
                    slot.to_string(),
                    serde_json::json!({"id": id, "volume_type": kind, "boot": false, "zone": "fr-par-1"}),
                )
            })
            .collect();
        serde_json::from_value(serde_json::json!({"id": "s", "volumes": volumes})).unwrap()
    }

    #[test]
    fn a_backup_names_sbs_volumes_and_leaves_other_servers_alone() {
        assert_eq!(backup_volumes(&server(&[("l", "l_ssd")])), None);
        let map = backup_volumes(&server(&[
            ("root", "sbs_volume"),
            ("data", "l_ssd"),
            ("tmp", "scratch"),
        ]))
        .expect("a map for an SBS server");
        let types: Vec<(&str, &str)> = map
            .iter()
            .map(|(id, t)| {
                (
                    id.as_str(),
                    t.volume_type.as_ref().map_or("", |t| t.as_str()),
                )
            })
            .collect();
        assert_eq!(types, [("data", "l_ssd"), ("root", "sbs_snapshot")]);
    }
}
