//! Batches: one call acts on a resolved selection of servers under a rollout policy, as one
//! durable parent operation over ordinary jobs.
//!
//! A batch is a job of kind [`BATCH_KIND`] in the pseudo-zone [`BATCH_ZONE`] (its id is the
//! batch's id and its parent operation's), a `batches` row (spec, state, events) and one
//! `batch_children` row per selected server, or per volume for volume actions
//! ([`action::ChildTarget`]). The coordinator ([`coordinator`]) runs that job:
//! each tick, in one transaction, records the outcomes of finished children, derives the counts
//! from the children and their jobs, starts children as ordinary jobs ([`action`]) up to
//! `max_in_flight`, halts past `max_failures`, and snoozes until the next tick.
//!
//! `service.rs` is the `fleet.v1.Batches` service; this module the model, the policy
//! arithmetic and the reads both share.

pub mod action;
pub mod coordinator;
pub mod rollout;
pub mod select;
pub mod service;

use std::collections::BTreeMap;

use fleet_proto::v1;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;

use crate::auth::{Caller, ProjectScope};
use crate::errors::GatewayError;
use crate::operations::timestamp;
pub use action::{BatchAction, ChildTarget};
use rollout::{Limits, Wave};

/// Job kind of a batch's coordinator job.
pub const BATCH_KIND: &str = "batch";
/// Pseudo-zone of coordinator jobs: no worker owns it, the gateway's coordinator runs it.
pub const BATCH_ZONE: &str = "batches";
/// The method that starts batches (recorded with the parent job, audited).
pub const CREATE_BATCH: &str = crate::audit::BATCHES_MUTATIONS[0];
/// Priority of a child job: after single operations of the same zone (lower runs first, and
/// single operations have 0), so a batch never starves them.
pub const CHILD_PRIORITY: i16 = 10;

/// State of a batch (`batches.state`; `planned` is only a dry run's answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchState {
    Running,
    Paused,
    Halted,
    Cancelled,
    Completed,
}

impl BatchState {
    pub const ALL: [BatchState; 5] = [
        Self::Running,
        Self::Paused,
        Self::Halted,
        Self::Cancelled,
        Self::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Halted => "halted",
            Self::Cancelled => "cancelled",
            Self::Completed => "completed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, GatewayError> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| GatewayError::Internal(format!("unknown batch state {s:?}")))
    }

    /// Whether new children may start.
    pub fn starts_children(self) -> bool {
        self == Self::Running
    }

    /// Whether children that never started are skipped for good.
    pub fn skips_pending(self) -> bool {
        matches!(self, Self::Halted | Self::Cancelled)
    }
}

/// What a child has come to, derived from its row and its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildOutcome {
    Pending,
    InFlight,
    Succeeded,
    Failed,
    Cancelled,
    Skipped,
}

impl ChildOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InFlight => "in_flight",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Skipped => "skipped",
        }
    }

    /// Whether the child is done with (it will not start or change again).
    pub fn is_finished(self) -> bool {
        !matches!(self, Self::Pending | Self::InFlight)
    }

    /// A recorded `batch_children.outcome`.
    fn recorded(s: &str) -> Result<Self, GatewayError> {
        match s {
            "succeeded" => Ok(Self::Succeeded),
            "failed" => Ok(Self::Failed),
            "cancelled" => Ok(Self::Cancelled),
            "skipped" => Ok(Self::Skipped),
            other => Err(GatewayError::Internal(format!(
                "unknown child outcome {other:?}"
            ))),
        }
    }
}

/// What `batches.spec` holds: the request as accepted (proto JSON) and the resolved limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredSpec {
    pub request: Value,
    #[serde(deserialize_with = "action::stored_action")]
    pub action: BatchAction,
    pub limits: Limits,
}

/// Children counted by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub total: u32,
    pub pending: u32,
    pub in_flight: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub cancelled: u32,
    pub skipped: u32,
}

impl Counts {
    pub fn add(&mut self, outcome: ChildOutcome) {
        self.total += 1;
        let slot = match outcome {
            ChildOutcome::Pending => &mut self.pending,
            ChildOutcome::InFlight => &mut self.in_flight,
            ChildOutcome::Succeeded => &mut self.succeeded,
            ChildOutcome::Failed => &mut self.failed,
            ChildOutcome::Cancelled => &mut self.cancelled,
            ChildOutcome::Skipped => &mut self.skipped,
        };
        *slot += 1;
    }

    pub fn to_proto(self) -> v1::BatchCounts {
        v1::BatchCounts {
            total: self.total,
            pending: self.pending,
            in_flight: self.in_flight,
            succeeded: self.succeeded,
            failed: self.failed,
            cancelled: self.cancelled,
            skipped: self.skipped,
        }
    }
}

