//! One run: set up, drive under disruption, settle, check.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail};
use fleet_core::catalog::Api as UpstreamApi;
use fleet_pgcluster::{Cluster, ClusterConfig};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection as _, Row as _};

use crate::accounting::{CALLER, assemble};
use crate::analysis::{self, JobRow, JobState, LeaseSpan, WorkerKill};
use crate::driver::{Api, Driver, OpRecord};
use crate::emulator::{EmulatorAdmin, count_job_tags};
use crate::plan::{Event, Plan, PlanInput, Target};
use crate::policies::{self, CRON, KEEP_COUNT, PERIOD_S, PolicyDriver};
use crate::procs::{ProcSpec, Supervisor, free_port, run_once};
use crate::report::Report;
use crate::{ChaosConfig, binary};

const DATABASE: &str = "fleet_chaos";

/// [`run`] on a runtime of its own, for callers without one (tests, `main`).
pub fn run_blocking(config: ChaosConfig) -> anyhow::Result<Report> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(run(config))
}

/// Runs the harness and checks the promises. An `Err` means the run itself could not be
/// carried out (no Postgres, no binary, the emulator died); a run that breaks a promise is an
/// `Ok` report with [`Report::passed`] false.
pub async fn run(config: ChaosConfig) -> anyhow::Result<Report> {
    validate(&config)?;
    let started = Instant::now();
    let say = |msg: String| {
        if config.verbose {
            eprintln!("[{:>7.1}s] {msg}", started.elapsed().as_secs_f64());
        }
    };

    let explicit = config
        .fleet_bin
        .clone()
        .or_else(|| std::env::var_os("FLEET_BIN").map(PathBuf::from));
    let bin = tokio::task::spawn_blocking(move || binary::locate(explicit.as_deref()))
        .await
        .context("binary lookup panicked")??;
    binary::check_subcommands(&bin)?;
    say(format!("fleet binary: {}", bin.display()));

    let log_dir = match &config.log_dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!(
            "fleet-chaos-{}-{}",
            config.seed,
            uuid::Uuid::new_v4().simple()
        )),
    };
    std::fs::create_dir_all(&log_dir)
        .with_context(|| format!("cannot create {}", log_dir.display()))?;

    // Postgres.
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(ClusterConfig::temporary()))
        .await
        .context("postgres start panicked")?
        .context("cannot start a private postgres cluster")?;
    let admin_url = cluster.url("postgres");
    let database_url = cluster.url(DATABASE);
    let cluster = Arc::new(Mutex::new(cluster));
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .context("cannot connect to the private cluster")?;
    sqlx::raw_sql("CREATE DATABASE fleet_chaos")
        .execute(&mut admin)
        .await
        .context("cannot create the database")?;
    let _ = admin.close().await;
    say(format!("postgres on port {}", lock(&cluster).port()));

    let db_env = vec![("DATABASE_URL".to_owned(), database_url.clone())];
    {
        let bin = bin.clone();
        let env = db_env.clone();
        let log = log_dir.join("migrate.log");
        tokio::task::spawn_blocking(move || run_once(&bin, &["migrate"], &env, &log))
            .await
            .context("migrate panicked")??;
    }

    // Secrets of this run: random, handed to the children by environment, never printed.
    let secret_key = uuid::Uuid::new_v4().to_string();
    let caller_token = uuid::Uuid::new_v4().simple().to_string();

    let emulator_port = free_port()?;
    let gateway_port = free_port()?;
    let emulator_url = format!("http://127.0.0.1:{emulator_port}");
    let gateway_url = format!("http://127.0.0.1:{gateway_port}");
    let mut sup = Supervisor::new(bin.clone(), log_dir.clone());

    let mut emulator_args = vec![
        "emulator".to_owned(),
        "--listen".to_owned(),
        format!("127.0.0.1:{emulator_port}"),
        "--transition".to_owned(),
        format!("{}ms", config.transition_ms),
        "--seed".to_owned(),
        config.seed.to_string(),
    ];
    if let Some(rate) = config.emulator_rate_limit {
        emulator_args.extend(["--rate-limit".to_owned(), rate.to_string()]);
    }
    sup.add(ProcSpec {
        name: "emulator".into(),
        args: emulator_args,
        env: vec![],
        worker_slot: None,
        restartable: false,
    })?;
    let emu = EmulatorAdmin::new(emulator_url.clone(), secret_key.clone())?;
    wait_for("the emulator to answer", Duration::from_secs(30), || {
        emu.healthy()
    })
    .await?;

    sup.add(ProcSpec {
        name: "scheduler".into(),
        args: vec!["scheduler".into()],
        env: with(&db_env, &[("FLEET_SCHEDULER_RESCUE_INTERVAL", "1s")]),
        worker_slot: None,
        restartable: true,
    })?;
    let zones_csv = config.zones.join(",");
    for n in 0..config.workers {
        let port = free_port()?;
        let listen = format!("127.0.0.1:{port}");
        let advertise = format!("http://{listen}");
        sup.add(ProcSpec {
            name: Target::Worker(n).name(),
            args: vec!["worker".into()],
            env: with(
                &db_env,
                &[
                    ("SCW_API_URL", &emulator_url),
                    ("SCW_SECRET_KEY", &secret_key),
                    ("SCW_ACCESS_KEY", "SCWXXXXXXXXXXXXXXXXX"),
                    ("SCW_DEFAULT_PROJECT_ID", &secret_key),
                    ("FLEET_WORKER_LISTEN", &listen),
                    ("FLEET_WORKER_ADVERTISE", &advertise),
                    ("FLEET_WORKER_ZONES", &zones_csv),
                    ("FLEET_WORKER_LEASE_TTL", "2s"),
                    ("FLEET_WORKER_JOB_LEASE", "5s"),
                ],
            ),
            worker_slot: Some(n),
            restartable: true,
        })?;
    }
    let callers = serde_json::json!([{
        "name": CALLER, "token": caller_token, "projects": ["*"], "role": "operator"
    }])
    .to_string();
    sup.add(ProcSpec {
        name: "gateway".into(),
        args: vec!["gateway".into()],
        env: with(
            &db_env,
            &[
                ("FLEET_GATEWAY_LISTEN", &format!("127.0.0.1:{gateway_port}")),
                ("FLEET_CALLERS", &callers),
                // A failed-over zone is routed to its new owner quickly.
                ("FLEET_GATEWAY_OWNER_CACHE", "500ms"),
            ],
        ),
        worker_slot: None,
        restartable: true,
    })?;
    let sup = Arc::new(Mutex::new(sup));
    // However `run` ends (error, panic), the children die with it: background tasks hold
    // clones of `sup`, so its own Drop alone could come too late.
    let _stop_children = StopOnDrop(Arc::clone(&sup));

    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy(&database_url)
        .context("invalid database url")?;
    {
        let pool = pool.clone();
        let zones = config.zones.clone();
        let sup = Arc::clone(&sup);
        wait_for(
            "the gateway and a lease on every zone",
            Duration::from_secs(90),
            move || {
                let pool = pool.clone();
                let zones = zones.clone();
                let sup = Arc::clone(&sup);
                async move {
                    let _ = lock(&sup).reap();
                    let leased: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM zone_leases WHERE zone = ANY($1) AND expires_at > now()",
                )
                .bind(&zones)
                .fetch_one(&pool)
                .await
                .unwrap_or(0);
                    leased == i64::try_from(zones.len()).unwrap_or(i64::MAX)
                        && tokio::net::TcpStream::connect(("127.0.0.1", gateway_port))
                            .await
                            .is_ok()
                }
            },
        )
        .await
        .with_context(|| format!("the fleet did not come up; logs in {}", log_dir.display()))?;
    }
    say(format!(
        "fleet up: emulator, scheduler, gateway, {} workers over {}",
        config.workers, zones_csv
    ));

    // Background: the lease poller (who holds what, for a kill while Postgres is down) and
    // the reaper (crashes).
    let current_leases: Arc<Mutex<HashMap<String, (String, i64)>>> = Arc::default();
    let poller = AbortOnDrop(tokio::spawn(poll_leases(
        pool.clone(),
        Arc::clone(&current_leases),
    )));
    let fatal: Arc<Mutex<Option<String>>> = Arc::default();
    let reaper = {
        let sup = Arc::clone(&sup);
        let fatal = Arc::clone(&fatal);
        AbortOnDrop(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                if let Err(err) = lock(&sup).reap() {
                    *lock(&fatal) = Some(format!("{err:#}"));
                    return;
                }
            }
        }))
    };

    let plan = Plan::draw(&PlanInput {
        seed: config.seed,
        duration: config.duration,
        kills: config.kills,
        pg_restarts: config.pg_restarts,
        workers: config.workers,
        storms: config.fault_storms,
        zones: config.zones.clone(),
    });
    let drive_start = Instant::now();
    let deadline = drive_start + config.duration + config.settle_timeout;
    let api = Api::new(&gateway_url, &caller_token)?;
    let driver = Driver::new(
        api,
        config.zones.clone(),
        secret_key.clone(),
        config.seed,
        deadline,
    );
    let policy = PolicyDriver::new(config.policy_servers, config.seed);
    say(format!(
        "driving {} operations over {:.0}s with {} kills, {} postgres restarts, {} storms",
        config.ops,
        config.duration.as_secs_f64(),
        plan.count(|e| matches!(e, Event::Kill(_))),
        plan.count(|e| matches!(e, Event::PgRestart)),
        plan.count(|e| matches!(e, Event::FaultsOn(_)))
    ));

    let mut disruptions = Disruptions::default();
    let chaos = async {
        for (at, event) in &plan.events {
            tokio::time::sleep_until((drive_start + *at).into()).await;
            if let Some(err) = lock(&fatal).clone() {
                bail!("the run broke: {err}");
            }
            let offset = drive_start.elapsed();
            match event {
                Event::Kill(target) => {
                    let name = target.name();
                    let worker_id = lock(&sup).worker_id(&name);
                    let held = match (target, worker_id) {
                        (Target::Worker(_), Some(id)) => {
                            Some((id.clone(), held_zones(&pool, &current_leases, &id).await))
                        }
                        _ => None,
                    };
                    let killed = lock(&sup).kill(&name)?;
                    say(format!(
                        "SIGKILL {name}{}",
                        held.as_ref()
                            .map(|(id, zones)| format!(" ({id}, holding {})", zones.join(" ")))
                            .unwrap_or_default()
                    ));
                    if let Some((id, zones)) = held {
                        disruptions.worker_kills.push(WorkerKill {
                            at: killed.at,
                            worker_id: id,
                            zones,
                        });
                    }
                    disruptions.kills.push((offset, name, killed.worker_id));
                }
                Event::Restart(target) => {
                    lock(&sup).restart(&target.name())?;
                    say(format!("restarted {}", target.name()));
                }
                Event::PgRestart => {
                    say("postgres: immediate shutdown and restart".to_owned());
                    let cluster = Arc::clone(&cluster);
                    let t = Instant::now();
                    tokio::task::spawn_blocking(move || lock(&cluster).restart_immediate())
                        .await
                        .context("postgres restart panicked")?
                        .context("postgres did not come back")?;
                    disruptions.pg_restarts.push(t.elapsed());
                    say(format!(
                        "postgres back after {:.2}s",
                        t.elapsed().as_secs_f64()
                    ));
                }
                Event::FaultsOn(storm) => {
                    let zones = storm
                        .zones
                        .as_ref()
                        .map_or_else(|| "every zone".to_owned(), |z| z.join(","));
                    retry_admin(|| emu.set_faults(storm)).await?;
                    say(format!("fault storm {} in {zones}", storm.name));
                    disruptions
                        .storms
                        .push((offset, storm.name.to_owned(), zones));
                }
                Event::FaultsOff => {
                    retry_admin(|| emu.clear_faults()).await?;
                    say("faults cleared".to_owned());
                }
            }
        }
        tokio::time::sleep_until((drive_start + config.duration).into()).await;
        // Settle: calm upstream, every role up, then let the driver's waits finish.
        retry_admin(|| emu.clear_faults()).await?;
        lock(&sup).ensure_all_up()?;
        // The policy's set of slots ends here; its runs in flight finish in the settle.
        policy.pause(&driver).await;
        let paused = policy.record();
        if let Some(name) = paused.name.as_deref() {
            say(match (&paused.pause_error, paused.paused) {
                (Some(err), _) => format!("PausePolicy {name} given up: {err}"),
                (None, true) => format!("paused {name}"),
                (None, false) => format!("{name} not paused (deadline)"),
            });
        }
        say("disruptions over: faults cleared, every process up; settling".to_owned());
        anyhow::Ok(())
    };
    let create_policy = async {
        // Near the start: as soon as the driver has servers in two zones with both root kinds
        // (within a fifth of the window), else whatever it has then.
        policy
            .create(
                &driver,
                config.duration.mul_f64(0.15),
                drive_start + config.duration,
                drive_start,
            )
            .await;
        let record = policy.record();
        match (&record.name, &record.create_error) {
            (Some(name), _) => say(format!(
                "created {name} ({CRON}, keep {KEEP_COUNT}) over {}",
                record
                    .servers
                    .iter()
                    .map(|s| format!("{}/{}", s.zone, s.root_volume))
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
            (None, Some(err)) => say(format!("CreatePolicy given up: {err}")),
            (None, None) => {}
        }
        anyhow::Ok(())
    };
    let window = config.duration.mul_f64(0.75);
    // A broken run (Postgres did not come back, the emulator died) stops the drive at once.
    tokio::try_join!(
        chaos,
        async {
            driver.drive(config.ops, window).await;
            anyhow::Ok(())
        },
        create_policy
    )?;
    if let Some(err) = lock(&fatal).clone() {
        bail!("the run broke: {err}");
    }
    let policy_record = policy.record();
    // The paused policy's runs in flight finish (within the settle's deadline).
    while Instant::now() < deadline {
        match policies::open_runs(&pool, CALLER, &policy_record.request_id).await {
            Ok(0) => break,
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    say("every operation is done or the settle deadline passed; checking".to_owned());

    // Checks.
    let records = driver.records();
    let finals = final_states(&driver, &records).await;
    let jobs = job_rows(&pool).await?;
    let mut tagged: HashMap<(&'static str, i64), usize> = HashMap::new();
    let mut snapshot_listings = Vec::new();
    for zone in &config.zones {
        // Creates of one kind may land in either API (an SBS volume's snapshot is a Block
        // snapshot): both are counted, so a duplicate across APIs shows too.
        for (kind, api, collection) in [
            ("server", UpstreamApi::Instance, "servers"),
            ("snapshot", UpstreamApi::Instance, "snapshots"),
            ("snapshot", UpstreamApi::Block, "snapshots"),
            ("volume", UpstreamApi::Instance, "volumes"),
            ("volume", UpstreamApi::Block, "volumes"),
        ] {
            let listed = retry_admin(|| emu.list_all(api, zone, collection)).await?;
            for (job, n) in count_job_tags(&listed) {
                *tagged.entry((kind, job)).or_insert(0) += n;
            }
            if collection == "snapshots" {
                snapshot_listings.extend(listed);
            }
        }
    }
    let calls = retry_admin(|| emu.calls()).await?;
    // Read after the call log, so every logged call's epoch is in it.
    let leases = lease_spans(&pool).await?;
    let (batches, children, child_jobs) =
        with_retries("the batch tables", || crate::batches::load(&pool)).await?;
    let policy_rows = with_retries("the policy tables", || {
        policies::load(&pool, CALLER, &policy_record.request_id)
    })
    .await?;

    drop(reaper);
    drop(poller);
    let unexpected_exits = {
        let mut sup = lock(&sup);
        sup.kill_all();
        sup.unexpected_exits().to_vec()
    };
    pool.close().await;
    // The cluster stops (and its directory goes) when the last handle drops.
    drop(cluster);

    // The requests' jobs: the children of the driver's batches and the policy's own jobs are
    // accounted for by the batch and policy checks. Every job may own a tagged resource.
    let orphans = analysis::check_orphans(&tagged, &jobs);
    let jobs = crate::batches::without_children(jobs, &records, &children);
    let jobs = policies::without_policy_jobs(jobs, policy_rows.as_ref());
    let mut report = assemble(&config, &records, &finals, &jobs, &tagged);
    report.orphans = orphans;
    report.policies = policies::check(
        &policies::Expected {
            record: &policy_record,
            period_s: PERIOD_S,
        },
        policy_rows.as_ref(),
        &policies::listed_snapshots(&snapshot_listings),
        &policies::deleted_snapshots(&calls),
    );
    report.batches = crate::batches::check(&batches, &children, &child_jobs);
    report.owners = analysis::check_owners(&calls, &leases);
    report.calls_total = calls.len();
    report.failovers = analysis::failovers(&disruptions.worker_kills, &leases, &calls);
    report.max_failover = report.failovers.iter().filter_map(|f| f.after).max();
    report.failover_bound = config.failover_bound;
    report.late_failovers = analysis::late_failovers(&report.failovers, config.failover_bound);
    report.kills = disruptions.kills;
    report.pg_restarts = disruptions.pg_restarts;
    report.storms = disruptions.storms;
    report.unexpected_exits = unexpected_exits;
    report.elapsed = started.elapsed();
    // Logs of a passing run in a directory we made up are noise; a failing run keeps them.
    if config.log_dir.is_none() && report.passed() {
        let _ = std::fs::remove_dir_all(&log_dir);
    } else {
        report.log_dir = Some(log_dir);
    }
    Ok(report)
}

struct StopOnDrop(Arc<Mutex<Supervisor>>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        lock(&self.0).kill_all();
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Default)]
struct Disruptions {
    kills: Vec<(Duration, String, Option<String>)>,
    worker_kills: Vec<WorkerKill>,
    pg_restarts: Vec<Duration>,
    storms: Vec<(Duration, String, String)>,
}

fn validate(config: &ChaosConfig) -> anyhow::Result<()> {
    if config.zones.is_empty() {
        bail!("no zones to drive");
    }
    if config.workers == 0 {
        bail!("at least one worker is needed");
    }
    if config.duration < Duration::from_secs(10) {
        bail!("the duration must be at least 10 s");
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn with(base: &[(String, String)], extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = base.to_vec();
    env.push(("RUST_LOG".into(), "info".into()));
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    env
}

/// Polls `ready` every 200 ms until it says yes or `within` passes.
async fn wait_for<F, Fut>(what: &str, within: Duration, mut ready: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if ready().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!(
        "timed out after {:.0}s waiting for {what}",
        within.as_secs_f64()
    )
}

/// Admin calls go to an emulator that may be injecting faults into its own zones' paths
/// only; still, a slow moment must not fail the run.
async fn retry_admin<T, F, Fut>(mut call: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let mut last = None;
    for attempt in 0..5u32 {
        match call().await {
            Ok(v) => return Ok(v),
            Err(err) => last = Some(err),
        }
        tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("admin call failed")))
}

/// Keeps the current owner of every zone, about every 250 ms (nothing while Postgres is down).
async fn poll_leases(pool: PgPool, current: Arc<Mutex<HashMap<String, (String, i64)>>>) {
    loop {
        let rows =
            sqlx::query("SELECT zone, owner, epoch FROM zone_leases WHERE expires_at > now()")
                .fetch_all(&pool)
                .await;
        if let Ok(rows) = rows {
            let mut now: HashMap<String, (String, i64)> = HashMap::new();
            for row in rows {
                let (Ok(zone), Ok(owner), Ok(epoch)) = (
                    row.try_get::<String, _>("zone"),
                    row.try_get::<String, _>("owner"),
                    row.try_get::<i64, _>("epoch"),
                ) else {
                    continue;
                };
                now.insert(zone, (owner, epoch));
            }
            *lock(&current) = now;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Zones `worker_id` holds right now (from Postgres, else the poller's last view).
async fn held_zones(
    pool: &PgPool,
    current: &Mutex<HashMap<String, (String, i64)>>,
    worker_id: &str,
) -> Vec<String> {
    let query = sqlx::query_scalar::<_, String>(
        "SELECT zone FROM zone_leases WHERE owner = $1 AND expires_at > now() ORDER BY zone",
    )
    .bind(worker_id)
    .fetch_all(pool);
    match tokio::time::timeout(Duration::from_secs(1), query).await {
        Ok(Ok(zones)) => zones,
        _ => {
            let mut zones: Vec<String> = lock(current)
                .iter()
                .filter(|(_, (owner, _))| owner == worker_id)
                .map(|(zone, _)| zone.clone())
                .collect();
            zones.sort();
            zones
        }
    }
}

/// The gateway's last word on every accepted operation (`GetOperation`), retried through
/// transient errors for at most a minute overall.
async fn final_states(
    driver: &Driver,
    records: &[OpRecord],
) -> HashMap<String, (bool, Option<String>)> {
    let give_up = Instant::now() + Duration::from_secs(60);
    let mut out = HashMap::new();
    for name in records.iter().filter_map(|r| r.name.clone()) {
        loop {
            match driver.api().get_operation(&name).await {
                Ok(op) => {
                    let error = match &op.result {
                        Some(fleet_proto::v1::operation::Result::Error(status)) => {
                            Some(format!("{:?}", tonic::Code::from(status.code)))
                        }
                        _ => None,
                    };
                    out.insert(name, (op.done, error));
                    break;
                }
                Err(_) if Instant::now() < give_up => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(_) => break,
            }
        }
    }
    out
}

/// Postgres may still be recovering from a restart: a few tries.
async fn with_retries<T, F, Fut>(what: &str, mut read: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let mut last = None;
    for _ in 0..10 {
        match read().await {
            Ok(v) => return Ok(v),
            Err(err) => last = Some(err),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("no attempt")))
        .with_context(|| format!("cannot read {what}"))
}

/// Every job row, with the gateway method that accepted it.
async fn job_rows(pool: &PgPool) -> anyhow::Result<Vec<JobRow>> {
    with_retries("the jobs table", || async {
        let rows = sqlx::query_as::<_, (i64, String, String, Option<String>, Option<String>)>(
            "SELECT j.id, j.state, j.caller, j.idempotency_key, g.method FROM jobs j \
             LEFT JOIN gateway_operations g ON g.job_id = j.id ORDER BY j.id",
        )
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, state, caller, request_id, method)| JobRow {
                id,
                state: JobState::parse(&state),
                caller,
                request_id,
                method,
            })
            .collect())
    })
    .await
}

/// The lease history (`zone_lease_history`), as spans.
async fn lease_spans(pool: &PgPool) -> anyhow::Result<Vec<LeaseSpan>> {
    with_retries("the zone lease history", || async {
        Ok(fleet_scheduler::lease_history(pool)
            .await?
            .into_iter()
            .map(|l| LeaseSpan {
                zone: l.zone,
                epoch: l.epoch,
                owner: l.owner,
                from: SystemTime::from(l.acquired_at),
                until: SystemTime::from(l.expires_at),
            })
            .collect())
    })
    .await
}
