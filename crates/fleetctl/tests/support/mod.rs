//! The in-test gateway the `fleetctl` tests run the real binary against: Servers,
//! ServerActions, Volumes, Snapshots, Operations, Audit, Batches and Policies services that
//! record what they receive (method, token header, request as JSON) and answer with canned
//! messages.

// Each test binary uses the part of the fake it needs.
#![allow(dead_code)]

pub mod policies;
pub mod storage;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use fleet_proto::v1;
use fleet_proto::v1::audit_server::{Audit, AuditServer};
use fleet_proto::v1::batches_server::{Batches, BatchesServer};
use fleet_proto::v1::operations_server::{Operations, OperationsServer};
use fleet_proto::v1::policies_server::PoliciesServer;
use fleet_proto::v1::server_actions_server::{ServerActions, ServerActionsServer};
use fleet_proto::v1::servers_server::{Servers, ServersServer};
use fleet_proto::v1::snapshots_server::SnapshotsServer;
use fleet_proto::v1::volumes_server::VolumesServer;
use serde_json::Value;
use tokio_stream::Stream;
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

pub const TOKEN: &str = "t0k3n-secret";
pub const SERVER_ID: &str = "11111111-2222-3333-4444-555555555555";

/// One call as the gateway saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: &'static str,
    pub authorization: Option<String>,
    pub request: Value,
}

#[derive(Clone, Default)]
pub struct Gateway {
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Gateway {
    pub fn record<M: prost::Message + prost::Name>(
        &self,
        method: &'static str,
        request: &Request<M>,
    ) -> Result<(), Status> {
        let authorization = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.seen.lock().unwrap().push(Seen {
            method,
            authorization: authorization.clone(),
            request: fleet_proto::json::to_json(request.get_ref()),
        });
        if authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
            return Err(Status::unauthenticated("missing or invalid bearer token"));
        }
        Ok(())
    }

    pub fn calls(&self, method: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.method == method)
            .cloned()
            .collect()
    }
}

