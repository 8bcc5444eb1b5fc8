//! The Block Storage (SBS) steps of the storage handlers: snapshot, volume and import creates
//! in the Block API (tagged with the job, adopted by that tag on a re-run, like the Instance
//! creates), and the resize / IOPS change that waits out `updating`.

use fleet_core::block::{self, unified};
use fleet_core::{CreateVolumeRequest, Operation as Op, VolumeVolumeType};
use fleet_jobs::{
    CreateSnapshotJob, CreateVolumeJob, ImportBlockSnapshotJob, ResourceKind, UpdateBlockVolumeJob,
};
use fleet_scheduler::Outcome;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::create::{adopted, create_and_wait, with_block_tag};
use super::error::{ErrorClass, StepError};
use super::locate::Holder;
use super::observe::{Observed, WatchKey};
use super::{Judge, Run, Waited, now_rfc3339, parse_time};

/// Lists the Block snapshots carrying `tag` and adopts one.
async fn find_snapshot(run: &Run<'_>, tag: String) -> Result<Option<String>, StepError> {
    let query = block::ListSnapshotsQuery {
        tags: Some(vec![tag]),
        ..Default::default()
    };
    let page = run
        .call(
            Op::BlockListSnapshots,
            run.client().block_list_snapshots(run.zone(), &query),
        )
        .await?;
    Ok(adopted(page.items, |s| s.id))
}

async fn delete_snapshot(run: &Run<'_>, id: String) -> Result<(), StepError> {
    run.call(
        Op::BlockDeleteSnapshot,
        run.client().block_delete_snapshot(run.zone(), &id),
    )
    .await
}

/// A snapshot of an SBS volume (see `resources::create_snapshot`).
pub(crate) async fn create_snapshot(
    run: &mut Run<'_>,
    job: &CreateSnapshotJob,
) -> Result<Outcome, StepError> {
    create_and_wait(
        run,
        ResourceKind::BlockSnapshot,
        "creating",
        find_snapshot,
        async |run: &Run<'_>, tag: String| {
            let mut request = unified::create_snapshot_request(&job.request);
            request.tags = with_block_tag(&request.tags, tag);
            let snapshot = run
                .call(
                    Op::BlockCreateSnapshot,
                    run.client().block_create_snapshot(run.zone(), &request),
                )
                .await?;
            Ok(snapshot.id)
        },
        delete_snapshot,
    )
    .await
}

/// `block_import_snapshot`: a Block snapshot imported from a QCOW2 object (tagged with the
/// job), waiting for `available`.
///
/// * Effectively once: intent recorded before the import; a re-run without a recorded id
///   adopts the snapshot carrying the job's tag.
/// * Fails early on `error` / `locked` (the snapshot is then deleted) or a 404.
/// * Cancel: stops at the next step boundary; a snapshot already created is left.
pub(crate) async fn import_snapshot(
    run: &mut Run<'_>,
    job: &ImportBlockSnapshotJob,
) -> Result<Outcome, StepError> {
    create_and_wait(
        run,
        ResourceKind::BlockSnapshot,
        "creating",
        find_snapshot,
        async |run: &Run<'_>, tag: String| {
            let mut request = job.request.clone();
            request.tags = with_block_tag(&request.tags, tag);
            let snapshot = run
                .call(
                    Op::BlockImportSnapshotFromObjectStorage,
                    run.client()
                        .block_import_snapshot_from_object_storage(run.zone(), &request),
                )
                .await?;
            Ok(snapshot.id)
        },
        delete_snapshot,
    )
    .await
}

/// Whether a volume create asks for the Block API by itself (an `sbs_volume`, or IOPS).
pub(crate) fn asks_for_block(request: &CreateVolumeRequest, perf_iops: Option<u32>) -> bool {
    request.volume_type == Some(VolumeVolumeType::SbsVolume) || perf_iops.is_some()
}

