//! Jobs seen as AIP-151 operations: the `Operation` shape, visibility rules, and the queries
//! of the Operations service (get, list with filters and opaque paging).
//!
//! An operation is named `operations/{job id}` (the scheduler's numeric id). A caller sees the
//! operations of its granted projects and the ones it started itself.

pub mod service;

use fleet_jobs::{Failure, JobSpec, ProgressDetail, failure_kind};
use fleet_proto::reasons::PROJECT_NOT_GRANTED;
use fleet_proto::v1;
use fleet_scheduler::{Job, JobState};
use prost::Message as _;
use serde_json::Value;
use sqlx::{PgPool, Row};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth::{Caller, ProjectScope};
use crate::batches;
use crate::errors::{Compensation, GatewayError, UpstreamContext};
use crate::request::convert::dynamic_from_json;
use crate::request::methods::response_type;

/// `operations/{id}` → id.
pub fn parse_name(name: &str) -> Result<i64, GatewayError> {
    name.strip_prefix("operations/")
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            GatewayError::invalid(
                "name",
                format!(
                    "must be operations/{{id}} as returned by a long-running call; got {name:?}"
                ),
            )
        })
}

/// Every public state of an operation, as [`public_state`] names them.
pub const PUBLIC_STATES: &[&str] = &["queued", "running", "succeeded", "failed", "cancelled"];

/// The public state of a job state.
pub fn public_state(state: JobState) -> &'static str {
    match state {
        JobState::Scheduled | JobState::Available | JobState::Retryable => "queued",
        JobState::Running => "running",
        JobState::Completed => "succeeded",
        JobState::Failed => "failed",
        JobState::Cancelled => "cancelled",
    }
}

/// Job states of a public state.
pub fn job_states(public: &str) -> Vec<JobState> {
    match public {
        "queued" => vec![
            JobState::Scheduled,
            JobState::Available,
            JobState::Retryable,
        ],
        "running" => vec![JobState::Running],
        "succeeded" => vec![JobState::Completed],
        "failed" => vec![JobState::Failed],
        "cancelled" => vec![JobState::Cancelled],
        _ => Vec::new(),
    }
}

pub(crate) fn timestamp(t: OffsetDateTime) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.unix_timestamp(),
        nanos: t.nanosecond() as i32,
    }
}

fn parse_time(s: &str) -> Option<prost_types::Timestamp> {
    OffsetDateTime::parse(s, &Rfc3339).ok().map(timestamp)
}

/// `fr-par-1/server/{id}` (serialization key) → `zones/fr-par-1/servers/{id}`.
pub fn key_to_name(key: &str) -> String {
    let mut parts = key.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(zone), Some(kind), Some(id)) => {
            let collection = match kind {
                "server" => "servers",
                "volume" => "volumes",
                "snapshot" => "snapshots",
                "image" => "images",
                "private_nic" => "private_nics",
                other => other,
            };
            format!("zones/{zone}/{collection}/{id}")
        }
        _ => key.to_owned(),
    }
}

/// `zones/fr-par-1/servers/{id}` → `fr-par-1/server/{id}`.
pub fn name_to_key(name: &str) -> Option<String> {
    let rest = name.strip_prefix("zones/")?;
    let mut parts = rest.splitn(3, '/');
    let (zone, collection, id) = (parts.next()?, parts.next()?, parts.next()?);
    let kind = match collection {
        "servers" => "server",
        "volumes" => "volume",
        "snapshots" => "snapshot",
        "images" => "image",
        "private_nics" => "private_nic",
        _ => return None,
    };
    Some(format!("{zone}/{kind}/{id}"))
}

/// Whether `caller` may see `job`.
pub fn visible(caller: &Caller, job: &Job) -> bool {
    match (&caller.projects, &job.project) {
        (ProjectScope::All, _) => true,
        (_, _) if job.caller == caller.name => true,
        (scope, Some(project)) => scope.allows(project),
        (_, None) => false,
    }
}

