//! The gateway's Block Storage (SBS) paths over a private Postgres and a fake zone owner: a
//! `ZoneCalls` server that answers each catalog operation with canned Scaleway bodies and
//! records what it was asked, so these tests see exactly which upstream calls a public call
//! becomes. Lists of volumes and snapshots merge the Instance and the Block lists per zone
//! (Block items in the Instance shape, one page token over both, a failed family named in
//! `unreachable`); resize and import are jobs; a job on an attached volume is serialized on
//! its server.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleet_core::Zone;
use fleet_gateway::{CallerConfig, GatewayConfig};
use fleet_jobs::{ResourceKind, resource_key};
use fleet_proto::internal::zone_calls_server::{ZoneCalls, ZoneCallsServer};
use fleet_proto::internal::{InvokeRequest, InvokeResponse};
use fleet_proto::v1;
use fleet_proto::v1::snapshots_client::SnapshotsClient;
use fleet_proto::v1::volumes_client::VolumesClient;
use serde_json::{Value, json};
use sqlx::{PgPool, Row};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};

const TOKEN: &str = "block-test-token";
const PROJECT: &str = "11111111-1111-4111-8111-111111111111";
const ATTACHED: &str = "22222222-2222-4222-8222-222222222222";
const DETACHED: &str = "33333333-3333-4333-8333-333333333333";
const MISSING: &str = "44444444-4444-4444-8444-444444444444";
const SERVER: &str = "55555555-5555-4555-8555-555555555555";

type Answer = dyn Fn(&InvokeRequest) -> InvokeResponse + Send + Sync;

/// The fake zone owner of every zone.
#[derive(Clone)]
struct Worker {
    answer: Arc<Answer>,
    seen: Arc<Mutex<Vec<InvokeRequest>>>,
}

#[tonic::async_trait]
impl ZoneCalls for Worker {
    async fn invoke(
        &self,
        request: Request<InvokeRequest>,
    ) -> Result<Response<InvokeResponse>, Status> {
        let request = request.into_inner();
        let answer = (self.answer)(&request);
        self.seen.lock().unwrap().push(request);
        Ok(Response::new(answer))
    }
}

impl Worker {
    /// The calls of `operation`, in order.
    fn calls(&self, operation: &str) -> Vec<InvokeRequest> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.operation == operation)
            .cloned()
            .collect()
    }
}

fn ok(body: Value, total_count: Option<u64>) -> InvokeResponse {
    InvokeResponse {
        status: 200,
        body: serde_json::to_vec(&body).unwrap(),
        content_type: "application/json".into(),
        total_count,
        ..Default::default()
    }
}

fn error(status: u32, body: Value) -> InvokeResponse {
    InvokeResponse {
        status,
        ..ok(body, None)
    }
}

/// The query parameter `key` of a call.
fn query(request: &InvokeRequest, key: &str) -> Option<String> {
    request
        .query
        .iter()
        .find(|q| q.key == key)
        .map(|q| q.value.clone())
}

struct Env {
    gateway: SocketAddr,
    pool: PgPool,
    worker: Worker,
    shutdown: CancellationToken,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Env {
    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.gateway))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    async fn volumes(&self) -> VolumesClient<Channel> {
        VolumesClient::new(self.channel().await)
    }

    async fn snapshots(&self) -> SnapshotsClient<Channel> {
        SnapshotsClient::new(self.channel().await)
    }

    /// (kind, resource, project, args) of the job behind `operations/{id}`.
    async fn job(&self, operation: &v1::Operation) -> (String, Option<String>, String, Value) {
        let id: i64 = operation
            .name
            .strip_prefix("operations/")
            .unwrap()
            .parse()
            .unwrap();
        let row = sqlx::query("SELECT kind, resource, project, args FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .unwrap();
        (
            row.get("kind"),
            row.get("resource"),
            row.get::<Option<String>, _>("project").unwrap_or_default(),
            row.get("args"),
        )
    }
}

fn authorized<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    request
}

async fn start(answer: impl Fn(&InvokeRequest) -> InvokeResponse + Send + Sync + 'static) -> Env {
    let url = fleet_pgcluster::testing::fresh_database().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(5)
        .connect(&url)
        .await
        .unwrap();
    fleet_scheduler::migrate(&pool).await.unwrap();
    let shutdown = CancellationToken::new();

    let worker = Worker {
        answer: Arc::new(answer),
        seen: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let service = ZoneCallsServer::new(worker.clone());
    let stop = shutdown.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                stop.cancelled_owned(),
            )
            .await
            .unwrap();
    });
    for zone in Zone::ALL {
        fleet_scheduler::try_acquire_zone(
            &pool,
            zone.as_str(),
            "fake-worker",
            &address.to_string(),
            Duration::from_secs(600),
        )
        .await
        .unwrap()
        .expect("the fake worker holds the zone");
    }

    let callers: Vec<CallerConfig> = serde_json::from_value(json!([
        {"name": "ops", "token": TOKEN, "projects": ["*"], "role": "operator"}
    ]))
    .unwrap();
    let mut config = GatewayConfig::new("127.0.0.1:0".parse().unwrap(), url, callers);
    config.migrate = false;
    let gateway = config.build_with_pool(pool.clone()).await.unwrap();
    let addr = gateway.local_addr();
    let stop = shutdown.clone();
    tokio::spawn(async move { gateway.run(stop).await.unwrap() });
    Env {
        gateway: addr,
        pool,
        worker,
        shutdown,
    }
}

