//! The `fleet.v1.Batches` service: create (or dry-run) a batch, read, list, pause, resume and
//! cancel it. The selection is resolved once, at create, through the gateway's own List path
//! (`ListServers`, every zone for `zone = "all"`, the caller's project scope applied by the
//! workers), and recorded with the batch and its coordinator job in one transaction.

use std::collections::BTreeMap;
use std::sync::Arc;

use fleet_proto::v1;
use fleet_scheduler::NewJob;
use serde_json::{Value, json};
use tonic::{Request, Response, Status};

use super::rollout::Limits;
use super::select::{Selected, check_selector, resolve};
use super::{
    BATCH_KIND, BATCH_ZONE, BatchAction, BatchRow, BatchState, CREATE_BATCH, ChildOutcome,
    ChildRow, Event, StoredSpec, batch_name, load_batch, load_children, parse_batch_name, to_proto,
    visible,
};
use crate::audit::{self, AuditRecord};
use crate::auth::{Caller, caller_of};
use crate::call::{Api, idempotency};
use crate::errors::GatewayError;
use crate::operations::{self, to_operation};
use crate::visible::{BATCHES, visible_ids};

const PAUSE_BATCH: &str = crate::audit::BATCHES_MUTATIONS[1];
const RESUME_BATCH: &str = crate::audit::BATCHES_MUTATIONS[2];
const CANCEL_BATCH: &str = crate::audit::BATCHES_MUTATIONS[3];
/// The coordinator job's one argument: the hash of the request that created the batch.
const REQUEST_HASH: &str = "request_hash";

/// The Batches service.
#[derive(Debug, Clone)]
pub struct BatchesApi {
    pub api: Arc<Api>,
}

impl BatchesApi {
    fn caller<T>(&self, request: &Request<T>) -> Result<Caller, GatewayError> {
        if self.api.shutdown.is_cancelled() {
            return Err(GatewayError::ShuttingDown);
        }
        caller_of(request)
    }

    async fn create(
        &self,
        caller: &Caller,
        request: v1::CreateBatchRequest,
    ) -> Result<v1::Operation, GatewayError> {
        caller.require_operator(CREATE_BATCH)?;
        let action = check_create(&request)?;
        let request_id = Some(request.request_id.clone()).filter(|id| !id.is_empty());
        let hash = request_hash(&request);
        if let (Some(request_id), false) = (&request_id, request.validate_only)
            && let Some(op) = self.replay(caller, request_id, &hash).await?
        {
            return Ok(op);
        }
        let selector = request.selector.clone().unwrap_or_default();
        let selected = resolve(&self.api, caller, &selector, &action).await?;
        self.start(
            caller,
            &request,
            action,
            &selected,
            request.validate_only,
            &hash,
        )
        .await
    }

