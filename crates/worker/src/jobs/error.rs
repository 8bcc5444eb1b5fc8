//! Why a step could not go on, and how each cause becomes the job's outcome.
//!
//! | cause | outcome |
//! |---|---|
//! | the zone lease is lost (guard check, or the client's cancel token fired) | snooze a moment without consuming an attempt: the zone's next owner runs it |
//! | transient upstream trouble: 429, 5xx, `transient_state`, timeouts, resets, connect errors | retry with back-off (at least the upstream `Retry-After`) |
//! | any other upstream error (`invalid_arguments`, `not_found`, `quotas_exceeded`, `permissions_denied`, `precondition_failed`, …) | fail with kind `upstream` and the whole error body |
//! | a progress write failed (database) | retry shortly; the step is re-run from the last recorded progress |
//! | the recorded progress does not decode | fail with kind `progress_undecodable`, logged at error level and counted (`fleet.worker.jobs.progress_undecodable`): it may hold an intent, so starting over could act twice |

use std::time::Duration;

use fleet_core::{ErrorKind, Operation};
use fleet_jobs::{Failure, failure_kind};
use fleet_scheduler::{JobError, SchedulerError};
use serde_json::{Value, json};

use crate::context::LeaseLost;

/// A step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// This worker no longer owns the zone: no upstream call may be made.
    #[error(transparent)]
    LeaseLost(#[from] LeaseLost),
    /// An upstream call failed.
    #[error("{operation}: {source}")]
    Upstream {
        /// The catalog operation called, e.g. `create_server`.
        operation: Operation,
        #[source]
        source: fleet_scaleway::Error,
    },
    /// Recording progress failed.
    #[error("recording progress: {0}")]
    Scheduler(#[from] SchedulerError),
    /// The progress a previous attempt recorded does not decode.
    #[error(transparent)]
    ProgressUndecodable(#[from] ProgressUndecodable),
}

/// The progress a previous attempt recorded does not decode. The message is serde's (a
/// position and what was expected), never the stored value, which may hold user data. A type
/// of its own so that the small synchronous readers of step data return a small error.
#[derive(Debug, thiserror::Error)]
#[error("recorded progress does not decode: {0}")]
pub struct ProgressUndecodable(#[source] pub serde_json::Error);

/// How a step error is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Release the job for the zone's next owner.
    LeaseLost,
    /// Try again later.
    Transient,
    /// Give up.
    Permanent,
}

impl StepError {
    /// The class that decides the outcome.
    pub fn class(&self) -> ErrorClass {
        match self {
            StepError::LeaseLost(_) => ErrorClass::LeaseLost,
            StepError::Scheduler(SchedulerError::Fenced { .. } | SchedulerError::NotFound(_)) => {
                // The attempt was superseded; whatever we return is discarded by the fence.
                ErrorClass::LeaseLost
            }
            StepError::Scheduler(_) => ErrorClass::Transient,
            StepError::Upstream { source, .. } => upstream_class(source),
            StepError::ProgressUndecodable(_) => ErrorClass::Permanent,
        }
    }

    /// The upstream error, when the step failed upstream.
    pub fn upstream(&self) -> Option<&fleet_scaleway::Error> {
        match self {
            StepError::Upstream { source, .. } => Some(source),
            _ => None,
        }
    }

    /// True for a 404 of the upstream call.
    pub fn is_not_found(&self) -> bool {
        self.upstream()
            .is_some_and(fleet_scaleway::Error::is_not_found)
    }

    /// The upstream error type, when the body had one.
    pub fn api_kind(&self) -> Option<ErrorKind> {
        self.upstream().and_then(fleet_scaleway::Error::api_kind)
    }
}

/// Classifies a client error.
pub fn upstream_class(err: &fleet_scaleway::Error) -> ErrorClass {
    use fleet_scaleway::Error as E;
    match err {
        // The client's cancel token is the zone guard's: it fires when the lease is lost.
        E::Cancelled => ErrorClass::LeaseLost,
        E::Transport { .. } => ErrorClass::Transient,
        _ if err.retryable() => ErrorClass::Transient,
        _ if matches!(err.api_kind(), Some(ErrorKind::TransientState)) => ErrorClass::Transient,
        _ => ErrorClass::Permanent,
    }
}

/// `Failure` of an upstream error: the status and the whole error body.
pub fn upstream_failure(err: &fleet_scaleway::Error) -> Failure {
    use fleet_scaleway::Error as E;
    let upstream = match err {
        E::Api { source, .. } => source.to_body().map(Value::Object).unwrap_or(Value::Null),
        E::Status {
            body, content_type, ..
        } => json!({ "body": body, "content_type": content_type }),
        other => json!({ "message": other.to_string() }),
    };
    Failure {
        status: err.status(),
        upstream,
        ..Failure::default()
    }
}

/// The error recorded for a transient failure (retried; final when attempts run out).
pub fn transient_error(err: &StepError, failure: Failure) -> JobError {
    let mut error = JobError::new(failure_kind::UNAVAILABLE, err.to_string())
        .with_details(failure.to_details());
    let retry_after = err
        .upstream()
        .and_then(fleet_scaleway::Error::retry_after)
        .filter(|d| *d > Duration::ZERO);
    if let Some(delay) = retry_after {
        error = error.retry_after(delay);
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancelled_calls_mean_the_lease_is_gone() {
        assert_eq!(
            upstream_class(&fleet_scaleway::Error::Cancelled),
            ErrorClass::LeaseLost
        );
        assert_eq!(
            upstream_class(&fleet_scaleway::Error::InvalidRequest("x".into())),
            ErrorClass::Permanent
        );
    }
}
