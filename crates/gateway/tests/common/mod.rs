//! Test harness: Postgres, the emulator, a test-only ZoneCalls worker that forwards to the
//! emulator (the real worker is being written elsewhere), a test job runner completing jobs
//! through fleet-scheduler, and the gateway itself, all in-process.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use fleet_emulator::{Emulator, RunningEmulator};
use fleet_gateway::{CallerConfig, GatewayConfig, Role};
use fleet_proto::internal::zone_calls_server::{ZoneCalls, ZoneCallsServer};
use fleet_proto::internal::{InvokeRequest, InvokeResponse};
use fleet_scheduler::{ClaimRequest, ClaimedJob, JobError};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tonic::codegen::http;
use tonic::service::Interceptor;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

pub const OPS_TOKEN: &str = "ops-token-1";
pub const VIEWER_TOKEN: &str = "viewer-token-1";
pub const LIMITED_TOKEN: &str = "limited-token-1";
pub const ZONE: &str = "fr-par-1";

/// Forwards Invoke to the emulator over HTTP and returns its raw answer.
pub struct Forwarder {
    pub base: String,
    pub secret: String,
    pub http: reqwest::Client,
}

impl Forwarder {
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<(Vec<u8>, String)>,
    ) -> Result<(u16, Vec<u8>, String, Option<u64>, Vec<(String, String)>), String> {
        let mut url =
            reqwest::Url::parse(&format!("{}{}", self.base, path)).map_err(|e| e.to_string())?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter());
        }
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut rb = self
            .http
            .request(method, url)
            .header("X-Auth-Token", &self.secret);
        if let Some((body, ct)) = body {
            rb = rb.header("content-type", ct).body(body);
        }
        let resp = rb.send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_lowercase(),
                    v.to_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        let total = headers
            .iter()
            .find(|(k, _)| k == "x-total-count")
            .and_then(|(_, v)| v.parse().ok());
        let ct = headers
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let body = resp.bytes().await.map_err(|e| e.to_string())?.to_vec();
        Ok((status, body, ct, total, headers))
    }
}

/// The test worker's service.
#[derive(Clone)]
pub struct TestWorker(pub Arc<Forwarder>);

#[tonic::async_trait]
impl ZoneCalls for TestWorker {
    async fn invoke(
        &self,
        request: Request<InvokeRequest>,
    ) -> Result<Response<InvokeResponse>, Status> {
        let r = request.into_inner();
        let op = fleet_core::Operation::from_name(&r.operation).ok_or_else(|| {
            Status::invalid_argument(format!("unknown operation {}", r.operation))
        })?;
        let ep = op.endpoint();
        let mut path = ep.path.replace("{zone}", &r.zone);
        for (k, v) in &r.path_params {
            path = path.replace(&format!("{{{k}}}"), v);
        }
        let query: Vec<(String, String)> = r
            .query
            .iter()
            .map(|q| (q.key.clone(), q.value.clone()))
            .collect();
        let body = (!r.body.is_empty() || !r.content_type.is_empty())
            .then(|| (r.body.clone(), r.content_type.clone()));
        let (status, body, content_type, total_count, headers) = self
            .0
            .send(ep.method.as_str(), &path, &query, body)
            .await
            .map_err(Status::unavailable)?;
        Ok(Response::new(InvokeResponse {
            status: u32::from(status),
            body,
            content_type,
            total_count,
            headers: headers
                .into_iter()
                .filter(|(k, _)| {
                    matches!(
                        k.as_str(),
                        "retry-after" | "x-request-id" | "location" | "link"
                    )
                })
                .collect(),
            attempts: 1,
        }))
    }
}

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

pub struct Env {
    pub pool: PgPool,
    pub emulator: RunningEmulator,
    pub forwarder: Arc<Forwarder>,
    pub gateway: SocketAddr,
    pub worker: SocketAddr,
    pub shutdown: CancellationToken,
    pub seen: Arc<Mutex<BTreeSet<String>>>,
    pub secret: String,
    pub gateway_task: tokio::task::JoinHandle<()>,
}

