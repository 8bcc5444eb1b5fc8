//! The policy runner: a scheduler runner on the pseudo-zone [`POLICY_ZONE`] that every
//! gateway runs, whose handler moves one run on by a step.
//!
//! A run is recorded (`policy_runs`) on its first step, then:
//! 1. it resolves the selection and starts its batch as the caller `policies/{id}`, under the
//!    request_id [`spec::run_request_id`] (a step repeated after a crash finds that batch
//!    instead of starting another); a power run first decides from its periods whether to
//!    start or stop, and narrows the selection to the servers that need it;
//! 2. it waits, step after step, for the batch to finish;
//! 3. a snapshot run applies retention to every volume of the batch, through the same
//!    DeleteSnapshot call path (and audit) as a caller's, and the run ends with its outcome.
//!
//! Every step re-reads what the previous ones recorded, so a run survives any gateway.

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use chrono_tz::Tz;
use fleet_core::{ServerState, SnapshotState};
use fleet_proto::v1;
use fleet_scheduler::{ClaimedJob, JobError, Outcome, Runner, RunnerConfig};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tonic::Request;

use super::retention::{self, Deletion, Limits, PolicySnapshot};
use super::spec;
use super::{
    POLICY_TAG, POLICY_ZONE, PolicyRow, RunAction, RunArgs, RunOutcome, RunRow, RunTrigger,
    SLOT_TAG, load_policy, load_run, record_run,
};
use crate::audit::{self, AuditRecord};
use crate::auth::Caller;
use crate::batches::select::{Selected, resolve_all};
use crate::batches::service::{BatchesApi, check_create, request_hash};
use crate::batches::{
    BATCH_KIND, BatchState, CREATE_BATCH, ChildOutcome, load_batch, load_children,
};
use crate::call::Api;
use crate::errors::GatewayError;

const LIST_SNAPSHOTS: &str = "fleet.v1.Snapshots/ListSnapshots";
const DELETE_SNAPSHOT: &str = "fleet.v1.Snapshots/DeleteSnapshot";

/// Runner pacing.
#[derive(Debug, Clone, Copy)]
pub struct RunnerSettings {
    /// How long a run waits between looks at its batch.
    pub tick: Duration,
    /// Runs moved on at once by one gateway.
    pub concurrency: usize,
}

impl Default for RunnerSettings {
    fn default() -> Self {
        Self {
            tick: Duration::from_millis(500),
            concurrency: 8,
        }
    }
}

/// Runs the policy runner until `shutdown`.
pub async fn run(
    api: Arc<Api>,
    owner: String,
    settings: RunnerSettings,
    shutdown: CancellationToken,
) {
    let mut config = RunnerConfig::new(vec![POLICY_ZONE.to_owned()], owner);
    config.concurrency = settings.concurrency;
    config.claim_batch = settings.concurrency;
    // Snoozed steps become due without a notification: poll at the tick's pace.
    config.poll_interval = settings.tick;
    config.shutdown_grace = Duration::from_secs(2);
    let pool = api.pool.clone();
    let handler = move |job: ClaimedJob| {
        let api = api.clone();
        async move { handle(&api, &job, settings.tick).await }
    };
    let runner = Runner::new(pool, config, handler);
    if let Err(err) = runner.run(shutdown).await {
        tracing::warn!(error = %err, "policy runner stopped with an error");
    }
}

/// What a step decided.
#[derive(Debug)]
enum Step {
    Done(RunOutcome),
    Again,
}

async fn handle(api: &Arc<Api>, job: &ClaimedJob, tick: Duration) -> Outcome {
    let args: RunArgs = match serde_json::from_value(job.job.args.clone()) {
        Ok(args) => args,
        // Never guess what a run was for.
        Err(err) => {
            tracing::error!(job_id = job.id(), error = %err, "policy run arguments do not decode");
            return Outcome::Fail(JobError::new(
                "policy_run_args",
                format!("run arguments do not decode: {err}"),
            ));
        }
    };
    match step(api, job.id(), &args).await {
        Ok(Step::Done(outcome)) => Outcome::Complete(json!({ "outcome": outcome.as_str() })),
        Ok(Step::Again) => Outcome::Snooze {
            until: OffsetDateTime::now_utc() + tick,
            progress: None,
        },
        Err(err) if job.job.attempt >= job.job.max_attempts => {
            // The last attempt: the run ends failed rather than stay "running" for ever.
            tracing::error!(job_id = job.id(), policy_id = args.policy_id, error = %err,
                attempts = job.job.attempt, "policy run gave up");
            let detail = format!("gave up after {} attempts: {err}", job.job.attempt);
            if let Err(record) = give_up(api, job.id(), &detail).await {
                tracing::error!(job_id = job.id(), error = %record,
                    "could not record a policy run's failure");
                return Outcome::Retry(JobError::new("policy_run", record.to_string()));
            }
            Outcome::Fail(JobError::new("policy_run", err.to_string()))
        }
        Err(err) => {
            tracing::warn!(job_id = job.id(), policy_id = args.policy_id, error = %err,
                "policy run step failed; retrying");
            Outcome::Retry(JobError::new("policy_run", err.to_string()))
        }
    }
}

