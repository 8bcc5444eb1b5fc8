//! The `audit` commands: the gateway's audit log of mutating calls, newest first.

use std::time::{Duration, SystemTime};

use clap::Subcommand;
use fleet_proto::v1;

use crate::args::Paging;
use crate::ctx::Ctx;
use crate::error::CliError;

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// List audit records (every caller's when your token is granted every project, else
    /// your own), newest first
    List {
        /// Only calls of this caller
        #[arg(long)]
        caller: Option<String>,
        /// Only this method, e.g. fleet.v1.Servers/DeleteServer
        #[arg(long)]
        method: Option<String>,
        /// Only this resource and what is under it, e.g. zones/fr-par-1/servers/ID
        #[arg(long)]
        resource: Option<String>,
        /// Only calls in this last span of time, e.g. 1h, 30m, 7days
        #[arg(long, value_parser = humantime::parse_duration)]
        since: Option<Duration>,
        #[command(flatten)]
        paging: Paging,
    },
}

/// The request of `audit list`, `now` being the time `--since` counts back from.
pub fn list_request(
    caller: Option<String>,
    method: Option<String>,
    resource: Option<String>,
    since: Option<Duration>,
    now: SystemTime,
) -> Result<v1::ListAuditEventsRequest, CliError> {
    let start_time = since
        .map(|span| {
            now.checked_sub(span)
                .map(prost_types::Timestamp::from)
                .ok_or_else(|| CliError::Usage(format!("--since {span:?} is too long")))
        })
        .transpose()?;
    Ok(v1::ListAuditEventsRequest {
        caller: caller.unwrap_or_default(),
        method: method.unwrap_or_default(),
        resource: resource.unwrap_or_default(),
        start_time,
        ..Default::default()
    })
}

pub async fn run(ctx: &Ctx, cmd: AuditCmd) -> Result<(), CliError> {
    match cmd {
        AuditCmd::List {
            caller,
            method,
            resource,
            since,
            paging,
        } => {
            let request = list_request(caller, method, resource, since, SystemTime::now())?;
            ctx.list(request, &paging, |r| {
                let mut c = ctx.gateway.audit();
                async move { c.list_audit_events(r).await }
            })
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_counts_back_from_now() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        let request = list_request(
            Some("ops".into()),
            None,
            None,
            Some(Duration::from_secs(3600)),
            now,
        )
        .unwrap();
        assert_eq!(request.caller, "ops");
        assert_eq!(request.start_time.map(|t| t.seconds), Some(10_000 - 3600));
        assert!(list_request(None, None, None, Some(Duration::MAX), now).is_err());
    }
}
