use serde_json::json;

use super::*;
use crate::auth::{ProjectScope, Role};
use crate::errors::GatewayError;
use crate::request::methods::method;

fn caller(role: Role) -> Caller {
    Caller {
        name: "ops".into(),
        projects: ProjectScope::All,
        role,
    }
}

#[test]
fn code_names_are_the_canonical_grpc_names() {
    assert_eq!(code_name(Code::Ok), "OK");
    assert_eq!(code_name(Code::PermissionDenied), "PERMISSION_DENIED");
    assert_eq!(code_name(Code::InvalidArgument), "INVALID_ARGUMENT");
    assert_eq!(code_name(Code::DeadlineExceeded), "DEADLINE_EXCEEDED");
    assert_eq!(code_name(Code::Unavailable), "UNAVAILABLE");
}

#[test]
fn audited_methods_are_the_mutations_and_cancel() {
    let audited = audited_methods();
    assert!(audited.contains("fleet.v1.Servers/CreateServer"));
    assert!(audited.contains("fleet.v1.UserData/SetServerUserData"));
    assert!(audited.contains("fleet.v1.Operations/CancelOperation"));
    assert!(!audited.contains("fleet.v1.Servers/GetServer"));
    assert!(!audited.contains("fleet.v1.Servers/ListServers"));
    assert!(!audited.contains("fleet.v1.BlockMigration/PlanBlockMigration"));
}

#[test]
fn a_call_by_id_names_its_resource_and_user_data_only_by_size() {
    let info = method("fleet.v1.UserData/SetServerUserData").unwrap();
    let mut record = AuditRecord::new(&caller(Role::Operator), &info.grpc_method);
    let value = STANDARD.encode(b"#cloud-config\npassword: hunter2\n");
    record.describe(
        info,
        &json!({"zone": "fr-par-1", "request_id": "r-1", "server_id": "s-1", "key": "cloud-init", "value": value}),
    );
    assert_eq!(record.zone.as_deref(), Some("fr-par-1"));
    assert_eq!(record.request_id.as_deref(), Some("r-1"));
    assert_eq!(
        record.resource.as_deref(),
        Some("zones/fr-par-1/servers/s-1/user_data/cloud-init")
    );
    assert_eq!(record.user_data_bytes, Some(32));
    assert!(!format!("{record:?}").contains("hunter2"));

    // An action names the server; a create of a server its map of user data by size.
    let info = method("fleet.v1.ServerActions/PowerOnServer").unwrap();
    record.describe(info, &json!({"zone": "fr-par-1", "server_id": "s-2"}));
    assert_eq!(
        record.resource.as_deref(),
        Some("zones/fr-par-1/servers/s-2")
    );
    assert_eq!(record.user_data_bytes, None);
    let info = method("fleet.v1.Servers/CreateServer").unwrap();
    record.describe(
        info,
        &json!({"zone": "fr-par-1", "user_data": {"a": STANDARD.encode(b"12345"), "b": STANDARD.encode(b"678")}}),
    );
    assert_eq!(record.user_data_bytes, Some(8));
    record.started("operations/7");
    assert_eq!(record.resource.as_deref(), Some("operations/7"));
    assert_eq!(record.operation.as_deref(), Some("operations/7"));
}

#[test]
fn a_synchronous_create_names_the_created_resource() {
    let info = method("fleet.v1.Ips/CreateIp").unwrap();
    let request = json!({"zone": "fr-par-1", "project": "p"});
    let mut record = AuditRecord::new(&caller(Role::Operator), &info.grpc_method);
    record.describe(info, &request);
    record.answered(info, &request, || Some(json!({"id": "ip-1"})));
    assert_eq!(record.resource.as_deref(), Some("zones/fr-par-1/ips/ip-1"));
    assert_eq!(record.project.as_deref(), Some("p"));

    // An update names the resource by its path and never asks for the answer.
    let info = method("fleet.v1.Ips/UpdateIp").unwrap();
    let request = json!({"zone": "fr-par-1", "ip": {"id": "ip-2"}});
    record.describe(info, &request);
    record.answered(info, &request, || panic!("an update's answer is not read"));
    assert_eq!(record.resource.as_deref(), Some("zones/fr-par-1/ips/ip-2"));
}

#[test]
fn a_refusal_records_its_code_and_reason() {
    let mut record = AuditRecord::new(&caller(Role::ReadOnly), "fleet.v1.Ips/DeleteIp");
    assert_eq!(record.role, "read_only");
    let status = caller(Role::ReadOnly)
        .require_operator("fleet.v1.Ips/DeleteIp")
        .unwrap_err()
        .to_status();
    record.finish(Err(&status));
    assert_eq!(record.outcome, "PERMISSION_DENIED");
    assert_eq!(record.reason.as_deref(), Some("READ_ONLY_CALLER"));
    record.finish(Ok(()));
    assert_eq!((record.outcome.as_str(), record.reason), ("OK", None));
}

#[test]
fn listing_filters_are_checked() {
    use fleet_proto::v1::ListAuditEventsRequest;
    let ok = service::list_filter(&ListAuditEventsRequest {
        caller: "ops".into(),
        method: "fleet.v1.Servers/DeleteServer".into(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(ok.caller.as_deref(), Some("ops"));
    let err = service::list_filter(&ListAuditEventsRequest {
        method: "fleet.v1.Servers/GetServer".into(),
        start_time: Some(prost_types::Timestamp {
            seconds: 100,
            nanos: 0,
        }),
        end_time: Some(prost_types::Timestamp {
            seconds: 50,
            nanos: 0,
        }),
        ..Default::default()
    })
    .unwrap_err();
    let GatewayError::InvalidArgument(violations) = err else {
        panic!("{err:?}");
    };
    let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["method", "end_time"]);
}
