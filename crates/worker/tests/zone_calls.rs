//! The internal `ZoneCalls` service end to end: a worker built from its config (real job
//! handlers) answers `Invoke` for the zone it owns through the emulator, hands upstream errors
//! back as responses, refuses zones it does not own with the owner's address, and applies the
//! caller's project scope.

mod ownership_support;

use std::collections::BTreeMap;
use std::time::Duration;

use fleet_core::Zone;
use fleet_proto::internal::zone_calls_client::ZoneCallsClient;
use fleet_proto::internal::{InvokeRequest, InvokeResponse, QueryParam};
use fleet_worker::calls::{NOT_ZONE_OWNER, OUTSIDE_PROJECT_SCOPE};
use ownership_support::{SECRET, db, emulator, eventually, worker_config};
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

const TTL: Duration = Duration::from_secs(1);

fn request(zone: Zone, operation: &str) -> InvokeRequest {
    InvokeRequest {
        zone: zone.as_str().to_owned(),
        operation: operation.to_owned(),
        caller: "test-service".to_owned(),
        request_id: "req-1".to_owned(),
        timeout: Some(prost_types::Duration {
            seconds: 10,
            nanos: 0,
        }),
        ..InvokeRequest::default()
    }
}

fn with_id(mut req: InvokeRequest, id: &str) -> InvokeRequest {
    req.path_params = BTreeMap::from([("ip".to_owned(), id.to_owned())]);
    req
}

fn json(answer: &InvokeResponse) -> serde_json::Value {
    serde_json::from_slice(&answer.body).expect("json body")
}