    /// Records and starts the batch `request` (checked, `action` its checked action) asks for
    /// over `selected` (resolved from its selector, possibly narrowed by the caller), in one
    /// transaction with its coordinator job; with `validate_only`, answers the plan instead.
    /// A request_id already used by `caller` answers its batch.
    pub(crate) async fn start(
        &self,
        caller: &Caller,
        request: &v1::CreateBatchRequest,
        action: BatchAction,
        selected: &[Selected],
        validate_only: bool,
        hash: &str,
    ) -> Result<v1::Operation, GatewayError> {
        let mut stored = request.clone();
        stored.validate_only = false;
        let request_id = Some(request.request_id.clone()).filter(|id| !id.is_empty());
        let selector = request.selector.clone().unwrap_or_default();
        let mut zone_sizes: BTreeMap<String, u32> = BTreeMap::new();
        for server in selected {
            *zone_sizes.entry(server.zone.clone()).or_default() += 1;
        }
        let limits = Limits::resolve(request.policy.as_ref(), &zone_sizes)?;
        let spec = StoredSpec {
            request: fleet_proto::json::to_json(&stored),
            action,
            limits,
        };
        // Every child's job must be one its single RPC would accept (a name a template makes
        // may not be): refused now rather than as failed children.
        for child in child_rows(selected) {
            spec.action.child_job(0, &child)?;
        }
        let project = Some(selector.project.clone()).filter(|p| !p.is_empty());
        if validate_only {
            return Ok(planned(caller, project, spec, selected));
        }
        let spec_json = serde_json::to_value(&spec)
            .map_err(|err| GatewayError::Internal(format!("batch spec: {err}")))?;

        // The request's hash is the job's argument: a request_id reused for another batch is a
        // conflict at enqueue too (two creates racing with one id).
        let mut job = NewJob::new(BATCH_KIND, BATCH_ZONE, json!({ REQUEST_HASH: hash }))
            .caller(caller.name.clone());
        if let Some(project) = &project {
            job = job.project(project.clone());
        }
        if let Some(request_id) = &request_id {
            job = job.idempotency_key(request_id.clone());
        }
        let mut tx = self.api.pool.begin().await?;
        let enqueued = fleet_scheduler::enqueue_tx(&mut tx, &job)
            .await
            .map_err(|err| match GatewayError::from(err) {
                GatewayError::RequestIdReused { request_id, .. } => GatewayError::RequestIdReused {
                    request_id,
                    method: CREATE_BATCH.to_owned(),
                },
                other => other,
            })?;
        if !enqueued.created {
            // A create with the same request_id won the race: its batch is the answer.
            tx.rollback().await?;
            let job = fleet_scheduler::get_job(&self.api.pool, enqueued.id).await?;
            return Ok(to_operation(&job, Some(CREATE_BATCH)));
        }
        sqlx::query(
            "INSERT INTO batches (id, caller, project, spec, events) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(enqueued.id)
        .bind(&caller.name)
        .bind(&project)
        .bind(&spec_json)
        .bind(Event::array(Some(&Event::now("started", &caller.name))))
        .execute(&mut *tx)
        .await?;
        let column = |f: fn(&Selected) -> Option<String>| -> Vec<Option<String>> {
            selected.iter().map(f).collect()
        };
        let positions: Vec<i32> = (0..selected.len())
            .map(|i| i32::try_from(i).unwrap_or(i32::MAX))
            .collect();
        sqlx::query(
            "INSERT INTO batch_children (batch_id, position, zone, resource_id, project, name, state) \
             SELECT $1, u.* FROM unnest($2::int4[], $3::text[], $4::text[], $5::text[], \
                                        $6::text[], $7::text[]) AS u",
        )
        .bind(enqueued.id)
        .bind(&positions)
        .bind(column(|s| Some(s.zone.clone())))
        .bind(column(|s| Some(s.target.encode())))
        .bind(column(|s| s.project.clone()))
        .bind(column(|s| Some(s.name.clone())))
        .bind(column(|s| Some(s.state.clone())))
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO gateway_operations (job_id, method) VALUES ($1, $2)")
            .bind(enqueued.id)
            .bind(CREATE_BATCH)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(batch_id = enqueued.id, caller = %caller.name, children = selected.len(),
            max_in_flight = spec.limits.max_in_flight, max_failures = spec.limits.max_failures,
            canary = spec.limits.canary, "batch started");
        let job = fleet_scheduler::get_job(&self.api.pool, enqueued.id).await?;
        Ok(to_operation(&job, Some(CREATE_BATCH)))
    }

    /// AIP-155: the Operation of the batch `caller` created before under `request_id`, if
    /// any; a request_id used for anything else is refused.
    async fn replay(
        &self,
        caller: &Caller,
        request_id: &str,
        hash: &str,
    ) -> Result<Option<v1::Operation>, GatewayError> {
        let Some(job) = operations::by_request_id(&self.api.pool, &caller.name, request_id).await?
        else {
            return Ok(None);
        };
        let same = job.kind == BATCH_KIND
            && job.args.get(REQUEST_HASH).and_then(Value::as_str) == Some(hash);
        if !same {
            return Err(GatewayError::RequestIdReused {
                request_id: request_id.to_owned(),
                method: CREATE_BATCH.to_owned(),
            });
        }
        Ok(Some(to_operation(&job, Some(CREATE_BATCH))))
    }

    async fn get(&self, caller: &Caller, name: &str) -> Result<v1::Batch, GatewayError> {
        let id = parse_batch_name(name)?;
        let mut conn = self.api.pool.acquire().await?;
        let batch = visible_batch(&mut conn, caller, id).await?;
        let children = load_children(&mut conn, id).await?;
        Ok(to_proto(&batch, &children, true))
    }

    async fn list(
        &self,
        caller: &Caller,
        request: v1::ListBatchesRequest,
    ) -> Result<v1::ListBatchesResponse, GatewayError> {
        let page = visible_ids(
            &self.api.pool,
            BATCHES,
            caller,
            "fleet.v1.Batches/ListBatches",
            request.page_size,
            &request.page_token,
        )
        .await?;
        let mut conn = self.api.pool.acquire().await?;
        let mut batches = Vec::new();
        for &id in &page.ids {
            if let Some(batch) = load_batch(&mut conn, id, false).await? {
                let children = load_children(&mut conn, id).await?;
                batches.push(to_proto(&batch, &children, false));
            }
        }
        let next_page_token = page.next_page_token;
        Ok(v1::ListBatchesResponse {
            batches,
            next_page_token,
        })
    }

    /// Pause, resume or cancel: a state change allowed only `from` some states, recorded as
    /// an event; the coordinator job is woken so it acts at once.
    async fn transition(
        &self,
        caller: &Caller,
        method: &str,
        name: &str,
        change: Change,
    ) -> Result<v1::Batch, GatewayError> {
        caller.require_operator(method)?;
        let id = parse_batch_name(name)?;
        change_state(&self.api.pool, caller, id, change).await?;
        self.get(caller, name).await
    }
}

/// The hash a CreateBatch request is known by under its request_id (its request_id and
/// validate_only aside).
pub(crate) fn request_hash(request: &v1::CreateBatchRequest) -> String {
    let mut hashed = request.clone();
    hashed.validate_only = false;
    hashed.request_id.clear();
    idempotency::request_hash(CREATE_BATCH, &prost::Message::encode_to_vec(&hashed))
}

/// The checks of a CreateBatch request that need no caller and no database (the offline
/// check runs them too): the action and its options, the selector against the action, the
/// policy's form. Answers the action.
pub fn check_create(request: &v1::CreateBatchRequest) -> Result<BatchAction, GatewayError> {
    let action = BatchAction::from_proto(request.action.as_ref())?;
    check_selector(&request.selector.clone().unwrap_or_default(), &action)?;
    Limits::check(request.policy.as_ref())?;
    if !request.request_id.is_empty() && uuid::Uuid::parse_str(&request.request_id).is_err() {
        return Err(GatewayError::invalid(
            "request_id",
            format!("must be a UUID; got {:?}", request.request_id),
        ));
    }
    Ok(action)
}

/// A caller's change of a batch's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Pause,
    Resume,
    Cancel,
}

