//! Batches end to end: the real gateway (its coordinator), workers, scheduler, emulator and
//! Postgres. What a batch did is read from the emulator's call log and the canned proxy's
//! answers, never from the batch's own counts.

mod common;

use std::collections::BTreeMap;
use std::time::SystemTime;

use common::batches::{limit, servers};
use common::*;
use fleet_emulator::calllog::max_overlap;
use fleet_proto::v1;
use serde_json::json;
use tonic::Code;

macro_rules! client {
    ($env:expr, $module:ident :: $client:ident) => {{
        let (channel, bearer) = $env.svc(Some(OPS_TOKEN)).await;
        v1::$module::$client::with_interceptor(channel, bearer)
    }};
}

fn reboot(zones: &[&str], tags: &[&str], in_flight: u32, failures: u32) -> v1::CreateBatchRequest {
    v1::CreateBatchRequest {
        selector: Some(v1::BatchSelector {
            zones: zones.iter().map(|z| (*z).to_owned()).collect(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            ..Default::default()
        }),
        action: Some(v1::BatchAction::power(v1::BatchPowerAction::Reboot)),
        policy: Some(v1::RolloutPolicy {
            max_in_flight: limit(in_flight),
            max_failures: limit(failures),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Action calls the emulator served per server id, with their times.
fn action_calls(env: &Env) -> BTreeMap<String, Vec<SystemTime>> {
    let mut calls: BTreeMap<String, Vec<SystemTime>> = BTreeMap::new();
    for call in env.emulator.call_log() {
        if call.method == "POST"
            && let Some(rest) = call.path.strip_suffix("/action")
            && let Some(id) = rest.rsplit('/').next()
        {
            calls.entry(id.to_owned()).or_default().push(call.at);
        }
    }
    calls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reboot_batch_over_two_zones_reboots_each_server_once_within_max_in_flight() {
    let env = start().await;
    let mut web = servers(&env, ZONE, "web", 4, &["web", "tier-1"]).await;
    web.extend(servers(&env, CANNED_ZONE, "web", 3, &["tier-1", "web"]).await);
    // Not selected: one of the two tags only.
    let other = servers(&env, ZONE, "db", 1, &["tier-1"]).await;
    let mut batches = client!(env, batches_client::BatchesClient);
    let mut ops = client!(env, operations_client::OperationsClient);

    // The dry run resolves the same selection and changes nothing.
    env.emulator.clear_call_log();
    let mut plan = reboot(&[ZONE, CANNED_ZONE], &["web", "tier-1"], 2, 0);
    plan.validate_only = true;
    let planned = must(
        "CreateBatch validate_only",
        batches.create_batch(plan).await,
    );
    assert!(planned.done && planned.name.is_empty(), "{planned:?}");
    let planned: v1::Batch = unpack(&planned);
    assert_eq!(planned.state, "planned");
    let mut planned_ids: Vec<String> = planned
        .children
        .iter()
        .map(|c| c.server_id.clone())
        .collect();
    planned_ids.sort();
    let mut expected = web.clone();
    expected.sort();
    assert_eq!(planned_ids, expected);
    assert!(
        planned
            .children
            .iter()
            .all(|c| c.outcome == "pending" && c.state == "running")
    );
    assert_eq!((planned.max_in_flight, planned.max_failures), (2, 0));
    let mutating: Vec<String> = env
        .emulator
        .call_log()
        .iter()
        .filter(|c| c.method != "GET")
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    assert!(mutating.is_empty(), "a dry run called {mutating:?}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM batches")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "a dry run stored a batch");

    // The batch itself.
    let op = must(
        "CreateBatch",
        batches
            .create_batch(reboot(&[ZONE, CANNED_ZONE], &["web", "tier-1"], 2, 0))
            .await,
    );
    assert!(op.name.starts_with("operations/") && !op.done);
    let md = metadata(&op);
    assert_eq!(
        (md.kind.as_str(), md.method.as_str()),
        ("batch", "fleet.v1.Batches/CreateBatch")
    );
    let done = wait_done(&mut ops, &op.name).await;
    let result: v1::Batch = unpack(&done);
    assert_eq!(result.state, "completed", "{result:?}");
    assert_eq!(result.children.len(), web.len());
    assert!(
        result.children.iter().all(|c| c.outcome == "succeeded"),
        "{:?}",
        result.children
    );
    let progress = metadata(&done)
        .batch
        .expect("batch progress in the metadata");
    let counts = progress.counts.unwrap();
    assert_eq!((counts.total, counts.succeeded, counts.failed), (7, 7, 0));
    let zones: BTreeMap<String, u32> = progress
        .zones
        .iter()
        .map(|z| (z.zone.clone(), z.counts.unwrap().succeeded))
        .collect();
    assert_eq!(
        zones,
        BTreeMap::from([(CANNED_ZONE.to_owned(), 3), (ZONE.to_owned(), 4)])
    );
    let events: Vec<&str> = progress.events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events, ["started", "completed"]);
    assert_eq!(progress.events[0].caller, "ops");

    // Upstream: each selected server got exactly one action call, the other none.
    let calls = action_calls(&env);
    for id in &web {
        assert_eq!(
            calls.get(id).map(Vec::len),
            Some(1),
            "action calls of {id}: {calls:?}"
        );
    }
    assert!(
        !calls.contains_key(&other[0]),
        "an unselected server was acted on"
    );
    // Never more than max_in_flight servers rebooting at once: a child's job waits for its
    // server to come back, so each server is in flight at least a transition after its call.
    let rebooting: Vec<(SystemTime, SystemTime)> = calls
        .values()
        .flatten()
        .map(|at| (*at, *at + TRANSITION))
        .collect();
    let seen = max_overlap(rebooting.iter().copied());
    assert!(
        seen <= 2,
        "{seen} servers rebooting at once, max_in_flight is 2"
    );
    // And the children's jobs, from enqueue to finish (the scheduler's record, not ours).
    let jobs: Vec<(time::OffsetDateTime, time::OffsetDateTime)> = sqlx::query_as(
        "SELECT j.created_at, j.finished_at FROM batch_children c JOIN jobs j ON j.id = c.job_id \
         WHERE c.batch_id = $1",
    )
    .bind(
        op.name
            .trim_start_matches("operations/")
            .parse::<i64>()
            .unwrap(),
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(jobs.len(), 7);
    let intervals: Vec<(SystemTime, SystemTime)> = jobs
        .iter()
        .map(|(a, b)| ((*a).into(), (*b).into()))
        .collect();
    assert_eq!(
        max_overlap(intervals.iter().copied()),
        2,
        "children in flight at once"
    );

    // GetBatch and ListBatches show the same batch.
    let got = must(
        "GetBatch",
        batches
            .get_batch(v1::GetBatchRequest {
                name: result.name.clone(),
            })
            .await,
    );
    assert_eq!(got.counts, result.counts);
    let listed = must(
        "ListBatches",
        batches
            .list_batches(v1::ListBatchesRequest::default())
            .await,
    );
    assert_eq!(listed.batches.len(), 1);
    assert!(listed.batches[0].children.is_empty());
    // A finished batch cannot be paused.
    let refused = batches
        .pause_batch(v1::BatchRequest {
            name: result.name.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert_eq!(<v1::Batch as prost::Name>::full_name(), "fleet.v1.Batch");
}

fn percent(p: u32) -> Option<v1::RolloutLimit> {
    Some(v1::RolloutLimit {
        limit: Some(v1::rollout_limit::Limit::Percent(p)),
    })
}

fn batch_id(op: &v1::Operation) -> i64 {
    op.name.trim_start_matches("operations/").parse().unwrap()
}

/// The children's jobs of batch `id`: (position, created_at, started_at, finished_at, state).
async fn child_jobs(
    env: &Env,
    id: i64,
) -> Vec<(
    i32,
    time::OffsetDateTime,
    Option<time::OffsetDateTime>,
    Option<time::OffsetDateTime>,
    String,
)> {
    sqlx::query_as(
        "SELECT c.position, j.created_at, j.started_at, j.finished_at, j.state \
         FROM batch_children c JOIN jobs j ON j.id = c.job_id \
         WHERE c.batch_id = $1 ORDER BY c.position",
    )
    .bind(id)
    .fetch_all(&env.pool)
    .await
    .unwrap()
}

/// Two zones, only one of which fails every action call: the batch halts at max_failures + 1
/// failures, no child starts after that failure, and the healthy zone's children are never
/// counted as failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_halts_after_max_failures_plus_one_and_starts_no_child_after() {
    let env = start().await;
    let failing = servers(&env, CANNED_ZONE, "db", 5, &["db"]).await;
    let healthy = servers(&env, ZONE, "db", 4, &["db"]).await;
    // Every action call of the canned zone fails for good (a permanent 4xx).
    for _ in 0..failing.len() {
        env.canned.arm(
            "POST",
            "/action",
            400,
            json!({"type": "invalid_request_error", "message": "injected: action refused"}),
        );
    }
    env.emulator.clear_call_log();
    let mut batches = client!(env, batches_client::BatchesClient);
    let mut ops = client!(env, operations_client::OperationsClient);
    // Two in flight overall, one per zone: the failing zone fails one child at a time while
    // the healthy one runs alongside.
    let mut request = reboot(&[CANNED_ZONE, ZONE], &["db"], 2, 1);
    request.policy.as_mut().unwrap().max_in_flight_per_zone = limit(1);
    let op = must("CreateBatch", batches.create_batch(request).await);
    let done = wait_done(&mut ops, &op.name).await;
    let result: v1::Batch = unpack(&done);
    assert_eq!(result.state, "halted", "{result:?}");
    assert!(
        result.reason.contains("2 children failed") && result.reason.contains("max_failures 1"),
        "{}",
        result.reason
    );
    let zone_limits: Vec<(String, u32)> = result
        .zones
        .iter()
        .map(|z| (z.zone.clone(), z.max_in_flight))
        .collect();
    assert_eq!(
        zone_limits,
        [(ZONE.to_owned(), 1), (CANNED_ZONE.to_owned(), 1)]
    );
    let (failing_children, healthy_children) = result.children.split_at(failing.len());
    assert!(failing_children.iter().all(|c| c.zone == CANNED_ZONE));
    let outcomes: Vec<&str> = failing_children
        .iter()
        .map(|c| c.outcome.as_str())
        .collect();
    assert_eq!(
        outcomes,
        ["failed", "failed", "skipped", "skipped", "skipped"]
    );
    assert!(failing_children[..2].iter().all(|c| !c.error.is_empty()));
    assert!(failing_children[2..].iter().all(|c| c.operation.is_empty()));
    // The healthy zone: each child succeeded or never started, none failed.
    assert!(
        healthy_children
            .iter()
            .all(|c| c.outcome == "succeeded" || (c.outcome == "skipped" && c.operation.is_empty())),
        "{healthy_children:?}"
    );
    let healthy_done = healthy_children
        .iter()
        .filter(|c| c.outcome == "succeeded")
        .count();
    assert!(healthy_done >= 1, "the healthy zone ran alongside");

    // Upstream: exactly max_failures + 1 action calls failed, none of them reached the
    // emulator; each started healthy child rebooted once, the others not at all.
    let served = env.canned.served.lock().unwrap().clone();
    assert_eq!(served.len(), 2, "{served:?}");
    let calls = action_calls(&env);
    let mut selected_healthy: Vec<&str> = healthy_children
        .iter()
        .map(|c| c.server_id.as_str())
        .collect();
    selected_healthy.sort_unstable();
    let mut expected_healthy: Vec<&str> = healthy.iter().map(String::as_str).collect();
    expected_healthy.sort_unstable();
    assert_eq!(selected_healthy, expected_healthy);
    for child in healthy_children {
        let (id, expected) = (&child.server_id, usize::from(child.outcome == "succeeded"));
        assert_eq!(
            calls.get(id).map_or(0, Vec::len),
            expected,
            "action calls of {id}: {calls:?}"
        );
    }
    assert!(failing.iter().all(|id| !calls.contains_key(id)));

    // No child started once the threshold was crossed: two failures, each the failing zone's
    // only child in flight, and every child job enqueued before the tick that halted.
    let jobs = child_jobs(&env, batch_id(&op)).await;
    assert_eq!(
        jobs.iter().filter(|j| j.4 == "failed").count(),
        2,
        "{jobs:?}"
    );
    let halted_at = result
        .events
        .iter()
        .find(|e| e.event == "halted")
        .and_then(|e| e.time)
        .expect("a halted event");
    let halted_at = time::OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(halted_at.seconds) * 1_000_000_000 + i128::from(halted_at.nanos),
    )
    .unwrap();
    let late: Vec<_> = jobs.iter().filter(|j| j.1 >= halted_at).collect();
    assert!(late.is_empty(), "children started after the halt: {late:?}");
    let progress = metadata(&done).batch.unwrap();
    assert_eq!(progress.state, "halted");
    let counts = progress.counts.unwrap();
    assert_eq!(counts.failed, 2);
    assert_eq!(
        counts.succeeded + counts.skipped,
        counts.total - 2,
        "{counts:?}"
    );
}

/// A canary wave: the rest starts only once every canary child finished within
/// max_failures; a failing canary halts the batch with nothing of the rest started.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_rest_of_a_batch_starts_only_after_its_canary_wave_passed() {
    let env = start().await;
    servers(&env, ZONE, "web", 5, &["web"]).await;
    servers(&env, CANNED_ZONE, "api", 4, &["api"]).await;
    let mut batches = client!(env, batches_client::BatchesClient);
    let mut ops = client!(env, operations_client::OperationsClient);

    // A healthy canary of 40% (2 of 5), then the rest, all at once.
    let mut request = reboot(&[ZONE], &["web"], 5, 0);
    request.policy.as_mut().unwrap().canary = percent(40);
    let op = must("CreateBatch", batches.create_batch(request).await);
    let first = ops
        .get_operation(v1::GetOperationRequest {
            name: op.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    if let Some(progress) = metadata(&first).batch
        && !first.done
    {
        assert!(
            ["canary", "rest"].contains(&progress.wave.as_str()),
            "{progress:?}"
        );
    }
    // Watched until done: no look (one snapshot each) ever sees a child of the rest started
    // while a canary child is unfinished.
    let id = batch_id(&op);
    let mut canary_alone = false;
    let done = loop {
        let (rest_started, canary_open): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE c.position >= 2 AND c.job_id IS NOT NULL), \
                    count(*) FILTER (WHERE c.position < 2 AND (j.state IS NULL OR \
                        j.state NOT IN ('completed', 'failed', 'cancelled'))) \
             FROM batch_children c LEFT JOIN jobs j ON j.id = c.job_id WHERE c.batch_id = $1",
        )
        .bind(id)
        .fetch_one(&env.pool)
        .await
        .unwrap();
        assert!(
            rest_started == 0 || canary_open == 0,
            "{rest_started} children of the rest started while {canary_open} canary children run"
        );
        canary_alone |= rest_started == 0 && canary_open > 0;
        let op = must(
            "GetOperation",
            ops.get_operation(v1::GetOperationRequest {
                name: op.name.clone(),
            })
            .await,
        );
        if op.done {
            break op;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(canary_alone, "the canary wave was never seen running alone");
    let result: v1::Batch = unpack(&done);
    assert_eq!(result.state, "completed", "{result:?}");
    assert_eq!((result.canary, result.wave.as_str()), (2, "rest"));
    let jobs = child_jobs(&env, id).await;
    assert_eq!(jobs.len(), 5);
    assert!(jobs.iter().all(|j| j.4 == "completed"), "{jobs:?}");

    // A canary with a failure beyond max_failures 0: halted, the rest never started.
    env.canned.arm(
        "POST",
        "/action",
        400,
        json!({"type": "invalid_request_error", "message": "injected: action refused"}),
    );
    let mut request = reboot(&[CANNED_ZONE], &["api"], 4, 0);
    request.policy.as_mut().unwrap().canary = limit(2);
    let op = must("CreateBatch", batches.create_batch(request).await);
    let done = wait_done(&mut ops, &op.name).await;
    let result: v1::Batch = unpack(&done);
    assert_eq!(result.state, "halted", "{result:?}");
    assert!(
        result.reason.contains("in the canary wave"),
        "{}",
        result.reason
    );
    let outcomes: Vec<&str> = result.children.iter().map(|c| c.outcome.as_str()).collect();
    let mut canary: Vec<&str> = outcomes[..2].to_vec();
    canary.sort_unstable();
    assert_eq!(canary, ["failed", "succeeded"], "{outcomes:?}");
    assert_eq!(outcomes[2..], ["skipped", "skipped"], "{outcomes:?}");
    assert_eq!(child_jobs(&env, batch_id(&op)).await.len(), 2);
}

/// AIP-155 on CreateBatch: the same caller and request_id get the same batch; another
/// request under that id, or an id that is not a UUID, is refused and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_id_makes_create_batch_idempotent() {
    let env = start().await;
    servers(&env, ZONE, "app", 2, &["app"]).await;
    let mut batches = client!(env, batches_client::BatchesClient);
    let mut ops = client!(env, operations_client::OperationsClient);
    let mut request = reboot(&[ZONE], &["app"], 1, 0);
    request.request_id = uuid::Uuid::new_v4().to_string();
    let first = must("CreateBatch", batches.create_batch(request.clone()).await);
    let again = must(
        "CreateBatch again",
        batches.create_batch(request.clone()).await,
    );
    assert_eq!(first.name, again.name);
    let done = wait_done(&mut ops, &first.name).await;
    // Still the same batch once it has finished.
    let later = must(
        "CreateBatch later",
        batches.create_batch(request.clone()).await,
    );
    assert_eq!(later.name, first.name);
    assert!(later.done, "{later:?}");
    let _: v1::Batch = unpack(&done);

    let mut other = request.clone();
    other.action = Some(v1::BatchAction::power(v1::BatchPowerAction::Poweroff));
    let refused = batches.create_batch(other).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().contains("request_id"),
        "{}",
        refused.message()
    );
    let mut bad = request.clone();
    bad.request_id = "not-a-uuid".into();
    let refused = batches.create_batch(bad).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("request_id"),
        "{}",
        refused.message()
    );
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM batches")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1, "batches stored");
    let children: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'server_action.reboot'")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(children, 2, "child jobs");
}

/// Fairness: a single operation submitted in a zone while a big batch's children are queued
/// there is claimed before them (children run at a lower priority), so a batch never starves
/// single operations of the zone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_single_operation_starts_before_queued_batch_children() {
    let env = start().await;
    // More children than the worker's 8 slots, all in flight at once as far as the batch goes.
    let ids = servers(&env, ZONE, "bulk", 12, &["bulk"]).await;
    let single = servers(&env, ZONE, "alone", 1, &["alone"]).await.remove(0);
    // Hold the zone's claims while the queue fills (no job of the zone is claimed).
    fleet_scheduler::pause_zone(&env.pool, ZONE, None, "test: fill the queue")
        .await
        .unwrap();
    let mut batches = client!(env, batches_client::BatchesClient);
    let mut ops = client!(env, operations_client::OperationsClient);
    let mut actions = client!(env, server_actions_client::ServerActionsClient);
    let op = must(
        "CreateBatch",
        batches
            .create_batch(reboot(&[ZONE], &["bulk"], 12, 0))
            .await,
    );
    let id = batch_id(&op);
    for _ in 0..600 {
        if child_jobs(&env, id).await.len() == ids.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        child_jobs(&env, id).await.len(),
        ids.len(),
        "children queued"
    );
    let alone = must(
        "RebootServer",
        actions
            .reboot_server(v1::ServerActionTarget {
                zone: ZONE.into(),
                request_id: uuid::Uuid::new_v4().to_string(),
                server_id: single.clone(),
            })
            .await,
    );
    fleet_scheduler::resume_zone(&env.pool, ZONE).await.unwrap();
    let alone = wait_done(&mut ops, &alone.name).await;
    let _: v1::ServerActionResult = unpack(&alone);
    let done = wait_done(&mut ops, &op.name).await;
    let result: v1::Batch = unpack(&done);
    assert_eq!(result.state, "completed", "{result:?}");

    let alone_started: time::OffsetDateTime =
        sqlx::query_scalar("SELECT started_at FROM jobs WHERE id = $1")
            .bind(batch_id(&alone))
            .fetch_one(&env.pool)
            .await
            .unwrap();
    let children_started: Vec<time::OffsetDateTime> = child_jobs(&env, id)
        .await
        .into_iter()
        .map(|j| j.2.unwrap())
        .collect();
    let before: Vec<_> = children_started
        .iter()
        .filter(|at| **at < alone_started)
        .collect();
    assert!(
        before.is_empty(),
        "children queued before the single operation started ahead of it: {before:?} < {alone_started}"
    );
    let behind = children_started
        .iter()
        .filter(|at| **at > alone_started)
        .count();
    assert!(
        behind >= ids.len() - 8,
        "only {behind} children waited for a slot"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unserved_actions_and_empty_selections_are_refused() {
    let env = start().await;
    let mut batches = client!(env, batches_client::BatchesClient);
    let mut request = reboot(&[ZONE], &["nothing-has-this"], 1, 0);
    let refused = batches.create_batch(request.clone()).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("matches no server"),
        "{}",
        refused.message()
    );
    request.action = Some(v1::BatchAction::power(v1::BatchPowerAction::Unspecified));
    let refused = batches.create_batch(request.clone()).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("must be poweron, poweroff"),
        "{}",
        refused.message()
    );
    request.action = Some(v1::BatchAction::power(v1::BatchPowerAction::Reboot));
    request.selector.as_mut().unwrap().zones = vec![ZONE.into(), "mars-1".into()];
    let refused = batches.create_batch(request.clone()).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("selector.zones[1]"),
        "{}",
        refused.message()
    );
    // Every zone, but this harness's workers own only two of them: a partial selection is
    // refused, never run.
    let selector = request.selector.as_mut().unwrap();
    selector.zones.clear();
    selector.zone = "all".into();
    let refused = batches.create_batch(request).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(
        refused.message().contains("partial"),
        "{}",
        refused.message()
    );
    let (channel, bearer) = env.svc(Some(VIEWER_TOKEN)).await;
    let mut viewer = v1::batches_client::BatchesClient::with_interceptor(channel, bearer);
    let refused = viewer
        .create_batch(reboot(&[ZONE], &["web"], 1, 0))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}

/// Pause holds back new children, resume lets them go, and extra coordinators ticking the
/// same batch at the same time (as a second gateway, or a re-run after a lost lease, would)
/// never start a child twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pause_resume_and_concurrent_ticks_start_each_child_once() {
    let env = start().await;
    let ids = servers(&env, ZONE, "app", 4, &["app"]).await;
    env.emulator.clear_call_log();
    let mut batches = client!(env, batches_client::BatchesClient);
    let mut ops = client!(env, operations_client::OperationsClient);
    let op = must(
        "CreateBatch",
        batches.create_batch(reboot(&[ZONE], &["app"], 1, 0)).await,
    );
    let id: i64 = op.name.trim_start_matches("operations/").parse().unwrap();
    let name = format!("batches/{id}");
    let paused = must(
        "PauseBatch",
        batches
            .pause_batch(v1::BatchRequest { name: name.clone() })
            .await,
    );
    assert_eq!(paused.state, "paused");
    // Whatever started before the pause finishes; then nothing more starts, however often
    // the batch is ticked.
    let pool = env.pool.clone();
    let started = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM batch_children WHERE batch_id = $1 AND job_id IS NOT NULL",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let mut before = 0;
    for _ in 0..200 {
        fleet_gateway::batches::coordinator::tick(&env.pool, id, false)
            .await
            .unwrap();
        let batch = must(
            "GetBatch",
            batches
                .get_batch(v1::GetBatchRequest { name: name.clone() })
                .await,
        );
        if batch.counts.unwrap().in_flight == 0 {
            before = started().await;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        before <= 1,
        "{before} children started before the pause took effect"
    );
    for _ in 0..5 {
        fleet_gateway::batches::coordinator::tick(&env.pool, id, false)
            .await
            .unwrap();
    }
    assert_eq!(started().await, before, "a paused batch started a child");

    // Resume, with four more coordinators ticking the batch as fast as they can.
    let resumed = must(
        "ResumeBatch",
        batches
            .resume_batch(v1::BatchRequest { name: name.clone() })
            .await,
    );
    assert_eq!(resumed.state, "running");
    let stop = tokio_util::sync::CancellationToken::new();
    let mut rivals = Vec::new();
    for _ in 0..4 {
        let (pool, stop) = (env.pool.clone(), stop.clone());
        rivals.push(tokio::spawn(async move {
            while !stop.is_cancelled() {
                fleet_gateway::batches::coordinator::tick(&pool, id, false)
                    .await
                    .unwrap();
            }
        }));
    }
    let done = wait_done(&mut ops, &op.name).await;
    stop.cancel();
    for rival in rivals {
        rival.await.unwrap();
    }
    let result: v1::Batch = unpack(&done);
    assert_eq!(result.state, "completed", "{result:?}");
    let events: Vec<&str> = result.events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events, ["started", "paused", "resumed", "completed"]);
    let calls = action_calls(&env);
    for id in &ids {
        assert_eq!(
            calls.get(id).map(Vec::len),
            Some(1),
            "action calls of {id}: {calls:?}"
        );
    }
    let jobs: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'server_action.reboot'")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(jobs, 4, "child jobs");
}
