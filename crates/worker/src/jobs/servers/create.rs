//! `create_server`: create, user data, boot, and the compensation of a create that ends
//! without its server.

use fleet_core::{
    ErrorKind, ListServersQuery, Operation, Server, ServerAction, ServerActionRequest,
};
use fleet_jobs::{CreateServerJob, Failure, ResourceKind, failure_kind, job_tag};
use fleet_scheduler::Outcome;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::actions::{ActionState, power_on_to_finish};
use crate::jobs::error::StepError;
use crate::jobs::observe::{Observed, WatchKey};
use crate::jobs::undo::Undo;
use crate::jobs::{Run, parse_time};

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct CreateServerData {
    intent: bool,
    server_id: Option<String>,
    user_data_done: bool,
    poweron: ActionState,
    /// The job ends without the server: the compensation (see [`crate::jobs::undo`]).
    undo: Option<Undo>,
    /// Set once the undo removed the server: the Block volumes the create made (not named
    /// in the request), deleted once the server is gone (they are detached only then).
    undo_volumes: Option<Vec<String>>,
}

/// `create_server`: create (tagged with the job), set user data, optionally power on and
/// wait for `running`.
///
/// * Effectively once: intent recorded before the create; a re-run without a recorded id
///   adopts the server carrying the job's tag.
/// * No orphans: once the server's id is recorded (or adopted), a cancel, a permanent
///   error, the last attempt's transient error and a boot that fails for good (unreachable
///   state, 404, deadline) all end the same way: the undo is recorded, the server is
///   deleted with its local volumes (a stopped one) or terminated (a running or `stopped in
///   place` one, which deletes its local volumes), after waiting for a transient state to
///   settle (at most `JobSettings::settle_limit`); what was done and what is left are in the failure's
///   `compensation` and `left`. A cancel ends as cancelled with that record.
pub(crate) async fn create_server(
    run: &mut Run<'_>,
    job: &CreateServerJob,
) -> Result<Outcome, StepError> {
    let mut data: CreateServerData = run.data()?;
    if data.undo.is_none() {
        let outcome = match make_server(run, job, &mut data).await {
            Ok(Made::Ended(outcome)) => return Ok(outcome),
            Ok(Made::Server(created)) => match boot(run, job, &mut data, created).await {
                Ok(outcome) => outcome,
                Err(err) => match Undo::of_error(run, "create_server", &err) {
                    Some(undo) => {
                        data.undo = Some(undo);
                        return undo_server(run, job, &mut data).await;
                    }
                    None => return Err(err),
                },
            },
            Err(err) => return Err(err),
        };
        data.undo = match &outcome {
            Outcome::Cancelled => Some(Undo::cancel(run)),
            other => Undo::of_failure(other),
        };
        if data.undo.is_none() {
            return Ok(outcome);
        }
    }
    undo_server(run, job, &mut data).await
}

/// How the create step ended this run.
enum Made {
    /// The server's id is recorded; the server itself when this run created or adopted it.
    Server(Option<Box<Server>>),
    /// The job ends before any server is known.
    Ended(Outcome),
}

/// Creates the server once (or adopts the one an earlier attempt created).
async fn make_server(
    run: &mut Run<'_>,
    job: &CreateServerJob,
    data: &mut CreateServerData,
) -> Result<Made, StepError> {
    if data.server_id.is_some() {
        return Ok(Made::Server(None));
    }
    let zone = run.zone();
    let tag = job_tag(run.job_id());
    let mut created = None;
    if data.intent {
        let query = ListServersQuery {
            tags: Some(vec![tag.clone()]),
            ..ListServersQuery::default()
        };
        let page = run
            .call(
                Operation::ListServers,
                run.client().list_servers(zone, &query),
            )
            .await?;
        if let Some(server) = page.items.into_iter().min_by_key(|s| s.id.clone()) {
            tracing::info!(zone = %zone, job_id = run.job_id(), operation = "create_server",
                server_id = %server.id, "adopting the server an earlier attempt created");
            data.server_id = Some(server.id.clone());
            created = Some(server);
        }
    }
    if data.server_id.is_none() {
        if run.cancel_requested {
            // Nothing was made (or the create never took effect): nothing to undo.
            return Ok(Made::Ended(Outcome::Cancelled));
        }
        data.intent = true;
        run.set_data(&*data);
        run.save("create_requested").await?;
        let mut request = job.request.clone();
        let tags = request.tags.get_or_insert_with(Vec::new);
        if !tags.contains(&tag) {
            tags.push(tag.clone());
        }
        let server = match run
            .call(
                Operation::CreateServer,
                run.client().create_server(zone, &request),
            )
            .await
        {
            Ok(server) => server,
            Err(err) if err.class() == crate::jobs::error::ErrorClass::Permanent => {
                return Ok(Made::Ended(
                    run.upstream_failed(Operation::CreateServer, &err),
                ));
            }
            Err(err) => return Err(err),
        };
        data.server_id = Some(server.id.clone());
        created = Some(server);
    }
    let id = data.server_id.clone().unwrap_or_default();
    run.set_resource(ResourceKind::Server, &id);
    run.set_data(&*data);
    run.save("created").await?;
    Ok(Made::Server(created.map(Box::new)))
}

