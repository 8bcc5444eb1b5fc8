//! Shared setup of the job-handler tests: an emulator, a fresh database, and workers made
//! of a scheduler `Runner` plus a `ZoneJobs` (handlers and watcher) for one zone.

#![allow(dead_code)]

use std::time::Duration;

use fleet_core::Zone;
use fleet_emulator::{Emulator, RunningEmulator};
use fleet_jobs::{Failure, JobSpec};
use fleet_scaleway::{Client, Config, RateLimitConfig, RetryPolicy};
use fleet_scheduler::{Job, JobState, Listener, NewJob, Runner, RunnerConfig};
use fleet_worker::context::{ZoneContext, ZoneGuard};
use fleet_worker::jobs::watcher::WatchSettings;
use fleet_worker::jobs::{JobSettings, ZoneJobs};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const SECRET: &str = "7c4f1d2e-9a3b-4c5d-8e6f-0a1b2c3d4e5f";
pub const ZONE: Zone = Zone::FrPar1;

pub struct Env {
    pub emu: RunningEmulator,
    pub pool: PgPool,
    /// The test's own client (not a worker's).
    pub client: Client,
    pub shutdown: CancellationToken,
    rescuer: JoinHandle<()>,
}

pub fn client_for(emu: &RunningEmulator, caller: &str) -> Client {
    let config = Config::new(SECRET)
        .with_api_url(emu.base_url())
        .with_retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            max_retry_after: Duration::from_secs(2),
        })
        .with_rate_limit(RateLimitConfig::unlimited())
        .with_timeouts(Duration::from_secs(2), Duration::from_secs(10));
    Client::new(config)
        .expect("client builds")
        .with_caller(caller)
}

pub fn fast_settings() -> JobSettings {
    JobSettings {
        min_poll: Duration::from_millis(200),
        max_poll: Duration::from_secs(2),
        max_poll_unwatched: Duration::from_secs(1),
        fresh: Duration::from_secs(2),
        unreachable_grace: Duration::from_secs(3),
        lease_lost_delay: Duration::from_millis(200),
        watch: WatchSettings {
            min_round: Duration::from_millis(100),
            max_round: Duration::from_secs(1),
            ..WatchSettings::default()
        },
        max_deadline: None,
        settle_limit: Duration::from_secs(20),
        sweep_interval: Duration::ZERO,
        ..JobSettings::default()
    }
}

