//! The gateway's checks of a request, from its wire bytes, without a database, a worker or a
//! caller: decode → JSON → [`validate`] → [`prepare`] (the fleet-core request) → the job of a
//! long-running call or the page token of a List: [`rules::validate`](super::rules::validate)
//! and [`plan`](super::plan), the functions [`crate::call`] runs on every call (and the
//! Operations checks of [`crate::operations::service`], the Batches checks of
//! [`crate::batches::service::check_create`] and the Policies checks of
//! [`crate::policies::service`]).
//!
//! Why it exists: fuzzing and property tests need one entry point that runs everything the
//! gateway does to a request before it reaches Postgres or a worker, to prove that no input
//! panics and that every refusal is INVALID_ARGUMENT naming a field (promise 6). What it
//! leaves out needs a caller or state: the read-only and project checks, request_id records,
//! and the lookups of operations and resources.

use fleet_proto::v1;
use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions};
use tonic::Status;

use super::rules::validate;
use super::{methods, not_json, plan};
use crate::audit::service::list_filter as audit_filter;
use crate::errors::{GatewayError, clip};
use crate::operations::parse_name;
use crate::operations::service::{list_filter, wait_timeout};
use crate::paging::{PageToken, page_size};

/// The `fleet.v1` methods [`check_request`] knows: every endpoint method and the Operations,
/// Audit, Batches and Policies services, as `fleet.v1.Service/Method`.
pub fn method_names() -> Vec<String> {
    let mut names: Vec<String> = fleet_proto::descriptor_pool()
        .services()
        .filter(|s| s.package_name() == "fleet.v1")
        .flat_map(|s| {
            s.methods()
                .map(|m| format!("{}/{}", s.full_name(), m.name()))
                .collect::<Vec<_>>()
        })
        .collect();
    names.sort();
    names
}

/// The request message of `fleet.v1.Service/Method`.
pub fn input_of(method: &str) -> Option<MessageDescriptor> {
    let (service, name) = method.split_once('/')?;
    let service = fleet_proto::descriptor_pool().get_service_by_name(service)?;
    let found = service.methods().find(|m| m.name() == name)?;
    Some(found.input())
}

/// Runs the gateway's checks on the encoded request `bytes` of `method`
/// (`fleet.v1.Servers/CreateServer`). `Ok` means the request would go on to the caller
/// checks and then to Postgres or the zone's worker; `Err` is the status the gateway answers.
///
/// Bytes that are not a protobuf message of the method's request type are answered
/// INVALID_ARGUMENT with a BadRequest naming the field the decoder stopped at (see
/// [`decode_failure`]), as the server does for a body that does not decode.
pub fn check_request(method: &str, bytes: &[u8]) -> Result<(), Status> {
    let Some(input) = input_of(method) else {
        return Err(Status::unimplemented(format!("unknown method {method}")));
    };
    let message = DynamicMessage::decode(input.clone(), bytes).map_err(|err| {
        // The typed decoder the server uses names the field; the dynamic one does not, so
        // find it by decoding field by field.
        let field = locate_decode_error(&input, bytes, 0);
        invalid_body(&input, field, &err.to_string())
    })?;
    check_message(method, &message).map_err(|err| err.to_status())
}

/// [`check_request`] from a decoded message.
pub fn check_message(method: &str, message: &DynamicMessage) -> Result<(), GatewayError> {
    if let Some(name) = method.strip_prefix("fleet.v1.Operations/") {
        // The Operations service reads its typed request; no JSON is involved.
        return check_operations(name, message);
    }
    if let Some(name) = method.strip_prefix("fleet.v1.Batches/") {
        return check_batches(name, message);
    }
    if let Some(name) = method.strip_prefix("fleet.v1.Policies/") {
        return check_policies(name, message);
    }
    if method == "fleet.v1.Audit/ListAuditEvents" {
        let request: v1::ListAuditEventsRequest = typed(message)?;
        check_page(request.page_size, &request.page_token)?;
        audit_filter(&request)?;
        return Ok(());
    }
    let json = message
        .serialize_with_options(serde_json::value::Serializer, &serialize_options())
        .map_err(|err| not_json(&err.to_string()))?;
    let info = methods::method(method)?;
    validate(info, &json)?;
    plan(info, &json)?;
    Ok(())
}

/// A page size and a page token whose filter hash depends on the caller: only the token's
/// shape is checked here.
fn check_page(size: i32, token: &str) -> Result<(), GatewayError> {
    page_size(size)?;
    if !token.is_empty() {
        PageToken::decode_shape(token)?;
    }
    Ok(())
}

