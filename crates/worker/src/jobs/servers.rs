//! Server handlers: create, actions, delete, volume and file-system attachment, private NICs.

use fleet_core::{
    AttachServerFileSystemRequest, DetachServerFileSystemRequest, ListImagesQuery,
    ListPrivateNicsQuery, ListServersQuery, Server, ServerAction, ServerActionRequest,
};
use fleet_jobs::{
    AttachVolumeJob, CreatePrivateNicJob, CreateServerJob, DeleteServerJob, DeleteServerOutput,
    DetachVolumeJob, FileSystemJob, ResourceKind, ServerActionJob, ServerActionOutput, job_tag,
};
use fleet_scheduler::Outcome;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::error::StepError;
use super::observe::{Kind, Observed, WatchKey};
use super::{Judge, Run, Waited, now_rfc3339, parse_time};

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
            if Kind::Server.is_transient(state) {
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

fn issued_at(state: &ActionState) -> OffsetDateTime {
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
    let key = WatchKey::new(Kind::Server, server_id);
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
                    "server_action",
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
struct CreateServerData {
    intent: bool,
    server_id: Option<String>,
    user_data_done: bool,
    poweron: ActionState,
}

/// `create_server`: create (tagged with the job), set user data, optionally power on and
/// wait for `running`.
///
/// * Effectively once: intent recorded before the create; a re-run without a recorded id
///   adopts the server carrying the job's tag.
/// * Compensation when the boot fails for good (unreachable state, 404, deadline): a stopped
///   server is deleted with its local volumes; a running or `stopped in place` one is
///   terminated (which deletes its local volumes); anything left is listed in
///   `Failure::compensation`.
/// * Cancel: stops at the next step boundary; a server already created is left as it is
///   (named in `progress.state.resource`, tagged with the job) for the caller to keep or
///   delete.
pub(crate) async fn create_server(
    run: &mut Run<'_>,
    job: &CreateServerJob,
) -> Result<Outcome, StepError> {
    let mut data: CreateServerData = run.data();
    let zone = run.zone();
    let tag = job_tag(run.job_id());
    let mut created: Option<Server> = None;
    if data.server_id.is_none() {
        if data.intent {
            let query = ListServersQuery {
                tags: Some(vec![tag.clone()]),
                ..ListServersQuery::default()
            };
            let page = run
                .call("list_servers", run.client().list_servers(zone, &query))
                .await?;
            if let Some(server) = page.items.into_iter().min_by_key(|s| s.id.clone()) {
                tracing::info!(zone = %zone, job_id = run.job_id(), operation = "create_server",
                    server_id = %server.id, "adopting the server an earlier attempt created");
                data.server_id = Some(server.id.clone());
                created = Some(server);
            }
        }
        if data.server_id.is_none() {
            data.intent = true;
            run.set_data(&data);
            run.save("create_requested").await?;
            let mut request = job.request.clone();
            let tags = request.tags.get_or_insert_with(Vec::new);
            if !tags.contains(&tag) {
                tags.push(tag.clone());
            }
            let server = match run
                .call("create_server", run.client().create_server(zone, &request))
                .await
            {
                Ok(server) => server,
                Err(err) if err.class() == super::error::ErrorClass::Permanent => {
                    return Ok(run.upstream_failed("create_server", &err));
                }
                Err(err) => return Err(err),
            };
            data.server_id = Some(server.id.clone());
            created = Some(server);
        }
        let id = data.server_id.clone().unwrap_or_default();
        run.set_resource(ResourceKind::Server, &id);
        run.set_data(&data);
        run.save("created").await?;
        if run.cancel_requested {
            return Ok(Outcome::Cancelled);
        }
    }
    let server_id = data.server_id.clone().unwrap_or_default();
    if !data.user_data_done && !job.user_data.is_empty() {
        for (key, value) in &job.user_data {
            run.call(
                "set_server_user_data",
                run.client()
                    .set_server_user_data(zone, &server_id, key, value.clone()),
            )
            .await?;
        }
        data.user_data_done = true;
        run.set_data(&data);
        run.save("user_data_set").await?;
        if run.cancel_requested {
            return Ok(Outcome::Cancelled);
        }
    }
    if !job.start {
        let server = match created {
            Some(server) => server,
            None => {
                run.call("get_server", run.client().get_server(zone, &server_id))
                    .await?
            }
        };
        return Ok(Outcome::Complete(
            serde_json::to_value(server).unwrap_or(Value::Null),
        ));
    }
    let request = ServerActionRequest::new(ServerAction::Poweron);
    match drive(
        run,
        &mut data,
        |d| &mut d.poweron,
        &server_id,
        &request,
        "poweron",
    )
    .await?
    {
        Drive::Done(server) => Ok(Outcome::Complete(
            serde_json::to_value(server).unwrap_or(Value::Null),
        )),
        Drive::Pending(outcome) => Ok(outcome),
        Drive::Failed(waited) => {
            let last = match &waited {
                Waited::Unreachable(Observed::Server(s))
                | Waited::Deadline(Observed::Server(s)) => Some(s.as_ref().clone()),
                _ => None,
            };
            let notes = compensate_server(run, &server_id, last).await;
            Ok(run.wait_failed(&waited, "running", notes))
        }
    }
}

/// Removes a server whose create failed for good, with its local volumes; returns what was
/// done and what is left.
async fn compensate_server(
    run: &mut Run<'_>,
    server_id: &str,
    last: Option<Server>,
) -> Vec<String> {
    let zone = run.zone();
    let mut notes = Vec::new();
    let server = match last {
        Some(server) => server,
        None => match run
            .call("get_server", run.client().get_server(zone, server_id))
            .await
        {
            Ok(server) => server,
            Err(err) if err.is_not_found() => {
                notes.push(format!("server {server_id} is already gone"));
                return notes;
            }
            Err(err) => {
                notes.push(format!(
                    "server {server_id} left in place: could not read it: {err}"
                ));
                return notes;
            }
        },
    };
    let local: Vec<String> = server
        .volumes
        .values()
        .filter(|v| matches!(v.volume_type.as_str(), "l_ssd" | "scratch" | "b_ssd"))
        .map(|v| v.id.clone())
        .collect();
    let others: Vec<String> = server
        .volumes
        .values()
        .filter(|v| !local.contains(&v.id))
        .map(|v| format!("{} ({})", v.id, v.volume_type.as_str()))
        .collect();
    match server.state.as_str() {
        "stopped" => {
            match run
                .call("delete_server", run.client().delete_server(zone, server_id))
                .await
            {
                Ok(()) => notes.push(format!("deleted server {server_id}")),
                Err(err) => {
                    notes.push(format!("could not delete server {server_id}: {err}"));
                    return notes;
                }
            }
            for id in &local {
                match run
                    .call("delete_volume", run.client().delete_volume(zone, id))
                    .await
                {
                    Ok(()) => notes.push(format!("deleted volume {id}")),
                    Err(err) if err.is_not_found() => {}
                    Err(err) => notes.push(format!("left volume {id}: could not delete it: {err}")),
                }
            }
        }
        "running" | "stopped in place" => {
            let request = ServerActionRequest::new(ServerAction::Terminate);
            match run
                .call(
                    "server_action",
                    run.client().server_action(zone, server_id, &request),
                )
                .await
            {
                Ok(_) => notes.push(format!(
                    "terminated server {server_id} (its local volumes {local:?} go with it)"
                )),
                Err(err) => notes.push(format!("could not terminate server {server_id}: {err}")),
            }
        }
        state => notes.push(format!(
            "left server {server_id} in state {state} with volumes {local:?}; delete it"
        )),
    }
    if !others.is_empty() {
        notes.push(format!(
            "left non-local volumes {others:?} (detached, not deleted)"
        ));
    }
    tracing::warn!(zone = %zone, job_id = run.job_id(), operation = "create_server",
        ?notes, "compensated a failed server create");
    notes
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
/// * Compensation: a backup whose image ends in `error` deletes that image and its snapshots.
/// * Cancel: stops waiting; the action already sent is not undone.
pub(crate) async fn server_action(
    run: &mut Run<'_>,
    job: &ServerActionJob,
) -> Result<Outcome, StepError> {
    let zone = run.zone();
    let mut data: ServerActionData = run.data();
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
                            "server_action",
                            run.client()
                                .server_action(zone, &job.server_id, &job.request),
                        )
                        .await?;
                    data.action.task = serde_json::to_value(task).ok();
                }
                data.action.confirmed = true;
            }
            let server = run
                .call("get_server", run.client().get_server(zone, &job.server_id))
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
                .call("list_images", run.client().list_images(zone, &query))
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
            let task = run
                .call(
                    "server_action",
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
    let key = WatchKey::new(Kind::Image, &image_id);
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
                .call("get_server", run.client().get_server(zone, &job.server_id))
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
            let snapshots: Vec<String> = image
                .root_volume
                .iter()
                .map(|v| v.id.clone())
                .chain(image.extra_volumes.values().map(|v| v.id.clone()))
                .collect();
            match run
                .call("delete_image", run.client().delete_image(zone, &image.id))
                .await
            {
                Ok(()) => notes.push(format!("deleted image {}", image.id)),
                Err(err) => notes.push(format!("left image {}: {err}", image.id)),
            }
            for id in snapshots {
                match run
                    .call("delete_snapshot", run.client().delete_snapshot(zone, &id))
                    .await
                {
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

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct DeleteServerData {
    inspected: bool,
    volumes: Vec<String>,
    ips: Vec<String>,
    poweroff: ActionState,
    deleted: bool,
}

/// `delete_server`: optionally power off (and wait for `stopped`), delete the server, then
/// delete the volumes and flexible IPs it leaves behind when asked.
///
/// * Effectively once: the server's volumes and IPs are recorded before anything is deleted,
///   so a re-run that finds the server gone still deletes what it left; deletes of what is
///   already gone count as done.
/// * Cancel: stops at the next step boundary; before the delete the server is left (possibly
///   powered off); after it, volumes and IPs not yet deleted are left.
pub(crate) async fn delete_server(
    run: &mut Run<'_>,
    job: &DeleteServerJob,
) -> Result<Outcome, StepError> {
    let zone = run.zone();
    let mut data: DeleteServerData = run.data();
    run.set_resource(ResourceKind::Server, &job.server_id);
    let key = WatchKey::new(Kind::Server, &job.server_id);
    let mut current: Option<Observed> = None;
    if !data.inspected {
        let server = match run
            .call("get_server", run.client().get_server(zone, &job.server_id))
            .await
        {
            Ok(server) => server,
            Err(err) if err.class() == super::error::ErrorClass::Permanent => {
                return Ok(run.upstream_failed("get_server", &err));
            }
            Err(err) => return Err(err),
        };
        if job.delete_volumes {
            data.volumes = server
                .volumes
                .values()
                .filter(|v| v.volume_type.as_str() != "sbs_volume")
                .map(|v| v.id.clone())
                .collect();
        }
        if job.delete_ips {
            data.ips = server
                .public_ips
                .iter()
                .filter(|ip| !ip.dynamic && !ip.id.is_empty())
                .map(|ip| ip.id.clone())
                .collect();
        }
        data.inspected = true;
        let (state, detail) = (
            server.state.as_str().to_owned(),
            server.state_detail.clone(),
        );
        run.detail.observe(&state, &detail, now_rfc3339());
        current = Some(Observed::Server(Box::new(server)));
        run.set_data(&data);
        run.save("inspected").await?;
        if run.cancel_requested {
            return Ok(Outcome::Cancelled);
        }
    }
    if !data.deleted {
        if data.poweroff.issued_at.is_some() && job.stop_first {
            let request = ServerActionRequest::new(ServerAction::Poweroff);
            match drive(
                run,
                &mut data,
                |d| &mut d.poweroff,
                &job.server_id,
                &request,
                "poweroff",
            )
            .await?
            {
                Drive::Done(_) => {}
                Drive::Pending(outcome) => return Ok(outcome),
                Drive::Failed(Waited::Gone) => {
                    data.deleted = true;
                }
                Drive::Failed(waited) => {
                    return Ok(run.wait_failed(&waited, "stopped", Vec::new()));
                }
            }
        } else {
            let observed = match current.take() {
                Some(observed) => observed,
                None => run.observe(&key, OffsetDateTime::UNIX_EPOCH).await?,
            };
            match observed.state().0.as_str() {
                "gone" => data.deleted = true,
                "starting" | "stopping" => {
                    if run.past_deadline() {
                        return Ok(run.deadline_exceeded(Some(&observed), Some("stopped")));
                    }
                    return Ok(run.park(&key, OffsetDateTime::now_utc(), Some("stopping")));
                }
                "running" | "stopped in place" if job.stop_first => {
                    let request = ServerActionRequest::new(ServerAction::Poweroff);
                    return match drive(
                        run,
                        &mut data,
                        |d| &mut d.poweroff,
                        &job.server_id,
                        &request,
                        "poweroff",
                    )
                    .await?
                    {
                        Drive::Pending(outcome) => Ok(outcome),
                        Drive::Done(_) => Ok(run.snooze(std::time::Duration::ZERO)),
                        Drive::Failed(waited) => {
                            Ok(run.wait_failed(&waited, "stopped", Vec::new()))
                        }
                    };
                }
                _ => {}
            }
        }
        if !data.deleted {
            match run
                .call(
                    "delete_server",
                    run.client().delete_server(zone, &job.server_id),
                )
                .await
            {
                Ok(()) => {}
                Err(err) if err.is_not_found() => {}
                Err(err) => return Err(err),
            }
            data.deleted = true;
        }
        run.detail.observe("gone", "", now_rfc3339());
        run.set_data(&data);
        run.save("deleted").await?;
        if run.cancel_requested {
            return Ok(Outcome::Cancelled);
        }
    }
    let mut output = DeleteServerOutput {
        server_id: job.server_id.clone(),
        ..DeleteServerOutput::default()
    };
    for id in &data.volumes {
        match run
            .call("delete_volume", run.client().delete_volume(zone, id))
            .await
        {
            Ok(()) => output.deleted_volumes.push(id.clone()),
            Err(err) if err.is_not_found() => output.deleted_volumes.push(id.clone()),
            Err(err) => return Err(err),
        }
    }
    for id in &data.ips {
        match run
            .call("delete_ip", run.client().delete_ip(zone, id))
            .await
        {
            Ok(()) => output.deleted_ips.push(id.clone()),
            Err(err) if err.is_not_found() => output.deleted_ips.push(id.clone()),
            Err(err) => return Err(err),
        }
    }
    Ok(Outcome::Complete(
        serde_json::to_value(output).unwrap_or(Value::Null),
    ))
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct VolumeAttachData {
    inspected: bool,
    needs_stop: bool,
    restart: bool,
    poweroff: ActionState,
    intent: bool,
    done: bool,
    poweron: ActionState,
}

fn is_local(volume_type: &str) -> bool {
    matches!(volume_type, "l_ssd" | "scratch")
}

/// `attach_server_volume` and `detach_server_volume`: attach or detach; with
/// `stop_if_needed`, a running server is powered off first when the volume is local (local
/// volumes move only while the server is stopped) and powered back on after.
///
/// * Effectively once: intent recorded before the call; a re-run reads the server's volume
///   map and calls only if the volume has not moved yet.
/// * Cancel: stops at the next step boundary; a server this job powered off is left stopped.
async fn volume_move(
    run: &mut Run<'_>,
    server_id: &str,
    volume_id: &str,
    volume_type_hint: Option<&str>,
    stop_if_needed: bool,
    attach: bool,
    call: impl AsyncFnOnce(&Run<'_>) -> Result<Server, StepError>,
) -> Result<Outcome, StepError> {
    let zone = run.zone();
    let mut data: VolumeAttachData = run.data();
    run.set_resource(ResourceKind::Server, server_id);
    let key = WatchKey::new(Kind::Server, server_id);
    if stop_if_needed && !data.inspected {
        let server = run
            .call("get_server", run.client().get_server(zone, server_id))
            .await?;
        let volume_type = match volume_type_hint {
            Some(t) => t.to_owned(),
            None => match server.volumes.values().find(|v| v.id == volume_id) {
                Some(v) => v.volume_type.as_str().to_owned(),
                None => run
                    .call("get_volume", run.client().get_volume(zone, volume_id))
                    .await
                    .map(|v| v.volume_type.as_str().to_owned())
                    .unwrap_or_default(),
            },
        };
        let state = server.state.as_str();
        data.needs_stop = is_local(&volume_type) && state != "stopped";
        data.restart = data.needs_stop && matches!(state, "running" | "starting");
        data.inspected = true;
        run.detail
            .observe(state, &server.state_detail, now_rfc3339());
        run.set_data(&data);
        run.save("inspected").await?;
        if run.cancel_requested {
            return Ok(Outcome::Cancelled);
        }
    }
    if data.needs_stop && !data.done {
        let request = ServerActionRequest::new(ServerAction::Poweroff);
        match drive(
            run,
            &mut data,
            |d| &mut d.poweroff,
            server_id,
            &request,
            "poweroff",
        )
        .await?
        {
            Drive::Done(_) => {}
            Drive::Pending(outcome) => return Ok(outcome),
            Drive::Failed(waited) => return Ok(run.wait_failed(&waited, "stopped", Vec::new())),
        }
    }
    let mut server: Option<Server> = None;
    if !data.done {
        let mut moved = false;
        if data.intent {
            let current = run
                .call("get_server", run.client().get_server(zone, server_id))
                .await?;
            let present = current.volumes.values().any(|v| v.id == volume_id);
            moved = present == attach;
            server = Some(current);
        }
        if !moved {
            data.intent = true;
            run.set_data(&data);
            run.save(if attach {
                "attach_requested"
            } else {
                "detach_requested"
            })
            .await?;
            server = Some(call(run).await?);
        }
        data.done = true;
        run.set_data(&data);
        run.save(if attach { "attached" } else { "detached" })
            .await?;
        if run.cancel_requested {
            return Ok(Outcome::Cancelled);
        }
    }
    if data.restart {
        let request = ServerActionRequest::new(ServerAction::Poweron);
        return Ok(
            match drive(
                run,
                &mut data,
                |d| &mut d.poweron,
                server_id,
                &request,
                "poweron",
            )
            .await?
            {
                Drive::Done(server) => {
                    Outcome::Complete(serde_json::to_value(server).unwrap_or(Value::Null))
                }
                Drive::Pending(outcome) => outcome,
                Drive::Failed(waited) => run.wait_failed(&waited, "running", Vec::new()),
            },
        );
    }
    let server = match server {
        Some(server) => server,
        None => match run.observe(&key, OffsetDateTime::UNIX_EPOCH).await? {
            Observed::Server(server) => *server,
            _ => return Ok(run.wait_failed(&Waited::Gone, "attached", Vec::new())),
        },
    };
    Ok(Outcome::Complete(
        serde_json::to_value(server).unwrap_or(Value::Null),
    ))
}

/// `attach_server_volume`: see [`volume_move`].
pub(crate) async fn attach_volume(
    run: &mut Run<'_>,
    job: &AttachVolumeJob,
) -> Result<Outcome, StepError> {
    let volume_id = job.request.volume_id.clone().unwrap_or_default();
    let hint = job
        .request
        .volume_type
        .as_ref()
        .map(|t| t.as_str().to_owned())
        .filter(|t| t != "unknown_volume_type");
    volume_move(
        run,
        &job.server_id,
        &volume_id,
        hint.as_deref(),
        job.stop_if_needed,
        true,
        async |run: &Run<'_>| {
            run.call(
                "attach_server_volume",
                run.client()
                    .attach_server_volume(run.zone(), &job.server_id, &job.request),
            )
            .await
        },
    )
    .await
}

/// `detach_server_volume`: see [`volume_move`].
pub(crate) async fn detach_volume(
    run: &mut Run<'_>,
    job: &DetachVolumeJob,
) -> Result<Outcome, StepError> {
    let volume_id = job.request.volume_id.clone().unwrap_or_default();
    volume_move(
        run,
        &job.server_id,
        &volume_id,
        None,
        job.stop_if_needed,
        false,
        async |run: &Run<'_>| {
            run.call(
                "detach_server_volume",
                run.client()
                    .detach_server_volume(run.zone(), &job.server_id, &job.request),
            )
            .await
        },
    )
    .await
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct FileSystemData {
    action: ActionState,
}

/// `attach_server_file_system` / `detach_server_file_system`: call, then wait until the
/// attachment is `available` (attach) or gone (detach).
///
/// * Effectively once: intent recorded before the call; a re-run reads the server and calls
///   only if the file system has not moved yet.
/// * Fails early when the attachment disappears during an attach or settles back to
///   `available` during a detach, or the server disappears.
/// * Cancel: stops waiting; the call already made is not undone.
pub(crate) async fn file_system(
    run: &mut Run<'_>,
    job: &FileSystemJob,
    attach: bool,
) -> Result<Outcome, StepError> {
    let zone = run.zone();
    let mut data: FileSystemData = run.data();
    run.set_resource(ResourceKind::Server, &job.server_id);
    let key = WatchKey::new(Kind::Server, &job.server_id);
    let fs = job.filesystem_id.clone();
    let state_of = move |o: &Observed| -> Option<String> {
        o.server().and_then(|s| {
            s.filesystems
                .iter()
                .find(|f| f.filesystem_id == fs)
                .map(|f| f.state.as_str().to_owned())
        })
    };
    if !data.action.confirmed {
        let mut send = true;
        if data.action.issued_at.is_some() {
            let observed = run.observe(&key, OffsetDateTime::UNIX_EPOCH).await?;
            if observed.is_gone() {
                return Ok(run.wait_failed(&Waited::Gone, "attached", Vec::new()));
            }
            let state = state_of(&observed);
            send = if attach {
                state.is_none()
            } else {
                state.as_deref() == Some("available")
            };
        }
        if send {
            data.action.issued_at = Some(now_rfc3339());
            run.set_data(&data);
            run.save(if attach {
                "attach_requested"
            } else {
                "detach_requested"
            })
            .await?;
            if attach {
                let request = AttachServerFileSystemRequest {
                    filesystem_id: Some(job.filesystem_id.clone()),
                    ..Default::default()
                };
                run.call(
                    "attach_server_file_system",
                    run.client()
                        .attach_server_file_system(zone, &job.server_id, &request),
                )
                .await?;
            } else {
                let request = DetachServerFileSystemRequest {
                    filesystem_id: Some(job.filesystem_id.clone()),
                    ..Default::default()
                };
                run.call(
                    "detach_server_file_system",
                    run.client()
                        .detach_server_file_system(zone, &job.server_id, &request),
                )
                .await?;
            }
        }
        data.action.confirmed = true;
        run.set_data(&data);
        let since = issued_at(&data.action);
        return Ok(run.park(&key, since, None));
    }
    let since = issued_at(&data.action);
    let target = if attach { "available" } else { "detached" };
    let waited = run
        .wait(&key, since, None, |o| {
            match (state_of(o).as_deref(), attach) {
                (_, _) if o.is_gone() => Judge::Wait,
                (Some("available" | "unknown_state"), true) | (None, false) => Judge::Done,
                (Some("attaching"), true) | (Some("detaching"), false) => Judge::Wait,
                _ => Judge::Unreachable,
            }
        })
        .await?;
    Ok(match waited {
        Waited::Done(observed) => Outcome::Complete(observed.to_json()),
        Waited::Pending(outcome) => outcome,
        other => run.wait_failed(&other, target, Vec::new()),
    })
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct CreateNicData {
    intent: bool,
    nic_id: Option<String>,
    created_at: Option<String>,
}

/// `create_private_nic`: create (tagged with the job) and wait for `available`.
///
/// * Effectively once: intent recorded before the create; a re-run without a recorded id
///   adopts the NIC of the server carrying the job's tag.
/// * Compensation: a NIC ending in `syncing_error` is deleted.
/// * Cancel: stops at the next step boundary; a NIC already created is left.
pub(crate) async fn create_private_nic(
    run: &mut Run<'_>,
    job: &CreatePrivateNicJob,
) -> Result<Outcome, StepError> {
    let zone = run.zone();
    let mut data: CreateNicData = run.data();
    let tag = job_tag(run.job_id());
    run.set_resource(ResourceKind::Server, &job.server_id);
    if data.nic_id.is_none() {
        if data.intent {
            let query = ListPrivateNicsQuery {
                tags: Some(vec![tag.clone()]),
                ..Default::default()
            };
            let page = run
                .call(
                    "list_private_nics",
                    run.client().list_private_nics(zone, &job.server_id, &query),
                )
                .await?;
            data.nic_id = page.items.into_iter().map(|n| n.id).min();
        }
        if data.nic_id.is_none() {
            data.intent = true;
            data.created_at = Some(now_rfc3339());
            run.set_data(&data);
            run.save("create_requested").await?;
            let mut request = job.request.clone();
            let tags = request.tags.get_or_insert_with(Vec::new);
            if !tags.contains(&tag) {
                tags.push(tag.clone());
            }
            let nic = match run
                .call(
                    "create_private_nic",
                    run.client()
                        .create_private_nic(zone, &job.server_id, &request),
                )
                .await
            {
                Ok(nic) => nic,
                Err(err) if err.class() == super::error::ErrorClass::Permanent => {
                    return Ok(run.upstream_failed("create_private_nic", &err));
                }
                Err(err) => return Err(err),
            };
            data.nic_id = Some(nic.id);
        }
        run.set_resource(
            ResourceKind::PrivateNic,
            data.nic_id.as_deref().unwrap_or_default(),
        );
        run.set_data(&data);
        run.save("created").await?;
        if run.cancel_requested {
            return Ok(Outcome::Cancelled);
        }
    }
    let nic_id = data.nic_id.clone().unwrap_or_default();
    let key = WatchKey::nic(&job.server_id, &nic_id);
    let since = data
        .created_at
        .as_deref()
        .and_then(parse_time)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let waited = run
        .wait(&key, since, Some("syncing"), |o| match o {
            Observed::PrivateNic(n) => match n.state.as_str() {
                "available" => Judge::Done,
                "syncing" => Judge::Wait,
                _ => Judge::Unreachable,
            },
            _ => Judge::Wait,
        })
        .await?;
    Ok(match waited {
        Waited::Done(observed) => Outcome::Complete(observed.to_json()),
        Waited::Pending(outcome) => outcome,
        Waited::Unreachable(observed) => {
            let note = match run
                .call(
                    "delete_private_nic",
                    run.client()
                        .delete_private_nic(zone, &job.server_id, &nic_id),
                )
                .await
            {
                Ok(()) => format!("deleted private nic {nic_id}"),
                Err(err) => format!("left private nic {nic_id}: {err}"),
            };
            run.wait_failed(&Waited::Unreachable(observed), "available", vec![note])
        }
        other => run.wait_failed(&other, "available", Vec::new()),
    })
}
