//! Policies in the mix: near the start of the run the driver reserves a few of the servers it
//! created (never touched by its other operations again), creates one snapshot policy over
//! their root volumes through `fleet.v1.Policies/CreatePolicy` ([`CRON`]: a slot every
//! [`PERIOD_S`] seconds, `keep_count` [`KEEP_COUNT`]), and pauses it (`PausePolicy`) when the
//! disruptions end, so the check sees a finished set. Meanwhile the scheduler (whose cron task
//! fires the slots) and the gateway (whose policy runner turns each run job into a batch of
//! snapshots, then applies retention) are killed as the plan says, Postgres restarts and
//! storms fail snapshot calls.
//!
//! After the settle, [`check`] holds the policy to its promises, each from its own source:
//!
//! * **one job per slot**: `jobs` of kind `policy_run` of the policy, grouped by their
//!   `slot.local`: two run jobs for one slot is a fault (whoever fired them, under whatever
//!   key), and a slot's only job must be the one its `schedule_slots` record names;
//! * **no slot lost**: in `schedule_slots`, every slot between the policy's first (or the
//!   earliest one folded into a record, `first_missed_at`) and last recorded slot is on the
//!   period's grid and accounted for: recorded itself or folded into a later record's `missed`
//!   (records + Σ missed = slots between, at the period the driver chose);
//! * **runs and batches end**: every run job ended, and its `policy_runs` row is finished (not
//!   `running`); one run per slot; every run that started a batch has that batch ended
//!   (`completed`, `halted`, `cancelled`) with its parent job; the batch has exactly one child
//!   per reserved root volume (the batch check, `batches.rs`, holds the children themselves to
//!   one job each and the counts, for these batches as for the driver's);
//! * **one snapshot per volume per slot**, counted upstream, across retention's deletions.
//!
//! **Where the snapshots are counted, and why there.** Retention (`keep_count` 2) deletes most
//! of what the runs made, so the final listings alone would miss a second snapshot that was
//! made and deleted. Counting successful `POST …/snapshots` calls in the emulator's call log
//! would see every creation (an injected fault never acts, and a lost answer's retry is
//! adopted by the child job's tag, so it makes no second POST), but the log holds no body: it
//! cannot tell a policy snapshot from one of the driver's, nor which volume or slot it was
//! for. So a snapshot is identified by its **id**, and the set of the policy's snapshots is the
//! union of
//!
//! * the final listings of both APIs in every zone: each snapshot carrying `fleet-policy=<id>`,
//!   attributed by its own tags (`fleet-policy-slot=<unix>`) and its base (Instance) or parent
//!   (Block) volume, and
//! * the snapshots deleted on the way: the ids of the call log's successful `DELETE
//!   …/snapshots/{id}` (retention is the only deleter of snapshots in the mix), attributed by
//!   the child job that recorded making it (`jobs.progress.upstream_ids`, saved by the worker
//!   right after the create answered, or on adoption) → its batch → its run's slot, and the
//!   child's volume.
//!
//! Counting distinct ids cannot count one snapshot twice (listed while its deletion is logged,
//! a DELETE retried after a lost answer), and no snapshot escapes both sources: it is either
//! still there or was deleted with a 2xx in the log. A deleted snapshot no job recorded making
//! (a second create that nothing adopted) is a fault of its own; one recorded by a job that is
//! not the policy's (none in this mix) is left out. Then every (slot, volume) must have at most
//! one snapshot.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

use fleet_gateway::batches::ChildTarget;
use fleet_gateway::policies::{POLICY_TAG, RUN_KIND, SLOT_TAG, policy_name, spec};
use fleet_proto::v1;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::Value;
use sqlx::PgPool;
use sqlx::Row as _;
use tonic::{Request, Status};

use crate::analysis::{Call, JobRow};
use crate::driver::{Driver, Reserved, retryable};

/// The policy's one cron: a slot every ten seconds, so a short run sees several and a long
/// run many.
pub const CRON: &str = "*/10 * * * * *";
/// The period of [`CRON`], in seconds.
pub const PERIOD_S: i64 = 10;
/// Retention: the newest two policy snapshots of each volume stay.
pub const KEEP_COUNT: u32 = 2;

/// What the driver did about its policy.
#[derive(Debug, Clone, Default)]
pub struct PolicyRecord {
    /// CreatePolicy's request_id (AIP-155): the check finds the policy by it, answered or not.
    pub request_id: String,
    /// The servers the policy selects (their root volumes are what it snapshots).
    pub servers: Vec<Reserved>,
    /// `policies/{id}`, once CreatePolicy answered.
    pub name: Option<String>,
    /// Why the driver never got an answer to CreatePolicy (it gave up), if it did not.
    pub create_error: Option<String>,
    /// PausePolicy answered.
    pub paused: bool,
    /// Why PausePolicy was given up on.
    pub pause_error: Option<String>,
    /// Time from the start of the drive to CreatePolicy's answer.
    pub created_after: Option<Duration>,
}

/// The driver's side of the policy: creates it over reserved servers, pauses it at the end.
pub struct PolicyDriver {
    servers: usize,
    seed: u64,
    record: Mutex<PolicyRecord>,
    /// The create is over (answered, given up, or nothing to select).
    create_over: std::sync::atomic::AtomicBool,
}