/// Ends run `id` failed with `detail`, if it is still running.
async fn give_up(api: &Api, id: i64, detail: &str) -> Result<(), GatewayError> {
    sqlx::query(
        "UPDATE policy_runs SET outcome = $2, detail = $3, finished_at = now() \
         WHERE id = $1 AND outcome = $4",
    )
    .bind(id)
    .bind(RunOutcome::Failed.as_str())
    .bind(crate::errors::clip(detail, 1024))
    .bind(RunOutcome::Running.as_str())
    .execute(&api.pool)
    .await?;
    Ok(())
}

async fn step(api: &Arc<Api>, id: i64, args: &RunArgs) -> Result<Step, GatewayError> {
    let mut conn = api.pool.acquire().await?;
    let Some(policy) = load_policy(&mut conn, args.policy_id, false).await? else {
        // Deleted since the slot fired: its runs went with it.
        return Ok(Step::Done(RunOutcome::NothingToDo));
    };
    let run = match load_run(&mut conn, id, false).await? {
        Some(run) => run,
        // The first step of a scheduled run records it (RunPolicy records its own).
        None => {
            record_run(&mut conn, id, args).await?;
            load_run(&mut conn, id, false).await?.ok_or_else(|| {
                GatewayError::Internal(format!("policy run {id} was not recorded"))
            })?
        }
    };
    drop(conn);
    if run.outcome.is_finished() {
        return Ok(Step::Done(run.outcome));
    }
    match run.batch_id {
        None => start(api, &policy, &run).await,
        Some(batch_id) => follow(api, &policy, &run, batch_id).await,
    }
}

/// Ends run `id` with `outcome`.
async fn finish(
    api: &Api,
    run: &RunRow,
    outcome: RunOutcome,
    deletions: &[Deletion],
    detail: &str,
) -> Result<Step, GatewayError> {
    sqlx::query(
        "UPDATE policy_runs SET outcome = $2, deletions = $3, detail = $4, finished_at = now() \
         WHERE id = $1 AND outcome = $5",
    )
    .bind(run.id)
    .bind(outcome.as_str())
    .bind(serde_json::to_value(deletions).unwrap_or(Value::Array(Vec::new())))
    .bind(detail)
    .bind(RunOutcome::Running.as_str())
    .execute(&api.pool)
    .await?;
    tracing::info!(policy_id = run.policy_id, run = run.id, slot = %run.slot.local,
        outcome = outcome.as_str(), deletions = deletions.len(), detail, "policy run finished");
    Ok(Step::Done(outcome))
}

/// The batch this run started before a crash, if any.
async fn existing_batch(
    api: &Api,
    caller: &Caller,
    request_id: &str,
) -> Result<Option<i64>, GatewayError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM jobs WHERE caller = $1 AND idempotency_key = $2 AND kind = $3",
    )
    .bind(&caller.name)
    .bind(request_id)
    .bind(BATCH_KIND)
    .fetch_optional(&api.pool)
    .await?)
}

fn tz(policy: &PolicyRow) -> Result<Tz, GatewayError> {
    Tz::from_str(policy.time_zone()).map_err(|_| {
        GatewayError::Internal(format!(
            "policy {} stores the unknown time zone {:?}",
            policy.id,
            policy.time_zone()
        ))
    })
}

