//! Policies end to end with an injected clock: the real gateway (its policy runner and batch
//! coordinator), workers, scheduler, emulator and Postgres. The test fires the cron engine's
//! slots itself (`fire_due_schedules_at` with the clock at each slot), so a week of nightly
//! slots, or a whole DST day of half-hourly ones, takes seconds and never waits on the wall
//! clock. What the runs did is read from the emulator (its snapshots and call log) as well as
//! from the run list.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::batches::servers_from;
use common::operations::{must, unpack, wait_done};
use common::*;
use fleet_proto::v1;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

type PoliciesClient = v1::policies_client::PoliciesClient<Svc>;
type SnapshotsClient = v1::snapshots_client::SnapshotsClient<Svc>;

async fn policies(env: &Env) -> PoliciesClient {
    let (channel, bearer) = env.svc(Some(OPS_TOKEN)).await;
    v1::policies_client::PoliciesClient::with_interceptor(channel, bearer)
}

async fn snapshots(env: &Env) -> SnapshotsClient {
    let (channel, bearer) = env.svc(Some(OPS_TOKEN)).await;
    v1::snapshots_client::SnapshotsClient::with_interceptor(channel, bearer)
}

fn at(rfc3339: &str) -> OffsetDateTime {
    OffsetDateTime::parse(rfc3339, &Rfc3339).unwrap()
}

fn policy_id(policy: &v1::Policy) -> i64 {
    policy
        .name
        .strip_prefix("policies/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a policy name: {}", policy.name))
}

/// The next slot of any schedule of the policy, as the cron engine has it.
async fn next_slot(env: &Env, id: i64) -> OffsetDateTime {
    sqlx::query_scalar("SELECT min(next_run_at) FROM schedules WHERE name LIKE $1")
        .bind(format!("policy:{id}:%"))
        .fetch_one(&env.pool)
        .await
        .unwrap()
}

/// Fires what is due at `now` (the injected clock).
async fn fire_at(env: &Env, now: OffsetDateTime) -> usize {
    fleet_scheduler::fire_due_schedules_at(&env.pool, now, 100)
        .await
        .unwrap()
        .len()
}

/// Every run of the policy, newest slot first (all pages).
async fn runs(env: &Env, name: &str) -> Vec<v1::PolicyRun> {
    let mut client = policies(env).await;
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = must(
            "ListPolicyRuns",
            client
                .list_policy_runs(v1::ListPolicyRunsRequest {
                    name: name.into(),
                    page_size: 100,
                    page_token: token,
                })
                .await,
        );
        out.extend(page.runs);
        if page.next_page_token.is_empty() {
            return out;
        }
        token = page.next_page_token;
    }
}

