//! Server reflection through both protocol versions against a running gateway: clients that
//! speak only `grpc.reflection.v1alpha` (Python's grpcio-reflection, older grpcurl) and those
//! that speak `grpc.reflection.v1` must each list every public `fleet.v1` service.

use std::net::SocketAddr;

use fleet_gateway::{CallerConfig, GatewayConfig};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic_reflection::pb::{v1, v1alpha};

/// A gateway over a fresh database; it stops when the token is cancelled.
async fn start(shutdown: &CancellationToken) -> SocketAddr {
    let url = fleet_pgcluster::testing::fresh_database().await;
    let callers: Vec<CallerConfig> = serde_json::from_value(json!([
        {"name": "ops", "token": "reflection-test-token", "projects": ["*"], "role": "operator"}
    ]))
    .unwrap();
    let config = GatewayConfig::new("127.0.0.1:0".parse().unwrap(), url, callers);
    let gateway = config.build().await.unwrap();
    let addr = gateway.local_addr();
    let stop = shutdown.clone();
    tokio::spawn(async move { gateway.run(stop).await.unwrap() });
    addr
}

async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// The public services the descriptor set declares.
fn public_services() -> Vec<&'static str> {
    let services: Vec<&str> = fleet_proto::SERVICES
        .iter()
        .copied()
        .filter(|s| s.starts_with("fleet.v1."))
        .collect();
    assert!(services.len() > 5, "{services:?}");
    services
}

async fn list_v1alpha(channel: Channel) -> Vec<String> {
    use v1alpha::server_reflection_request::MessageRequest;
    use v1alpha::server_reflection_response::MessageResponse;
    let mut client = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("v1alpha reflection is served")
        .into_inner();
    let answer = answers.message().await.unwrap().expect("one answer");
    match answer.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("v1alpha answered {other:?}"),
    }
}

async fn list_v1(channel: Channel) -> Vec<String> {
    use v1::server_reflection_request::MessageRequest;
    use v1::server_reflection_response::MessageResponse;
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("v1 reflection is served")
        .into_inner();
    let answer = answers.message().await.unwrap().expect("one answer");
    match answer.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("v1 answered {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_reflection_versions_list_every_public_service() {
    let shutdown = CancellationToken::new();
    let addr = start(&shutdown).await;
    let channel = channel(addr).await;
    let expected = public_services();
    for (version, listed) in [
        ("v1alpha", list_v1alpha(channel.clone()).await),
        ("v1", list_v1(channel.clone()).await),
    ] {
        for service in &expected {
            assert!(
                listed.iter().any(|s| s == service),
                "{version} lists {service}: {listed:?}"
            );
        }
    }
    shutdown.cancel();
}
