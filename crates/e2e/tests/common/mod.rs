//! Test harness: the real stack in-process.
//!
//! * a fresh Postgres database ([`fleet_pgcluster::testing::fresh_database`]);
//! * the emulator, with short transitions ([`TRANSITION`]);
//! * the real worker ([`fleet_worker`], its own job handlers and watcher) owning [`ZONE`] and
//!   calling the emulator directly;
//! * a second real worker owning [`CANNED_ZONE`] whose Scaleway URL is a [`Canned`] proxy in
//!   front of the same emulator. The proxy forwards everything unchanged unless a test armed a
//!   canned answer: that is the one test double here, and it exists only for the Scaleway
//!   error bodies the emulator never sends (`conflict`, `resource_expired`,
//!   `unknown_resource`, legacy `invalid_request_error`, unknown types). Everything else the
//!   tests see comes from the emulator through a real worker;
//! * the scheduler service (rescue, cron, prune);
//! * the gateway.
//!
//! Only the workers call the emulator; the tests call it directly only to set up fixtures
//! ([`emulator_post`]) and to read its call log.

#![allow(dead_code)]

pub mod audit;
pub mod batches;
pub mod operations;
// Not every test binary reads operations (as for `dead_code` above).
#[allow(unused_imports)]
pub use operations::{metadata, must, unpack, wait_done};

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use fleet_core::Zone;
use fleet_emulator::{Emulator, Quotas, RunningEmulator, TokenEntry, TokensConfig};
use fleet_gateway::{CallerConfig, GatewayConfig, Role};
use fleet_scaleway::{RateLimitConfig, RetryPolicy};
use fleet_worker::jobs::JobSettings;
use fleet_worker::jobs::watcher::WatchSettings;
use fleet_worker::{WorkerConfig, WorkerHandle};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tonic::codegen::http;
use tonic::service::Interceptor;
use tonic::transport::Channel;
use tonic::{Request, Status};

pub const OPS_TOKEN: &str = "ops-token-1";
pub const VIEWER_TOKEN: &str = "viewer-token-1";
pub const LIMITED_TOKEN: &str = "limited-token-1";
/// The zone of the first worker (emulator direct).
pub const ZONE: &str = "fr-par-1";
/// The zone of the second worker (through the [`Canned`] proxy).
pub const CANNED_ZONE: &str = "nl-ams-1";
/// How long the emulator's transient states last.
pub const TRANSITION: Duration = Duration::from_millis(200);

/// Bearer token interceptor for clients.
#[derive(Clone)]
pub struct Bearer(pub Option<String>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = &self.0 {
            request.metadata_mut().insert(
                "authorization",
                format!("Bearer {token}")
                    .parse()
                    .map_err(|_| Status::internal("bad token"))?,
            );
        }
        Ok(request)
    }
}

/// A channel that records every gRPC path it carries (for the coverage count).
#[derive(Clone)]
pub struct Recording {
    pub inner: Channel,
    pub seen: Arc<Mutex<BTreeSet<String>>>,
}

impl tower_service::Service<http::Request<tonic::body::Body>> for Recording {
    type Response = <Channel as tower_service::Service<http::Request<tonic::body::Body>>>::Response;
    type Error = <Channel as tower_service::Service<http::Request<tonic::body::Body>>>::Error;
    type Future = <Channel as tower_service::Service<http::Request<tonic::body::Body>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower_service::Service::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let path = request.uri().path().trim_start_matches('/').to_owned();
        self.seen.lock().unwrap().insert(path);
        tower_service::Service::call(&mut self.inner, request)
    }
}

pub type Svc = tonic::service::interceptor::InterceptedService<Recording, Bearer>;

// ---------------------------------------------------------------------------------------------
// The canned-answer proxy.

/// One armed answer: the next `remaining` requests with this method whose path ends with
/// `path_suffix` get `status` and `body` instead of the emulator's answer.
#[derive(Debug, Clone)]
pub struct CannedAnswer {
    pub method: String,
    pub path_suffix: String,
    pub status: u16,
    pub body: Value,
    pub remaining: usize,
}

/// A reverse proxy in front of the emulator for the second worker (see the module doc).
pub struct Canned {
    target: String,
    http: reqwest::Client,
    armed: Mutex<Vec<CannedAnswer>>,
    /// Canned answers served so far.
    pub served: Mutex<Vec<String>>,
}

impl Canned {
    /// Arms one canned answer for the next matching request.
    pub fn arm(&self, method: &str, path_suffix: &str, status: u16, body: Value) {
        self.armed.lock().unwrap().push(CannedAnswer {
            method: method.to_owned(),
            path_suffix: path_suffix.to_owned(),
            status,
            body,
            remaining: 1,
        });
    }

    fn take(&self, method: &str, path: &str) -> Option<CannedAnswer> {
        let mut armed = self.armed.lock().unwrap();
        let i = armed
            .iter()
            .position(|a| a.method == method && path.ends_with(&a.path_suffix))?;
        armed[i].remaining -= 1;
        let answer = armed[i].clone();
        if armed[i].remaining == 0 {
            armed.remove(i);
        }
        Some(answer)
    }