/// User data and the boot of the created server. `Outcome::Cancelled` and `Outcome::Fail`
/// are undone by the caller.
async fn boot(
    run: &mut Run<'_>,
    job: &CreateServerJob,
    data: &mut CreateServerData,
    created: Option<Box<Server>>,
) -> Result<Outcome, StepError> {
    let zone = run.zone();
    if run.cancel_requested {
        return Ok(Outcome::Cancelled);
    }
    let server_id = data.server_id.clone().unwrap_or_default();
    if !data.user_data_done && !job.user_data.is_empty() {
        for (key, value) in &job.user_data {
            run.call(
                Operation::SetServerUserData,
                run.client()
                    .set_server_user_data(zone, &server_id, key, value.clone()),
            )
            .await?;
        }
        data.user_data_done = true;
        run.set_data(&*data);
        run.save("user_data_set").await?;
        if run.cancel_requested {
            return Ok(Outcome::Cancelled);
        }
    }
    if !job.start {
        let server = match created {
            Some(server) => *server,
            None => {
                run.call(
                    Operation::GetServer,
                    run.client().get_server(zone, &server_id),
                )
                .await?
            }
        };
        return Ok(Outcome::Complete(
            serde_json::to_value(server).unwrap_or(Value::Null),
        ));
    }
    power_on_to_finish(run, data, |d| &mut d.poweron, &server_id).await
}

/// Runs the recorded undo of the server: waits for it to settle, removes it, deletes the
/// Block volumes the create made once it is gone, and returns the job's final outcome (or a
/// snooze while it waits).
async fn undo_server(
    run: &mut Run<'_>,
    job: &CreateServerJob,
    data: &mut CreateServerData,
) -> Result<Outcome, StepError> {
    let Some(mut undo) = data.undo.clone() else {
        return Ok(run.fail(
            failure_kind::INTERNAL,
            "no compensation recorded".into(),
            Failure::default(),
        ));
    };
    if undo.done {
        return Ok(undo.outcome());
    }
    let server_id = data.server_id.clone().unwrap_or_default();
    let since = parse_time(&undo.since).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let limit = since + run.settings().settle_limit;
    // Recorded before acting: a re-run resumes this undo instead of going on.
    run.set_data(&*data);
    if run.step != "compensating" {
        run.save("compensating").await?;
    }
    let key = WatchKey::new(ResourceKind::Server, &server_id);
    let observed = run.observe(&key, since).await?;
    let removed = data.undo_volumes.is_some();
    match observed {
        Observed::Server(server)
            if removed || ResourceKind::Server.is_transient(server.state.as_str()) =>
        {
            let state = server.state.as_str().to_owned();
            if OffsetDateTime::now_utc() < limit {
                return Ok(run.park_within(&key, since, Some(&state), limit));
            }
            let settle = run.settings().settle_limit;
            if removed {
                undo.note(format!(
                    "server {server_id} still {state} after {settle:?}; its volumes were not deleted"
                ));
            } else {
                undo.note(format!(
                    "left server {server_id} in state {state} with local volumes {:?} after waiting {settle:?} for it to settle; delete it",
                    local_volumes(&server)
                ));
                undo.left.push(server_name(run, &server_id));
            }
            for id in data.undo_volumes.take().unwrap_or_default() {
                undo.left.push(volume_name(run, &id));
            }
        }
        Observed::Server(server) => {
            let existing: Vec<String> = job
                .request
                .volumes
                .iter()
                .flat_map(|v| v.values())
                .filter_map(|v| v.id.clone())
                .collect();
            let later = remove_server(run, &mut undo, *server, &existing).await;
            if !later.is_empty() && undo.left.is_empty() {
                data.undo_volumes = Some(later);
                data.undo = Some(undo);
                run.set_data(&*data);
                run.save("compensating").await?;
                return Ok(run.park_within(&key, since, None, limit));
            }
            for id in later {
                undo.note(format!(
                    "left volume {id}: not deleted, as something before it was left"
                ));
                undo.left.push(volume_name(run, &id));
            }
        }
        _ => {
            if !removed {
                undo.note(format!("server {server_id} is already gone"));
            }
            // A Block volume stays `in_use` for a moment after its server is gone.
            let may_wait = OffsetDateTime::now_utc() < limit;
            let mut pending = Vec::new();
            for id in data.undo_volumes.take().unwrap_or_default() {
                if !delete_block_volume(run, &mut undo, &id, may_wait).await {
                    pending.push(id);
                }
            }
            let wait = !pending.is_empty();
            data.undo_volumes = Some(pending);
            if wait {
                data.undo = Some(undo);
                run.set_data(&*data);
                run.save("compensating").await?;
                return Ok(run.snooze(run.settings().min_poll));
            }
        }
    }
    undo.done = true;
    let outcome = undo.outcome();
    tracing::warn!(zone = %run.zone(), job_id = run.job_id(), operation = "create_server",
        notes = ?undo.notes, left = ?undo.left, "compensated a server create that ends without its server");
    data.undo = Some(undo);
    run.set_data(&*data);
    run.save("compensated").await?;
    Ok(outcome)
}

