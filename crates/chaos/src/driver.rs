//! The load: long-running operations through the gateway, as a well-behaved caller makes
//! them. Each has a request_id; a call that fails in transit is retried with the same
//! request_id (promise 3 makes that safe); then the caller waits for the operation.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use fleet_proto::v1;
use prost::Message as _;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tokio::sync::Semaphore;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Status};

/// Of the operations on existing servers, the share that are reboot batches.
const BATCH_SHARE: f64 = 0.15;
/// Servers in a batch at most.
const BATCH_SIZE: usize = 4;

/// Root volume of created servers: the whole local budget of a DEV1-S.
const ROOT_VOLUME_BYTES: u64 = 20_000_000_000;
const BLOCK_VOLUME_BYTES: u64 = 10_000_000_000;

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    CreateServer,
    PowerOff,
    PowerOn,
    Reboot,
    /// A snapshot of a local (Instance) root volume.
    CreateSnapshot,
    /// A snapshot of an SBS root volume (the Block API).
    CreateBlockSnapshot,
    /// An SBS volume (the Block API).
    CreateBlockVolume,
    /// A reboot batch over a few running servers of one zone (`crate::batches`).
    RebootBatch,
}

impl OpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::CreateServer => "create_server",
            OpKind::PowerOff => "poweroff",
            OpKind::PowerOn => "poweron",
            OpKind::Reboot => "reboot",
            OpKind::CreateSnapshot => "create_snapshot",
            OpKind::CreateBlockSnapshot => "create_snapshot.sbs",
            OpKind::CreateBlockVolume => "create_volume.sbs",
            OpKind::RebootBatch => "batch.reboot",
        }
    }

    /// The gateway method that submits it, as the gateway records it
    /// (`gateway_operations.method`): part of the key it deduplicates requests by.
    pub fn grpc_method(self) -> &'static str {
        match self {
            OpKind::CreateServer => "fleet.v1.Servers/CreateServer",
            OpKind::PowerOff => "fleet.v1.ServerActions/PowerOffServer",
            OpKind::PowerOn => "fleet.v1.ServerActions/PowerOnServer",
            OpKind::Reboot => "fleet.v1.ServerActions/RebootServer",
            OpKind::CreateSnapshot | OpKind::CreateBlockSnapshot => {
                "fleet.v1.Snapshots/CreateSnapshot"
            }
            OpKind::CreateBlockVolume => "fleet.v1.Volumes/CreateVolume",
            OpKind::RebootBatch => fleet_gateway::batches::CREATE_BATCH,
        }
    }

    /// The upstream resource kind a create leaves behind, tagged with its job.
    pub fn creates(self) -> Option<&'static str> {
        match self {
            OpKind::CreateServer => Some("server"),
            OpKind::CreateSnapshot | OpKind::CreateBlockSnapshot => Some("snapshot"),
            OpKind::CreateBlockVolume => Some("volume"),
            _ => None,
        }
    }
}

/// What happened to one operation, from the caller's side.
#[derive(Debug, Clone)]
pub struct OpRecord {
    pub index: usize,
    pub kind: OpKind,
    pub zone: String,
    /// Calls made until the gateway answered (1 = no retry).
    pub submit_attempts: u32,
    /// The request_id every attempt carried.
    pub request_id: String,
    /// `operations/{id}` once the gateway answered with an Operation.
    pub name: Option<String>,
    /// Why no Operation came back: a definite refusal, or the caller gave up.
    pub refused: Option<Refusal>,
    /// Done as seen by the waiting caller.
    pub done: bool,
    /// `None` on success, the error code otherwise (when done).
    pub error: Option<String>,
    /// Submission → accepted.
    pub accept_latency: Option<Duration>,
    /// Submission → done.
    pub done_latency: Option<Duration>,
}

/// Why an operation was never accepted, from the caller's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The gateway answered a documented refusal: a code a caller must not retry, with the
    /// `ErrorInfo` of the gateway's error table (`docs/api.md`, Errors). Nothing was accepted.
    Definite { code: Code, reason: String },
    /// The caller stopped retrying (deadline, or an answer outside the error table): the
    /// gateway may have accepted it, so promise 1 counts it as lost.
    GaveUp { last: String },
}