/// Step 1: decide, resolve, start the batch.
async fn start(api: &Arc<Api>, policy: &PolicyRow, run: &RunRow) -> Result<Step, GatewayError> {
    let caller = policy.run_caller();
    let (action, power_on) = match &policy.spec.kind {
        Some(v1::policy::Kind::Snapshot(_)) => (RunAction::Snapshot, true),
        Some(v1::policy::Kind::Power(schedule)) => {
            let periods = spec::periods(schedule)?;
            let edge = run.trigger == RunTrigger::Schedule;
            match super::power::decide(&periods, tz(policy)?, run.slot.at, edge) {
                Some(true) => (RunAction::Start, true),
                Some(false) => (RunAction::Stop, false),
                // No action recorded: a stop after the joint still finds the retained
                // servers of the period's real start.
                None => {
                    return finish(
                        api,
                        run,
                        RunOutcome::NothingToDo,
                        &[],
                        "adjacent periods: the selection stays on",
                    )
                    .await;
                }
            }
        }
        None => {
            return Err(GatewayError::Internal(format!(
                "policy {} has no kind",
                policy.id
            )));
        }
    };
    let mut request = spec::batch_request(&policy.spec, policy.id, &run.slot, run.id, power_on)?;
    if let Some(batch_id) = existing_batch(api, &caller, &request.request_id).await? {
        set_batch(api, run, batch_id).await?;
        return Ok(Step::Again);
    }
    let batch_action = check_create(&request)?;
    let selector = request.selector.clone().unwrap_or_default();
    let mut selected = resolve_all(api, &caller, &selector, &batch_action).await?;
    let mut retained: Vec<String> = Vec::new();
    if let Some(v1::policy::Kind::Power(schedule)) = &policy.spec.kind {
        let state = |s: &Selected| ServerState::from(s.state.as_str());
        if power_on {
            if schedule.retain_running {
                retained = selected
                    .iter()
                    .filter(|s| state(s) == ServerState::Running)
                    .map(|s| s.target.id().to_owned())
                    .collect();
            }
            selected
                .retain(|s| matches!(state(s), ServerState::Stopped | ServerState::StoppedInPlace));
        } else {
            let keep = if schedule.retain_running {
                retained_at_last_start(api, run).await?
            } else {
                Vec::new()
            };
            selected.retain(|s| {
                state(s) == ServerState::Running && !keep.iter().any(|id| id == s.target.id())
            });
        }
        let ids: Vec<String> = selected.iter().map(|s| s.target.id().to_owned()).collect();
        if let Some(selector) = request.selector.as_mut() {
            selector.server_ids = ids;
        }
    }
    record_action(api, run, action, &retained).await?;
    if selected.is_empty() {
        let detail = match action {
            RunAction::Snapshot => "the selection matched no volume",
            RunAction::Start => "no selected server is stopped",
            RunAction::Stop => "no selected server needs stopping",
        };
        return finish(api, run, RunOutcome::NothingToDo, &[], detail).await;
    }
    let hash = request_hash(&request);
    let batches = BatchesApi { api: api.clone() };
    let started = batches
        .start(&caller, &request, batch_action, &selected, false, &hash)
        .await;
    // The run's batch is a mutation like a caller's CreateBatch: audited as the policy.
    let mut record = AuditRecord::new(&caller, CREATE_BATCH);
    record.request_id = Some(request.request_id.clone());
    record.resource = Some(super::run_name(policy.id, &run.id.to_string()));
    if let Ok(operation) = &started {
        record.started(&operation.name);
    }
    let status = started.as_ref().err().map(GatewayError::to_status);
    record.finish(status.as_ref().map_or(Ok(()), Err));
    audit::record(&api.pool, &record).await;
    let operation = started?;
    let batch_id = crate::operations::parse_name(&operation.name)?;
    set_batch(api, run, batch_id).await?;
    tracing::info!(policy_id = policy.id, run = run.id, slot = %run.slot.local, batch_id,
        action = action.as_str(), children = selected.len(), "policy run started its batch");
    Ok(Step::Again)
}

async fn record_action(
    api: &Api,
    run: &RunRow,
    action: RunAction,
    retained: &[String],
) -> Result<(), GatewayError> {
    sqlx::query("UPDATE policy_runs SET action = $2, retained_servers = $3 WHERE id = $1")
        .bind(run.id)
        .bind(action.as_str())
        .bind(json!(retained))
        .execute(&api.pool)
        .await?;
    Ok(())
}

async fn set_batch(api: &Api, run: &RunRow, batch_id: i64) -> Result<(), GatewayError> {
    sqlx::query("UPDATE policy_runs SET batch_id = $2 WHERE id = $1")
        .bind(run.id)
        .bind(batch_id)
        .execute(&api.pool)
        .await?;
    Ok(())
}