/// Deletes a Block volume the create made (after its server is gone); `false` when it is
/// still in use and `may_wait` (to be tried again).
async fn delete_block_volume(run: &Run<'_>, undo: &mut Undo, id: &str, may_wait: bool) -> bool {
    match run
        .call(
            Operation::BlockDeleteVolume,
            run.client().block_delete_volume(run.zone(), id),
        )
        .await
    {
        Ok(()) => undo.note(format!("deleted volume {id}")),
        Err(err) if err.is_not_found() => undo.note(format!("volume {id} is already gone")),
        Err(err) if may_wait && err.api_kind() == Some(ErrorKind::PreconditionFailed) => {
            return false;
        }
        Err(err) => {
            undo.note(format!("left volume {id}: could not delete it: {err}"));
            undo.left.push(volume_name(run, id));
        }
    }
    true
}

fn volume_name(run: &Run<'_>, id: &str) -> String {
    fleet_jobs::resource_name(run.zone().as_str(), ResourceKind::Volume, id)
}

/// The ids of the server's local volumes (they go with a terminate).
fn local_volumes(server: &Server) -> Vec<String> {
    server
        .volumes
        .values()
        .filter(|v| matches!(v.volume_type.as_str(), "l_ssd" | "scratch" | "b_ssd"))
        .map(|v| v.id.clone())
        .collect()
}

fn server_name(run: &Run<'_>, id: &str) -> String {
    fleet_jobs::resource_name(run.zone().as_str(), ResourceKind::Server, id)
}

/// Removes a settled server with its local volumes (a stopped one is deleted, a running or
/// `stopped in place` one terminated), noting each step in `undo`. Returns the other volumes
/// the create made (not among `existing`, the ids the request attached), to delete once the
/// server is gone.
async fn remove_server(
    run: &mut Run<'_>,
    undo: &mut Undo,
    server: Server,
    existing: &[String],
) -> Vec<String> {
    let zone = run.zone();
    let server_id = server.id.clone();
    let local = local_volumes(&server);
    let others: Vec<_> = server
        .volumes
        .values()
        .filter(|v| !local.contains(&v.id))
        .collect();
    match server.state.as_str() {
        "stopped" => {
            match run
                .call(
                    Operation::DeleteServer,
                    run.client().delete_server(zone, &server_id),
                )
                .await
            {
                Ok(()) => undo.note(format!("deleted server {server_id}")),
                Err(err) if err.is_not_found() => {
                    undo.note(format!("server {server_id} is already gone"));
                }
                Err(err) => {
                    undo.note(format!("could not delete server {server_id}: {err}"));
                    undo.left.push(server_name(run, &server_id));
                    return others.iter().map(|v| v.id.clone()).collect();
                }
            }
            for id in &local {
                match run
                    .call(
                        Operation::DeleteVolume,
                        run.client().delete_volume(zone, id),
                    )
                    .await
                {
                    Ok(()) => undo.note(format!("deleted volume {id}")),
                    Err(err) if err.is_not_found() => {}
                    Err(err) => {
                        undo.note(format!("left volume {id}: could not delete it: {err}"));
                        undo.left.push(volume_name(run, id));
                    }
                }
            }
        }
        "running" | "stopped in place" => {
            let request = ServerActionRequest::new(ServerAction::Terminate);
            match run
                .call(
                    Operation::ServerAction,
                    run.client().server_action(zone, &server_id, &request),
                )
                .await
            {
                Ok(_) => undo.note(format!(
                    "terminated server {server_id} (its local volumes {local:?} go with it)"
                )),
                Err(err) => {
                    undo.note(format!("could not terminate server {server_id}: {err}"));
                    undo.left.push(server_name(run, &server_id));
                }
            }
        }
        state => {
            undo.note(format!(
                "left server {server_id} in state {state} with volumes {local:?}; delete it"
            ));
            undo.left.push(server_name(run, &server_id));
        }
    }
    let mut made = Vec::new();
    for volume in others {
        if existing.contains(&volume.id) {
            undo.note(format!(
                "kept volume {} ({}): the request attached it, the job did not make it",
                volume.id,
                volume.volume_type.as_str()
            ));
        } else {
            made.push(volume.id.clone());
        }
    }
    made
}
