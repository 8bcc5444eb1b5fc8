//! Storage handlers: snapshot create and export, image create, volume create, block
//! migration.

use fleet_core::{
    ApplyBlockMigrationRequest, ListImagesQuery, ListSnapshotsQuery, ListVolumesQuery,
    MigrationPlan, Operation as Op, PlanBlockMigrationRequest,
};
use fleet_jobs::{
    BlockMigrationJob, CreateImageJob, CreateSnapshotJob, CreateVolumeJob, ExportSnapshotJob,
    ExportSnapshotOutput, ResourceKind, job_tag,
};
use fleet_scheduler::Outcome;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::error::{ErrorClass, StepError};
use super::observe::{Observed, WatchKey};
use super::{Judge, Run, Waited, now_rfc3339, parse_time};

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct CreateData {
    intent: bool,
    id: Option<String>,
    created_at: Option<String>,
}

/// `available` is the target of every storage create; these states end it for good.
fn judge_available(o: &Observed) -> Judge {
    let (state, _) = o.state();
    match state.as_str() {
        "available" => Judge::Done,
        "error" | "invalid_data" => Judge::Unreachable,
        "gone" => Judge::Wait,
        _ => Judge::Wait,
    }
}

/// Create a tagged resource once, then wait for `available`. `find` lists by the job's tag
/// (called only when an intent exists without an id), `create` sends the create with the
/// tag, `remove` is the compensation of a resource that ends in error.
async fn create_and_wait(
    run: &mut Run<'_>,
    kind: ResourceKind,
    expect: &str,
    find: impl AsyncFnOnce(&Run<'_>, String) -> Result<Option<String>, StepError>,
    create: impl AsyncFnOnce(&Run<'_>, String) -> Result<String, StepError>,
    remove: impl AsyncFnOnce(&Run<'_>, String) -> Result<(), StepError>,
) -> Result<Outcome, StepError> {
    let mut data: CreateData = run.data();
    let tag = job_tag(run.job_id());
    let operation = run.job.job.kind.clone();
    if data.id.is_none() {
        if data.intent {
            data.id = find(run, tag.clone()).await?;
            if let Some(id) = &data.id {
                tracing::info!(zone = %run.zone(), job_id = run.job_id(), %operation, id,
                    "adopting the resource an earlier attempt created");
            }
        }
        if data.id.is_none() {
            data.intent = true;
            data.created_at = Some(now_rfc3339());
            run.set_data(&data);
            run.save("create_requested").await?;
            match create(run, tag).await {
                Ok(id) => data.id = Some(id),
                Err(err) if err.class() == ErrorClass::Permanent => {
                    return Ok(run.upstream_failed(&operation, &err));
                }
                Err(err) => return Err(err),
            }
        }
        run.set_resource(kind, data.id.as_deref().unwrap_or_default());
        run.set_data(&data);
        run.save("created").await?;
        if run.cancel_requested {
            return Ok(Outcome::Cancelled);
        }
    }
    let id = data.id.clone().unwrap_or_default();
    let key = WatchKey::new(kind, &id);
    let since = data
        .created_at
        .as_deref()
        .and_then(parse_time)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let waited = run.wait(&key, since, Some(expect), judge_available).await?;
    Ok(match waited {
        Waited::Done(observed) => Outcome::Complete(observed.to_json()),
        Waited::Pending(outcome) => outcome,
        Waited::Unreachable(observed) => {
            let what = kind.as_str();
            let note = match remove(run, id.clone()).await {
                Ok(()) => format!("deleted {what} {id}"),
                Err(err) => format!("left {what} {id}: {err}"),
            };
            run.wait_failed(&Waited::Unreachable(observed), "available", vec![note])
        }
        other => run.wait_failed(&other, "available", Vec::new()),
    })
}

fn with_tag(tags: &Option<Vec<String>>, tag: String) -> Option<Vec<String>> {
    let mut tags = tags.clone().unwrap_or_default();
    if !tags.contains(&tag) {
        tags.push(tag);
    }
    Some(tags)
}

/// `create_snapshot`: create (tagged with the job) from a volume or an import, wait for
/// `available`.
///
/// * Effectively once: intent recorded before the create; a re-run without a recorded id
///   adopts the snapshot carrying the job's tag.
/// * Fails early on `error` / `invalid_data` (the snapshot is then deleted) or a 404.
/// * Cancel: stops at the next step boundary; a snapshot already created is left.
pub(crate) async fn create_snapshot(
    run: &mut Run<'_>,
    job: &CreateSnapshotJob,
) -> Result<Outcome, StepError> {
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
            Ok(page.items.into_iter().map(|s| s.id).min())
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
            Ok(page.items.into_iter().map(|i| i.id).min())
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
/// `available`.
///
/// * Effectively once: as [`create_snapshot`], by the job's tag.
/// * Fails early on `error` (the volume is then deleted) or a 404.
/// * Cancel: stops at the next step boundary; a volume already created is left.
pub(crate) async fn create_volume(
    run: &mut Run<'_>,
    job: &CreateVolumeJob,
) -> Result<Outcome, StepError> {
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
            Ok(page.items.into_iter().map(|v| v.id).min())
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
    issued_at: Option<String>,
    confirmed: bool,
    task: Option<Value>,
}

/// `export_snapshot`: export to the bucket/key and wait until the snapshot leaves
/// `exporting`.
///
/// * Effectively once: intent recorded before the call; a re-run that finds the snapshot
///   `exporting` waits, otherwise exports again (an export writes the same object, so a
///   repeat is harmless).
/// * Fails early on `error` / `invalid_data` or a 404.
/// * Cancel: stops waiting; the export goes on upstream.
pub(crate) async fn export_snapshot(
    run: &mut Run<'_>,
    job: &ExportSnapshotJob,
) -> Result<Outcome, StepError> {
    let zone = run.zone();
    let mut data: ExportData = run.data();
    run.set_resource(ResourceKind::Snapshot, &job.snapshot_id);
    let key = WatchKey::new(ResourceKind::Snapshot, &job.snapshot_id);
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
            let task = run
                .call(
                    Op::ExportSnapshot,
                    run.client()
                        .export_snapshot(zone, &job.snapshot_id, &job.request),
                )
                .await?;
            data.task = serde_json::to_value(task).ok();
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
        .wait(&key, since, Some("exporting"), judge_available)
        .await?;
    Ok(match waited {
        Waited::Done(Observed::Snapshot(snapshot)) => {
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
                snapshot: Some(*snapshot),
                object_url,
                task,
            };
            Outcome::Complete(serde_json::to_value(output).unwrap_or(Value::Null))
        }
        Waited::Pending(outcome) => outcome,
        other => run.wait_failed(&other, "exported", Vec::new()),
    })
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct MigrationData {
    plan: Option<MigrationPlan>,
    applied_at: Option<String>,
    confirmed: bool,
}

/// `apply_block_migration`: plan (unless the caller gave a validation key), apply, and wait
/// until the volume or snapshot is migrated (its type is `sbs_*`, or the Instance API no
/// longer shows it because it moved to the Block API).
///
/// * Effectively once: the plan is recorded; the apply's intent is recorded before the call
///   and a re-run that finds the resource migrated does not apply again.
/// * Cancel: before the apply nothing changes upstream; after it the migration goes on.
pub(crate) async fn block_migration(
    run: &mut Run<'_>,
    job: &BlockMigrationJob,
) -> Result<Outcome, StepError> {
    let zone = run.zone();
    let mut data: MigrationData = run.data();
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
    Ok(match waited {
        Waited::Done(_) => {
            Outcome::Complete(serde_json::to_value(&data.plan).unwrap_or(Value::Null))
        }
        Waited::Pending(outcome) => outcome,
        other => run.wait_failed(&other, "migrated", Vec::new()),
    })
}
