//! The long-running operations of a zone as resumable step machines, and the zone watcher.
//!
//! [`ZoneJobs::handle`] runs one attempt of a job: it decodes the [`JobSpec`], reads the
//! [`ProgressDetail`] the previous attempts left in `progress.state`, runs steps from there,
//! and returns an [`Outcome`]. Every step that has an effect upstream is bracketed so that a
//! re-run after a crash at any point neither repeats nor loses it:
//!
//! * before a create, the intent is recorded (`record_progress`) and the job's
//!   [`fleet_jobs::job_tag`] is added to the resource's tags; the created id is recorded
//!   right after. A re-run that finds the intent without an id lists the resources carrying
//!   the tag and adopts the one it finds (only then: the common path costs no extra call);
//! * before an action, the intent is recorded; a re-run that finds it unconfirmed reads the
//!   resource first and issues the action only if it has not taken effect;
//! * waiting is a snooze: the handler registers with the zone's [`watcher::Watcher`] and
//!   returns [`Outcome::Snooze`]; the watcher wakes the job when the resource changes, and
//!   the handler reads the watcher's observation instead of calling the API.
//!
//! Every wait records the states it observes (`ProgressDetail::history`), has the deadline
//! of its kind (fixed at the first run), and fails early when the resource reaches a state
//! from which the target cannot be reached, or disappears. Errors are classified in
//! [`error`]. Cancellation is honoured at step boundaries; what each handler leaves behind
//! when cancelled is documented on it.

pub(crate) mod create;
pub mod error;
mod locate;
pub mod metrics;
pub mod observe;
mod resources;
mod sbs;
mod servers;
pub mod sweeper;
mod undo;
pub mod watcher;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use fleet_core::{Operation, Zone};
use fleet_jobs::{Failure, JobSpec, ProgressDetail, ResourceKind, failure_kind};
use fleet_scaleway::Client;
use fleet_scheduler::{ClaimedJob, JobError, Outcome, Progress};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_util::sync::CancellationToken;

use crate::context::ZoneContext;
use error::{ErrorClass, ProgressUndecodable, StepError, transient_error, upstream_failure};
use observe::{Observed, WatchKey};
use watcher::{WatchSettings, Watcher};

/// Timing of the handlers' waits.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// First look at a resource after acting on it.
    pub min_poll: Duration,
    /// Longest snooze of a waiting job while the watcher runs (it wakes the job earlier).
    pub max_poll: Duration,
    /// Longest snooze of a waiting job when no watcher runs (the job polls itself).
    pub max_poll_unwatched: Duration,
    /// A watcher observation younger than this is used instead of a GET.
    pub fresh: Duration,
    /// A terminal state other than the target counts as final only once a transient state
    /// was seen after the action, or this long after it (the API may show the old state for
    /// a moment).
    pub unreachable_grace: Duration,
    /// Snooze after the zone's lease was lost, before the next owner picks the job up.
    pub lease_lost_delay: Duration,
    /// Watcher pacing.
    pub watch: WatchSettings,
    /// Caps the deadline of every operation (tests, tools); `None` keeps each kind's own
    /// ([`JobSpec::deadline`]).
    pub max_deadline: Option<Duration>,
    /// How long a compensation waits for a resource in a transient state (a `starting`
    /// server) to settle before it can remove it; past it the resource is reported as left.
    pub settle_limit: Duration,
    /// What the orphan sweeper does ([`sweeper`]).
    pub sweep_mode: sweeper::SweepMode,
    /// Time between two sweeps of the zone; zero turns the sweeper off.
    pub sweep_interval: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            min_poll: Duration::from_secs(1),
            max_poll: Duration::from_secs(30),
            max_poll_unwatched: Duration::from_secs(10),
            fresh: Duration::from_secs(5),
            unreachable_grace: Duration::from_secs(15),
            lease_lost_delay: Duration::from_secs(2),
            watch: WatchSettings::default(),
            max_deadline: None,
            settle_limit: Duration::from_secs(15 * 60),
            sweep_mode: sweeper::SweepMode::Report,
            sweep_interval: crate::config::DEFAULT_SWEEP_INTERVAL,
        }
    }
}