/// The operation of a job. `method` is the public method that started it.
pub fn to_operation(job: &Job, method: Option<&str>) -> v1::Operation {
    let detail = ProgressDetail::from_state(&job.progress.state);
    let resource = detail
        .resource
        .clone()
        .or_else(|| job.resource.as_deref().map(key_to_name))
        .unwrap_or_default();
    let deadline = detail.deadline.as_deref().and_then(parse_time).or_else(|| {
        JobSpec::from_args(&job.args)
            .ok()
            .map(|spec| timestamp(job.created_at + spec.deadline()))
    });
    let metadata = v1::OperationMetadata {
        kind: job.kind.clone(),
        zone: job.zone.clone(),
        resource,
        state: public_state(job.state).to_owned(),
        attempt: job.attempt.max(0) as u32,
        step: job.progress.step.clone().unwrap_or_default(),
        percent: job
            .progress
            .percent
            .map(|p| p.clamp(0.0, 100.0).round() as i32)
            .unwrap_or(if job.state == JobState::Completed {
                100
            } else {
                0
            }),
        message: job.progress.message.clone().unwrap_or_default(),
        create_time: Some(timestamp(job.created_at)),
        update_time: Some(timestamp(job.updated_at)),
        end_time: job.finished_at.map(timestamp),
        caller: job.caller.clone(),
        project: job.project.clone().unwrap_or_default(),
        cancel_requested: job.cancel_requested,
        history: detail
            .history
            .iter()
            .map(|o| v1::StateTransition {
                state: o.state.clone(),
                state_detail: o.state_detail.clone(),
                observe_time: parse_time(&o.observed_at),
            })
            .collect(),
        request_id: job.idempotency_key.clone().unwrap_or_default(),
        method: method.unwrap_or_default().to_owned(),
        deadline,
        upstream_task_id: detail.upstream_task_id.clone().unwrap_or_default(),
        batch: (job.kind == batches::BATCH_KIND)
            .then(|| batches::ProgressState::metadata(job.id, &job.progress.state))
            .flatten(),
    };
    let result = match job.state {
        JobState::Completed => Some(completed(job, method)),
        JobState::Failed => Some(v1::operation::Result::Error(failure(job).to_rpc_status())),
        JobState::Cancelled => Some(v1::operation::Result::Error(cancelled(job).to_rpc_status())),
        _ => None,
    };
    v1::Operation {
        name: format!("operations/{}", job.id),
        metadata: prost_types::Any::from_msg(&metadata).ok(),
        done: job.state.is_terminal(),
        result,
    }
}

fn completed(job: &Job, method: Option<&str>) -> v1::operation::Result {
    // A batch's parent operation answers the final Batch (its children's outcomes).
    let type_name = if job.kind == batches::BATCH_KIND {
        Some(<v1::Batch as prost::Name>::full_name())
    } else {
        response_type(method, &job.kind).map(str::to_owned)
    };
    let packed = type_name
        .ok_or_else(|| {
            GatewayError::Internal(format!("no method starts jobs of kind {}", job.kind))
        })
        .and_then(|type_name| {
            match fleet_proto::descriptor_pool().get_message_by_name(&type_name) {
                Some(desc) => Ok((type_name, desc)),
                None => Err(GatewayError::Internal(format!(
                    "unknown response type {type_name}"
                ))),
            }
        })
        .and_then(|(type_name, desc)| {
            dynamic_from_json(&desc, job.result.clone().unwrap_or(Value::Null))
                .map(|message| (type_name, message))
        })
        .map(|(type_name, message)| prost_types::Any {
            type_url: format!("type.googleapis.com/{type_name}"),
            value: message.encode_to_vec(),
        });
    match packed {
        Ok(any) => v1::operation::Result::Response(any),
        Err(err) => {
            tracing::error!(job_id = job.id, error = %err, "completed job has an unreadable result");
            v1::operation::Result::Error(err.to_rpc_status())
        }
    }
}

/// Why a failed job failed, as a gateway error (so the one table maps it).
pub fn failure(job: &Job) -> GatewayError {
    let Some(last) = job.errors.last() else {
        return GatewayError::Internal("the operation failed without a recorded reason".into());
    };
    let failure = Failure::from_details(&last.details);
    if last.kind == failure_kind::UPSTREAM
        && let Value::Object(body) = &failure.upstream
    {
        return GatewayError::Upstream {
            status: failure.status.unwrap_or(500),
            error: Box::new(fleet_core::ApiError::from_body(body.clone())),
            retry_after: None,
            context: Box::new(UpstreamContext {
                zone: job.zone.clone(),
                operation: job.kind.clone(),
                resource: failure.resource.clone(),
                compensation: Compensation::of(&failure),
            }),
        };
    }
    if last.kind == failure_kind::CANCELLED {
        return GatewayError::Cancelled(Box::new(Compensation::of(&failure)));
    }
    GatewayError::JobFailed(Box::new(crate::errors::JobFailure {
        kind: last.kind.clone(),
        message: last.message.clone(),
        compensation: Compensation::of(&failure),
        resource: failure.resource,
        state: failure.state,
        target: failure.target,
    }))
}

/// A cancelled job as a gateway error, with what it undid before it ended.
fn cancelled(job: &Job) -> GatewayError {
    let failure = job
        .errors
        .last()
        .map(|last| Failure::from_details(&last.details))
        .unwrap_or_default();
    GatewayError::Cancelled(Box::new(Compensation::of(&failure)))
}

