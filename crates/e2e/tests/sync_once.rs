//! Effectively-once synchronous creates through the gateway: Scaleway makes the resource but
//! its answer is lost (the emulator's `lost_answers` fault drops the connection after serving
//! the create), the caller gets UNAVAILABLE and retries with the same `request_id`, and there
//! is still one resource upstream, which is what the retry answers.

mod common;

use common::*;
use fleet_core::catalog::Operation;
use fleet_emulator::{Faults, LostAnswers};
use fleet_proto::v1;
use serde_json::Value;
use tonic::Code;

macro_rules! client {
    ($env:expr, $module:ident :: $client:ident) => {{
        let (channel, bearer) = $env.svc(Some(OPS_TOKEN)).await;
        v1::$module::$client::with_interceptor(channel, bearer)
    }};
}

/// The caller name of `OPS_TOKEN` (see `common::callers`).
const OPS: &str = "ops";

fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The next successful answer to `operation` is lost.
fn lose_next(env: &Env, operation: Operation) {
    env.emulator.set_faults(Faults {
        lost_answers: vec![LostAnswers {
            operation,
            count: 1,
        }],
        ..Faults::default()
    });
}

/// The first attempt: upstream acted, the caller saw no answer.
fn assert_lost<T: std::fmt::Debug>(env: &Env, what: &str, first: Result<T, tonic::Status>) {
    let err = first.expect_err(what);
    assert_eq!(err.code(), Code::Unavailable, "{what}: {err:?}");
    assert_eq!(
        env.emulator.faults().lost_answers[0].count,
        0,
        "{what}: the answer was lost"
    );
}

/// The items of an upstream list, read from the emulator directly.
async fn upstream(env: &Env, path: &str, key: &str) -> Vec<Value> {
    let response = env
        .http
        .get(format!(
            "{}/instance/v1/zones/{ZONE}/{path}",
            env.emulator.base_url()
        ))
        .header("X-Auth-Token", &env.secret)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    body[key].as_array().cloned().unwrap_or_default()
}

/// How many creates reached the emulator at `path` (POST).
fn posts(env: &Env, path: &str) -> usize {
    let path = format!("/instance/v1/zones/{ZONE}/{path}");
    env.emulator
        .call_log()
        .iter()
        .filter(|c| c.method == "POST" && c.path == path)
        .count()
}

