//! The `policies` commands: policies that run on their own (the Policies service):
//! snapshots of a selection on cron schedules with retention (`create snapshot`), and
//! power schedules that start and stop a selection of servers (`create power`); `get`,
//! `list`, `update`, `delete`, `pause`, `resume`, `run` (now, outside the schedule) and
//! `runs`.
//!
//! Selection and rollout flags are `batch`'s ([`crate::selection`]): each run of a policy
//! is one batch. The values of the schedule flags are parsed in [`crate::schedule`].

use clap::{Args, Subcommand, ValueEnum};
use fleet_proto::v1;
use serde_json::Value;
use v1::policy::Kind;

use crate::args::{Mutation, Paging, resource_name};
use crate::commands::{confirm, list, show};
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::schedule;
use crate::selection::{self, Rollout, Selection};

#[derive(Subcommand, Debug)]
pub enum PoliciesCmd {
    /// Create a policy: snapshots on a schedule with retention, or a power schedule
    #[command(subcommand)]
    Create(CreateCmd),
    /// One policy (policies/ID or ID)
    Get { name: String },
    /// Policies, newest first
    List {
        #[command(flatten)]
        paging: Paging,
    },
    /// Change a policy: fetch it, apply the flags given (its kind's create flags but
    /// --project), and send it whole; its schedule starts afresh from now
    #[command(mut_arg("zone", |zone| zone.required(false)))]
    Update(UpdateArgs),
    /// Delete a policy and its schedules (runs in flight finish; its snapshots are kept)
    Delete { name: String },
    /// Fire no slot until resumed (the time paused is not caught up)
    Pause { name: String },
    /// Fire slots again after a pause
    Resume { name: String },
    /// Run the policy now, outside its schedule (a paused one too), and print the run
    Run {
        name: String,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// The policy's runs, newest slot first: fired, skipped and manual ones
    Runs {
        name: String,
        #[command(flatten)]
        paging: Paging,
    },
}

#[derive(Subcommand, Debug)]
pub enum CreateCmd {
    /// Snapshots of a selection of servers or volumes on cron schedules, with retention
    #[command(mut_arg("cron", |cron| cron.required(true)))]
    Snapshot {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        snapshot: SnapshotArgs,
        #[command(flatten)]
        create: CreateArgs,
    },
    /// A selection of servers powered on during periods and off outside them
    #[command(mut_arg("period", |period| period.required(true)))]
    Power {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        power: PowerArgs,
        #[command(flatten)]
        create: CreateArgs,
    },
}

/// The flags of both kinds: what a policy acts on, its time zone and name, and how each
/// run goes.
#[derive(Args, Debug, Clone, Default)]
pub struct CommonArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// IANA time zone the schedule is read in, e.g. Europe/Paris (default: UTC)
    #[arg(long)]
    pub time_zone: Option<String>,
    /// A name for people
    #[arg(long)]
    pub display_name: Option<String>,
    /// What happens to slots missed while no scheduler ran (default: run-late-once)
    #[arg(long, value_enum)]
    pub catch_up: Option<CatchUp>,
    #[command(flatten)]
    pub rollout: Rollout,
}

/// `--catch-up`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CatchUp {
    /// The latest missed slot runs once, late; earlier ones are folded into it
    RunLateOnce,
    /// Missed slots do not run; they are recorded as skipped
    Skip,
}

impl From<CatchUp> for v1::CatchUp {
    fn from(catch_up: CatchUp) -> Self {
        match catch_up {
            CatchUp::RunLateOnce => v1::CatchUp::RunLateOnce,
            CatchUp::Skip => v1::CatchUp::Skip,
        }
    }
}