impl PolicyDriver {
    /// A policy over `servers` servers (0: no policy in this run).
    pub fn new(servers: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x706f_6c69_6379);
        let request_id = uuid::Builder::from_random_bytes(rng.random())
            .into_uuid()
            .to_string();
        Self {
            servers,
            seed,
            record: Mutex::new(PolicyRecord {
                request_id,
                ..PolicyRecord::default()
            }),
            create_over: std::sync::atomic::AtomicBool::new(servers == 0),
        }
    }

    /// What happened so far.
    pub fn record(&self) -> PolicyRecord {
        self.record
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits for servers to reserve (a spread over zones and both root kinds within `patience`,
    /// then whatever there is, until `stop`: no policy without servers), then creates the
    /// policy, retrying like every other call.
    pub async fn create(
        &self,
        driver: &Driver,
        patience: Duration,
        stop: Instant,
        drive_start: Instant,
    ) {
        if self.servers == 0 {
            return;
        }
        let spread_until = Instant::now() + patience;
        let give_up = stop.min(driver.deadline());
        let servers = loop {
            let spread = Instant::now() < spread_until;
            if let Some(servers) = driver.reserve(self.servers, spread) {
                break Some(servers);
            }
            if Instant::now() >= give_up {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let Some(servers) = servers else {
            self.over();
            return;
        };
        let request_id = {
            let mut record = self.lock();
            record.servers.clone_from(&servers);
            record.request_id.clone()
        };
        let mut zones: Vec<String> = servers.iter().map(|s| s.zone.clone()).collect();
        zones.sort();
        zones.dedup();
        let request = v1::CreatePolicyRequest {
            policy: Some(v1::Policy {
                display_name: format!("{}-policy", driver.run_tag()),
                project: driver.project().to_owned(),
                kind: Some(v1::policy::Kind::Snapshot(v1::SnapshotPolicy {
                    selector: Some(v1::BatchSelector {
                        zones,
                        server_ids: servers.iter().map(|s| s.id.clone()).collect(),
                        ..Default::default()
                    }),
                    root_volume_only: true,
                    crons: vec![CRON.to_owned()],
                    keep_count: KEEP_COUNT,
                    tags: vec![driver.run_tag().to_owned()],
                    ..Default::default()
                })),
                ..Default::default()
            }),
            request_id,
        };
        let answer = retried(self.seed, driver.deadline(), || {
            let mut client = driver.api().policies();
            let request = timed(request.clone());
            async move { client.create_policy(request).await }
        })
        .await;
        {
            let mut record = self.lock();
            match answer {
                Ok(policy) => {
                    record.name = Some(policy.name);
                    record.created_after = Some(drive_start.elapsed());
                }
                Err(status) => {
                    record.create_error = Some(format!("{:?}: {}", status.code(), status.message()))
                }
            }
        }
        self.over();
    }

    /// Pauses the policy (once the create is over), retrying like every other call.
    pub async fn pause(&self, driver: &Driver) {
        while !self.create_over.load(std::sync::atomic::Ordering::SeqCst) {
            if Instant::now() >= driver.deadline() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let Some(name) = self.lock().name.clone() else {
            return;
        };
        let answer = retried(self.seed ^ 1, driver.deadline(), || {
            let mut client = driver.api().policies();
            let request = timed(v1::PolicyRequest { name: name.clone() });
            async move { client.pause_policy(request).await }
        })
        .await;
        let mut record = self.lock();
        match answer {
            Ok(_) => record.paused = true,
            Err(status) => {
                record.pause_error = Some(format!("{:?}: {}", status.code(), status.message()))
            }
        }
    }

    fn over(&self) {
        self.create_over
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PolicyRecord> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn timed<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(Duration::from_secs(20));
    request
}

/// Sends `call` until it answers, retrying retryable codes with jittered back-off for up to
/// two minutes (and not past `deadline`): the driver's rule for every call.
async fn retried<T, F, Fut>(seed: u64, deadline: Instant, mut call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, Status>>,
{
    let mut rng = StdRng::seed_from_u64(seed ^ 0x0072_6574_7279);
    let give_up = (Instant::now() + Duration::from_secs(120)).min(deadline);
    let mut backoff = Duration::from_millis(200);
    loop {
        match call().await {
            Ok(answer) => return Ok(answer.into_inner()),
            Err(status) if retryable(status.code()) && Instant::now() < give_up => {
                tokio::time::sleep(backoff.mul_f64(rng.random_range(0.5..1.5))).await;
                backoff = (backoff * 2).min(Duration::from_secs(3));
            }
            Err(status) => return Err(status),
        }
    }
}

/// One `schedule_slots` record of the policy's schedules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRow {
    pub schedule: String,
    pub local: String,
    /// The instant the slot was due, unix seconds.
    pub at: i64,
    /// `fired`, `fired_late` or `skipped`.
    pub outcome: String,
    pub job_id: Option<i64>,
    /// Earlier slots folded into this record, and the earliest of them (unix seconds).
    pub missed: i64,
    pub first_missed_at: Option<i64>,
}

/// One job of kind `policy_run` of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunJob {
    pub id: i64,
    pub state: String,
    /// `schedule` or `manual` (`args.trigger`).
    pub trigger: String,
    /// `args.slot.local`.
    pub slot_local: String,
}

/// One `policy_runs` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRow {
    pub id: i64,
    pub trigger: String,
    pub slot_local: String,
    /// Unix seconds: what the run's snapshots carry in `fleet-policy-slot`.
    pub slot_at: i64,
    pub outcome: String,
    pub batch_id: Option<i64>,
}

/// A batch a run started, with its parent job's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunBatch {
    pub id: i64,
    pub state: String,
    pub job_state: String,
}

/// A child of a run's batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunChild {
    pub batch_id: i64,
    pub position: i32,
    /// The volume it snapshots.
    pub volume: String,
    pub job_id: Option<i64>,
    /// What its job recorded making (`jobs.progress.upstream_ids`).
    pub recorded: Vec<String>,
}

/// What Postgres holds about the policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyRows {
    pub id: i64,
    /// `active` or `paused`.
    pub state: String,
    pub slots: Vec<SlotRow>,
    pub run_jobs: Vec<RunJob>,
    pub runs: Vec<RunRow>,
    pub batches: Vec<RunBatch>,
    pub children: Vec<RunChild>,
    /// Ids recorded by jobs that are not the policy's (the driver's own creates).
    pub others_recorded: HashSet<String>,
}

