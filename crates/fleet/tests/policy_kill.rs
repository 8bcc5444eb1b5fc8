//! Kill test of policy slots (issue 19, `docs/reliability.md`): the real `fleet` binary as
//! emulator, two schedulers, a worker and a gateway on a private Postgres. A snapshot policy
//! fires every 2 s on the wall clock while the schedulers are SIGKILLed in turn around slot
//! times (one is always up) and restarted. Then every slot must have run exactly once: one
//! run job per slot, one run per slot in the runs table, no slot missing between the first
//! and the last, and in the emulator's call log exactly one snapshot made per volume per run.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use fleet_proto::v1;
use support::cluster::{Cluster, wait_until};
use time::OffsetDateTime;

const ZONE: &str = "fr-par-1";
const TAG: &str = "kill-policy";
const SERVERS: usize = 2;
/// Scheduler kills, alternating between the two.
const KILLS: usize = 10;
const PERIOD_S: i64 = 2;

/// The next slot of the policy's schedule, as the cron engine has it.
async fn next_slot(pool: &sqlx::PgPool, id: i64) -> OffsetDateTime {
    sqlx::query_scalar("SELECT min(next_run_at) FROM schedules WHERE name LIKE $1")
        .bind(format!("policy:{id}:%"))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_slot_runs_once_while_schedulers_are_killed_around_slot_times() {
    let mut cluster = Cluster::start("policy-kill", &[ZONE], &["scheduler-a", "scheduler-b"]).await;
    let port = cluster.add_gateway("gateway").await;
    let pool = cluster.pool.clone();
    let logs = cluster.logs.clone();
    let servers = cluster.servers(port, "snap", SERVERS, TAG).await;
    let (channel, bearer) = cluster.connect(port);
    let mut policies = v1::policies_client::PoliciesClient::with_interceptor(channel, bearer);

    let started = SystemTime::now();
    let policy = policies
        .create_policy(v1::CreatePolicyRequest {
            policy: Some(v1::Policy {
                kind: Some(v1::policy::Kind::Snapshot(v1::SnapshotPolicy {
                    selector: Some(v1::BatchSelector {
                        zone: ZONE.into(),
                        tags: vec![TAG.into()],
                        ..Default::default()
                    }),
                    root_volume_only: true,
                    crons: vec![format!("*/{PERIOD_S} * * * * *")],
                    keep_count: 3,
                    ..Default::default()
                })),
                ..Default::default()
            }),
            request_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .expect("CreatePolicy")
        .into_inner();
    let id: i64 = policy.name.trim_start_matches("policies/").parse().unwrap();

    // Kill a scheduler just before, at or just after a slot (the offsets cycle), the other one
    // staying up, and start it again a slot later.
    let offsets_ms: [i64; 5] = [-300, -50, 0, 40, 250];
    for kill in 0..KILLS {
        let victim = if kill % 2 == 0 {
            "scheduler-a"
        } else {
            "scheduler-b"
        };
        let slot = next_slot(&pool, id).await;
        let at = slot + time::Duration::milliseconds(offsets_ms[kill % offsets_ms.len()]);
        let wait = (at - OffsetDateTime::now_utc()).max(time::Duration::ZERO);
        tokio::time::sleep(wait.try_into().unwrap_or_default()).await;
        cluster.sup.kill(victim).unwrap();
        tokio::time::sleep(Duration::from_secs(PERIOD_S as u64)).await;
        cluster.sup.restart(victim).unwrap();
    }

    // No new slot from here; the runs in flight finish.
    policies
        .pause_policy(v1::PolicyRequest {
            name: policy.name.clone(),
        })
        .await
        .expect("PausePolicy");
    wait_until(
        "every run to finish",
        Duration::from_secs(120),
        &logs,
        || {
            let pool = pool.clone();
            async move {
                let open: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM jobs WHERE kind = 'policy_run' \
                     AND state NOT IN ('completed', 'failed', 'cancelled')",
                )
                .fetch_one(&pool)
                .await
                .unwrap_or(1);
                open == 0
            }
        },
    )
    .await;

    // One run job per slot, and one run per slot.
    let per_slot_jobs: Vec<(String, i64)> = sqlx::query_as(
        "SELECT args->'slot'->>'local', count(*) FROM jobs WHERE kind = 'policy_run' \
         GROUP BY 1 HAVING count(*) > 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        per_slot_jobs.is_empty(),
        "slots with two run jobs: {per_slot_jobs:?}"
    );
    let runs: Vec<(String, OffsetDateTime, String, bool)> = sqlx::query_as(
        "SELECT slot_local, slot_at, outcome, late FROM policy_runs WHERE policy_id = $1 \
         ORDER BY slot_at",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut by_slot: BTreeMap<&str, usize> = BTreeMap::new();
    for (local, ..) in &runs {
        *by_slot.entry(local.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = by_slot.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "slots run twice: {twice:?}");
    // Every slot from the first to the last ran (one scheduler was always up), on time.
    // Each kill spans at least one slot.
    assert!(runs.len() >= KILLS, "{} runs", runs.len());
    for pair in runs.windows(2) {
        assert_eq!(
            (pair[1].1 - pair[0].1).whole_seconds(),
            PERIOD_S,
            "a slot is missing between {} and {}",
            pair[0].0,
            pair[1].0
        );
    }
    assert!(
        runs.iter()
            .all(|(_, _, outcome, late)| outcome == "succeeded" && !late),
        "{runs:?}; logs in {}",
        logs.display()
    );
    // From the emulator: one snapshot made per volume per run, none more.
    let made = cluster
        .emulator
        .calls()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| {
            c.at >= started
                && c.method == "POST"
                && c.path == format!("/block/v1/zones/{ZONE}/snapshots")
        })
        .count();
    assert_eq!(
        made,
        runs.len() * servers.len(),
        "snapshot creations for {} runs of {} volumes",
        runs.len(),
        servers.len()
    );
    cluster.finish();
}
