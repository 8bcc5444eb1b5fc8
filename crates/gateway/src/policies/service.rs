//! The `fleet.v1.Policies` service: create, read, list, update, delete, pause, resume and run
//! policies, and list their runs. A policy's row and its schedules change in one transaction.

use std::str::FromStr as _;
use std::sync::Arc;

use chrono_tz::Tz;
use fleet_proto::v1;
use fleet_scheduler::NewJob;
use serde_json::json;
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;
use tonic::{Request, Response, Status};

use super::spec::{self, Checked};
use super::{
    POLICY_ZONE, PolicyRow, PolicyState, RUN_KIND, RunArgs, RunTrigger, Slot, load_policy,
    load_run, parse_policy_name, record_run, scope_json, skipped_run, visible,
};
use crate::audit::{self, AuditRecord, POLICIES_MUTATIONS};
use crate::auth::{Caller, caller_of};
use crate::call::{Api, idempotency};
use crate::errors::GatewayError;
use crate::paging::{PageToken, filter_hash, page_size};
use crate::visible::{POLICIES, visible_ids};

const CREATE_POLICY: &str = POLICIES_MUTATIONS[0];
const UPDATE_POLICY: &str = POLICIES_MUTATIONS[1];
const DELETE_POLICY: &str = POLICIES_MUTATIONS[2];
const PAUSE_POLICY: &str = POLICIES_MUTATIONS[3];
const RESUME_POLICY: &str = POLICIES_MUTATIONS[4];
const RUN_POLICY: &str = POLICIES_MUTATIONS[5];

/// The Policies service.
#[derive(Debug, Clone)]
pub struct PoliciesApi {
    pub api: Arc<Api>,
}

/// The slot of a run asked for at `at` in `tz`.
pub fn slot_at(at: OffsetDateTime, tz: Tz) -> Slot {
    let at = at.replace_nanosecond(0).unwrap_or(at);
    let local = chrono::DateTime::from_timestamp(at.unix_timestamp(), 0)
        .map(|utc| {
            utc.with_timezone(&tz)
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string()
        })
        .unwrap_or_default();
    Slot {
        at,
        local,
        late: false,
        missed: 0,
    }
}