/// A snapshot of the final listings that carries a `fleet-policy=` tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSnapshot {
    pub id: String,
    pub policy: Option<i64>,
    /// `fleet-policy-slot=<unix>`.
    pub slot: Option<i64>,
    /// The base (Instance) or parent (Block) volume.
    pub volume: Option<String>,
    /// `fleet-job=<id>`: the child job that made it.
    pub job: Option<i64>,
}

/// The policy's snapshots in raw emulator listings (both APIs' shapes).
pub fn listed_snapshots(listings: &[Value]) -> Vec<ListedSnapshot> {
    let policy_prefix = format!("{POLICY_TAG}=");
    let slot_prefix = format!("{SLOT_TAG}=");
    listings
        .iter()
        .filter_map(|item| {
            let tags: Vec<&str> = item
                .get("tags")?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let policy = tags
                .iter()
                .find_map(|t| t.strip_prefix(&policy_prefix))
                .map(|p| p.parse().ok())?;
            let volume = ["base_volume", "parent_volume"]
                .iter()
                .find_map(|key| item.get(*key)?.get("id")?.as_str())
                .map(str::to_owned);
            Some(ListedSnapshot {
                id: item.get("id")?.as_str()?.to_owned(),
                policy,
                slot: tags
                    .iter()
                    .find_map(|t| t.strip_prefix(&slot_prefix)?.parse().ok()),
                volume,
                job: tags.iter().find_map(|t| fleet_jobs::parse_job_tag(t)),
            })
        })
        .collect()
}

/// Snapshot ids deleted with a successful answer, from the call log (either API).
pub fn deleted_snapshots(calls: &[Call]) -> BTreeSet<String> {
    calls
        .iter()
        .filter(|c| c.method == "DELETE" && (200..300).contains(&c.status))
        .filter_map(|c| {
            let segs: Vec<&str> = c.path.trim_start_matches('/').split('/').collect();
            match segs.as_slice() {
                ["instance" | "block", _, "zones", _, "snapshots", id] => Some((*id).to_owned()),
                _ => None,
            }
        })
        .collect()
}

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyCheck {
    /// The policy existed (was found in Postgres).
    pub created: bool,
    /// Slots recorded, and earlier slots folded into them.
    pub slots: usize,
    pub missed: usize,
    pub skipped: usize,
    /// Runs recorded, and batches they started.
    pub runs: usize,
    pub batches: usize,
    /// Distinct policy snapshots made, and those deleted on the way.
    pub snapshots: usize,
    pub deleted: usize,
    /// One line per broken promise.
    pub faults: Vec<String>,
}

/// What the check expects: the reserved root volumes, the period, and what the driver saw.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub record: &'a PolicyRecord,
    pub period_s: i64,
}

const JOB_ENDED: [&str; 3] = ["completed", "failed", "cancelled"];
const BATCH_ENDED: [&str; 3] = ["completed", "halted", "cancelled"];

/// Checks the policy's slots, runs, batches and snapshots (see the module doc). `rows` is
/// `None` when no policy with the driver's request_id exists.
pub fn check(
    expected: &Expected<'_>,
    rows: Option<&PolicyRows>,
    listed: &[ListedSnapshot],
    deleted: &BTreeSet<String>,
) -> PolicyCheck {
    let record = expected.record;
    let mut found = PolicyCheck::default();
    let faults = &mut found.faults;
    if let Some(error) = &record.create_error {
        faults.push(format!("CreatePolicy given up: {error}"));
    }
    if let Some(error) = &record.pause_error {
        faults.push(format!("PausePolicy given up: {error}"));
    }
    let Some(rows) = rows else {
        if record.name.is_some() {
            faults.push(format!(
                "CreatePolicy answered {:?}, but no policy has its request_id",
                record.name
            ));
        }
        return found;
    };
    found.created = true;
    if record.name.is_none() {
        faults.push(format!(
            "policy {} exists though CreatePolicy never answered",
            rows.id
        ));
    }
    if rows.state != "paused" {
        faults.push(format!(
            "policy {} is {} at the check: its slots are not a finished set",
            rows.id, rows.state
        ));
    }
    check_slots(expected.period_s, rows, &mut found);
    check_runs(record, rows, &mut found);
    check_snapshots(rows, listed, deleted, &mut found);
    found
}