/// One resource upstream, the one answered, carrying the request's tag.
fn assert_one(listed: &[Value], answered_id: &str, tag: &str) {
    assert_eq!(listed.len(), 1, "one resource upstream: {listed:?}");
    assert_eq!(listed[0]["id"], answered_id, "the retry answers it");
    assert!(
        listed[0]["tags"]
            .as_array()
            .is_some_and(|tags| tags.iter().any(|t| t == tag)),
        "{listed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_ip_retried_makes_one_ip() {
    let env = start().await;
    let mut ips = client!(env, ips_client::IpsClient);
    let request = v1::CreateIpRequest {
        zone: ZONE.into(),
        request_id: rid(),
        r#type: "routed_ipv4".into(),
        project: Some(env.project()),
        tags: vec!["edge".into()],
        ..Default::default()
    };
    lose_next(&env, Operation::CreateIp);
    assert_lost(&env, "CreateIp", ips.create_ip(request.clone()).await);
    let ip = ips.create_ip(request.clone()).await.unwrap().into_inner();
    let tag = fleet_worker::calls::request_tag(OPS, &request.request_id);
    assert_one(&upstream(&env, "ips", "ips").await, &ip.id, &tag);
    assert!(ip.tags.contains(&"edge".to_owned()) && ip.tags.contains(&tag));
    assert_eq!(posts(&env, "ips"), 1, "the retry created nothing");
    // Answered now: a replay comes from the gateway's record.
    let again = ips.create_ip(request).await.unwrap().into_inner();
    assert_eq!(again, ip);
    env.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_security_group_retried_makes_one_group() {
    let env = start().await;
    let mut sgs = client!(env, security_groups_client::SecurityGroupsClient);
    let request = v1::CreateSecurityGroupRequest {
        zone: ZONE.into(),
        request_id: rid(),
        name: "once-web".into(),
        project: Some(env.project()),
        stateful: true,
        inbound_default_policy: Some("drop".into()),
        outbound_default_policy: Some("accept".into()),
        ..Default::default()
    };
    lose_next(&env, Operation::CreateSecurityGroup);
    assert_lost(
        &env,
        "CreateSecurityGroup",
        sgs.create_security_group(request.clone()).await,
    );
    let sg = sgs
        .create_security_group(request.clone())
        .await
        .unwrap()
        .into_inner();
    let tag = fleet_worker::calls::request_tag(OPS, &request.request_id);
    let listed: Vec<Value> = upstream(&env, "security_groups", "security_groups")
        .await
        .into_iter()
        .filter(|g| g["name"] == "once-web")
        .collect();
    assert_one(&listed, &sg.id, &tag);
    assert_eq!(sg.name, "once-web");
    assert_eq!(
        posts(&env, "security_groups"),
        1,
        "the retry created nothing"
    );
    env.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_placement_group_retried_makes_one_group() {
    let env = start().await;
    let mut pgs = client!(env, placement_groups_client::PlacementGroupsClient);
    let request = v1::CreatePlacementGroupRequest {
        zone: ZONE.into(),
        request_id: rid(),
        name: "once-pg".into(),
        project: Some(env.project()),
        ..Default::default()
    };
    lose_next(&env, Operation::CreatePlacementGroup);
    assert_lost(
        &env,
        "CreatePlacementGroup",
        pgs.create_placement_group(request.clone()).await,
    );
    let pg = pgs
        .create_placement_group(request.clone())
        .await
        .unwrap()
        .into_inner();
    let tag = fleet_worker::calls::request_tag(OPS, &request.request_id);
    assert_one(
        &upstream(&env, "placement_groups", "placement_groups").await,
        &pg.id,
        &tag,
    );
    assert_eq!(pg.name, "once-pg");
    assert_eq!(
        posts(&env, "placement_groups"),
        1,
        "the retry created nothing"
    );
    env.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_security_group_rule_retried_makes_one_rule() {
    let env = start().await;
    let mut sgs = client!(env, security_groups_client::SecurityGroupsClient);
    let sg = sgs
        .create_security_group(v1::CreateSecurityGroupRequest {
            zone: ZONE.into(),
            request_id: rid(),
            name: "rules".into(),
            project: Some(env.project()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let rule = |port: u32| v1::CreateSecurityGroupRuleRequest {
        zone: ZONE.into(),
        request_id: rid(),
        security_group_id: sg.id.clone(),
        protocol: "TCP".into(),
        direction: "inbound".into(),
        action: "accept".into(),
        ip_range: "8.8.8.8/32".into(),
        dest_port_from: Some(port),
        ..Default::default()
    };
    let request = rule(443);
    lose_next(&env, Operation::CreateSecurityGroupRule);
    assert_lost(
        &env,
        "CreateSecurityGroupRule",
        sgs.create_security_group_rule(request.clone()).await,
    );
    let made = sgs
        .create_security_group_rule(request.clone())
        .await
        .unwrap()
        .into_inner();
    let rules_path = format!("security_groups/{}/rules", sg.id);
    let editable = |rules: Vec<Value>| -> Vec<Value> {
        rules
            .into_iter()
            .filter(|r| r["editable"] == true)
            .collect()
    };
    let listed = editable(upstream(&env, &rules_path, "rules").await);
    assert_eq!(listed.len(), 1, "one rule upstream: {listed:?}");
    assert_eq!(listed[0]["id"], made.id, "the retry answers it");
    assert_eq!(made.dest_port_from, Some(443));
    assert_eq!(posts(&env, &rules_path), 1, "the retry created nothing");

    // Best effort, not more: another rule is made, even right after an equal-looking one.
    let other = sgs
        .create_security_group_rule(rule(22))
        .await
        .unwrap()
        .into_inner();
    let listed = editable(upstream(&env, &rules_path, "rules").await);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[1]["id"], other.id);
    env.shutdown.cancel();
}