/// The job handlers and the watcher of one held zone. Cheap to clone.
#[derive(Clone)]
pub struct ZoneJobs {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) ctx: ZoneContext,
    /// `ctx.client`, stopped when the zone's lease is lost.
    pub(crate) client: Client,
    pub(crate) watcher: Watcher,
    pub(crate) settings: JobSettings,
}

impl std::fmt::Debug for ZoneJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneJobs")
            .field("zone", &self.inner.ctx.zone)
            .field("pending", &self.inner.watcher.pending())
            .finish_non_exhaustive()
    }
}

impl ZoneJobs {
    /// Handlers of `ctx.zone` with the default timings.
    pub fn new(ctx: ZoneContext) -> Self {
        Self::with_settings(ctx, JobSettings::default())
    }

    /// Handlers with explicit timings (tests use short ones).
    pub fn with_settings(ctx: ZoneContext, settings: JobSettings) -> Self {
        let client = ctx.client.with_cancel(ctx.guard.token());
        let watcher = Watcher::new(settings.watch.clone());
        Self {
            inner: Arc::new(Inner {
                ctx,
                client,
                watcher,
                settings,
            }),
        }
    }

    /// The zone's watcher registry (stats, pending count).
    pub fn watcher(&self) -> &Watcher {
        &self.inner.watcher
    }

    /// Observes the resources the zone's jobs wait on, and sweeps the zone for orphans
    /// ([`sweeper`]), until `shutdown` fires or the lease is lost.
    pub async fn run_watcher(&self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let ctx = &self.inner.ctx;
        let watch = self.inner.watcher.run(
            &self.inner.client,
            ctx.zone,
            &ctx.guard,
            &ctx.pool,
            shutdown.clone(),
        );
        let (watched, ()) = tokio::join!(watch, self.run_sweeper(shutdown));
        watched
    }

    /// Runs one attempt of `job`.
    pub async fn handle(&self, job: ClaimedJob) -> Outcome {
        let zone = self.inner.ctx.zone;
        let spec = match JobSpec::from_args(&job.job.args) {
            Ok(spec) => spec,
            Err(err) => {
                tracing::warn!(zone = %zone, job_id = job.id(), operation = %job.job.kind,
                    error = %err, "refusing a job whose args do not decode");
                return Outcome::Fail(JobError::new(
                    failure_kind::INVALID_ARGUMENT,
                    err.to_string(),
                ));
            }
        };
        if job.job.zone != zone.as_str() {
            return Outcome::Fail(JobError::new(
                failure_kind::INTERNAL,
                format!("job of zone {} claimed for zone {zone}", job.job.zone),
            ));
        }
        let mut run = match Run::new(&self.inner, &job, &spec) {
            Ok(run) => run,
            Err(err) => {
                return progress_undecodable(
                    zone,
                    &job,
                    &StepError::ProgressUndecodable(ProgressUndecodable(err)),
                );
            }
        };
        // Past the deadline: a job that has been waiting on its resource runs once more, so
        // that its wait reports the deadline with the last state and the target and
        // compensates what it made; any other fails at once.
        if run.past_deadline() && run.detail.history.is_empty() {
            return run.deadline_exceeded(None, None);
        }
        // A create undoes what it made before it ends as cancelled (see [`undo`]).
        if job.is_cancel_requested() && !matches!(spec, JobSpec::CreateServer(_)) {
            return Outcome::Cancelled;
        }
        let operation = spec.kind();
        let result = match &spec {
            JobSpec::CreateServer(s) => servers::create_server(&mut run, s).await,
            JobSpec::ServerAction(s) => servers::server_action(&mut run, s).await,
            JobSpec::DeleteServer(s) => servers::delete_server(&mut run, s).await,
            JobSpec::AttachVolume(s) => servers::attach_volume(&mut run, s).await,
            JobSpec::DetachVolume(s) => servers::detach_volume(&mut run, s).await,
            JobSpec::AttachFileSystem(s) => servers::file_system(&mut run, s, true).await,
            JobSpec::DetachFileSystem(s) => servers::file_system(&mut run, s, false).await,
            JobSpec::CreatePrivateNic(s) => servers::create_private_nic(&mut run, s).await,
            JobSpec::CreateSnapshot(s) => resources::create_snapshot(&mut run, s).await,
            JobSpec::ExportSnapshot(s) => resources::export_snapshot(&mut run, s).await,
            JobSpec::CreateImage(s) => resources::create_image(&mut run, s).await,
            JobSpec::CreateVolume(s) => resources::create_volume(&mut run, s).await,
            JobSpec::BlockMigration(s) => resources::block_migration(&mut run, s).await,
            JobSpec::UpdateBlockVolume(s) => sbs::update_volume(&mut run, s).await,
            JobSpec::ImportBlockSnapshot(s) => sbs::import_snapshot(&mut run, s).await,
            JobSpec::UpdateServerTags(s) => servers::update_server_tags(&mut run, s).await,
            JobSpec::ChangeServerType(s) => servers::change_server_type(&mut run, s).await,
        };
        match result {
            Ok(outcome) => outcome,
            Err(err) => run.error_outcome(&operation, err),
        }
    }
}