    async fn handle(self: Arc<Self>, request: axum::extract::Request) -> axum::response::Response {
        use axum::response::IntoResponse as _;
        let method = request.method().as_str().to_owned();
        let path = request.uri().path().to_owned();
        if let Some(answer) = self.take(&method, &path) {
            self.served
                .lock()
                .unwrap()
                .push(format!("{method} {path} -> {}", answer.status));
            return (
                http::StatusCode::from_u16(answer.status).unwrap(),
                [(http::header::CONTENT_TYPE, "application/json")],
                serde_json::to_vec(&answer.body).unwrap(),
            )
                .into_response();
        }
        let url = format!(
            "{}{}",
            self.target,
            request
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
        );
        let mut forward = self
            .http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        for (name, value) in request.headers() {
            if !matches!(name.as_str(), "host" | "content-length" | "connection") {
                forward = forward.header(name.as_str(), value.as_bytes());
            }
        }
        let body = axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let answer = match forward.body(body.to_vec()).send().await {
            Ok(answer) => answer,
            Err(err) => {
                return (http::StatusCode::BAD_GATEWAY, err.to_string()).into_response();
            }
        };
        let mut response = http::Response::builder().status(answer.status().as_u16());
        for (name, value) in answer.headers() {
            if !matches!(
                name.as_str(),
                "content-length" | "connection" | "transfer-encoding"
            ) {
                response = response.header(name.as_str(), value.as_bytes());
            }
        }
        let bytes = answer.bytes().await.unwrap_or_default();
        response
            .body(axum::body::Body::from(bytes))
            .unwrap()
            .into_response()
    }

    /// Starts the proxy on a loopback port; returns its base URL.
    async fn start(target: String, shutdown: CancellationToken) -> (Arc<Canned>, String) {
        let canned = Arc::new(Canned {
            target,
            http: reqwest::Client::new(),
            armed: Mutex::new(Vec::new()),
            served: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = canned.clone();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let state = state.clone();
            async move { state.handle(request).await }
        });
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await
                .unwrap();
        });
        (canned, format!("http://{addr}"))
    }
}

// ---------------------------------------------------------------------------------------------
// The environment.

/// What differs between tests.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Emulator quotas (defaults otherwise).
    pub quotas: Option<Quotas>,
}

pub struct Env {
    pub pool: PgPool,
    pub emulator: RunningEmulator,
    /// The proxy of the second worker's zone.
    pub canned: Arc<Canned>,
    pub gateway: SocketAddr,
    pub workers: Vec<WorkerHandle>,
    pub shutdown: CancellationToken,
    pub seen: Arc<Mutex<BTreeSet<String>>>,
    /// The emulator tenant's secret key (the workers' Scaleway credential).
    pub secret: String,
    /// The tenant's default project (every test resource); not the secret key, so that a
    /// scan for the key finds nothing a project id put there.
    pub default_project: String,
    /// The organization's second project, the only one the `limited` caller is granted.
    pub other_project: String,
    /// For fixtures only.
    pub http: reqwest::Client,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Env {
    /// The default project of the emulator tenant.
    pub fn project(&self) -> String {
        self.default_project.clone()
    }

    pub async fn channel(&self) -> Recording {
        let inner = Channel::from_shared(format!("http://{}", self.gateway))
            .unwrap()
            .connect()
            .await
            .unwrap();
        Recording {
            inner,
            seen: self.seen.clone(),
        }
    }

    pub async fn svc(&self, token: Option<&str>) -> (Recording, Bearer) {
        (self.channel().await, Bearer(token.map(str::to_owned)))
    }
}

pub fn callers(limited_project: &str) -> Vec<CallerConfig> {
    let json = json!([
        {"name": "ops", "token": OPS_TOKEN, "projects": ["*"], "role": "operator"},
        {"name": "viewer", "token_sha256": fleet_gateway::token_sha256_hex(VIEWER_TOKEN), "projects": ["*"], "role": "read_only"},
        {"name": "limited", "token": LIMITED_TOKEN, "projects": [limited_project], "role": "operator"},
    ]);
    let configs: Vec<CallerConfig> = serde_json::from_value(json).unwrap();
    assert!(configs.iter().any(|c| c.role == Role::ReadOnly));
    configs
}

/// Job pacing for a 200 ms emulator.
pub fn fast_jobs() -> JobSettings {
    JobSettings {
        min_poll: Duration::from_millis(100),
        max_poll: Duration::from_secs(1),
        max_poll_unwatched: Duration::from_millis(500),
        fresh: Duration::from_millis(500),
        unreachable_grace: Duration::from_secs(3),
        lease_lost_delay: Duration::from_millis(200),
        watch: WatchSettings {
            min_round: Duration::from_millis(50),
            max_round: Duration::from_millis(500),
            ..WatchSettings::default()
        },
        max_deadline: Some(Duration::from_secs(60)),
        settle_limit: Duration::from_secs(20),
        sweep_interval: Duration::ZERO,
        ..JobSettings::default()
    }
}

fn worker_config(url: &str, api_url: String, secret: &str, zone: Zone) -> WorkerConfig {
    let scaleway = fleet_scaleway::Config::new(secret.to_owned())
        .with_api_url(api_url)
        .with_retry(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(1),
        })
        .with_rate_limit(RateLimitConfig::unlimited())
        .with_timeouts(Duration::from_secs(2), Duration::from_secs(10));
    let mut config = WorkerConfig::new(url, scaleway);
    config.zones = Some(vec![zone]);
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.lease_ttl = Duration::from_secs(10);
    config.concurrency = 8;
    config.job_lease = Duration::from_secs(10);
    config.db_max_connections = 5;
    config
}

