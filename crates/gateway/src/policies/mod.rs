//! Policies: snapshot schedules with retention, and power schedules, that run on their own.
//!
//! A policy is a `policies` row (its definition, the creator's project scope) and one
//! recurring schedule per cron expression or period edge in fleet-scheduler's cron engine
//! ([`spec::schedules`], named `policy:{id}:{n}`). The engine records each slot once and
//! enqueues one job of kind [`RUN_KIND`] in the pseudo-zone [`POLICY_ZONE`] per slot that
//! runs; [`runner`] runs those jobs in every gateway (like the batch coordinator): a run
//! resolves the selection, starts one batch as the caller `policies/{id}` and, for a snapshot
//! policy, applies retention ([`retention`]) once the batch has finished. Power schedules'
//! period arithmetic is [`power`]. `service.rs` is the `fleet.v1.Policies` service.

pub mod power;
pub mod retention;
pub mod runner;
pub mod service;
pub mod spec;

use fleet_proto::v1;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;

use crate::auth::{Caller, ProjectScope, Role};
use crate::errors::GatewayError;
use crate::operations::timestamp;

/// Job kind of a policy run.
pub const RUN_KIND: &str = "policy_run";
/// Pseudo-zone of run jobs: no worker owns it, the gateways' policy runner runs it.
pub const POLICY_ZONE: &str = "policies";
/// The tag every snapshot of policy `id` carries (`fleet-policy=<id>`): retention goes by it.
pub const POLICY_TAG: &str = "fleet-policy";
/// The tag naming the slot a snapshot was taken for (`fleet-policy-slot=<unix seconds>`).
pub const SLOT_TAG: &str = "fleet-policy-slot";

/// What a policy does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Snapshot,
    Power,
}

impl PolicyKind {
    pub const ALL: [PolicyKind; 2] = [Self::Snapshot, Self::Power];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Snapshot => "snapshot",
            Self::Power => "power",
        }
    }

    pub fn parse(s: &str) -> Result<Self, GatewayError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| GatewayError::Internal(format!("unknown policy kind {s:?}")))
    }

    /// The kind of a policy message, if it has one.
    pub fn of(policy: &v1::Policy) -> Option<Self> {
        match policy.kind {
            Some(v1::policy::Kind::Snapshot(_)) => Some(Self::Snapshot),
            Some(v1::policy::Kind::Power(_)) => Some(Self::Power),
            None => None,
        }
    }
}

/// Whether a policy's slots fire (`policies.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyState {
    Active,
    Paused,
}

impl PolicyState {
    pub const ALL: [PolicyState; 2] = [Self::Active, Self::Paused];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
        }
    }

    pub fn parse(s: &str) -> Result<Self, GatewayError> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| GatewayError::Internal(format!("unknown policy state {s:?}")))
    }

    fn to_proto(self) -> v1::PolicyState {
        match self {
            Self::Active => v1::PolicyState::Active,
            Self::Paused => v1::PolicyState::Paused,
        }
    }
}

/// How a run ended (`policy_runs.outcome`; `skipped` runs are the engine's skipped slots).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    Running,
    Succeeded,
    Failed,
    NothingToDo,
    Skipped,
}

impl RunOutcome {
    pub const ALL: [RunOutcome; 5] = [
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::NothingToDo,
        Self::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::NothingToDo => "nothing_to_do",
            Self::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Result<Self, GatewayError> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == s)
            .ok_or_else(|| GatewayError::Internal(format!("unknown policy run outcome {s:?}")))
    }

    pub fn is_finished(self) -> bool {
        self != Self::Running
    }

    fn to_proto(self) -> v1::PolicyRunOutcome {
        match self {
            Self::Running => v1::PolicyRunOutcome::Running,
            Self::Succeeded => v1::PolicyRunOutcome::Succeeded,
            Self::Failed => v1::PolicyRunOutcome::Failed,
            Self::NothingToDo => v1::PolicyRunOutcome::NothingToDo,
            Self::Skipped => v1::PolicyRunOutcome::Skipped,
        }
    }
}

/// What started a run (`policy_runs.trigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    Schedule,
    Manual,
}

impl RunTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Result<Self, GatewayError> {
        [Self::Schedule, Self::Manual]
            .into_iter()
            .find(|trigger| trigger.as_str() == s)
            .ok_or_else(|| GatewayError::Internal(format!("unknown policy run trigger {s:?}")))
    }

    fn to_proto(self) -> v1::PolicyRunTrigger {
        match self {
            Self::Schedule => v1::PolicyRunTrigger::Schedule,
            Self::Manual => v1::PolicyRunTrigger::Manual,
        }
    }
}

/// What a run does (`policy_runs.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAction {
    Snapshot,
    /// Power the selection on (a period starts).
    Start,
    /// Power the selection off (a period ends).
    Stop,
}

