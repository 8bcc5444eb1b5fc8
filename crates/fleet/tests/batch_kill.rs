//! Kill test of batches (issue 18, `docs/reliability.md`): the real `fleet` binary as
//! emulator, scheduler, worker and gateways on a private Postgres. A reboot batch over many
//! servers runs in the only gateway, which is SIGKILLed once some children are done and
//! some not started; a second gateway started after the kill finishes the batch. Every
//! server must have been rebooted exactly once (the emulator's call log) and the batch's
//! counts must equal its children's outcomes.
//!
//! A gateway is killed, not a worker: the coordinator (the only thing that starts children)
//! runs in the gateways; worker kills are the chaos harness's subject.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use fleet_chaos::emulator::EmulatorAdmin;
use fleet_chaos::procs::{ProcSpec, Supervisor, free_port, run_once};
use fleet_proto::v1;
use sqlx::postgres::PgPoolOptions;
use tonic::transport::Channel;

const ZONES: [&str; 2] = ["fr-par-1", "nl-ams-1"];
const SERVERS_PER_ZONE: usize = 8;
const TAG: &str = "kill-batch";
const MAX_IN_FLIGHT: u32 = 3;

type Authed = tonic::service::interceptor::InterceptedService<Channel, Bearer>;

#[derive(Clone)]
struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

async fn connect(port: u16, token: &str) -> (Channel, Bearer) {
    let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect_lazy();
    let bearer = Bearer(format!("Bearer {token}").parse().unwrap());
    (channel, bearer)
}