/// The method that started job `id`, if recorded.
pub async fn method_of(pool: &PgPool, id: i64) -> Result<Option<String>, GatewayError> {
    Ok(
        sqlx::query_scalar("SELECT method FROM gateway_operations WHERE job_id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

/// A visible job by operation name.
pub async fn get_visible(pool: &PgPool, caller: &Caller, name: &str) -> Result<Job, GatewayError> {
    let id = parse_name(name)?;
    let job = fleet_scheduler::get_job(pool, id).await?;
    if !visible(caller, &job) {
        return Err(GatewayError::denied(
            PROJECT_NOT_GRANTED,
            format!(
                "caller {} may not see {name}: it belongs to a project not granted",
                caller.name
            ),
        ));
    }
    Ok(job)
}

/// Filters of ListOperations.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub states: Vec<JobState>,
    pub kind: Option<String>,
    pub zone: Option<String>,
    pub resource: Option<String>,
    pub project: Option<String>,
}

/// One page of visible operations, newest first, and the total count.
pub async fn list(
    pool: &PgPool,
    caller: &Caller,
    filter: &ListFilter,
    after: Option<i64>,
    limit: u32,
) -> Result<(Vec<(Job, Option<String>)>, Option<i64>, i64), GatewayError> {
    let states: Option<Vec<String>> = (!filter.states.is_empty()).then(|| {
        filter
            .states
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect()
    });
    let resource_key = filter.resource.as_deref().and_then(name_to_key);
    let (all, projects) = match &caller.projects {
        ProjectScope::All => (true, Vec::new()),
        ProjectScope::Only(p) => (false, p.clone()),
    };
    const WHERE: &str = "($1::text[] IS NULL OR j.state = ANY ($1)) \
           AND ($2::text IS NULL OR j.kind = $2) \
           AND ($3::text IS NULL OR j.zone = $3) \
           AND ($4::text IS NULL OR j.resource = $5 OR j.progress->'state'->>'resource' = $4) \
           AND ($6::text IS NULL OR j.project = $6) \
           AND ($7 OR j.project = ANY ($8) OR j.caller = $9)";
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT j.*, g.method AS gateway_method FROM jobs j \
         LEFT JOIN gateway_operations g ON g.job_id = j.id \
         WHERE {WHERE} AND ($10::int8 IS NULL OR j.id < $10) \
         ORDER BY j.id DESC LIMIT $11"
    )))
    .bind(&states)
    .bind(&filter.kind)
    .bind(&filter.zone)
    .bind(&filter.resource)
    .bind(&resource_key)
    .bind(&filter.project)
    .bind(all)
    .bind(&projects)
    .bind(&caller.name)
    .bind(after)
    .bind(i64::from(limit) + 1)
    .fetch_all(pool)
    .await?;
    let mut jobs = Vec::with_capacity(rows.len());
    for row in &rows {
        let job: Job = sqlx::FromRow::from_row(row)?;
        let method: Option<String> = row.try_get("gateway_method")?;
        jobs.push((job, method));
    }
    let next = if jobs.len() > limit as usize {
        jobs.truncate(limit as usize);
        jobs.last().map(|(j, _)| j.id)
    } else {
        None
    };
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM jobs j WHERE {WHERE}"
    )))
    .bind(&states)
    .bind(&filter.kind)
    .bind(&filter.zone)
    .bind(&filter.resource)
    .bind(&resource_key)
    .bind(&filter.project)
    .bind(all)
    .bind(&projects)
    .bind(&caller.name)
    .fetch_one(pool)
    .await?;
    Ok((jobs, next, total))
}

/// The job a caller already started with `request_id`, if any.
pub async fn by_request_id(
    pool: &PgPool,
    caller: &str,
    request_id: &str,
) -> Result<Option<Job>, GatewayError> {
    let row = sqlx::query("SELECT * FROM jobs WHERE caller = $1 AND idempotency_key = $2")
        .bind(caller)
        .bind(request_id)
        .fetch_optional(pool)
        .await?;
    Ok(row.as_ref().map(sqlx::FromRow::from_row).transpose()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_keys() {
        assert_eq!(parse_name("operations/42").unwrap(), 42);
        for bad in ["operations/", "operations/x", "ops/1", "operations/-1", ""] {
            assert!(parse_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            key_to_name("fr-par-1/server/abc"),
            "zones/fr-par-1/servers/abc"
        );
        assert_eq!(
            name_to_key("zones/fr-par-1/servers/abc").as_deref(),
            Some("fr-par-1/server/abc")
        );
    }

    #[test]
    fn states_map_both_ways() {
        for state in JobState::ALL {
            assert!(job_states(public_state(state)).contains(&state));
        }
    }
}
