//! The `fleet.v1.Operations` service (AIP-151): Get, List, Cancel, Wait (bounded) and Watch
//! (server stream of every change until done).

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use fleet_proto::v1;
use fleet_scheduler::{CancelOutcome, Job};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::audit::{self, AuditRecord, OPERATIONS_MUTATIONS};
use crate::auth::{Caller, caller_of};
use crate::batches;
use crate::call::Api;
use crate::errors::{GatewayError, clip};
use crate::operations::{self, ListFilter, PUBLIC_STATES, job_states, to_operation};
use crate::paging::{PageToken, filter_hash, page_size};
use crate::request::known_zone;

/// The Operations service.
#[derive(Debug, Clone)]
pub struct OperationsApi {
    pub api: Arc<Api>,
}

/// The one mutating method of the service (audited).
const CANCEL_OPERATION: &str = OPERATIONS_MUTATIONS[0];

/// How often a waiter re-reads its job when no notification arrives.
const POLL: Duration = Duration::from_millis(500);

fn status(method: &str, err: GatewayError) -> Status {
    tracing::debug!(method, error = %err, "operations call refused");
    err.to_status()
}

impl OperationsApi {
    async fn operation(&self, job: &Job) -> Result<v1::Operation, GatewayError> {
        let method = operations::method_of(&self.api.pool, job.id).await?;
        Ok(to_operation(job, method.as_deref()))
    }

    fn caller<T>(&self, request: &Request<T>) -> Result<Caller, GatewayError> {
        if self.api.shutdown.is_cancelled() {
            return Err(GatewayError::ShuttingDown);
        }
        caller_of(request)
    }

    async fn wait(
        &self,
        request: Request<v1::WaitOperationRequest>,
    ) -> Result<v1::Operation, GatewayError> {
        let caller = self.caller(&request)?;
        let deadline = grpc_timeout(&request);
        let request = request.into_inner();
        let job = operations::get_visible(&self.api.pool, &caller, &request.name).await?;
        let asked = wait_timeout(&request)?.unwrap_or(self.api.wait_cap);
        let mut bound = asked.min(self.api.wait_cap);
        if let Some(deadline) = deadline {
            // Answer a little before the caller's deadline, so it gets the state, not an error.
            bound = bound.min(deadline.saturating_sub(Duration::from_millis(100)));
        }
        let job = tokio::select! {
            job = fleet_scheduler::wait_for_change(
                &self.api.pool, self.api.listener.as_ref(), job.id, None, bound, POLL,
            ) => job?,
            _ = self.api.shutdown.cancelled() => fleet_scheduler::get_job(&self.api.pool, job.id).await?,
        };
        self.operation(&job).await
    }

    async fn list(
        &self,
        request: Request<v1::ListOperationsRequest>,
    ) -> Result<v1::ListOperationsResponse, GatewayError> {
        let caller = self.caller(&request)?;
        let request = request.into_inner();
        let size = page_size(request.page_size)?;
        let Some(filter) = list_filter(&request)? else {
            // A state that contradicts `done`: nothing matches.
            return Ok(v1::ListOperationsResponse::default());
        };
        if let Some(project) = &filter.project {
            caller.require_project(project)?;
        }
        let mut filters = request.clone();
        filters.page_size = 0;
        filters.page_token = String::new();
        let hash = filter_hash(
            "fleet.v1.Operations/ListOperations",
            &serde_json::json!([caller.name, format!("{filters:?}")]),
        );
        let token = PageToken::decode(&request.page_token, &hash)?;
        let (jobs, next, total) =
            operations::list(&self.api.pool, &caller, &filter, token.after, size).await?;
        Ok(v1::ListOperationsResponse {
            operations: jobs
                .iter()
                .map(|(job, method)| to_operation(job, method.as_deref()))
                .collect(),
            next_page_token: next
                .map(|after| {
                    PageToken {
                        offset: 0,
                        zone_index: None,
                        after: Some(after),
                        filter_hash: hash,
                    }
                    .encode()
                })
                .unwrap_or_default(),
            total_size: i32::try_from(total).unwrap_or(i32::MAX),
        })
    }

