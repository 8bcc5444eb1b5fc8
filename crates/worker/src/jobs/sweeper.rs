//! The orphan sweeper: resources that carry a job's tag (`fleet-job={id}`) although the job
//! ended without them — failed or cancelled, or completed with another resource as its result
//! — are reported (`report`: a warning and [`ORPHANS`]) or removed (`delete`).
//!
//! Every kind a job tags is swept: servers, Instance volumes, snapshots and images, Block
//! volumes and snapshots. Private NICs are tagged too but listed per server; a NIC's server is
//! swept, and deleting the server deletes its NICs, so they are not listed on their own.
//!
//! It catches what a job's own compensation ([`super::undo`]) could not: a worker that died
//! mid-undo, a job the scheduler cancelled or failed without its handler (a rescue), an undo
//! that gave up. A resource whose job is still unfinished, or whose job row is gone (pruned
//! after the retention), is never touched: only a recorded terminal state condemns it.
//! Scaleway's `tags` filter matches whole tags, so the sweep lists the zone's resources page
//! by page and reads the tags itself; its calls go through the zone's rate-limited client.

use std::collections::BTreeMap;

use fleet_core::{
    ListImagesQuery, ListServersQuery, ListSnapshotsQuery, ListVolumesQuery, Operation, Server,
    ServerAction, ServerActionRequest, Zone, block,
};
use fleet_jobs::{ResourceKind, parse_job_tag};
use fleet_scheduler::{JobState, SchedulerError};
use futures::TryStreamExt as _;
use opentelemetry::KeyValue;

use super::ZoneJobs;
use tokio_util::sync::CancellationToken;

use super::error::{ErrorClass, StepError};

/// Orphans found by the sweeper, by `zone`, `kind` and `action` (`reported`, `deleted`,
/// `terminated`, `waiting`, `failed`).
pub const ORPHANS: &str = "fleet.worker.orphans";

/// Servers per listed page.
const PAGE: u32 = 100;

/// The kinds a sweep lists, in the order it removes them (servers first: deleting a server
/// may free the volumes attached to it for the next sweep).
const SWEPT: [ResourceKind; 6] = [
    ResourceKind::Server,
    ResourceKind::Image,
    ResourceKind::Snapshot,
    ResourceKind::BlockSnapshot,
    ResourceKind::Volume,
    ResourceKind::BlockVolume,
];

/// What the sweeper does with an orphan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SweepMode {
    /// Log and count it; an operator deletes it.
    #[default]
    Report,
    /// Delete it: a stopped server is deleted, a running one terminated; a resource in a
    /// transient state, or a volume still attached, waits for the next sweep.
    Delete,
}

/// One orphan and what the sweep did with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// `zones/{zone}/{collection}/{id}`.
    pub resource: String,
    /// Its kind (a Block volume or snapshot as such).
    pub kind: ResourceKind,
    /// The job whose tag it carries.
    pub job_id: i64,
    /// The job's state.
    pub job_state: JobState,
    /// What the sweep did.
    pub action: SweepAction,
}

/// What the sweep did with an orphan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepAction {
    /// Logged and counted (mode `report`).
    Reported,
    /// Deleted (a server: a stopped one).
    Deleted,
    /// A running or `stopped in place` server, terminated.
    Terminated,
    /// In a transient state, or a volume still attached: left for the next sweep.
    Waiting,
    /// The delete or terminate failed (the error, without secrets: the client's message).
    Failed(String),
}

impl SweepAction {
    /// The metric attribute.
    pub fn as_str(&self) -> &'static str {
        match self {
            SweepAction::Reported => "reported",
            SweepAction::Deleted => "deleted",
            SweepAction::Terminated => "terminated",
            SweepAction::Waiting => "waiting",
            SweepAction::Failed(_) => "failed",
        }
    }
}

/// How a listed resource would be removed, decided from what its listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Removal {
    /// A stopped server: delete it.
    DeleteServer,
    /// A running (or stopped in place) server: terminate it (which deletes its volumes).
    TerminateServer,
    /// Delete it with its kind's delete call.
    Delete,
    /// Transient, or a volume still attached: not now.
    Wait,
}

/// A tagged resource as a sweep lists it.
#[derive(Debug, Clone)]
struct Tagged {
    kind: ResourceKind,
    id: String,
    removal: Removal,
}

/// The job id of a resource's `fleet-job=` tag, if it has one that parses.
fn tagged_job(tags: &[String]) -> Option<i64> {
    tags.iter().find_map(|t| parse_job_tag(t))
}

fn server_removal(server: &Server) -> Removal {
    match server.state.as_str() {
        "stopped" => Removal::DeleteServer,
        "running" | "stopped in place" => Removal::TerminateServer,
        _ => Removal::Wait,
    }
}

