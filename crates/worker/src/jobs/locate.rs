//! Which Scaleway API holds a volume or a snapshot named by id: callers do not say, so the
//! handlers ask the Instance API first and the Block API when Instance says the id is not one
//! of its volumes or snapshots (`fleet_core::block::unified::missing_from_instance`), as
//! Scaleway's own clients do.

use fleet_core::block::unified;
use fleet_core::{Operation, Zone};
use fleet_jobs::ResourceKind;
use serde::{Deserialize, Serialize};

use super::Run;
use super::error::StepError;

/// The API holding a volume or snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Holder {
    Instance,
    Block,
}

impl Holder {
    pub(crate) fn snapshot_kind(self) -> ResourceKind {
        match self {
            Holder::Instance => ResourceKind::Snapshot,
            Holder::Block => ResourceKind::BlockSnapshot,
        }
    }
}

/// The API holding volume `id`; `None` when neither does.
pub(crate) async fn volume_holder(run: &Run<'_>, id: &str) -> Result<Option<Holder>, StepError> {
    let zone: Zone = run.zone();
    let instance = run
        .call(Operation::GetVolume, run.client().get_volume(zone, id))
        .await
        .map(drop);
    let block = async || {
        run.call(
            Operation::BlockGetVolume,
            run.client().block_get_volume(run.zone(), id),
        )
        .await
        .map(drop)
    };
    holder(instance, block).await
}

/// The API holding snapshot `id`; `None` when neither does.
pub(crate) async fn snapshot_holder(run: &Run<'_>, id: &str) -> Result<Option<Holder>, StepError> {
    let zone: Zone = run.zone();
    let instance = run
        .call(Operation::GetSnapshot, run.client().get_snapshot(zone, id))
        .await
        .map(drop);
    let block = async || {
        run.call(
            Operation::BlockGetSnapshot,
            run.client().block_get_snapshot(run.zone(), id),
        )
        .await
        .map(drop)
    };
    holder(instance, block).await
}

/// Instance's answer decides unless it is a 404 pointing to Block; then Block's does.
async fn holder(
    instance: Result<(), StepError>,
    block: impl AsyncFnOnce() -> Result<(), StepError>,
) -> Result<Option<Holder>, StepError> {
    let err = match instance {
        Ok(()) => return Ok(Some(Holder::Instance)),
        Err(err) => err,
    };
    let points_to_block = err
        .upstream()
        .and_then(fleet_scaleway::Error::api_error)
        .and_then(unified::missing_from_instance)
        .is_some();
    if !points_to_block {
        return if err.is_not_found() {
            Ok(None)
        } else {
            Err(err)
        };
    }
    match block().await {
        Ok(()) => Ok(Some(Holder::Block)),
        Err(err) if err.is_not_found() => Ok(None),
        Err(err) => Err(err),
    }
}
