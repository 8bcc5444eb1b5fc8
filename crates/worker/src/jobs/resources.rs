//! Storage handlers: snapshot create and export, image create, volume create, block
//! migration. Each finds which API holds the volume or snapshot it names (`locate`); the
//! Block-only steps are in `sbs`.

use fleet_core::block::unified;
use fleet_core::{
    ApplyBlockMigrationRequest, ListImagesQuery, ListSnapshotsQuery, ListVolumesQuery,
    MigrationPlan, Operation as Op, PlanBlockMigrationRequest,
};
use fleet_jobs::{
    BlockMigrationJob, CreateImageJob, CreateSnapshotJob, CreateVolumeJob, ExportSnapshotJob,
    ExportSnapshotOutput, ResourceKind,
};
use fleet_scheduler::Outcome;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::create::{CreateData, adopted, create_and_wait, with_tag};
use super::error::{ErrorClass, ProgressUndecodable, StepError};
use super::locate::{Holder, snapshot_holder, volume_holder};
use super::observe::{Observed, WatchKey};
use super::sbs;
use super::{Judge, Run, Waited, now_rfc3339, parse_time};

/// `create_snapshot`: create (tagged with the job) from a volume or an import, wait for
/// `available`. A snapshot of an SBS volume is made by the Block API ([`sbs::create_snapshot`]),
/// any other by the Instance API.
///
/// * Effectively once: intent recorded before the create; a re-run without a recorded id
///   adopts the snapshot carrying the job's tag (in the API recorded with the intent).
/// * Fails early on `error` / `invalid_data` (the snapshot is then deleted) or a 404.
/// * Cancel: stops at the next step boundary; a snapshot already created is left.
pub(crate) async fn create_snapshot(
    run: &mut Run<'_>,
    job: &CreateSnapshotJob,
) -> Result<Outcome, StepError> {
    let holder = match recorded_holder(run)? {
        Some(holder) => holder,
        None => {
            let holder = match &job.request.volume_id {
                Some(id) => volume_holder(run, id).await?.unwrap_or(Holder::Instance),
                None => Holder::Instance,
            };
            record_holder(run, holder)?
        }
    };
    if holder == Holder::Block {
        return sbs::create_snapshot(run, job).await;
    }
    let expect = if job.request.volume_id.is_some() {
        "snapshotting"
    } else {
        "importing"
    };
    create_and_wait(
        run,
        ResourceKind::Snapshot,
        expect,
        async |run: &Run<'_>, tag: String| {
            let query = ListSnapshotsQuery {
                tags: Some(vec![tag]),
                ..Default::default()
            };
            let page = run
                .call(
                    Op::ListSnapshots,
                    run.client().list_snapshots(run.zone(), &query),
                )
                .await?;
            Ok(adopted(page.items, |s| s.id))
        },
        async |run: &Run<'_>, tag: String| {
            let mut request = job.request.clone();
            request.tags = with_tag(&request.tags, tag);
            let created = run
                .call(
                    Op::CreateSnapshot,
                    run.client().create_snapshot(run.zone(), &request),
                )
                .await?;
            Ok(created.snapshot.id)
        },
        async |run: &Run<'_>, id: String| {
            run.call(
                Op::DeleteSnapshot,
                run.client().delete_snapshot(run.zone(), &id),
            )
            .await
        },
    )
    .await
}

/// The API a create works in, as recorded the first time, so that every re-run creates and
/// adopts in the same one.
fn recorded_holder(run: &Run<'_>) -> Result<Option<Holder>, ProgressUndecodable> {
    Ok(run.data::<CreateData>()?.holder)
}

fn record_holder(run: &mut Run<'_>, holder: Holder) -> Result<Holder, ProgressUndecodable> {
    let mut data: CreateData = run.data()?;
    data.holder = Some(holder);
    run.set_data(&data);
    Ok(holder)
}