fn removal_if(deletable: bool) -> Removal {
    if deletable {
        Removal::Delete
    } else {
        Removal::Wait
    }
}

impl ZoneJobs {
    /// One sweep of the zone's tagged resources; returns the orphans found.
    pub async fn sweep_orphans(&self, mode: SweepMode) -> Result<Vec<Orphan>, StepError> {
        let zone = self.inner.ctx.zone;
        let mut tagged: BTreeMap<i64, Vec<Tagged>> = BTreeMap::new();
        for kind in SWEPT {
            for (job_id, resource) in self.list_tagged(kind).await? {
                tagged.entry(job_id).or_default().push(resource);
            }
        }
        let mut orphans = Vec::new();
        for (job_id, resources) in tagged {
            let job = match fleet_scheduler::get_job(&self.inner.ctx.pool, job_id).await {
                Ok(job) => job,
                // Pruned (or never ours): nothing says the resource is an orphan.
                Err(SchedulerError::NotFound(_)) => continue,
                Err(err) => return Err(err.into()),
            };
            let kept = match job.state {
                JobState::Failed | JobState::Cancelled => None,
                JobState::Completed => job
                    .result
                    .as_ref()
                    .and_then(|r| r.get("id"))
                    .and_then(|id| id.as_str())
                    .map(str::to_owned),
                // Unfinished: its handler owns what it made.
                _ => continue,
            };
            for resource in resources {
                if kept.as_deref() == Some(resource.id.as_str()) {
                    continue;
                }
                let action = match mode {
                    SweepMode::Report => SweepAction::Reported,
                    SweepMode::Delete => self.remove(zone, &resource).await,
                };
                let orphan = Orphan {
                    resource: fleet_jobs::resource_name(zone.as_str(), resource.kind, &resource.id),
                    kind: resource.kind,
                    job_id,
                    job_state: job.state,
                    action,
                };
                tracing::warn!(zone = %zone, job_id, job_state = job.state.as_str(),
                    kind = resource.kind.as_str(), resource = %orphan.resource,
                    action = ?orphan.action, "orphan: a resource tagged by a job that ended without it");
                record(zone, resource.kind, &orphan.action);
                orphans.push(orphan);
            }
        }
        Ok(orphans)
    }

    /// Every resource of `kind` in the zone that carries a job tag, with that job's id.
    async fn list_tagged(&self, kind: ResourceKind) -> Result<Vec<(i64, Tagged)>, StepError> {
        let zone = self.inner.ctx.zone;
        let client = &self.inner.client;
        let tagged = |tags: &[String], id: String, removal: Removal| {
            tagged_job(tags).map(|job_id| (job_id, Tagged { kind, id, removal }))
        };
        Ok(match kind {
            ResourceKind::Server => self
                .list_servers()
                .await?
                .into_iter()
                .filter_map(|s| tagged(&s.tags, s.id.clone(), server_removal(&s)))
                .collect(),
            ResourceKind::Volume => {
                let all = client.list_volumes_all(zone, ListVolumesQuery::default());
                self.call(Operation::ListVolumes, all.try_collect::<Vec<_>>())
                    .await?
                    .into_iter()
                    .filter_map(|v| {
                        let free = v.server.is_none() && !v.state.is_transient();
                        tagged(&v.tags, v.id, removal_if(free))
                    })
                    .collect()
            }
            ResourceKind::Snapshot => {
                let all = client.list_snapshots_all(zone, ListSnapshotsQuery::default());
                self.call(Operation::ListSnapshots, all.try_collect::<Vec<_>>())
                    .await?
                    .into_iter()
                    .filter_map(|s| tagged(&s.tags, s.id, removal_if(!s.state.is_transient())))
                    .collect()
            }
            ResourceKind::Image => {
                let query = ListImagesQuery {
                    public: Some(false),
                    ..ListImagesQuery::default()
                };
                let all = client.list_images_all(zone, query);
                self.call(Operation::ListImages, all.try_collect::<Vec<_>>())
                    .await?
                    .into_iter()
                    .filter_map(|i| tagged(&i.tags, i.id, removal_if(!i.state.is_transient())))
                    .collect()
            }
            ResourceKind::BlockVolume => {
                let all = client.block_list_volumes_all(zone, block::ListVolumesQuery::default());
                self.call(Operation::BlockListVolumes, all.try_collect::<Vec<_>>())
                    .await?
                    .into_iter()
                    .filter_map(|v| {
                        let free = v.references.is_empty() && !v.is_transient();
                        tagged(&v.tags, v.id, removal_if(free))
                    })
                    .collect()
            }
            ResourceKind::BlockSnapshot => {
                let all =
                    client.block_list_snapshots_all(zone, block::ListSnapshotsQuery::default());
                self.call(Operation::BlockListSnapshots, all.try_collect::<Vec<_>>())
                    .await?
                    .into_iter()
                    .filter_map(|s| {
                        let free = s.references.is_empty() && !s.is_transient();
                        tagged(&s.tags, s.id, removal_if(free))
                    })
                    .collect()
            }
            ResourceKind::PrivateNic => Vec::new(),
        })
    }