/// Waits (bounded) until `probe` holds.
async fn wait_until<F, Fut>(what: &str, within: Duration, logs: &std::path::Path, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !probe().await {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; logs in {}",
            logs.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Follows `name` with WaitOperation until it is done.
async fn wait_done(
    ops: &mut v1::operations_client::OperationsClient<Authed>,
    name: &str,
    within: Duration,
) -> v1::Operation {
    let deadline = Instant::now() + within;
    loop {
        let answer = ops
            .wait_operation(v1::WaitOperationRequest {
                name: name.to_owned(),
                timeout: Some(prost_types::Duration {
                    seconds: 10,
                    nanos: 0,
                }),
            })
            .await;
        match answer {
            Ok(op) if op.get_ref().done => return op.into_inner(),
            Ok(_) => {}
            // The gateway answering may be the one just started: retry.
            Err(status) if status.code() == tonic::Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(status) => panic!("WaitOperation {name}: {status:?}"),
        }
        assert!(
            Instant::now() < deadline,
            "{name} not done within {within:?}"
        );
    }
}

fn unpack<M: prost::Message + prost::Name + Default>(op: &v1::Operation) -> M {
    match &op.result {
        Some(v1::operation::Result::Response(any)) => any.to_msg().expect("response type"),
        other => panic!("{} did not succeed: {other:?}", op.name),
    }
}

fn gateway_spec(name: &str, port: u16, db_env: &[(String, String)], callers: &str) -> ProcSpec {
    let mut env = db_env.to_vec();
    env.extend([
        (
            "FLEET_GATEWAY_LISTEN".to_owned(),
            format!("127.0.0.1:{port}"),
        ),
        ("FLEET_CALLERS".to_owned(), callers.to_owned()),
        ("FLEET_GATEWAY_OWNER_CACHE".to_owned(), "500ms".to_owned()),
    ]);
    ProcSpec {
        name: name.to_owned(),
        args: vec!["gateway".into()],
        env,
        worker_slot: None,
        restartable: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_outlives_its_killed_coordinator_and_runs_each_child_once() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_fleet"));
    let logs = std::env::temp_dir().join(format!("fleet-batch-kill-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&logs).unwrap();
    let database_url = fleet_pgcluster::testing::fresh_database().await;
    let db_env = vec![("DATABASE_URL".to_owned(), database_url.clone())];
    run_once(&bin, &["migrate"], &db_env, &logs.join("migrate.log")).expect("fleet migrate");

    // Secrets of this run, handed to the children by environment only.
    let secret = uuid::Uuid::new_v4().to_string();
    let token = uuid::Uuid::new_v4().simple().to_string();
    let callers = serde_json::json!([{
        "name": "ops", "token": token, "projects": ["*"], "role": "operator"
    }])
    .to_string();
    let emulator_port = free_port().unwrap();
    let emulator_url = format!("http://127.0.0.1:{emulator_port}");
    let mut sup = Supervisor::new(bin, logs.clone());
    sup.add(ProcSpec {
        name: "emulator".into(),
        args: vec![
            "emulator".into(),
            "--listen".into(),
            format!("127.0.0.1:{emulator_port}"),
            "--transition".into(),
            "300ms".into(),
        ],
        env: vec![],
        worker_slot: None,
        restartable: false,
    })
    .unwrap();
    let emulator = EmulatorAdmin::new(emulator_url.clone(), secret.clone()).unwrap();
    wait_until("the emulator", Duration::from_secs(30), &logs, || {
        emulator.healthy()
    })
    .await;
    let mut scheduler_env = db_env.clone();
    scheduler_env.push(("FLEET_SCHEDULER_RESCUE_INTERVAL".into(), "1s".into()));
    sup.add(ProcSpec {
        name: "scheduler".into(),
        args: vec!["scheduler".into()],
        env: scheduler_env,
        worker_slot: None,
        restartable: false,
    })
    .unwrap();
    let worker_listen = format!("127.0.0.1:{}", free_port().unwrap());
    let mut worker_env = db_env.clone();
    for (key, value) in [
        ("SCW_API_URL", emulator_url.as_str()),
        ("SCW_SECRET_KEY", secret.as_str()),
        ("SCW_ACCESS_KEY", "SCWXXXXXXXXXXXXXXXXX"),
        ("SCW_DEFAULT_PROJECT_ID", secret.as_str()),
        ("FLEET_WORKER_LISTEN", worker_listen.as_str()),
        ("FLEET_WORKER_ADVERTISE", &format!("http://{worker_listen}")),
        ("FLEET_WORKER_ZONES", &ZONES.join(",")),
    ] {
        worker_env.push((key.to_owned(), value.to_owned()));
    }
    sup.add(ProcSpec {
        name: "worker".into(),
        args: vec!["worker".into()],
        env: worker_env,
        worker_slot: Some(0),
        restartable: false,
    })
    .unwrap();
    let port_a = free_port().unwrap();
    sup.add(gateway_spec("gateway-a", port_a, &db_env, &callers))
        .unwrap();

    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&database_url)
        .await
        .unwrap();
    wait_until(
        "the gateway and a lease on every zone",
        Duration::from_secs(90),
        &logs,
        || {
            let pool = pool.clone();
            async move {
                let leased: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM zone_leases WHERE zone = ANY($1) AND expires_at > now()",
                )
                .bind(ZONES.map(str::to_owned).to_vec())
                .fetch_one(&pool)
                .await
                .unwrap_or(0);
                leased == ZONES.len() as i64
                    && tokio::net::TcpStream::connect(("127.0.0.1", port_a))
                        .await
                        .is_ok()
            }
        },
    )
    .await;

    // The servers, created and started through the gateway.
    let (channel, bearer) = connect(port_a, &token).await;
    let mut servers =
        v1::servers_client::ServersClient::with_interceptor(channel.clone(), bearer.clone());
    let mut ops =
        v1::operations_client::OperationsClient::with_interceptor(channel.clone(), bearer.clone());
    let mut creates = Vec::new();
    for zone in ZONES {
        for i in 0..SERVERS_PER_ZONE {
            let op = servers
                .create_server(v1::CreateServerRequest {
                    zone: zone.into(),
                    request_id: uuid::Uuid::new_v4().to_string(),
                    name: format!("kill-{zone}-{i}"),
                    commercial_type: "DEV1-S".into(),
                    image: Some("ubuntu_noble".into()),
                    project: Some(secret.clone()),
                    tags: vec![TAG.into()],
                    start: true,
                    ..Default::default()
                })
                .await
                .expect("CreateServer")
                .into_inner();
            creates.push(op.name);
        }
    }
    let mut ids = Vec::new();
    for name in &creates {
        let server: v1::Server = unpack(&wait_done(&mut ops, name, Duration::from_secs(60)).await);
        assert_eq!(server.state, "running");
        ids.push(server.id);
    }

    // The batch, coordinated by gateway A alone.
    let batch_start = SystemTime::now();
    let mut batches = v1::batches_client::BatchesClient::with_interceptor(channel, bearer);
    let op = batches
        .create_batch(v1::CreateBatchRequest {
            selector: Some(v1::BatchSelector {
                zones: ZONES.map(str::to_owned).to_vec(),
                tags: vec![TAG.into()],
                ..Default::default()
            }),
            action: Some(v1::BatchAction::power(v1::BatchPowerAction::Reboot)),
            policy: Some(v1::RolloutPolicy {
                max_in_flight: Some(v1::RolloutLimit {
                    limit: Some(v1::rollout_limit::Limit::Count(MAX_IN_FLIGHT)),
                }),
                ..Default::default()
            }),
            request_id: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        })
        .await
        .expect("CreateBatch")
        .into_inner();
    let batch_id: i64 = op.name.trim_start_matches("operations/").parse().unwrap();

    // Mid-way: some children done, some not started. Then SIGKILL the coordinator's process.
    let total = ids.len() as i64;
    // Children done, not started; and at every look, never more child jobs than children.
    let progress = |pool: sqlx::PgPool| async move {
        let (done, pending): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE j.state = 'completed'), \
                    count(*) FILTER (WHERE c.job_id IS NULL) \
             FROM batch_children c LEFT JOIN jobs j ON j.id = c.job_id WHERE c.batch_id = $1",
        )
        .bind(batch_id)
        .fetch_one(&pool)
        .await
        .unwrap_or((0, 0));
        let jobs: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'server_action.reboot'")
                .fetch_one(&pool)
                .await
                .unwrap_or(0);
        assert!(
            jobs <= total,
            "{jobs} reboot jobs for {total} children: a child started twice"
        );
        (done, pending)
    };
    wait_until(
        "the batch to be mid-way",
        Duration::from_secs(120),
        &logs,
        || {
            let pool = pool.clone();
            async move {
                let (done, pending) = progress(pool).await;
                done >= 3 && pending >= 3
            }
        },
    )
    .await;
    let killed = sup.kill("gateway-a").unwrap();
    let (done_at_kill, pending_at_kill) = progress(pool.clone()).await;
    eprintln!(
        "killed gateway-a at {:?}: {done_at_kill} children done, {pending_at_kill} not started of {total}",
        killed.at
    );
    assert!(pending_at_kill >= 1 && done_at_kill < total);

    // Another gateway takes the batch over and finishes it.
    let port_b = free_port().unwrap();
    sup.add(gateway_spec("gateway-b", port_b, &db_env, &callers))
        .unwrap();
    let (channel, bearer) = connect(port_b, &token).await;
    let mut ops = v1::operations_client::OperationsClient::with_interceptor(channel, bearer);
    let done = wait_done(&mut ops, &op.name, Duration::from_secs(240)).await;
    let result: v1::Batch = unpack(&done);
    assert_eq!(
        result.state,
        "completed",
        "{result:?}; logs in {}",
        logs.display()
    );
    assert_eq!(result.children.len(), ids.len());
    assert!(
        result.children.iter().all(|c| c.outcome == "succeeded"),
        "{:?}",
        result.children
    );

    // The counts equal the children's outcomes (derived, never double-counted).
    let mut outcomes: BTreeMap<&str, u32> = BTreeMap::new();
    for child in &result.children {
        *outcomes.entry(child.outcome.as_str()).or_default() += 1;
    }
    let counts = result.counts.unwrap();
    assert_eq!(counts.total as usize, ids.len());
    assert_eq!(
        (
            counts.succeeded,
            counts.failed,
            counts.in_flight,
            counts.pending,
            counts.skipped
        ),
        (outcomes["succeeded"], 0, 0, 0, 0),
        "{counts:?}"
    );
    let metadata: v1::OperationMetadata = done.metadata.as_ref().unwrap().to_msg().unwrap();
    assert_eq!(metadata.batch.unwrap().counts, Some(counts));

    // Each child ran once: one job per child, one reboot call per server upstream.
    let (jobs, distinct): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT c.job_id) FROM jobs j \
         JOIN batch_children c ON c.batch_id = $1 AND c.job_id = j.id",
    )
    .bind(batch_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let reboot_jobs: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'server_action.reboot'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((jobs, distinct, reboot_jobs), (total, total, total));
    let mut actions: BTreeMap<String, usize> = BTreeMap::new();
    for call in emulator.calls().await.unwrap() {
        if call.at >= batch_start
            && call.method == "POST"
            && let Some(rest) = call.path.strip_suffix("/action")
            && let Some(id) = rest.rsplit('/').next()
        {
            *actions.entry(id.to_owned()).or_default() += 1;
        }
    }
    for id in &ids {
        assert_eq!(
            actions.get(id).copied(),
            Some(1),
            "action calls of {id} after the batch started: {actions:?}"
        );
    }
    assert_eq!(actions.len(), ids.len(), "{actions:?}");
    sup.kill_all();
    let _ = std::fs::remove_dir_all(&logs);
}