/// `create_image`: create (tagged with the job) and wait for `available`.
///
/// * Effectively once: as [`create_snapshot`], by the job's tag.
/// * Fails early on `error` (the image is then deleted; its snapshots are the caller's).
/// * Cancel: stops at the next step boundary; an image already created is left.
pub(crate) async fn create_image(
    run: &mut Run<'_>,
    job: &CreateImageJob,
) -> Result<Outcome, StepError> {
    create_and_wait(
        run,
        ResourceKind::Image,
        "creating",
        async |run: &Run<'_>, tag: String| {
            let query = ListImagesQuery {
                tags: Some(vec![tag]),
                public: Some(false),
                ..Default::default()
            };
            let page = run
                .call(Op::ListImages, run.client().list_images(run.zone(), &query))
                .await?;
            Ok(adopted(page.items, |i| i.id))
        },
        async |run: &Run<'_>, tag: String| {
            let mut request = job.request.clone();
            request.tags = with_tag(&request.tags, tag);
            let image = run
                .call(
                    Op::CreateImage,
                    run.client().create_image(run.zone(), &request),
                )
                .await?;
            Ok(image.id)
        },
        async |run: &Run<'_>, id: String| {
            run.call(Op::DeleteImage, run.client().delete_image(run.zone(), &id))
                .await
        },
    )
    .await
}

/// `create_volume`: create (tagged with the job), empty or from a snapshot, and wait for
/// `available`. Made by the Block API ([`sbs::create_volume`]) when the request asks for an
/// `sbs_volume`, sets `perf_iops` or restores a Block snapshot; else by the Instance API.
///
/// * Effectively once: as [`create_snapshot`], by the job's tag.
/// * Fails early on `error` (the volume is then deleted) or a 404.
/// * Cancel: stops at the next step boundary; a volume already created is left.
pub(crate) async fn create_volume(
    run: &mut Run<'_>,
    job: &CreateVolumeJob,
) -> Result<Outcome, StepError> {
    let holder = match recorded_holder(run)? {
        Some(holder) => holder,
        None => {
            let snapshot = match &job.request.base_snapshot {
                Some(id) if !sbs::asks_for_block(&job.request, job.perf_iops) => {
                    snapshot_holder(run, id).await?
                }
                _ => None,
            };
            match sbs::volume_api(&job.request, job.perf_iops, snapshot) {
                Ok(holder) => record_holder(run, holder)?,
                Err(reason) => {
                    return Ok(run.fail(
                        fleet_jobs::failure_kind::INVALID_ARGUMENT,
                        reason,
                        fleet_jobs::Failure::default(),
                    ));
                }
            }
        }
    };
    if holder == Holder::Block {
        return sbs::create_volume(run, job).await;
    }
    create_and_wait(
        run,
        ResourceKind::Volume,
        "fetching",
        async |run: &Run<'_>, tag: String| {
            let query = ListVolumesQuery {
                tags: Some(vec![tag]),
                ..Default::default()
            };
            let page = run
                .call(
                    Op::ListVolumes,
                    run.client().list_volumes(run.zone(), &query),
                )
                .await?;
            Ok(adopted(page.items, |v| v.id))
        },
        async |run: &Run<'_>, tag: String| {
            let mut request = job.request.clone();
            request.tags = with_tag(&request.tags, tag);
            let volume = run
                .call(
                    Op::CreateVolume,
                    run.client().create_volume(run.zone(), &request),
                )
                .await?;
            Ok(volume.id)
        },
        async |run: &Run<'_>, id: String| {
            run.call(
                Op::DeleteVolume,
                run.client().delete_volume(run.zone(), &id),
            )
            .await
        },
    )
    .await
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct ExportData {
    /// The API holding the snapshot, found at the first run.
    holder: Option<Holder>,
    issued_at: Option<String>,
    confirmed: bool,
    task: Option<Value>,
}

/// The end of an export: the snapshot is back to `available` (or `in_use`, a Block snapshot
/// an image references); `error`, `invalid_data`, `locked` and `deleted` end it for good.
fn judge_exported(o: &Observed) -> Judge {
    match o.state().0.as_str() {
        "available" | "in_use" => Judge::Done,
        "error" | "invalid_data" | "locked" | "deleted" => Judge::Unreachable,
        _ => Judge::Wait,
    }
}