/// Fails `job` for good because its recorded progress does not decode, loudly: an error log
/// and [`metrics::PROGRESS_UNDECODABLE`], which an alert watches. Nothing is retried: the
/// record may hold an intent (a create issued, an id to adopt), and starting over could act
/// twice; an operator reads the job and decides.
fn progress_undecodable(zone: Zone, job: &ClaimedJob, err: &StepError) -> Outcome {
    metrics::record_progress_undecodable(zone, &job.job.kind);
    tracing::error!(zone = %zone, job_id = job.id(), operation = %job.job.kind, error = %err,
        "job failed: its recorded progress does not decode");
    Outcome::Fail(JobError::new(
        failure_kind::PROGRESS_UNDECODABLE,
        err.to_string(),
    ))
}

/// How a wait ended this run.
pub(crate) enum Waited {
    /// The target was reached.
    Done(Observed),
    /// Not yet: return this snooze.
    Pending(Outcome),
    /// A state from which the target cannot be reached.
    Unreachable(Observed),
    /// 404 in the middle of the wait.
    Gone,
    /// The operation's deadline passed.
    Deadline(Observed),
}

/// What a handler's judge says of an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Judge {
    Done,
    Wait,
    Unreachable,
}

/// One attempt of one job.
pub(crate) struct Run<'a> {
    inner: &'a Inner,
    pub(crate) job: &'a ClaimedJob,
    pub(crate) detail: ProgressDetail,
    pub(crate) step: String,
    pub(crate) cancel_requested: bool,
    deadline: OffsetDateTime,
}

pub(crate) fn now_rfc3339() -> String {
    fmt_time(OffsetDateTime::now_utc())
}