    async fn cancel(
        &self,
        request: Request<v1::CancelOperationRequest>,
    ) -> Result<v1::Operation, GatewayError> {
        let caller = self.caller(&request)?;
        caller.require_operator(CANCEL_OPERATION)?;
        let request = request.into_inner();
        let job = operations::get_visible(&self.api.pool, &caller, &request.name).await?;
        if job.kind == batches::BATCH_KIND {
            // A batch's parent is cancelled as a batch: no new child starts, children in
            // flight finish, then the parent ends (cancelling its job now would strand them).
            if !job.state.is_terminal() {
                batches::service::change_state(
                    &self.api.pool,
                    &caller,
                    job.id,
                    batches::service::Change::Cancel,
                )
                .await?;
            }
            let job = fleet_scheduler::get_job(&self.api.pool, job.id).await?;
            return self.operation(&job).await;
        }
        let outcome = fleet_scheduler::cancel_job(&self.api.pool, job.id).await?;
        tracing::info!(job_id = job.id, caller = %caller.name, outcome = ?outcome, "cancel requested");
        if let CancelOutcome::AlreadyFinished(_) = outcome {
            return self.operation(&job).await;
        }
        let job = fleet_scheduler::get_job(&self.api.pool, job.id).await?;
        self.operation(&job).await
    }
}

/// The checks of a ListOperations request that need no caller and no database (the offline
/// check runs them too), and the filter it asks for; `None` when `state` and `done`
/// contradict, so nothing can match.
pub fn list_filter(
    request: &v1::ListOperationsRequest,
) -> Result<Option<ListFilter>, GatewayError> {
    let mut violations = Vec::new();
    let mut filter = ListFilter::default();
    if let Some(state) = &request.state {
        filter.states = job_states(state);
        if filter.states.is_empty() {
            violations.push(crate::errors::Violation::new(
                "state",
                format!("must be one of {}; got {state:?}", PUBLIC_STATES.join(", ")),
            ));
        }
    }
    if let Some(done) = request.done {
        let done_states: Vec<_> = fleet_scheduler::JobState::ALL
            .into_iter()
            .filter(|s| s.is_terminal() == done)
            .collect();
        filter.states = if filter.states.is_empty() {
            done_states
        } else {
            filter
                .states
                .into_iter()
                .filter(|s| done_states.contains(s))
                .collect()
        };
        if filter.states.is_empty() {
            return Ok(None);
        }
    }
    filter.kind = request.kind.clone().filter(|k| !k.is_empty());
    match request.zone.as_str() {
        "" | "all" => {}
        zone if known_zone(zone) => filter.zone = Some(zone.to_owned()),
        zone => violations.push(crate::errors::Violation::new(
            "zone",
            format!("unknown zone {zone:?}"),
        )),
    }
    filter.resource = request.resource.clone().filter(|r| !r.is_empty());
    if let Some(project) = request.project.clone().filter(|p| !p.is_empty()) {
        if uuid::Uuid::parse_str(&project).is_err() {
            violations.push(crate::errors::Violation::new(
                "project",
                format!("must be a UUID; got {project:?}"),
            ));
        } else {
            filter.project = Some(project);
        }
    }
    if !violations.is_empty() {
        return Err(GatewayError::InvalidArgument(violations));
    }
    Ok(Some(filter))
}

/// The wait a WaitOperation request asks for (`None`: the cap), refused when not a duration.
pub fn wait_timeout(request: &v1::WaitOperationRequest) -> Result<Option<Duration>, GatewayError> {
    request
        .timeout
        .map(|t| {
            Duration::try_from(t)
                .map_err(|_| GatewayError::invalid("timeout", "must be a positive duration"))
        })
        .transpose()
}