impl Change {
    fn event(self) -> &'static str {
        match self {
            Change::Pause => "paused",
            Change::Resume => "resumed",
            Change::Cancel => "cancelled",
        }
    }

    fn allowed_from(self) -> &'static [BatchState] {
        match self {
            Change::Pause => &[BatchState::Running],
            Change::Resume => &[BatchState::Paused],
            Change::Cancel => &[BatchState::Running, BatchState::Paused],
        }
    }

    fn to_state(self) -> BatchState {
        match self {
            Change::Pause => BatchState::Paused,
            Change::Resume => BatchState::Running,
            Change::Cancel => BatchState::Cancelled,
        }
    }
}

/// Applies `change` to visible batch `id` (also the way CancelOperation cancels a batch).
pub async fn change_state(
    pool: &sqlx::PgPool,
    caller: &Caller,
    id: i64,
    change: Change,
) -> Result<(), GatewayError> {
    let mut tx = pool.begin().await?;
    let batch = visible_batch(&mut tx, caller, id).await?;
    let batch = match load_batch(&mut tx, batch.id, true).await? {
        Some(locked) => locked,
        None => return Err(not_found(id)),
    };
    if !change.allowed_from().contains(&batch.state) {
        return Err(GatewayError::FailedPrecondition {
            reason: "BATCH_STATE",
            message: format!(
                "batch {} is {}; it cannot be {}",
                batch_name(id),
                batch.state.as_str(),
                change.event()
            ),
        });
    }
    let reason = match change {
        Change::Cancel => format!("cancelled by {}", caller.name),
        _ => batch.reason.clone(),
    };
    sqlx::query(
        "UPDATE batches SET state = $2, reason = $3, events = events || $4::jsonb, \
         updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(change.to_state().as_str())
    .bind(&reason)
    .bind(Event::array(Some(&Event::now(
        change.event(),
        &caller.name,
    ))))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(batch_id = id, caller = %caller.name, change = change.event(), "batch changed");
    fleet_scheduler::wake_jobs(pool, &[id]).await?;
    Ok(())
}

fn not_found(id: i64) -> GatewayError {
    GatewayError::NotFound {
        resource_type: "batch".into(),
        name: batch_name(id),
    }
}

/// Batch `id` if the caller may see it (an invisible batch is not found).
async fn visible_batch(
    conn: &mut sqlx::PgConnection,
    caller: &Caller,
    id: i64,
) -> Result<BatchRow, GatewayError> {
    match load_batch(conn, id, false).await? {
        Some(batch) if visible(caller, &batch) => Ok(batch),
        _ => Err(not_found(id)),
    }
}

/// The pending children of a resolved selection, in selection order.
fn child_rows(selected: &[Selected]) -> Vec<ChildRow> {
    selected
        .iter()
        .enumerate()
        .map(|(i, s)| ChildRow {
            position: i32::try_from(i).unwrap_or(i32::MAX),
            zone: s.zone.clone(),
            target: s.target.clone(),
            project: s.project.clone(),
            name: s.name.clone(),
            state: s.state.clone(),
            job_id: None,
            outcome: ChildOutcome::Pending,
            error: None,
        })
        .collect()
}

/// The answer of a dry run: a done Operation without a name whose response is the Batch that
/// would run.
fn planned(
    caller: &Caller,
    project: Option<String>,
    spec: StoredSpec,
    selected: &[Selected],
) -> v1::Operation {
    let now = time::OffsetDateTime::now_utc();
    let row = BatchRow {
        id: 0,
        caller: caller.name.clone(),
        project: project.clone(),
        spec,
        state: BatchState::Running,
        reason: String::new(),
        events: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    let children = child_rows(selected);
    let mut batch = to_proto(&row, &children, true);
    batch.name = String::new();
    batch.operation = String::new();
    batch.state = "planned".into();
    let metadata = v1::OperationMetadata {
        kind: BATCH_KIND.into(),
        zone: BATCH_ZONE.into(),
        state: "succeeded".into(),
        percent: 100,
        message: format!(
            "dry run: {} children would run {}",
            children.len(),
            row.spec.action.label()
        ),
        caller: caller.name.clone(),
        project: project.unwrap_or_default(),
        method: CREATE_BATCH.into(),
        ..Default::default()
    };
    v1::Operation {
        name: String::new(),
        metadata: prost_types::Any::from_msg(&metadata).ok(),
        done: true,
        result: prost_types::Any::from_msg(&batch)
            .ok()
            .map(v1::operation::Result::Response),
    }
}

/// What the audit record of a mutating call names.
#[derive(Debug, Default)]
struct Audited {
    resource: Option<String>,
    request_id: Option<String>,
}

/// Answers a call's result, auditing it when it is a mutating one (`audited`).
async fn answer<T>(
    api: &Api,
    caller: &Caller,
    method: &'static str,
    audited: Option<Audited>,
    result: Result<T, GatewayError>,
) -> Result<Response<T>, Status> {
    let result = result.map_err(|err| {
        tracing::debug!(method, error = %err, "batches call refused");
        err.to_status()
    });
    if let Some(audited) = audited {
        let mut record = AuditRecord::new(caller, method);
        record.resource = audited.resource;
        record.request_id = audited.request_id;
        record.finish(result.as_ref().map(|_| ()));
        audit::record(&api.pool, &record).await;
    }
    result.map(Response::new)
}

#[tonic::async_trait]
impl v1::batches_server::Batches for BatchesApi {
    async fn create_batch(
        &self,
        request: Request<v1::CreateBatchRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        let caller = self.caller(&request).map_err(|e| e.to_status())?;
        let request = request.into_inner();
        let mutating = !request.validate_only;
        let request_id = Some(request.request_id.clone()).filter(|id| !id.is_empty());
        let result = self.create(&caller, request).await;
        let audited = mutating.then(|| Audited {
            resource: result.as_ref().ok().map(|op| op.name.clone()),
            request_id: request_id.map(|id| crate::errors::clip(&id, 64)),
        });
        answer(&self.api, &caller, CREATE_BATCH, audited, result).await
    }

    async fn get_batch(
        &self,
        request: Request<v1::GetBatchRequest>,
    ) -> Result<Response<v1::Batch>, Status> {
        let caller = self.caller(&request).map_err(|e| e.to_status())?;
        let result = self.get(&caller, &request.into_inner().name).await;
        answer(
            &self.api,
            &caller,
            "fleet.v1.Batches/GetBatch",
            None,
            result,
        )
        .await
    }

    async fn list_batches(
        &self,
        request: Request<v1::ListBatchesRequest>,
    ) -> Result<Response<v1::ListBatchesResponse>, Status> {
        let caller = self.caller(&request).map_err(|e| e.to_status())?;
        let result = self.list(&caller, request.into_inner()).await;
        answer(
            &self.api,
            &caller,
            "fleet.v1.Batches/ListBatches",
            None,
            result,
        )
        .await
    }

    async fn pause_batch(
        &self,
        request: Request<v1::BatchRequest>,
    ) -> Result<Response<v1::Batch>, Status> {
        self.changed(request, PAUSE_BATCH, Change::Pause).await
    }

    async fn resume_batch(
        &self,
        request: Request<v1::BatchRequest>,
    ) -> Result<Response<v1::Batch>, Status> {
        self.changed(request, RESUME_BATCH, Change::Resume).await
    }

    async fn cancel_batch(
        &self,
        request: Request<v1::BatchRequest>,
    ) -> Result<Response<v1::Batch>, Status> {
        self.changed(request, CANCEL_BATCH, Change::Cancel).await
    }
}

impl BatchesApi {
    async fn changed(
        &self,
        request: Request<v1::BatchRequest>,
        method: &'static str,
        change: Change,
    ) -> Result<Response<v1::Batch>, Status> {
        let caller = self.caller(&request).map_err(|e| e.to_status())?;
        let name = request.into_inner().name;
        let audited = Audited {
            resource: Some(crate::errors::clip(&name, 256)),
            request_id: None,
        };
        let result = self.transition(&caller, method, &name, change).await;
        answer(&self.api, &caller, method, Some(audited), result).await
    }
}
