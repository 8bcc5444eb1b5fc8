//! Kill test of batches (issue 18, `docs/reliability.md`): the real `fleet` binary as
//! emulator, scheduler, worker and gateways on a private Postgres. A reboot batch over many
//! servers runs in the only gateway, which is SIGKILLed once some children are done and
//! some not started; a second gateway started after the kill finishes the batch. Every
//! server must have been rebooted exactly once (the emulator's call log) and the batch's
//! counts must equal its children's outcomes.
//!
//! A gateway is killed, not a worker: the coordinator (the only thing that starts children)
//! runs in the gateways; worker kills are the chaos harness's subject.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use fleet_proto::v1;
use support::cluster::{Cluster, unpack, wait_done, wait_until};

const ZONES: [&str; 2] = ["fr-par-1", "nl-ams-1"];
const SERVERS_PER_ZONE: usize = 8;
const TAG: &str = "kill-batch";
const MAX_IN_FLIGHT: u32 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_outlives_its_killed_coordinator_and_runs_each_child_once() {
    let mut cluster = Cluster::start("batch-kill", &ZONES, &["scheduler"]).await;
    let port_a = cluster.add_gateway("gateway-a").await;
    let pool = cluster.pool.clone();
    let logs = cluster.logs.clone();
    let ids = cluster.servers(port_a, "kill", SERVERS_PER_ZONE, TAG).await;
    let (channel, bearer) = cluster.connect(port_a);

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
    let killed = cluster.sup.kill("gateway-a").unwrap();
    let (done_at_kill, pending_at_kill) = progress(pool.clone()).await;
    eprintln!(
        "killed gateway-a at {:?}: {done_at_kill} children done, {pending_at_kill} not started of {total}",
        killed.at
    );
    assert!(pending_at_kill >= 1 && done_at_kill < total);

    // Another gateway takes the batch over and finishes it.
    let port_b = cluster.add_gateway("gateway-b").await;
    let (channel, bearer) = cluster.connect(port_b);
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
    for call in cluster.emulator.calls().await.unwrap() {
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
    cluster.finish();
}
