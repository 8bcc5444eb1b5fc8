//! The `fleet.v1.Audit` service: the audit log, newest first, AIP-158 paged, filtered by
//! caller, method, resource and time range. A caller granted every project reads every
//! record; any other caller reads only its own calls (the records name no project for most
//! calls by id, so a project scope could not be applied faithfully).

use std::sync::Arc;

use fleet_proto::v1;
use time::OffsetDateTime;
use tonic::{Request, Response, Status};

use super::{AuditFilter, StoredRecord, audited_methods};
use crate::auth::{Caller, ProjectScope, caller_of};
use crate::call::Api;
use crate::errors::{GatewayError, Violation};
use crate::operations::timestamp;
use crate::paging::{PageToken, filter_hash, page_size};

/// The method name, for hashing page tokens.
const LIST_METHOD: &str = "fleet.v1.Audit/ListAuditEvents";

/// The Audit service.
#[derive(Debug, Clone)]
pub struct AuditApi {
    pub api: Arc<Api>,
}

/// The checks of a ListAuditEvents request that need no caller and no database (the offline
/// check runs them too), and the filter it asks for.
pub fn list_filter(request: &v1::ListAuditEventsRequest) -> Result<AuditFilter, GatewayError> {
    let mut violations = Vec::new();
    let nonempty = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
    let method = nonempty(&request.method);
    if let Some(method) = &method
        && !audited_methods().contains(method)
    {
        violations.push(Violation::new(
            "method",
            format!(
                "must be an audited (mutating) method such as fleet.v1.Servers/DeleteServer; got {method:?}"
            ),
        ));
    }
    let since = instant("start_time", request.start_time.as_ref(), &mut violations);
    let until = instant("end_time", request.end_time.as_ref(), &mut violations);
    if let (Some(since), Some(until)) = (since, until)
        && until <= since
    {
        violations.push(Violation::new("end_time", "must be after start_time"));
    }
    if !violations.is_empty() {
        return Err(GatewayError::InvalidArgument(violations));
    }
    Ok(AuditFilter {
        caller: nonempty(&request.caller),
        method,
        resource: nonempty(&request.resource),
        since,
        until,
    })
}

/// The instant of a set timestamp field; an impossible one is a violation.
fn instant(
    field: &'static str,
    value: Option<&prost_types::Timestamp>,
    violations: &mut Vec<Violation>,
) -> Option<OffsetDateTime> {
    let t = value?;
    let nanos = i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos);
    match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(at) if (0..1_000_000_000).contains(&t.nanos) => Some(at),
        _ => {
            violations.push(Violation::new(field, "must be a valid timestamp"));
            None
        }
    }
}

/// Restricts `filter` to what `caller` may read.
fn visible(caller: &Caller, mut filter: AuditFilter) -> Result<AuditFilter, GatewayError> {
    if caller.projects == ProjectScope::All {
        return Ok(filter);
    }
    match &filter.caller {
        Some(other) if *other != caller.name => Err(GatewayError::denied(
            "AUDIT_NOT_GRANTED",
            format!(
                "caller {} is not granted every project and may only read its own audit records",
                caller.name
            ),
        )),
        _ => {
            filter.caller = Some(caller.name.clone());
            Ok(filter)
        }
    }
}

fn event(record: StoredRecord) -> v1::AuditEvent {
    v1::AuditEvent {
        name: format!("auditEvents/{}", record.id),
        time: Some(timestamp(record.created_at)),
        caller: record.caller,
        role: record.role,
        method: record.method,
        request_id: record.request_id.unwrap_or_default(),
        zone: record.zone.unwrap_or_default(),
        project: record.project.unwrap_or_default(),
        resource: record.resource.unwrap_or_default(),
        outcome: record.outcome,
        reason: record.reason.unwrap_or_default(),
        operation: record.operation.unwrap_or_default(),
        user_data_bytes: record.user_data_bytes,
    }
}

impl AuditApi {
    async fn list(
        &self,
        request: Request<v1::ListAuditEventsRequest>,
    ) -> Result<v1::ListAuditEventsResponse, GatewayError> {
        if self.api.shutdown.is_cancelled() {
            return Err(GatewayError::ShuttingDown);
        }
        let caller = caller_of(&request)?;
        let request = request.into_inner();
        let size = page_size(request.page_size)?;
        let filter = visible(&caller, list_filter(&request)?)?;
        let hash = filter_hash(LIST_METHOD, &serde_json::json!(format!("{filter:?}")));
        let token = PageToken::decode(&request.page_token, &hash)?;
        let mut records = super::list(&self.api.pool, &filter, token.after, size + 1).await?;
        let more = records.len() > size as usize;
        records.truncate(size as usize);
        let next_page_token = match records.last() {
            Some(last) if more => PageToken {
                offset: 0,
                zone_index: None,
                after: Some(last.id),
                filter_hash: hash,
            }
            .encode(),
            _ => String::new(),
        };
        Ok(v1::ListAuditEventsResponse {
            events: records.into_iter().map(event).collect(),
            next_page_token,
        })
    }
}

#[tonic::async_trait]
impl v1::audit_server::Audit for AuditApi {
    async fn list_audit_events(
        &self,
        request: Request<v1::ListAuditEventsRequest>,
    ) -> Result<Response<v1::ListAuditEventsResponse>, Status> {
        self.list(request).await.map(Response::new).map_err(|err| {
            tracing::debug!(method = LIST_METHOD, error = %err, "audit call refused");
            err.to_status()
        })
    }
}
