//! The `batch` commands: one action over a selection of servers or volumes with a rollout policy
//! (`run`, `plan` for the dry run), and `get`, `list`, `pause`, `resume`, `cancel`.

use clap::{Args, Subcommand};
use fleet_proto::v1;

use crate::args::{LongRunning, Paging};
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::output;
use crate::selection::{Rollout, Selection};

#[derive(Subcommand, Debug)]
pub enum BatchCmd {
    /// Start a batch; with --wait, follow it and print each failed child at the end
    Run {
        #[command(flatten)]
        batch: BatchArgs,
        #[command(flatten)]
        long: LongRunning,
    },
    /// Dry run: print the resolved selection and the resolved policy; changes nothing
    Plan {
        #[command(flatten)]
        batch: BatchArgs,
    },
    /// One batch with its children (batches/ID or ID)
    Get { name: String },
    /// Batches, newest first
    List {
        #[command(flatten)]
        paging: Paging,
    },
    /// Start no new child until resumed (children in flight finish)
    Pause { name: String },
    /// Start children again after a pause
    Resume { name: String },
    /// Start no new child again; children in flight finish
    Cancel { name: String },
}

/// What a batch acts on, what it does and how fast.
#[derive(Args, Debug, Clone)]
pub struct BatchArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Select volumes instead of servers (for snapshot and block-migration)
    #[arg(long)]
    pub volumes: bool,
    /// What each child does: poweron, poweroff, stop_in_place, reboot, terminate, backup,
    /// enable_routed_ip, snapshot, set-tags, add-tags, remove-tags, change-type,
    /// block-migration or delete
    #[arg(long)]
    pub action: String,
    #[command(flatten)]
    pub options: ActionOptions,
    #[command(flatten)]
    pub rollout: Rollout,
}

/// The options of the actions that take some.
#[derive(Args, Debug, Clone, Default)]
pub struct ActionOptions {
    /// backup, snapshot: name of each image or snapshot; {name}, {id}, {batch} and
    /// {position} are replaced
    #[arg(long)]
    pub name_template: Option<String>,
    /// set-tags, add-tags, remove-tags: the tags (repeatable); snapshot: tags of each snapshot
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// change-type: the new commercial type, e.g. DEV1-M
    #[arg(long)]
    pub commercial_type: Option<String>,
    /// snapshot of servers: each server's root volume (slot 0) only
    #[arg(long)]
    pub root_only: bool,
    /// enable_routed_ip: disable IPv6 during the migration
    #[arg(long)]
    pub disable_ipv6: bool,
    /// delete: power off first
    #[arg(long)]
    pub stop_first: bool,
    /// delete: also delete the volumes the server leaves
    #[arg(long)]
    pub delete_volumes: bool,
    /// delete: also delete its flexible IPs
    #[arg(long)]
    pub delete_ips: bool,
}

/// The BatchAction `--action` and its options name.
pub fn parse_action(action: &str, options: &ActionOptions) -> Result<v1::BatchAction, CliError> {
    use v1::batch_action::Action;
    use v1::batch_tags::Operation;
    let tags = |operation: Operation| {
        Action::Tags(v1::BatchTags {
            operation: operation as i32,
            tags: options.tags.clone(),
        })
    };
    let power = |p: v1::BatchPowerAction| Action::Power(p as i32);
    let name_template = options.name_template.clone().unwrap_or_default();
    let parsed = match action {
        "poweron" => power(v1::BatchPowerAction::Poweron),
        "poweroff" => power(v1::BatchPowerAction::Poweroff),
        "stop_in_place" => power(v1::BatchPowerAction::StopInPlace),
        "reboot" => power(v1::BatchPowerAction::Reboot),
        "terminate" => power(v1::BatchPowerAction::Terminate),
        "backup" => Action::Backup(v1::BatchBackup { name_template }),
        "enable_routed_ip" => Action::EnableRoutedIp(v1::BatchEnableRoutedIp {
            disable_ipv6: options.disable_ipv6,
        }),
        "snapshot" => Action::Snapshot(v1::BatchSnapshot {
            name_template,
            tags: options.tags.clone(),
            root_volume_only: options.root_only,
        }),
        "set-tags" => tags(Operation::Set),
        "add-tags" => tags(Operation::Add),
        "remove-tags" => tags(Operation::Remove),
        "change-type" => Action::ChangeCommercialType(v1::BatchChangeType {
            commercial_type: options.commercial_type.clone().ok_or_else(|| {
                CliError::Usage("--action change-type needs --commercial-type".into())
            })?,
        }),
        "block-migration" => Action::ApplyBlockMigration(v1::BatchBlockMigration {}),
        "delete" => Action::Delete(v1::BatchDelete {
            stop_first: options.stop_first,
            delete_volumes: options.delete_volumes,
            delete_ips: options.delete_ips,
        }),
        other => {
            return Err(CliError::Usage(format!(
                "--action: unknown action {other:?} (poweron, poweroff, stop_in_place, reboot, \
                 terminate, backup, enable_routed_ip, snapshot, set-tags, add-tags, \
                 remove-tags, change-type, block-migration, delete)"
            )));
        }
    };
    Ok(v1::BatchAction {
        action: Some(parsed),
    })
}