/// Creates, replaces or removes the schedules of `policy` to match `checked` (none when
/// `checked` is `None`), in the caller's transaction. A schedule whose cron and zone are
/// unchanged keeps its pending slot and its slot records.
async fn sync_schedules(
    conn: &mut PgConnection,
    policy: &PolicyRow,
    checked: Option<&Checked>,
) -> Result<(), GatewayError> {
    let schedules = checked.map_or_else(Vec::new, |checked| spec::schedules(policy, checked));
    let now = OffsetDateTime::now_utc();
    for schedule in &schedules {
        fleet_scheduler::upsert_schedule_at(&mut *conn, schedule, now).await?;
    }
    let kept: Vec<String> = schedules.into_iter().map(|s| s.name).collect();
    sqlx::query("DELETE FROM schedules WHERE name LIKE $1 AND NOT (name = ANY($2))")
        .bind(spec::schedule_pattern(policy.id))
        .bind(&kept)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn next_run(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<OffsetDateTime>, GatewayError> {
    Ok(
        sqlx::query_scalar("SELECT min(next_run_at) FROM schedules WHERE name LIKE $1 AND enabled")
            .bind(spec::schedule_pattern(id))
            .fetch_one(&mut *conn)
            .await?,
    )
}

async fn visible_policy(
    conn: &mut PgConnection,
    caller: &Caller,
    id: i64,
    lock: bool,
) -> Result<PolicyRow, GatewayError> {
    load_policy(conn, id, lock)
        .await?
        .filter(|policy| visible(caller, policy))
        .ok_or_else(|| GatewayError::NotFound {
            resource_type: "policy".into(),
            name: super::policy_name(id),
        })
}

/// The policy message as stored: output-only fields cleared.
fn stored(policy: &v1::Policy) -> v1::Policy {
    let mut stored = policy.clone();
    stored.name.clear();
    stored.creator.clear();
    stored.project.clear();
    stored.state = 0;
    stored.create_time = None;
    stored.update_time = None;
    stored.next_run_time = None;
    stored
}

fn check_request_id(request_id: &str) -> Result<(), GatewayError> {
    if !request_id.is_empty() && uuid::Uuid::parse_str(request_id).is_err() {
        return Err(GatewayError::invalid(
            "request_id",
            format!("must be a UUID; got {request_id:?}"),
        ));
    }
    Ok(())
}

/// The checks of a CreatePolicy request that need no caller and no database (the offline
/// check runs them too).
pub fn check_create(request: &v1::CreatePolicyRequest) -> Result<Checked, GatewayError> {
    let checked = spec::check(&request.policy.clone().unwrap_or_default())?;
    check_request_id(&request.request_id)?;
    Ok(checked)
}

/// The checks of an UpdatePolicy request that need no caller and no database: the policy's
/// id and its checked definition.
pub fn check_update(request: &v1::UpdatePolicyRequest) -> Result<(i64, Checked), GatewayError> {
    let policy = request.policy.clone().unwrap_or_default();
    let id = parse_policy_name(&policy.name).map_err(|_| {
        GatewayError::invalid(
            "policy.name",
            format!("must be policies/{{id}}; got {:?}", policy.name),
        )
    })?;
    Ok((id, spec::check(&policy)?))
}

/// The checks of a RunPolicy request that need no caller and no database: the policy's id.
pub fn check_run(request: &v1::RunPolicyRequest) -> Result<i64, GatewayError> {
    let id = parse_policy_name(&request.name)?;
    check_request_id(&request.request_id)?;
    Ok(id)
}

impl PoliciesApi {
    fn caller<T>(&self, request: &Request<T>) -> Result<Caller, GatewayError> {
        if self.api.shutdown.is_cancelled() {
            return Err(GatewayError::ShuttingDown);
        }
        caller_of(request)
    }

    async fn answer_policy(&self, id: i64) -> Result<v1::Policy, GatewayError> {
        let mut conn = self.api.pool.acquire().await?;
        let policy =
            load_policy(&mut conn, id, false)
                .await?
                .ok_or_else(|| GatewayError::NotFound {
                    resource_type: "policy".into(),
                    name: super::policy_name(id),
                })?;
        let next = next_run(&mut conn, id).await?;
        Ok(policy.to_proto(next))
    }

    async fn create(
        &self,
        caller: &Caller,
        request: v1::CreatePolicyRequest,
    ) -> Result<v1::Policy, GatewayError> {
        caller.require_operator(CREATE_POLICY)?;
        let checked = check_create(&request)?;
        let policy = request.policy.clone().unwrap_or_default();
        let project = Some(policy.project.clone()).filter(|p| !p.is_empty());
        if let Some(project) = &project {
            caller.require_project(project)?;
        }
        let request_id = Some(request.request_id.clone()).filter(|id| !id.is_empty());
        let hash = {
            let mut hashed = request.clone();
            hashed.request_id.clear();
            idempotency::request_hash(CREATE_POLICY, &prost::Message::encode_to_vec(&hashed))
        };
        let spec_json = fleet_proto::json::to_json(&stored(&policy));
        let mut tx = self.api.pool.begin().await?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO policies (creator, scope, project, kind, spec, request_id, request_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (creator, request_id) WHERE request_id IS NOT NULL DO NOTHING \
             RETURNING id",
        )
        .bind(&caller.name)
        .bind(scope_json(&caller.projects))
        .bind(&project)
        .bind(checked.kind.as_str())
        .bind(&spec_json)
        .bind(&request_id)
        .bind(&hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = inserted else {
            // The same caller used this request_id before: the same request answers its policy.
            tx.rollback().await?;
            let row = sqlx::query(
                "SELECT id, request_hash FROM policies WHERE creator = $1 AND request_id = $2",
            )
            .bind(&caller.name)
            .bind(&request_id)
            .fetch_one(&self.api.pool)
            .await?;
            let earlier: Option<String> = row.try_get("request_hash")?;
            if earlier.as_deref() != Some(hash.as_str()) {
                return Err(GatewayError::RequestIdReused {
                    request_id: request_id.unwrap_or_default(),
                    method: CREATE_POLICY.to_owned(),
                });
            }
            return self.answer_policy(row.try_get("id")?).await;
        };
        let row = load_policy(&mut tx, id, true)
            .await?
            .ok_or_else(|| GatewayError::Internal(format!("policy {id} vanished")))?;
        sync_schedules(&mut tx, &row, Some(&checked)).await?;
        tx.commit().await?;
        tracing::info!(policy_id = id, caller = %caller.name, kind = checked.kind.as_str(),
            schedules = checked.crons.len(), "policy created");
        self.answer_policy(id).await
    }

    async fn get(&self, caller: &Caller, name: &str) -> Result<v1::Policy, GatewayError> {
        let id = parse_policy_name(name)?;
        let mut conn = self.api.pool.acquire().await?;
        let policy = visible_policy(&mut conn, caller, id, false).await?;
        let next = next_run(&mut conn, id).await?;
        Ok(policy.to_proto(next))
    }

    async fn list(
        &self,
        caller: &Caller,
        request: v1::ListPoliciesRequest,
    ) -> Result<v1::ListPoliciesResponse, GatewayError> {
        let page = visible_ids(
            &self.api.pool,
            POLICIES,
            caller,
            "fleet.v1.Policies/ListPolicies",
            request.page_size,
            &request.page_token,
        )
        .await?;
        let mut conn = self.api.pool.acquire().await?;
        let mut policies = Vec::new();
        for &id in &page.ids {
            if let Some(policy) = load_policy(&mut conn, id, false).await? {
                let next = next_run(&mut conn, id).await?;
                policies.push(policy.to_proto(next));
            }
        }
        let next_page_token = page.next_page_token;
        Ok(v1::ListPoliciesResponse {
            policies,
            next_page_token,
        })
    }

    async fn update(
        &self,
        caller: &Caller,
        request: v1::UpdatePolicyRequest,
    ) -> Result<v1::Policy, GatewayError> {
        caller.require_operator(UPDATE_POLICY)?;
        let (id, checked) = check_update(&request)?;
        let policy = request.policy.unwrap_or_default();
        let mut tx = self.api.pool.begin().await?;
        let mut row = visible_policy(&mut tx, caller, id, true).await?;
        if row.kind != checked.kind {
            return Err(GatewayError::invalid(
                "policy.kind",
                format!(
                    "policy {} is a {} policy and stays one; create another",
                    policy.name,
                    row.kind.as_str()
                ),
            ));
        }
        row.spec = stored(&policy);
        sqlx::query("UPDATE policies SET spec = $2, updated_at = now() WHERE id = $1")
            .bind(id)
            .bind(fleet_proto::json::to_json(&row.spec))
            .execute(&mut *tx)
            .await?;
        sync_schedules(&mut tx, &row, Some(&checked)).await?;
        tx.commit().await?;
        self.answer_policy(id).await
    }

    async fn delete(&self, caller: &Caller, name: &str) -> Result<(), GatewayError> {
        caller.require_operator(DELETE_POLICY)?;
        let id = parse_policy_name(name)?;
        let mut tx = self.api.pool.begin().await?;
        let row = visible_policy(&mut tx, caller, id, true).await?;
        sync_schedules(&mut tx, &row, None).await?;
        sqlx::query("DELETE FROM policies WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(policy_id = id, caller = %caller.name, "policy deleted");
        Ok(())
    }

    async fn set_state(
        &self,
        caller: &Caller,
        method: &str,
        name: &str,
        state: PolicyState,
    ) -> Result<v1::Policy, GatewayError> {
        caller.require_operator(method)?;
        let id = parse_policy_name(name)?;
        let mut tx = self.api.pool.begin().await?;
        let row = visible_policy(&mut tx, caller, id, true).await?;
        if row.state != state {
            sqlx::query("UPDATE policies SET state = $2, updated_at = now() WHERE id = $1")
                .bind(id)
                .bind(state.as_str())
                .execute(&mut *tx)
                .await?;
            let now = OffsetDateTime::now_utc();
            let schedules: Vec<String> =
                sqlx::query_scalar("SELECT name FROM schedules WHERE name LIKE $1")
                    .bind(spec::schedule_pattern(id))
                    .fetch_all(&mut *tx)
                    .await?;
            for schedule in &schedules {
                fleet_scheduler::set_schedule_enabled(
                    &mut *tx,
                    schedule,
                    state == PolicyState::Active,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        self.answer_policy(id).await
    }

    async fn run_now(
        &self,
        caller: &Caller,
        request: v1::RunPolicyRequest,
    ) -> Result<v1::PolicyRun, GatewayError> {
        caller.require_operator(RUN_POLICY)?;
        let id = check_run(&request)?;
        let mut tx = self.api.pool.begin().await?;
        let row = visible_policy(&mut tx, caller, id, false).await?;
        let tz = Tz::from_str(row.time_zone()).unwrap_or(Tz::UTC);
        let args = RunArgs {
            policy_id: id,
            trigger: RunTrigger::Manual,
            slot: slot_at(OffsetDateTime::now_utc(), tz),
        };
        let args_json = serde_json::to_value(&args)
            .map_err(|err| GatewayError::Internal(format!("run arguments: {err}")))?;
        let mut job = NewJob::new(RUN_KIND, POLICY_ZONE, args_json).caller(caller.name.clone());
        if !request.request_id.is_empty() {
            job = job.idempotency_key(request.request_id.clone());
        }
        let enqueued = fleet_scheduler::enqueue_tx(&mut tx, &job)
            .await
            .map_err(|err| match GatewayError::from(err) {
                GatewayError::RequestIdReused { request_id, .. } => GatewayError::RequestIdReused {
                    request_id,
                    method: RUN_POLICY.to_owned(),
                },
                other => other,
            })?;
        if enqueued.created {
            record_run(&mut tx, enqueued.id, &args).await?;
        }
        tx.commit().await?;
        let mut conn = self.api.pool.acquire().await?;
        let run = load_run(&mut conn, enqueued.id, false)
            .await?
            .ok_or_else(|| {
                GatewayError::invalid(
                    "request_id",
                    format!(
                        "was used by {} for another call than a run of {}",
                        caller.name, request.name
                    ),
                )
            })?;
        if run.policy_id != id {
            return Err(GatewayError::RequestIdReused {
                request_id: request.request_id,
                method: RUN_POLICY.to_owned(),
            });
        }
        Ok(run.to_proto())
    }

    async fn runs(
        &self,
        caller: &Caller,
        request: v1::ListPolicyRunsRequest,
    ) -> Result<v1::ListPolicyRunsResponse, GatewayError> {
        let id = parse_policy_name(&request.name)?;
        let size = page_size(request.page_size)?;
        let hash = filter_hash("fleet.v1.Policies/ListPolicyRuns", &json!([request.name]));
        let token = PageToken::decode(&request.page_token, &hash)?;
        let mut conn = self.api.pool.acquire().await?;
        visible_policy(&mut conn, caller, id, false).await?;
        // Runs, and the slots the engine skipped, newest slot first.
        let rows = sqlx::query(
            "SELECT id, NULL::text AS slot_local, slot_at, NULL::int4 AS missed, \
                    NULL::timestamptz AS recorded_at FROM policy_runs WHERE policy_id = $1 \
             UNION ALL \
             SELECT NULL, slot_local, slot_at, missed, recorded_at FROM schedule_slots \
             WHERE schedule LIKE $2 AND outcome = $3 \
             ORDER BY slot_at DESC, id DESC NULLS LAST OFFSET $4 LIMIT $5",
        )
        .bind(id)
        .bind(spec::schedule_pattern(id))
        .bind(fleet_scheduler::SlotOutcome::Skipped.as_str())
        .bind(i64::try_from(token.offset).unwrap_or(i64::MAX))
        .bind(i64::from(size) + 1)
        .fetch_all(&mut *conn)
        .await?;
        let more = rows.len() > size as usize;
        let mut runs = Vec::new();
        for row in rows.iter().take(size as usize) {
            let run_id: Option<i64> = row.try_get("id")?;
            if let Some(run_id) = run_id {
                if let Some(run) = load_run(&mut conn, run_id, false).await? {
                    runs.push(run.to_proto());
                }
                continue;
            }
            runs.push(skipped_run(
                id,
                row.try_get("slot_local")?,
                row.try_get("slot_at")?,
                row.try_get("missed")?,
                row.try_get("recorded_at")?,
            ));
        }
        let next_page_token = if more {
            PageToken {
                offset: token.offset + u64::from(size),
                zone_index: None,
                after: None,
                filter_hash: hash,
            }
            .encode()
        } else {
            String::new()
        };
        Ok(v1::ListPolicyRunsResponse {
            runs,
            next_page_token,
        })
    }
}

/// Answers a call's result, auditing it when `audited` names what a mutating one acted on.
async fn answer<T>(
    api: &Api,
    caller: &Caller,
    method: &'static str,
    audited: Option<String>,
    result: Result<T, GatewayError>,
) -> Result<Response<T>, Status> {
    let result = result.map_err(|err| {
        tracing::debug!(method, error = %err, "policies call refused");
        err.to_status()
    });
    if let Some(resource) = audited {
        let mut record = AuditRecord::new(caller, method);
        record.resource = Some(crate::errors::clip(&resource, 256));
        record.finish(result.as_ref().map(|_| ()));
        audit::record(&api.pool, &record).await;
    }
    result.map(Response::new)
}

#[tonic::async_trait]
impl v1::policies_server::Policies for PoliciesApi {
    async fn create_policy(
        &self,
        request: Request<v1::CreatePolicyRequest>,
    ) -> Result<Response<v1::Policy>, Status> {
        let caller = self.caller(&request).map_err(|e| e.to_status())?;
        let result = self.create(&caller, request.into_inner()).await;
        let resource = result.as_ref().map(|p| p.name.clone()).unwrap_or_default();
        answer(&self.api, &caller, CREATE_POLICY, Some(resource), result).await
    }

    async fn get_policy(
        &self,
        request: Request<v1::GetPolicyRequest>,
    ) -> Result<Response<v1::Policy>, Status> {
        let caller = self.caller(&request).map_err(|e| e.to_status())?;
        let result = self.get(&caller, &request.into_inner().name).await;
        answer(
            &self.api,
            &caller,
            "fleet.v1.Policies/GetPolicy",
            None,
            result,
        )
        .await
    }

    async fn list_policies(
        &self,
        request: Request<v1::ListPoliciesRequest>,
    ) -> Result<Response<v1::ListPoliciesResponse>, Status> {
        let caller = self.caller(&request).map_err(|e| e.to_status())?;
        let result = self.list(&caller, request.into_inner()).await;
        answer(
            &self.api,
            &caller,
            "fleet.v1.Policies/ListPolicies",
            None,
            result,
        )
        .await
    }

    async fn update_policy(
        &self,
        request: Request<v1::UpdatePolicyRequest>,
    ) -> Result<Response<v1::Policy>, Status> {
        let caller = self.caller(&request).map_err(|e| e.to_status())?;
        let request = request.into_inner();
        let resource = request
            .policy
            .as_ref()
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let result = self.update(&caller, request).await;
        answer(&self.api, &caller, UPDATE_POLICY, Some(resource), result).await
    }

    async fn delete_policy(
        &self,
        request: Request<v1::PolicyRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = self.caller(&request).map_err(|e| e.to_status())?;
        let name = request.into_inner().name;
        let result = self.delete(&caller, &name).await;
        answer(&self.api, &caller, DELETE_POLICY, Some(name), result).await
    }

    async fn pause_policy(
        &self,
        request: Request<v1::PolicyRequest>,
    ) -> Result<Response<v1::Policy>, Status> {
        self.changed(request, PAUSE_POLICY, PolicyState::Paused)
            .await
    }

    async fn resume_policy(
        &self,
        request: Request<v1::PolicyRequest>,
    ) -> Result<Response<v1::Policy>, Status> {
        self.changed(request, RESUME_POLICY, PolicyState::Active)
            .await
    }

    async fn run_policy(
        &self,
        request: Request<v1::RunPolicyRequest>,
    ) -> Result<Response<v1::PolicyRun>, Status> {
        let caller = self.caller(&request).map_err(|e| e.to_status())?;
        let request = request.into_inner();
        let name = request.name.clone();
        let result = self.run_now(&caller, request).await;
        answer(&self.api, &caller, RUN_POLICY, Some(name), result).await
    }

    async fn list_policy_runs(
        &self,
        request: Request<v1::ListPolicyRunsRequest>,
    ) -> Result<Response<v1::ListPolicyRunsResponse>, Status> {
        let caller = self.caller(&request).map_err(|e| e.to_status())?;
        let result = self.runs(&caller, request.into_inner()).await;
        answer(
            &self.api,
            &caller,
            "fleet.v1.Policies/ListPolicyRuns",
            None,
            result,
        )
        .await
    }
}

impl PoliciesApi {
    /// Pause or resume, audited.
    async fn changed(
        &self,
        request: Request<v1::PolicyRequest>,
        method: &'static str,
        state: PolicyState,
    ) -> Result<Response<v1::Policy>, Status> {
        let caller = self.caller(&request).map_err(|e| e.to_status())?;
        let name = request.into_inner().name;
        let result = self.set_state(&caller, method, &name, state).await;
        answer(&self.api, &caller, method, Some(name), result).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_slot_is_named_in_local_time() {
        let at = OffsetDateTime::from_unix_timestamp(1_796_360_400).unwrap(); // 2026-12-04T05:00:00Z
        let slot = slot_at(at, chrono_tz::Europe::Paris);
        assert_eq!(slot.local, "2026-12-04T06:00:00");
        assert!(!slot.late);
    }
}