/// `export_snapshot`: export to the bucket/key and wait until the snapshot leaves
/// `exporting`. A Block snapshot is exported by the Block API (no task: its answer is the
/// snapshot), any other by the Instance API.
///
/// * Effectively once: intent recorded before the call; a re-run that finds the snapshot
///   `exporting` waits, otherwise exports again (an export writes the same object, so a
///   repeat is harmless).
/// * Fails early on `error` / `invalid_data` / `locked` or a 404.
/// * Cancel: stops waiting; the export goes on upstream.
pub(crate) async fn export_snapshot(
    run: &mut Run<'_>,
    job: &ExportSnapshotJob,
) -> Result<Outcome, StepError> {
    let mut data: ExportData = run.data()?;
    let holder = match data.holder {
        Some(holder) => holder,
        None => match snapshot_holder(run, &job.snapshot_id).await? {
            Some(holder) => holder,
            None => return Ok(run.wait_failed(&Waited::Gone, "exported", Vec::new())),
        },
    };
    data.holder = Some(holder);
    let kind = holder.snapshot_kind();
    run.set_resource(kind, &job.snapshot_id);
    let key = WatchKey::new(kind, &job.snapshot_id);
    if !data.confirmed {
        let mut send = true;
        if data.issued_at.is_some() {
            let observed = run.observe(&key, OffsetDateTime::UNIX_EPOCH).await?;
            if observed.is_gone() {
                return Ok(run.wait_failed(&Waited::Gone, "exported", Vec::new()));
            }
            send = observed.state().0 != "exporting";
        }
        if send {
            data.issued_at = Some(now_rfc3339());
            run.set_data(&data);
            run.save("export_requested").await?;
            data.task = send_export(run, job, holder).await?;
        }
        data.confirmed = true;
        run.set_data(&data);
        run.step = "exporting".into();
        let since = data
            .issued_at
            .as_deref()
            .and_then(parse_time)
            .unwrap_or_else(OffsetDateTime::now_utc);
        return Ok(run.park(&key, since, Some("exporting")));
    }
    let since = data
        .issued_at
        .as_deref()
        .and_then(parse_time)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let waited = run
        .wait(&key, since, Some("exporting"), judge_exported)
        .await?;
    Ok(match waited {
        Waited::Done(observed) => {
            let task: Option<fleet_core::Task> = data
                .task
                .clone()
                .and_then(|t| serde_json::from_value(t).ok());
            let object_url = task
                .as_ref()
                .map(|t| t.href_result.clone())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| {
                    format!(
                        "s3://{}/{}",
                        job.request.bucket.clone().unwrap_or_default(),
                        job.request.key.clone().unwrap_or_default()
                    )
                });
            let output = ExportSnapshotOutput {
                snapshot: serde_json::from_value(observed.to_json()).ok(),
                object_url,
                task,
            };
            Outcome::Complete(serde_json::to_value(output).unwrap_or(Value::Null))
        }
        Waited::Pending(outcome) => outcome,
        other => run.wait_failed(&other, "exported", Vec::new()),
    })
}