/// The CreateBatch request of `args`.
pub fn request(args: &BatchArgs, validate_only: bool) -> Result<v1::CreateBatchRequest, CliError> {
    let mut selector = args.selection.selector()?;
    if args.volumes {
        selector.target = v1::BatchTarget::Volumes as i32;
    }
    Ok(v1::CreateBatchRequest {
        selector: Some(selector),
        action: Some(parse_action(&args.action, &args.options)?),
        policy: Some(args.rollout.policy()?),
        validate_only,
        request_id: String::new(),
    })
}

/// The progress line of a batch: its state and wave, then done / failed / in flight of the
/// total (the one bar `batch run --wait` shows).
pub fn progress_line(progress: &v1::BatchProgress) -> String {
    let counts = progress.counts.unwrap_or_default();
    let done = counts.succeeded + counts.failed + counts.cancelled + counts.skipped;
    let wave = if progress.wave.is_empty() {
        String::new()
    } else {
        format!(" ({} wave)", progress.wave)
    };
    format!(
        "batch {}{wave}: {done}/{} done, {} failed, {} in flight",
        progress.state, counts.total, counts.failed, counts.in_flight
    )
}

/// The share of a batch's children that are done, in percent.
pub fn progress_percent(progress: &v1::BatchProgress) -> u64 {
    let counts = progress.counts.unwrap_or_default();
    let done = counts.succeeded + counts.failed + counts.cancelled + counts.skipped;
    match counts.total {
        0 => 100,
        total => u64::from(done) * 100 / u64::from(total),
    }
}

/// One line per failed child, then why the batch stopped (printed at the end of a run).
fn failure_lines(batch: &v1::Batch) -> Vec<String> {
    let mut lines: Vec<String> = batch
        .children
        .iter()
        .filter(|c| c.outcome == "failed")
        .map(|c| {
            let id = if c.volume_id.is_empty() {
                &c.server_id
            } else {
                &c.volume_id
            };
            format!("failed: {}/{id} ({}): {}", c.zone, c.name, c.error)
        })
        .collect();
    if !batch.reason.is_empty() {
        lines.push(format!("batch {}: {}", batch.state, batch.reason));
    }
    lines
}

/// Why a finished batch is not a clean success (halted, cancelled, or a child failed), for
/// the exit code.
fn unfinished(batch: &v1::Batch) -> Option<String> {
    let failed = batch
        .children
        .iter()
        .filter(|c| c.outcome == "failed")
        .count();
    match (batch.state.as_str(), failed) {
        ("completed", 0) => None,
        ("completed", n) => Some(format!("completed with {n} failed children")),
        (state, _) if batch.reason.is_empty() => Some(state.to_owned()),
        (state, _) => Some(format!("{state}: {}", batch.reason)),
    }
}

/// `ID` → `batches/ID`.
fn batch_name(name: String) -> String {
    crate::args::resource_name("batches", &name)
}