impl Refusal {
    /// Classifies the final error of a submission. Only a non-retryable code carrying the
    /// gateway's `ErrorInfo` (domain `fleet.scaleway.com`) is a definite refusal.
    pub fn of(status: &Status) -> Self {
        use tonic_types::StatusExt as _;
        let info = status.get_error_details().error_info().cloned();
        match info {
            Some(info)
                if !retryable(status.code()) && info.domain == fleet_gateway::errors::DOMAIN =>
            {
                Refusal::Definite {
                    code: status.code(),
                    reason: info.reason,
                }
            }
            _ => Refusal::GaveUp {
                last: format!("{:?}: {}", status.code(), status.message()),
            },
        }
    }

    /// For the report.
    pub fn describe(&self) -> String {
        match self {
            Refusal::Definite { code, reason } => format!("refused {code:?} {reason}"),
            Refusal::GaveUp { last } => format!("gave up after {last}"),
        }
    }
}

impl OpRecord {
    /// The job id behind the operation name.
    pub fn job_id(&self) -> Option<i64> {
        self.name
            .as_deref()?
            .strip_prefix("operations/")?
            .parse()
            .ok()
    }
}

#[derive(Debug, Clone)]
struct ServerEntry {
    zone: String,
    id: String,
    root_volume: Option<String>,
    /// The root is an SBS volume (held by the Block API).
    root_is_sbs: bool,
    running: bool,
    busy: bool,
}

/// A server set aside for the policy (`crate::policies`): no other operation touches it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    pub zone: String,
    pub id: String,
    pub root_volume: String,
    pub root_is_sbs: bool,
}

/// Adds the caller's bearer token to every call.
#[derive(Clone)]
pub struct Auth(MetadataValue<Ascii>);

impl Interceptor for Auth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

type Chan = InterceptedService<Channel, Auth>;

/// gRPC clients of the gateway.
#[derive(Clone)]
pub struct Api {
    servers: v1::servers_client::ServersClient<Chan>,
    actions: v1::server_actions_client::ServerActionsClient<Chan>,
    snapshots: v1::snapshots_client::SnapshotsClient<Chan>,
    volumes: v1::volumes_client::VolumesClient<Chan>,
    operations: v1::operations_client::OperationsClient<Chan>,
    batches: v1::batches_client::BatchesClient<Chan>,
    policies: v1::policies_client::PoliciesClient<Chan>,
}

impl Api {
    /// Lazy channel: it reconnects by itself after the gateway is killed and restarted.
    pub fn new(url: &str, token: &str) -> anyhow::Result<Self> {
        let channel = Endpoint::from_shared(url.to_owned())?
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(30))
            .connect_lazy();
        let auth = Auth(format!("Bearer {token}").parse()?);
        Ok(Self {
            servers: v1::servers_client::ServersClient::with_interceptor(
                channel.clone(),
                auth.clone(),
            ),
            actions: v1::server_actions_client::ServerActionsClient::with_interceptor(
                channel.clone(),
                auth.clone(),
            ),
            snapshots: v1::snapshots_client::SnapshotsClient::with_interceptor(
                channel.clone(),
                auth.clone(),
            ),
            volumes: v1::volumes_client::VolumesClient::with_interceptor(
                channel.clone(),
                auth.clone(),
            ),
            batches: v1::batches_client::BatchesClient::with_interceptor(
                channel.clone(),
                auth.clone(),
            ),
            policies: v1::policies_client::PoliciesClient::with_interceptor(
                channel.clone(),
                auth.clone(),
            ),
            operations: v1::operations_client::OperationsClient::with_interceptor(channel, auth),
        })
    }

    /// A client of the Policies service.
    pub fn policies(&self) -> v1::policies_client::PoliciesClient<Chan> {
        self.policies.clone()
    }

    /// `GetOperation`.
    pub async fn get_operation(&self, name: &str) -> Result<v1::Operation, Status> {
        let mut request = Request::new(v1::GetOperationRequest {
            name: name.to_owned(),
        });
        request.set_timeout(Duration::from_secs(10));
        Ok(self
            .operations
            .clone()
            .get_operation(request)
            .await?
            .into_inner())
    }
}

/// Codes after which the same request (same request_id) is sent again: the call may not
/// have reached the gateway, or the gateway or its database went away mid-call.
pub fn retryable(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::Unknown
            | Code::DeadlineExceeded
            | Code::Internal
            | Code::Aborted
            | Code::ResourceExhausted
            | Code::Cancelled
    )
}