/// The API a volume create goes to, `snapshot` being the API holding its base snapshot when
/// known: Block when the request asks for it or restores a Block snapshot. A request that asks
/// for another volume type with Block-only inputs is refused (the reason).
pub(crate) fn volume_api(
    request: &CreateVolumeRequest,
    perf_iops: Option<u32>,
    snapshot: Option<Holder>,
) -> Result<Holder, String> {
    let other_type = request
        .volume_type
        .as_ref()
        .filter(|t| **t != VolumeVolumeType::SbsVolume);
    if let Some(volume_type) = other_type {
        if perf_iops.is_some() {
            return Err(format!(
                "perf_iops is set for a {} volume: only sbs_volume volumes have it",
                volume_type.as_str()
            ));
        }
        if snapshot == Some(Holder::Block) {
            return Err(format!(
                "base_snapshot is a Block snapshot, which restores to an sbs_volume, not a {} volume",
                volume_type.as_str()
            ));
        }
    }
    if asks_for_block(request, perf_iops) || snapshot == Some(Holder::Block) {
        Ok(Holder::Block)
    } else {
        Ok(Holder::Instance)
    }
}

/// A Block volume, empty or restored from a Block snapshot (see `resources::create_volume`).
pub(crate) async fn create_volume(
    run: &mut Run<'_>,
    job: &CreateVolumeJob,
) -> Result<Outcome, StepError> {
    create_and_wait(
        run,
        ResourceKind::BlockVolume,
        "creating",
        async |run: &Run<'_>, tag: String| {
            let query = block::ListVolumesQuery {
                tags: Some(vec![tag]),
                ..Default::default()
            };
            let page = run
                .call(
                    Op::BlockListVolumes,
                    run.client().block_list_volumes(run.zone(), &query),
                )
                .await?;
            Ok(adopted(page.items, |v| v.id))
        },
        async |run: &Run<'_>, tag: String| {
            let mut request = unified::create_volume_request(&job.request, job.perf_iops);
            request.tags = with_block_tag(&request.tags, tag);
            let volume = run
                .call(
                    Op::BlockCreateVolume,
                    run.client().block_create_volume(run.zone(), &request),
                )
                .await?;
            Ok(volume.id)
        },
        async |run: &Run<'_>, id: String| {
            run.call(
                Op::BlockDeleteVolume,
                run.client().block_delete_volume(run.zone(), &id),
            )
            .await
        },
    )
    .await
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct UpdateData {
    /// When the PATCH was (about to be) sent: the intent.
    issued_at: Option<String>,
    /// The API accepted it.
    confirmed: bool,
}