/// The flags of snapshot policies. The booleans take `=false` (`--volumes=false`), for
/// `update`.
#[derive(Args, Debug, Clone, Default)]
pub struct SnapshotArgs {
    /// Select volumes instead of servers (of a server, every volume but scratch ones is
    /// snapshot)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub volumes: Option<bool>,
    /// Servers: snapshot each server's root volume (slot 0) only
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub root_only: Option<bool>,
    /// When to snapshot (repeat for several): 5 cron fields, or 6 with seconds first, e.g.
    /// '0 3 * * *' or '*/5 * * * * *'
    #[arg(long, value_parser = schedule::parse_cron)]
    pub cron: Vec<String>,
    /// Keep the newest N policy snapshots of each volume (0: no count limit)
    #[arg(long, value_name = "N")]
    pub keep: Option<u32>,
    /// Delete policy snapshots older than this, e.g. 7d, 12h, 30m, 90s (0: no age limit)
    #[arg(long, value_name = "AGE", value_parser = schedule::parse_max_age)]
    pub max_age: Option<u64>,
    /// Tag of every snapshot (repeat), besides fleet-policy=ID and fleet-policy-slot=TIME
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Snapshot names: {name} (the volume's), {id}, {batch}, {position} and {slot} are
    /// replaced (default {name}-{slot})
    #[arg(long)]
    pub name_template: Option<String>,
}

impl SnapshotArgs {
    /// The flags given, as written on the command line.
    fn given(&self) -> Vec<&'static str> {
        [
            ("--volumes", self.volumes.is_some()),
            ("--root-only", self.root_only.is_some()),
            ("--cron", !self.cron.is_empty()),
            ("--keep", self.keep.is_some()),
            ("--max-age", self.max_age.is_some()),
            ("--tag", !self.tags.is_empty()),
            ("--name-template", self.name_template.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

/// The flags of power schedules.
#[derive(Args, Debug, Clone, Default)]
pub struct PowerArgs {
    /// When servers are on (repeat): DAYS HH:MM-HH:MM, DAYS being daily, mon,tue,… or
    /// ranges like mon-fri; a stop at or before the start ends the next day, e.g.
    /// 'mon-fri 08:00-20:00' or 'daily 22:00-06:00'
    #[arg(long, value_parser = schedule::parse_period)]
    pub period: Vec<v1::PowerPeriod>,
    /// Leave running at a period's end a server found running at its start
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub retain_running: Option<bool>,
}

impl PowerArgs {
    /// The flags given, as written on the command line.
    fn given(&self) -> Vec<&'static str> {
        [
            ("--period", !self.period.is_empty()),
            ("--retain-running", self.retain_running.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

/// What only `create` takes.
#[derive(Args, Debug, Clone, Default)]
pub struct CreateArgs {
    /// The project the policy acts in (default: every project of your token's scope)
    #[arg(long)]
    pub project: Option<String>,
    #[command(flatten)]
    pub mutation: Mutation,
}

/// `policies update NAME`: the flags of either kind; those of the other kind than the
/// policy's are refused.
#[derive(Args, Debug, Clone)]
pub struct UpdateArgs {
    /// policies/ID or ID
    pub name: String,
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten, next_help_heading = "Snapshot policies")]
    pub snapshot: SnapshotArgs,
    #[command(flatten, next_help_heading = "Power schedules")]
    pub power: PowerArgs,
}

/// Selector terms no snapshot policy takes (its selection is resolved at each run).
const SNAPSHOT_REFUSED: &[&str] = &["state", "type", "id"];
/// Selector terms no power schedule takes (servers only).
const POWER_REFUSED: &[&str] = &["state", "type", "volume-type", "volume-id"];

impl CreateCmd {
    /// The CreatePolicy request of the flags.
    pub fn request(&self) -> Result<v1::CreatePolicyRequest, CliError> {
        let (kind, common, create) = match self {
            CreateCmd::Snapshot {
                common,
                snapshot,
                create,
            } => {
                let mut policy = v1::SnapshotPolicy::default();
                apply_snapshot(common, snapshot, &mut policy)?;
                (Kind::Snapshot(policy), common, create)
            }
            CreateCmd::Power {
                common,
                power,
                create,
            } => {
                let mut policy = v1::PowerSchedule::default();
                apply_power(common, power, &mut policy)?;
                (Kind::Power(policy), common, create)
            }
        };
        let mut policy = v1::Policy {
            project: create.project.clone().unwrap_or_default(),
            kind: Some(kind),
            ..Default::default()
        };
        apply_common(common, &mut policy)?;
        check_policy(&policy)?;
        Ok(v1::CreatePolicyRequest {
            policy: Some(policy),
            request_id: create.mutation.id(),
        })
    }
}

impl UpdateArgs {
    /// A usage error when no flag is given (before the policy is fetched).
    pub fn check_given(&self) -> Result<(), CliError> {
        let common = &self.common;
        let given = common.selection.given()
            || common.time_zone.is_some()
            || common.display_name.is_some()
            || common.catch_up.is_some()
            || common.rollout.given()
            || !self.snapshot.given().is_empty()
            || !self.power.given().is_empty();
        if given {
            Ok(())
        } else {
            Err(CliError::usage(
                "nothing to update: give at least one flag (see `fleetctl policies update --help`)",
            ))
        }
    }

    /// Applies the flags given to `policy` (as fetched), then checks the result.
    pub fn apply(&self, policy: &mut v1::Policy) -> Result<(), CliError> {
        match &mut policy.kind {
            Some(Kind::Snapshot(snapshot)) => {
                let flags = self.power.given();
                other_kind(&policy.name, "a snapshot policy", "power schedules", &flags)?;
                apply_snapshot(&self.common, &self.snapshot, snapshot)?;
            }
            Some(Kind::Power(power)) => {
                let flags = self.snapshot.given();
                other_kind(
                    &policy.name,
                    "a power schedule",
                    "snapshot policies",
                    &flags,
                )?;
                apply_power(&self.common, &self.power, power)?;
            }
            None => {
                return Err(CliError::Protocol(format!(
                    "policy {} is neither a snapshot policy nor a power schedule",
                    policy.name
                )));
            }
        }
        apply_common(&self.common, policy)?;
        check_policy(policy)
    }
}

/// A usage error naming the flags of the `other` kind given for the policy `name`.
fn other_kind(name: &str, what: &str, other: &str, flags: &[&str]) -> Result<(), CliError> {
    if flags.is_empty() {
        return Ok(());
    }
    Err(CliError::Usage(format!(
        "{name} is {what}; these flags are for {other}: {}",
        flags.join(", ")
    )))
}

/// Sets `field` to the flag's value, when the flag is given.
fn set<T: Clone>(field: &mut T, value: &Option<T>) {
    if let Some(value) = value {
        *field = value.clone();
    }
}

/// The flags of both kinds that are fields of the Policy itself.
fn apply_common(common: &CommonArgs, policy: &mut v1::Policy) -> Result<(), CliError> {
    set(&mut policy.display_name, &common.display_name);
    if let Some(catch_up) = common.catch_up {
        policy.catch_up = v1::CatchUp::from(catch_up) as i32;
    }
    if common.rollout.given() {
        common
            .rollout
            .apply(policy.rollout.get_or_insert_default())?;
    }
    Ok(())
}

fn apply_snapshot(
    common: &CommonArgs,
    args: &SnapshotArgs,
    policy: &mut v1::SnapshotPolicy,
) -> Result<(), CliError> {
    common
        .selection
        .refuse(SNAPSHOT_REFUSED, "a snapshot policy")?;
    let selector = policy.selector.get_or_insert_default();
    common.selection.apply(selector)?;
    if let Some(volumes) = args.volumes {
        selector.target = if volumes {
            v1::BatchTarget::Volumes
        } else {
            v1::BatchTarget::Servers
        } as i32;
    }
    set(&mut policy.root_volume_only, &args.root_only);
    if !args.cron.is_empty() {
        policy.crons = args.cron.clone();
    }
    set(&mut policy.time_zone, &common.time_zone);
    set(&mut policy.keep_count, &args.keep);
    set(&mut policy.max_age_seconds, &args.max_age);
    if !args.tags.is_empty() {
        policy.tags = args.tags.clone();
    }
    set(&mut policy.name_template, &args.name_template);
    Ok(())
}

fn apply_power(
    common: &CommonArgs,
    args: &PowerArgs,
    policy: &mut v1::PowerSchedule,
) -> Result<(), CliError> {
    common.selection.refuse(POWER_REFUSED, "a power schedule")?;
    common
        .selection
        .apply(policy.selector.get_or_insert_default())?;
    if !args.period.is_empty() {
        policy.periods = args.period.clone();
    }
    set(&mut policy.time_zone, &common.time_zone);
    set(&mut policy.retain_running, &args.retain_running);
    Ok(())
}

/// What the gateway would refuse about a policy that flags alone can fix, said in flags.
fn check_policy(policy: &v1::Policy) -> Result<(), CliError> {
    let selector = match &policy.kind {
        Some(Kind::Snapshot(snapshot)) => {
            if snapshot.crons.is_empty() {
                return Err(CliError::usage(
                    "a snapshot policy needs at least one --cron, e.g. --cron '0 3 * * *'",
                ));
            }
            if snapshot.keep_count == 0 && snapshot.max_age_seconds == 0 {
                return Err(CliError::usage(
                    "retention needs a limit: give --keep N (1 or more), --max-age AGE, or both \
                     (--keep 0 alone would keep every snapshot for ever)",
                ));
            }
            let volumes = snapshot
                .selector
                .as_ref()
                .is_some_and(|s| s.target == v1::BatchTarget::Volumes as i32);
            if snapshot.root_volume_only && volumes {
                return Err(CliError::usage(
                    "--root-only is for a selection of servers, not of volumes (--volumes)",
                ));
            }
            &snapshot.selector
        }
        Some(Kind::Power(power)) => {
            if power.periods.is_empty() {
                return Err(CliError::usage(
                    "a power schedule needs at least one --period, e.g. --period 'mon-fri 08:00-20:00'",
                ));
            }
            &power.selector
        }
        None => return Ok(()),
    };
    match selector {
        Some(s) if !s.zone.is_empty() || !s.zones.is_empty() => Ok(()),
        _ => Err(CliError::usage(
            "a policy needs --zone ZONE (repeatable) or --zone all",
        )),
    }
}

/// `ID` → `policies/ID`.
fn policy_name(name: &str) -> String {
    resource_name("policies", name)
}

/// The cell of a computed column of [`crate::table`] (`@policy.schedule`, `@run.late`, …):
/// what several fields of a Policy or PolicyRun say together, or an enum in a word.
pub fn table_cell(column: &str, value: &Value) -> Option<String> {
    match column.split_once('.')? {
        ("policy", cell) => {
            let policy: v1::Policy = fleet_proto::json::from_json(value.clone()).ok()?;
            policy_cell(&policy, cell)
        }
        ("run", cell) => {
            let run: v1::PolicyRun = fleet_proto::json::from_json(value.clone()).ok()?;
            run_cell(&run, cell)
        }
        _ => None,
    }
}

/// An enum value in a word: `POLICY_STATE_ACTIVE` → `active`.
fn word(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
}

/// `UTC` for an empty time zone.
fn zone_or_utc(time_zone: &str) -> &str {
    if time_zone.is_empty() {
        "UTC"
    } else {
        time_zone
    }
}

fn policy_cell(policy: &v1::Policy, cell: &str) -> Option<String> {
    let text = match (cell, &policy.kind) {
        ("kind", Some(Kind::Snapshot(_))) => "snapshot".to_owned(),
        ("kind", Some(Kind::Power(_))) => "power".to_owned(),
        ("state", _) => word(policy.state().as_str_name(), "POLICY_STATE_"),
        ("schedule", Some(Kind::Snapshot(s))) => {
            format!("{} ({})", s.crons.join("; "), zone_or_utc(&s.time_zone))
        }
        ("schedule", Some(Kind::Power(p))) => {
            let periods: Vec<String> = p.periods.iter().map(schedule::describe_period).collect();
            let retain = if p.retain_running {
                ", retain running"
            } else {
                ""
            };
            format!(
                "{} ({}){retain}",
                periods.join("; "),
                zone_or_utc(&p.time_zone)
            )
        }
        ("selector", Some(Kind::Snapshot(s))) => {
            let mut text = s
                .selector
                .as_ref()
                .map(selection::describe)
                .unwrap_or_default();
            if s.root_volume_only {
                text.push_str(" root-only");
            }
            text
        }
        ("selector", Some(Kind::Power(p))) => p
            .selector
            .as_ref()
            .map(selection::describe)
            .unwrap_or_default(),
        ("retention", Some(Kind::Snapshot(s))) => {
            let mut limits = Vec::new();
            if s.keep_count > 0 {
                limits.push(format!("keep {}", s.keep_count));
            }
            if s.max_age_seconds > 0 {
                limits.push(format!(
                    "max age {}",
                    schedule::describe_seconds(s.max_age_seconds)
                ));
            }
            limits.join(", ")
        }
        _ => return None,
    };
    Some(text)
}

fn run_cell(run: &v1::PolicyRun, cell: &str) -> Option<String> {
    let text = match cell {
        "trigger" => word(run.trigger().as_str_name(), "POLICY_RUN_TRIGGER_"),
        "outcome" => word(run.outcome().as_str_name(), "POLICY_RUN_OUTCOME_"),
        "late" => match (run.late, run.missed) {
            (true, 0) => "late".to_owned(),
            (true, missed) => format!("late, {missed} missed"),
            (false, 0) => String::new(),
            (false, missed) => format!("{missed} missed"),
        },
        "deletions" => {
            let failed = run.deletions.iter().filter(|d| !d.error.is_empty()).count();
            match (run.deletions.len(), failed) {
                (0, _) => String::new(),
                (all, 0) => all.to_string(),
                (all, failed) => format!("{all} ({failed} failed)"),
            }
        }
        _ => return None,
    };
    Some(text)
}

/// The usage errors the flags show alone, found before connecting (nothing is sent): every
/// check of `create`; of `update`, a flag given and well formed (the checks that depend on
/// the policy's kind wait for it to be fetched).
pub fn check(cmd: &PoliciesCmd) -> Result<(), CliError> {
    match cmd {
        PoliciesCmd::Create(create) => create.request().map(drop),
        PoliciesCmd::Update(update) => {
            update.check_given()?;
            update.common.selection.selector()?;
            update.common.rollout.policy().map(drop)
        }
        _ => Ok(()),
    }
}

pub async fn run(ctx: &Ctx, cmd: PoliciesCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.policies();
    let named = |name: &str| v1::PolicyRequest {
        name: policy_name(name),
    };
    match cmd {
        PoliciesCmd::Create(create) => show(ctx, client.create_policy(create.request()?)).await,
        PoliciesCmd::Get { name } => {
            let request = v1::GetPolicyRequest {
                name: policy_name(&name),
            };
            show(ctx, client.get_policy(request)).await
        }
        PoliciesCmd::List { paging } => {
            list!(
                ctx,
                policies.list_policies,
                v1::ListPoliciesRequest::default(),
                paging
            )
        }
        PoliciesCmd::Update(update) => {
            update.check_given()?;
            let request = v1::GetPolicyRequest {
                name: policy_name(&update.name),
            };
            let mut policy = client.get_policy(request).await?.into_inner();
            update.apply(&mut policy)?;
            let request = v1::UpdatePolicyRequest {
                policy: Some(policy),
            };
            show(ctx, client.update_policy(request)).await
        }
        PoliciesCmd::Delete { name } => {
            let request = named(&name);
            let deleted = format!("policy {} deleted", request.name);
            confirm(client.delete_policy(request), &deleted).await
        }
        PoliciesCmd::Pause { name } => show(ctx, client.pause_policy(named(&name))).await,
        PoliciesCmd::Resume { name } => show(ctx, client.resume_policy(named(&name))).await,
        PoliciesCmd::Run { name, mutation } => {
            let request = v1::RunPolicyRequest {
                name: policy_name(&name),
                request_id: mutation.id(),
            };
            show(ctx, client.run_policy(request)).await
        }
        PoliciesCmd::Runs { name, paging } => {
            let request = v1::ListPolicyRunsRequest {
                name: policy_name(&name),
                ..Default::default()
            };
            list!(ctx, policies.list_policy_runs, request, paging)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;
    use v1::rollout_limit::Limit;

    const REQUEST_ID: &str = "3f1c2a9e-5b7d-4c1e-9a2b-8d6f0e4c7a15";

    /// `fleetctl policies ARGS…` as clap parses it.
    fn parse(args: &[&str]) -> Result<PoliciesCmd, clap::Error> {
        let argv = ["fleetctl", "policies"]
            .into_iter()
            .chain(args.iter().copied());
        let crate::Command::Policies(cmd) = crate::Cli::try_parse_from(argv)?.command else {
            panic!("not a policies command: {args:?}");
        };
        Ok(cmd)
    }

    /// The CreatePolicy request of `fleetctl policies create ARGS…`.
    fn create(args: &[&str]) -> Result<v1::CreatePolicyRequest, CliError> {
        let argv: Vec<&str> = ["create"].into_iter().chain(args.iter().copied()).collect();
        match parse(&argv) {
            Ok(PoliciesCmd::Create(create)) => create.request(),
            Ok(other) => panic!("not create: {other:?}"),
            Err(err) => panic!("{args:?}: {err}"),
        }
    }

    /// The clap error of `fleetctl policies ARGS…`, which must not parse.
    fn refused(args: &[&str]) -> String {
        let err = parse(args).expect_err("must not parse");
        assert_eq!(err.exit_code(), 2, "{err}");
        err.to_string()
    }

    fn limit(limit: Limit) -> Option<v1::RolloutLimit> {
        Some(v1::RolloutLimit { limit: Some(limit) })
    }

    #[test]
    fn create_snapshot_builds_the_whole_request() {
        let request = create(&[
            "snapshot",
            "--zone",
            "fr-par-1",
            "--zone",
            "nl-ams-1",
            "--selector",
            "tag=db",
            "--selector",
            "project=p1",
            "--root-only",
            "--cron",
            "0 3 * * *",
            "--cron",
            "*/5 * * * * *",
            "--time-zone",
            "Europe/Paris",
            "--keep",
            "7",
            "--max-age",
            "30d",
            "--tag",
            "nightly",
            "--tag",
            "db",
            "--name-template",
            "{name}-nightly-{slot}",
            "--display-name",
            "db nightly",
            "--project",
            "p1",
            "--catch-up",
            "skip",
            "--max-in-flight",
            "10%",
            "--max-failures",
            "2",
            "--request-id",
            REQUEST_ID,
        ])
        .unwrap();
        let expected = v1::CreatePolicyRequest {
            policy: Some(v1::Policy {
                display_name: "db nightly".into(),
                project: "p1".into(),
                kind: Some(Kind::Snapshot(v1::SnapshotPolicy {
                    selector: Some(v1::BatchSelector {
                        zones: vec!["fr-par-1".into(), "nl-ams-1".into()],
                        tags: vec!["db".into()],
                        project: "p1".into(),
                        ..Default::default()
                    }),
                    root_volume_only: true,
                    crons: vec!["0 3 * * *".into(), "*/5 * * * * *".into()],
                    time_zone: "Europe/Paris".into(),
                    keep_count: 7,
                    max_age_seconds: 30 * 86_400,
                    tags: vec!["nightly".into(), "db".into()],
                    name_template: "{name}-nightly-{slot}".into(),
                })),
                rollout: Some(v1::RolloutPolicy {
                    max_in_flight: limit(Limit::Percent(10)),
                    max_failures: limit(Limit::Count(2)),
                    ..Default::default()
                }),
                catch_up: v1::CatchUp::Skip as i32,
                ..Default::default()
            }),
            request_id: REQUEST_ID.into(),
        };
        assert_eq!(request, expected);
    }

    #[test]
    fn create_power_builds_the_whole_request() {
        let request = create(&[
            "power",
            "--zone",
            "all",
            "--selector",
            "tag=office",
            "--selector",
            "name-prefix=dev-",
            "--period",
            "mon-fri 08:00-20:00",
            "--period",
            "sat,sun 22:00-2:00",
            "--time-zone",
            "Europe/Paris",
            "--retain-running",
            "--display-name",
            "office hours",
            "--catch-up",
            "run-late-once",
            "--canary",
            "1",
            "--max-in-flight-per-zone",
            "25%",
            "--request-id",
            REQUEST_ID,
        ])
        .unwrap();
        let expected = v1::CreatePolicyRequest {
            policy: Some(v1::Policy {
                display_name: "office hours".into(),
                kind: Some(Kind::Power(v1::PowerSchedule {
                    selector: Some(v1::BatchSelector {
                        zone: "all".into(),
                        tags: vec!["office".into()],
                        name_prefix: "dev-".into(),
                        ..Default::default()
                    }),
                    periods: vec![
                        v1::PowerPeriod {
                            start_time: "08:00".into(),
                            stop_time: "20:00".into(),
                            weekdays: vec![1, 2, 3, 4, 5],
                        },
                        v1::PowerPeriod {
                            start_time: "22:00".into(),
                            stop_time: "02:00".into(),
                            weekdays: vec![6, 7],
                        },
                    ],
                    time_zone: "Europe/Paris".into(),
                    retain_running: true,
                })),
                rollout: Some(v1::RolloutPolicy {
                    max_in_flight_per_zone: limit(Limit::Percent(25)),
                    canary: limit(Limit::Count(1)),
                    ..Default::default()
                }),
                catch_up: v1::CatchUp::RunLateOnce as i32,
                ..Default::default()
            }),
            request_id: REQUEST_ID.into(),
        };
        assert_eq!(request, expected);
    }

    #[test]
    fn flags_not_given_leave_the_defaults_and_a_fresh_request_id() {
        let request = create(&[
            "snapshot",
            "--zone",
            "fr-par-1",
            "--volumes",
            "--cron",
            "0 3 * * *",
            "--max-age",
            "12h",
        ])
        .unwrap();
        assert!(uuid::Uuid::parse_str(&request.request_id).is_ok());
        let policy = request.policy.unwrap();
        assert_eq!(
            policy,
            v1::Policy {
                kind: Some(Kind::Snapshot(v1::SnapshotPolicy {
                    selector: Some(v1::BatchSelector {
                        zone: "fr-par-1".into(),
                        target: v1::BatchTarget::Volumes as i32,
                        ..Default::default()
                    }),
                    crons: vec!["0 3 * * *".into()],
                    max_age_seconds: 43_200,
                    ..Default::default()
                })),
                ..Default::default()
            }
        );
        let power = create(&["power", "--zone", "z", "--period", "daily 00:00-00:00"]).unwrap();
        let Some(Kind::Power(power)) = power.policy.unwrap().kind else {
            panic!("not power");
        };
        assert!(!power.retain_running && power.time_zone.is_empty());
        assert!(power.periods[0].weekdays.is_empty());
    }

    #[test]
    fn bad_flags_are_specific_usage_errors() {
        let usage = |args: &[&str]| {
            let err = create(args).expect_err("must be refused");
            assert_eq!(err.exit_code(), crate::error::exit::USAGE, "{err}");
            err.to_string()
        };
        let snapshot = ["snapshot", "--zone", "z", "--cron", "0 3 * * *"];
        let with = |more: &[&'static str]| -> Vec<&'static str> {
            snapshot.iter().chain(more).copied().collect()
        };
        for args in [with(&[]), with(&["--keep", "0"]), with(&["--max-age", "0"])] {
            assert!(usage(&args).contains("retention needs a limit"), "{args:?}");
        }
        assert!(usage(&with(&["--keep", "1", "--volumes", "--root-only"])).contains("--root-only"));
        assert!(
            usage(&with(&["--keep", "1", "--selector", "state=running"]))
                .contains("a snapshot policy takes no state= term")
        );
        assert!(
            usage(&[
                "power",
                "--zone",
                "z",
                "--period",
                "daily 08:00-09:00",
                "--selector",
                "volume-id=v"
            ])
            .contains("a power schedule takes no volume-id= term")
        );
        assert!(
            usage(&with(&["--keep", "1", "--max-failures", "many"])).starts_with("--max-failures:")
        );

        assert!(refused(&["create", "snapshot", "--zone", "z", "--keep", "3"]).contains("--cron"));
        assert!(refused(&["create", "power", "--zone", "z"]).contains("--period"));
        assert!(refused(&["create", "power", "--period", "daily 08:00-09:00"]).contains("--zone"));
        let bad_value = |flag: &str, value: &str, says: &str| {
            let mut args = vec!["create", "snapshot", "--zone", "z", "--cron", "0 3 * * *"];
            if flag == "--period" {
                args[1] = "power";
                args.truncate(4);
            }
            args.extend([flag, value]);
            let err = refused(&args);
            assert!(err.contains(says), "{flag} {value}: {err}");
        };
        bad_value("--period", "mon-fry 08:00-20:00", "unknown weekday \"fry\"");
        bad_value("--period", "mon-fri 8h-20h", "bad time \"8h\"");
        bad_value("--period", "mon 08:00-24:00", "use 00:00");
        bad_value("--period", "08:00-20:00", "DAYS HH:MM-HH:MM");
        bad_value("--max-age", "7x", "e.g. 7d");
        bad_value("--keep", "lots", "--keep <N>");
        bad_value("--cron", "0 3 *", "got 3");
        bad_value("--catch-up", "later", "run-late-once");
        bad_value("--request-id", "not-a-uuid", "must be a UUID");
    }

    /// A snapshot policy as GetPolicy answers it.
    fn fetched_snapshot() -> v1::Policy {
        v1::Policy {
            name: "policies/7".into(),
            display_name: "db".into(),
            project: "p1".into(),
            creator: "ops".into(),
            state: v1::PolicyState::Paused as i32,
            kind: Some(Kind::Snapshot(v1::SnapshotPolicy {
                selector: Some(v1::BatchSelector {
                    zone: "fr-par-1".into(),
                    tags: vec!["db".into()],
                    target: v1::BatchTarget::Volumes as i32,
                    ..Default::default()
                }),
                crons: vec!["0 3 * * *".into()],
                keep_count: 7,
                tags: vec!["nightly".into()],
                ..Default::default()
            })),
            rollout: Some(v1::RolloutPolicy {
                max_failures: limit(Limit::Count(1)),
                ..Default::default()
            }),
            next_run_time: Some(prost_types::Timestamp {
                seconds: 1_800_000_000,
                nanos: 0,
            }),
            ..Default::default()
        }
    }

    fn update(args: &[&str]) -> UpdateArgs {
        let argv: Vec<&str> = ["update", "7"]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        match parse(&argv) {
            Ok(PoliciesCmd::Update(update)) => update,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn update_applies_only_the_flags_given_to_the_policy_fetched() {
        let mut policy = fetched_snapshot();
        let args = update(&[
            "--keep",
            "0",
            "--max-age",
            "14d",
            "--cron",
            "0 4 * * *",
            "--selector",
            "tag=web",
            "--max-in-flight",
            "3",
            "--display-name",
            "web",
        ]);
        args.check_given().unwrap();
        args.apply(&mut policy).unwrap();
        let mut expected = fetched_snapshot();
        expected.display_name = "web".into();
        expected.rollout = Some(v1::RolloutPolicy {
            max_in_flight: limit(Limit::Count(3)),
            max_failures: limit(Limit::Count(1)),
            ..Default::default()
        });
        let Some(Kind::Snapshot(snapshot)) = &mut expected.kind else {
            panic!("not a snapshot policy");
        };
        snapshot.keep_count = 0;
        snapshot.max_age_seconds = 14 * 86_400;
        snapshot.crons = vec!["0 4 * * *".into()];
        // New terms; the zone and the volume target are kept.
        snapshot.selector.as_mut().unwrap().tags = vec!["web".into()];
        assert_eq!(policy, expected);

        // --volumes=false selects servers again; --zone replaces the zone only.
        update(&["--volumes=false", "--zone", "all", "--root-only"])
            .apply(&mut policy)
            .unwrap();
        let Some(Kind::Snapshot(snapshot)) = &policy.kind else {
            panic!("not a snapshot policy");
        };
        let selector = snapshot.selector.as_ref().unwrap();
        assert_eq!(selection::describe(selector), "zone=all tag=web");
        assert!(snapshot.root_volume_only);
    }

    #[test]
    fn update_refuses_no_flag_the_other_kind_and_an_unusable_result() {
        let err = update(&[]).check_given().unwrap_err();
        assert!(err.to_string().contains("nothing to update"), "{err}");
        let err = update(&["--period", "daily 08:00-09:00", "--retain-running"])
            .apply(&mut fetched_snapshot())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "policies/7 is a snapshot policy; these flags are for power schedules: --period, \
             --retain-running"
        );
        let err = update(&["--keep", "0"])
            .apply(&mut fetched_snapshot())
            .unwrap_err();
        assert!(err.to_string().contains("retention needs a limit"), "{err}");
        let err = update(&["--root-only"])
            .apply(&mut fetched_snapshot())
            .unwrap_err();
        assert!(err.to_string().contains("--root-only"), "{err}");

        let mut power = v1::Policy {
            name: "policies/8".into(),
            kind: Some(Kind::Power(v1::PowerSchedule {
                selector: Some(v1::BatchSelector {
                    zone: "fr-par-1".into(),
                    ..Default::default()
                }),
                periods: vec![schedule::parse_period("daily 08:00-20:00").unwrap()],
                retain_running: true,
                ..Default::default()
            })),
            ..Default::default()
        };
        let err = update(&["--cron", "0 3 * * *"])
            .apply(&mut power.clone())
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("is a power schedule; these flags are for snapshot policies: --cron"),
            "{err}"
        );
        update(&[
            "--retain-running=false",
            "--period",
            "mon 09:00-10:00",
            "--time-zone",
            "UTC",
        ])
        .apply(&mut power)
        .unwrap();
        let Some(Kind::Power(schedule)) = &power.kind else {
            panic!("not a power schedule");
        };
        assert!(!schedule.retain_running);
        assert_eq!(schedule.time_zone, "UTC");
        assert_eq!(schedule.periods.len(), 1);
        assert_eq!(
            schedule::describe_period(&schedule.periods[0]),
            "mon 09:00-10:00"
        );
        // A boolean takes its value after `=` only: a word after it is not its value.
        assert!(refused(&["update", "8", "--retain-running=maybe"]).contains("maybe"));
        assert!(refused(&["update", "8", "--retain-running", "maybe"]).contains("'maybe'"));
    }

    #[test]
    fn flag_errors_are_found_before_connecting() {
        let check_of = |args: &[&str]| check(&parse(args).unwrap());
        let snapshot = ["create", "snapshot", "--zone", "z", "--cron", "0 3 * * *"];
        assert!(check_of(&snapshot).is_err());
        assert!(check_of(&[&snapshot[..], &["--keep", "1"]].concat()).is_ok());
        assert!(check_of(&["update", "7"]).is_err());
        assert!(check_of(&["update", "7", "--max-failures", "lots"]).is_err());
        assert!(check_of(&["update", "7", "--selector", "colour=red"]).is_err());
        assert!(check_of(&["update", "7", "--keep", "0"]).is_ok());
        assert!(check_of(&["get", "7"]).is_ok());
    }

    #[test]
    fn names_take_an_id_or_the_full_name() {
        assert_eq!(policy_name("7"), "policies/7");
        assert_eq!(policy_name("policies/7"), "policies/7");
        let Ok(PoliciesCmd::Run { name, mutation }) = parse(&["run", "7"]) else {
            panic!("not run");
        };
        assert_eq!((name.as_str(), mutation.request_id), ("7", None));
    }

    /// The `KEY  value` lines of a table, as pairs.
    fn key_values(text: &str) -> Vec<(String, String)> {
        text.lines()
            .map(|line| {
                let (key, value) = line.split_once("   ").unwrap_or((line, ""));
                (key.trim().to_owned(), value.trim().to_owned())
            })
            .collect()
    }

    fn table<M: prost::Message + prost::Name>(message: &M) -> String {
        let value = crate::output::to_value(message).unwrap();
        crate::table::render(&value, Some(&crate::output::descriptor_of::<M>().unwrap()))
    }

    #[test]
    fn a_policy_prints_its_schedule_selector_and_retention_in_words() {
        let mut policy = fetched_snapshot();
        let Some(Kind::Snapshot(snapshot)) = &mut policy.kind else {
            panic!("not a snapshot policy");
        };
        snapshot.crons.push("*/5 * * * * *".into());
        snapshot.time_zone = "Europe/Paris".into();
        snapshot.max_age_seconds = 7 * 86_400;
        let pairs = key_values(&table(&policy));
        let expected = [
            ("NAME", "policies/7"),
            ("DISPLAY NAME", "db"),
            ("KIND", "snapshot"),
            ("STATE", "paused"),
            ("SCHEDULE", "0 3 * * *; */5 * * * * * (Europe/Paris)"),
            ("SELECTOR", "zone=fr-par-1 tag=db volumes"),
            ("RETENTION", "keep 7, max age 7d"),
            ("NEXT RUN", "2027-01-15T08:00:00Z"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(pairs, expected);

        let power = v1::Policy {
            name: "policies/8".into(),
            state: v1::PolicyState::Active as i32,
            kind: Some(Kind::Power(v1::PowerSchedule {
                selector: Some(v1::BatchSelector {
                    zones: vec!["fr-par-1".into(), "fr-par-2".into()],
                    tags: vec!["office".into()],
                    ..Default::default()
                }),
                periods: vec![
                    schedule::parse_period("mon-fri 08:00-20:00").unwrap(),
                    schedule::parse_period("sat,sun 10:00-12:00").unwrap(),
                ],
                retain_running: true,
                ..Default::default()
            })),
            ..Default::default()
        };
        let list = v1::ListPoliciesResponse {
            policies: vec![power],
            next_page_token: String::new(),
        };
        let text = table(&list);
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        assert!(
            header.starts_with("NAME") && header.contains("SCHEDULE"),
            "{text}"
        );
        let row = lines.next().unwrap();
        for cell in [
            "policies/8",
            "power",
            "active",
            "mon-fri 08:00-20:00; sat,sun 10:00-12:00 (UTC), retain running",
            "zone=fr-par-1,fr-par-2 tag=office",
        ] {
            assert!(row.contains(cell), "{cell}: {text}");
        }
    }

    #[test]
    fn runs_print_trigger_outcome_lateness_and_deletions_in_words() {
        let deletion = |error: &str| v1::RetentionDeletion {
            zone: "fr-par-1".into(),
            snapshot_id: "s".into(),
            volume_id: "v".into(),
            reason: "beyond keep_count".into(),
            error: error.into(),
        };
        let run = v1::PolicyRun {
            name: "policies/7/runs/3".into(),
            trigger: v1::PolicyRunTrigger::Schedule as i32,
            slot_local: "2026-12-04T03:00:00".into(),
            late: true,
            missed: 2,
            outcome: v1::PolicyRunOutcome::Failed as i32,
            batch: "batches/9".into(),
            action: "snapshot".into(),
            deletions: vec![deletion(""), deletion("locked")],
            detail: "1 child failed".into(),
            ..Default::default()
        };
        let pairs = key_values(&table(&run));
        let value = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(value("SLOT"), "2026-12-04T03:00:00");
        assert_eq!(value("TRIGGER"), "schedule");
        assert_eq!(value("OUTCOME"), "failed");
        assert_eq!(value("BATCH"), "batches/9");
        assert_eq!(value("ACTION"), "snapshot");
        assert_eq!(value("LATE"), "late, 2 missed");
        assert_eq!(value("DELETIONS"), "2 (1 failed)");
        assert_eq!(value("DETAIL"), "1 child failed");

        let manual = v1::PolicyRun {
            trigger: v1::PolicyRunTrigger::Manual as i32,
            outcome: v1::PolicyRunOutcome::NothingToDo as i32,
            ..Default::default()
        };
        let cell = |name: &str| run_cell(&manual, name).unwrap();
        assert_eq!(
            [
                cell("trigger"),
                cell("outcome"),
                cell("late"),
                cell("deletions")
            ],
            ["manual", "nothing_to_do", "", ""]
        );
        let skipped = v1::PolicyRun {
            missed: 3,
            ..Default::default()
        };
        assert_eq!(run_cell(&skipped, "late").as_deref(), Some("3 missed"));
        assert_eq!(table_cell("run.colour", &Value::Null), None);
    }
}