/// The load generator.
pub struct Driver {
    api: Api,
    zones: Vec<String>,
    project: String,
    run_tag: String,
    /// Waiting callers stop here; what is not done by then is lost.
    deadline: Instant,
    seed: u64,
    servers: Mutex<Vec<ServerEntry>>,
    records: Mutex<Vec<OpRecord>>,
    /// Bounds concurrent `WaitOperation` calls, as a real client pool would.
    waiters: Semaphore,
}

/// What the next operation will be.
#[derive(Debug, Clone)]
enum Choice {
    Create {
        zone: String,
    },
    CreateVolume {
        zone: String,
    },
    Action {
        kind: OpKind,
        server: usize,
    },
    /// A reboot batch over these running servers of one zone.
    Batch {
        servers: Vec<usize>,
    },
}

impl Driver {
    pub fn new(
        api: Api,
        zones: Vec<String>,
        project: String,
        seed: u64,
        deadline: Instant,
    ) -> Arc<Self> {
        Arc::new(Self {
            api,
            zones,
            project,
            run_tag: format!("chaos-{seed}"),
            deadline,
            seed,
            servers: Mutex::new(Vec::new()),
            records: Mutex::new(Vec::new()),
            waiters: Semaphore::new(48),
        })
    }

    /// Submits `ops` operations evenly over `window`; returns when every one is done or the
    /// deadline passed.
    pub async fn drive(self: &Arc<Self>, ops: usize, window: Duration) {
        let start = Instant::now();
        let mut rng = StdRng::seed_from_u64(self.seed ^ 0x6f70_735f_6472_6976);
        let mut tasks = Vec::with_capacity(ops);
        for index in 0..ops {
            let offset = window.mul_f64(index as f64 / ops.max(1) as f64);
            tokio::time::sleep_until((start + offset).into()).await;
            let choice = self.choose(&mut rng, index);
            let driver = Arc::clone(self);
            let request_id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
            tasks.push(tokio::spawn(async move {
                driver.run_op(index, choice, request_id.to_string()).await;
            }));
        }
        for task in tasks {
            // A panicking op task is a harness bug; its record is missing and shows as such.
            let _ = task.await;
        }
    }

    /// Mostly creates (spread over the zones round robin; one in five an SBS volume, the rest
    /// servers); otherwise an action on an idle server that suits its power state.
    fn choose(&self, rng: &mut StdRng, index: usize) -> Choice {
        let zone = self.zones[index % self.zones.len()].clone();
        if rng.random_bool(0.55) {
            if rng.random_bool(0.2) {
                return Choice::CreateVolume { zone };
            }
            return Choice::Create { zone };
        }
        let mut servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
        let idle: Vec<usize> = (0..servers.len()).filter(|&i| !servers[i].busy).collect();
        if idle.is_empty() {
            return Choice::Create { zone };
        }
        let server = idle[rng.random_range(0..idle.len())];
        if rng.random_bool(BATCH_SHARE) {
            // Up to BATCH_SIZE running idle servers of the chosen one's zone.
            let zone = servers[server].zone.clone();
            let members: Vec<usize> = idle
                .iter()
                .copied()
                .filter(|&i| servers[i].running && servers[i].zone == zone)
                .take(BATCH_SIZE)
                .collect();
            if members.len() >= 2 {
                for &i in &members {
                    servers[i].busy = true;
                }
                return Choice::Batch { servers: members };
            }
        }
        let entry = &mut servers[server];
        let roll: f64 = rng.random();
        let snapshot = if entry.root_is_sbs {
            OpKind::CreateBlockSnapshot
        } else {
            OpKind::CreateSnapshot
        };
        let kind = if entry.running {
            if roll < 0.4 {
                OpKind::PowerOff
            } else if roll < 0.7 || entry.root_volume.is_none() {
                OpKind::Reboot
            } else {
                snapshot
            }
        } else if roll < 0.65 || entry.root_volume.is_none() {
            OpKind::PowerOn
        } else {
            snapshot
        };
        entry.busy = true;
        Choice::Action { kind, server }
    }