/// Waits (bounded, on the condition) until the policy has `count` runs, none running.
async fn settled(env: &Env, name: &str, count: usize) -> Vec<v1::PolicyRun> {
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        let runs = runs(env, name).await;
        let running = runs
            .iter()
            .filter(|r| r.outcome == v1::PolicyRunOutcome::Running as i32)
            .count();
        if runs.len() == count && running == 0 {
            return runs;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {count} finished runs of {name}: {} runs, {running} running",
            runs.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn volume_ids(server: &v1::Server) -> Vec<String> {
    // A map by slot ("0", "1", …): in slot order already.
    server.volumes.values().map(|v| v.id.clone()).collect()
}

async fn snapshot_by_hand(env: &Env, volume: &str, tags: &[&str]) -> String {
    let mut ops = common::batches::ops_client(env).await;
    let op = must(
        "CreateSnapshot",
        snapshots(env)
            .await
            .create_snapshot(v1::CreateSnapshotRequest {
                zone: ZONE.into(),
                name: format!("by-hand-{volume}"),
                volume_id: Some(volume.into()),
                tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                project: Some(env.project()),
                ..Default::default()
            })
            .await,
    );
    let snapshot: v1::Snapshot = unpack(&wait_done(&mut ops, &op.name).await);
    snapshot.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_week_of_nightly_snapshots_keeps_three_per_volume_and_no_foreign_one_goes() {
    let env = start().await;
    // One server with an Instance root (l_ssd), one with an SBS root.
    let local = servers_from(&env, ZONE, "db-l", 1, &["db"], "ubuntu_jammy", true).await;
    let sbs = servers_from(&env, ZONE, "db-s", 1, &["db"], "ubuntu_noble", true).await;
    assert_eq!(sbs[0].volumes["0"].volume_type, "sbs_volume");
    let mut volumes: Vec<String> = local.iter().chain(&sbs).flat_map(volume_ids).collect();
    volumes.sort();
    // Not the policy's: one by hand of each root, one carrying another policy's tag.
    let foreign = vec![
        snapshot_by_hand(&env, &volume_ids(&local[0])[0], &["manual"]).await,
        snapshot_by_hand(&env, &volume_ids(&sbs[0])[0], &["fleet-policy=999999"]).await,
    ];

    let mut client = policies(&env).await;
    let policy = must(
        "CreatePolicy",
        client
            .create_policy(v1::CreatePolicyRequest {
                policy: Some(v1::Policy {
                    display_name: "nightly db".into(),
                    kind: Some(v1::policy::Kind::Snapshot(v1::SnapshotPolicy {
                        selector: Some(v1::BatchSelector {
                            zone: ZONE.into(),
                            tags: vec!["db".into()],
                            ..Default::default()
                        }),
                        crons: vec!["0 0 3 * * *".into()],
                        time_zone: "Europe/Paris".into(),
                        keep_count: 3,
                        tags: vec!["nightly".into()],
                        ..Default::default()
                    })),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::new_v4().to_string(),
            })
            .await,
    );
    let id = policy_id(&policy);
    assert_eq!(policy.state, v1::PolicyState::Active as i32);
    let next = policy.next_run_time.expect("next run");
    assert_eq!(next.seconds, next_slot(&env, id).await.unix_timestamp());

    // Seven nights, each fired with the clock at its slot and run to its end.
    env.emulator.clear_call_log();
    let mut slots = Vec::new();
    for night in 0..7 {
        let slot = next_slot(&env, id).await;
        assert_eq!(fire_at(&env, slot).await, 1, "night {night}");
        slots.push(slot);
        settled(&env, &policy.name, night + 1).await;
    }
    let runs = runs(&env, &policy.name).await;
    assert_eq!(runs.len(), 7);
    let mut by_slot: Vec<&v1::PolicyRun> = runs.iter().collect();
    by_slot.sort_by_key(|r| r.slot_time.as_ref().map(|t| t.seconds));
    for (night, run) in by_slot.iter().enumerate() {
        assert_eq!(
            run.outcome,
            v1::PolicyRunOutcome::Succeeded as i32,
            "{run:?}"
        );
        assert_eq!(run.trigger, v1::PolicyRunTrigger::Schedule as i32);
        assert_eq!(run.action, "snapshot");
        assert!(!run.late && run.batch.starts_with("batches/"), "{run:?}");
        assert_eq!(
            run.slot_time.as_ref().unwrap().seconds,
            slots[night].unix_timestamp()
        );
        // 03:00 in Paris, on consecutive days.
        assert!(run.slot_local.ends_with("T03:00:00"), "{run:?}");
        let deleted: Vec<&str> = run.deletions.iter().map(|d| d.reason.as_str()).collect();
        let expected = if night < 3 { 0 } else { volumes.len() };
        assert_eq!(deleted.len(), expected, "night {night}: {run:?}");
        assert!(deleted.iter().all(|r| *r == "beyond keep_count"), "{run:?}");
        assert!(run.deletions.iter().all(|d| d.error.is_empty()), "{run:?}");
    }
    for pair in slots.windows(2) {
        assert_eq!((pair[1] - pair[0]).whole_hours(), 24);
    }

    // What exists upstream: exactly three policy snapshots of each volume, those of the
    // three newest slots; the foreign ones untouched.
    let mut snaps = snapshots(&env).await;
    let listed = must(
        "ListSnapshots",
        snaps
            .list_snapshots(v1::ListSnapshotsRequest {
                zone: ZONE.into(),
                page_size: 100,
                ..Default::default()
            })
            .await,
    )
    .snapshots;
    let tag = format!("fleet-policy={id}");
    let mut per_volume: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for snapshot in listed.iter().filter(|s| s.tags.contains(&tag)) {
        assert!(snapshot.tags.contains(&"nightly".to_owned()));
        let slot = snapshot
            .tags
            .iter()
            .find_map(|t| t.strip_prefix("fleet-policy-slot="))
            .expect("slot tag")
            .to_owned();
        per_volume
            .entry(snapshot.base_volume.clone().unwrap_or_default().id)
            .or_default()
            .push(slot);
    }
    let newest: Vec<String> = slots[4..]
        .iter()
        .map(|s| s.unix_timestamp().to_string())
        .collect();
    assert_eq!(
        per_volume.keys().cloned().collect::<Vec<_>>(),
        volumes,
        "{per_volume:?}"
    );
    for (volume, mut kept) in per_volume {
        kept.sort();
        assert_eq!(kept, newest, "volume {volume}");
    }
    for id in &foreign {
        assert!(
            listed.iter().any(|s| &s.id == id),
            "foreign snapshot {id} is gone"
        );
    }
    // And from the call log: one snapshot made per volume per night, of either API.
    let made = env
        .emulator
        .call_log()
        .iter()
        .filter(|c| c.method == "POST" && c.path.ends_with("/snapshots"))
        .count();
    assert_eq!(made, 7 * volumes.len());
    // (A delete by id tries the Instance API, then Block: count what was deleted.)
    let deletes: Vec<String> = env
        .emulator
        .call_log()
        .iter()
        .filter(|c| c.method == "DELETE" && c.path.contains("/snapshots/") && c.status < 300)
        .map(|c| c.path.clone())
        .collect();
    assert_eq!(deletes.len(), 4 * volumes.len(), "{deletes:#?}");

    // Retention and runs are audited as the policy's own caller.
    let deletes_audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM gateway_audit WHERE caller = $1 \
         AND method = 'fleet.v1.Snapshots/DeleteSnapshot' AND outcome = 'OK'",
    )
    .bind(&policy.name)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(deletes_audited, 4 * volumes.len() as i64);
    let batches_audited: Vec<(String, String)> = sqlx::query_as(
        "SELECT resource, operation FROM gateway_audit WHERE caller = $1 \
         AND method = 'fleet.v1.Batches/CreateBatch' AND outcome = 'OK' ORDER BY id",
    )
    .bind(&policy.name)
    .fetch_all(&env.pool)
    .await
    .unwrap();
    let mut expected: Vec<(String, String)> = by_slot
        .iter()
        .map(|r| (r.name.clone(), r.batch.replace("batches/", "operations/")))
        .collect();
    expected.sort();
    let mut audited = batches_audited.clone();
    audited.sort();
    assert_eq!(audited, expected, "each run's batch audited as the policy");
}

/// Fires every slot from `from` to `until` (the injected clock at each), after a first
/// firing at `from` that settles what was due before.
async fn fire_through(env: &Env, id: i64, from: OffsetDateTime, until: OffsetDateTime) -> usize {
    let mut fired = fire_at(env, from).await;
    loop {
        let slot = next_slot(env, id).await;
        if slot >= until {
            return fired;
        }
        fired += fire_at(env, slot).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_local_slot_of_a_dst_day_in_paris_runs_once() {
    let env = start().await;
    let mut client = policies(&env).await;
    // A selection that matches nothing: each run ends "nothing to do" at once.
    let policy = must(
        "CreatePolicy",
        client
            .create_policy(v1::CreatePolicyRequest {
                policy: Some(v1::Policy {
                    kind: Some(v1::policy::Kind::Snapshot(v1::SnapshotPolicy {
                        selector: Some(v1::BatchSelector {
                            zone: ZONE.into(),
                            tags: vec!["nobody".into()],
                            ..Default::default()
                        }),
                        crons: vec!["0 */30 * * * *".into()],
                        time_zone: "Europe/Paris".into(),
                        keep_count: 1,
                        ..Default::default()
                    })),
                    catch_up: v1::CatchUp::Skip as i32,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await,
    );
    let id = policy_id(&policy);

    // Spring forward, 2027-03-28: 02:00 → 03:00 (UTC+1 → UTC+2). The clock jumps there
    // from today, so what was due is skipped (catch_up SKIP), once.
    let spring = fire_through(
        &env,
        id,
        at("2027-03-27T22:59:59Z"),
        at("2027-03-28T22:00:00Z"),
    )
    .await;
    // Fall back, 2027-10-31: 03:00 → 02:00 (UTC+2 → UTC+1): 02:00 and 02:30 come twice.
    let fall = fire_through(
        &env,
        id,
        at("2027-10-30T21:59:59Z"),
        at("2027-10-31T23:00:00Z"),
    )
    .await;
    assert_eq!((spring, fall), (46, 48));
    let runs = settled(&env, &policy.name, 46 + 48 + 2).await;
    let skipped: Vec<&v1::PolicyRun> = runs
        .iter()
        .filter(|r| r.outcome == v1::PolicyRunOutcome::Skipped as i32)
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(skipped.iter().all(|r| r.late && r.missed >= 0));
    let day = |date: &str| -> Vec<String> {
        let mut slots: Vec<String> = runs
            .iter()
            .filter(|r| r.outcome == v1::PolicyRunOutcome::NothingToDo as i32)
            .filter_map(|r| r.slot_local.strip_prefix(&format!("{date}T")))
            .map(str::to_owned)
            .collect();
        slots.sort();
        slots
    };
    let every_half_hour = |skip_gap: bool| -> Vec<String> {
        (0..24)
            .filter(|h| !(skip_gap && *h == 2))
            .flat_map(|h| [format!("{h:02}:00:00"), format!("{h:02}:30:00")])
            .collect()
    };
    assert_eq!(day("2027-03-28"), every_half_hour(true));
    assert_eq!(day("2027-10-31"), every_half_hour(false));
    // Each run once in the runs table too (one per local slot).
    let per_slot: Vec<(String, i64)> = sqlx::query_as(
        "SELECT slot_local, count(*) FROM policy_runs WHERE policy_id = $1 \
         GROUP BY slot_local HAVING count(*) > 1",
    )
    .bind(id)
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert!(per_slot.is_empty(), "slots run twice: {per_slot:?}");
}

async fn state_of(env: &Env, id: &str) -> String {
    let mut servers = common::batches::servers_client(env).await;
    must(
        "GetServer",
        servers
            .get_server(v1::GetServerRequest {
                zone: ZONE.into(),
                server_id: id.into(),
            })
            .await,
    )
    .state
}

/// Power calls the emulator served per server id, in order ("poweron", "poweroff", …).
fn power_calls(env: &Env, id: &str) -> Vec<String> {
    let path = format!("/instance/v1/zones/{ZONE}/servers/{id}/action");
    env.emulator
        .call_log()
        .iter()
        .filter(|c| c.method == "POST" && c.path == path && c.status < 300)
        .map(|c| c.path.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_power_schedule_starts_stops_keeps_a_hand_started_server_and_spans_adjacent_periods() {
    let env = start().await;
    // Off, to be started by the schedule; and one someone started by hand before the period.
    let off = servers_from(
        &env,
        ZONE,
        "stg-off",
        1,
        &["staging"],
        "ubuntu_jammy",
        false,
    )
    .await;
    let by_hand = servers_from(
        &env,
        ZONE,
        "stg-hand",
        1,
        &["staging"],
        "ubuntu_jammy",
        true,
    )
    .await;
    let (off, by_hand) = (off[0].id.clone(), by_hand[0].id.clone());
    let mut client = policies(&env).await;
    let period = |start: &str, stop: &str| v1::PowerPeriod {
        start_time: start.into(),
        stop_time: stop.into(),
        weekdays: vec![],
    };
    let policy = must(
        "CreatePolicy",
        client
            .create_policy(v1::CreatePolicyRequest {
                policy: Some(v1::Policy {
                    kind: Some(v1::policy::Kind::Power(v1::PowerSchedule {
                        selector: Some(v1::BatchSelector {
                            zone: ZONE.into(),
                            tags: vec!["staging".into()],
                            ..Default::default()
                        }),
                        // Adjacent: the 12:00 joint neither stops nor restarts anything.
                        periods: vec![period("08:00", "12:00"), period("12:00", "18:00")],
                        retain_running: true,
                        ..Default::default()
                    })),
                    catch_up: v1::CatchUp::Skip as i32,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await,
    );
    let id = policy_id(&policy);
    // Three edges (08:00, 12:00, 18:00): three schedules. The clock jumps to a day ahead;
    // what was due before is skipped, once per schedule.
    assert_eq!(fire_at(&env, at("2027-01-04T07:59:59Z")).await, 0);
    env.emulator.clear_call_log();

    assert_eq!(fire_at(&env, at("2027-01-04T08:00:00Z")).await, 1);
    let runs = settled(&env, &policy.name, 4).await;
    let start = &runs[0];
    assert_eq!(start.action, "start", "{start:?}");
    assert_eq!(
        start.outcome,
        v1::PolicyRunOutcome::Succeeded as i32,
        "{start:?}"
    );
    assert_eq!(start.retained_servers, std::slice::from_ref(&by_hand));
    assert_eq!(state_of(&env, &off).await, "running");

    assert_eq!(fire_at(&env, at("2027-01-04T12:00:00Z")).await, 1);
    let runs = settled(&env, &policy.name, 5).await;
    let joint = &runs[0];
    assert_eq!(joint.slot_local, "2027-01-04T12:00:00");
    assert_eq!(
        joint.outcome,
        v1::PolicyRunOutcome::NothingToDo as i32,
        "{joint:?}"
    );
    assert!(
        joint.batch.is_empty() && joint.action.is_empty(),
        "{joint:?}"
    );

    assert_eq!(fire_at(&env, at("2027-01-04T18:00:00Z")).await, 1);
    let runs = settled(&env, &policy.name, 6).await;
    let stop = &runs[0];
    assert_eq!(stop.action, "stop", "{stop:?}");
    assert_eq!(
        stop.outcome,
        v1::PolicyRunOutcome::Succeeded as i32,
        "{stop:?}"
    );
    assert_eq!(state_of(&env, &off).await, "stopped");
    // Started by hand before its period: left running at its end.
    assert_eq!(state_of(&env, &by_hand).await, "running");
    // Upstream: one power-on and one power-off of the scheduled server, none at the joint,
    // nothing for the one started by hand.
    assert_eq!(power_calls(&env, &off).len(), 2);
    assert!(power_calls(&env, &by_hand).is_empty());
    let skipped = runs
        .iter()
        .filter(|r| r.outcome == v1::PolicyRunOutcome::Skipped as i32)
        .count();
    assert_eq!((skipped, id > 0), (3, true));
}