/// The checks of the Batches service that need no caller and no database.
fn check_batches(name: &str, message: &DynamicMessage) -> Result<(), GatewayError> {
    match name {
        "CreateBatch" => {
            crate::batches::service::check_create(&typed(message)?)?;
            Ok(())
        }
        "GetBatch" | "PauseBatch" | "ResumeBatch" | "CancelBatch" => {
            let name = message
                .get_field_by_name("name")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            crate::batches::parse_batch_name(&name)?;
            Ok(())
        }
        "ListBatches" => {
            let request: v1::ListBatchesRequest = typed(message)?;
            check_page(request.page_size, &request.page_token)
        }
        other => Err(GatewayError::Internal(format!(
            "no checks for fleet.v1.Batches/{other}"
        ))),
    }
}

/// The checks of the Policies service that need no caller and no database.
fn check_policies(name: &str, message: &DynamicMessage) -> Result<(), GatewayError> {
    use crate::policies::service::{check_create, check_run, check_update};
    match name {
        "CreatePolicy" => check_create(&typed(message)?).map(|_| ()),
        "UpdatePolicy" => check_update(&typed(message)?).map(|_| ()),
        "RunPolicy" => check_run(&typed(message)?).map(|_| ()),
        "GetPolicy" | "DeletePolicy" | "PausePolicy" | "ResumePolicy" => {
            let name = message
                .get_field_by_name("name")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            crate::policies::parse_policy_name(&name)?;
            Ok(())
        }
        "ListPolicies" => {
            let request: v1::ListPoliciesRequest = typed(message)?;
            check_page(request.page_size, &request.page_token)
        }
        "ListPolicyRuns" => {
            let request: v1::ListPolicyRunsRequest = typed(message)?;
            crate::policies::parse_policy_name(&request.name)?;
            check_page(request.page_size, &request.page_token)
        }
        other => Err(GatewayError::Internal(format!(
            "no checks for fleet.v1.Policies/{other}"
        ))),
    }
}