/// One audited event of a batch (`batches.events`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub event: String,
    pub caller: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl Event {
    /// An event happening now.
    pub fn now(event: &str, caller: &str) -> Self {
        Self {
            event: event.to_owned(),
            caller: caller.to_owned(),
            at: OffsetDateTime::now_utc(),
        }
    }

    /// The JSON array to append to `batches.events` (empty without an event).
    pub fn array(event: Option<&Self>) -> Value {
        Value::Array(
            event
                .and_then(|e| serde_json::to_value(e).ok())
                .into_iter()
                .collect(),
        )
    }

    fn to_proto(&self) -> v1::BatchEvent {
        v1::BatchEvent {
            event: self.event.clone(),
            caller: self.caller.clone(),
            time: Some(timestamp(self.at)),
        }
    }
}

/// A `batches` row.
#[derive(Debug, Clone)]
pub struct BatchRow {
    pub id: i64,
    pub caller: String,
    pub project: Option<String>,
    pub spec: StoredSpec,
    pub state: BatchState,
    pub reason: String,
    pub events: Vec<Event>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const BATCH_COLUMNS: &str =
    "id, caller, project, spec, state, reason, events, created_at, updated_at";

fn batch_from_row(row: &sqlx::postgres::PgRow) -> Result<BatchRow, GatewayError> {
    let corrupt = |what: &str, err: serde_json::Error| {
        GatewayError::Internal(format!("batch {what} does not decode: {err}"))
    };
    let state: String = row.try_get("state")?;
    Ok(BatchRow {
        id: row.try_get("id")?,
        caller: row.try_get("caller")?,
        project: row.try_get("project")?,
        spec: serde_json::from_value(row.try_get("spec")?).map_err(|e| corrupt("spec", e))?,
        state: BatchState::parse(&state)?,
        reason: row.try_get("reason")?,
        events: serde_json::from_value(row.try_get("events")?).map_err(|e| corrupt("events", e))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Reads batch `id`, locked for the transaction when `lock`.
pub async fn load_batch(
    conn: &mut PgConnection,
    id: i64,
    lock: bool,
) -> Result<Option<BatchRow>, GatewayError> {
    let sql = format!(
        "SELECT {BATCH_COLUMNS} FROM batches WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(batch_from_row).transpose()
}

/// A child as read with its job's state.
#[derive(Debug, Clone)]
pub struct ChildRow {
    pub position: i32,
    pub zone: String,
    pub target: ChildTarget,
    pub project: Option<String>,
    pub name: String,
    pub state: String,
    pub job_id: Option<i64>,
    pub outcome: ChildOutcome,
    pub error: Option<String>,
}

/// Every child of batch `id` in selection order, each outcome derived from its recorded
/// outcome or else its job's state (no job: pending; job unfinished: in flight).
pub async fn load_children(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Vec<ChildRow>, GatewayError> {
    let rows = sqlx::query(
        "SELECT c.position, c.zone, c.resource_id, c.project, c.name, c.state, c.job_id, \
                c.outcome, c.error, j.state AS job_state \
         FROM batch_children c LEFT JOIN jobs j ON j.id = c.job_id \
         WHERE c.batch_id = $1 ORDER BY c.position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let job_id: Option<i64> = row.try_get("job_id")?;
            let recorded: Option<String> = row.try_get("outcome")?;
            let job_state: Option<String> = row.try_get("job_state")?;
            let outcome = match (recorded, job_id, job_state) {
                (Some(recorded), _, _) => ChildOutcome::recorded(&recorded)?,
                (None, None, _) => ChildOutcome::Pending,
                (None, Some(_), Some(state)) => match state.as_str() {
                    "completed" => ChildOutcome::Succeeded,
                    "failed" => ChildOutcome::Failed,
                    "cancelled" => ChildOutcome::Cancelled,
                    _ => ChildOutcome::InFlight,
                },
                // The tick records an outcome before the retention prunes a finished job;
                // a job gone without one is a failure we cannot explain further.
                (None, Some(_), None) => ChildOutcome::Failed,
            };
            Ok(ChildRow {
                position: row.try_get("position")?,
                zone: row.try_get("zone")?,
                target: ChildTarget::decode(row.try_get("resource_id")?),
                project: row.try_get("project")?,
                name: row.try_get("name")?,
                state: row.try_get("state")?,
                job_id,
                outcome,
                error: row.try_get("error")?,
            })
        })
        .collect()
}

/// Counts overall and per zone (zones in name order).
pub fn count(children: &[ChildRow]) -> (Counts, Vec<(String, Counts)>) {
    let mut total = Counts::default();
    let mut zones: std::collections::BTreeMap<&str, Counts> = Default::default();
    for child in children {
        total.add(child.outcome);
        zones
            .entry(child.zone.as_str())
            .or_default()
            .add(child.outcome);
    }
    (
        total,
        zones.into_iter().map(|(z, c)| (z.to_owned(), c)).collect(),
    )
}

fn zone_counts(
    zones: &[(String, Counts)],
    zone_in_flight: &BTreeMap<String, u32>,
) -> Vec<v1::BatchZoneCounts> {
    zones
        .iter()
        .map(|(zone, counts)| v1::BatchZoneCounts {
            zone: zone.clone(),
            counts: Some(counts.to_proto()),
            max_in_flight: zone_in_flight.get(zone).copied().unwrap_or(0),
        })
        .collect()
}

/// `batches/{id}`.
pub fn batch_name(id: i64) -> String {
    format!("batches/{id}")
}

/// `batches/{id}` → id.
pub fn parse_batch_name(name: &str) -> Result<i64, GatewayError> {
    name.strip_prefix("batches/")
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            GatewayError::invalid(
                "name",
                format!("must be batches/{{id}} as returned by CreateBatch; got {name:?}"),
            )
        })
}

/// Whether `caller` may see the batch: its own, or of a granted project.
pub fn visible(caller: &Caller, batch: &BatchRow) -> bool {
    match (&caller.projects, &batch.project) {
        (ProjectScope::All, _) => true,
        _ if batch.caller == caller.name => true,
        (scope, Some(project)) => scope.allows(project),
        (_, None) => false,
    }
}

/// The progress the coordinator records in its job (`progress.state.batch`), shown as the
/// parent operation's `metadata.batch`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProgressState {
    pub state: String,
    pub reason: String,
    pub counts: Counts,
    pub zones: Vec<(String, Counts)>,
    pub events: Vec<Event>,
    /// The current wave (`Wave::as_str`), without a canary none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<String>,
    /// Each zone's resolved `max_in_flight_per_zone`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub zone_in_flight: BTreeMap<String, u32>,
}

impl ProgressState {
    pub fn new(batch: &BatchRow, children: &[ChildRow]) -> Self {
        let (counts, zones) = count(children);
        Self {
            state: batch.state.as_str().to_owned(),
            reason: batch.reason.clone(),
            counts,
            zones,
            events: batch.events.clone(),
            wave: Wave::current(&batch.spec.limits, children).map(|w| w.as_str().to_owned()),
            zone_in_flight: batch.spec.limits.zone_in_flight.clone(),
        }
    }

    /// The key of the job's `progress.state` that holds it.
    pub const KEY: &'static str = "batch";

    /// The operation metadata of batch `id` from its job's `progress.state`, if recorded.
    pub fn metadata(id: i64, progress_state: &Value) -> Option<v1::BatchProgress> {
        let state: Self = serde_json::from_value(progress_state.get(Self::KEY)?.clone()).ok()?;
        Some(v1::BatchProgress {
            batch: batch_name(id),
            state: state.state,
            reason: state.reason,
            counts: Some(state.counts.to_proto()),
            zones: zone_counts(&state.zones, &state.zone_in_flight),
            events: state.events.iter().map(Event::to_proto).collect(),
            wave: state.wave.unwrap_or_default(),
        })
    }
}

/// The public Batch: the row, its policy and its children (`with_children`).
pub fn to_proto(batch: &BatchRow, children: &[ChildRow], with_children: bool) -> v1::Batch {
    let request: v1::CreateBatchRequest =
        fleet_proto::json::from_json(batch.spec.request.clone()).unwrap_or_default();
    let (counts, zones) = count(children);
    v1::Batch {
        name: batch_name(batch.id),
        operation: format!("operations/{}", batch.id),
        state: batch.state.as_str().to_owned(),
        reason: batch.reason.clone(),
        caller: batch.caller.clone(),
        selector: request.selector,
        action: request.action,
        policy: request.policy,
        max_in_flight: batch.spec.limits.max_in_flight,
        max_failures: batch.spec.limits.max_failures,
        counts: Some(counts.to_proto()),
        zones: zone_counts(&zones, &batch.spec.limits.zone_in_flight),
        children: if with_children {
            children.iter().map(|c| child_proto(batch, c)).collect()
        } else {
            Vec::new()
        },
        events: batch.events.iter().map(Event::to_proto).collect(),
        create_time: Some(timestamp(batch.created_at)),
        update_time: Some(timestamp(batch.updated_at)),
        canary: batch.spec.limits.canary,
        wave: Wave::current(&batch.spec.limits, children)
            .map(|w| w.as_str().to_owned())
            .unwrap_or_default(),
    }
}

fn child_proto(batch: &BatchRow, child: &ChildRow) -> v1::BatchChild {
    // What the child does, as its job would be built now (a dry run shows it for each).
    let (method, plan) = match batch.spec.action.child_job(batch.id, child) {
        Ok((job, plan)) => (job.method.to_owned(), plan),
        Err(err) => (String::new(), format!("cannot run: {err}")),
    };
    v1::BatchChild {
        zone: child.zone.clone(),
        server_id: child.target.server().unwrap_or_default().to_owned(),
        volume_id: child.target.volume().unwrap_or_default().to_owned(),
        method,
        plan,
        name: child.name.clone(),
        state: child.state.clone(),
        outcome: child.outcome.as_str().to_owned(),
        operation: child
            .job_id
            .map(|id| format!("operations/{id}"))
            .unwrap_or_default(),
        error: child.error.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
        for state in BatchState::ALL {
            assert_eq!(BatchState::parse(state.as_str()).unwrap(), state);
        }
    }
}
