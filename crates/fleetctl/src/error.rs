//! Errors of fleetctl, their exit codes and how they are explained on stderr.
//!
//! Scripts branch on the exit code, so the mapping from gRPC codes lives in one
//! function ([`exit_code_for`]) and is documented in `fleetctl --help` and the README.
//! People read the message: it repeats the gateway's status message, every
//! structured detail it sent (field violations, failed preconditions, quotas,
//! retry delay, resource, reason) and a hint saying what to change.

use std::fmt::Write as _;

use tonic::Code;
use tonic_types::{ErrorDetails, RpcStatusExt as _, StatusExt as _};

/// Exit codes scripts can rely on.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Any other failure (internal, unknown, unimplemented, local I/O).
    pub const GENERIC: u8 = 1;
    /// Bad command line: unknown flag, missing argument, malformed value.
    pub const USAGE: u8 = 2;
    /// The resource or operation does not exist (in that zone).
    pub const NOT_FOUND: u8 = 3;
    /// The gateway rejected an argument (INVALID_ARGUMENT, OUT_OF_RANGE).
    pub const INVALID_ARGUMENT: u8 = 4;
    /// Missing or wrong token, or the token may not do this.
    pub const PERMISSION: u8 = 5;
    /// Failed precondition, conflict, already exists, busy resource or quota.
    pub const PRECONDITION: u8 = 6;
    /// Gateway unreachable, unavailable or timed out: retrying may help.
    pub const UNAVAILABLE: u8 = 7;
    /// The long-running operation finished with an error (or was cancelled), or a batch
    /// waited on halted, was cancelled or had a child fail.
    pub const OPERATION_FAILED: u8 = 8;
    /// Interrupted by Ctrl-C while waiting; the operation goes on.
    pub const INTERRUPTED: u8 = 130;
}

/// The exit code for a gRPC status code: the one mapping scripts rely on.
pub fn exit_code_for(code: Code) -> u8 {
    match code {
        Code::Ok => exit::OK,
        Code::NotFound => exit::NOT_FOUND,
        Code::InvalidArgument | Code::OutOfRange => exit::INVALID_ARGUMENT,
        Code::Unauthenticated | Code::PermissionDenied => exit::PERMISSION,
        Code::FailedPrecondition
        | Code::Aborted
        | Code::AlreadyExists
        | Code::ResourceExhausted => exit::PRECONDITION,
        Code::Unavailable | Code::DeadlineExceeded => exit::UNAVAILABLE,
        Code::Cancelled | Code::Unknown | Code::Internal | Code::DataLoss | Code::Unimplemented => {
            exit::GENERIC
        }
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The gateway answered with an error status.
    #[error("{}", describe_status(.0.code(), .0.message(), &.0.get_error_details()))]
    Status(tonic::Status),
    /// The gateway could not be reached.
    #[error(
        "cannot connect to the gateway at {addr}: {reason}; start it or point --addr / FLEET_ADDR at it"
    )]
    Connect {
        /// The address tried.
        addr: String,
        /// The transport's explanation.
        reason: String,
    },
    /// A long-running operation ended with an error.
    #[error("operation {name} failed: {}", describe_status(Code::from(.status.code), &.status.message, &.status.get_error_details()))]
    OperationFailed {
        /// `operations/{uuid}`.
        name: String,
        /// The operation's error.
        status: tonic_types::pb::Status,
    },
    /// A flag or argument value that clap could not check (file, JSON, key=value…).
    #[error("{0}")]
    Usage(String),
    /// The gateway sent something this client cannot interpret.
    #[error("unexpected answer from the gateway: {0}")]
    Protocol(String),
    /// Local I/O (reading a file, writing stdout).
    #[error("{0}")]
    Io(String),
    /// A batch run to its end that halted, was cancelled or had a child fail.
    #[error("batch {name} did not complete cleanly: {why}")]
    BatchNotCompleted {
        /// `batches/{id}`.
        name: String,
        /// Its state and reason, or its failed children.
        why: String,
    },
    /// Ctrl-C while waiting on an operation.
    #[error("interrupted; operation {0} goes on: follow it with `fleetctl operations watch {0}`")]
    Interrupted(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Status(status) => exit_code_for(status.code()),
            CliError::Connect { .. } => exit::UNAVAILABLE,
            CliError::OperationFailed { .. } | CliError::BatchNotCompleted { .. } => {
                exit::OPERATION_FAILED
            }
            CliError::Usage(_) => exit::USAGE,
            CliError::Protocol(_) | CliError::Io(_) => exit::GENERIC,
            CliError::Interrupted(_) => exit::INTERRUPTED,
        }
    }

    /// A usage error with the given message.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }
}

impl From<tonic::Status> for CliError {
    fn from(status: tonic::Status) -> Self {
        CliError::Status(status)
    }
}

