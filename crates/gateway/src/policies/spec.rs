//! A policy's definition: its checks, the schedules it owns in the cron engine, and the batch
//! each run starts.

use std::str::FromStr as _;

use chrono_tz::Tz;
use fleet_proto::v1;
use fleet_scheduler::{CatchUp, NewJob, ScheduleSpec};
use serde_json::json;
use time::OffsetDateTime;

use super::power::{self, Period};
use super::{
    POLICY_TAG, POLICY_ZONE, PolicyKind, PolicyRow, PolicyState, RUN_KIND, RunTrigger, SLOT_TAG,
    Slot, policy_name,
};
use crate::batches::service::check_create;
use crate::errors::GatewayError;

/// Most schedules (crons, or period edges) one policy may own.
const MAX_SCHEDULES: usize = 32;
const MAX_DISPLAY_NAME: usize = 128;
const DEFAULT_SNAPSHOT_NAME: &str = "{name}-{slot}";

/// The checked parts of a policy the runs and schedules need.
#[derive(Debug, Clone)]
pub struct Checked {
    pub kind: PolicyKind,
    pub time_zone: Tz,
    /// Crons of its schedules, each once.
    pub crons: Vec<String>,
    pub catch_up: CatchUp,
}

/// `policy.{path}` as a field name.
fn field(path: &str) -> String {
    format!("policy.{path}")
}

fn time_zone(name: &str, path: &str) -> Result<Tz, GatewayError> {
    if name.is_empty() {
        return Ok(Tz::UTC);
    }
    Tz::from_str(name).map_err(|_| {
        GatewayError::invalid(
            field(path),
            format!("must be an IANA time zone such as Europe/Paris; got {name:?}"),
        )
    })
}

/// The policy's checks that need no caller and no database.
pub fn check(policy: &v1::Policy) -> Result<Checked, GatewayError> {
    if policy.display_name.chars().count() > MAX_DISPLAY_NAME {
        return Err(GatewayError::invalid(
            field("display_name"),
            format!("at most {MAX_DISPLAY_NAME} characters"),
        ));
    }
    let catch_up = match v1::CatchUp::try_from(policy.catch_up) {
        Ok(v1::CatchUp::RunLateOnce) => CatchUp::RunLateOnce,
        Ok(v1::CatchUp::Skip) => CatchUp::Skip,
        Err(_) => {
            return Err(GatewayError::invalid(
                field("catch_up"),
                format!("must be RUN_LATE_ONCE or SKIP; got {}", policy.catch_up),
            ));
        }
    };
    let (kind, time_zone, crons) = match &policy.kind {
        None => {
            return Err(GatewayError::invalid(
                field("kind"),
                "required: snapshot or power",
            ));
        }
        Some(v1::policy::Kind::Snapshot(snapshot)) => {
            let tz = time_zone(&snapshot.time_zone, "snapshot.time_zone")?;
            if snapshot.crons.is_empty() {
                return Err(GatewayError::invalid(
                    field("snapshot.crons"),
                    "at least one cron expression is required",
                ));
            }
            let mut crons: Vec<String> = Vec::new();
            for (i, cron) in snapshot.crons.iter().enumerate() {
                fleet_scheduler::next_fire(cron, tz.name(), OffsetDateTime::now_utc()).map_err(
                    |err| {
                        GatewayError::invalid(
                            field(&format!("snapshot.crons[{i}]")),
                            err.to_string(),
                        )
                    },
                )?;
                if !crons.contains(cron) {
                    crons.push(cron.clone());
                }
            }
            if snapshot.keep_count == 0 && snapshot.max_age_seconds == 0 {
                return Err(GatewayError::invalid(
                    field("snapshot.keep_count"),
                    "set keep_count, max_age_seconds or both: a policy keeps a bounded number \
                     of snapshots",
                ));
            }
            for (i, tag) in snapshot.tags.iter().enumerate() {
                if tag.is_empty() || tag.starts_with(POLICY_TAG) {
                    return Err(GatewayError::invalid(
                        field(&format!("snapshot.tags[{i}]")),
                        format!(
                            "must be non-empty and not start with {POLICY_TAG:?} (the \
                                 policy's own tags); got {tag:?}"
                        ),
                    ));
                }
            }
            (PolicyKind::Snapshot, tz, crons)
        }
        Some(v1::policy::Kind::Power(schedule)) => {
            let tz = time_zone(&schedule.time_zone, "power.time_zone")?;
            let selector = schedule.selector.clone().unwrap_or_default();
            if selector.target != v1::BatchTarget::Servers as i32 {
                return Err(GatewayError::invalid(
                    field("power.selector.target"),
                    "a power schedule selects servers",
                ));
            }
            for (name, set) in [
                ("state", !selector.state.is_empty()),
                ("commercial_type", !selector.commercial_type.is_empty()),
            ] {
                if set {
                    return Err(GatewayError::invalid(
                        field(&format!("power.selector.{name}")),
                        "does not apply to a power schedule (each run selects by state itself)",
                    ));
                }
            }
            let periods = power::parse_periods(&schedule.periods, &field("power.periods"))?;
            (PolicyKind::Power, tz, power::edge_crons(&periods))
        }
    };
    if crons.len() > MAX_SCHEDULES {
        return Err(GatewayError::invalid(
            field("kind"),
            format!("at most {MAX_SCHEDULES} schedules (crons or period edges) per policy"),
        ));
    }
    let checked = Checked {
        kind,
        time_zone,
        crons,
        catch_up,
    };
    // The batch a run would start must be one CreateBatch accepts.
    let sample = Slot {
        at: OffsetDateTime::UNIX_EPOCH,
        local: "1970-01-01T00:00:00".into(),
        late: false,
        missed: 0,
    };
    let request = batch_request(policy, 1, &sample, 1, true)?;
    check_create(&request).map_err(|err| match err {
        GatewayError::InvalidArgument(violations) => GatewayError::InvalidArgument(
            violations
                .into_iter()
                .map(|mut v| {
                    v.field = batch_field(kind, &v.field);
                    v
                })
                .collect(),
        ),
        other => other,
    })?;
    Ok(checked)
}

