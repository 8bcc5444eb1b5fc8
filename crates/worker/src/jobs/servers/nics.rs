//! `create_private_nic`.

use fleet_core::{ListPrivateNicsQuery, Operation};
use fleet_jobs::{CreatePrivateNicJob, ResourceKind, job_tag};
use fleet_scheduler::Outcome;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::jobs::error::StepError;
use crate::jobs::observe::{Observed, WatchKey};
use crate::jobs::{Judge, Run, Waited, now_rfc3339, parse_time};

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
    let mut data: CreateNicData = run.data()?;
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
                    Operation::ListPrivateNics,
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
                    Operation::CreatePrivateNic,
                    run.client()
                        .create_private_nic(zone, &job.server_id, &request),
                )
                .await
            {
                Ok(nic) => nic,
                Err(err) if err.class() == crate::jobs::error::ErrorClass::Permanent => {
                    return Ok(run.upstream_failed(Operation::CreatePrivateNic, &err));
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
                    Operation::DeletePrivateNic,
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