pub(crate) fn fmt_time(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

pub(crate) fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

impl<'a> Run<'a> {
    fn new(
        inner: &'a Inner,
        job: &'a ClaimedJob,
        spec: &JobSpec,
    ) -> Result<Self, serde_json::Error> {
        let mut detail = ProgressDetail::decode(&job.job.progress.state)?;
        let deadline = match detail.deadline.as_deref().and_then(parse_time) {
            Some(deadline) => deadline,
            None => {
                let base = job.job.started_at.unwrap_or_else(OffsetDateTime::now_utc);
                let allowed = match inner.settings.max_deadline {
                    Some(cap) => spec.deadline().min(cap),
                    None => spec.deadline(),
                };
                let deadline = base + allowed;
                detail.deadline = Some(fmt_time(deadline));
                deadline
            }
        };
        Ok(Self {
            inner,
            job,
            detail,
            step: job.job.progress.step.clone().unwrap_or_default(),
            cancel_requested: job.is_cancel_requested(),
            deadline,
        })
    }

    pub(crate) fn zone(&self) -> Zone {
        self.inner.ctx.zone
    }

    pub(crate) fn client(&self) -> &Client {
        &self.inner.client
    }

    pub(crate) fn settings(&self) -> &JobSettings {
        &self.inner.settings
    }

    pub(crate) fn job_id(&self) -> i64 {
        self.job.id()
    }

    /// This attempt is the job's last: a transient failure now ends the job.
    pub(crate) fn last_attempt(&self) -> bool {
        self.job.job.attempt >= self.job.job.max_attempts
    }

    pub(crate) fn past_deadline(&self) -> bool {
        OffsetDateTime::now_utc() > self.deadline
    }

    /// Runs an upstream call if the zone is still held.
    pub(crate) async fn call<T>(
        &self,
        operation: Operation,
        fut: impl Future<Output = fleet_scaleway::Result<T>>,
    ) -> Result<T, StepError> {
        self.inner.ctx.guard.check()?;
        fut.await
            .map_err(|source| StepError::Upstream { operation, source })
    }

    /// The handler's private step data: default when nothing was recorded yet, an error when
    /// what was recorded does not decode (it may be an intent; forgetting it could create
    /// twice).
    pub(crate) fn data<T: DeserializeOwned + Default>(&self) -> Result<T, ProgressUndecodable> {
        match &self.detail.data {
            Value::Null => Ok(T::default()),
            data => serde_json::from_value(data.clone()).map_err(ProgressUndecodable),
        }
    }

    pub(crate) fn set_data<T: Serialize>(&mut self, data: &T) {
        self.detail.data = serde_json::to_value(data).unwrap_or(Value::Null);
    }

    /// The progress to store.
    pub(crate) fn progress(&self) -> Progress {
        let upstream_ids = self
            .detail
            .resource
            .iter()
            .filter_map(|r| r.rsplit('/').next())
            .map(str::to_owned)
            .collect();
        Progress {
            step: (!self.step.is_empty()).then(|| self.step.clone()),
            percent: None,
            message: self
                .detail
                .history
                .last()
                .map(|o| match o.state_detail.as_str() {
                    "" => format!("resource is {}", o.state),
                    detail => format!("resource is {} ({detail})", o.state),
                }),
            upstream_ids,
            state: self.detail.to_state(),
        }
    }

    /// Records progress at `step` (fenced). Notes a pending cancel request.
    pub(crate) async fn save(&mut self, step: &str) -> Result<(), StepError> {
        self.step = step.to_owned();
        let ack = self.job.record_progress(&self.progress()).await?;
        if ack.cancel_requested {
            self.cancel_requested = true;
        }
        Ok(())
    }

    /// Snooze until `after` from now, recording progress.
    pub(crate) fn snooze(&self, after: Duration) -> Outcome {
        let until = OffsetDateTime::now_utc() + after;
        Outcome::Snooze {
            until,
            progress: Some(self.progress()),
        }
    }

    /// Sets the public resource name.
    pub(crate) fn set_resource(&mut self, kind: ResourceKind, id: &str) {
        self.detail.resource = Some(fleet_jobs::resource_name(self.zone().as_str(), kind, id));
    }

    fn base_failure(&self) -> Failure {
        Failure {
            history: self.detail.history.clone(),
            resource: self.detail.resource.clone(),
            ..Failure::default()
        }
    }

    /// Fails for good with `kind`.
    pub(crate) fn fail(&self, kind: &str, message: String, mut failure: Failure) -> Outcome {
        if failure.history.is_empty() {
            failure.history = self.detail.history.clone();
        }
        if failure.resource.is_none() {
            failure.resource = self.detail.resource.clone();
        }
        tracing::warn!(zone = %self.zone(), job_id = self.job_id(), operation = %self.job.job.kind,
            kind, %message, "job failed");
        Outcome::Fail(JobError::new(kind, message).with_details(failure.to_details()))
    }

    /// `deadline_exceeded`, with the history and what was compensated.
    pub(crate) fn deadline_exceeded(
        &self,
        last: Option<&Observed>,
        target: Option<&str>,
    ) -> Outcome {
        let mut failure = self.base_failure();
        failure.state = last.map(|o| o.state().0);
        failure.target = target.map(str::to_owned);
        self.fail(
            failure_kind::DEADLINE_EXCEEDED,
            format!("deadline {} passed", fmt_time(self.deadline)),
            failure,
        )
    }

    /// `unreachable_state` / `resource_gone`, with compensation notes.
    pub(crate) fn wait_failed(
        &self,
        waited: &Waited,
        target: &str,
        compensation: Vec<String>,
    ) -> Outcome {
        let mut failure = self.base_failure();
        failure.target = Some(target.to_owned());
        failure.compensation = compensation;
        match waited {
            Waited::Gone => {
                failure.state = Some("gone".into());
                self.fail(
                    failure_kind::RESOURCE_GONE,
                    format!("the resource disappeared while waiting for {target}"),
                    failure,
                )
            }
            Waited::Deadline(obs) => {
                failure.state = Some(obs.state().0);
                self.fail(
                    failure_kind::DEADLINE_EXCEEDED,
                    format!(
                        "deadline {} passed while waiting for {target}",
                        fmt_time(self.deadline)
                    ),
                    failure,
                )
            }
            Waited::Unreachable(obs) | Waited::Done(obs) => {
                let state = obs.state().0;
                failure.state = Some(state.clone());
                self.fail(
                    failure_kind::UNREACHABLE_STATE,
                    format!("reached {state}, from which {target} cannot be reached"),
                    failure,
                )
            }
            Waited::Pending(_) => self.fail(
                failure_kind::INTERNAL,
                "wait failed while pending".into(),
                failure,
            ),
        }
    }

    /// Fails with the upstream error of a permanent failure.
    pub(crate) fn upstream_failed(&self, operation: impl fmt::Display, err: &StepError) -> Outcome {
        let mut failure = match err.upstream() {
            Some(up) => upstream_failure(up),
            None => Failure::default(),
        };
        failure.history = self.detail.history.clone();
        failure.resource = self.detail.resource.clone();
        self.fail(
            failure_kind::UPSTREAM,
            format!("{operation}: {err}"),
            failure,
        )
    }

    /// The outcome of a step error (see [`error`]).
    pub(crate) fn error_outcome(&self, operation: &str, err: StepError) -> Outcome {
        let zone = self.zone();
        let job_id = self.job_id();
        match err.class() {
            ErrorClass::LeaseLost => {
                tracing::info!(zone = %zone, job_id, operation, error = %err,
                    "zone lease lost; leaving the job to the zone's next owner");
                Outcome::Snooze {
                    until: OffsetDateTime::now_utc() + self.settings().lease_lost_delay,
                    progress: None,
                }
            }
            ErrorClass::Transient => {
                tracing::warn!(zone = %zone, job_id, operation, error = %err,
                    "transient failure; retrying with back-off");
                let mut failure = match err.upstream() {
                    Some(up) => upstream_failure(up),
                    None => Failure::default(),
                };
                failure.resource = self.detail.resource.clone();
                Outcome::Retry(transient_error(&err, failure))
            }
            ErrorClass::Permanent if matches!(err, StepError::ProgressUndecodable(_)) => {
                progress_undecodable(zone, self.job, &err)
            }
            ErrorClass::Permanent => self.upstream_failed(operation, &err),
        }
    }

    /// Reads `key`: the watcher's observation when fresh and made after `since`, otherwise
    /// one GET. Records the state in the history.
    pub(crate) async fn observe(
        &mut self,
        key: &WatchKey,
        since: OffsetDateTime,
    ) -> Result<Observed, StepError> {
        self.look(key, since, false)
            .await
            .map(|(observed, _)| observed)
    }

    /// [`Run::observe`]; with `state_only_ok`, a watcher observation that holds only the
    /// resource's state is returned as is (`true` with it) instead of being read again.
    async fn look(
        &mut self,
        key: &WatchKey,
        since: OffsetDateTime,
        state_only_ok: bool,
    ) -> Result<(Observed, bool), StepError> {
        let watcher = &self.inner.watcher;
        let (observed, state_only) = match watcher.sighting(key, since, self.settings().fresh) {
            Some(sighting)
                if !sighting.observed.is_gone() && (state_only_ok || !sighting.state_only) =>
            {
                (sighting.observed, sighting.state_only)
            }
            // A list that no longer shows the resource is confirmed with a GET.
            _ => (self.fetch(key).await?, false),
        };
        let (state, detail) = observed.state();
        self.detail.observe(&state, &detail, now_rfc3339());
        Ok((observed, state_only))
    }

    /// One GET of `key`, shared with the watcher.
    async fn fetch(&self, key: &WatchKey) -> Result<Observed, StepError> {
        self.inner.ctx.guard.check()?;
        let observed = observe::fetch(self.client(), self.zone(), key)
            .await
            .map_err(|source| StepError::Upstream {
                operation: key.kind.get_operation(),
                source,
            })?;
        self.inner.watcher.record(key, &observed);
        Ok(observed)
    }

    /// Whether a transient state of `kind` was observed at or after `since`.
    fn saw_transient_since(&self, kind: ResourceKind, since: OffsetDateTime) -> bool {
        self.detail.history.iter().any(|o| {
            kind.is_transient(&o.state) && parse_time(&o.observed_at).is_some_and(|at| at >= since)
        })
    }

    /// One look at `key` on the way to a target: done, still waiting (snooze returned),
    /// unreachable, gone or past the deadline. `since` is when the awaited change began
    /// (observations older than it are ignored). `expect` is the state the resource is
    /// expected to be in meanwhile (the watcher wakes the job when it leaves it).
    pub(crate) async fn wait(
        &mut self,
        key: &WatchKey,
        since: OffsetDateTime,
        expect: Option<&str>,
        judge: impl Fn(&Observed) -> Judge,
    ) -> Result<Waited, StepError> {
        let (mut observed, state_only) = self.look(key, since, true).await?;
        let mut verdict = judge(&observed);
        if state_only && (verdict != Judge::Wait || self.past_deadline()) {
            // Only the state was kept: the resource itself decides (and is the result, or
            // what a failure compensates).
            observed = self.fetch(key).await?;
            let (state, detail) = observed.state();
            self.detail.observe(&state, &detail, now_rfc3339());
            verdict = judge(&observed);
        }
        let elapsed: Duration = (OffsetDateTime::now_utc() - since)
            .try_into()
            .unwrap_or(Duration::ZERO);
        match verdict {
            Judge::Done => {
                self.inner.watcher.unregister(key, self.job_id());
                // The operation's metadata keeps the whole history, final state included.
                let step = format!("{}_done", key.kind.as_str());
                self.save(&step).await?;
                return Ok(Waited::Done(observed));
            }
            Judge::Unreachable => {
                let settled = self.saw_transient_since(key.kind, since)
                    || elapsed >= self.settings().unreachable_grace;
                if settled {
                    self.inner.watcher.unregister(key, self.job_id());
                    return Ok(Waited::Unreachable(observed));
                }
            }
            Judge::Wait => {
                if observed.is_gone() {
                    self.inner.watcher.unregister(key, self.job_id());
                    return Ok(Waited::Gone);
                }
            }
        }
        if self.past_deadline() {
            self.inner.watcher.unregister(key, self.job_id());
            return Ok(Waited::Deadline(observed));
        }
        let state = observed.state().0;
        Ok(Waited::Pending(self.park(
            key,
            since,
            Some(expect.unwrap_or(&state)),
        )))
    }

    /// Registers with the watcher and snoozes until the next poll.
    pub(crate) fn park(
        &self,
        key: &WatchKey,
        since: OffsetDateTime,
        expect: Option<&str>,
    ) -> Outcome {
        self.park_within(key, since, expect, self.deadline)
    }

    /// [`Run::park`] with a limit of its own instead of the operation's deadline (an undo
    /// may wait past it).
    pub(crate) fn park_within(
        &self,
        key: &WatchKey,
        since: OffsetDateTime,
        expect: Option<&str>,
        limit: OffsetDateTime,
    ) -> Outcome {
        let settings = self.settings();
        let now = OffsetDateTime::now_utc();
        let elapsed: Duration = (now - since).try_into().unwrap_or(Duration::ZERO);
        let delay = if self.inner.watcher.is_running() {
            // The watcher wakes the job when the resource changes; this is only the fallback.
            settings.max_poll.max(settings.min_poll)
        } else {
            // Poll slower the longer the wait has lasted: quick changes are seen quickly,
            // slow ones cost few reads.
            (elapsed / 2).clamp(
                settings.min_poll,
                settings.max_poll_unwatched.max(settings.min_poll),
            )
        };
        let remaining: Duration = (limit - now).try_into().unwrap_or(Duration::ZERO);
        let delay = delay.min(remaining + Duration::from_millis(100));
        let due = if elapsed < settings.min_poll {
            since + settings.min_poll
        } else {
            now
        };
        self.inner.watcher.register(
            key.clone(),
            self.job_id(),
            expect.map(str::to_owned),
            due,
            now + delay,
        );
        self.snooze(delay)
    }
}
