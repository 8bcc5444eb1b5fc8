//! Helpers of the batch tests: servers to select, rollout limits, a batch run to its end.

use fleet_proto::v1;

use super::operations::{must, unpack, wait_done};
use super::{Env, OPS_TOKEN, Svc};

pub async fn servers_client(env: &Env) -> v1::servers_client::ServersClient<Svc> {
    let (channel, bearer) = env.svc(Some(OPS_TOKEN)).await;
    v1::servers_client::ServersClient::with_interceptor(channel, bearer)
}

pub async fn ops_client(env: &Env) -> v1::operations_client::OperationsClient<Svc> {
    let (channel, bearer) = env.svc(Some(OPS_TOKEN)).await;
    v1::operations_client::OperationsClient::with_interceptor(channel, bearer)
}

pub async fn batches_client(env: &Env) -> v1::batches_client::BatchesClient<Svc> {
    let (channel, bearer) = env.svc(Some(OPS_TOKEN)).await;
    v1::batches_client::BatchesClient::with_interceptor(channel, bearer)
}

/// Creates `count` servers `{prefix}-{i}` in `zone` tagged `tags` from `image`, running when
/// `start`; returns them as created.
pub async fn servers_from(
    env: &Env,
    zone: &str,
    prefix: &str,
    count: usize,
    tags: &[&str],
    image: &str,
    start: bool,
) -> Vec<v1::Server> {
    let mut servers = servers_client(env).await;
    let mut ops = ops_client(env).await;
    let mut names = Vec::new();
    for i in 0..count {
        let op = must(
            "CreateServer",
            servers
                .create_server(v1::CreateServerRequest {
                    zone: zone.into(),
                    name: format!("{prefix}-{i}"),
                    commercial_type: "DEV1-S".into(),
                    image: Some(image.into()),
                    project: Some(env.project()),
                    tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                    start,
                    ..Default::default()
                })
                .await,
        );
        names.push(op.name);
    }
    let mut created = Vec::new();
    for name in names {
        let server: v1::Server = unpack(&wait_done(&mut ops, &name).await);
        assert_eq!(server.state, if start { "running" } else { "stopped" });
        created.push(server);
    }
    created
}

/// Creates `count` running servers (Instance root volumes) and returns their ids.
pub async fn servers(
    env: &Env,
    zone: &str,
    prefix: &str,
    count: usize,
    tags: &[&str],
) -> Vec<String> {
    servers_from(env, zone, prefix, count, tags, "ubuntu_jammy", true)
        .await
        .into_iter()
        .map(|s| s.id)
        .collect()
}

pub fn limit(n: u32) -> Option<v1::RolloutLimit> {
    Some(v1::RolloutLimit {
        limit: Some(v1::rollout_limit::Limit::Count(n)),
    })
}

/// Creates the batch and answers it once its parent operation is done.
pub async fn run_batch(env: &Env, request: v1::CreateBatchRequest) -> v1::Batch {
    let mut batches = batches_client(env).await;
    let mut ops = ops_client(env).await;
    let op = must("CreateBatch", batches.create_batch(request).await);
    unpack(&wait_done(&mut ops, &op.name).await)
}

/// Answers the dry run of `request`.
pub async fn plan_batch(env: &Env, mut request: v1::CreateBatchRequest) -> v1::Batch {
    request.validate_only = true;
    let mut batches = batches_client(env).await;
    unpack(&must(
        "CreateBatch validate_only",
        batches.create_batch(request).await,
    ))
}