/// One job per slot; every slot between the first and the last accounted for.
fn check_slots(period: i64, rows: &PolicyRows, found: &mut PolicyCheck) {
    let faults = &mut found.faults;
    found.slots = rows.slots.len();
    found.missed = rows.slots.iter().map(|s| s.missed.max(0) as usize).sum();
    found.skipped = rows.slots.iter().filter(|s| s.outcome == "skipped").count();
    let jobs: HashMap<i64, &RunJob> = rows.run_jobs.iter().map(|j| (j.id, j)).collect();
    let mut by_slot: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for job in rows.run_jobs.iter().filter(|j| j.trigger == "schedule") {
        by_slot
            .entry(job.slot_local.as_str())
            .or_default()
            .push(job.id);
    }
    // The policy has one cron, so a local slot is one schedule's.
    let records: HashMap<&str, &SlotRow> =
        rows.slots.iter().map(|s| (s.local.as_str(), s)).collect();
    for (local, ids) in &by_slot {
        let named = records.get(local).and_then(|s| s.job_id);
        if ids.len() > 1 {
            faults.push(format!(
                "slot {local}: {} run jobs {ids:?} (its record names {named:?})",
                ids.len()
            ));
        } else if named != Some(ids[0]) {
            faults.push(format!(
                "run job {} (slot {local}) is not its slot's job: the record names {named:?}",
                ids[0]
            ));
        }
    }
    for slot in &rows.slots {
        match (slot.outcome.as_str(), slot.job_id) {
            ("skipped", None) => {}
            ("skipped", Some(job)) => {
                faults.push(format!("slot {} skipped, yet names job {job}", slot.local))
            }
            (_, Some(job)) if jobs.contains_key(&job) => {}
            (outcome, job) => faults.push(format!(
                "slot {} {outcome}, but its job {job:?} is no run job of the policy",
                slot.local
            )),
        }
    }
    let mut by_schedule: BTreeMap<&str, Vec<&SlotRow>> = BTreeMap::new();
    for slot in &rows.slots {
        by_schedule.entry(&slot.schedule).or_default().push(slot);
    }
    for (schedule, slots) in by_schedule {
        let Some(start) = slots
            .iter()
            .map(|s| s.first_missed_at.unwrap_or(s.at).min(s.at))
            .min()
        else {
            continue;
        };
        let end = slots.iter().map(|s| s.at).max().unwrap_or(start);
        for slot in &slots {
            if (slot.at - start).rem_euclid(period) != 0 {
                faults.push(format!(
                    "{schedule}: slot {} is off the {period}s grid from {start}",
                    slot.local
                ));
            }
        }
        let between = (end - start) / period + 1;
        let accounted: i64 = slots.iter().map(|s| 1 + s.missed.max(0)).sum();
        if accounted != between {
            faults.push(format!(
                "{schedule}: {between} slots from {start} to {end}, but {} recorded + {} missed",
                slots.len(),
                accounted - slots.len() as i64
            ));
        }
    }
}

/// Run jobs ended with their runs; one run per slot; batches ended, one child per volume.
fn check_runs(record: &PolicyRecord, rows: &PolicyRows, found: &mut PolicyCheck) {
    let faults = &mut found.faults;
    found.runs = rows.runs.len();
    let runs: HashMap<i64, &RunRow> = rows.runs.iter().map(|r| (r.id, r)).collect();
    for job in &rows.run_jobs {
        if !JOB_ENDED.contains(&job.state.as_str()) {
            faults.push(format!(
                "run job {} (slot {}) did not end: {}",
                job.id, job.slot_local, job.state
            ));
            continue;
        }
        match runs.get(&job.id) {
            None => faults.push(format!(
                "run job {} (slot {}) ended {} without a recorded run",
                job.id, job.slot_local, job.state
            )),
            Some(run) if run.outcome == "running" => faults.push(format!(
                "run job {} (slot {}) ended {}, its run is still running",
                job.id, job.slot_local, job.state
            )),
            Some(_) => {}
        }
    }
    let jobs: HashSet<i64> = rows.run_jobs.iter().map(|j| j.id).collect();
    let mut per_slot: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for run in &rows.runs {
        if !jobs.contains(&run.id) {
            faults.push(format!("run {} has no run job", run.id));
        }
        if run.trigger == "schedule" {
            per_slot
                .entry(run.slot_local.as_str())
                .or_default()
                .push(run.id);
        }
    }
    for (local, ids) in per_slot.iter().filter(|(_, ids)| ids.len() > 1) {
        faults.push(format!("slot {local}: {} runs {ids:?}", ids.len()));
    }
    let batches: HashMap<i64, &RunBatch> = rows.batches.iter().map(|b| (b.id, b)).collect();
    let mut children: HashMap<i64, Vec<&RunChild>> = HashMap::new();
    for child in &rows.children {
        children.entry(child.batch_id).or_default().push(child);
    }
    let volumes: BTreeSet<&str> = record
        .servers
        .iter()
        .map(|s| s.root_volume.as_str())
        .collect();
    for run in &rows.runs {
        let Some(batch_id) = run.batch_id else {
            continue;
        };
        found.batches += 1;
        let Some(batch) = batches.get(&batch_id) else {
            faults.push(format!(
                "run {}: its batch {batch_id} does not exist",
                run.id
            ));
            continue;
        };
        if !BATCH_ENDED.contains(&batch.state.as_str()) {
            faults.push(format!(
                "run {}: its batch {batch_id} did not end: {}",
                run.id, batch.state
            ));
        }
        if !JOB_ENDED.contains(&batch.job_state.as_str()) {
            faults.push(format!(
                "run {}: the parent job of batch {batch_id} is {}",
                run.id, batch.job_state
            ));
        }
        let mut per_volume: BTreeMap<&str, usize> = BTreeMap::new();
        for child in children.get(&batch_id).into_iter().flatten() {
            *per_volume.entry(child.volume.as_str()).or_default() += 1;
        }
        let twice: Vec<_> = per_volume.iter().filter(|(_, n)| **n > 1).collect();
        let made: BTreeSet<&str> = per_volume.keys().copied().collect();
        if !twice.is_empty() || made != volumes {
            faults.push(format!(
                "run {} (slot {}): batch {batch_id} has children {per_volume:?}, \
                 the selection's root volumes are {volumes:?}",
                run.id, run.slot_local
            ));
        }
    }
}

