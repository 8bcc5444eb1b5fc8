//! The Policies service of the in-test gateway: a snapshot policy (`policies/7`) and a power
//! schedule (`policies/8`), two pages of policies, two runs, and every change answered
//! with the policy it makes.

use fleet_proto::v1;
use fleet_proto::v1::policies_server::Policies;
use fleet_proto::v1::policy::Kind;
use tonic::{Request, Response, Status};

use super::Gateway;

/// `1_800_000_000`: 2027-01-15T08:00:00Z.
fn time(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

/// The snapshot policy the fake holds, named `name`.
pub fn snapshot_policy(name: &str) -> v1::Policy {
    v1::Policy {
        name: name.into(),
        display_name: "db nightly".into(),
        project: "p1".into(),
        creator: "ops".into(),
        state: v1::PolicyState::Active as i32,
        kind: Some(Kind::Snapshot(v1::SnapshotPolicy {
            selector: Some(v1::BatchSelector {
                zone: "fr-par-1".into(),
                tags: vec!["db".into()],
                ..Default::default()
            }),
            crons: vec!["0 3 * * *".into()],
            time_zone: "Europe/Paris".into(),
            keep_count: 7,
            ..Default::default()
        })),
        rollout: Some(v1::RolloutPolicy {
            max_failures: Some(v1::RolloutLimit {
                limit: Some(v1::rollout_limit::Limit::Count(1)),
            }),
            ..Default::default()
        }),
        next_run_time: time(1_800_000_000),
        ..Default::default()
    }
}

/// The power schedule the fake holds.
pub fn power_policy() -> v1::Policy {
    v1::Policy {
        name: "policies/8".into(),
        display_name: "office hours".into(),
        creator: "ops".into(),
        state: v1::PolicyState::Paused as i32,
        kind: Some(Kind::Power(v1::PowerSchedule {
            selector: Some(v1::BatchSelector {
                zone: "all".into(),
                tags: vec!["office".into()],
                ..Default::default()
            }),
            periods: vec![v1::PowerPeriod {
                start_time: "08:00".into(),
                stop_time: "20:00".into(),
                weekdays: vec![1, 2, 3, 4, 5],
            }],
            time_zone: String::new(),
            retain_running: false,
        })),
        ..Default::default()
    }
}

/// The policy GetPolicy answers for `name`.
fn policy(name: &str) -> Result<v1::Policy, Status> {
    match name {
        "policies/8" => Ok(power_policy()),
        "policies/missing" => Err(Status::not_found("policy policies/missing not found")),
        name => Ok(snapshot_policy(name)),
    }
}

fn with_state(name: &str, state: v1::PolicyState) -> Result<Response<v1::Policy>, Status> {
    let mut policy = policy(name)?;
    policy.state = state as i32;
    if state == v1::PolicyState::Paused {
        policy.next_run_time = None;
    }
    Ok(Response::new(policy))
}

/// A run of `policies/7`.
pub fn policy_run(run: u32, trigger: v1::PolicyRunTrigger) -> v1::PolicyRun {
    v1::PolicyRun {
        name: format!("policies/7/runs/{run}"),
        trigger: trigger as i32,
        slot_local: format!("2026-12-0{run}T03:00:00"),
        slot_time: time(1_796_000_000 + i64::from(run) * 86_400),
        outcome: v1::PolicyRunOutcome::Succeeded as i32,
        batch: format!("batches/{run}"),
        action: "snapshot".into(),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl Policies for Gateway {
    async fn create_policy(
        &self,
        request: Request<v1::CreatePolicyRequest>,
    ) -> Result<Response<v1::Policy>, Status> {
        self.record("CreatePolicy", &request)?;
        let mut policy = request.into_inner().policy.unwrap_or_default();
        policy.name = "policies/7".into();
        policy.creator = "ops".into();
        policy.state = v1::PolicyState::Active as i32;
        policy.next_run_time = time(1_800_000_000);
        Ok(Response::new(policy))
    }

    async fn get_policy(
        &self,
        request: Request<v1::GetPolicyRequest>,
    ) -> Result<Response<v1::Policy>, Status> {
        self.record("GetPolicy", &request)?;
        Ok(Response::new(policy(&request.get_ref().name)?))
    }

    async fn list_policies(
        &self,
        request: Request<v1::ListPoliciesRequest>,
    ) -> Result<Response<v1::ListPoliciesResponse>, Status> {
        self.record("ListPolicies", &request)?;
        let (policies, next) = match request.get_ref().page_token.as_str() {
            "" => (vec![snapshot_policy("policies/7")], "page-2"),
            "page-2" => (vec![power_policy()], ""),
            _ => return Err(Status::invalid_argument("bad page token")),
        };
        Ok(Response::new(v1::ListPoliciesResponse {
            policies,
            next_page_token: next.into(),
        }))
    }

    async fn update_policy(
        &self,
        request: Request<v1::UpdatePolicyRequest>,
    ) -> Result<Response<v1::Policy>, Status> {
        self.record("UpdatePolicy", &request)?;
        Ok(Response::new(
            request.into_inner().policy.unwrap_or_default(),
        ))
    }

    async fn delete_policy(
        &self,
        request: Request<v1::PolicyRequest>,
    ) -> Result<Response<()>, Status> {
        self.record("DeletePolicy", &request)?;
        policy(&request.get_ref().name)?;
        Ok(Response::new(()))
    }

    async fn pause_policy(
        &self,
        request: Request<v1::PolicyRequest>,
    ) -> Result<Response<v1::Policy>, Status> {
        self.record("PausePolicy", &request)?;
        with_state(&request.get_ref().name, v1::PolicyState::Paused)
    }

    async fn resume_policy(
        &self,
        request: Request<v1::PolicyRequest>,
    ) -> Result<Response<v1::Policy>, Status> {
        self.record("ResumePolicy", &request)?;
        with_state(&request.get_ref().name, v1::PolicyState::Active)
    }

    async fn run_policy(
        &self,
        request: Request<v1::RunPolicyRequest>,
    ) -> Result<Response<v1::PolicyRun>, Status> {
        self.record("RunPolicy", &request)?;
        let mut run = policy_run(9, v1::PolicyRunTrigger::Manual);
        run.outcome = v1::PolicyRunOutcome::Running as i32;
        Ok(Response::new(run))
    }

    async fn list_policy_runs(
        &self,
        request: Request<v1::ListPolicyRunsRequest>,
    ) -> Result<Response<v1::ListPolicyRunsResponse>, Status> {
        self.record("ListPolicyRuns", &request)?;
        let mut late = policy_run(2, v1::PolicyRunTrigger::Schedule);
        late.late = true;
        late.missed = 3;
        late.deletions = vec![v1::RetentionDeletion {
            zone: "fr-par-1".into(),
            snapshot_id: "s-old".into(),
            volume_id: "v1".into(),
            reason: "beyond keep_count".into(),
            error: String::new(),
        }];
        let mut skipped = policy_run(1, v1::PolicyRunTrigger::Schedule);
        skipped.outcome = v1::PolicyRunOutcome::Skipped as i32;
        skipped.batch = String::new();
        skipped.detail = "missed while no scheduler ran".into();
        Ok(Response::new(v1::ListPolicyRunsResponse {
            runs: vec![late, skipped],
            next_page_token: String::new(),
        }))
    }
}