    async fn run_op(&self, index: usize, choice: Choice, request_id: String) {
        let (kind, zone) = match &choice {
            Choice::Create { zone } => (OpKind::CreateServer, zone.clone()),
            Choice::CreateVolume { zone } => (OpKind::CreateBlockVolume, zone.clone()),
            Choice::Action { kind, server } => {
                let servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
                (*kind, servers[*server].zone.clone())
            }
            Choice::Batch { servers: members } => {
                let servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
                (OpKind::RebootBatch, servers[members[0]].zone.clone())
            }
        };
        let mut record = OpRecord {
            index,
            kind,
            zone,
            submit_attempts: 0,
            request_id: request_id.clone(),
            name: None,
            refused: None,
            done: false,
            error: None,
            accept_latency: None,
            done_latency: None,
        };
        let started = Instant::now();
        let mut rng = StdRng::seed_from_u64(self.seed ^ (index as u64).wrapping_mul(0x9e37_79b9));
        let mut result = None;
        match self
            .submit(&choice, &request_id, index, &mut record, &mut rng)
            .await
        {
            Ok(name) => {
                record.accept_latency = Some(started.elapsed());
                record.name = Some(name.clone());
                if let Some(op) = self.wait(&name, &mut rng).await {
                    record.done = true;
                    record.done_latency = Some(started.elapsed());
                    record.error = match &op.result {
                        Some(v1::operation::Result::Error(status)) => {
                            Some(format!("{:?}", Code::from(status.code)))
                        }
                        Some(v1::operation::Result::Response(_)) => None,
                        None => Some("done without a result".to_owned()),
                    };
                    result = Some(op);
                }
            }
            Err(why) => record.refused = Some(why),
        }
        self.update_servers(&choice, &record, result.as_ref());
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
    }

    async fn submit(
        &self,
        choice: &Choice,
        request_id: &str,
        index: usize,
        record: &mut OpRecord,
        rng: &mut StdRng,
    ) -> Result<String, Refusal> {
        let give_up = (Instant::now() + Duration::from_secs(120)).min(self.deadline);
        let mut backoff = Duration::from_millis(200);
        loop {
            record.submit_attempts += 1;
            let answer = self.call(choice, request_id, index).await;
            match answer {
                Ok(op) if op.name.starts_with("operations/") => return Ok(op.name),
                Ok(op) => {
                    return Err(Refusal::GaveUp {
                        last: format!("operation without a valid name: {:?}", op.name),
                    });
                }
                Err(status) if retryable(status.code()) && Instant::now() < give_up => {
                    let jitter = rng.random_range(0.5..1.5);
                    tokio::time::sleep(backoff.mul_f64(jitter)).await;
                    backoff = (backoff * 2).min(Duration::from_secs(3));
                }
                Err(status) => return Err(Refusal::of(&status)),
            }
        }
    }