    /// The zone's servers, page by page.
    async fn list_servers(&self) -> Result<Vec<Server>, StepError> {
        let zone = self.inner.ctx.zone;
        let mut servers = Vec::new();
        let mut page = 1;
        loop {
            let query = ListServersQuery {
                per_page: Some(PAGE),
                page: Some(page),
                ..ListServersQuery::default()
            };
            let listed = self
                .call(
                    Operation::ListServers,
                    self.inner.client.list_servers(zone, &query),
                )
                .await?;
            let count = listed.items.len();
            servers.extend(listed.items);
            if count < PAGE as usize {
                return Ok(servers);
            }
            page += 1;
        }
    }

    /// Sweeps every `sweep_interval` (never when it is zero) until `shutdown` fires or the
    /// lease is lost; a failed sweep is logged and tried again at the next interval.
    pub(crate) async fn run_sweeper(&self, shutdown: CancellationToken) {
        let settings = &self.inner.settings;
        if settings.sweep_interval.is_zero() {
            return;
        }
        let lost = self.inner.ctx.guard.token();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = lost.cancelled() => return,
                () = tokio::time::sleep(settings.sweep_interval) => {}
            }
            if let Err(err) = self.sweep_orphans(settings.sweep_mode).await {
                if err.class() == ErrorClass::LeaseLost {
                    return;
                }
                tracing::warn!(zone = %self.inner.ctx.zone, error = %err,
                    "orphan sweep failed; trying again at the next interval");
            }
        }
    }

    async fn call<T>(
        &self,
        operation: Operation,
        fut: impl Future<Output = fleet_scaleway::Result<T>>,
    ) -> Result<T, StepError> {
        self.inner.ctx.guard.check()?;
        fut.await
            .map_err(|source| StepError::Upstream { operation, source })
    }

    /// Removes an orphan as its listing allows; says what happened.
    async fn remove(&self, zone: Zone, resource: &Tagged) -> SweepAction {
        let client = &self.inner.client;
        let id = resource.id.as_str();
        let result = match (resource.removal, resource.kind) {
            (Removal::Wait, _) => Ok(SweepAction::Waiting),
            (Removal::TerminateServer, _) => {
                let request = ServerActionRequest::new(ServerAction::Terminate);
                self.call(
                    Operation::ServerAction,
                    client.server_action(zone, id, &request),
                )
                .await
                .map(|_| SweepAction::Terminated)
            }
            (Removal::DeleteServer, _) | (Removal::Delete, ResourceKind::Server) => self
                .call(Operation::DeleteServer, client.delete_server(zone, id))
                .await
                .map(|()| SweepAction::Deleted),
            (Removal::Delete, kind) => {
                let deleted = match kind {
                    ResourceKind::Volume => {
                        self.call(Operation::DeleteVolume, client.delete_volume(zone, id))
                            .await
                    }
                    ResourceKind::Snapshot => {
                        self.call(Operation::DeleteSnapshot, client.delete_snapshot(zone, id))
                            .await
                    }
                    ResourceKind::Image => {
                        self.call(Operation::DeleteImage, client.delete_image(zone, id))
                            .await
                    }
                    ResourceKind::BlockVolume => {
                        let call = client.block_delete_volume(zone, id);
                        self.call(Operation::BlockDeleteVolume, call).await
                    }
                    ResourceKind::BlockSnapshot => {
                        let call = client.block_delete_snapshot(zone, id);
                        self.call(Operation::BlockDeleteSnapshot, call).await
                    }
                    // A server is deleted above; a NIC is never listed (see the module's doc).
                    ResourceKind::Server | ResourceKind::PrivateNic => Ok(()),
                };
                deleted.map(|()| SweepAction::Deleted)
            }
        };
        result.unwrap_or_else(|err| SweepAction::Failed(err.to_string()))
    }
}

fn record(zone: Zone, kind: ResourceKind, action: &SweepAction) {
    static COUNTER: std::sync::OnceLock<opentelemetry::metrics::Counter<u64>> =
        std::sync::OnceLock::new();
    let counter = COUNTER.get_or_init(|| {
        opentelemetry::global::meter("fleet.worker")
            .u64_counter(ORPHANS)
            .with_description("Resources tagged by a job that ended without them")
            .build()
    });
    counter.add(
        1,
        &[
            KeyValue::new("zone", zone.as_str().to_owned()),
            KeyValue::new("kind", kind.as_str()),
            KeyValue::new("action", action.as_str()),
        ],
    );
}