fn instance_volume(id: &str, zone: &str) -> Value {
    json!({"id": id, "name": id, "size": 20_000_000_000u64, "volume_type": "l_ssd",
           "state": "available", "zone": zone, "project": PROJECT, "organization": PROJECT,
           "tags": [], "server": null, "export_uri": null})
}

fn block_volume(id: &str, zone: &str) -> Value {
    json!({"id": id, "name": id, "type": "sbs_5k", "size": 10_000_000_000u64,
           "project_id": PROJECT, "status": "in_use", "zone": zone, "tags": [],
           "specs": {"perf_iops": 5000, "class": "sbs"}, "parent_snapshot_id": null,
           "last_detached_at": null, "created_at": null, "updated_at": null,
           "references": [{"id": "r", "product_resource_type": "instance_server",
               "product_resource_id": SERVER, "type": "exclusive", "status": "attached",
               "created_at": null}]})
}

/// Two Instance and three Block volumes in fr-par-1, nothing elsewhere; nl-ams-1's Block API
/// is down.
fn volume_lists(request: &InvokeRequest) -> InvokeResponse {
    match (request.operation.as_str(), request.zone.as_str()) {
        ("list_volumes", "fr-par-1") => ok(
            json!({"volumes": [instance_volume("l1", "fr-par-1"), instance_volume("l2", "fr-par-1")]}),
            Some(2),
        ),
        ("list_volumes", _) => ok(json!({"volumes": []}), Some(0)),
        ("block_list_volumes", "fr-par-1") => ok(
            json!({"total_count": 3, "volumes": [
                block_volume("b1", "fr-par-1"),
                block_volume("b2", "fr-par-1"),
                block_volume("b3", "fr-par-1"),
            ]}),
            None,
        ),
        ("block_list_volumes", "nl-ams-1") => error(
            503,
            json!({"type": "service_unavailable", "message": "block is down"}),
        ),
        ("block_list_volumes", _) => ok(json!({"total_count": 0, "volumes": []}), None),
        other => error(
            404,
            json!({"type": "unknown_resource", "message": format!("{other:?}")}),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_of_both_apis_page_as_one_list() {
    let env = start(volume_lists).await;
    let mut client = env.volumes().await;
    let list = |page_token: String| {
        authorized(v1::ListVolumesRequest {
            zone: "fr-par-1".into(),
            page_size: 3,
            page_token,
            project: Some(PROJECT.into()),
            tags: vec!["web".into()],
            ..Default::default()
        })
    };
    let first = client
        .list_volumes(list(String::new()))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = first.volumes.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["l1", "l2", "b1"]);
    assert_eq!(first.total_size, 5);
    assert!(first.unreachable.is_empty());
    assert_eq!(first.volumes[0].api, None);
    let block = &first.volumes[2];
    assert_eq!(block.api.as_deref(), Some("block"));
    assert_eq!(block.volume_type, "sbs_volume");
    assert_eq!(block.block_type.as_deref(), Some("sbs_5k"));
    assert_eq!(block.perf_iops, Some(5000));
    assert_eq!(block.state, "in_use");
    assert_eq!(block.server.as_ref().map(|s| s.id.as_str()), Some(SERVER));
    assert_eq!(block.references[0].status, "attached");

    let second = client
        .list_volumes(list(first.next_page_token.clone()))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = second.volumes.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["b2", "b3"]);
    assert_eq!(second.next_page_token, "");

    // The Block list got the mapped filters and Block paging.
    let block_calls = env.worker.calls("block_list_volumes");
    assert!(!block_calls.is_empty());
    for call in &block_calls {
        assert_eq!(query(call, "project_id").as_deref(), Some(PROJECT));
        assert_eq!(query(call, "tags").as_deref(), Some("web"));
        assert_eq!(query(call, "page").as_deref(), Some("1"));
        assert_eq!(query(call, "page_size").as_deref(), Some("100"));
        assert_eq!(query(call, "per_page"), None);
        assert_eq!(query(call, "project"), None);
    }
    let instance_calls = env.worker.calls("list_volumes");
    assert_eq!(
        query(&instance_calls[0], "per_page").as_deref(),
        Some("100")
    );
    assert_eq!(
        query(&instance_calls[0], "project").as_deref(),
        Some(PROJECT)
    );

    // A token of this list is refused with other filters.
    let mut other = list(first.next_page_token);
    other.get_mut().name = Some("other".into());
    let refused = client.list_volumes(other).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_zones_list_both_apis_and_name_a_zone_whose_block_list_failed() {
    let env = start(volume_lists).await;
    let mut client = env.volumes().await;
    let mut ids = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_volumes(authorized(v1::ListVolumesRequest {
                zone: "all".into(),
                page_size: 2,
                page_token: token,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.total_size, 5);
        assert_eq!(page.unreachable, ["nl-ams-1"]);
        ids.extend(page.volumes.into_iter().map(|v| v.id));
        pages += 1;
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
        assert!(pages < 10, "the token does not advance");
    }
    assert_eq!(ids, ["l1", "l2", "b1", "b2", "b3"]);
    // Every zone was asked for both families.
    let zones = |operation: &str| {
        let mut zones: Vec<String> = env
            .worker
            .calls(operation)
            .into_iter()
            .map(|c| c.zone)
            .collect();
        zones.sort();
        zones.dedup();
        zones.len()
    };
    assert_eq!(zones("list_volumes"), Zone::ALL.len());
    assert_eq!(zones("block_list_volumes"), Zone::ALL.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volume_type_filter_reads_only_its_api() {
    let env = start(volume_lists).await;
    let mut client = env.volumes().await;
    let sbs = client
        .list_volumes(authorized(v1::ListVolumesRequest {
            zone: "fr-par-1".into(),
            volume_type: Some("sbs_volume".into()),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sbs.volumes.len(), 3);
    assert_eq!(sbs.total_size, 3);
    assert!(env.worker.calls("list_volumes").is_empty());
    let local = client
        .list_volumes(authorized(v1::ListVolumesRequest {
            zone: "fr-par-1".into(),
            volume_type: Some("l_ssd".into()),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(local.volumes.len(), 2);
    assert_eq!(env.worker.calls("block_list_volumes").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_of_both_apis_list_together() {
    let env = start(|request| match request.operation.as_str() {
        "list_snapshots" => ok(
            json!({"snapshots": [{"id": "i1", "name": "i1", "volume_type": "l_ssd",
                                  "state": "available", "zone": request.zone, "size": 1}]}),
            Some(1),
        ),
        "block_list_snapshots" => ok(
            json!({"total_count": 1, "snapshots": [{"id": "s1", "name": "s1", "size": 10,
                "status": "available", "class": "sbs", "zone": request.zone,
                "project_id": PROJECT, "parent_volume": {"id": ATTACHED, "name": "root",
                "type": "sbs_5k", "status": "in_use"}, "references": []}]}),
            None,
        ),
        _ => error(404, json!({"type": "not_found"})),
    })
    .await;
    let list = env
        .snapshots()
        .await
        .list_snapshots(authorized(v1::ListSnapshotsRequest {
            zone: "fr-par-2".into(),
            base_volume_id: Some(ATTACHED.into()),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let shapes: Vec<(&str, &str, Option<&str>)> = list
        .snapshots
        .iter()
        .map(|s| (s.id.as_str(), s.volume_type.as_str(), s.api.as_deref()))
        .collect();
    assert_eq!(
        shapes,
        [("i1", "l_ssd", None), ("s1", "sbs_snapshot", Some("block"))]
    );
    assert_eq!(
        list.snapshots[1]
            .base_volume
            .as_ref()
            .map(|b| b.id.as_str()),
        Some(ATTACHED)
    );
    let block = &env.worker.calls("block_list_snapshots")[0];
    assert_eq!(query(block, "volume_id").as_deref(), Some(ATTACHED));
    assert_eq!(query(block, "base_volume_id"), None);
}

/// GET volume answers in the unified envelope, as the worker gives it for both APIs.
fn volume_reads(request: &InvokeRequest) -> InvokeResponse {
    let id = request
        .path_params
        .get("volume_id")
        .cloned()
        .unwrap_or_default();
    match (request.operation.as_str(), id.as_str()) {
        ("get_volume", ATTACHED) => ok(
            json!({"volume": {"id": ATTACHED, "api": "block", "volume_type": "sbs_volume",
                              "project": PROJECT, "state": "in_use", "zone": request.zone,
                              "server": {"id": SERVER, "name": ""}}}),
            None,
        ),
        ("get_volume", DETACHED) => ok(
            json!({"volume": {"id": DETACHED, "volume_type": "l_ssd", "project": PROJECT,
                              "state": "available", "zone": request.zone, "server": null}}),
            None,
        ),
        _ => error(
            404,
            json!({"type": "not_found", "resource": "volume", "resource_id": id,
                   "message": "resource is not found"}),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resize_is_a_job_serialized_on_the_server_of_its_volume() {
    let env = start(volume_reads).await;
    let mut client = env.volumes().await;
    let operation = client
        .resize_volume(authorized(v1::ResizeVolumeRequest {
            zone: "fr-par-1".into(),
            request_id: uuid::Uuid::new_v4().to_string(),
            volume_id: ATTACHED.into(),
            size: Some(40_000_000_000),
            perf_iops: Some(15000),
        }))
        .await
        .unwrap()
        .into_inner();
    let (kind, resource, project, args) = env.job(&operation).await;
    assert_eq!(kind, "block_update_volume");
    assert_eq!(
        resource.as_deref(),
        Some(resource_key("fr-par-1", ResourceKind::Server, SERVER).as_str())
    );
    assert_eq!(project, PROJECT);
    assert_eq!(args["volume_id"], ATTACHED);
    assert_eq!(
        args["request"],
        json!({"size": 40_000_000_000u64, "perf_iops": 15000})
    );
    // The resize itself is the worker's job: only the target was read.
    let operations: Vec<String> = env
        .worker
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.operation.clone())
        .collect();
    assert_eq!(operations, ["get_volume"]);

    // Bad input and a missing volume change nothing.
    let invalid = client
        .resize_volume(authorized(v1::ResizeVolumeRequest {
            zone: "fr-par-1".into(),
            volume_id: ATTACHED.into(),
            perf_iops: Some(9000),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert!(invalid.message().contains("perf_iops"), "{invalid:?}");
    let missing = client
        .resize_volume(authorized(v1::ResizeVolumeRequest {
            zone: "fr-par-1".into(),
            volume_id: MISSING.into(),
            size: Some(40_000_000_000),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(jobs, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_an_attached_volume_waits_for_its_server() {
    let env = start(volume_reads).await;
    let mut client = env.snapshots().await;
    let snapshot = |volume: &str| {
        authorized(v1::CreateSnapshotRequest {
            zone: "fr-par-1".into(),
            request_id: uuid::Uuid::new_v4().to_string(),
            name: "snap".into(),
            volume_id: Some(volume.into()),
            ..Default::default()
        })
    };
    let attached = client
        .create_snapshot(snapshot(ATTACHED))
        .await
        .unwrap()
        .into_inner();
    let detached = client
        .create_snapshot(snapshot(DETACHED))
        .await
        .unwrap()
        .into_inner();
    let (kind, resource, ..) = env.job(&attached).await;
    assert_eq!(kind, "create_snapshot");
    assert_eq!(
        resource.as_deref(),
        Some(resource_key("fr-par-1", ResourceKind::Server, SERVER).as_str())
    );
    let (_, resource, ..) = env.job(&detached).await;
    assert_eq!(
        resource.as_deref(),
        Some(resource_key("fr-par-1", ResourceKind::Volume, DETACHED).as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_and_iops_creates_are_jobs_with_their_block_options() {
    let env = start(volume_reads).await;
    let operation = env
        .snapshots()
        .await
        .import_snapshot(authorized(v1::ImportSnapshotRequest {
            zone: "nl-ams-1".into(),
            request_id: uuid::Uuid::new_v4().to_string(),
            bucket: "backups".into(),
            key: "web-1.qcow2".into(),
            name: "web-1".into(),
            project: Some(PROJECT.into()),
            tags: vec!["imported".into()],
            size: None,
        }))
        .await
        .unwrap()
        .into_inner();
    let (kind, resource, project, args) = env.job(&operation).await;
    assert_eq!(kind, "block_import_snapshot");
    assert_eq!(resource, None);
    assert_eq!(project, PROJECT);
    assert_eq!(
        args["request"],
        json!({"bucket": "backups", "key": "web-1.qcow2", "name": "web-1",
               "project_id": PROJECT, "tags": ["imported"]})
    );
    let metadata: v1::OperationMetadata = operation.metadata.unwrap().to_msg().unwrap();
    assert_eq!(metadata.method, "fleet.v1.Snapshots/ImportSnapshot");

    let operation = env
        .volumes()
        .await
        .create_volume(authorized(v1::CreateVolumeRequest {
            zone: "nl-ams-1".into(),
            request_id: uuid::Uuid::new_v4().to_string(),
            name: "data".into(),
            size: Some(20_000_000_000),
            perf_iops: Some(15000),
            project: Some(PROJECT.into()),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let (kind, _, _, args) = env.job(&operation).await;
    assert_eq!(kind, "create_volume");
    assert_eq!(args["perf_iops"], 15000);
    assert!(args["request"].get("perf_iops").is_none(), "{args}");
    assert!(env.worker.seen.lock().unwrap().is_empty());
}