/// The servers the policy's latest start run before `run` found running already.
async fn retained_at_last_start(api: &Api, run: &RunRow) -> Result<Vec<String>, GatewayError> {
    let retained: Option<Value> = sqlx::query_scalar(
        "SELECT retained_servers FROM policy_runs \
         WHERE policy_id = $1 AND action = $2 AND slot_at < $3 \
         ORDER BY slot_at DESC, id DESC LIMIT 1",
    )
    .bind(run.policy_id)
    .bind(RunAction::Start.as_str())
    .bind(run.slot.at)
    .fetch_optional(&api.pool)
    .await?;
    Ok(retained
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// Steps 2 and 3: wait for the batch, then retention and the outcome.
async fn follow(
    api: &Api,
    policy: &PolicyRow,
    run: &RunRow,
    batch_id: i64,
) -> Result<Step, GatewayError> {
    let mut conn = api.pool.acquire().await?;
    let batch = load_batch(&mut conn, batch_id, false)
        .await?
        .ok_or_else(|| GatewayError::Internal(format!("batch {batch_id} of a run is gone")))?;
    if matches!(batch.state, BatchState::Running | BatchState::Paused) {
        return Ok(Step::Again);
    }
    let children = load_children(&mut conn, batch_id).await?;
    drop(conn);
    let failed = children
        .iter()
        .filter(|c| c.outcome != ChildOutcome::Succeeded)
        .count();
    let succeeded = batch.state == BatchState::Completed && failed == 0;
    let mut deletions = Vec::new();
    if let Some(v1::policy::Kind::Snapshot(snapshot)) = &policy.spec.kind {
        let limits = Limits {
            keep_count: snapshot.keep_count,
            max_age_seconds: snapshot.max_age_seconds,
        };
        let volumes: Vec<(String, String)> = children
            .iter()
            .map(|c| (c.zone.clone(), c.target.id().to_owned()))
            .collect();
        deletions = apply_retention(api, policy, run, &volumes, limits).await?;
    }
    let detail = if succeeded {
        String::new()
    } else {
        format!(
            "batch {} ended {} with {failed} of {} children not succeeded",
            crate::batches::batch_name(batch_id),
            batch.state.as_str(),
            children.len()
        )
    };
    let outcome = if succeeded {
        RunOutcome::Succeeded
    } else {
        RunOutcome::Failed
    };
    finish(api, run, outcome, &deletions, &detail).await
}

fn text<'a>(item: &'a Value, key: &str) -> &'a str {
    item.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The unix slot a listed snapshot carries in its slot tag.
fn slot_of(item: &Value) -> Option<i64> {
    let prefix = format!("{SLOT_TAG}=");
    item.get("tags")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find_map(|tag| tag.strip_prefix(&prefix)?.parse().ok())
}

/// Deletes what retention chooses among the policy's snapshots of `volumes`.
async fn apply_retention(
    api: &Api,
    policy: &PolicyRow,
    run: &RunRow,
    volumes: &[(String, String)],
    limits: Limits,
) -> Result<Vec<Deletion>, GatewayError> {
    let caller = policy.run_caller();
    let tag = format!("{POLICY_TAG}={}", policy.id);
    let mut zones: Vec<&str> = volumes.iter().map(|(zone, _)| zone.as_str()).collect();
    zones.sort_unstable();
    zones.dedup();
    let mut deletions = Vec::new();
    for zone in zones {
        let listed = api
            .list_every(
                LIST_SNAPSHOTS,
                &caller,
                json!({ "zone": zone, "tags": [tag] }),
            )
            .await?;
        for (_, volume) in volumes.iter().filter(|(z, _)| z == zone) {
            let ours: Vec<PolicySnapshot> = listed
                .iter()
                // The upstream tag filter may match more loosely than an exact tag.
                .filter(|item| {
                    item.get("tags")
                        .and_then(Value::as_array)
                        .is_some_and(|tags| tags.iter().any(|t| t.as_str() == Some(tag.as_str())))
                })
                .filter(|item| {
                    item.get("base_volume").map(|b| text(b, "id")) == Some(volume.as_str())
                })
                .filter_map(|item| {
                    Some(PolicySnapshot {
                        id: text(item, "id").to_owned(),
                        slot: slot_of(item)?,
                        state: SnapshotState::from(text(item, "state")),
                    })
                })
                .collect();
            for (snapshot_id, reason) in
                retention::choose(&ours, limits, run.slot.at.unix_timestamp())
            {
                let error = delete_snapshot(api, &caller, zone, &snapshot_id).await;
                deletions.push(Deletion {
                    zone: zone.to_owned(),
                    snapshot_id,
                    volume_id: volume.clone(),
                    reason,
                    error,
                });
            }
        }
    }
    Ok(deletions)
}

/// Deletes one snapshot as `caller` through the public call path (audited like a caller's);
/// answers the error, empty when it is gone (already gone included).
async fn delete_snapshot(api: &Api, caller: &Caller, zone: &str, snapshot_id: &str) -> String {
    let mut request = Request::new(v1::DeleteSnapshotRequest {
        zone: zone.to_owned(),
        snapshot_id: snapshot_id.to_owned(),
        ..Default::default()
    });
    request.extensions_mut().insert(caller.clone());
    match api.call::<_, ()>(DELETE_SNAPSHOT, request).await {
        Ok(_) => String::new(),
        Err(status) if status.code() == tonic::Code::NotFound => String::new(),
        Err(status) => {
            tracing::warn!(policy = %caller.name, zone, snapshot_id, code = ?status.code(),
                error = status.message(), "retention could not delete a snapshot");
            crate::errors::clip(status.message(), 256)
        }
    }
}