/// The call's `grpc-timeout`, if the client sent one.
fn grpc_timeout<T>(request: &Request<T>) -> Option<Duration> {
    let value = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<v1::Operation, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl v1::operations_server::Operations for OperationsApi {
    async fn get_operation(
        &self,
        request: Request<v1::GetOperationRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        let result = async {
            let caller = self.caller(&request)?;
            let job =
                operations::get_visible(&self.api.pool, &caller, &request.get_ref().name).await?;
            self.operation(&job).await
        }
        .await;
        result
            .map(Response::new)
            .map_err(|e| status("GetOperation", e))
    }

    async fn list_operations(
        &self,
        request: Request<v1::ListOperationsRequest>,
    ) -> Result<Response<v1::ListOperationsResponse>, Status> {
        self.list(request)
            .await
            .map(Response::new)
            .map_err(|e| status("ListOperations", e))
    }

    async fn cancel_operation(
        &self,
        request: Request<v1::CancelOperationRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        let mut audit = caller_of(&request)
            .ok()
            .map(|caller| AuditRecord::new(&caller, CANCEL_OPERATION));
        if let Some(audit) = &mut audit {
            audit.operation = Some(clip(&request.get_ref().name, 256));
        }
        let result = self
            .cancel(request)
            .await
            .map_err(|e| status("CancelOperation", e));
        if let Some(mut audit) = audit {
            if let Ok(operation) = &result
                && let Some(md) = operation
                    .metadata
                    .as_ref()
                    .and_then(|any| any.to_msg::<v1::OperationMetadata>().ok())
            {
                audit.zone = Some(md.zone).filter(|z| !z.is_empty());
                audit.project = Some(md.project).filter(|p| !p.is_empty());
                audit.resource = Some(md.resource).filter(|r| !r.is_empty());
            }
            audit.finish(result.as_ref().map(|_| ()));
            audit::record(&self.api.pool, &audit).await;
        }
        result.map(Response::new)
    }

    async fn wait_operation(
        &self,
        request: Request<v1::WaitOperationRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.wait(request)
            .await
            .map(Response::new)
            .map_err(|e| status("WaitOperation", e))
    }

    type WatchOperationStream = WatchStream;

    async fn watch_operation(
        &self,
        request: Request<v1::WatchOperationRequest>,
    ) -> Result<Response<Self::WatchOperationStream>, Status> {
        let caller = self
            .caller(&request)
            .map_err(|e| status("WatchOperation", e))?;
        let job = operations::get_visible(&self.api.pool, &caller, &request.get_ref().name)
            .await
            .map_err(|e| status("WatchOperation", e))?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<v1::Operation, Status>>(8);
        let this = self.clone();
        tokio::spawn(async move {
            let mut job = job;
            let mut send = true;
            loop {
                if send {
                    let operation = match this.operation(&job).await {
                        Ok(op) => op,
                        Err(err) => {
                            let _ = tx.send(Err(err.to_status())).await;
                            return;
                        }
                    };
                    let done = operation.done;
                    if tx.send(Ok(operation)).await.is_err() || done {
                        return;
                    }
                }
                let next = tokio::select! {
                    next = fleet_scheduler::wait_for_change(
                        &this.api.pool, this.api.listener.as_ref(), job.id, Some(job.updated_at),
                        Duration::from_secs(30), POLL,
                    ) => next,
                    _ = this.api.shutdown.cancelled() => {
                        let _ = tx.send(Err(GatewayError::ShuttingDown.to_status())).await;
                        return;
                    }
                    _ = tx.closed() => return,
                };
                match next {
                    Ok(next) => {
                        // A wait that timed out without a change sends nothing.
                        send = next.updated_at != job.updated_at || next.state != job.state;
                        job = next;
                    }
                    Err(err) => {
                        tracing::warn!(job_id = job.id, error = %err, "watch ended by a database error");
                        let _ = tx.send(Err(GatewayError::from(err).to_status())).await;
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