/// Waits (bounded) until `ready` holds.
pub async fn eventually(what: &str, within: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts everything with the default options.
pub async fn start() -> Env {
    start_with(Options::default()).await
}

/// Starts everything.
pub async fn start_with(options: Options) -> Env {
    let url = fleet_pgcluster::testing::fresh_database().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(10)
        .connect(&url)
        .await
        .unwrap();
    fleet_scheduler::migrate(&pool).await.unwrap();
    // One Scaleway organization with two projects: the default one (every test resource) and
    // the one the `limited` caller is granted.
    let secret = uuid::Uuid::new_v4().to_string();
    let default_project = uuid::Uuid::new_v4().to_string();
    let other_project = uuid::Uuid::new_v4().to_string();
    let tokens = TokensConfig {
        tokens: vec![TokenEntry {
            secret_key: secret.clone(),
            organization_id: uuid::Uuid::new_v4().to_string(),
            projects: vec![default_project.clone(), other_project.clone()],
            default_project_id: Some(default_project.clone()),
        }],
    };
    let mut emulator = Emulator::builder()
        .transition(TRANSITION)
        .seed(7)
        .tokens(tokens);
    if let Some(quotas) = options.quotas {
        emulator = emulator.quotas(quotas);
    }
    let emulator = emulator.start().await.unwrap();
    let shutdown = CancellationToken::new();

    // The scheduler service.
    let scheduler = fleet_scheduler::SchedulerConfig {
        rescue_interval: Duration::from_millis(500),
        ..Default::default()
    }
    .build(pool.clone())
    .unwrap();
    tokio::spawn(scheduler.run(shutdown.clone()));

    // Two real workers: one zone each.
    let (canned, canned_url) = Canned::start(emulator.base_url(), shutdown.clone()).await;
    let mut workers = Vec::new();
    for (zone, api_url) in [
        (Zone::FrPar1, emulator.base_url()),
        (Zone::NlAms1, canned_url),
    ] {
        let config = worker_config(&url, api_url, &secret, zone);
        let worker = config
            .build_with(fleet_worker::jobs_factory(fast_jobs()))
            .await
            .unwrap();
        workers.push(worker.handle());
        tokio::spawn(worker.run(shutdown.clone()));
    }

    let mut config =
        GatewayConfig::new("127.0.0.1:0".parse().unwrap(), url, callers(&other_project));
    config.migrate = false;
    config.health_interval = Duration::from_millis(100);
    config.drain_timeout = Duration::from_secs(2);
    let gateway = config.build_with_pool(pool.clone()).await.unwrap();
    let addr = gateway.local_addr();
    let token = shutdown.clone();
    tokio::spawn(async move {
        gateway.run(token).await.unwrap();
    });
    let handles = workers.clone();
    eventually(
        "each worker to own its zone",
        Duration::from_secs(30),
        || handles[0].held_zones() == [Zone::FrPar1] && handles[1].held_zones() == [Zone::NlAms1],
    )
    .await;
    Env {
        pool,
        emulator,
        canned,
        gateway: addr,
        workers,
        shutdown,
        seen: Arc::new(Mutex::new(BTreeSet::new())),
        secret,
        default_project,
        other_project,
        http: reqwest::Client::new(),
    }
}

/// Direct call to the emulator (setup of fixtures the gateway API cannot make).
pub async fn emulator_post(env: &Env, path: &str, body: Value) -> Value {
    let response = env
        .http
        .post(format!("{}{path}", env.emulator.base_url()))
        .header("X-Auth-Token", &env.secret)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Every method of the public services, from the descriptors.
pub fn all_methods() -> BTreeSet<String> {
    let pool = fleet_proto::descriptor_pool();
    pool.services()
        .filter(|s| s.package_name() == "fleet.v1")
        .flat_map(|s| {
            let service = s.full_name().to_owned();
            s.methods()
                .map(move |m| format!("{service}/{}", m.name()))
                .collect::<Vec<_>>()
        })
        .collect()
}