/// A CreateBatch field as the policy's field it comes from.
fn batch_field(kind: PolicyKind, batch: &str) -> String {
    let kind = kind.as_str();
    if batch.starts_with("selector") {
        field(&format!("{kind}.{batch}"))
    } else if let Some(rest) = batch.strip_prefix("policy") {
        field(&format!("rollout{rest}"))
    } else if let Some(rest) = batch.strip_prefix("action.snapshot") {
        field(&format!("snapshot{rest}"))
    } else {
        field(kind)
    }
}

/// The periods of a power schedule.
pub fn periods(schedule: &v1::PowerSchedule) -> Result<Vec<Period>, GatewayError> {
    power::parse_periods(&schedule.periods, &field("power.periods"))
}

/// The AIP-155 request_id of run `run` of policy `policy_id`: the same run never starts two
/// batches, whichever gateway runs it, however often.
pub fn run_request_id(policy_id: i64, run: i64) -> String {
    uuid::Uuid::from_u64_pair(policy_id as u64, run as u64).to_string()
}

/// `{slot}` of a name template: the slot's local time, `20261204T030000`.
fn slot_label(slot: &Slot) -> String {
    slot.local.replace(['-', ':'], "")
}

/// The batch run `run` of policy `policy_id` starts for `slot` (for a power schedule, with
/// `power_on` saying which way, and without narrowing to the servers that need it).
pub fn batch_request(
    policy: &v1::Policy,
    policy_id: i64,
    slot: &Slot,
    run: i64,
    power_on: bool,
) -> Result<v1::CreateBatchRequest, GatewayError> {
    let (selector, action) = match &policy.kind {
        Some(v1::policy::Kind::Snapshot(snapshot)) => {
            let template = if snapshot.name_template.is_empty() {
                DEFAULT_SNAPSHOT_NAME
            } else {
                snapshot.name_template.as_str()
            };
            let mut tags = vec![
                format!("{POLICY_TAG}={policy_id}"),
                format!("{SLOT_TAG}={}", slot.at.unix_timestamp()),
            ];
            tags.extend(snapshot.tags.iter().cloned());
            let action = v1::batch_action::Action::Snapshot(v1::BatchSnapshot {
                name_template: template.replace("{slot}", &slot_label(slot)),
                tags,
                root_volume_only: snapshot.root_volume_only,
            });
            (snapshot.selector.clone(), action)
        }
        Some(v1::policy::Kind::Power(schedule)) => {
            let power = if power_on {
                v1::BatchPowerAction::Poweron
            } else {
                v1::BatchPowerAction::Poweroff
            };
            (
                schedule.selector.clone(),
                v1::batch_action::Action::Power(power as i32),
            )
        }
        None => {
            return Err(GatewayError::invalid(
                field("kind"),
                "required: snapshot or power",
            ));
        }
    };
    Ok(v1::CreateBatchRequest {
        selector,
        action: Some(v1::BatchAction {
            action: Some(action),
        }),
        policy: policy.rollout,
        validate_only: false,
        request_id: run_request_id(policy_id, run),
    })
}

