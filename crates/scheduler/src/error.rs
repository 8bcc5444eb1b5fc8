//! The error type of the scheduler: what callers branch on.

use crate::job::JobState;

/// Errors returned by the scheduler API.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The caller's lease was superseded: the job was rescued and re-claimed (a newer fencing
    /// token exists), or it is no longer running. The write was not applied.
    #[error(
        "lease lost for job {job_id}: token {token} is stale (current token {current_token}, state {state})"
    )]
    Fenced {
        job_id: i64,
        token: i64,
        current_token: i64,
        state: JobState,
    },
    /// No job with this id.
    #[error("job {0} not found")]
    NotFound(i64),
    /// The idempotency key was already used by this caller for a different request.
    #[error(
        "idempotency key {key:?} of caller {caller:?} was used for a different request (job {existing_id})"
    )]
    IdempotencyConflict {
        caller: String,
        key: String,
        existing_id: i64,
    },
    /// A request that cannot be accepted (bad cron expression, empty zone list, ...).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// A row held a value this crate does not understand (schema drift).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A background task of the service died.
    #[error("task {task} failed: {reason}")]
    TaskFailed { task: &'static str, reason: String },
    /// A database error.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Applying the migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl SchedulerError {
    /// Whether this is a fencing failure (the caller no longer owns the job).
    pub fn is_fenced(&self) -> bool {
        matches!(self, Self::Fenced { .. })
    }
}

/// Shorthand result type.
pub type Result<T, E = SchedulerError> = std::result::Result<T, E>;