fn issued_at(data: &UpdateData) -> OffsetDateTime {
    data.issued_at
        .as_deref()
        .and_then(parse_time)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Whether `volume` shows what `request` changes through `updating` (size and IOPS; name and
/// tags apply at once).
fn applied(request: &block::UpdateVolumeRequest, volume: &block::Volume) -> bool {
    request.size.is_none_or(|size| volume.size >= size)
        && request
            .perf_iops
            .is_none_or(|iops| volume.specs.perf_iops == Some(iops))
}

fn judge_updated(request: &block::UpdateVolumeRequest, o: &Observed) -> Judge {
    let Some(volume) = o.block_volume() else {
        return Judge::Wait;
    };
    match volume.status {
        block::VolumeStatus::Error | block::VolumeStatus::Locked | block::VolumeStatus::Deleted => {
            Judge::Unreachable
        }
        _ if volume.status.is_transient() => Judge::Wait,
        // Settled without the new values: counted as final once `updating` was seen (or
        // after the grace), as the API may show the old state for a moment.
        _ if !applied(request, volume) => Judge::Unreachable,
        _ => Judge::Done,
    }
}

/// `block_update_volume`: PATCH a Block volume (grow, IOPS change, name, tags) and wait until
/// it is settled (`available` or `in_use`) with the new size and IOPS.
///
/// * Effectively once: intent recorded before the PATCH; a re-run reads the volume and sends
///   again only if it is neither `updating` nor showing the new values (the PATCH sets
///   absolute values, so a repeat would change nothing).
/// * Fails early on `error` / `locked`, a volume that settles with its old values, or a 404.
/// * Nothing to compensate: a grown volume cannot shrink. Cancel: stops waiting.
pub(crate) async fn update_volume(
    run: &mut Run<'_>,
    job: &UpdateBlockVolumeJob,
) -> Result<Outcome, StepError> {
    let mut data: UpdateData = run.data()?;
    run.set_resource(ResourceKind::BlockVolume, &job.volume_id);
    let key = WatchKey::new(ResourceKind::BlockVolume, &job.volume_id);
    if !data.confirmed {
        let mut send = true;
        if data.issued_at.is_some() {
            let observed = run.observe(&key, OffsetDateTime::UNIX_EPOCH).await?;
            let Some(volume) = observed.block_volume() else {
                return Ok(run.wait_failed(&Waited::Gone, "updated", Vec::new()));
            };
            send =
                !(volume.status == block::VolumeStatus::Updating || applied(&job.request, volume));
        }
        if send {
            data.issued_at = Some(now_rfc3339());
            run.set_data(&data);
            run.save("update_requested").await?;
            let sent = run
                .call(
                    Op::BlockUpdateVolume,
                    run.client()
                        .block_update_volume(run.zone(), &job.volume_id, &job.request),
                )
                .await;
            match sent {
                // As recorded, the answer already says `updating` (with the old values).
                Ok(volume) => {
                    run.detail
                        .observe(volume.status.as_str(), "", now_rfc3339());
                }
                Err(err) if err.class() == ErrorClass::Permanent => {
                    return Ok(run.upstream_failed(Op::BlockUpdateVolume, &err));
                }
                Err(err) => return Err(err),
            }
        }
        data.confirmed = true;
        run.set_data(&data);
        run.step = "updating".into();
        return Ok(run.park(&key, issued_at(&data), Some("updating")));
    }
    let since = issued_at(&data);
    let waited = run
        .wait(&key, since, Some("updating"), |o| {
            judge_updated(&job.request, o)
        })
        .await?;
    Ok(match waited {
        Waited::Done(observed) => Outcome::Complete(observed.to_json()),
        Waited::Pending(outcome) => outcome,
        other => run.wait_failed(&other, "updated", Vec::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(volume_type: Option<VolumeVolumeType>) -> CreateVolumeRequest {
        CreateVolumeRequest {
            volume_type,
            size: Some(20_000_000_000),
            ..Default::default()
        }
    }

    #[test]
    fn volumes_go_to_block_when_asked_or_restored_from_block() {
        let sbs = request(Some(VolumeVolumeType::SbsVolume));
        let local = request(Some(VolumeVolumeType::LSsd));
        assert_eq!(volume_api(&sbs, None, None), Ok(Holder::Block));
        assert_eq!(
            volume_api(&request(None), Some(15000), None),
            Ok(Holder::Block)
        );
        assert_eq!(
            volume_api(&request(None), None, Some(Holder::Block)),
            Ok(Holder::Block)
        );
        assert_eq!(volume_api(&local, None, None), Ok(Holder::Instance));
        assert_eq!(
            volume_api(&request(None), None, Some(Holder::Instance)),
            Ok(Holder::Instance)
        );
        let iops = volume_api(&local, Some(5000), None).unwrap_err();
        assert!(iops.contains("perf_iops"), "{iops}");
        let restore = volume_api(&local, None, Some(Holder::Block)).unwrap_err();
        assert!(restore.contains("base_snapshot"), "{restore}");
    }

    fn volume(status: &str, size: u64, iops: u32) -> Observed {
        Observed::BlockVolume(Box::new(
            serde_json::from_value(serde_json::json!({
                "id": "v", "status": status, "size": size,
                "specs": {"perf_iops": iops, "class": "sbs"}
            }))
            .unwrap(),
        ))
    }

    #[test]
    fn an_update_is_done_once_settled_with_the_new_values() {
        let grow = block::UpdateVolumeRequest {
            size: Some(30),
            perf_iops: Some(15000),
            ..Default::default()
        };
        // As recorded: the PATCH answer and the first reads show `updating` and the old values.
        assert_eq!(
            judge_updated(&grow, &volume("updating", 20, 5000)),
            Judge::Wait
        );
        assert_eq!(
            judge_updated(&grow, &volume("available", 30, 15000)),
            Judge::Done
        );
        assert_eq!(
            judge_updated(&grow, &volume("in_use", 30, 15000)),
            Judge::Done
        );
        assert_eq!(
            judge_updated(&grow, &volume("available", 20, 5000)),
            Judge::Unreachable
        );
        assert_eq!(
            judge_updated(&grow, &volume("error", 20, 5000)),
            Judge::Unreachable
        );
        assert_eq!(judge_updated(&grow, &Observed::Gone), Judge::Wait);
    }
}