/// The export call of the API holding the snapshot; the Instance task, if any. The Block
/// answer is the snapshot, already `exporting`: its state starts the history.
async fn send_export(
    run: &mut Run<'_>,
    job: &ExportSnapshotJob,
    holder: Holder,
) -> Result<Option<Value>, StepError> {
    Ok(match holder {
        Holder::Instance => {
            let task = run
                .call(
                    Op::ExportSnapshot,
                    run.client()
                        .export_snapshot(run.zone(), &job.snapshot_id, &job.request),
                )
                .await?;
            serde_json::to_value(task).ok()
        }
        Holder::Block => {
            let request = unified::export_snapshot_request(&job.request);
            let snapshot = run
                .call(
                    Op::BlockExportSnapshotToObjectStorage,
                    run.client().block_export_snapshot_to_object_storage(
                        run.zone(),
                        &job.snapshot_id,
                        &request,
                    ),
                )
                .await?;
            run.detail
                .observe(snapshot.status.as_str(), "", now_rfc3339());
            None
        }
    })
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct MigrationData {
    plan: Option<MigrationPlan>,
    applied_at: Option<String>,
    confirmed: bool,
    /// The Instance API no longer holds the resource as it did.
    moved: bool,
}

/// `apply_block_migration`: plan (unless the caller gave a validation key), apply, wait until
/// the Instance API no longer holds the volume or snapshot as before (its type is `sbs_*`, or
/// it is gone from Instance), then until it answers in the Block API.
///
/// * Effectively once: the plan is recorded; the apply's intent is recorded before the call
///   and a re-run that finds the resource migrated does not apply again.
/// * Cancel: before the apply nothing changes upstream; after it the migration goes on.
pub(crate) async fn block_migration(
    run: &mut Run<'_>,
    job: &BlockMigrationJob,
) -> Result<Outcome, StepError> {
    let zone = run.zone();
    let mut data: MigrationData = run.data()?;
    let key = match (&job.volume_id, &job.snapshot_id) {
        (Some(id), _) => WatchKey::new(ResourceKind::Volume, id),
        (None, Some(id)) => WatchKey::new(ResourceKind::Snapshot, id),
        (None, None) => {
            return Ok(run.fail(
                fleet_jobs::failure_kind::INVALID_ARGUMENT,
                "block migration needs volume_id or snapshot_id".into(),
                fleet_jobs::Failure::default(),
            ));
        }
    };
    run.set_resource(key.kind, &key.id);
    let migrated = |o: &Observed| match o {
        Observed::Gone => true,
        Observed::Volume(v) => v.volume_type.as_str() == "sbs_volume",
        Observed::Snapshot(s) => s.volume_type.as_str().starts_with("sbs"),
        _ => false,
    };
    if data.plan.is_none() {
        let plan = match &job.validation_key {
            Some(key) => MigrationPlan {
                validation_key: key.clone(),
                ..MigrationPlan::default()
            },
            None => {
                let request = PlanBlockMigrationRequest {
                    volume_id: job.volume_id.clone(),
                    snapshot_id: if job.volume_id.is_some() {
                        None
                    } else {
                        job.snapshot_id.clone()
                    },
                    ..Default::default()
                };
                match run
                    .call(
                        Op::PlanBlockMigration,
                        run.client().plan_block_migration(zone, &request),
                    )
                    .await
                {
                    Ok(plan) => plan,
                    Err(err) if err.class() == ErrorClass::Permanent => {
                        return Ok(run.upstream_failed(Op::PlanBlockMigration, &err));
                    }
                    Err(err) => return Err(err),
                }
            }
        };
        data.plan = Some(plan);
        run.set_data(&data);
        run.save("planned").await?;
        if run.cancel_requested {
            return Ok(Outcome::Cancelled);
        }
    }
    if !data.confirmed {
        let mut send = true;
        if data.applied_at.is_some() {
            let observed = run.observe(&key, OffsetDateTime::UNIX_EPOCH).await?;
            send = !migrated(&observed);
        }
        if send {
            data.applied_at = Some(now_rfc3339());
            run.set_data(&data);
            run.save("apply_requested").await?;
            let request = ApplyBlockMigrationRequest {
                volume_id: job.volume_id.clone(),
                snapshot_id: if job.volume_id.is_some() {
                    None
                } else {
                    job.snapshot_id.clone()
                },
                validation_key: data.plan.as_ref().map(|p| p.validation_key.clone()),
                ..Default::default()
            };
            match run
                .call(
                    Op::ApplyBlockMigration,
                    run.client().apply_block_migration(zone, &request),
                )
                .await
            {
                Ok(()) => {}
                Err(err) if err.class() == ErrorClass::Permanent => {
                    return Ok(run.upstream_failed(Op::ApplyBlockMigration, &err));
                }
                Err(err) => return Err(err),
            }
        }
        data.confirmed = true;
        run.set_data(&data);
        run.save("applied").await?;
    }
    let since = data
        .applied_at
        .as_deref()
        .and_then(parse_time)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    if !data.moved {
        let waited = run
            .wait(&key, since, None, |o| {
                if migrated(o) {
                    Judge::Done
                } else if o.state().0 == "error" {
                    Judge::Unreachable
                } else {
                    Judge::Wait
                }
            })
            .await?;
        match waited {
            Waited::Done(_) => {
                data.moved = true;
                run.set_data(&data);
                run.save("moved").await?;
            }
            Waited::Pending(outcome) => return Ok(outcome),
            other => return Ok(run.wait_failed(&other, "migrated", Vec::new())),
        }
    }
    // Followed to the end: the resource now answers in the Block API.
    let block_key = WatchKey::new(
        match key.kind {
            ResourceKind::Volume => ResourceKind::BlockVolume,
            _ => ResourceKind::BlockSnapshot,
        },
        &key.id,
    );
    let observed = run.observe(&block_key, since).await?;
    if !observed.is_gone() {
        run.set_resource(block_key.kind, &block_key.id);
        return Ok(Outcome::Complete(
            serde_json::to_value(&data.plan).unwrap_or(Value::Null),
        ));
    }
    if run.past_deadline() {
        return Ok(run.deadline_exceeded(Some(&observed), Some("in the Block API")));
    }
    Ok(run.park(&block_key, since, Some("gone")))
}