    async fn call(
        &self,
        choice: &Choice,
        request_id: &str,
        index: usize,
    ) -> Result<v1::Operation, Status> {
        let timeout = Duration::from_secs(20);
        match choice {
            Choice::Create { zone } => {
                // Every other server has a local root (snapshots through the Instance API);
                // the others get the label's default, an SBS root (snapshots through Block).
                let volumes = if index.is_multiple_of(2) {
                    [(
                        "0".to_owned(),
                        v1::VolumeServerTemplate {
                            volume_type: Some("l_ssd".to_owned()),
                            size: Some(ROOT_VOLUME_BYTES),
                            ..Default::default()
                        },
                    )]
                    .into()
                } else {
                    Default::default()
                };
                let mut request = Request::new(v1::CreateServerRequest {
                    zone: zone.clone(),
                    request_id: request_id.to_owned(),
                    name: format!("{}-{index}", self.run_tag),
                    commercial_type: "DEV1-S".to_owned(),
                    image: Some("ubuntu_noble".to_owned()),
                    volumes,
                    project: Some(self.project.clone()),
                    tags: vec![self.run_tag.clone()],
                    start: true,
                    ..Default::default()
                });
                request.set_timeout(timeout);
                Ok(self
                    .api
                    .servers
                    .clone()
                    .create_server(request)
                    .await?
                    .into_inner())
            }
            Choice::CreateVolume { zone } => {
                let request = v1::CreateVolumeRequest {
                    zone: zone.clone(),
                    request_id: request_id.to_owned(),
                    name: format!("{}-vol-{index}", self.run_tag),
                    volume_type: Some("sbs_volume".to_owned()),
                    size: Some(BLOCK_VOLUME_BYTES),
                    project: Some(self.project.clone()),
                    tags: vec![self.run_tag.clone()],
                    ..Default::default()
                };
                Ok(self
                    .api
                    .volumes
                    .clone()
                    .create_volume(timed(request, timeout))
                    .await?
                    .into_inner())
            }
            Choice::Batch { servers: members } => {
                let (zone, server_ids) = {
                    let servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
                    let ids = members.iter().map(|&i| servers[i].id.clone()).collect();
                    (servers[members[0]].zone.clone(), ids)
                };
                // One child at a time, so a batch lives long enough to see kills and storms;
                // one failure tolerated, so a storm can halt it.
                let one = |n| {
                    Some(v1::RolloutLimit {
                        limit: Some(v1::rollout_limit::Limit::Count(n)),
                    })
                };
                let request = v1::CreateBatchRequest {
                    selector: Some(v1::BatchSelector {
                        zone,
                        server_ids,
                        ..Default::default()
                    }),
                    action: Some(v1::BatchAction::power(v1::BatchPowerAction::Reboot)),
                    policy: Some(v1::RolloutPolicy {
                        max_in_flight: one(1),
                        max_failures: one(1),
                        ..Default::default()
                    }),
                    request_id: request_id.to_owned(),
                    ..Default::default()
                };
                Ok(self
                    .api
                    .batches
                    .clone()
                    .create_batch(timed(request, timeout))
                    .await?
                    .into_inner())
            }
            Choice::Action { kind, server } => {
                let (zone, id, volume) = {
                    let servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
                    let s = &servers[*server];
                    (s.zone.clone(), s.id.clone(), s.root_volume.clone())
                };
                let target = v1::ServerActionTarget {
                    zone: zone.clone(),
                    request_id: request_id.to_owned(),
                    server_id: id,
                };
                let mut actions = self.api.actions.clone();
                let answer = match kind {
                    OpKind::PowerOff => actions.power_off_server(timed(target, timeout)).await,
                    OpKind::PowerOn => actions.power_on_server(timed(target, timeout)).await,
                    OpKind::Reboot => actions.reboot_server(timed(target, timeout)).await,
                    OpKind::CreateSnapshot | OpKind::CreateBlockSnapshot => {
                        let request = v1::CreateSnapshotRequest {
                            zone,
                            request_id: request_id.to_owned(),
                            name: format!("{}-snap-{index}", self.run_tag),
                            volume_id: volume,
                            project: Some(self.project.clone()),
                            tags: vec![self.run_tag.clone()],
                            ..Default::default()
                        };
                        self.api
                            .snapshots
                            .clone()
                            .create_snapshot(timed(request, timeout))
                            .await
                    }
                    OpKind::CreateServer | OpKind::CreateBlockVolume | OpKind::RebootBatch => {
                        return Err(Status::internal("not a single server action"));
                    }
                };
                Ok(answer?.into_inner())
            }
        }
    }