impl Env {
    /// The project of the emulator tenant (the secret key is its own tenant).
    pub fn project(&self) -> String {
        self.secret.clone()
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

/// Starts everything; `runner` starts the test job runner on the zone.
pub async fn start(runner: bool) -> Env {
    let url = fleet_pgcluster::testing::fresh_database().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(10)
        .connect(&url)
        .await
        .unwrap();
    fleet_scheduler::migrate(&pool).await.unwrap();
    let emulator = Emulator::builder()
        .transition(Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let secret = uuid::Uuid::new_v4().to_string();
    let forwarder = Arc::new(Forwarder {
        base: emulator.base_url(),
        secret: secret.clone(),
        http: reqwest::Client::new(),
    });
    let shutdown = CancellationToken::new();

    // The test worker.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let worker = listener.local_addr().unwrap();
    {
        let forwarder = forwarder.clone();
        let token = shutdown.clone();
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(ZoneCallsServer::new(TestWorker(forwarder)))
                .serve_with_incoming_shutdown(
                    tokio_stream::wrappers::TcpListenerStream::new(listener),
                    token.cancelled_owned(),
                )
                .await
                .unwrap();
        });
    }
    fleet_scheduler::try_acquire_zone(
        &pool,
        ZONE,
        "test-worker",
        &worker.to_string(),
        Duration::from_secs(600),
    )
    .await
    .unwrap()
    .expect("lease");
    fleet_scheduler::heartbeat_worker(
        &pool,
        "test-worker",
        &worker.to_string(),
        &[ZONE.to_owned()],
        Duration::from_secs(600),
    )
    .await
    .unwrap();

    let mut config = GatewayConfig::new("127.0.0.1:0".parse().unwrap(), url, callers(&secret));
    config.health_interval = Duration::from_millis(100);
    config.drain_timeout = Duration::from_secs(2);
    let gateway = config.build_with_pool(pool.clone()).await.unwrap();
    let addr = gateway.local_addr();
    let token = shutdown.clone();
    let gateway_task = tokio::spawn(async move {
        gateway.run(token).await.unwrap();
    });
    if runner {
        tokio::spawn(run_jobs(pool.clone(), forwarder.clone(), shutdown.clone()));
    }
    Env {
        pool,
        emulator,
        forwarder,
        gateway: addr,
        worker,
        shutdown,
        seen: Arc::new(Mutex::new(BTreeSet::new())),
        secret,
        gateway_task,
    }
}

/// Test job runner: claims the zone's jobs and finishes them like a (very small) worker.
pub async fn run_jobs(pool: PgPool, forwarder: Arc<Forwarder>, shutdown: CancellationToken) {
    let request = ClaimRequest {
        zones: vec![ZONE.to_owned()],
        owner: "test-runner".into(),
        limit: 10,
        lease: Duration::from_secs(30),
    };
    while !shutdown.is_cancelled() {
        match fleet_scheduler::claim(&pool, &request).await {
            Ok(jobs) => {
                for job in jobs {
                    tokio::spawn(handle(job, forwarder.clone()));
                }
            }
            Err(err) => eprintln!("claim failed: {err}"),
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

async fn handle(job: ClaimedJob, forwarder: Arc<Forwarder>) {
    let spec = fleet_jobs::JobSpec::from_args(&job.job.args).unwrap();
    let zone = job.job.zone.clone();
    match spec {
        fleet_jobs::JobSpec::CreateServer(create) => {
            let body = serde_json::to_vec(&create.request).unwrap();
            let (status, body, ..) = forwarder
                .send(
                    "POST",
                    &format!("/instance/v1/zones/{zone}/servers"),
                    &[],
                    Some((body, "application/json".into())),
                )
                .await
                .unwrap();
            if status >= 400 {
                let err = JobError::new(fleet_jobs::failure_kind::UPSTREAM, "create refused")
                    .with_details(
                        fleet_jobs::Failure {
                            status: Some(status),
                            upstream: serde_json::from_slice(&body).unwrap_or(Value::Null),
                            ..Default::default()
                        }
                        .to_details(),
                    );
                job.fail(&err).await.unwrap();
                return;
            }
            let v: Value = serde_json::from_slice(&body).unwrap();
            job.complete(&v["server"]).await.unwrap();
        }
        fleet_jobs::JobSpec::ServerAction(action) => {
            let body = serde_json::to_vec(&action.request).unwrap();
            let path = format!(
                "/instance/v1/zones/{zone}/servers/{}/action",
                action.server_id
            );
            let (status, body, ..) = forwarder
                .send("POST", &path, &[], Some((body, "application/json".into())))
                .await
                .unwrap();
            if status >= 400 {
                let err = JobError::new(fleet_jobs::failure_kind::UPSTREAM, "action refused")
                    .with_details(
                        fleet_jobs::Failure {
                            status: Some(status),
                            upstream: serde_json::from_slice(&body).unwrap_or(Value::Null),
                            ..Default::default()
                        }
                        .to_details(),
                    );
                job.fail(&err).await.unwrap();
                return;
            }
            let (_, server, ..) = forwarder
                .send(
                    "GET",
                    &format!("/instance/v1/zones/{zone}/servers/{}", action.server_id),
                    &[],
                    None,
                )
                .await
                .unwrap();
            let server: Value = serde_json::from_slice(&server).unwrap_or(Value::Null);
            let action_name = action
                .request
                .action
                .as_ref()
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default();
            job.complete(&json!({"action": action_name, "server": server.get("server")}))
                .await
                .unwrap();
        }
        // Stays running until cancelled: the Cancel flow.
        fleet_jobs::JobSpec::CreateSnapshot(_) => {
            for _ in 0..400 {
                let ack = job.heartbeat(Duration::from_secs(30)).await.unwrap();
                let progress = fleet_scheduler::Progress {
                    step: Some("poll".into()),
                    percent: Some(50.0),
                    message: Some("waiting for the snapshot".into()),
                    ..Default::default()
                };
                let _ = job.record_progress(&progress).await;
                if ack.cancel_requested || job.is_cancel_requested() {
                    job.cancelled(None).await.unwrap();
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            job.complete(&json!({})).await.unwrap();
        }
        // Fails upstream: failed operations carry the mapped error.
        fleet_jobs::JobSpec::CreateVolume(_) => {
            let err = JobError::new(fleet_jobs::failure_kind::UPSTREAM, "quota").with_details(
                fleet_jobs::Failure {
                    status: Some(403),
                    upstream: json!({"type": "quotas_exceeded", "message": "quota(s) exceeded for this resource",
                                     "details": [{"resource": "volumes_l_ssd_total_size", "quota": 100, "current": 100}]}),
                    ..Default::default()
                }
                .to_details(),
            );
            job.fail(&err).await.unwrap();
        }
        fleet_jobs::JobSpec::DeleteServer(delete) => {
            job.complete(&json!({"server_id": delete.server_id}))
                .await
                .unwrap();
        }
        _ => {
            job.complete(&json!({})).await.unwrap();
        }
    }
}

/// Direct call to the emulator (setup of fixtures the gateway API needs).
pub async fn emulator_post(env: &Env, path: &str, body: Value) -> Value {
    let (status, body, ..) = env
        .forwarder
        .send(
            "POST",
            path,
            &[],
            Some((
                serde_json::to_vec(&body).unwrap(),
                "application/json".into(),
            )),
        )
        .await
        .unwrap();
    assert!(
        status < 300,
        "{path}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).unwrap_or(Value::Null)
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