/// The name of schedule `n` of policy `id`.
pub fn schedule_name(id: i64, n: usize) -> String {
    format!("policy:{id}:{n}")
}

/// The `LIKE` pattern of every schedule of policy `id`.
pub fn schedule_pattern(id: i64) -> String {
    format!("policy:{id}:%")
}

/// The schedules policy `policy` owns (disabled while it is paused).
pub fn schedules(policy: &PolicyRow, checked: &Checked) -> Vec<ScheduleSpec> {
    checked
        .crons
        .iter()
        .enumerate()
        .map(|(n, cron)| {
            let job = NewJob::new(
                RUN_KIND,
                POLICY_ZONE,
                json!({ "policy_id": policy.id, "trigger": RunTrigger::Schedule }),
            )
            .caller(policy_name(policy.id));
            ScheduleSpec::new(schedule_name(policy.id, n), cron.clone(), job)
                .time_zone(checked.time_zone.name())
                .catch_up(checked.catch_up)
                .enabled(policy.state == PolicyState::Active)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot_policy() -> v1::Policy {
        v1::Policy {
            kind: Some(v1::policy::Kind::Snapshot(v1::SnapshotPolicy {
                selector: Some(v1::BatchSelector {
                    zone: "fr-par-1".into(),
                    tags: vec!["db".into()],
                    ..Default::default()
                }),
                crons: vec!["0 0 3 * * *".into()],
                time_zone: "Europe/Paris".into(),
                keep_count: 3,
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    fn field_of(err: GatewayError) -> String {
        match err {
            GatewayError::InvalidArgument(v) => v[0].field.clone(),
            other => panic!("not invalid: {other}"),
        }
    }

    fn with_snapshot(change: impl FnOnce(&mut v1::SnapshotPolicy)) -> v1::Policy {
        let mut policy = snapshot_policy();
        if let Some(v1::policy::Kind::Snapshot(s)) = &mut policy.kind {
            change(s);
        }
        policy
    }

    #[test]
    fn a_good_snapshot_policy_passes() {
        let checked = check(&snapshot_policy()).unwrap();
        assert_eq!(checked.crons, ["0 0 3 * * *"]);
        assert_eq!(checked.time_zone, chrono_tz::Europe::Paris);
    }

    #[test]
    fn bad_snapshot_policies_name_their_field() {
        let cases: Vec<(v1::Policy, &str)> = vec![
            (with_snapshot(|s| s.crons.clear()), "policy.snapshot.crons"),
            (
                with_snapshot(|s| s.crons = vec!["* *".into()]),
                "policy.snapshot.crons[0]",
            ),
            (
                with_snapshot(|s| s.time_zone = "Mars/Olympus".into()),
                "policy.snapshot.time_zone",
            ),
            (
                with_snapshot(|s| s.keep_count = 0),
                "policy.snapshot.keep_count",
            ),
            (
                with_snapshot(|s| s.tags = vec!["fleet-policy=9".into()]),
                "policy.snapshot.tags[0]",
            ),
            (
                with_snapshot(|s| s.selector = None),
                "policy.snapshot.selector.zone",
            ),
            (
                with_snapshot(|s| s.name_template = "{nope}".into()),
                "policy.snapshot.name_template",
            ),
            (v1::Policy::default(), "policy.kind"),
        ];
        for (policy, expected) in cases {
            assert_eq!(field_of(check(&policy).unwrap_err()), expected);
        }
    }

    #[test]
    fn a_run_tags_its_snapshots_with_the_policy_and_the_slot() {
        let slot = Slot {
            at: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
            local: "2027-01-15T09:00:00".into(),
            late: false,
            missed: 0,
        };
        let request = batch_request(&snapshot_policy(), 7, &slot, 42, true).unwrap();
        let Some(v1::batch_action::Action::Snapshot(s)) = request.action.unwrap().action else {
            panic!("not a snapshot");
        };
        assert_eq!(s.tags, ["fleet-policy=7", "fleet-policy-slot=1800000000"]);
        assert_eq!(s.name_template, "{name}-20270115T090000");
        assert_eq!(request.request_id, run_request_id(7, 42));
        assert_ne!(run_request_id(7, 42), run_request_id(7, 43));
    }
}
