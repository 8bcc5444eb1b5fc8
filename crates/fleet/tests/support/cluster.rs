//! A cluster of real `fleet` processes on a private Postgres, for the kill tests: the emulator,
//! one or more schedulers, one worker over some zones, and gateways added as the test goes,
//! each a supervised child ([`Supervisor`]) the test can SIGKILL and restart. Secrets (the
//! emulator tenant's key, the caller token) are fresh per run and handed over by environment
//! only.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fleet_chaos::emulator::EmulatorAdmin;
use fleet_chaos::procs::{ProcSpec, Supervisor, free_port, run_once};
use fleet_proto::v1;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tonic::transport::Channel;

pub type Authed = tonic::service::interceptor::InterceptedService<Channel, Bearer>;

/// Adds the caller token to every request.
#[derive(Clone)]
pub struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

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

/// Waits (bounded) until `probe` holds.
pub async fn wait_until<F, Fut>(what: &str, within: Duration, logs: &Path, mut probe: F)
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

/// Follows `name` with WaitOperation until it is done (retrying while the gateway answering
/// is one just started).
pub async fn wait_done(
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

/// The response of a succeeded operation.
pub fn unpack<M: prost::Message + prost::Name + Default>(op: &v1::Operation) -> M {
    match &op.result {
        Some(v1::operation::Result::Response(any)) => any.to_msg().expect("response type"),
        other => panic!("{} did not succeed: {other:?}", op.name),
    }
}

/// The processes of a kill test.
pub struct Cluster {
    pub sup: Supervisor,
    pub logs: PathBuf,
    pub db_env: Vec<(String, String)>,
    pub pool: PgPool,
    /// The emulator tenant's secret key (also the default project id).
    pub secret: String,
    /// The `ops` caller's token.
    pub token: String,
    callers: String,
    pub emulator: EmulatorAdmin,
    pub zones: Vec<String>,
}

impl Cluster {
    /// Migrates a fresh database, then starts the emulator, one scheduler per name in
    /// `schedulers` and a worker owning `zones`. No gateway yet.
    pub async fn start(label: &str, zones: &[&str], schedulers: &[&str]) -> Cluster {
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_fleet"));
        let logs = std::env::temp_dir().join(format!("fleet-{label}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&logs).unwrap();
        let database_url = fleet_pgcluster::testing::fresh_database().await;
        let db_env = vec![("DATABASE_URL".to_owned(), database_url.clone())];
        run_once(&bin, &["migrate"], &db_env, &logs.join("migrate.log")).expect("fleet migrate");
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
        for name in schedulers {
            let mut env = db_env.clone();
            env.push(("FLEET_SCHEDULER_RESCUE_INTERVAL".into(), "1s".into()));
            sup.add(ProcSpec {
                name: (*name).to_owned(),
                args: vec!["scheduler".into()],
                env,
                worker_slot: None,
                restartable: false,
            })
            .unwrap();
        }
        let worker_listen = format!("127.0.0.1:{}", free_port().unwrap());
        let mut worker_env = db_env.clone();
        for (key, value) in [
            ("SCW_API_URL", emulator_url.as_str()),
            ("SCW_SECRET_KEY", secret.as_str()),
            ("SCW_ACCESS_KEY", "SCWXXXXXXXXXXXXXXXXX"),
            ("SCW_DEFAULT_PROJECT_ID", secret.as_str()),
            ("FLEET_WORKER_LISTEN", worker_listen.as_str()),
            ("FLEET_WORKER_ADVERTISE", &format!("http://{worker_listen}")),
            ("FLEET_WORKER_ZONES", &zones.join(",")),
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
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect(&database_url)
            .await
            .unwrap();
        Cluster {
            sup,
            logs,
            db_env,
            pool,
            secret,
            token,
            callers,
            emulator,
            zones: zones.iter().map(|z| (*z).to_owned()).collect(),
        }
    }

    /// Starts a gateway named `name`; answers its port once it listens and every zone is
    /// leased.
    pub async fn add_gateway(&mut self, name: &str) -> u16 {
        let port = free_port().unwrap();
        let mut env = self.db_env.clone();
        env.extend([
            (
                "FLEET_GATEWAY_LISTEN".to_owned(),
                format!("127.0.0.1:{port}"),
            ),
            ("FLEET_CALLERS".to_owned(), self.callers.clone()),
            ("FLEET_GATEWAY_OWNER_CACHE".to_owned(), "500ms".to_owned()),
        ]);
        self.sup
            .add(ProcSpec {
                name: name.to_owned(),
                args: vec!["gateway".into()],
                env,
                worker_slot: None,
                restartable: false,
            })
            .unwrap();
        let (pool, zones) = (self.pool.clone(), self.zones.clone());
        wait_until(
            "the gateway and a lease on every zone",
            Duration::from_secs(90),
            &self.logs,
            || {
                let (pool, zones) = (pool.clone(), zones.clone());
                async move {
                    let leased: i64 = sqlx::query_scalar(
                        "SELECT count(*) FROM zone_leases \
                         WHERE zone = ANY($1) AND expires_at > now()",
                    )
                    .bind(&zones)
                    .fetch_one(&pool)
                    .await
                    .unwrap_or(0);
                    leased == zones.len() as i64
                        && tokio::net::TcpStream::connect(("127.0.0.1", port))
                            .await
                            .is_ok()
                }
            },
        )
        .await;
        port
    }

    /// A channel to the gateway on `port`, as `ops`.
    pub fn connect(&self, port: u16) -> (Channel, Bearer) {
        let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .connect_lazy();
        let bearer = Bearer(format!("Bearer {}", self.token).parse().unwrap());
        (channel, bearer)
    }

    /// Creates running servers `{prefix}-{zone}-{i}` tagged `tag` (SBS roots, from a label)
    /// through the gateway on `port`; answers their ids.
    pub async fn servers(
        &self,
        port: u16,
        prefix: &str,
        per_zone: usize,
        tag: &str,
    ) -> Vec<String> {
        let (channel, bearer) = self.connect(port);
        let mut servers =
            v1::servers_client::ServersClient::with_interceptor(channel.clone(), bearer.clone());
        let mut ops = v1::operations_client::OperationsClient::with_interceptor(channel, bearer);
        let mut creates = Vec::new();
        for zone in &self.zones {
            for i in 0..per_zone {
                let op = servers
                    .create_server(v1::CreateServerRequest {
                        zone: zone.clone(),
                        request_id: uuid::Uuid::new_v4().to_string(),
                        name: format!("{prefix}-{zone}-{i}"),
                        commercial_type: "DEV1-S".into(),
                        image: Some("ubuntu_noble".into()),
                        project: Some(self.secret.clone()),
                        tags: vec![tag.into()],
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
            let server: v1::Server =
                unpack(&wait_done(&mut ops, name, Duration::from_secs(60)).await);
            assert_eq!(server.state, "running");
            ids.push(server.id);
        }
        ids
    }

    /// Stops every process and removes the logs (kept when the test failed before).
    pub fn finish(mut self) {
        self.sup.kill_all();
        let _ = std::fs::remove_dir_all(&self.logs);
    }
}