/// At most one snapshot per (slot, volume), counted by id across deletions.
fn check_snapshots(
    rows: &PolicyRows,
    listed: &[ListedSnapshot],
    deleted: &BTreeSet<String>,
    found: &mut PolicyCheck,
) {
    let faults = &mut found.faults;
    let slot_of_batch: HashMap<i64, i64> = rows
        .runs
        .iter()
        .filter_map(|r| Some((r.batch_id?, r.slot_at)))
        .collect();
    let child_jobs: HashSet<i64> = rows.children.iter().filter_map(|c| c.job_id).collect();
    // Snapshot id → (slot, volume), from the child job that recorded making it.
    let mut recorded: HashMap<&str, (i64, &str)> = HashMap::new();
    for child in &rows.children {
        let Some(&slot) = slot_of_batch.get(&child.batch_id) else {
            continue;
        };
        for id in &child.recorded {
            recorded.insert(id.as_str(), (slot, child.volume.as_str()));
        }
    }
    let mut made: BTreeMap<(i64, String), BTreeSet<String>> = BTreeMap::new();
    let ours: Vec<&ListedSnapshot> = listed
        .iter()
        .filter(|s| s.policy == Some(rows.id))
        .collect();
    let listed_ids: HashSet<&str> = ours.iter().map(|s| s.id.as_str()).collect();
    for snapshot in &ours {
        let (Some(slot), Some(volume)) = (snapshot.slot, snapshot.volume.as_deref()) else {
            faults.push(format!(
                "snapshot {} carries the policy's tag but no slot tag or volume",
                snapshot.id
            ));
            continue;
        };
        if !snapshot.job.is_some_and(|job| child_jobs.contains(&job)) {
            faults.push(format!(
                "snapshot {} (slot {slot}, volume {volume}) was made by job {:?}, \
                 no child of the policy's runs",
                snapshot.id, snapshot.job
            ));
        }
        if let Some(&(at, of)) = recorded.get(snapshot.id.as_str())
            && (at, of) != (slot, volume)
        {
            faults.push(format!(
                "snapshot {} is tagged slot {slot} volume {volume}, its child made it for \
                 slot {at} volume {of}",
                snapshot.id
            ));
        }
        made.entry((slot, volume.to_owned()))
            .or_default()
            .insert(snapshot.id.clone());
    }
    for id in deleted
        .iter()
        .filter(|id| !listed_ids.contains(id.as_str()))
    {
        match recorded.get(id.as_str()) {
            Some(&(slot, volume)) => {
                found.deleted += 1;
                made.entry((slot, volume.to_owned()))
                    .or_default()
                    .insert(id.clone());
            }
            None if rows.others_recorded.contains(id) => {}
            None => {
                found.deleted += 1;
                faults.push(format!(
                    "snapshot {id} was deleted, and no job recorded making it"
                ));
            }
        }
    }
    found.snapshots = made.values().map(BTreeSet::len).sum();
    let local_of: HashMap<i64, &str> = rows
        .runs
        .iter()
        .map(|r| (r.slot_at, r.slot_local.as_str()))
        .collect();
    for ((slot, volume), ids) in made.iter().filter(|(_, ids)| ids.len() > 1) {
        let local = local_of.get(slot).copied().unwrap_or("?");
        faults.push(format!(
            "slot {local} ({slot}): {} snapshots of volume {volume}: {ids:?}",
            ids.len()
        ));
    }
}

/// `jobs` without the policy's own (its run jobs, their batches and those batches'
/// children): they are no requests of the driver's, and [`check`] and the batch check account
/// for them. A job of the policy's caller that no run accounts for stays, and the
/// one-job-per-request check reports it.
pub fn without_policy_jobs(jobs: Vec<JobRow>, rows: Option<&PolicyRows>) -> Vec<JobRow> {
    let Some(rows) = rows else {
        return jobs;
    };
    let ours: HashSet<i64> = rows
        .run_jobs
        .iter()
        .map(|j| j.id)
        .chain(rows.runs.iter().filter_map(|r| r.batch_id))
        .chain(rows.children.iter().filter_map(|c| c.job_id))
        .collect();
    jobs.into_iter().filter(|j| !ours.contains(&j.id)).collect()
}

/// Open run jobs of the policy of `request_id` (0 when there is no such policy).
pub async fn open_runs(pool: &PgPool, creator: &str, request_id: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM jobs j JOIN policies p ON j.args->>'policy_id' = p.id::text \
         WHERE p.creator = $1 AND p.request_id = $2 AND j.kind = $3 \
           AND j.state NOT IN ('completed', 'failed', 'cancelled')",
    )
    .bind(creator)
    .bind(request_id)
    .bind(RUN_KIND)
    .fetch_one(pool)
    .await?)
}