    /// Waits until the operation is done (`Some`) or the deadline passes (`None`).
    async fn wait(&self, name: &str, rng: &mut StdRng) -> Option<v1::Operation> {
        let mut use_get = false;
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let answer = if use_get {
                self.api.get_operation(name).await
            } else {
                let permit = self.waiters.acquire().await.ok()?;
                let wait = left.min(Duration::from_secs(10));
                let mut request = Request::new(v1::WaitOperationRequest {
                    name: name.to_owned(),
                    timeout: Some(prost_types::Duration {
                        seconds: i64::try_from(wait.as_secs()).unwrap_or(10),
                        nanos: 0,
                    }),
                });
                request.set_timeout(wait + Duration::from_secs(5));
                let answer = self.api.operations.clone().wait_operation(request).await;
                drop(permit);
                answer.map(tonic::Response::into_inner)
            };
            match answer {
                Ok(op) if op.done => return Some(op),
                Ok(_) if use_get => tokio::time::sleep(Duration::from_secs(1)).await,
                Ok(_) => {}
                Err(status) if status.code() == Code::Unimplemented => use_get = true,
                Err(_) => {
                    let pause = Duration::from_millis(rng.random_range(300..1500));
                    tokio::time::sleep(pause.min(left)).await;
                }
            }
        }
    }

    /// Keeps the pool of servers current: a created server joins it; an action's result
    /// gives its new power state; a failed action takes it out (its state is unknown).
    fn update_servers(&self, choice: &Choice, record: &OpRecord, op: Option<&v1::Operation>) {
        let response = match op.and_then(|op| op.result.as_ref()) {
            Some(v1::operation::Result::Response(any)) => Some(any),
            _ => None,
        };
        let mut servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
        match choice {
            Choice::Create { zone } => {
                let Some(server) =
                    response.and_then(|a| v1::Server::decode(a.value.as_slice()).ok())
                else {
                    return;
                };
                if server.id.is_empty() {
                    return;
                }
                let root = server.volumes.get("0").filter(|v| {
                    matches!(v.volume_type.as_str(), "l_ssd" | "sbs_volume") && !v.id.is_empty()
                });
                servers.push(ServerEntry {
                    zone: zone.clone(),
                    root_volume: root.map(|v| v.id.clone()),
                    root_is_sbs: root.is_some_and(|v| v.volume_type == "sbs_volume"),
                    id: server.id,
                    running: server.state == "running",
                    busy: false,
                });
            }
            Choice::CreateVolume { .. } => {}
            Choice::Batch { servers: members } => {
                // A batch that succeeded rebooted every member (still running); otherwise
                // their states are unknown: they stay retired.
                let completed = response
                    .and_then(|a| v1::Batch::decode(a.value.as_slice()).ok())
                    .is_some_and(|b| b.state == "completed");
                if completed && record.error.is_none() {
                    for &i in members {
                        servers[i].busy = false;
                    }
                }
            }
            Choice::Action { kind, server } => {
                let entry = &mut servers[*server];
                entry.busy = false;
                if record.error.is_some() || !record.done {
                    // Unknown state: retire it rather than guess.
                    entry.busy = true;
                    return;
                }
                let state = response
                    .and_then(|a| v1::ServerActionResult::decode(a.value.as_slice()).ok())
                    .and_then(|r| r.server)
                    .map(|s| s.state);
                entry.running = match (kind, state.as_deref()) {
                    (_, Some(state)) => state == "running",
                    (OpKind::PowerOff, None) => false,
                    (OpKind::PowerOn | OpKind::Reboot, None) => true,
                    (_, None) => entry.running,
                };
            }
        }
    }

    /// Sets aside `n` idle servers with a root volume for the policy, marking them busy for
    /// good. With `spread`, only a set that spans two zones (when the run has two) and both
    /// root kinds will do; without, any idle servers (at least one). `None`: not yet.
    pub fn reserve(&self, n: usize, spread: bool) -> Option<Vec<Reserved>> {
        let mut servers = self.servers.lock().unwrap_or_else(PoisonError::into_inner);
        let mut picked: Vec<usize> = Vec::new();
        let candidates: Vec<usize> = (0..servers.len())
            .filter(|&i| !servers[i].busy && servers[i].root_volume.is_some())
            .collect();
        // Greedy: a new zone first, then a new root kind, then anything.
        while picked.len() < n {
            let score = |i: usize| {
                let s = &servers[i];
                let new_zone = picked.iter().all(|&p| servers[p].zone != s.zone);
                let new_kind = picked
                    .iter()
                    .all(|&p| servers[p].root_is_sbs != s.root_is_sbs);
                u8::from(new_zone) * 2 + u8::from(new_kind)
            };
            let Some(best) = candidates
                .iter()
                .copied()
                .filter(|i| !picked.contains(i))
                .max_by_key(|&i| (score(i), std::cmp::Reverse(i)))
            else {
                break;
            };
            picked.push(best);
        }
        let zones: HashSet<&str> = picked.iter().map(|&i| servers[i].zone.as_str()).collect();
        let kinds: HashSet<bool> = picked.iter().map(|&i| servers[i].root_is_sbs).collect();
        let enough = if spread {
            picked.len() == n && zones.len() >= self.zones.len().min(2) && kinds.len() == 2
        } else {
            !picked.is_empty()
        };
        if !enough {
            return None;
        }
        Some(
            picked
                .into_iter()
                .map(|i| {
                    let s = &mut servers[i];
                    s.busy = true;
                    Reserved {
                        zone: s.zone.clone(),
                        id: s.id.clone(),
                        root_volume: s.root_volume.clone().unwrap_or_default(),
                        root_is_sbs: s.root_is_sbs,
                    }
                })
                .collect(),
        )
    }

    /// Waiting callers stop here.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The tag and name prefix of everything the run creates (`chaos-{seed}`).
    pub fn run_tag(&self) -> &str {
        &self.run_tag
    }

    /// The project everything is created in.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// Every operation's record, in submission order.
    pub fn records(&self) -> Vec<OpRecord> {
        let mut records = self
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        records.sort_by_key(|r| r.index);
        records
    }

    /// The gateway API (for the end checks).
    pub fn api(&self) -> &Api {
        &self.api
    }
}

