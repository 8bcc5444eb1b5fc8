//! Compensation: how a job that made something ends without it.
//!
//! Once a create has recorded (or adopted) an id, every way the job can end without handing
//! the resource over — a cancel, a permanent error, the last attempt's transient error, a
//! boot that fails for good — first records an [`Undo`] in the handler's step data, then
//! removes what the job made, then ends with the recorded outcome whose details carry what
//! was removed and what is left ([`fleet_jobs::Failure::compensation`] and `left`). The undo
//! is recorded before it acts and marked done before the job ends, so a re-run (after a
//! crash, a lost lease, a failed final write) resumes it or returns its outcome again,
//! never undoing twice.

use fleet_jobs::{Failure, failure_kind};
use fleet_scheduler::{JobError, Outcome};
use serde::{Deserialize, Serialize};

use super::error::{ErrorClass, StepError, transient_error, upstream_failure};
use super::{Run, now_rfc3339};

/// A recorded compensation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Undo {
    /// The job's last error entry once undone (kind `cancelled` for a cancel).
    pub error: JobError,
    /// Ends as cancelled (at the caller's request) rather than failed.
    pub cancelled: bool,
    /// RFC 3339 time the undo began (older observations of the resource are ignored).
    pub since: String,
    /// What was done, in order.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Resource names still there when the undo finished.
    #[serde(default)]
    pub left: Vec<String>,
    /// Finished: the job ends with [`Undo::outcome`].
    #[serde(default)]
    pub done: bool,
}

impl Undo {
    fn new(error: JobError, cancelled: bool) -> Self {
        Self {
            error,
            cancelled,
            since: now_rfc3339(),
            notes: Vec::new(),
            left: Vec::new(),
            done: false,
        }
    }

    /// The undo of a cancel requested by the caller.
    pub fn cancel(run: &Run<'_>) -> Self {
        let failure = Failure {
            resource: run.detail.resource.clone(),
            history: run.detail.history.clone(),
            ..Failure::default()
        };
        let error = JobError::new(failure_kind::CANCELLED, "cancelled at the caller's request")
            .with_details(failure.to_details());
        Self::new(error, true)
    }

    /// The undo of a failure the handler decided (`Outcome::Fail`); `None` for any other
    /// outcome (which does not end the job without its resource).
    pub fn of_failure(outcome: &Outcome) -> Option<Self> {
        match outcome {
            Outcome::Fail(error) => Some(Self::new(error.clone(), false)),
            _ => None,
        }
    }

    /// The undo of a step error that ends the job: a permanent one, or a transient one on
    /// the job's last attempt. `None` when the job goes on (retried, or left to the zone's
    /// next owner) or the error is one the job must stop at without acting
    /// (`progress_undecodable` never reaches here: it fails before any step).
    pub fn of_error(run: &Run<'_>, operation: &str, err: &StepError) -> Option<Self> {
        let error = match err.class() {
            ErrorClass::LeaseLost => return None,
            ErrorClass::Transient if !run.last_attempt() => return None,
            ErrorClass::Transient => {
                let mut failure = err.upstream().map(upstream_failure).unwrap_or_default();
                failure.resource = run.detail.resource.clone();
                transient_error(err, failure)
            }
            ErrorClass::Permanent => match run.upstream_failed(operation, err) {
                Outcome::Fail(error) => error,
                _ => return None,
            },
        };
        Some(Self::new(error, false))
    }

    /// Notes a step of the undo.
    pub fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    /// The job's outcome: the recorded error with the compensation in its details.
    pub fn outcome(&self) -> Outcome {
        let mut failure = Failure::from_details(&self.error.details);
        failure.compensation = self.notes.clone();
        failure.left = self.left.clone();
        let mut error = self.error.clone();
        error.details = failure.to_details();
        if self.cancelled {
            Outcome::CancelledWith(error)
        } else {
            Outcome::Fail(error)
        }
    }
}
