//! Security of the public API (promise 6): the auth matrix over every `fleet.v1` service,
//! hostile strings answered INVALID_ARGUMENT naming their field and changing nothing, and the
//! limits that keep one caller from starving the others (message size, per-caller rate,
//! request timeout).
//!
//! Everything runs in-process: a fresh Postgres database, the emulator, the real worker
//! (owning `fr-par-1` only) and the gateway. Requests are sent as raw protobuf bytes built
//! from the descriptors, so one helper reaches every method and a test can also send bytes
//! no typed client would (invalid UTF-8).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fleet_emulator::{Emulator, RunningEmulator};
use fleet_gateway::{CallerConfig, GatewayConfig};
use fleet_worker::{WorkerConfig, WorkerHandle};
use prost::bytes::{Buf, BufMut};
use prost_reflect::{DeserializeOptions, DynamicMessage};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic_types::StatusExt as _;

const OPS: &str = "sec-ops-token";
const VIEWER: &str = "sec-viewer-token";
const LIMITED: &str = "sec-limited-token";
const FLOODER: &str = "sec-flooder-token";
const ZONE: &str = "fr-par-1";

// ---------------------------------------------------------------------------------------------
// Raw gRPC over the descriptors.

#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;
#[derive(Debug, Clone, Copy, Default)]
struct RawEncoder;
#[derive(Debug, Clone, Copy, Default)]
struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

/// The encoded request of `method` from proto-JSON (unknown keys refused, so typos fail).
fn req(method: &str, value: Value) -> Vec<u8> {
    use prost::Message as _;
    let input = fleet_gateway::request::offline::input_of(method)
        .unwrap_or_else(|| panic!("no method {method}"));
    DynamicMessage::deserialize_with_options(input, value, &DeserializeOptions::new())
        .unwrap_or_else(|e| panic!("request of {method}: {e}"))
        .encode_to_vec()
}

/// The response of `method` as JSON.
fn decode_response(method: &str, bytes: &[u8]) -> Value {
    let (service, name) = method.split_once('/').unwrap();
    let output = fleet_proto::descriptor_pool()
        .get_service_by_name(service)
        .unwrap()
        .methods()
        .find(|m| m.name() == name)
        .unwrap()
        .output();
    let message = DynamicMessage::decode(output, bytes).unwrap();
    serde_json::to_value(&message).unwrap()
}

async fn call(
    channel: &Channel,
    method: &str,
    body: Vec<u8>,
    token: Option<&str>,
) -> Result<Vec<u8>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let mut request = tonic::Request::new(body);
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let path = PathAndQuery::try_from(format!("/{method}")).unwrap();
    let streaming = method.ends_with("/WatchOperation");
    if streaming {
        let mut stream = grpc
            .server_streaming(request, path, RawCodec)
            .await?
            .into_inner();
        return stream.message().await.map(Option::unwrap_or_default);
    }
    grpc.unary(request, path, RawCodec)
        .await
        .map(tonic::Response::into_inner)
}

fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

fn violation_fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The environment.