/// The status as lines: `CODE: message`, then every detail, then a hint.
pub fn describe_status(code: Code, message: &str, details: &ErrorDetails) -> String {
    let mut out = format!("{}: {}", code_name(code), message);
    if let Some(bad) = details.bad_request() {
        for violation in &bad.field_violations {
            let _ = write!(
                out,
                "\n  invalid field `{}`: {}",
                violation.field, violation.description
            );
        }
    }
    if let Some(failure) = details.precondition_failure() {
        for violation in &failure.violations {
            let _ = write!(
                out,
                "\n  precondition {} failed on {}: {}",
                violation.r#type, violation.subject, violation.description
            );
        }
    }
    if let Some(failure) = details.quota_failure() {
        for violation in &failure.violations {
            let _ = write!(
                out,
                "\n  quota exceeded for {}: {}",
                violation.subject, violation.description
            );
        }
    }
    if let Some(resource) = details.resource_info() {
        let _ = write!(
            out,
            "\n  resource {} {}",
            resource.resource_type, resource.resource_name
        );
        if !resource.description.is_empty() {
            let _ = write!(out, ": {}", resource.description);
        }
    }
    if let Some(info) = details.error_info() {
        let mut metadata: Vec<_> = info.metadata.iter().collect();
        metadata.sort();
        let metadata: Vec<String> = metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = write!(out, "\n  reason {}", info.reason);
        if !metadata.is_empty() {
            let _ = write!(out, " ({})", metadata.join(", "));
        }
    }
    if let Some(retry) = details.retry_info()
        && let Some(delay) = retry.retry_delay
    {
        let _ = write!(out, "\n  retry after {:.1}s", delay.as_secs_f64());
    }
    if let Some(help) = details.help() {
        for link in &help.links {
            let _ = write!(out, "\n  see {}: {}", link.description, link.url);
        }
    }
    if let Some(localized) = details.localized_message() {
        let _ = write!(out, "\n  {}", localized.message);
    }
    if let Some(hint) = hint(code) {
        let _ = write!(out, "\n  hint: {hint}");
    }
    out
}

/// What to change, per code, when the details alone may not say it.
fn hint(code: Code) -> Option<&'static str> {
    match code {
        Code::NotFound => {
            Some("check the id and --zone (list with --zone all to find which zone holds it)")
        }
        Code::InvalidArgument => Some("fix the fields named above and run the command again"),
        Code::Unauthenticated => Some("set FLEET_TOKEN or --token to a valid gateway token"),
        Code::PermissionDenied => {
            Some("this token may not do this; use a token granted the project")
        }
        Code::Aborted => Some(
            "the resource is busy (another action or a transient state); retry after the delay",
        ),
        Code::FailedPrecondition => {
            Some("change the resource's state (e.g. power it off) as the precondition says")
        }
        Code::ResourceExhausted => {
            Some("free resources or raise the quota named above, or retry later if rate limited")
        }
        Code::Unavailable => Some("the gateway or Scaleway is unavailable; retry later"),
        Code::DeadlineExceeded => Some("the call timed out; raise --timeout or retry"),
        _ => None,
    }
}

/// The canonical upper-case name of a code, as in the gRPC docs.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_documented_exit_codes() {
        assert_eq!(exit_code_for(Code::NotFound), 3);
        assert_eq!(exit_code_for(Code::InvalidArgument), 4);
        assert_eq!(exit_code_for(Code::Unauthenticated), 5);
        assert_eq!(exit_code_for(Code::PermissionDenied), 5);
        assert_eq!(exit_code_for(Code::FailedPrecondition), 6);
        assert_eq!(exit_code_for(Code::Aborted), 6);
        assert_eq!(exit_code_for(Code::Unavailable), 7);
        assert_eq!(exit_code_for(Code::DeadlineExceeded), 7);
        assert_eq!(exit_code_for(Code::Internal), 1);
    }

    #[test]
    fn details_are_spelled_out() {
        let mut details = ErrorDetails::with_bad_request_violation("name", "must not be empty");
        details.set_retry_info(Some(std::time::Duration::from_secs(2)));
        let text = describe_status(Code::InvalidArgument, "bad request", &details);
        assert!(text.starts_with("INVALID_ARGUMENT: bad request"), "{text}");
        assert!(
            text.contains("invalid field `name`: must not be empty"),
            "{text}"
        );
        assert!(text.contains("retry after 2.0s"), "{text}");
    }

    #[test]
    fn operation_errors_decode_their_details() {
        let status = tonic::Status::with_error_details(
            Code::FailedPrecondition,
            "server is running",
            ErrorDetails::with_precondition_failure_violation(
                "STATE",
                "servers/1",
                "power it off first",
            ),
        );
        let pb = tonic_types::pb::Status {
            code: status.code() as i32,
            message: status.message().to_owned(),
            details: prost::Message::decode(status.details())
                .map(|s: tonic_types::pb::Status| s.details)
                .unwrap_or_default(),
        };
        let err = CliError::OperationFailed {
            name: "operations/1".into(),
            status: pb,
        };
        let text = err.to_string();
        assert!(
            text.contains("precondition STATE failed on servers/1: power it off first"),
            "{text}"
        );
        assert_eq!(err.exit_code(), exit::OPERATION_FAILED);
    }
}
