//! Job model: states, the job row, what callers enqueue, progress and error-history entries.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row};
use time::OffsetDateTime;

use crate::error::SchedulerError;

/// The state of a job. See the crate documentation for every transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for `run_at` (enqueued for later, or snoozed). Claimable once `run_at <= now()`.
    Scheduled,
    /// Ready to run now.
    Available,
    /// Claimed by a worker that holds its lease.
    Running,
    /// A failed attempt waiting for its back-off to pass (attempts remain).
    Retryable,
    /// Finished successfully (terminal).
    Completed,
    /// Failed for good: a permanent error or attempts exhausted (terminal).
    Failed,
    /// Cancelled (terminal).
    Cancelled,
}

impl JobState {
    /// Every state, in lifecycle order.
    pub const ALL: [JobState; 7] = [
        JobState::Scheduled,
        JobState::Available,
        JobState::Running,
        JobState::Retryable,
        JobState::Completed,
        JobState::Failed,
        JobState::Cancelled,
    ];

    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Scheduled => "scheduled",
            JobState::Available => "available",
            JobState::Running => "running",
            JobState::Retryable => "retryable",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Completed, failed or cancelled: no further transition.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Failed | JobState::Cancelled
        )
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = SchedulerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| SchedulerError::Corrupt(format!("unknown job state {s:?}")))
    }
}

/// Progress of a resumable step machine, stored on the job row and kept across attempts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Name of the current step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f32>,
    /// Human-readable status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Upstream resources created so far (e.g. snapshot ids), so a re-run never creates twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream_ids: Vec<String>,
    /// Free-form step state.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub state: Value,
}

/// An error reported by a handler (recorded in the job's error history).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobError {
    /// Machine-readable class, e.g. `upstream_5xx`, `timeout`, `invalid_argument`.
    pub kind: String,
    /// Human-readable message.
    pub message: String,
    /// Extra details (stored as given).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub details: Value,
    /// For retries: run again after this delay instead of the computed back-off
    /// (e.g. an upstream `Retry-After`).
    #[serde(skip)]
    pub retry_after: Option<std::time::Duration>,
}

impl JobError {
    /// An error with a kind and a message.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            message: message.into(),
            details: Value::Null,
            retry_after: None,
        }
    }

    /// Sets the delay before the next attempt.
    pub fn retry_after(mut self, delay: std::time::Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// Attaches details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// One entry of a job's error history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEntry {
    pub attempt: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub kind: String,
    pub message: String,
    #[serde(default)]
    pub details: Value,
    #[serde(default)]
    pub owner: Option<String>,
}

/// What a caller enqueues.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub kind: String,
    /// Zone whose worker runs the job, e.g. `fr-par-1`.
    pub zone: String,
    pub project: Option<String>,
    /// Serialization key, e.g. `fr-par-1/server/<uuid>`: jobs on one resource run one at a time
    /// in acceptance order.
    pub resource: Option<String>,
    pub args: Value,
    /// Lower runs first.
    pub priority: i16,
    /// `None` = now.
    pub run_at: Option<OffsetDateTime>,
    pub max_attempts: i32,
    /// The authenticated calling service.
    pub caller: String,
    /// Unique per caller; re-enqueueing with the same key returns the existing job.
    pub idempotency_key: Option<String>,
    /// W3C trace context of the enqueuing request (`traceparent`, `tracestate`, ...).
    pub trace_context: Value,
}

impl NewJob {
    /// A job of `kind` in `zone` with `args`, default priority 0 and 25 attempts.
    pub fn new(kind: impl Into<String>, zone: impl Into<String>, args: Value) -> Self {
        Self {
            kind: kind.into(),
            zone: zone.into(),
            project: None,
            resource: None,
            args,
            priority: 0,
            run_at: None,
            max_attempts: 25,
            caller: String::new(),
            idempotency_key: None,
            trace_context: Value::Object(Default::default()),
        }
    }

    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    pub fn priority(mut self, priority: i16) -> Self {
        self.priority = priority;
        self
    }

    pub fn run_at(mut self, at: OffsetDateTime) -> Self {
        self.run_at = Some(at);
        self
    }

    pub fn max_attempts(mut self, max_attempts: i32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    pub fn caller(mut self, caller: impl Into<String>) -> Self {
        self.caller = caller.into();
        self
    }

    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    pub fn trace_context(mut self, trace_context: Value) -> Self {
        self.trace_context = trace_context;
        self
    }
}

/// A job row.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub zone: String,
    pub project: Option<String>,
    pub resource: Option<String>,
    pub args: Value,
    pub state: JobState,
    pub priority: i16,
    pub run_at: OffsetDateTime,
    pub attempt: i32,
    pub max_attempts: i32,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<OffsetDateTime>,
    pub lease_token: i64,
    pub cancel_requested: bool,
    pub progress: Progress,
    pub result: Option<Value>,
    pub errors: Vec<ErrorEntry>,
    pub caller: String,
    pub idempotency_key: Option<String>,
    pub trace_context: Value,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub started_at: Option<OffsetDateTime>,
    pub finished_at: Option<OffsetDateTime>,
}

/// The column list every job query returns (in `FromRow` order).
pub(crate) const JOB_COLUMNS: &str = "id, kind, zone, project, resource, args, state, priority, \
     run_at, attempt, max_attempts, lease_owner, lease_expires_at, lease_token, cancel_requested, \
     progress, result, errors, caller, idempotency_key, trace_context, created_at, updated_at, \
     started_at, finished_at";

fn corrupt(what: &str, err: impl fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("{what}: {err}").into())
}

impl<'r> FromRow<'r, PgRow> for Job {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        let state: String = row.try_get("state")?;
        let progress: Value = row.try_get("progress")?;
        let errors: Value = row.try_get("errors")?;
        Ok(Job {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            zone: row.try_get("zone")?,
            project: row.try_get("project")?,
            resource: row.try_get("resource")?,
            args: row.try_get("args")?,
            state: state.parse().map_err(|e| corrupt("job state", e))?,
            priority: row.try_get("priority")?,
            run_at: row.try_get("run_at")?,
            attempt: row.try_get("attempt")?,
            max_attempts: row.try_get("max_attempts")?,
            lease_owner: row.try_get("lease_owner")?,
            lease_expires_at: row.try_get("lease_expires_at")?,
            lease_token: row.try_get("lease_token")?,
            cancel_requested: row.try_get("cancel_requested")?,
            progress: serde_json::from_value(progress).map_err(|e| corrupt("job progress", e))?,
            result: row.try_get("result")?,
            errors: serde_json::from_value(errors).map_err(|e| corrupt("job errors", e))?,
            caller: row.try_get("caller")?,
            idempotency_key: row.try_get("idempotency_key")?,
            trace_context: row.try_get("trace_context")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            started_at: row.try_get("started_at")?,
            finished_at: row.try_get("finished_at")?,
        })
    }
}