fn timed<T>(message: T, timeout: Duration) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(timeout);
    request
}

/// Metadata of an operation (`OperationMetadata` packed in `metadata`).
pub fn metadata(op: &v1::Operation) -> Option<v1::OperationMetadata> {
    op.metadata
        .as_ref()
        .and_then(|any| v1::OperationMetadata::decode(any.value.as_slice()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_and_server_side_failures_are_retried_but_refusals_are_not() {
        for code in [
            Code::Unavailable,
            Code::Unknown,
            Code::DeadlineExceeded,
            Code::Internal,
        ] {
            assert!(retryable(code), "{code:?}");
        }
        for code in [
            Code::InvalidArgument,
            Code::NotFound,
            Code::PermissionDenied,
            Code::Unauthenticated,
            Code::FailedPrecondition,
            Code::AlreadyExists,
        ] {
            assert!(!retryable(code), "{code:?}");
        }
    }

    #[test]
    fn job_ids_come_from_operation_names() {
        let mut record = OpRecord {
            index: 0,
            kind: OpKind::CreateServer,
            zone: "fr-par-1".into(),
            submit_attempts: 1,
            request_id: "r".into(),
            name: Some("operations/42".into()),
            refused: None,
            done: false,
            error: None,
            accept_latency: None,
            done_latency: None,
        };
        assert_eq!(record.job_id(), Some(42));
        record.name = Some("ops/42".into());
        assert_eq!(record.job_id(), None);
        assert_eq!(OpKind::CreateSnapshot.creates(), Some("snapshot"));
        assert_eq!(OpKind::CreateBlockSnapshot.creates(), Some("snapshot"));
        assert_eq!(OpKind::CreateBlockVolume.creates(), Some("volume"));
        assert_eq!(OpKind::Reboot.creates(), None);
    }

    #[test]
    fn every_kind_names_a_long_running_method_of_the_gateway() {
        for kind in [
            OpKind::CreateServer,
            OpKind::PowerOff,
            OpKind::PowerOn,
            OpKind::Reboot,
            OpKind::CreateSnapshot,
            OpKind::CreateBlockSnapshot,
            OpKind::CreateBlockVolume,
        ] {
            let info = fleet_gateway::request::methods::method(kind.grpc_method());
            assert!(info.is_ok(), "{}", kind.grpc_method());
        }
    }

    #[test]
    fn only_a_documented_non_retryable_refusal_is_definite() {
        use tonic_types::{ErrorDetails, StatusExt as _};
        let documented = |code: Code, domain: &str| {
            Status::with_error_details(
                code,
                "no",
                ErrorDetails::with_error_info("INVALID_ARGUMENT", domain, []),
            )
        };
        assert_eq!(
            Refusal::of(&documented(
                Code::InvalidArgument,
                fleet_gateway::errors::DOMAIN
            )),
            Refusal::Definite {
                code: Code::InvalidArgument,
                reason: "INVALID_ARGUMENT".into()
            }
        );
        // Retryable code (the caller ran out of time), a foreign domain (a proxy's answer),
        // no details (a transport error): the gateway may have accepted it.
        for status in [
            documented(Code::Unavailable, fleet_gateway::errors::DOMAIN),
            documented(Code::InvalidArgument, "proxy.example"),
            Status::failed_precondition("bare"),
        ] {
            assert!(
                matches!(Refusal::of(&status), Refusal::GaveUp { .. }),
                "{status:?}"
            );
        }
    }
}