/// Reads the policy `creator` made under `request_id`, with its slots, run jobs, runs, their
/// batches and children; `None` when there is none.
pub async fn load(
    pool: &PgPool,
    creator: &str,
    request_id: &str,
) -> anyhow::Result<Option<PolicyRows>> {
    let Some(row) =
        sqlx::query("SELECT id, state FROM policies WHERE creator = $1 AND request_id = $2")
            .bind(creator)
            .bind(request_id)
            .fetch_optional(pool)
            .await?
    else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    let mut rows = PolicyRows {
        id,
        state: row.try_get("state")?,
        ..PolicyRows::default()
    };
    rows.slots = sqlx::query(
        "SELECT schedule, slot_local, extract(epoch FROM slot_at)::bigint AS at, outcome, \
                job_id, missed::bigint AS missed, \
                extract(epoch FROM first_missed_at)::bigint AS first_missed \
         FROM schedule_slots WHERE schedule LIKE $1 ORDER BY schedule, slot_at",
    )
    .bind(spec::schedule_pattern(id))
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(SlotRow {
            schedule: r.try_get("schedule")?,
            local: r.try_get("slot_local")?,
            at: r.try_get("at")?,
            outcome: r.try_get("outcome")?,
            job_id: r.try_get("job_id")?,
            missed: r.try_get("missed")?,
            first_missed_at: r.try_get("first_missed")?,
        })
    })
    .collect::<Result<_, sqlx::Error>>()?;
    rows.run_jobs = sqlx::query(
        "SELECT id, state, coalesce(args->>'trigger', '') AS trigger, \
                coalesce(args->'slot'->>'local', '') AS local \
         FROM jobs WHERE kind = $1 AND args->>'policy_id' = $2 ORDER BY id",
    )
    .bind(RUN_KIND)
    .bind(id.to_string())
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(RunJob {
            id: r.try_get("id")?,
            state: r.try_get("state")?,
            trigger: r.try_get("trigger")?,
            slot_local: r.try_get("local")?,
        })
    })
    .collect::<Result<_, sqlx::Error>>()?;
    rows.runs = sqlx::query(
        "SELECT id, trigger, slot_local, extract(epoch FROM slot_at)::bigint AS at, outcome, \
                batch_id \
         FROM policy_runs WHERE policy_id = $1 ORDER BY slot_at, id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(RunRow {
            id: r.try_get("id")?,
            trigger: r.try_get("trigger")?,
            slot_local: r.try_get("slot_local")?,
            slot_at: r.try_get("at")?,
            outcome: r.try_get("outcome")?,
            batch_id: r.try_get("batch_id")?,
        })
    })
    .collect::<Result<_, sqlx::Error>>()?;
    rows.batches = sqlx::query(
        "SELECT b.id, b.state, coalesce(j.state, 'missing') AS job_state \
         FROM batches b LEFT JOIN jobs j ON j.id = b.id \
         WHERE b.id IN (SELECT batch_id FROM policy_runs WHERE policy_id = $1) ORDER BY b.id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(RunBatch {
            id: r.try_get("id")?,
            state: r.try_get("state")?,
            job_state: r.try_get("job_state")?,
        })
    })
    .collect::<Result<_, sqlx::Error>>()?;
    rows.children = sqlx::query(
        "SELECT c.batch_id, c.position, c.resource_id, c.job_id, \
                CASE WHEN jsonb_typeof(j.progress->'upstream_ids') = 'array' \
                     THEN j.progress->'upstream_ids' ELSE '[]'::jsonb END AS recorded \
         FROM batch_children c LEFT JOIN jobs j ON j.id = c.job_id \
         WHERE c.batch_id IN (SELECT batch_id FROM policy_runs WHERE policy_id = $1) \
         ORDER BY c.batch_id, c.position",
    )
    .bind(id)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        let recorded: Value = r.try_get("recorded")?;
        let target = ChildTarget::decode(&r.try_get::<String, _>("resource_id")?);
        Ok(RunChild {
            batch_id: r.try_get("batch_id")?,
            position: r.try_get("position")?,
            volume: target.id().to_owned(),
            job_id: r.try_get("job_id")?,
            recorded: serde_json::from_value(recorded).unwrap_or_default(),
        })
    })
    .collect::<Result<_, sqlx::Error>>()?;
    rows.others_recorded = sqlx::query_scalar::<_, String>(
        "SELECT DISTINCT u.id FROM jobs j, \
             jsonb_array_elements_text(CASE WHEN jsonb_typeof(j.progress->'upstream_ids') = 'array' \
                 THEN j.progress->'upstream_ids' ELSE '[]'::jsonb END) AS u(id) \
         WHERE j.caller <> $1",
    )
    .bind(policy_name(id))
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();
    Ok(Some(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000;

    fn record() -> PolicyRecord {
        PolicyRecord {
            request_id: "r".into(),
            servers: ["vol-a", "vol-b"]
                .iter()
                .enumerate()
                .map(|(i, v)| Reserved {
                    zone: "fr-par-1".into(),
                    id: format!("srv-{i}"),
                    root_volume: (*v).to_owned(),
                    root_is_sbs: i == 1,
                })
                .collect(),
            name: Some("policies/1".into()),
            paused: true,
            ..PolicyRecord::default()
        }
    }

    fn local(n: i64) -> String {
        format!("2027-01-15T08:00:{:02}", n * 10)
    }

    fn slot(n: i64, job: i64) -> SlotRow {
        SlotRow {
            schedule: "policy:1:0".into(),
            local: local(n),
            at: T0 + n * 10,
            outcome: "fired".into(),
            job_id: Some(job),
            missed: 0,
            first_missed_at: None,
        }
    }

    fn job(id: i64, n: i64) -> RunJob {
        RunJob {
            id,
            state: "completed".into(),
            trigger: "schedule".into(),
            slot_local: local(n),
        }
    }

    fn run(id: i64, n: i64, batch: i64) -> RunRow {
        RunRow {
            id,
            trigger: "schedule".into(),
            slot_local: local(n),
            slot_at: T0 + n * 10,
            outcome: "succeeded".into(),
            batch_id: Some(batch),
        }
    }

    fn child(batch: i64, position: i32, volume: &str, snapshot: &str) -> RunChild {
        RunChild {
            batch_id: batch,
            position,
            volume: volume.into(),
            job_id: Some(batch * 10 + i64::from(position)),
            recorded: vec![snapshot.into()],
        }
    }

    /// Three slots, each with its job, run and batch of two snapshots; retention deleted the
    /// first slot's two.
    fn clean() -> (PolicyRows, Vec<ListedSnapshot>, BTreeSet<String>) {
        let mut rows = PolicyRows {
            id: 1,
            state: "paused".into(),
            ..PolicyRows::default()
        };
        for n in 0..3 {
            let (job_id, batch) = (100 + n, 200 + n);
            rows.slots.push(slot(n, job_id));
            rows.run_jobs.push(job(job_id, n));
            rows.runs.push(run(job_id, n, batch));
            rows.batches.push(RunBatch {
                id: batch,
                state: "completed".into(),
                job_state: "completed".into(),
            });
            rows.children
                .push(child(batch, 0, "vol-a", &format!("snap-{n}a")));
            rows.children
                .push(child(batch, 1, "vol-b", &format!("snap-{n}b")));
        }
        rows.others_recorded.insert("snap-driver".into());
        let listed = [(1, "a"), (1, "b"), (2, "a"), (2, "b")]
            .iter()
            .map(|(n, v)| ListedSnapshot {
                id: format!("snap-{n}{v}"),
                policy: Some(1),
                slot: Some(T0 + n * 10),
                volume: Some(format!("vol-{v}")),
                job: Some((200 + n) * 10 + i64::from(*v == "b")),
            })
            .collect();
        let deleted = ["snap-0a", "snap-0b", "snap-driver"]
            .map(str::to_owned)
            .into();
        (rows, listed, deleted)
    }

    fn faults(
        rows: &PolicyRows,
        listed: &[ListedSnapshot],
        deleted: &BTreeSet<String>,
    ) -> Vec<String> {
        let record = record();
        let expected = Expected {
            record: &record,
            period_s: 10,
        };
        check(&expected, Some(rows), listed, deleted).faults
    }

    #[test]
    fn a_policy_that_kept_every_promise_passes() {
        let (rows, listed, deleted) = clean();
        let record = record();
        let expected = Expected {
            record: &record,
            period_s: 10,
        };
        let found = check(&expected, Some(&rows), &listed, &deleted);
        assert_eq!(found.faults, Vec::<String>::new());
        assert_eq!(
            (
                found.slots,
                found.runs,
                found.batches,
                found.snapshots,
                found.deleted
            ),
            (3, 3, 3, 6, 2)
        );
    }

    #[test]
    fn two_run_jobs_for_one_slot_are_a_fault() {
        // The broken firer: a twin job under a second key for slot 1, which ran too (its own
        // run, batch and snapshots, tagged with the same slot).
        let (mut rows, mut listed, deleted) = clean();
        rows.run_jobs.push(job(150, 1));
        rows.runs.push(run(150, 1, 250));
        rows.batches.push(RunBatch {
            id: 250,
            state: "completed".into(),
            job_state: "completed".into(),
        });
        rows.children.push(child(250, 0, "vol-a", "snap-twin-a"));
        rows.children.push(child(250, 1, "vol-b", "snap-twin-b"));
        listed.push(ListedSnapshot {
            id: "snap-twin-a".into(),
            policy: Some(1),
            slot: Some(T0 + 10),
            volume: Some("vol-a".into()),
            job: Some(2500),
        });
        let mut deleted = deleted;
        deleted.insert("snap-twin-b".into());
        let found = faults(&rows, &listed, &deleted);
        assert!(found[0].contains("2 run jobs [101, 150]"), "{found:?}");
        assert!(found.iter().any(|f| f.contains("2 runs")), "{found:?}");
        // Both volumes made twice in slot 1: one seen listed, one only in the call log.
        let twice: Vec<_> = found.iter().filter(|f| f.contains("2 snapshots")).collect();
        assert_eq!(twice.len(), 2, "{found:?}");
        assert!(
            twice[0]
                .starts_with("slot 2027-01-15T08:00:10 (1800000010): 2 snapshots of volume vol-a"),
            "{found:?}"
        );
        // A job of the slot that its record does not name, alone, is a fault too.
        let (mut rows, listed, deleted) = clean();
        rows.slots[2].job_id = Some(999);
        let found = faults(&rows, &listed, &deleted);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("not its slot's job"));
        assert!(found[1].contains("no run job"));
    }

    #[test]
    fn a_gap_not_covered_by_missed_is_a_fault() {
        // Slot 1's record (and its run) vanish: slots 0 and 2 with nothing between.
        let (mut rows, listed, deleted) = clean();
        rows.slots.remove(1);
        let found = faults(&rows, &listed, &deleted);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("is not its slot's job"), "{found:?}");
        assert!(
            found[1].contains("3 slots from") && found[1].contains("2 recorded + 0 missed"),
            "{found:?}"
        );
        // The same gap folded into the later record (every scheduler was down): accounted.
        let (mut rows, listed, deleted) = clean();
        rows.slots.remove(1);
        rows.slots[1].missed = 1;
        rows.slots[1].first_missed_at = Some(T0 + 10);
        rows.slots[1].outcome = "fired_late".into();
        rows.run_jobs.remove(1);
        rows.runs.remove(1);
        let found = faults(&rows, &listed, &deleted);
        assert!(found.iter().all(|f| !f.contains("recorded +")), "{found:?}");
        // A fold that counts a slot twice (missed 1 although nothing lies between) is too.
        let (mut rows, listed, deleted) = clean();
        rows.slots[2].missed = 1;
        let found = faults(&rows, &listed, &deleted);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("3 recorded + 1 missed"), "{found:?}");
        // Off the grid.
        let (mut rows, listed, deleted) = clean();
        rows.slots[1].at += 3;
        let found = faults(&rows, &listed, &deleted);
        assert!(found[0].contains("off the 10s grid"), "{found:?}");
    }

    #[test]
    fn unfinished_runs_and_batches_and_wrong_children_are_faults() {
        let (mut rows, listed, deleted) = clean();
        rows.runs[0].outcome = "running".into();
        rows.run_jobs[1].state = "running".into();
        rows.batches[2].state = "running".into();
        let found = faults(&rows, &listed, &deleted);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("its run is still running"));
        assert!(found[1].contains("did not end: running"));
        assert!(found[2].contains("batch 202 did not end"));
        // A child missing, and one volume twice.
        let (mut rows, listed, deleted) = clean();
        rows.children[1].volume = "vol-a".into();
        let found = faults(&rows, &listed, &deleted);
        assert!(
            found.iter().any(|f| f.contains("has children")),
            "{found:?}"
        );
        // Still active at the check; CreatePolicy never answered although it exists.
        let (mut rows, listed, deleted) = clean();
        rows.state = "active".into();
        let mut record = record();
        record.name = None;
        record.create_error = Some("Unavailable: gone".into());
        let expected = Expected {
            record: &record,
            period_s: 10,
        };
        let found = check(&expected, Some(&rows), &listed, &deleted).faults;
        assert_eq!(found.len(), 3, "{found:?}");
    }

    #[test]
    fn a_second_snapshot_is_seen_listed_or_deleted() {
        // A child that created twice, the extra one unrecorded and deleted by retention.
        let (rows, listed, mut deleted) = clean();
        deleted.insert("snap-extra".into());
        let found = faults(&rows, &listed, &deleted);
        assert_eq!(
            found,
            ["snapshot snap-extra was deleted, and no job recorded making it"]
        );
        // The extra one still listed, carrying the child's tags.
        let (rows, mut listed, deleted) = clean();
        let mut extra = listed[0].clone();
        extra.id = "snap-extra".into();
        listed.push(extra);
        let found = faults(&rows, &listed, &deleted);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("2 snapshots of volume vol-a"),
            "{found:?}"
        );
        // A policy snapshot made by no child of its runs, and one without its slot tag.
        let (rows, mut listed, deleted) = clean();
        listed[0].job = Some(77);
        listed[1].slot = None;
        let found = faults(&rows, &listed, &deleted);
        assert_eq!(found.len(), 2, "{found:?}");
        // A snapshot both listed and deleted (its DELETE logged as it was listed) is one.
        let (rows, listed, mut deleted) = clean();
        deleted.insert("snap-1a".into());
        assert_eq!(faults(&rows, &listed, &deleted), Vec::<String>::new());
    }

    #[test]
    fn listings_and_deletions_parse_both_apis() {
        let listings = [
            serde_json::json!({"id": "i1", "base_volume": {"id": "v1"},
                "tags": ["fleet-policy=4", "fleet-policy-slot=1800000000", "fleet-job=9"]}),
            serde_json::json!({"id": "b1", "parent_volume": {"id": "v2", "type": "sbs_5k"},
                "tags": ["fleet-job=10", "fleet-policy=4", "fleet-policy-slot=1800000010"]}),
            serde_json::json!({"id": "x", "tags": ["fleet-job=11"]}),
        ];
        let listed = listed_snapshots(&listings);
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].volume.as_deref(), Some("v1"));
        assert_eq!(listed[1].volume.as_deref(), Some("v2"));
        assert_eq!(
            (listed[1].policy, listed[1].slot, listed[1].job),
            (Some(4), Some(T0 + 10), Some(10))
        );
        let call = |method: &str, path: &str, status| Call {
            at: std::time::SystemTime::UNIX_EPOCH,
            method: method.into(),
            path: path.into(),
            zone: Some("fr-par-1".into()),
            status,
            caller: None,
        };
        let calls = [
            call("DELETE", "/block/v1/zones/fr-par-1/snapshots/b1", 204),
            call("DELETE", "/instance/v1/zones/fr-par-1/snapshots/i1", 204),
            call("DELETE", "/instance/v1/zones/fr-par-1/snapshots/i2", 503),
            call("DELETE", "/instance/v1/zones/fr-par-1/volumes/v9", 204),
            call(
                "POST",
                "/instance/v1/zones/fr-par-1/snapshots/i3/export",
                200,
            ),
        ];
        let deleted: Vec<String> = deleted_snapshots(&calls).into_iter().collect();
        assert_eq!(deleted, ["b1", "i1"]);
    }

    #[test]
    fn only_the_policys_own_jobs_leave_the_request_check() {
        use crate::analysis::JobState;
        let (rows, ..) = clean();
        let job = |id| JobRow {
            id,
            state: JobState::parse("completed"),
            caller: "policies/1".into(),
            request_id: None,
            method: None,
        };
        let kept: Vec<i64> = without_policy_jobs(
            vec![job(7), job(100), job(200), job(2000), job(2001), job(999)],
            Some(&rows),
        )
        .into_iter()
        .map(|j| j.id)
        .collect();
        assert_eq!(kept, [7, 999]);
    }
}
