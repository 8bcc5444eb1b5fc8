//! The server update jobs batches use: `change_server_type` (stop → change → start, the
//! previous power state restored) and `update_server_tags` (a read-modify-write), run by a
//! worker against the emulator.

mod jobs_support;

use std::time::Duration;

use fleet_core::{CreateServerRequest, ServerAction, ServerActionRequest};
use fleet_jobs::{
    ChangeServerTypeJob, CreateServerJob, JobSpec, ServerActionJob, TagsOperation,
    UpdateServerTagsJob, failure_kind,
};
use jobs_support::{Env, ZONE, completed, failed, history};

const T: Duration = Duration::from_millis(300);

async fn server(env: &Env, name: &str, start: bool, tags: &[&str]) -> String {
    let job = env
        .run(&JobSpec::CreateServer(CreateServerJob {
            request: CreateServerRequest {
                name: Some(name.into()),
                commercial_type: Some("DEV1-S".into()),
                image: Some("ubuntu_noble".into()),
                tags: Some(tags.iter().map(|t| t.to_string()).collect()),
                ..CreateServerRequest::default()
            },
            start,
            ..CreateServerJob::default()
        }))
        .await;
    completed(&job)["id"].as_str().unwrap().to_owned()
}

fn change(server_id: &str, commercial_type: &str) -> JobSpec {
    JobSpec::ChangeServerType(ChangeServerTypeJob {
        server_id: server_id.into(),
        commercial_type: commercial_type.into(),
    })
}

/// The server's calls since the log was cleared, as `METHOD suffix` (`POST action`, `PATCH`).
fn server_writes(env: &Env, server_id: &str) -> Vec<String> {
    env.emu
        .call_log()
        .into_iter()
        .filter(|c| c.method != "GET" && c.path.contains(server_id))
        .map(|c| {
            let tail = c.path.rsplit('/').next().unwrap_or_default();
            let suffix = if tail == server_id { "" } else { tail };
            format!("{} {suffix}", c.method).trim().to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_change_restores_the_power_state() {
    let env = Env::start(T).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let running = server(&env, "run", true, &[]).await;
    let stopped = server(&env, "stop", false, &[]).await;

    env.emu.clear_call_log();
    let job = env.run(&change(&running, "DEV1-M")).await;
    let out = completed(&job);
    assert_eq!(out["commercial_type"], "DEV1-M");
    assert_eq!(out["state"], "running");
    let now = env.client.get_server(ZONE, &running).await.unwrap();
    assert_eq!(
        (now.commercial_type.as_str(), now.state.as_str()),
        ("DEV1-M", "running")
    );
    // Off, changed while stopped, back on: exactly one of each.
    assert_eq!(
        server_writes(&env, &running),
        ["POST action", "PATCH", "POST action"]
    );
    assert!(history(&job).contains(&"stopped".to_owned()), "{job:?}");

    // A stopped server is changed and stays stopped: no power action at all.
    env.emu.clear_call_log();
    let out = completed(&env.run(&change(&stopped, "DEV1-L")).await);
    assert_eq!(
        (out["commercial_type"].as_str(), out["state"].as_str()),
        (Some("DEV1-L"), Some("stopped"))
    );
    assert_eq!(server_writes(&env, &stopped), ["PATCH"]);

    // Already of the type: answered as is, nothing sent.
    env.emu.clear_call_log();
    completed(&env.run(&change(&stopped, "DEV1-L")).await);
    assert!(server_writes(&env, &stopped).is_empty());

    // Stopped in place: refused before anything is sent (its state could not be restored).
    completed(
        &env.run(&JobSpec::ServerAction(ServerActionJob {
            server_id: running.clone(),
            request: ServerActionRequest::new(ServerAction::StopInPlace),
        }))
        .await,
    );
    env.emu.clear_call_log();
    let (kind, failure) = failed(&env.run(&change(&running, "DEV1-S")).await);
    assert_eq!(kind, failure_kind::UNREACHABLE_STATE);
    assert_eq!(failure.state.as_deref(), Some("stopped in place"));
    assert!(server_writes(&env, &running).is_empty());
    let now = env.client.get_server(ZONE, &running).await.unwrap();
    assert_eq!(now.commercial_type, "DEV1-M");

    // An unknown type: the upstream refusal, after the power-off; the job fails with it.
    let doomed = server(&env, "bad", false, &[]).await;
    let (kind, _) = failed(&env.run(&change(&doomed, "NOPE-1")).await);
    assert_eq!(kind, failure_kind::UPSTREAM);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_are_read_modified_and_written() {
    let env = Env::start(T).await;
    let worker = env.spawn_worker("w1", Duration::from_secs(30));
    let id = server(&env, "tagged", false, &["web", "prod"]).await;
    let tags = |t: &[&str]| -> Vec<String> { t.iter().map(|s| s.to_string()).collect() };
    let update = |operation, t: &[&str]| {
        JobSpec::UpdateServerTags(UpdateServerTagsJob {
            server_id: id.clone(),
            operation,
            tags: tags(t),
        })
    };
    // The create job's own tag is kept by add and remove like any other.
    let plain = |all: Vec<String>| -> Vec<String> {
        all.into_iter()
            .filter(|t| !t.starts_with(fleet_jobs::JOB_TAG_PREFIX))
            .collect()
    };
    let current =
        |server: serde_json::Value| plain(serde_json::from_value(server["tags"].clone()).unwrap());

    let out = completed(
        &env.run(&update(TagsOperation::Add, &["canary", "web"]))
            .await,
    );
    assert_eq!(current(out), tags(&["web", "prod", "canary"]));
    let out = completed(&env.run(&update(TagsOperation::Remove, &["prod"])).await);
    assert_eq!(current(out), tags(&["web", "canary"]));
    let stored = env.client.get_server(ZONE, &id).await.unwrap();
    assert_eq!(plain(stored.tags.clone()), tags(&["web", "canary"]));
    assert_eq!(stored.tags.len(), 3, "{:?}", stored.tags);

    // A no-op change sends no PATCH.
    env.emu.clear_call_log();
    completed(&env.run(&update(TagsOperation::Add, &["web"])).await);
    assert!(server_writes(&env, &id).is_empty());

    let out = completed(&env.run(&update(TagsOperation::Set, &["db"])).await);
    assert_eq!(out["tags"], serde_json::json!(["db"]));
    worker.stop().await;
}