pub fn server(id: &str, name: &str) -> v1::Server {
    v1::Server {
        id: id.into(),
        name: name.into(),
        commercial_type: "DEV1-S".into(),
        state: "running".into(),
        zone: "fr-par-1".into(),
        tags: vec!["web".into(), "prod".into()],
        dynamic_ip_required: true,
        public_ips: vec![v1::ServerIp {
            id: "ip-1".into(),
            address: "51.15.0.1".into(),
            family: "inet".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

pub fn operation(name: &str, state: &str, percent: i32, done: bool) -> v1::Operation {
    let history = ["starting", "running"]
        .iter()
        .take(usize::try_from(percent / 40).unwrap_or(0))
        .map(|s| v1::StateTransition {
            state: (*s).into(),
            state_detail: String::new(),
            observe_time: None,
        })
        .collect();
    let metadata = v1::OperationMetadata {
        kind: "server_action.poweron".into(),
        zone: "fr-par-1".into(),
        state: state.into(),
        step: if done { "done" } else { "poll" }.into(),
        percent,
        message: format!("waiting ({percent}%)"),
        history,
        ..Default::default()
    };
    v1::Operation {
        name: name.into(),
        metadata: Some(prost_types::Any::from_msg(&metadata).unwrap()),
        done,
        result: None,
    }
}

/// The one record the test Audit service answers every listing with.
pub fn audit_event() -> v1::AuditEvent {
    v1::AuditEvent {
        name: "auditEvents/7".into(),
        time: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        caller: "ops".into(),
        role: "operator".into(),
        method: "fleet.v1.Servers/DeleteServer".into(),
        zone: "fr-par-1".into(),
        resource: format!("zones/fr-par-1/servers/{SERVER_ID}"),
        outcome: "OK".into(),
        operation: "operations/del-1".into(),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl Audit for Gateway {
    async fn list_audit_events(
        &self,
        request: Request<v1::ListAuditEventsRequest>,
    ) -> Result<Response<v1::ListAuditEventsResponse>, Status> {
        self.record("ListAuditEvents", &request)?;
        Ok(Response::new(v1::ListAuditEventsResponse {
            events: vec![audit_event()],
            next_page_token: String::new(),
        }))
    }
}

/// The parent operation of the fake batch (two children) with `(succeeded, failed, in
/// flight)` counts in its progress.
pub fn batch_operation(name: &str, counts: (u32, u32, u32), done: bool) -> v1::Operation {
    let (succeeded, failed, in_flight) = counts;
    let mut op = operation(name, if done { "succeeded" } else { "running" }, 0, done);
    let mut metadata: v1::OperationMetadata = op.metadata.as_ref().unwrap().to_msg().unwrap();
    metadata.kind = "batch".into();
    metadata.batch = Some(v1::BatchProgress {
        batch: "batches/9".into(),
        state: if done { "halted" } else { "running" }.into(),
        counts: Some(v1::BatchCounts {
            total: 2,
            pending: 2 - succeeded - failed - in_flight,
            in_flight,
            succeeded,
            failed,
            ..Default::default()
        }),
        ..Default::default()
    });
    op.metadata = Some(prost_types::Any::from_msg(&metadata).unwrap());
    op
}

/// The Batch the fake answers: two children, one of them failed.
pub fn batch(state: &str) -> v1::Batch {
    let child = |id: &str, outcome: &str, error: &str| v1::BatchChild {
        zone: "fr-par-1".into(),
        server_id: id.into(),
        name: format!("web-{id}"),
        state: "running".into(),
        outcome: outcome.into(),
        operation: String::new(),
        error: error.into(),
        ..Default::default()
    };
    v1::Batch {
        name: "batches/9".into(),
        operation: "operations/9".into(),
        state: state.into(),
        reason: if state == "halted" {
            "2 children failed, more than max_failures 1".into()
        } else {
            String::new()
        },
        max_in_flight: 1,
        max_failures: 1,
        children: vec![
            child("a", "succeeded", ""),
            child("b", "failed", "server is locked"),
        ],
        ..Default::default()
    }
}

#[tonic::async_trait]
impl Batches for Gateway {
    async fn create_batch(
        &self,
        request: Request<v1::CreateBatchRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.record("CreateBatch", &request)?;
        if request.get_ref().validate_only {
            let mut op = operation("", "succeeded", 100, true);
            op.result = Some(v1::operation::Result::Response(
                prost_types::Any::from_msg(&batch("planned")).unwrap(),
            ));
            return Ok(Response::new(op));
        }
        Ok(Response::new(operation(
            "operations/batch",
            "queued",
            0,
            false,
        )))
    }

    async fn get_batch(
        &self,
        request: Request<v1::GetBatchRequest>,
    ) -> Result<Response<v1::Batch>, Status> {
        self.record("GetBatch", &request)?;
        Ok(Response::new(batch("running")))
    }

    async fn list_batches(
        &self,
        request: Request<v1::ListBatchesRequest>,
    ) -> Result<Response<v1::ListBatchesResponse>, Status> {
        self.record("ListBatches", &request)?;
        Ok(Response::new(v1::ListBatchesResponse {
            batches: vec![batch("running")],
            next_page_token: String::new(),
        }))
    }

    async fn pause_batch(
        &self,
        request: Request<v1::BatchRequest>,
    ) -> Result<Response<v1::Batch>, Status> {
        self.record("PauseBatch", &request)?;
        Ok(Response::new(batch("paused")))
    }

    async fn resume_batch(
        &self,
        request: Request<v1::BatchRequest>,
    ) -> Result<Response<v1::Batch>, Status> {
        self.record("ResumeBatch", &request)?;
        Ok(Response::new(batch("running")))
    }

    async fn cancel_batch(
        &self,
        request: Request<v1::BatchRequest>,
    ) -> Result<Response<v1::Batch>, Status> {
        self.record("CancelBatch", &request)?;
        Ok(Response::new(batch("cancelled")))
    }
}

pub fn unimplemented<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("not in this test gateway"))
}

#[tonic::async_trait]
impl Servers for Gateway {
    async fn list_servers(
        &self,
        request: Request<v1::ListServersRequest>,
    ) -> Result<Response<v1::ListServersResponse>, Status> {
        self.record("ListServers", &request)?;
        let request = request.into_inner();
        let (servers, next) = match request.page_token.as_str() {
            "" => (vec![server(SERVER_ID, "web-1")], "page-2"),
            // The second page is of another zone, as a `zone = "all"` list has.
            "page-2" => (
                vec![v1::Server {
                    zone: "nl-ams-1".into(),
                    ..server("22222222-2222-3333-4444-555555555555", "web-2")
                }],
                "",
            ),
            _ => return Err(Status::invalid_argument("bad page token")),
        };
        Ok(Response::new(v1::ListServersResponse {
            servers,
            next_page_token: next.into(),
            total_size: 2,
            unreachable: vec!["nl-ams-9".into()],
        }))
    }

    async fn get_server(
        &self,
        request: Request<v1::GetServerRequest>,
    ) -> Result<Response<v1::Server>, Status> {
        self.record("GetServer", &request)?;
        let request = request.into_inner();
        match request.server_id.as_str() {
            "missing" => Err(Status::with_error_details(
                Code::NotFound,
                "server missing not found in zone fr-par-1",
                ErrorDetails::with_resource_info("instance_server", "missing", "", "not found"),
            )),
            "bad" => Err(Status::with_error_details(
                Code::InvalidArgument,
                "invalid request",
                ErrorDetails::with_bad_request_violation("server_id", "must be a UUID"),
            )),
            id => Ok(Response::new(server(id, "web-1"))),
        }
    }

    async fn create_server(
        &self,
        request: Request<v1::CreateServerRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.record("CreateServer", &request)?;
        Ok(Response::new(operation(
            "operations/create-1",
            "queued",
            0,
            false,
        )))
    }

    async fn update_server(
        &self,
        request: Request<v1::UpdateServerRequest>,
    ) -> Result<Response<v1::Server>, Status> {
        self.record("UpdateServer", &request)?;
        unimplemented()
    }

    async fn replace_server(
        &self,
        _: Request<v1::ReplaceServerRequest>,
    ) -> Result<Response<v1::Server>, Status> {
        unimplemented()
    }

    async fn delete_server(
        &self,
        _: Request<v1::DeleteServerRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        unimplemented()
    }

    async fn get_server_compatible_types(
        &self,
        _: Request<v1::GetServerCompatibleTypesRequest>,
    ) -> Result<Response<v1::ServerCompatibleTypes>, Status> {
        unimplemented()
    }

    async fn attach_server_volume(
        &self,
        _: Request<v1::AttachServerVolumeRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        unimplemented()
    }

    async fn detach_server_volume(
        &self,
        _: Request<v1::DetachServerVolumeRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        unimplemented()
    }

    async fn attach_server_file_system(
        &self,
        _: Request<v1::AttachServerFileSystemRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        unimplemented()
    }

    async fn detach_server_file_system(
        &self,
        _: Request<v1::DetachServerFileSystemRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        unimplemented()
    }
}

#[tonic::async_trait]
impl ServerActions for Gateway {
    async fn list_server_actions(
        &self,
        _: Request<v1::ListServerActionsRequest>,
    ) -> Result<Response<v1::ListServerActionsResponse>, Status> {
        unimplemented()
    }

    async fn server_action(
        &self,
        _: Request<v1::ServerActionRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        unimplemented()
    }

    async fn power_on_server(
        &self,
        request: Request<v1::ServerActionTarget>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.record("PowerOnServer", &request)?;
        let name = if request.get_ref().server_id == "doomed" {
            "operations/fails"
        } else {
            "operations/poweron-1"
        };
        Ok(Response::new(operation(name, "queued", 0, false)))
    }

    async fn power_off_server(
        &self,
        _: Request<v1::ServerActionTarget>,
    ) -> Result<Response<v1::Operation>, Status> {
        unimplemented()
    }

    async fn stop_server_in_place(
        &self,
        _: Request<v1::ServerActionTarget>,
    ) -> Result<Response<v1::Operation>, Status> {
        unimplemented()
    }

    async fn reboot_server(
        &self,
        _: Request<v1::ServerActionTarget>,
    ) -> Result<Response<v1::Operation>, Status> {
        unimplemented()
    }

    async fn terminate_server(
        &self,
        _: Request<v1::ServerActionTarget>,
    ) -> Result<Response<v1::Operation>, Status> {
        unimplemented()
    }

    async fn backup_server(
        &self,
        _: Request<v1::BackupServerRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        unimplemented()
    }

    async fn enable_routed_ip(
        &self,
        _: Request<v1::EnableRoutedIpRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        unimplemented()
    }
}

type OperationStream = Pin<Box<dyn Stream<Item = Result<v1::Operation, Status>> + Send>>;

#[tonic::async_trait]
impl Operations for Gateway {
    async fn get_operation(
        &self,
        request: Request<v1::GetOperationRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.record("GetOperation", &request)?;
        Ok(Response::new(operation(
            &request.into_inner().name,
            "running",
            40,
            false,
        )))
    }

    async fn list_operations(
        &self,
        _: Request<v1::ListOperationsRequest>,
    ) -> Result<Response<v1::ListOperationsResponse>, Status> {
        unimplemented()
    }

    async fn cancel_operation(
        &self,
        _: Request<v1::CancelOperationRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        unimplemented()
    }

    async fn wait_operation(
        &self,
        request: Request<v1::WaitOperationRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.record("WaitOperation", &request)?;
        let name = request.into_inner().name;
        // Not done on the first wait, done on the second: the client must loop.
        if self.calls("WaitOperation").len() < 2 {
            return Ok(Response::new(operation(&name, "running", 50, false)));
        }
        let mut op = operation(&name, "succeeded", 100, true);
        let result = v1::DeleteServerResult {
            server_id: SERVER_ID.into(),
            deleted_volumes: vec!["vol-1".into()],
            deleted_ips: vec![],
        };
        op.result = Some(v1::operation::Result::Response(
            prost_types::Any::from_msg(&result).unwrap(),
        ));
        Ok(Response::new(op))
    }

    type WatchOperationStream = OperationStream;

    async fn watch_operation(
        &self,
        request: Request<v1::WatchOperationRequest>,
    ) -> Result<Response<Self::WatchOperationStream>, Status> {
        self.record("WatchOperation", &request)?;
        let name = request.into_inner().name;
        let mut last = operation(&name, "succeeded", 100, true);
        if name == "operations/fails" {
            let status = Status::with_error_details(
                Code::FailedPrecondition,
                "server is locked",
                ErrorDetails::with_precondition_failure_violation(
                    "STATE",
                    "zones/fr-par-1/servers/doomed",
                    "the server is locked by Scaleway; open a support ticket",
                ),
            );
            let details: tonic_types::pb::Status =
                prost::Message::decode(status.details()).unwrap();
            last.result = Some(v1::operation::Result::Error(details));
        } else if name == "operations/batch" {
            last.result = Some(v1::operation::Result::Response(
                prost_types::Any::from_msg(&batch("halted")).unwrap(),
            ));
        } else {
            let result = v1::ServerActionResult {
                action: "poweron".into(),
                server: Some(server(SERVER_ID, "web-1")),
                image: None,
                task: None,
            };
            last.result = Some(v1::operation::Result::Response(
                prost_types::Any::from_msg(&result).unwrap(),
            ));
        }
        let updates = if name == "operations/batch" {
            vec![
                Ok(batch_operation(&name, (0, 0, 1), false)),
                Ok(batch_operation(&name, (1, 0, 1), false)),
                Ok(batch_operation(&name, (1, 1, 0), true)),
            ]
            .into_iter()
            .map(|op: Result<v1::Operation, Status>| {
                op.map(|mut op| {
                    if op.done {
                        op.result = last.result.clone();
                    }
                    op
                })
            })
            .collect()
        } else {
            vec![
                Ok(operation(&name, "running", 10, false)),
                Ok(operation(&name, "running", 80, false)),
                Ok(last),
            ]
        };
        Ok(Response::new(Box::pin(tokio_stream::iter(updates))))
    }
}

pub async fn start() -> (SocketAddr, Gateway) {
    let gateway = Gateway::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = gateway.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(ServersServer::new(service.clone()))
            .add_service(ServerActionsServer::new(service.clone()))
            .add_service(VolumesServer::new(service.clone()))
            .add_service(SnapshotsServer::new(service.clone()))
            .add_service(OperationsServer::new(service.clone()))
            .add_service(AuditServer::new(service.clone()))
            .add_service(BatchesServer::new(service.clone()))
            .add_service(PoliciesServer::new(service))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    (addr, gateway)
}

/// The cells of each line of a table (columns are three spaces or more apart; empty cells
/// are left out).
pub fn rows(table: &str) -> Vec<Vec<&str>> {
    table
        .lines()
        .map(|l| {
            l.split("   ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect()
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub async fn fleetctl(addr: SocketAddr, token: Option<&str>, args: &[&str]) -> Run {
    fleetctl_with_env(addr, token, args, &[]).await
}

/// `fleetctl` with these variables set (and no zone or token variable of the test runner's).
pub async fn fleetctl_with_env(
    addr: SocketAddr,
    token: Option<&str>,
    args: &[&str],
    vars: &[(&str, &str)],
) -> Run {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_fleetctl"));
    command
        .args(args)
        .env("FLEET_ADDR", format!("http://{addr}"))
        .env_remove("FLEET_TOKEN")
        .env_remove("FLEET_ZONE")
        .env_remove("SCW_DEFAULT_ZONE")
        .envs(vars.iter().copied());
    if let Some(token) = token {
        command.env("FLEET_TOKEN", token);
    }
    let output = command.output().await.unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