struct Env {
    pool: PgPool,
    emulator: RunningEmulator,
    gateway: SocketAddr,
    channel: Channel,
    shutdown: CancellationToken,
    /// The emulator tenant: the project every resource made through the worker belongs to.
    project: String,
    /// A project granted to the `limited` caller only.
    other_project: String,
    _worker: WorkerHandle,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn callers(other_project: &str) -> Vec<CallerConfig> {
    serde_json::from_value(json!([
        {"name": "ops", "token": OPS, "projects": ["*"], "role": "operator"},
        {"name": "viewer", "token_sha256": fleet_gateway::token_sha256_hex(VIEWER), "projects": ["*"], "role": "read_only"},
        {"name": "limited", "token": LIMITED, "projects": [other_project], "role": "operator"},
        {"name": "flooder", "token": FLOODER, "projects": ["*"], "role": "read_only", "rate_limit": 1.0, "burst": 5},
    ]))
    .unwrap()
}

async fn start(tweak: impl FnOnce(&mut GatewayConfig)) -> Env {
    let url = fleet_pgcluster::testing::fresh_database().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(10)
        .connect(&url)
        .await
        .unwrap();
    fleet_scheduler::migrate(&pool).await.unwrap();
    let emulator = Emulator::builder()
        .transition(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let project = uuid::Uuid::new_v4().to_string();
    let other_project = uuid::Uuid::new_v4().to_string();
    let shutdown = CancellationToken::new();

    #[derive(clap::Parser)]
    struct WorkerCli {
        #[command(flatten)]
        config: WorkerConfig,
    }
    let args = [
        "worker".to_owned(),
        format!("--database-url={url}"),
        format!("--scw-secret-key={project}"),
        format!("--scw-api-url={}", emulator.base_url()),
        format!("--scw-default-project-id={project}"),
        "--listen=127.0.0.1:0".to_owned(),
        format!("--zones={ZONE}"),
        "--lease-ttl=10s".to_owned(),
        "--db-max-connections=5".to_owned(),
    ];
    let worker = <WorkerCli as clap::Parser>::try_parse_from(args)
        .unwrap()
        .config
        .build()
        .await
        .unwrap();
    let handle = worker.handle();
    tokio::spawn(worker.run(shutdown.clone()));

    let mut config =
        GatewayConfig::new("127.0.0.1:0".parse().unwrap(), url, callers(&other_project));
    config.migrate = false;
    config.health_interval = Duration::from_millis(100);
    config.drain_timeout = Duration::from_secs(1);
    tweak(&mut config);
    let gateway = config.build_with_pool(pool.clone()).await.unwrap();
    let addr = gateway.local_addr();
    tokio::spawn(gateway.run(shutdown.clone()));

    let deadline = Instant::now() + Duration::from_secs(30);
    while !handle.held_zones().contains(&fleet_core::Zone::FrPar1) {
        assert!(Instant::now() < deadline, "the worker never owned {ZONE}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    Env {
        pool,
        emulator,
        gateway: addr,
        channel,
        shutdown,
        project,
        other_project,
        _worker: handle,
    }
}

impl Env {
    async fn ok(&self, method: &str, body: Value, token: &str) -> Value {
        match call(&self.channel, method, req(method, body), Some(token)).await {
            Ok(bytes) => decode_response(method, &bytes),
            Err(status) => panic!("{method} failed: {status:?}"),
        }
    }

    /// Waits (bounded) for an operation to finish and returns it.
    async fn finish(&self, operation: &Value) -> Value {
        let name = operation["name"].as_str().unwrap().to_owned();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let op = self
                .ok(
                    "fleet.v1.Operations/WaitOperation",
                    json!({"name": name, "timeout": "5s"}),
                    OPS,
                )
                .await;
            if op["done"] == true {
                assert!(op.get("error").is_none(), "operation failed: {op:#}");
                return op;
            }
            assert!(
                Instant::now() < deadline,
                "operation never finished: {op:#}"
            );
        }
    }

    /// A server of the emulator tenant's project, created through the gateway.
    async fn server(&self) -> String {
        let op = self
            .ok(
                "fleet.v1.Servers/CreateServer",
                json!({"zone": ZONE, "request_id": uuid::Uuid::new_v4().to_string(), "name": "sec-1", "commercial_type": "DEV1-S", "image": "ubuntu_noble"}),
                OPS,
            )
            .await;
        let op = self.finish(&op).await;
        op["response"]["id"].as_str().unwrap().to_owned()
    }

    /// Mutating upstream calls the emulator has seen (everything but GET).
    fn mutating_calls(&self) -> Vec<String> {
        self.emulator
            .call_log()
            .into_iter()
            .filter(|c| c.method != "GET")
            .map(|c| format!("{} {}", c.method, c.path))
            .collect()
    }

    /// Rows of the tables a public call can write.
    async fn rows(&self) -> (i64, i64, i64, i64) {
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM gateway_requests), \
             (SELECT count(*) FROM gateway_operations), (SELECT count(*) FROM schedules)",
        )
        .fetch_one(&self.pool)
        .await
        .unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// The auth matrix.

/// One representative read and (where the service has one) mutating call per service, and a
/// call that reaches the emulator tenant's project, which the `limited` caller is not granted.
struct Row {
    read: (&'static str, Value),
    mutate: Option<(&'static str, Value)>,
    other_project: Option<(&'static str, Value)>,
}

fn matrix(project: &str, server: &str) -> BTreeMap<&'static str, Row> {
    let id = "11111111-1111-4111-8111-111111111111";
    let rid = || uuid::Uuid::new_v4().to_string();
    let mut rows = BTreeMap::new();
    rows.insert(
        "fleet.v1.Products",
        Row {
            read: ("fleet.v1.Products/ListServerTypes", json!({"zone": ZONE})),
            mutate: None,
            // The product catalog belongs to no project.
            other_project: None,
        },
    );
    rows.insert(
        "fleet.v1.Dashboards",
        Row {
            read: ("fleet.v1.Dashboards/GetDashboard", json!({"zone": ZONE})),
            mutate: None,
            other_project: Some((
                "fleet.v1.Dashboards/GetDashboard",
                json!({"zone": ZONE, "project": project}),
            )),
        },
    );
    rows.insert(
        "fleet.v1.Servers",
        Row {
            read: ("fleet.v1.Servers/ListServers", json!({"zone": ZONE})),
            mutate: Some((
                "fleet.v1.Servers/CreateServer",
                json!({"zone": ZONE, "request_id": rid(), "name": "x", "commercial_type": "DEV1-S", "image": "ubuntu_noble"}),
            )),
            other_project: Some((
                "fleet.v1.Servers/CreateServer",
                json!({"zone": ZONE, "request_id": rid(), "name": "x", "commercial_type": "DEV1-S", "image": "ubuntu_noble", "project": project}),
            )),
        },
    );
    rows.insert(
        "fleet.v1.ServerActions",
        Row {
            read: (
                "fleet.v1.ServerActions/ListServerActions",
                json!({"zone": ZONE, "server_id": server}),
            ),
            mutate: Some((
                "fleet.v1.ServerActions/PowerOnServer",
                json!({"zone": ZONE, "request_id": rid(), "server_id": server}),
            )),
            other_project: Some((
                "fleet.v1.ServerActions/PowerOnServer",
                json!({"zone": ZONE, "request_id": rid(), "server_id": server}),
            )),
        },
    );
    rows.insert(
        "fleet.v1.UserData",
        Row {
            read: (
                "fleet.v1.UserData/ListServerUserData",
                json!({"zone": ZONE, "server_id": server}),
            ),
            mutate: Some((
                "fleet.v1.UserData/SetServerUserData",
                json!({"zone": ZONE, "request_id": rid(), "server_id": server, "key": "k", "value": "dg=="}),
            )),
            other_project: Some((
                "fleet.v1.UserData/SetServerUserData",
                json!({"zone": ZONE, "request_id": rid(), "server_id": server, "key": "k", "value": "dg=="}),
            )),
        },
    );
    rows.insert(
        "fleet.v1.Images",
        Row {
            read: ("fleet.v1.Images/ListImages", json!({"zone": ZONE})),
            mutate: Some((
                "fleet.v1.Images/CreateImage",
                json!({"zone": ZONE, "request_id": rid(), "name": "img", "root_volume": id, "arch": "x86_64"}),
            )),
            other_project: Some((
                "fleet.v1.Images/ListImages",
                json!({"zone": ZONE, "project": project}),
            )),
        },
    );
    rows.insert(
        "fleet.v1.Snapshots",
        Row {
            read: ("fleet.v1.Snapshots/ListSnapshots", json!({"zone": ZONE})),
            mutate: Some((
                "fleet.v1.Snapshots/CreateSnapshot",
                json!({"zone": ZONE, "request_id": rid(), "name": "s", "volume_id": id}),
            )),
            other_project: Some((
                "fleet.v1.Snapshots/CreateSnapshot",
                json!({"zone": ZONE, "request_id": rid(), "name": "s", "volume_id": id, "project": project}),
            )),
        },
    );
    rows.insert(
        "fleet.v1.Volumes",
        Row {
            read: ("fleet.v1.Volumes/ListVolumes", json!({"zone": ZONE})),
            mutate: Some((
                "fleet.v1.Volumes/CreateVolume",
                json!({"zone": ZONE, "request_id": rid(), "name": "v", "volume_type": "l_ssd", "size": 20_000_000_000u64}),
            )),
            other_project: Some((
                "fleet.v1.Volumes/CreateVolume",
                json!({"zone": ZONE, "request_id": rid(), "name": "v", "volume_type": "l_ssd", "size": 20_000_000_000u64, "project": project}),
            )),
        },
    );
    rows.insert(
        "fleet.v1.BlockMigration",
        Row {
            read: (
                "fleet.v1.BlockMigration/PlanBlockMigration",
                json!({"zone": ZONE, "volume_id": id}),
            ),
            mutate: Some((
                "fleet.v1.BlockMigration/ApplyBlockMigration",
                json!({"zone": ZONE, "request_id": rid(), "volume_id": id, "validation_key": "k"}),
            )),
            // Migrations name volumes or snapshots, not projects (see the worker's scope rules).
            other_project: None,
        },
    );
    rows.insert(
        "fleet.v1.SecurityGroups",
        Row {
            read: (
                "fleet.v1.SecurityGroups/ListSecurityGroups",
                json!({"zone": ZONE}),
            ),
            mutate: Some((
                "fleet.v1.SecurityGroups/CreateSecurityGroup",
                json!({"zone": ZONE, "request_id": rid(), "name": "sg"}),
            )),
            other_project: Some((
                "fleet.v1.SecurityGroups/CreateSecurityGroup",
                json!({"zone": ZONE, "request_id": rid(), "name": "sg", "project": project}),
            )),
        },
    );
    rows.insert(
        "fleet.v1.PlacementGroups",
        Row {
            read: (
                "fleet.v1.PlacementGroups/ListPlacementGroups",
                json!({"zone": ZONE}),
            ),
            mutate: Some((
                "fleet.v1.PlacementGroups/CreatePlacementGroup",
                json!({"zone": ZONE, "request_id": rid(), "name": "pg"}),
            )),
            other_project: Some((
                "fleet.v1.PlacementGroups/CreatePlacementGroup",
                json!({"zone": ZONE, "request_id": rid(), "name": "pg", "project": project}),
            )),
        },
    );
    rows.insert(
        "fleet.v1.Ips",
        Row {
            read: ("fleet.v1.Ips/ListIps", json!({"zone": ZONE})),
            mutate: Some((
                "fleet.v1.Ips/CreateIp",
                json!({"zone": ZONE, "request_id": rid(), "type": "routed_ipv4"}),
            )),
            other_project: Some((
                "fleet.v1.Ips/CreateIp",
                json!({"zone": ZONE, "request_id": rid(), "type": "routed_ipv4", "project": project}),
            )),
        },
    );
    rows.insert(
        "fleet.v1.PrivateNics",
        Row {
            read: (
                "fleet.v1.PrivateNics/ListPrivateNics",
                json!({"zone": ZONE, "server_id": server}),
            ),
            mutate: Some((
                "fleet.v1.PrivateNics/CreatePrivateNic",
                json!({"zone": ZONE, "request_id": rid(), "server_id": server, "private_network_id": id}),
            )),
            other_project: Some((
                "fleet.v1.PrivateNics/ListPrivateNics",
                json!({"zone": ZONE, "server_id": server}),
            )),
        },
    );
    rows.insert(
        "fleet.v1.Operations",
        Row {
            read: ("fleet.v1.Operations/ListOperations", json!({})),
            mutate: Some((
                "fleet.v1.Operations/CancelOperation",
                json!({"name": "operations/1"}),
            )),
            other_project: Some((
                "fleet.v1.Operations/ListOperations",
                json!({"project": project}),
            )),
        },
    );
    rows.insert(
        "fleet.v1.Batches",
        Row {
            read: ("fleet.v1.Batches/ListBatches", json!({})),
            mutate: Some((
                "fleet.v1.Batches/CreateBatch",
                json!({"selector": {"zone": ZONE, "server_ids": [server]},
                       "action": {"power": "BATCH_POWER_ACTION_REBOOT"}}),
            )),
            // The selection is resolved through the List path, so the project scope holds.
            other_project: Some((
                "fleet.v1.Batches/CreateBatch",
                json!({"selector": {"zone": ZONE, "project": project},
                       "action": {"power": "BATCH_POWER_ACTION_REBOOT"}, "validate_only": true}),
            )),
        },
    );
    let snapshot_policy = |project: Option<&str>| {
        let mut policy = json!({"snapshot": {"selector": {"zone": ZONE, "tags": ["db"]},
                                             "crons": ["0 0 3 * * *"], "keep_count": 2}});
        if let Some(project) = project {
            policy["project"] = json!(project);
        }
        json!({ "policy": policy })
    };
    rows.insert(
        "fleet.v1.Policies",
        Row {
            read: ("fleet.v1.Policies/ListPolicies", json!({})),
            mutate: Some(("fleet.v1.Policies/CreatePolicy", snapshot_policy(None))),
            // A policy acts in the project it names: one the caller was not granted is refused.
            other_project: Some((
                "fleet.v1.Policies/CreatePolicy",
                snapshot_policy(Some(project)),
            )),
        },
    );
    rows.insert(
        "fleet.v1.Audit",
        Row {
            read: ("fleet.v1.Audit/ListAuditEvents", json!({})),
            // Reading the audit log changes nothing.
            mutate: None,
            // The audit names no project for most calls: a caller not granted every project
            // reads only its own records, so another caller's are out of reach.
            other_project: Some(("fleet.v1.Audit/ListAuditEvents", json!({"caller": "ops"}))),
        },
    );
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_matrix_over_every_service() {
    let env = start(|_| {}).await;
    let server = env.server().await;
    let rows = matrix(&env.project, &server);

    // Every fleet.v1 service of the descriptors is in the matrix, and nothing else.
    let services: BTreeSet<String> = fleet_proto::descriptor_pool()
        .services()
        .filter(|s| s.package_name() == "fleet.v1")
        .map(|s| s.full_name().to_owned())
        .collect();
    let covered: BTreeSet<String> = rows.keys().map(|s| (*s).to_owned()).collect();
    assert_eq!(
        services, covered,
        "the matrix covers exactly the fleet.v1 services"
    );

    let mut checked = 0;
    for (service, row) in &rows {
        let mut calls = vec![row.read.clone()];
        calls.extend(row.mutate.clone());
        for (method, body) in &calls {
            assert!(method.starts_with(service), "{method} is not in {service}");
            for token in [None, Some("not-a-token"), Some("Bearer"), Some(" ")] {
                let err = call(&env.channel, method, req(method, body.clone()), token)
                    .await
                    .expect_err("refused without a valid token");
                assert_eq!(err.code(), Code::Unauthenticated, "{method}: {err:?}");
                assert_eq!(reason(&err), "UNAUTHENTICATED", "{method}");
                checked += 1;
            }
        }
        // Readers read.
        let (method, body) = &row.read;
        if let Err(status) = call(
            &env.channel,
            method,
            req(method, body.clone()),
            Some(VIEWER),
        )
        .await
        {
            // Reads may fail upstream (a made-up volume id), never on authorization.
            assert!(
                !matches!(
                    status.code(),
                    Code::Unauthenticated | Code::PermissionDenied
                ),
                "viewer reading {method}: {status:?}"
            );
        }
        // Read-only callers cannot mutate anything.
        if let Some((method, body)) = &row.mutate {
            let err = call(
                &env.channel,
                method,
                req(method, body.clone()),
                Some(VIEWER),
            )
            .await
            .expect_err("a read-only caller cannot mutate");
            assert_eq!(err.code(), Code::PermissionDenied, "{method}: {err:?}");
            assert_eq!(reason(&err), "READ_ONLY_CALLER", "{method}");
            checked += 1;
        }
        // A caller cannot reach a project it was not granted.
        if let Some((method, body)) = &row.other_project {
            let err = call(
                &env.channel,
                method,
                req(method, body.clone()),
                Some(LIMITED),
            )
            .await
            .expect_err("another project is out of reach");
            assert_eq!(err.code(), Code::PermissionDenied, "{method}: {err:?}");
            checked += 1;
        }
    }
    assert!(checked > 60, "{checked} checks");

    // The limited caller does not see the other project's operations either.
    let listed = env
        .ok("fleet.v1.Operations/ListOperations", json!({}), LIMITED)
        .await;
    assert!(
        listed["operations"].as_array().is_none_or(Vec::is_empty),
        "{listed:#}"
    );
    // Nor the server itself.
    let err = call(
        &env.channel,
        "fleet.v1.Servers/GetServer",
        req(
            "fleet.v1.Servers/GetServer",
            json!({"zone": ZONE, "server_id": server}),
        ),
        Some(LIMITED),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");

    // Health and reflection are open without a token.
    let mut health = tonic_health::pb::health_client::HealthClient::new(env.channel.clone());
    health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers without a token");
    let mut reflection =
        tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(
            env.channel.clone(),
        );
    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            ),
        ),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection answers without a token")
        .into_inner();
    let answer = answers.message().await.unwrap().expect("one answer");
    let listed = format!("{answer:?}");
    for service in &services {
        assert!(
            listed.contains(service.as_str()),
            "reflection lists {service}"
        );
    }
    let _ = env.gateway;
    let _ = &env.other_project;
}

// ---------------------------------------------------------------------------------------------
// Hostile input.

/// Strings no field of the public API accepts where a name, id, key or enum is expected.
fn hostile() -> Vec<(&'static str, String)> {
    vec![
        ("sql", "x' OR '1'='1'; DROP TABLE jobs; --".to_owned()),
        ("traversal", "../../../etc/passwd".to_owned()),
        ("header", "a\r\nX-Auth-Token: stolen".to_owned()),
        ("nul", "a\0b".to_owned()),
        ("huge", "a".repeat(1024 * 1024)),
        ("rtl", "abc\u{202e}gpj.exe".to_owned()),
        ("zero-width", "ad\u{200b}min".to_owned()),
        ("homoglyph", "аdmin".to_owned()),
        ("fullwidth-slash", "a\u{ff0f}b".to_owned()),
        ("percent", "%2e%2e%2f".to_owned()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_strings_are_refused_and_change_nothing() {
    let env = start(|_| {}).await;
    let server = env.server().await;
    // Let the create settle: its last upstream calls must not count as ours.
    let settled = Instant::now() + Duration::from_secs(10);
    let mut last = env.mutating_calls().len();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = env.mutating_calls().len();
        if now == last || Instant::now() > settled {
            break;
        }
        last = now;
    }
    let before_calls = env.mutating_calls();
    let before_rows = env.rows().await;
    let rid = || uuid::Uuid::new_v4().to_string();

    let mut cases = 0;
    for (label, text) in hostile() {
        let tag_ok = !(text.chars().any(char::is_control)
            || text.len() > 128
            || text.chars().any(|c| matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')));
        let mut requests: Vec<(&str, Value, &str)> = vec![
            (
                "fleet.v1.Servers/CreateServer",
                json!({"zone": ZONE, "request_id": rid(), "name": text, "commercial_type": "DEV1-S", "image": "ubuntu_noble"}),
                "name",
            ),
            (
                "fleet.v1.Servers/ListServers",
                json!({"zone": ZONE, "name": text}),
                "name",
            ),
            (
                "fleet.v1.Servers/ListServers",
                json!({"zone": ZONE, "project": text}),
                "project",
            ),
            (
                "fleet.v1.Servers/ListServers",
                json!({"zone": ZONE, "state": text}),
                "state",
            ),
            (
                "fleet.v1.Servers/ListServers",
                json!({"zone": ZONE, "commercial_type": text}),
                "commercial_type",
            ),
            (
                "fleet.v1.Servers/ListServers",
                json!({"zone": ZONE, "page_token": text}),
                "page_token",
            ),
            (
                "fleet.v1.Operations/ListOperations",
                json!({"page_token": text}),
                "page_token",
            ),
            (
                "fleet.v1.Servers/GetServer",
                json!({"zone": ZONE, "server_id": text}),
                "server_id",
            ),
            (
                "fleet.v1.Servers/ListServers",
                json!({"zone": text}),
                "zone",
            ),
            (
                "fleet.v1.Servers/DeleteServer",
                json!({"zone": ZONE, "request_id": rid(), "server_id": text}),
                "server_id",
            ),
            (
                "fleet.v1.UserData/SetServerUserData",
                json!({"zone": ZONE, "request_id": rid(), "server_id": server, "key": text, "value": "dg=="}),
                "key",
            ),
            (
                "fleet.v1.ServerActions/ServerAction",
                json!({"zone": ZONE, "request_id": rid(), "server_id": server, "action": text}),
                "action",
            ),
            (
                "fleet.v1.Servers/CreateServer",
                json!({"zone": ZONE, "request_id": text, "name": "ok", "commercial_type": "DEV1-S", "image": "ubuntu_noble"}),
                "request_id",
            ),
            (
                "fleet.v1.SecurityGroups/CreateSecurityGroup",
                json!({"zone": ZONE, "request_id": rid(), "name": text}),
                "name",
            ),
            (
                "fleet.v1.Operations/GetOperation",
                json!({"name": text}),
                "name",
            ),
        ];
        if !tag_ok {
            requests.push((
                "fleet.v1.Servers/CreateServer",
                json!({"zone": ZONE, "request_id": rid(), "name": "ok", "commercial_type": "DEV1-S", "image": "ubuntu_noble", "tags": ["fine", text]}),
                "tags.1",
            ));
            requests.push((
                "fleet.v1.Servers/ListServers",
                json!({"zone": ZONE, "tags": [text]}),
                "tags.0",
            ));
        }
        for (method, body, field) in requests {
            let err = call(&env.channel, method, req(method, body), Some(OPS))
                .await
                .expect_err("hostile input is refused");
            assert_eq!(
                err.code(),
                Code::InvalidArgument,
                "{label} in {method}.{field}: {:?} {}",
                err.code(),
                err.message().chars().take(300).collect::<String>()
            );
            assert!(
                violation_fields(&err).iter().any(|f| f == field),
                "{label} in {method}: violations {:?} do not name {field}",
                violation_fields(&err)
            );
            assert!(
                err.message().len() < 8 * 1024,
                "{label}: the answer does not echo a huge value"
            );
            cases += 1;
        }
    }

    // Invalid UTF-8 where the wire carries bytes a typed client cannot send: a user-data key
    // and a server name with bytes 0xff 0xfe.
    for (method, base, field) in [
        (
            "fleet.v1.UserData/SetServerUserData",
            json!({"zone": ZONE, "request_id": rid(), "server_id": server, "value": "dg=="}),
            "key",
        ),
        (
            "fleet.v1.Servers/CreateServer",
            json!({"zone": ZONE, "request_id": rid(), "commercial_type": "DEV1-S", "image": "ubuntu_noble"}),
            "name",
        ),
    ] {
        let mut bytes = req(method, base);
        let number = fleet_gateway::request::offline::input_of(method)
            .unwrap()
            .get_field_by_name(field)
            .unwrap()
            .number();
        bytes.push(((number << 3) | 2) as u8);
        bytes.extend([3, b'a', 0xff, 0xfe]);
        let err = call(&env.channel, method, bytes, Some(OPS))
            .await
            .expect_err("invalid UTF-8 is refused");
        assert_eq!(err.code(), Code::InvalidArgument, "{method}: {err:?}");
        assert_eq!(violation_fields(&err), [field], "{method}");
        cases += 1;
    }
    // Truncated and garbage bodies.
    for bytes in [vec![0x0a, 0x05, b'a'], vec![0xff; 16], vec![0x0b]] {
        let err = call(&env.channel, "fleet.v1.Servers/GetServer", bytes, Some(OPS))
            .await
            .expect_err("garbage is refused");
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(!violation_fields(&err).is_empty());
        cases += 1;
    }
    // A forged page token (tokens are not signed) whose offset would overflow the paging.
    {
        use base64::Engine as _;
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"o":18446744073709551615,"z":4294967295,"h":"x"}"#);
        let err = call(
            &env.channel,
            "fleet.v1.Servers/ListServers",
            req(
                "fleet.v1.Servers/ListServers",
                json!({"zone": "all", "page_token": forged}),
            ),
            Some(OPS),
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert_eq!(violation_fields(&err), ["page_token"]);
        cases += 1;
    }
    assert!(cases > 150, "{cases} hostile requests");

    // Nothing changed: no mutating upstream call, no row written.
    assert_eq!(
        env.mutating_calls(),
        before_calls,
        "no mutating upstream call"
    );
    assert_eq!(env.rows().await, before_rows, "no row written");
    // And the gateway still serves.
    env.ok("fleet.v1.Servers/ListServers", json!({"zone": ZONE}), OPS)
        .await;
}

// ---------------------------------------------------------------------------------------------
// Limits.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_rate_and_time_limits() {
    let env = start(|config| {
        config.transport.max_message_bytes = 2 * 1024 * 1024;
        config.transport.request_timeout = Duration::from_secs(2);
    })
    .await;
    let rid = || uuid::Uuid::new_v4().to_string();

    // A message over the limit is refused by tonic before anything runs.
    let before_rows = env.rows().await;
    let big = "a".repeat(3 * 1024 * 1024);
    let err = call(
        &env.channel,
        "fleet.v1.Servers/CreateServer",
        req(
            "fleet.v1.Servers/CreateServer",
            json!({"zone": ZONE, "request_id": rid(), "name": "big", "commercial_type": "DEV1-S", "image": "ubuntu_noble", "tags": [big]}),
        ),
        Some(OPS),
    )
    .await
    .expect_err("too big");
    assert!(
        matches!(err.code(), Code::ResourceExhausted | Code::OutOfRange),
        "{:?}: {}",
        err.code(),
        err.message()
    );
    // Just under the limit, the field itself is refused.
    let err = call(
        &env.channel,
        "fleet.v1.Servers/CreateServer",
        req(
            "fleet.v1.Servers/CreateServer",
            json!({"zone": ZONE, "request_id": rid(), "name": "a".repeat(1024 * 1024), "commercial_type": "DEV1-S", "image": "ubuntu_noble"}),
        ),
        Some(OPS),
    )
    .await
    .expect_err("a 1 MB name");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violation_fields(&err), ["name"]);
    assert_eq!(env.rows().await, before_rows);

    // One caller flooding is refused with RESOURCE_EXHAUSTED; another still gets answers.
    let list = || req("fleet.v1.Products/ListServerTypes", json!({"zone": ZONE}));
    let mut refused = None;
    let mut served = 0;
    for _ in 0..30 {
        match call(
            &env.channel,
            "fleet.v1.Products/ListServerTypes",
            list(),
            Some(FLOODER),
        )
        .await
        {
            Ok(_) => served += 1,
            Err(status) => {
                refused = Some(status);
                break;
            }
        }
    }
    let refused = refused.expect("the flooder is limited");
    assert!(served >= 5, "the burst is served first ({served})");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    let details = refused.get_error_details();
    assert_eq!(details.error_info().unwrap().reason, "CALLER_RATE_LIMITED");
    let retry = details.retry_info().unwrap().retry_delay.unwrap();
    assert!(
        retry > Duration::ZERO && retry <= Duration::from_secs(1),
        "{retry:?}"
    );
    assert!(!refused.message().contains(FLOODER));
    for _ in 0..10 {
        call(
            &env.channel,
            "fleet.v1.Products/ListServerTypes",
            list(),
            Some(OPS),
        )
        .await
        .expect("another caller is served while the flooder is limited");
    }
    // After the advertised delay, the flooder gets a token back (bounded wait on the
    // condition, not a fixed sleep).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match call(
            &env.channel,
            "fleet.v1.Products/ListServerTypes",
            list(),
            Some(FLOODER),
        )
        .await
        {
            Ok(_) => break,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert!(Instant::now() < deadline, "the bucket never refilled");
                let wait = status
                    .get_error_details()
                    .retry_info()
                    .and_then(|r| r.retry_delay)
                    .unwrap_or(Duration::from_millis(100));
                tokio::time::sleep(wait).await;
            }
        }
    }

    // The request timeout bounds a call however long it asks to wait: an operation in a zone
    // no worker owns stays queued, and its WaitOperation asks for 50 s.
    let op = env
        .ok(
            "fleet.v1.Servers/CreateServer",
            json!({"zone": "nl-ams-1", "request_id": rid(), "name": "queued", "commercial_type": "DEV1-S", "image": "ubuntu_noble"}),
            OPS,
        )
        .await;
    let started = Instant::now();
    let result = call(
        &env.channel,
        "fleet.v1.Operations/WaitOperation",
        req(
            "fleet.v1.Operations/WaitOperation",
            json!({"name": op["name"], "timeout": "50s"}),
        ),
        Some(OPS),
    )
    .await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "the request timeout cut the call ({took:?})"
    );
    assert!(took >= Duration::from_millis(1500), "{took:?}");
    match result {
        Err(status) => assert!(
            matches!(status.code(), Code::Cancelled | Code::DeadlineExceeded),
            "{status:?}"
        ),
        Ok(bytes) => panic!(
            "WaitOperation outlived the request timeout: {}",
            decode_response("fleet.v1.Operations/WaitOperation", &bytes)
        ),
    }
}