pub async fn run(ctx: &Ctx, cmd: BatchCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.batches();
    match cmd {
        BatchCmd::Run { batch, long } => {
            let mut create = request(&batch, false)?;
            create.request_id = long.request_id();
            let op = client.create_batch(create).await?.into_inner();
            if !long.wait {
                return ctx.operation(op, &long).await;
            }
            let done = crate::operations::watch(ctx, &op.name, true).await?;
            let finished = match &done.result {
                Some(v1::operation::Result::Response(any)) => any.to_msg::<v1::Batch>().ok(),
                _ => None,
            };
            let Some(result) = finished else {
                return crate::operations::print_result(ctx, done);
            };
            for line in failure_lines(&result) {
                output::note(&line);
            }
            crate::operations::print_result(ctx, done)?;
            match unfinished(&result) {
                Some(why) => Err(CliError::BatchNotCompleted {
                    name: result.name.clone(),
                    why,
                }),
                None => Ok(()),
            }
        }
        BatchCmd::Plan { batch } => {
            let op = client
                .create_batch(request(&batch, true)?)
                .await?
                .into_inner();
            crate::operations::print_result(ctx, op)
        }
        BatchCmd::Get { name } => {
            let batch = client
                .get_batch(v1::GetBatchRequest {
                    name: batch_name(name),
                })
                .await?;
            ctx.print(&batch.into_inner())
        }
        BatchCmd::List { paging } => {
            ctx.list(v1::ListBatchesRequest::default(), &paging, |r| {
                let mut c = ctx.gateway.batches();
                async move { c.list_batches(r).await }
            })
            .await
        }
        BatchCmd::Pause { name } => {
            let name = batch_name(name);
            ctx.print(
                &client
                    .pause_batch(v1::BatchRequest { name })
                    .await?
                    .into_inner(),
            )
        }
        BatchCmd::Resume { name } => {
            let name = batch_name(name);
            ctx.print(
                &client
                    .resume_batch(v1::BatchRequest { name })
                    .await?
                    .into_inner(),
            )
        }
        BatchCmd::Cancel { name } => {
            let name = batch_name(name);
            ctx.print(
                &client
                    .cancel_batch(v1::BatchRequest { name })
                    .await?
                    .into_inner(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use v1::rollout_limit::Limit;

    fn args(zone: &[&str], selector: &[&str]) -> BatchArgs {
        BatchArgs {
            selection: Selection {
                zone: zone.iter().map(|z| (*z).to_owned()).collect(),
                selector: selector.iter().map(|s| (*s).to_owned()).collect(),
            },
            volumes: false,
            action: "reboot".into(),
            options: ActionOptions::default(),
            rollout: Rollout {
                max_in_flight: Some("10%".into()),
                max_failures: Some("2".into()),
                max_in_flight_per_zone: Some("1".into()),
                canary: Some("5%".into()),
            },
        }
    }

    #[test]
    fn flags_make_the_request() {
        let request =
            request(&args(&["all"], &["tag=web", "tag=eu", "type=DEV1-S"]), true).unwrap();
        let selector = request.selector.unwrap();
        assert_eq!(selector.zone, "all");
        assert_eq!(selector.tags, ["web", "eu"]);
        assert_eq!(selector.commercial_type, "DEV1-S");
        let policy = request.policy.unwrap();
        assert_eq!(
            policy.max_in_flight.unwrap().limit,
            Some(Limit::Percent(10))
        );
        assert_eq!(policy.max_failures.unwrap().limit, Some(Limit::Count(2)));
        assert_eq!(
            policy.max_in_flight_per_zone.unwrap().limit,
            Some(Limit::Count(1))
        );
        assert_eq!(policy.canary.unwrap().limit, Some(Limit::Percent(5)));
        assert!(request.validate_only);
        let several = request_zones(&["fr-par-1", "nl-ams-1"]);
        assert_eq!(several.zones, ["fr-par-1", "nl-ams-1"]);
        assert!(several.zone.is_empty());
    }

    fn request_zones(zones: &[&str]) -> v1::BatchSelector {
        request(&args(zones, &[]), false).unwrap().selector.unwrap()
    }

    #[test]
    fn the_progress_line_counts_done_failed_and_in_flight() {
        let progress = v1::BatchProgress {
            state: "running".into(),
            wave: "canary".into(),
            counts: Some(v1::BatchCounts {
                total: 10,
                pending: 5,
                in_flight: 2,
                succeeded: 2,
                failed: 1,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            progress_line(&progress),
            "batch running (canary wave): 3/10 done, 1 failed, 2 in flight"
        );
        assert_eq!(progress_percent(&progress), 30);
        let mut batch = v1::Batch {
            state: "completed".into(),
            ..Default::default()
        };
        assert_eq!(unfinished(&batch), None);
        batch.children.push(v1::BatchChild {
            outcome: "failed".into(),
            ..Default::default()
        });
        assert_eq!(
            unfinished(&batch).as_deref(),
            Some("completed with 1 failed children")
        );
        batch.state = "halted".into();
        batch.reason = "2 children failed".into();
        assert_eq!(
            unfinished(&batch).as_deref(),
            Some("halted: 2 children failed")
        );
    }

    #[test]
    fn every_action_and_its_options_make_a_typed_action() {
        use v1::batch_action::Action;
        let mut batch = args(&["fr-par-1"], &["volume-type=sbs_volume", "volume-id=v1"]);
        batch.volumes = true;
        batch.action = "snapshot".into();
        batch.options.name_template = Some("{name}-pre".into());
        batch.options.tags = vec!["release".into()];
        let request = request(&batch, true).unwrap();
        let selector = request.selector.unwrap();
        assert_eq!(selector.target, v1::BatchTarget::Volumes as i32);
        assert_eq!(
            (
                selector.volume_type.as_str(),
                selector.volume_ids.as_slice()
            ),
            ("sbs_volume", &["v1".to_owned()][..])
        );
        assert_eq!(
            request.action.unwrap().action,
            Some(Action::Snapshot(v1::BatchSnapshot {
                name_template: "{name}-pre".into(),
                tags: vec!["release".into()],
                root_volume_only: false,
            }))
        );
        let options = ActionOptions {
            tags: vec!["web".into()],
            commercial_type: Some("DEV1-M".into()),
            stop_first: true,
            delete_volumes: true,
            root_only: true,
            ..ActionOptions::default()
        };
        let action = |name: &str| parse_action(name, &options).unwrap().action.unwrap();
        assert_eq!(
            action("snapshot"),
            Action::Snapshot(v1::BatchSnapshot {
                name_template: String::new(),
                tags: vec!["web".into()],
                root_volume_only: true,
            })
        );
        assert_eq!(
            action("stop_in_place"),
            Action::Power(v1::BatchPowerAction::StopInPlace as i32)
        );
        assert_eq!(
            action("remove-tags"),
            Action::Tags(v1::BatchTags {
                operation: v1::batch_tags::Operation::Remove as i32,
                tags: vec!["web".into()],
            })
        );
        assert_eq!(
            action("change-type"),
            Action::ChangeCommercialType(v1::BatchChangeType {
                commercial_type: "DEV1-M".into()
            })
        );
        assert_eq!(
            action("delete"),
            Action::Delete(v1::BatchDelete {
                stop_first: true,
                delete_volumes: true,
                delete_ips: false,
            })
        );
        assert!(matches!(
            parse_action("change-type", &ActionOptions::default()),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            parse_action("explode", &options),
            Err(CliError::Usage(_))
        ));
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        assert!(matches!(
            request(&args(&["all"], &["colour=red"]), false),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            request(&args(&["all"], &["tag"]), false),
            Err(CliError::Usage(_))
        ));
        let mut slow = args(&["all"], &[]);
        slow.rollout.max_failures = Some("x%".into());
        assert!(matches!(request(&slow, false), Err(CliError::Usage(_))));
        assert_eq!(batch_name("7".into()), "batches/7");
        assert_eq!(batch_name("batches/7".into()), "batches/7");
    }
}
