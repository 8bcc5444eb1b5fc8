//! The orphan sweeper: servers that carry a job's tag (`fleet-job={id}`) although the job
//! ended without them — failed or cancelled, or completed with another server as its result —
//! are reported (`report`: a warning and [`ORPHANS`]) or removed (`delete`).
//!
//! It catches what a job's own compensation ([`super::undo`]) could not: a worker that died
//! mid-undo, a job the scheduler cancelled or failed without its handler (a rescue), an undo
//! that gave up. A server whose job is still unfinished, or whose job row is gone (pruned
//! after the retention), is never touched: only a recorded terminal state condemns it.
//! Scaleway's `tags` filter matches whole tags, so the sweep lists the zone's servers page by
//! page and reads the tags itself; its calls go through the zone's rate-limited client.

use std::collections::BTreeMap;

use fleet_core::{ListServersQuery, Operation, Server, ServerAction, ServerActionRequest, Zone};
use fleet_jobs::JOB_TAG_PREFIX;
use fleet_scheduler::{JobState, SchedulerError};
use opentelemetry::KeyValue;

use super::ZoneJobs;
use tokio_util::sync::CancellationToken;

use super::error::{ErrorClass, StepError};

/// Orphans found by the sweeper, by `zone`, `kind` and `action` (`reported`, `deleted`,
/// `failed`).
pub const ORPHANS: &str = "fleet.worker.orphans";

/// Servers per listed page.
const PAGE: u32 = 100;

/// What the sweeper does with an orphan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SweepMode {
    /// Log and count it; an operator deletes it.
    #[default]
    Report,
    /// Delete a stopped server, terminate a running one (a transient one waits for the next
    /// sweep).
    Delete,
}

/// One orphan and what the sweep did with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// `zones/{zone}/servers/{id}`.
    pub resource: String,
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
    /// A stopped server, deleted.
    Deleted,
    /// A running or `stopped in place` server, terminated.
    Terminated,
    /// In a transient state: left for the next sweep.
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

/// The job id of a server's `fleet-job=` tag, if it has one that parses.
fn tagged_job(server: &Server) -> Option<i64> {
    server
        .tags
        .iter()
        .find_map(|t| t.strip_prefix(JOB_TAG_PREFIX)?.parse().ok())
}

impl ZoneJobs {
    /// One sweep of the zone's servers; returns the orphans found.
    pub async fn sweep_orphans(&self, mode: SweepMode) -> Result<Vec<Orphan>, StepError> {
        let zone = self.inner.ctx.zone;
        let mut tagged: BTreeMap<i64, Vec<Server>> = BTreeMap::new();
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
            for server in listed.items {
                if let Some(job_id) = tagged_job(&server) {
                    tagged.entry(job_id).or_default().push(server);
                }
            }
            if count < PAGE as usize {
                break;
            }
            page += 1;
        }
        let mut orphans = Vec::new();
        for (job_id, servers) in tagged {
            let job = match fleet_scheduler::get_job(&self.inner.ctx.pool, job_id).await {
                Ok(job) => job,
                // Pruned (or never ours): nothing says the server is an orphan.
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
            for server in servers {
                if kept.as_deref() == Some(server.id.as_str()) {
                    continue;
                }
                let action = match mode {
                    SweepMode::Report => SweepAction::Reported,
                    SweepMode::Delete => self.remove(zone, &server).await,
                };
                let orphan = Orphan {
                    resource: fleet_jobs::resource_name(
                        zone.as_str(),
                        fleet_jobs::ResourceKind::Server,
                        &server.id,
                    ),
                    job_id,
                    job_state: job.state,
                    action,
                };
                tracing::warn!(zone = %zone, job_id, job_state = job.state.as_str(),
                    resource = %orphan.resource, action = ?orphan.action,
                    "orphan: a server tagged by a job that ended without it");
                record(zone, &orphan.action);
                orphans.push(orphan);
            }
        }
        Ok(orphans)
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

    /// Deletes or terminates an orphan server; says what happened.
    async fn remove(&self, zone: Zone, server: &Server) -> SweepAction {
        let client = &self.inner.client;
        let result = match server.state.as_str() {
            "stopped" => self
                .call(
                    Operation::DeleteServer,
                    client.delete_server(zone, &server.id),
                )
                .await
                .map(|()| SweepAction::Deleted),
            "running" | "stopped in place" => {
                let request = ServerActionRequest::new(ServerAction::Terminate);
                self.call(
                    Operation::ServerAction,
                    client.server_action(zone, &server.id, &request),
                )
                .await
                .map(|_| SweepAction::Terminated)
            }
            _ => Ok(SweepAction::Waiting),
        };
        result.unwrap_or_else(|err| SweepAction::Failed(err.to_string()))
    }
}

fn record(zone: Zone, action: &SweepAction) {
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
            KeyValue::new("kind", "server"),
            KeyValue::new("action", action.as_str()),
        ],
    );
}
