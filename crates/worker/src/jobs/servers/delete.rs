//! `delete_server`: power off, delete, then the volumes (Instance and SBS) and IPs left
//! behind.

use fleet_core::block;
use fleet_core::{Operation, ServerAction, ServerActionRequest, VolumeServerVolumeType};
use fleet_jobs::{DeleteServerJob, DeleteServerOutput, ResourceKind};
use fleet_scheduler::Outcome;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::actions::{ActionState, Drive, drive};
use crate::jobs::error::StepError;
use crate::jobs::observe::{Observed, WatchKey};
use crate::jobs::{Judge, Run, Waited, now_rfc3339};

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct DeleteServerData {
    inspected: bool,
    /// Instance volumes to delete after the server.
    volumes: Vec<String>,
    /// SBS volumes to delete through the Block API once detached.
    block_volumes: Vec<String>,
    ips: Vec<String>,
    poweroff: ActionState,
    deleted: bool,
    deleted_at: Option<String>,
    /// What the Instance leftovers step deleted (done once).
    leftovers: Option<DeleteServerOutput>,
    /// SBS volumes deleted (or found gone) so far.
    block_deleted: Vec<String>,
}

/// `delete_server`: optionally power off (and wait for `stopped`), delete the server, then
/// delete the volumes and flexible IPs it leaves behind when asked: Instance volumes at once,
/// SBS volumes through the Block API once each is detached (waited for like any state).
///
/// * Effectively once: the server's volumes and IPs are recorded before anything is deleted,
///   so a re-run that finds the server gone still deletes what it left; deletes of what is
///   already gone count as done.
/// * Fails (after deleting the rest) when an SBS volume cannot become detached: held by
///   another server, `error`/`locked`, or still attached at the deadline; it is left.
/// * Cancel: stops at the next step boundary; before the delete the server is left (possibly
///   powered off); after it, volumes and IPs not yet deleted are left.
pub(crate) async fn delete_server(
    run: &mut Run<'_>,
    job: &DeleteServerJob,
) -> Result<Outcome, StepError> {
    let zone = run.zone();
    let mut data: DeleteServerData = run.data()?;
    run.set_resource(ResourceKind::Server, &job.server_id);
    let key = WatchKey::new(ResourceKind::Server, &job.server_id);
    let mut current: Option<Observed> = None;
    if !data.inspected {
        match inspect(run, job, &mut data).await? {
            Ok(observed) => current = Some(observed),
            Err(outcome) => return Ok(outcome),
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
                    Operation::DeleteServer,
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
        data.deleted_at = Some(now_rfc3339());
        run.detail.observe("gone", "", now_rfc3339());
        run.set_data(&data);
        run.save("deleted").await?;
        if run.cancel_requested {
            return Ok(Outcome::Cancelled);
        }
    }
    if data.leftovers.is_none() {
        data.leftovers = Some(delete_leftovers(run, &job.server_id, &data).await?);
        run.set_data(&data);
        run.save("leftovers_deleted").await?;
    }
    if let Some(outcome) = delete_block_volumes(run, &job.server_id, &mut data).await? {
        return Ok(outcome);
    }
    let mut output = data.leftovers.clone().unwrap_or_default();
    output
        .deleted_volumes
        .extend(data.block_deleted.iter().cloned());
    Ok(Outcome::Complete(
        serde_json::to_value(output).unwrap_or(Value::Null),
    ))
}

/// Where an SBS volume of a deleted server stands: detached (`available`, no server holding
/// it) is done; held by another server, or in `error`/`locked`, cannot become deletable.
fn judge_detached(server_id: &str, observed: &Observed) -> Judge {
    let Some(volume) = observed.block_volume() else {
        return Judge::Wait;
    };
    let held_elsewhere = volume.references.iter().any(|r| {
        r.product_resource_type == block::ProductResourceType::InstanceServer
            && r.product_resource_id != server_id
            && r.status != block::ReferenceStatus::Detached
    });
    if held_elsewhere {
        return Judge::Unreachable;
    }
    match volume.status {
        block::VolumeStatus::Error | block::VolumeStatus::Locked => Judge::Unreachable,
        block::VolumeStatus::Available if !volume.is_transient() => Judge::Done,
        _ => Judge::Wait,
    }
}

/// Deletes the server's SBS volumes through the Block API, each once it is detached (Instance
/// detaches them when the server goes; the reference reads `detaching` for a while). `Some`
/// is the job's outcome while one is still detaching, or when one cannot be deleted.
async fn delete_block_volumes(
    run: &mut Run<'_>,
    server_id: &str,
    data: &mut DeleteServerData,
) -> Result<Option<Outcome>, StepError> {
    let since = data
        .deleted_at
        .as_deref()
        .and_then(crate::jobs::parse_time)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let pending: Vec<String> = data
        .block_volumes
        .iter()
        .filter(|id| !data.block_deleted.contains(id))
        .cloned()
        .collect();
    for id in pending {
        let key = WatchKey::new(ResourceKind::BlockVolume, &id);
        let waited = run
            .wait(&key, since, Some("in_use"), |o| {
                judge_detached(server_id, o)
            })
            .await?;
        match waited {
            Waited::Done(_) => {
                match run
                    .call(
                        Operation::BlockDeleteVolume,
                        run.client().block_delete_volume(run.zone(), &id),
                    )
                    .await
                {
                    Ok(()) => {}
                    Err(err) if err.is_not_found() => {}
                    Err(err) => return Err(err),
                }
            }
            Waited::Gone => {}
            Waited::Pending(outcome) => return Ok(Some(outcome)),
            other => {
                let mut notes: Vec<String> = data
                    .block_deleted
                    .iter()
                    .map(|id| format!("deleted volume {id}"))
                    .collect();
                notes.push(format!("left volume {id}: it did not become detached"));
                return Ok(Some(run.wait_failed(&other, "detached", notes)));
            }
        }
        data.block_deleted.push(id);
        run.set_data(&*data);
        run.save("block_volume_deleted").await?;
    }
    Ok(None)
}

/// Reads the server once and records the volumes and IPs to delete after it. `Err` is the
/// job's outcome when it ends here.
async fn inspect(
    run: &mut Run<'_>,
    job: &DeleteServerJob,
    data: &mut DeleteServerData,
) -> Result<Result<Observed, Outcome>, StepError> {
    let zone = run.zone();
    let server = match run
        .call(
            Operation::GetServer,
            run.client().get_server(zone, &job.server_id),
        )
        .await
    {
        Ok(server) => server,
        Err(err) if err.class() == crate::jobs::error::ErrorClass::Permanent => {
            return Ok(Err(run.upstream_failed(Operation::GetServer, &err)));
        }
        Err(err) => return Err(err),
    };
    if job.delete_volumes {
        let (block, instance): (Vec<_>, Vec<_>) = server
            .volumes
            .values()
            .partition(|v| v.volume_type == VolumeServerVolumeType::SbsVolume);
        data.volumes = instance.into_iter().map(|v| v.id.clone()).collect();
        data.block_volumes = block.into_iter().map(|v| v.id.clone()).collect();
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
    run.set_data(data);
    run.save("inspected").await?;
    if run.cancel_requested {
        return Ok(Err(Outcome::Cancelled));
    }
    Ok(Ok(Observed::Server(Box::new(server))))
}

/// Deletes the volumes and IPs the server left behind; already gone counts as deleted.
async fn delete_leftovers(
    run: &Run<'_>,
    server_id: &str,
    data: &DeleteServerData,
) -> Result<DeleteServerOutput, StepError> {
    let zone = run.zone();
    let mut output = DeleteServerOutput {
        server_id: server_id.to_owned(),
        ..DeleteServerOutput::default()
    };
    for id in &data.volumes {
        match run
            .call(
                Operation::DeleteVolume,
                run.client().delete_volume(zone, id),
            )
            .await
        {
            Ok(()) => output.deleted_volumes.push(id.clone()),
            Err(err) if err.is_not_found() => output.deleted_volumes.push(id.clone()),
            Err(err) => return Err(err),
        }
    }
    for id in &data.ips {
        match run
            .call(Operation::DeleteIp, run.client().delete_ip(zone, id))
            .await
        {
            Ok(()) => output.deleted_ips.push(id.clone()),
            Err(err) if err.is_not_found() => output.deleted_ips.push(id.clone()),
            Err(err) => return Err(err),
        }
    }
    Ok(output)
}
