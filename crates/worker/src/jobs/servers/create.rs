//! `create_server`: create, user data, boot, and the compensation of a failed boot.

use fleet_core::{ListServersQuery, Operation, Server, ServerAction, ServerActionRequest};
use fleet_jobs::{CreateServerJob, ResourceKind, job_tag};
use fleet_scheduler::Outcome;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::actions::{ActionState, Drive, drive};
use crate::jobs::error::StepError;
use crate::jobs::observe::Observed;
use crate::jobs::{Run, Waited};

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
    let mut data: CreateServerData = run.data()?;
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
            data.intent = true;
            run.set_data(&data);
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
                    return Ok(run.upstream_failed(Operation::CreateServer, &err));
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
                Operation::SetServerUserData,
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
            .call(
                Operation::GetServer,
                run.client().get_server(zone, server_id),
            )
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
                .call(
                    Operation::DeleteServer,
                    run.client().delete_server(zone, server_id),
                )
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
                    .call(
                        Operation::DeleteVolume,
                        run.client().delete_volume(zone, id),
                    )
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
                    Operation::ServerAction,
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
