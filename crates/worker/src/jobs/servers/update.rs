//! Server updates that must be one job so they are serialized with the server's other jobs:
//! `update_server_tags` (a read-modify-write of the tags) and `change_server_type` (stop →
//! change → start, restoring the previous power state).

use fleet_core::{Operation, Server, ServerAction, ServerActionRequest, UpdateServerRequest};
use fleet_jobs::{ChangeServerTypeJob, Failure, ResourceKind, UpdateServerTagsJob, failure_kind};
use fleet_scheduler::Outcome;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::actions::{ActionState, Drive, drive, power_on_to_finish};
use crate::jobs::Run;
use crate::jobs::error::StepError;
use crate::jobs::observe::WatchKey;

fn complete(server: &Server) -> Outcome {
    Outcome::Complete(serde_json::to_value(server).unwrap_or(Value::Null))
}

/// `update_server_tags`: read the server, patch the tags the operation makes (nothing when
/// they are already so), answer the server.
///
/// * Effectively once: every operation is idempotent (set, add and remove give the same tags
///   when applied twice), so a re-run reads and patches again without harm.
/// * Serialized: the job is keyed on the server, so no other job of it reads or writes its
///   tags in between (a concurrent `UpdateServer` outside fleet can still race).
/// * Cancel: nothing to undo (one patch at most).
pub(crate) async fn update_server_tags(
    run: &mut Run<'_>,
    job: &UpdateServerTagsJob,
) -> Result<Outcome, StepError> {
    let zone = run.zone();
    run.set_resource(ResourceKind::Server, &job.server_id);
    let server = run
        .call(
            Operation::GetServer,
            run.client().get_server(zone, &job.server_id),
        )
        .await?;
    let tags = job.operation.apply(&server.tags, &job.tags);
    if tags == server.tags {
        return Ok(complete(&server));
    }
    let request = UpdateServerRequest {
        tags: Some(tags),
        ..Default::default()
    };
    let server = patch_server(run, &job.server_id, &request).await?;
    Ok(complete(&server))
}

/// One `PATCH` of the server (idempotent: a re-run sends the same fields again).
async fn patch_server(
    run: &Run<'_>,
    server_id: &str,
    request: &UpdateServerRequest,
) -> Result<Server, StepError> {
    run.call(
        Operation::UpdateServer,
        run.client().update_server(run.zone(), server_id, request),
    )
    .await
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct ChangeTypeData {
    /// The power state found first (`Some(true)`: running, powered back on at the end).
    was_running: Option<bool>,
    poweroff: ActionState,
    /// The commercial type was patched.
    changed: bool,
    poweron: ActionState,
}

/// `change_server_type`: read the server; if it runs, power it off (waiting for `stopped`);
/// patch `commercial_type`; power it back on if it ran. A server already of the type is
/// answered as it is.
///
/// * Effectively once: the power state found first is recorded before anything is sent, so
///   a re-run restores that one, not the `stopped` it left; power actions go through the
///   action driver (sent once, waited on); the patch is idempotent.
/// * Fails early on a server stopped in place (or in any state but running and stopped):
///   its state could not be restored; a server in a transition is waited out first.
/// * Cancel: at a step boundary; a server powered off and not yet changed stays off.
pub(crate) async fn change_server_type(
    run: &mut Run<'_>,
    job: &ChangeServerTypeJob,
) -> Result<Outcome, StepError> {
    let zone = run.zone();
    let mut data: ChangeTypeData = run.data()?;
    run.set_resource(ResourceKind::Server, &job.server_id);
    if data.was_running.is_none() {
        let server = run
            .call(
                Operation::GetServer,
                run.client().get_server(zone, &job.server_id),
            )
            .await?;
        let state = server.state.as_str();
        if ResourceKind::Server.is_transient(state) {
            if run.past_deadline() {
                return Ok(run.deadline_exceeded(None, Some("stopped")));
            }
            let key = WatchKey::new(ResourceKind::Server, &job.server_id);
            return Ok(run.park(&key, OffsetDateTime::now_utc(), None));
        }
        data.was_running = match state {
            "running" => Some(true),
            "stopped" => Some(false),
            other => {
                let failure = Failure {
                    state: Some(other.to_owned()),
                    target: Some("stopped".into()),
                    ..Failure::default()
                };
                return Ok(run.fail(
                    failure_kind::UNREACHABLE_STATE,
                    format!(
                        "server {} is {other:?}: only a running or stopped server changes \
                         commercial type with its power state restored",
                        job.server_id
                    ),
                    failure,
                ));
            }
        };
        if server.commercial_type == job.commercial_type {
            return Ok(complete(&server));
        }
        run.set_data(&data);
        run.save("inspected").await?;
    }
    let was_running = data.was_running == Some(true);
    if !data.changed {
        if was_running {
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
                Drive::Failed(waited) => {
                    return Ok(run.wait_failed(&waited, "stopped", Vec::new()));
                }
            }
            if run.cancel_requested {
                return Ok(Outcome::Cancelled);
            }
        }
        let request = UpdateServerRequest {
            commercial_type: Some(job.commercial_type.clone()),
            ..Default::default()
        };
        let server = patch_server(run, &job.server_id, &request).await?;
        data.changed = true;
        run.set_data(&data);
        run.save("changed").await?;
        if !was_running {
            return Ok(complete(&server));
        }
    }
    power_on_to_finish(run, &mut data, |d| &mut d.poweron, &job.server_id).await
}