impl Env {
    pub async fn start(transition: Duration) -> Env {
        let emu = Emulator::builder()
            .transition(transition)
            .seed(7)
            .start()
            .await
            .expect("emulator starts");
        let url = fleet_pgcluster::testing::fresh_database().await;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(20)
            .connect(&url)
            .await
            .expect("database connects");
        fleet_scheduler::migrate(&pool)
            .await
            .expect("migrations apply");
        let client = client_for(&emu, "test");
        let shutdown = CancellationToken::new();
        // Lease expiry → available again (what the scheduler service does).
        let rescuer = {
            let pool = pool.clone();
            let stop = shutdown.clone();
            tokio::spawn(async move {
                while !stop.is_cancelled() {
                    let _ = fleet_scheduler::rescue_expired(&pool, 1000).await;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
        };
        Env {
            emu,
            pool,
            client,
            shutdown,
            rescuer,
        }
    }

    pub fn zone_jobs(&self, owner: &str) -> (ZoneJobs, ZoneGuard) {
        self.zone_jobs_with(owner, fast_settings())
    }

    pub fn zone_jobs_with(&self, owner: &str, settings: JobSettings) -> (ZoneJobs, ZoneGuard) {
        let guard = ZoneGuard::new(ZONE, 1);
        let ctx = ZoneContext {
            zone: ZONE,
            client: client_for(&self.emu, &format!("{owner}/1")),
            pool: self.pool.clone(),
            guard: guard.clone(),
            worker_id: owner.to_owned(),
        };
        (ZoneJobs::with_settings(ctx, settings), guard)
    }

    /// A runner and a watcher for the zone, as `owner`, with `lease`.
    pub fn spawn_worker(&self, owner: &str, lease: Duration) -> Worker {
        self.spawn_worker_with(owner, lease, fast_settings())
    }

    /// [`Env::spawn_worker`] with other job settings.
    pub fn spawn_worker_with(&self, owner: &str, lease: Duration, settings: JobSettings) -> Worker {
        let (jobs, guard) = self.zone_jobs_with(owner, settings);
        let stop = CancellationToken::new();
        let mut config = RunnerConfig::new(vec![ZONE.as_str().to_owned()], owner);
        config.lease = lease;
        config.heartbeat_interval = lease / 3;
        config.poll_interval = Duration::from_millis(100);
        config.shutdown_grace = Duration::from_millis(100);
        config.retry = fleet_scheduler::RetryPolicy {
            base: Duration::from_millis(200),
            max: Duration::from_secs(2),
            jitter: 0.2,
        };
        let handler_jobs = jobs.clone();
        let listener = Listener::start(&self.pool, stop.clone());
        let runner = Runner::new(self.pool.clone(), config, move |job| {
            let jobs = handler_jobs.clone();
            async move { jobs.handle(job).await }
        })
        .with_listener(listener);
        let runner_stop = stop.clone();
        let runner = tokio::spawn(async move {
            let _ = runner.run(runner_stop).await;
        });
        let watcher_jobs = jobs.clone();
        let watcher_stop = stop.clone();
        let watcher = tokio::spawn(async move {
            let _ = watcher_jobs.run_watcher(watcher_stop).await;
        });
        Worker {
            jobs,
            guard,
            stop,
            runner,
            watcher,
        }
    }

    pub async fn enqueue(&self, spec: &JobSpec) -> i64 {
        let mut job = NewJob::new(spec.kind(), ZONE.as_str(), spec.to_args()).caller("test");
        if let Some((kind, id)) = spec.target() {
            job = job.resource(fleet_jobs::resource_key(ZONE.as_str(), kind, id));
        }
        fleet_scheduler::enqueue(&self.pool, &job)
            .await
            .expect("enqueue")
            .id
    }

    pub async fn wait_terminal(&self, id: i64, timeout: Duration) -> Job {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let job = fleet_scheduler::get_job(&self.pool, id).await.expect("job");
            if job.state.is_terminal() {
                return job;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("job {id} not finished after {timeout:?}: {job:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `spec` to a terminal state and returns the job.
    pub async fn run(&self, spec: &JobSpec) -> Job {
        let id = self.enqueue(spec).await;
        self.wait_terminal(id, Duration::from_secs(60)).await
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.rescuer.abort();
    }
}

pub struct Worker {
    pub jobs: ZoneJobs,
    pub guard: ZoneGuard,
    pub stop: CancellationToken,
    pub runner: JoinHandle<()>,
    pub watcher: JoinHandle<()>,
}

impl Worker {
    /// A crash: the tasks die where they are, nothing is released.
    pub fn abort(&self) {
        // The process is gone: no further upstream call from its handlers.
        self.guard.revoke();
        self.runner.abort();
        self.watcher.abort();
        self.stop.cancel();
    }

    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.runner.await;
        let _ = self.watcher.await;
    }
}

/// The result of a job that must have completed.
pub fn completed(job: &Job) -> serde_json::Value {
    assert_eq!(
        job.state,
        JobState::Completed,
        "job {}: {:?}",
        job.id,
        job.errors
    );
    job.result.clone().expect("a result")
}

/// The failure kind and record of a job that must have failed.
pub fn failed(job: &Job) -> (String, Failure) {
    assert_eq!(
        job.state,
        JobState::Failed,
        "job {}: {:?}",
        job.id,
        job.result
    );
    let last = job.errors.last().expect("an error entry");
    (last.kind.clone(), Failure::from_details(&last.details))
}

/// The states a job observed, oldest first.
pub fn history(job: &Job) -> Vec<String> {
    fleet_jobs::ProgressDetail::from_state(&job.progress.state)
        .history
        .into_iter()
        .map(|o| o.state)
        .collect()
}