impl RunAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Snapshot => "snapshot",
            Self::Start => "start",
            Self::Stop => "stop",
        }
    }

    pub fn parse(s: &str) -> Result<Self, GatewayError> {
        [Self::Snapshot, Self::Start, Self::Stop]
            .into_iter()
            .find(|action| action.as_str() == s)
            .ok_or_else(|| GatewayError::Internal(format!("unknown policy run action {s:?}")))
    }
}

/// A `policies` row.
#[derive(Debug, Clone)]
pub struct PolicyRow {
    pub id: i64,
    pub creator: String,
    /// The creator's project scope when the policy was created; runs act with it.
    pub scope: ProjectScope,
    pub project: Option<String>,
    pub kind: PolicyKind,
    /// The policy as accepted (output-only fields cleared).
    pub spec: v1::Policy,
    pub state: PolicyState,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl PolicyRow {
    /// The identity a run acts as: `policies/{id}`, an operator within the creator's scope.
    pub fn run_caller(&self) -> Caller {
        Caller {
            name: policy_name(self.id),
            projects: self.scope.clone(),
            role: Role::Operator,
        }
    }

    /// The time zone of its schedules (UTC when unset).
    pub fn time_zone(&self) -> &str {
        let zone = match &self.spec.kind {
            Some(v1::policy::Kind::Snapshot(s)) => s.time_zone.as_str(),
            Some(v1::policy::Kind::Power(p)) => p.time_zone.as_str(),
            None => "",
        };
        if zone.is_empty() { "UTC" } else { zone }
    }

    /// The public Policy; `next_run` from its schedules.
    pub fn to_proto(&self, next_run: Option<OffsetDateTime>) -> v1::Policy {
        let mut policy = self.spec.clone();
        policy.name = policy_name(self.id);
        policy.creator = self.creator.clone();
        policy.project = self.project.clone().unwrap_or_default();
        policy.state = self.state.to_proto() as i32;
        policy.create_time = Some(timestamp(self.created_at));
        policy.update_time = Some(timestamp(self.updated_at));
        policy.next_run_time = next_run
            .filter(|_| self.state == PolicyState::Active)
            .map(timestamp);
        policy
    }
}

/// The stored form of a project scope (`["*"]` or the ids).
pub fn scope_json(scope: &ProjectScope) -> serde_json::Value {
    match scope {
        ProjectScope::All => serde_json::json!(["*"]),
        ProjectScope::Only(projects) => serde_json::json!(projects),
    }
}

fn scope_from_json(value: serde_json::Value) -> Result<ProjectScope, GatewayError> {
    let projects: Vec<String> = serde_json::from_value(value)
        .map_err(|err| GatewayError::Internal(format!("policy scope does not decode: {err}")))?;
    Ok(if projects.iter().any(|p| p == "*") {
        ProjectScope::All
    } else {
        ProjectScope::Only(projects)
    })
}

const POLICY_COLUMNS: &str =
    "id, creator, scope, project, kind, spec, state, created_at, updated_at";

fn policy_from_row(row: &sqlx::postgres::PgRow) -> Result<PolicyRow, GatewayError> {
    let kind: String = row.try_get("kind")?;
    let state: String = row.try_get("state")?;
    let spec: v1::Policy = fleet_proto::json::from_json(row.try_get("spec")?)
        .map_err(|err| GatewayError::Internal(format!("policy spec does not decode: {err}")))?;
    Ok(PolicyRow {
        id: row.try_get("id")?,
        creator: row.try_get("creator")?,
        scope: scope_from_json(row.try_get("scope")?)?,
        project: row.try_get("project")?,
        kind: PolicyKind::parse(&kind)?,
        spec,
        state: PolicyState::parse(&state)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Reads policy `id`, locked for the transaction when `lock`.
pub async fn load_policy(
    conn: &mut PgConnection,
    id: i64,
    lock: bool,
) -> Result<Option<PolicyRow>, GatewayError> {
    let sql = format!(
        "SELECT {POLICY_COLUMNS} FROM policies WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(policy_from_row).transpose()
}

/// Whether `caller` may see the policy: its own, or of a granted project.
pub fn visible(caller: &Caller, policy: &PolicyRow) -> bool {
    match (&caller.projects, &policy.project) {
        (ProjectScope::All, _) => true,
        _ if policy.creator == caller.name => true,
        (scope, Some(project)) => scope.allows(project),
        (_, None) => false,
    }
}

/// `policies/{id}`.
pub fn policy_name(id: i64) -> String {
    format!("policies/{id}")
}

/// `policies/{id}` → id.
pub fn parse_policy_name(name: &str) -> Result<i64, GatewayError> {
    name.strip_prefix("policies/")
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            GatewayError::invalid(
                "name",
                format!("must be policies/{{id}} as returned by CreatePolicy; got {name:?}"),
            )
        })
}

/// The slot a run is for, as the cron engine (or RunPolicy) describes it in the run job's
/// arguments (`slot`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub local: String,
    #[serde(default)]
    pub late: bool,
    #[serde(default)]
    pub missed: i32,
}

/// The arguments of a run job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunArgs {
    pub policy_id: i64,
    pub trigger: RunTrigger,
    /// Set by the cron engine on scheduled runs, by RunPolicy on manual ones.
    pub slot: Slot,
}

/// A `policy_runs` row.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: i64,
    pub policy_id: i64,
    pub trigger: RunTrigger,
    pub slot: Slot,
    pub action: Option<RunAction>,
    pub outcome: RunOutcome,
    pub batch_id: Option<i64>,
    pub retained_servers: Vec<String>,
    pub deletions: Vec<retention::Deletion>,
    pub detail: String,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

const RUN_COLUMNS: &str = "id, policy_id, trigger, slot_local, slot_at, late, missed, action, \
                           outcome, batch_id, retained_servers, deletions, detail, started_at, \
                           finished_at";

fn run_from_row(row: &sqlx::postgres::PgRow) -> Result<RunRow, GatewayError> {
    let corrupt = |what: &str, err: serde_json::Error| {
        GatewayError::Internal(format!("policy run {what} does not decode: {err}"))
    };
    let trigger: String = row.try_get("trigger")?;
    let outcome: String = row.try_get("outcome")?;
    let action: Option<String> = row.try_get("action")?;
    Ok(RunRow {
        id: row.try_get("id")?,
        policy_id: row.try_get("policy_id")?,
        trigger: RunTrigger::parse(&trigger)?,
        slot: Slot {
            at: row.try_get("slot_at")?,
            local: row.try_get("slot_local")?,
            late: row.try_get("late")?,
            missed: row.try_get("missed")?,
        },
        action: action.as_deref().map(RunAction::parse).transpose()?,
        outcome: RunOutcome::parse(&outcome)?,
        batch_id: row.try_get("batch_id")?,
        retained_servers: serde_json::from_value(row.try_get("retained_servers")?)
            .map_err(|e| corrupt("retained_servers", e))?,
        deletions: serde_json::from_value(row.try_get("deletions")?)
            .map_err(|e| corrupt("deletions", e))?,
        detail: row.try_get("detail")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

/// Reads run `id`, locked for the transaction when `lock`.
pub async fn load_run(
    conn: &mut PgConnection,
    id: i64,
    lock: bool,
) -> Result<Option<RunRow>, GatewayError> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM policy_runs WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(run_from_row).transpose()
}

/// Records run `id` of policy `policy_id` (started), unless it is recorded already.
pub async fn record_run(
    conn: &mut PgConnection,
    id: i64,
    args: &RunArgs,
) -> Result<(), GatewayError> {
    sqlx::query(
        "INSERT INTO policy_runs (id, policy_id, trigger, slot_local, slot_at, late, missed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(args.policy_id)
    .bind(args.trigger.as_str())
    .bind(&args.slot.local)
    .bind(args.slot.at)
    .bind(args.slot.late)
    .bind(args.slot.missed)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `policies/{id}/runs/{run}`.
pub fn run_name(policy_id: i64, run: &str) -> String {
    format!("policies/{policy_id}/runs/{run}")
}

impl RunRow {
    pub fn to_proto(&self) -> v1::PolicyRun {
        v1::PolicyRun {
            name: run_name(self.policy_id, &self.id.to_string()),
            trigger: self.trigger.to_proto() as i32,
            slot_local: self.slot.local.clone(),
            slot_time: Some(timestamp(self.slot.at)),
            late: self.slot.late,
            missed: self.slot.missed,
            outcome: self.outcome.to_proto() as i32,
            batch: self
                .batch_id
                .map(crate::batches::batch_name)
                .unwrap_or_default(),
            action: self
                .action
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default(),
            retained_servers: self.retained_servers.clone(),
            deletions: self
                .deletions
                .iter()
                .map(retention::Deletion::to_proto)
                .collect(),
            detail: self.detail.clone(),
            start_time: Some(timestamp(self.started_at)),
            end_time: self.finished_at.map(timestamp),
        }
    }
}

/// A slot the cron engine skipped (catch-up `SKIP`), shown among the runs.
pub fn skipped_run(
    policy_id: i64,
    slot_local: String,
    slot_at: OffsetDateTime,
    missed: i32,
    recorded_at: OffsetDateTime,
) -> v1::PolicyRun {
    v1::PolicyRun {
        name: run_name(policy_id, &format!("skipped-{slot_local}")),
        trigger: v1::PolicyRunTrigger::Schedule as i32,
        slot_local,
        slot_time: Some(timestamp(slot_at)),
        late: true,
        missed,
        outcome: v1::PolicyRunOutcome::Skipped as i32,
        detail: "missed while no scheduler ran; catch_up SKIP".into(),
        start_time: Some(timestamp(recorded_at)),
        end_time: Some(timestamp(recorded_at)),
        ..Default::default()
    }
}
