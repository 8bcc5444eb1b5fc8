//! The contract between the gateway (which enqueues long-running operations) and the worker
//! (which runs them): one [`JobSpec`] variant per kind of operation, stored as the job's `args`;
//! the [`ProgressDetail`] a handler keeps in the job's `progress.state`; the JSON written as the
//! job's `result`; and the [`Failure`] recorded when a job fails.
//!
//! Why a crate of its own: the gateway must not depend on the worker (only the worker calls
//! Scaleway), and the scheduler is generic over job payloads. Both ends depend on this crate,
//! so a new operation kind is one enum variant that neither side can forget.
//!
//! Wire conventions:
//! * `job.kind` is [`JobSpec::kind`] (e.g. `create_server`, `server_action.poweron`): a label
//!   for filters and metrics. `job.args` is the serialized [`JobSpec`] (internally tagged by
//!   `type`), the only thing the worker decodes.
//! * `job.result` is the JSON (Scaleway field names) of the long-running method's response
//!   type (`operation_info.response_type` in the protos), e.g. a server object for
//!   `create_server`, [`ServerActionOutput`] for a server action.
//! * A failed job's last error entry has `kind` one of [`failure_kind`] and `details` the
//!   serialized [`Failure`].

pub mod failure;
pub mod progress;
pub mod spec;

pub use failure::{Failure, failure_kind};
pub use progress::{Observation, ProgressDetail};
pub use spec::*;

/// The tag a job puts on every resource it creates, so that a re-run after a crash finds and
/// adopts it instead of creating a second one (Scaleway has no idempotency keys).
pub fn job_tag(job_id: i64) -> String {
    format!("{JOB_TAG_PREFIX}{job_id}")
}

/// Prefix of [`job_tag`].
pub const JOB_TAG_PREFIX: &str = "fleet-job=";

/// The job id a tag names, if it is a [`job_tag`].
pub fn parse_job_tag(tag: &str) -> Option<i64> {
    tag.strip_prefix(JOB_TAG_PREFIX)?.parse().ok()
}

/// The serialization key of jobs acting on one resource (`zone/kind/id`): the scheduler runs
/// jobs with equal keys one at a time, in acceptance order. A volume or snapshot has one key
/// whichever API holds it.
pub fn resource_key(zone: &str, kind: ResourceKind, id: &str) -> String {
    format!("{zone}/{}/{id}", kind.public().as_str())
}

/// The public resource name (`zones/{zone}/{collection}/{id}`) shown in `OperationMetadata`.
pub fn resource_name(zone: &str, kind: ResourceKind, id: &str) -> String {
    format!("zones/{zone}/{}/{id}", kind.collection())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_tags_round_trip_and_reject_other_tags() {
        assert_eq!(job_tag(42), "fleet-job=42");
        assert_eq!(parse_job_tag(&job_tag(42)), Some(42));
        assert_eq!(parse_job_tag("fleet-job=x"), None);
        assert_eq!(parse_job_tag("web"), None);
    }

    #[test]
    fn resource_names() {
        assert_eq!(
            resource_key("fr-par-1", ResourceKind::Server, "abc"),
            "fr-par-1/server/abc"
        );
        assert_eq!(
            resource_name("fr-par-1", ResourceKind::Snapshot, "abc"),
            "zones/fr-par-1/snapshots/abc"
        );
        assert_eq!(
            resource_key("fr-par-1", ResourceKind::BlockVolume, "abc"),
            resource_key("fr-par-1", ResourceKind::Volume, "abc")
        );
        assert_eq!(
            resource_name("fr-par-1", ResourceKind::BlockSnapshot, "abc"),
            "zones/fr-par-1/snapshots/abc"
        );
    }
}