async fn invoke(
    client: &mut ZoneCallsClient<Channel>,
    req: InvokeRequest,
) -> Result<InvokeResponse, tonic::Status> {
    client.invoke(req).await.map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_through_the_owner_of_the_zone() {
    let (url, pool) = db().await;
    let emu = emulator().await;
    let zone = Zone::FrPar1;
    let worker = worker_config(&url, &emu, &[zone], TTL)
        .build()
        .await
        .expect("worker builds");
    let handle = worker.handle();
    let addr = worker.local_addr();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(worker.run(shutdown.clone()));
    // A second worker owns another zone, so that refusals can name it.
    let other = worker_config(&url, &emu, &[Zone::NlAms1], TTL)
        .build()
        .await
        .expect("second worker builds");
    let other_address = other.advertise_address().to_owned();
    let other_handle = other.handle();
    let other_task = tokio::spawn(other.run(shutdown.clone()));
    eventually(
        "both workers to own their zone",
        Duration::from_secs(10),
        || async {
            (handle.held_zones() == [zone] && other_handle.held_zones() == [Zone::NlAms1])
                .then_some(())
        },
    )
    .await;
    let epoch = handle.held_epochs()[0].1;

    let mut client = ZoneCallsClient::connect(format!("http://{addr}"))
        .await
        .expect("grpc connects");

    // create
    let mut create = request(zone, "create_ip");
    create.body = serde_json::to_vec(&serde_json::json!({
        "type": "routed_ipv4", "project": SECRET, "tags": ["zone-calls"]
    }))
    .unwrap();
    create.content_type = "application/json".to_owned();
    let created = invoke(&mut client, create).await.expect("create answers");
    assert_eq!(
        created.status,
        201,
        "{:?}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(created.attempts, 1);
    assert!(created.content_type.starts_with("application/json"));
    let id = json(&created)["ip"]["id"].as_str().unwrap().to_owned();

    // get
    let got = invoke(&mut client, with_id(request(zone, "get_ip"), &id))
        .await
        .expect("get answers");
    assert_eq!(got.status, 200);
    assert_eq!(json(&got)["ip"]["id"], id.as_str());

    // list, with a query
    let mut list = request(zone, "list_ips");
    list.query = vec![QueryParam {
        key: "per_page".to_owned(),
        value: "10".to_owned(),
    }];
    let listed = invoke(&mut client, list.clone())
        .await
        .expect("list answers");
    assert_eq!(listed.status, 200);
    assert_eq!(listed.total_count, Some(1));
    assert_eq!(json(&listed)["ips"].as_array().unwrap().len(), 1);

    // project scope: lists drop, reads and changes are refused outside the scope
    let mut scoped = list.clone();
    scoped.project_scope = vec!["00000000-0000-4000-8000-000000000000".to_owned()];
    let filtered = invoke(&mut client, scoped)
        .await
        .expect("scoped list answers");
    assert_eq!(filtered.status, 200);
    assert!(json(&filtered)["ips"].as_array().unwrap().is_empty());
    assert_eq!(filtered.total_count, Some(0));
    for operation in ["get_ip", "delete_ip"] {
        let mut req = with_id(request(zone, operation), &id);
        req.project_scope = vec!["00000000-0000-4000-8000-000000000000".to_owned()];
        let refused = invoke(&mut client, req).await.unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{operation}");
        let info = refused.get_details_error_info().expect("error info");
        assert_eq!(info.reason, OUTSIDE_PROJECT_SCOPE);
    }
    let mut in_scope = list.clone();
    in_scope.project_scope = vec![SECRET.to_owned()];
    let kept = invoke(&mut client, in_scope)
        .await
        .expect("scoped list answers");
    assert_eq!(json(&kept)["ips"].as_array().unwrap().len(), 1);

    // delete (in scope: the ownership check reads the ip first)
    let mut delete = with_id(request(zone, "delete_ip"), &id);
    delete.project_scope = vec![SECRET.to_owned()];
    let deleted = invoke(&mut client, delete).await.expect("delete answers");
    assert_eq!(deleted.status, 204);

    // an upstream 404 is an answer, with Scaleway's body
    let missing = invoke(&mut client, with_id(request(zone, "get_ip"), &id))
        .await
        .expect("404 is an answer, not a grpc error");
    assert_eq!(missing.status, 404);
    assert_eq!(json(&missing)["type"], "not_found");

    // a zone owned by another worker: refused, naming the owner
    let refused = invoke(&mut client, request(Zone::NlAms1, "list_ips"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let info = refused.get_details_error_info().expect("error info");
    assert_eq!(info.reason, NOT_ZONE_OWNER);
    assert_eq!(info.metadata.get("owner"), Some(&other_address));
    // a zone nobody owns: refused, with no owner
    let refused = invoke(&mut client, request(Zone::PlWaw1, "list_ips"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let info = refused.get_details_error_info().expect("error info");
    assert_eq!(info.metadata.get("owner").map(String::as_str), Some(""));

    // bad input
    for req in [
        request(zone, "no_such_operation"),
        InvokeRequest {
            zone: "mars-1".to_owned(),
            ..request(zone, "list_ips")
        },
        request(zone, "get_ip"),
    ] {
        let err = invoke(&mut client, req).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(err.get_details_bad_request().is_some());
    }

    let err = invoke(&mut client, request(zone, "get_ip"))
        .await
        .unwrap_err();
    let violations = err.get_details_bad_request().unwrap().field_violations;
    assert_eq!(violations[0].field, "path_params");

    // the caller's timeout bounds the call, retries included
    emu.set_faults(fleet_emulator::Faults {
        latency: Duration::from_secs(2),
        zones: Some(vec![zone.as_str().to_owned()]),
        ..fleet_emulator::Faults::default()
    });
    let mut slow = request(zone, "list_ips");
    slow.timeout = Some(prost_types::Duration {
        seconds: 0,
        nanos: 200_000_000,
    });
    let err = invoke(&mut client, slow).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    emu.clear_faults();

    // every upstream call of the zone carried this worker's id and epoch
    let callers: Vec<_> = emu
        .call_log()
        .into_iter()
        .filter(|c| c.zone.as_deref() == Some(zone.as_str()))
        .map(|c| c.caller.unwrap_or_default())
        .collect();
    assert!(callers.len() >= 7, "{callers:?}");
    let expected = format!("{}/{epoch}", handle.id());
    assert!(callers.iter().all(|c| *c == expected), "{callers:?}");

    shutdown.cancel();
    task.await.unwrap().unwrap();
    other_task.await.unwrap().unwrap();
    // After a graceful stop nobody owns anything, and calls are refused.
    assert!(
        fleet_scheduler::zone_owners(&pool)
            .await
            .unwrap()
            .is_empty()
    );
}

fn with(mut req: InvokeRequest, name: &str, id: &str) -> InvokeRequest {
    req.path_params = BTreeMap::from([(name.to_owned(), id.to_owned())]);
    req
}

fn json_body(mut req: InvokeRequest, body: serde_json::Value) -> InvokeRequest {
    req.body = serde_json::to_vec(&body).unwrap();
    req.content_type = "application/json".to_owned();
    req
}

/// Instance volume and snapshot calls on SBS ids are answered from Block in the Instance shape;
/// Block calls by name are answered raw; the project scope holds for Block bodies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sbs_ids_are_answered_from_block_in_the_instance_shape() {
    let (url, _pool) = db().await;
    let emu = emulator().await;
    let zone = Zone::FrPar1;
    let worker = worker_config(&url, &emu, &[zone], TTL)
        .build()
        .await
        .expect("worker builds");
    let handle = worker.handle();
    let addr = worker.local_addr();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(worker.run(shutdown.clone()));
    eventually(
        "the worker to own its zone",
        Duration::from_secs(10),
        || async { (handle.held_zones() == [zone]).then_some(()) },
    )
    .await;
    let mut client = ZoneCallsClient::connect(format!("http://{addr}"))
        .await
        .expect("grpc connects");
    let outside = "00000000-0000-4000-8000-000000000000".to_owned();

    // A Block create by name, scoped: it must name a project of the scope.
    let create = json_body(
        request(zone, "block_create_volume"),
        serde_json::json!({"name": "data", "project_id": SECRET,
            "from_empty": {"size": 10_000_000_000u64}, "tags": ["zc"]}),
    );
    let mut refused = create.clone();
    refused.project_scope = vec![outside.clone()];
    let err = invoke(&mut client, refused).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let mut scoped = create.clone();
    scoped.project_scope = vec![SECRET.to_owned()];
    let created = invoke(&mut client, scoped).await.expect("create answers");
    assert_eq!(
        created.status,
        200,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let id = json(&created)["id"].as_str().unwrap().to_owned();

    // Instance GET of the SBS id: the Block volume, unified, in the Instance envelope.
    let got = invoke(
        &mut client,
        with(request(zone, "get_volume"), "volume_id", &id),
    )
    .await
    .expect("get answers");
    assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.body));
    let volume = &json(&got)["volume"];
    assert_eq!(volume["id"], id.as_str());
    assert_eq!(volume["api"], "block");
    assert_eq!(volume["volume_type"], "sbs_volume");
    assert_eq!(volume["project"], SECRET);

    // Instance PATCH: converted to a Block update, answered unified.
    let rename = json_body(
        with(request(zone, "update_volume"), "volume_id", &id),
        serde_json::json!({"name": "renamed"}),
    );
    let updated = invoke(&mut client, rename).await.expect("update answers");
    assert_eq!(
        updated.status,
        200,
        "{}",
        String::from_utf8_lossy(&updated.body)
    );
    assert_eq!(json(&updated)["volume"]["name"], "renamed");

    // Scope: reading or changing the SBS volume from outside its project is refused.
    for operation in ["get_volume", "delete_volume"] {
        let mut req = with(request(zone, operation), "volume_id", &id);
        req.project_scope = vec![outside.clone()];
        let err = invoke(&mut client, req).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{operation}");
        let info = err.get_details_error_info().expect("error info");
        assert_eq!(info.reason, OUTSIDE_PROJECT_SCOPE);
    }

    // A Block list by name: raw, the total in the body; scoped lists drop other projects.
    let list = request(zone, "block_list_volumes");
    let listed = invoke(&mut client, list.clone())
        .await
        .expect("list answers");
    assert_eq!(listed.status, 200);
    assert_eq!(json(&listed)["total_count"], 1);
    assert!(json(&listed)["volumes"][0].get("api").is_none());
    let mut foreign = list.clone();
    foreign.project_scope = vec![outside.clone()];
    let filtered = invoke(&mut client, foreign).await.expect("list answers");
    assert!(json(&filtered)["volumes"].as_array().unwrap().is_empty());
    assert_eq!(json(&filtered)["total_count"], 0);

    // A Block snapshot read through the Instance GET (of a volume done creating).
    eventually(
        "the volume to be available",
        Duration::from_secs(10),
        || {
            let req = with(request(zone, "get_volume"), "volume_id", &id);
            let mut client = client.clone();
            async move {
                let answer = invoke(&mut client, req).await.ok()?;
                (json(&answer)["volume"]["state"] == "available").then_some(())
            }
        },
    )
    .await;
    let snap = json_body(
        request(zone, "block_create_snapshot"),
        serde_json::json!({"volume_id": id, "name": "s", "project_id": SECRET}),
    );
    let snap = invoke(&mut client, snap).await.expect("snapshot answers");
    assert_eq!(snap.status, 200, "{}", String::from_utf8_lossy(&snap.body));
    let snapshot_id = json(&snap)["id"].as_str().unwrap().to_owned();
    let got = invoke(
        &mut client,
        with(request(zone, "get_snapshot"), "snapshot_id", &snapshot_id),
    )
    .await
    .expect("get answers");
    assert_eq!(got.status, 200);
    assert_eq!(json(&got)["snapshot"]["volume_type"], "sbs_snapshot");
    assert_eq!(json(&got)["snapshot"]["base_volume"]["id"], id.as_str());

    // Instance DELETE of the SBS volume once free (after its snapshot is done): Block's 204.
    let deleted = eventually(
        "the volume to be deletable",
        Duration::from_secs(10),
        || {
            let req = with(request(zone, "delete_volume"), "volume_id", &id);
            let mut client = client.clone();
            async move {
                let answer = invoke(&mut client, req).await.ok()?;
                (answer.status == 204).then_some(answer)
            }
        },
    )
    .await;
    assert!(deleted.body.is_empty());

    // Neither API holds it now: Block's own 404.
    let missing = invoke(
        &mut client,
        with(request(zone, "get_volume"), "volume_id", &id),
    )
    .await
    .expect("404 is an answer");
    assert_eq!(missing.status, 404);
    assert_eq!(json(&missing)["resource"], "volume");
    // An Instance 404 about something else is not sent on to Block.
    let ip = invoke(&mut client, with_id(request(zone, "get_ip"), &id))
        .await
        .expect("404 is an answer");
    assert_eq!(json(&ip)["resource"], "instance_ip");

    shutdown.cancel();
    task.await.unwrap().unwrap();
}

/// A private NIC made through `ZoneCalls` (the synchronous path; callers of the gateway get a
/// job) whose answer is lost is adopted by its request tag when the same request_id comes
/// again: one NIC, and the retry answers it as the create would have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_private_nic_create_is_adopted_by_its_request_tag() {
    let (url, _pool) = db().await;
    let emu = emulator().await;
    let zone = Zone::FrPar1;
    let worker = worker_config(&url, &emu, &[zone], TTL)
        .build()
        .await
        .expect("worker builds");
    let handle = worker.handle();
    let addr = worker.local_addr();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(worker.run(shutdown.clone()));
    eventually(
        "the worker to own its zone",
        Duration::from_secs(10),
        || async { (handle.held_zones() == [zone]).then_some(()) },
    )
    .await;
    let mut client = ZoneCallsClient::connect(format!("http://{addr}"))
        .await
        .expect("grpc connects");
    let with_body = |mut req: InvokeRequest, body: serde_json::Value| {
        req.body = serde_json::to_vec(&body).unwrap();
        req.content_type = "application/json".to_owned();
        req
    };
    let server = invoke(
        &mut client,
        with_body(
            request(zone, "create_server"),
            serde_json::json!({"name": "nic-host", "commercial_type": "DEV1-S",
                "image": "ubuntu_noble", "project": SECRET}),
        ),
    )
    .await
    .expect("server created");
    assert_eq!(
        server.status,
        201,
        "{}",
        String::from_utf8_lossy(&server.body)
    );
    let server_id = json(&server)["server"]["id"].as_str().unwrap().to_owned();

    let mut create = with_body(
        request(zone, "create_private_nic"),
        serde_json::json!({"private_network_id": "6a0b1c3e-0000-4000-8000-000000000001",
            "tags": ["db"]}),
    );
    create.request_id = "nic-once".to_owned();
    create.path_params = BTreeMap::from([("server_id".to_owned(), server_id.clone())]);
    emu.set_faults(fleet_emulator::Faults {
        lost_answers: vec![fleet_emulator::LostAnswers {
            operation: fleet_core::catalog::Operation::CreatePrivateNic,
            count: 1,
        }],
        ..fleet_emulator::Faults::default()
    });
    let lost = invoke(&mut client, create.clone()).await.unwrap_err();
    assert_eq!(lost.code(), Code::Unavailable, "{lost:?}");
    assert_eq!(emu.faults().lost_answers[0].count, 0, "the answer was lost");

    let retried = invoke(&mut client, create.clone())
        .await
        .expect("retry answers");
    assert_eq!(
        retried.status,
        201,
        "{}",
        String::from_utf8_lossy(&retried.body)
    );
    let nic = json(&retried)["private_nic"].clone();
    let tag = fleet_worker::calls::request_tag("test-service", "nic-once");
    assert!(
        nic["tags"].as_array().unwrap().iter().any(|t| t == &tag),
        "{nic}"
    );

    let mut list = request(zone, "list_private_nics");
    list.path_params = create.path_params.clone();
    let listed = invoke(&mut client, list).await.expect("list answers");
    let nics = json(&listed)["private_nics"].as_array().unwrap().clone();
    assert_eq!(nics.len(), 1, "one NIC upstream: {nics:?}");
    assert_eq!(nics[0]["id"], nic["id"], "the retry answers it");
    shutdown.cancel();
    task.await.unwrap().unwrap();
}
