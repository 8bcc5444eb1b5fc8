//! Volume and file-system attachment of a server.

use fleet_core::{
    AttachServerFileSystemRequest, DetachServerFileSystemRequest, Operation, Server, ServerAction,
    ServerActionRequest,
};
use fleet_jobs::{AttachVolumeJob, DetachVolumeJob, FileSystemJob, ResourceKind};
use fleet_scheduler::Outcome;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::actions::{ActionState, Drive, drive, issued_at, power_on_to_finish};
use crate::jobs::error::StepError;
use crate::jobs::observe::{Observed, WatchKey};
use crate::jobs::{Judge, Run, Waited, now_rfc3339};

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
    let mut data: VolumeAttachData = run.data()?;
    run.set_resource(ResourceKind::Server, server_id);
    let key = WatchKey::new(ResourceKind::Server, server_id);
    if stop_if_needed && !data.inspected {
        let server = run
            .call(
                Operation::GetServer,
                run.client().get_server(zone, server_id),
            )
            .await?;
        let volume_type = match volume_type_hint {
            Some(t) => t.to_owned(),
            None => match server.volumes.values().find(|v| v.id == volume_id) {
                Some(v) => v.volume_type.as_str().to_owned(),
                None => run
                    .call(
                        Operation::GetVolume,
                        run.client().get_volume(zone, volume_id),
                    )
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
                .call(
                    Operation::GetServer,
                    run.client().get_server(zone, server_id),
                )
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
        return power_on_to_finish(run, &mut data, |d| &mut d.poweron, server_id).await;
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
                Operation::AttachServerVolume,
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
                Operation::DetachServerVolume,
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
    let mut data: FileSystemData = run.data()?;
    run.set_resource(ResourceKind::Server, &job.server_id);
    let key = WatchKey::new(ResourceKind::Server, &job.server_id);
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
                    Operation::AttachServerFileSystem,
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
                    Operation::DetachServerFileSystem,
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