/// The checks of the Operations service that need no caller and no database.
fn check_operations(name: &str, message: &DynamicMessage) -> Result<(), GatewayError> {
    let text = |field: &str| -> String {
        message
            .get_field_by_name(field)
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    match name {
        "GetOperation" | "CancelOperation" | "WatchOperation" => {
            parse_name(&text("name"))?;
            Ok(())
        }
        "WaitOperation" => {
            parse_name(&text("name"))?;
            wait_timeout(&typed(message)?)?;
            Ok(())
        }
        "ListOperations" => {
            let request: v1::ListOperationsRequest = typed(message)?;
            page_size(request.page_size)?;
            list_filter(&request)?;
            // The token's filter hash includes the caller; only its shape is checked here.
            if !request.page_token.is_empty() {
                PageToken::decode_shape(&request.page_token)?;
            }
            Ok(())
        }
        other => Err(GatewayError::Internal(format!(
            "no checks for fleet.v1.Operations/{other}"
        ))),
    }
}

/// The typed request of a dynamic message (both come from the same descriptors).
fn typed<T: prost::Message + Default>(message: &DynamicMessage) -> Result<T, GatewayError> {
    message
        .transcode_to::<T>()
        .map_err(|err| GatewayError::Internal(format!("request does not transcode: {err}")))
}

/// The status of a request body that does not decode as `input`: INVALID_ARGUMENT with a
/// BadRequest naming the field the decoder names (`SetServerUserDataRequest.key: invalid
/// string value: data is not UTF-8 encoded` → `key`), or `request` when it names none.
/// `message` is the decoder's text, possibly prefixed by tonic's "failed to decode Protobuf
/// message: ".
pub fn decode_failure(input: &MessageDescriptor, message: &str) -> Status {
    let detail = message
        .strip_prefix("failed to decode Protobuf message: ")
        .unwrap_or(message);
    invalid_body(input, decode_error_field(input, detail), detail)
}

fn invalid_body(input: &MessageDescriptor, field: Option<String>, detail: &str) -> Status {
    let field = field.unwrap_or_else(|| "request".to_owned());
    GatewayError::invalid(
        field,
        format!(
            "the request is not a valid {} message: {}",
            input.name(),
            clip(detail, 200)
        ),
    )
    .to_status()
}

/// The field path in a prost decode error: its parts are `Message.field: ` pairs, outermost
/// last (`Inner.name: Outer.inner: invalid string value`).
fn decode_error_field(input: &MessageDescriptor, detail: &str) -> Option<String> {
    let mut path: Vec<String> = detail
        .split(": ")
        .filter_map(|part| {
            let (message, field) = part.rsplit_once('.')?;
            let ok = !message.is_empty()
                && !field.is_empty()
                && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && message
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            ok.then(|| field.to_owned())
        })
        .collect();
    path.reverse();
    let first = path.first()?;
    input.get_field_by_name(first)?;
    Some(path.join("."))
}

/// The path of the first field of `bytes` that does not decode as `input` (`inner.name`),
/// or `None` when the framing itself is broken (then the whole request is at fault).
fn locate_decode_error(input: &MessageDescriptor, bytes: &[u8], depth: usize) -> Option<String> {
    use prost::encoding::decode_varint;
    if depth > 32 {
        return None;
    }
    let mut rest = bytes;
    while !rest.is_empty() {
        let start = rest;
        let key = decode_varint(&mut rest).ok()?;
        let number = u32::try_from(key >> 3).ok()?;
        let payload: &[u8] = match key & 7 {
            0 => {
                decode_varint(&mut rest).ok()?;
                &[]
            }
            1 => {
                rest = rest.get(8..)?;
                &[]
            }
            2 => {
                let len = usize::try_from(decode_varint(&mut rest).ok()?).ok()?;
                let payload = rest.get(..len)?;
                rest = &rest[len..];
                payload
            }
            5 => {
                rest = rest.get(4..)?;
                &[]
            }
            _ => return None,
        };
        let record = &start[..start.len() - rest.len()];
        if DynamicMessage::decode(input.clone(), record).is_ok() {
            continue;
        }
        let field = input.get_field(number)?;
        if let prost_reflect::Kind::Message(inner) = field.kind()
            && !field.is_map()
            && let Some(deeper) = locate_decode_error(&inner, payload, depth + 1)
        {
            return Some(format!("{}.{deeper}", field.name()));
        }
        return Some(field.name().to_owned());
    }
    None
}

/// The options of `fleet_proto::json` (proto field names, numbers as numbers, defaults
/// written), so the JSON is the one the server validates.
fn serialize_options() -> SerializeOptions {
    SerializeOptions::new()
        .use_proto_field_name(true)
        .stringify_64_bit_integers(false)
        .skip_default_fields(false)
}

#[cfg(test)]
mod tests {
    use fleet_proto::v1;
    use prost::Message as _;
    use tonic::Code;
    use tonic_types::StatusExt as _;

    use super::*;
    use crate::paging::filter_hash;
    use serde_json::Value;

    fn fields(status: &Status) -> Vec<String> {
        status
            .get_error_details()
            .bad_request()
            .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn every_public_method_is_known() {
        let names = method_names();
        assert!(names.len() >= 88, "{}", names.len());
        for name in &names {
            assert!(input_of(name).is_some(), "{name}");
        }
    }

    #[test]
    fn a_valid_create_passes_and_an_invalid_one_names_its_fields() {
        let ok = v1::CreateServerRequest {
            zone: "fr-par-1".into(),
            name: "web-1".into(),
            commercial_type: "DEV1-S".into(),
            image: Some("ubuntu_noble".into()),
            ..Default::default()
        };
        check_request("fleet.v1.Servers/CreateServer", &ok.encode_to_vec()).unwrap();
        let bad = v1::CreateServerRequest {
            name: "a/../b".into(),
            ..ok
        };
        let status =
            check_request("fleet.v1.Servers/CreateServer", &bad.encode_to_vec()).unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(fields(&status), ["name"]);
    }

    #[test]
    fn undecodable_bytes_name_the_field() {
        // Field 2 (key) of SetServerUserDataRequest with invalid UTF-8.
        let mut bytes = v1::SetServerUserDataRequest {
            zone: "fr-par-1".into(),
            ..Default::default()
        }
        .encode_to_vec();
        let input = input_of("fleet.v1.UserData/SetServerUserData").unwrap();
        let number = input.get_field_by_name("key").unwrap().number();
        bytes.push(((number << 3) | 2) as u8);
        bytes.extend([2, 0xff, 0xfe]);
        let status = check_request("fleet.v1.UserData/SetServerUserData", &bytes).unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(fields(&status), ["key"]);
        let status = check_request("fleet.v1.Servers/GetServer", &[0xff]).unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(fields(&status), ["request"]);
    }

    #[test]
    fn forged_page_tokens_are_refused() {
        use base64::Engine as _;
        let list = |token: String| v1::ListServersRequest {
            zone: "fr-par-1".into(),
            page_token: token,
            ..Default::default()
        };
        let hash = filter_hash(
            "fleet.v1.Servers/ListServers",
            &fleet_proto::json::to_json(&list(String::new()))
                .as_object()
                .map(|m| {
                    let mut m = m.clone();
                    m.remove("page_size");
                    m.remove("page_token");
                    Value::Object(m)
                })
                .unwrap(),
        );
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!(r#"{{"o":18446744073709551615,"h":"{hash}"}}"#));
        let status = check_request(
            "fleet.v1.Servers/ListServers",
            &list(forged).encode_to_vec(),
        )
        .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(fields(&status), ["page_token"]);
    }
}
