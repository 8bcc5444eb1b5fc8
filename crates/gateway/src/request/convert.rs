//! The one generic conversion between public proto requests/responses and the fleet-core
//! request a worker performs, driven by the descriptors and the `fleet.v1.endpoint` options.
//!
//! Why generic: 85 methods share a handful of shapes, and the protos already say everything
//! needed (the endpoint's method, path template and, for typed helpers, the fixed action).
//! A request becomes JSON through `fleet_proto::json`, then:
//! * fleet-only fields (`zone`, `request_id`, paging, `update_mask`, and the operation
//!   options such as `start` or `stop_first`) are taken out;
//! * each path parameter of the template comes from the request field of the same name
//!   (a string, or the `id` of a message field), or else from the `id` of the request's
//!   single resource message (`UpdateServerRequest.server.id` for `{server_id}`);
//! * GET/DELETE: what remains is the query; POST/PUT/PATCH: the body, which is the resource
//!   message itself for Replace (whole) and Update (only the `update_mask` fields) methods;
//! * a Block body names the project `project_id`;
//! * the body is checked against the fleet-core request type of the catalog before it leaves.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fleet_core::Operation;
use fleet_core::catalog::{Api, Endpoint};
use prost_reflect::{Kind, MessageDescriptor};
use serde_json::{Map, Value};

use crate::errors::{GatewayError, Violation};
use crate::request::methods::MethodInfo;

/// Request fields that never go upstream.
pub const FLEET_ONLY: &[&str] = &[
    "zone",
    "request_id",
    "page_size",
    "page_token",
    "update_mask",
];

/// Fields of long-running requests that steer the job rather than the upstream call, by the
/// operation whose job reads them (`perf_iops` of CreateVolume picks the Block API; the
/// `perf_iops` of ResizeVolume is part of its Block PATCH body).
const JOB_OPTIONS: &[(Operation, &[&str])] = &[
    (Operation::CreateServer, &["start", "user_data"]),
    (
        Operation::DeleteServer,
        &["stop_first", "delete_volumes", "delete_ips"],
    ),
    (Operation::AttachServerVolume, &["stop_if_needed"]),
    (Operation::DetachServerVolume, &["stop_if_needed"]),
    (Operation::CreateVolume, &["perf_iops"]),
];

/// The job options of a long-running operation's request.
pub fn job_options(operation: Operation) -> &'static [&'static str] {
    JOB_OPTIONS
        .iter()
        .find(|(op, _)| *op == operation)
        .map_or(&[], |(_, fields)| *fields)
}

/// Public request fields a Block body names otherwise (Block names the owner project
/// `project_id`; the public API says `project` everywhere).
const BLOCK_BODY_KEYS: &[(&str, &str)] = &[("project", "project_id")];

/// A call ready for `ZoneCalls.Invoke`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prepared {
    pub path_params: BTreeMap<String, String>,
    pub query: Vec<(String, String)>,
    /// JSON body (fleet-core request), when the endpoint takes one.
    pub body: Option<Value>,
    /// Raw body (user-data values).
    pub raw_body: Option<Vec<u8>>,
}

impl Prepared {
    /// Body bytes and content type for the wire.
    pub fn wire_body(&self) -> (Vec<u8>, &'static str) {
        if let Some(raw) = &self.raw_body {
            return (raw.clone(), "text/plain");
        }
        match &self.body {
            Some(body) => (
                serde_json::to_vec(body).unwrap_or_default(),
                "application/json",
            ),
            None => (Vec::new(), ""),
        }
    }
}

/// Builds the upstream call of `info` from the request JSON. `page` adds `page`/`per_page`.
pub fn prepare(
    info: &MethodInfo,
    request: &Value,
    page: Option<(u64, u64)>,
) -> Result<Prepared, GatewayError> {
    let Value::Object(fields) = request else {
        return Err(GatewayError::Internal(
            "request is not a json object".into(),
        ));
    };
    let endpoint = info.endpoint;
    let mut remaining: Map<String, Value> = fields
        .iter()
        .filter(|(k, _)| !FLEET_ONLY.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if info.long_running {
        let options = job_options(endpoint.operation);
        remaining.retain(|k, _| !options.contains(&k.as_str()));
    }

    let mut prepared = Prepared::default();
    let mut violations = Vec::new();
    for param in endpoint.param_names().filter(|p| *p != "zone") {
        let (field, value) = path_param(info, fields, param);
        if let Some(field) = info.input.get_field_by_name(param)
            && !matches!(field.kind(), Kind::Message(_))
        {
            remaining.remove(param);
        }
        match value {
            Some(v) if !v.is_empty() => {
                prepared.path_params.insert(param.to_owned(), v);
            }
            _ => violations.push(Violation::new(field, "required: names the resource")),
        }
    }
    if !violations.is_empty() {
        return Err(GatewayError::InvalidArgument(violations));
    }

    match endpoint.method {
        fleet_core::Method::Get | fleet_core::Method::Delete => {
            prepared.query = query_pairs(&remaining);
            if let Some((page, per_page)) = page
                && endpoint.is_paginated()
            {
                prepared.query.push(("page".into(), page.to_string()));
                prepared.query.push((
                    endpoint.api().page_size_param().into(),
                    per_page.to_string(),
                ));
            }
        }
        _ => {
            if endpoint.request.kind() == fleet_core::catalog::BodyKind::TextPlain {
                let value = remaining.get("value").and_then(Value::as_str).unwrap_or("");
                let raw = STANDARD
                    .decode(value)
                    .map_err(|_| GatewayError::invalid("value", "is not valid bytes"))?;
                prepared.raw_body = Some(raw);
            } else {
                let mut body = body_of(info, remaining, fields)?;
                // Typed action helpers call the generic action endpoint with a fixed action.
                if let (Some(action), Value::Object(map)) = (&info.action, &mut body) {
                    map.insert("action".into(), Value::String(action.clone()));
                }
                if let (Api::Block, Value::Object(map)) = (endpoint.api(), &mut body) {
                    for (public, block) in BLOCK_BODY_KEYS {
                        if let Some(value) = map.remove(*public) {
                            map.insert((*block).to_owned(), value);
                        }
                    }
                }
                check_body(endpoint, &body)?;
                prepared.body = Some(body);
            }
        }
    }
    Ok(prepared)
}

/// The field a path parameter comes from and its value.
fn path_param(
    info: &MethodInfo,
    fields: &Map<String, Value>,
    param: &str,
) -> (String, Option<String>) {
    if let Some(field) = info.input.get_field_by_name(param) {
        return match field.kind() {
            Kind::Message(_) => (
                format!("{param}.id"),
                fields
                    .get(param)
                    .and_then(|m| m.get("id"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            ),
            _ => (
                param.to_owned(),
                fields.get(param).and_then(Value::as_str).map(str::to_owned),
            ),
        };
    }
    match resource_field(&info.input) {
        Some(resource) => (
            format!("{resource}.id"),
            fields
                .get(&resource)
                .and_then(|m| m.get("id"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        ),
        None => (param.to_owned(), None),
    }
}

/// The request's resource message field (`server` of UpdateServerRequest), if any.
pub fn resource_field(input: &MessageDescriptor) -> Option<String> {
    let mut found = input.fields().filter(|f| {
        !f.is_list()
            && !f.is_map()
            && matches!(f.kind(), Kind::Message(m) if m.package_name() == "fleet.v1")
    });
    let first = found.next()?;
    found.next().is_none().then(|| first.name().to_owned())
}

/// The body of a POST/PUT/PATCH.
fn body_of(
    info: &MethodInfo,
    mut remaining: Map<String, Value>,
    fields: &Map<String, Value>,
) -> Result<Value, GatewayError> {
    let method = info.endpoint.method;
    let replace_or_update = matches!(method, fleet_core::Method::Put | fleet_core::Method::Patch);
    if replace_or_update
        && let Some(resource) = resource_field(&info.input)
        && remaining.len() == 1
        && remaining.contains_key(&resource)
    {
        let Some(Value::Object(mut object)) = remaining.remove(&resource) else {
            return Err(GatewayError::invalid(resource, "required: the new values"));
        };
        if method == fleet_core::Method::Put {
            object.remove("id");
            return Ok(Value::Object(object));
        }
        let mask = fields
            .get("update_mask")
            .and_then(Value::as_str)
            .map(parse_mask)
            .unwrap_or_default();
        return masked_body(info, &resource, object, &mask);
    }
    remaining.retain(|_, v| !matches!(v, Value::String(s) if s.is_empty()));
    Ok(Value::Object(remaining))
}

/// `"bootType,tags"` (FieldMask JSON) → `["boot_type", "tags"]`.
pub fn parse_mask(mask: &str) -> Vec<String> {
    mask.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut out = String::with_capacity(p.len() + 4);
            for c in p.chars() {
                if c.is_ascii_uppercase() {
                    out.push('_');
                    out.push(c.to_ascii_lowercase());
                } else {
                    out.push(c);
                }
            }
            out
        })
        .collect()
}

/// Update-mask paths each Update method accepts (relative to the resource), from the protos'
/// comments.
pub fn update_allowlist(grpc_method: &str) -> &'static [&'static str] {
    match grpc_method {
        "fleet.v1.Servers/UpdateServer" => &[
            "name",
            "boot_type",
            "tags",
            "volumes",
            "dynamic_ip_required",
            "routed_ip_enabled",
            "public_ips",
            "enable_ipv6",
            "protected",
            "security_group",
            "placement_group",
            "private_nics",
            "commercial_type",
            "admin_password_encryption_ssh_key_id",
        ],
        "fleet.v1.Images/UpdateImage" => &["name", "arch", "extra_volumes", "tags", "public"],
        "fleet.v1.Snapshots/UpdateSnapshot" => &["name", "tags"],
        "fleet.v1.Volumes/UpdateVolume" => &["name", "tags", "size"],
        "fleet.v1.SecurityGroups/UpdateSecurityGroup" => &[
            "name",
            "description",
            "enable_default_security",
            "inbound_default_policy",
            "outbound_default_policy",
            "tags",
            "organization_default",
            "project_default",
            "stateful",
        ],
        "fleet.v1.SecurityGroups/UpdateSecurityGroupRule" => &[
            "protocol",
            "direction",
            "action",
            "ip_range",
            "dest_port_from",
            "dest_port_to",
            "position",
        ],
        "fleet.v1.PlacementGroups/UpdatePlacementGroup" => {
            &["name", "tags", "policy_mode", "policy_type"]
        }
        "fleet.v1.Ips/UpdateIp" => &["reverse", "type", "tags", "server"],
        "fleet.v1.PrivateNics/UpdatePrivateNic" => &["tags"],
        _ => &[],
    }
}

/// The PATCH body: the masked fields of the resource, references reduced to ids.
fn masked_body(
    info: &MethodInfo,
    resource: &str,
    object: Map<String, Value>,
    mask: &[String],
) -> Result<Value, GatewayError> {
    let allowed = update_allowlist(&info.grpc_method);
    let paths: Vec<String> = if mask.is_empty() || mask.iter().any(|p| p == "*") {
        allowed
            .iter()
            .filter(|p| object.get(**p).is_some_and(populated) || mask.iter().any(|m| m == "*"))
            .map(|p| (*p).to_owned())
            .collect()
    } else {
        let bad: Vec<Violation> = mask
            .iter()
            .filter(|p| !allowed.contains(&p.as_str()))
            .map(|p| {
                Violation::new(
                    "update_mask",
                    format!(
                        "path {p:?} cannot be updated; allowed: {}",
                        allowed.join(", ")
                    ),
                )
            })
            .collect();
        if !bad.is_empty() {
            return Err(GatewayError::InvalidArgument(bad));
        }
        mask.to_vec()
    };
    if paths.is_empty() {
        return Err(GatewayError::invalid(
            "update_mask",
            format!(
                "nothing to update: set {resource} fields or list them in update_mask (allowed: {})",
                allowed.join(", ")
            ),
        ));
    }
    let mut body = Map::new();
    for path in paths {
        let value = object.get(&path).cloned().unwrap_or(Value::Null);
        body.insert(path.clone(), reference(&path, value));
    }
    Ok(Value::Object(body))
}

/// Whether a JSON value differs from its proto default.
fn populated(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Reference fields of resources are sent as ids in PATCH bodies.
fn reference(path: &str, value: Value) -> Value {
    let id_of = |v: &Value| v.get("id").cloned().unwrap_or(Value::Null);
    match (path, value) {
        ("public_ips" | "private_nics", Value::Array(items)) => {
            Value::Array(items.iter().map(id_of).collect())
        }
        ("placement_group" | "server", v @ Value::Object(_)) => id_of(&v),
        ("security_group", v @ Value::Object(_)) => serde_json::json!({ "id": id_of(&v) }),
        // A server's volumes keep what the update body accepts for each: `volume_type`
        // (`sbs_volume` names a Block volume) and `boot` matter to the attach.
        ("volumes", Value::Object(map)) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, volume_template(v)))
                .collect(),
        ),
        ("extra_volumes", Value::Object(map)) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, serde_json::json!({ "id": id_of(&v) })))
                .collect(),
        ),
        (_, v) => v,
    }
}

/// A `Server.volumes` entry reduced to the fields of `fleet.v1.VolumeServerTemplate`, the
/// proto twin of the upstream update body's volume (read from the descriptor, so the two
/// cannot drift); read-only fields (`state`, `server`, `zone`, dates) are dropped.
fn volume_template(volume: Value) -> Value {
    let Value::Object(fields) = volume else {
        return volume;
    };
    let Some(template) =
        fleet_proto::descriptor_pool().get_message_by_name("fleet.v1.VolumeServerTemplate")
    else {
        return Value::Object(fields);
    };
    Value::Object(
        fields
            .into_iter()
            .filter(|(k, _)| template.get_field_by_name(k).is_some())
            .collect(),
    )
}

/// Query pairs from the remaining fields (empty values skipped, lists comma-joined).
pub(crate) fn query_pairs(fields: &Map<String, Value>) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (key, value) in fields {
        let text = match value {
            Value::Null => continue,
            Value::String(s) if s.is_empty() => continue,
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Array(items) if items.is_empty() => continue,
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(","),
            Value::Object(_) => continue,
        };
        pairs.push((key.clone(), text));
    }
    pairs
}

/// Checks the body against the fleet-core request type of the endpoint.
fn check_body(endpoint: &Endpoint, body: &Value) -> Result<(), GatewayError> {
    if let Some(ty) = endpoint.request.json_type()
        && let Err(err) = ty.reencode(body)
    {
        return Err(GatewayError::InvalidArgument(vec![Violation::new(
            field_of_serde_error(&err.to_string()),
            format!("does not fit {}: {err}", ty.name),
        )]));
    }
    Ok(())
}

/// Best effort: the field a serde error names (`unknown variant ... at "x"` has none).
fn field_of_serde_error(message: &str) -> String {
    message
        .split('`')
        .nth(1)
        .filter(|s| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or("request")
        .to_owned()
}

/// The JSON of the method's response message from Scaleway's answer body.
pub fn response_json(
    info: &MethodInfo,
    body: &[u8],
    content_type: &str,
    request: &Value,
) -> Result<Value, GatewayError> {
    let output = &info.output;
    if output.full_name() == "google.protobuf.Empty" {
        return Ok(Value::Object(Map::new()));
    }
    if info.endpoint.response.kind() == fleet_core::catalog::BodyKind::TextPlain {
        return Ok(serde_json::json!({
            "key": request.get("key").cloned().unwrap_or(Value::Null),
            "value": STANDARD.encode(body),
            "content_type": if content_type.is_empty() { "text/plain" } else { content_type },
        }));
    }
    let value: Value = if body.is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body).map_err(|err| {
            GatewayError::Internal(format!(
                "upstream answer of {} is not json: {err}",
                info.operation()
            ))
        })?
    };
    Ok(unwrap_envelope(output, value))
}

/// `{"server": {...}}` → `{...}` when the output message is the resource itself.
pub fn unwrap_envelope(output: &MessageDescriptor, value: Value) -> Value {
    match value {
        Value::Object(object) => {
            if object.keys().any(|k| output.get_field_by_name(k).is_some()) || object.len() != 1 {
                return Value::Object(object);
            }
            match object.into_iter().next() {
                Some((_, inner @ Value::Object(_))) => inner,
                Some((k, v)) => {
                    let mut m = Map::new();
                    m.insert(k, v);
                    Value::Object(m)
                }
                None => Value::Object(Map::new()),
            }
        }
        other => other,
    }
}

/// A dynamic message of `descriptor` from JSON (unknown keys ignored).
pub fn dynamic_from_json(
    descriptor: &MessageDescriptor,
    value: Value,
) -> Result<prost_reflect::DynamicMessage, GatewayError> {
    prost_reflect::DynamicMessage::deserialize_with_options(
        descriptor.clone(),
        value,
        &prost_reflect::DeserializeOptions::new().deny_unknown_fields(false),
    )
    .map_err(|err| {
        GatewayError::Internal(format!(
            "answer does not fit {}: {err}",
            descriptor.full_name()
        ))
    })
}

#[cfg(test)]
mod tests {
    use fleet_proto::json::to_json;
    use fleet_proto::v1;

    use super::*;
    use crate::request::methods::{method, methods};

    #[test]
    fn every_endpoint_method_is_known() {
        let m = methods();
        for e in fleet_proto::endpoints::ENDPOINT_METHODS {
            let info = m
                .get(e.grpc_method)
                .unwrap_or_else(|| panic!("{}", e.grpc_method));
            assert_eq!(info.operation(), e.operation);
            assert_eq!(info.long_running, e.returns_operation, "{}", e.grpc_method);
        }
        for (action, method) in fleet_proto::endpoints::ACTION_HELPERS {
            assert_eq!(m[*method].action.as_deref(), Some(*action));
            assert!(m[*method].long_running);
        }
        assert_eq!(m.len(), 85);
    }

    #[test]
    fn get_uses_path_params_and_no_body() {
        let info = method("fleet.v1.Servers/GetServer").unwrap();
        let req = to_json(&v1::GetServerRequest {
            zone: "fr-par-1".into(),
            server_id: "abc".into(),
        });
        let p = prepare(info, &req, None).unwrap();
        assert_eq!(p.path_params["server_id"], "abc");
        assert!(p.query.is_empty() && p.body.is_none());
    }

    #[test]
    fn list_filters_become_query() {
        let info = method("fleet.v1.Servers/ListServers").unwrap();
        let req = to_json(&v1::ListServersRequest {
            zone: "fr-par-1".into(),
            name: Some("web".into()),
            tags: vec!["a".into(), "b".into()],
            page_size: 10,
            ..Default::default()
        });
        let p = prepare(info, &req, Some((2, 100))).unwrap();
        assert!(p.query.contains(&("name".into(), "web".into())));
        assert!(p.query.contains(&("tags".into(), "a,b".into())));
        assert!(p.query.contains(&("page".into(), "2".into())));
        assert!(!p.query.iter().any(|(k, _)| k == "page_size" || k == "zone"));
    }

    #[test]
    fn update_sends_masked_fields_with_references_as_ids() {
        let info = method("fleet.v1.Servers/UpdateServer").unwrap();
        let req = to_json(&v1::UpdateServerRequest {
            zone: "fr-par-1".into(),
            request_id: String::new(),
            server: Some(v1::Server {
                id: "s1".into(),
                name: "new".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["name".into(), "placement_group".into()],
            }),
        });
        let p = prepare(info, &req, None).unwrap();
        assert_eq!(p.path_params["server_id"], "s1");
        assert_eq!(
            p.body.unwrap(),
            serde_json::json!({"name": "new", "placement_group": null})
        );

        let bad = to_json(&v1::UpdateServerRequest {
            zone: "fr-par-1".into(),
            request_id: String::new(),
            server: Some(v1::Server {
                id: "s1".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["state".into()],
            }),
        });
        let err = prepare(info, &bad, None).unwrap_err();
        assert!(err.to_string().contains("update_mask"), "{err}");
    }

    #[test]
    fn update_volumes_keep_the_template_fields() {
        let info = method("fleet.v1.Servers/UpdateServer").unwrap();
        let root = v1::VolumeServer {
            id: "root".into(),
            name: Some("root-vol".into()),
            size: Some(20_000_000_000),
            volume_type: "l_ssd".into(),
            state: Some("available".into()),
            zone: "fr-par-1".into(),
            boot: true,
            ..Default::default()
        };
        let sbs = v1::VolumeServer {
            id: "sbs".into(),
            volume_type: "sbs_volume".into(),
            creation_date: Some("2026-01-01T00:00:00Z".into()),
            ..Default::default()
        };
        let req = to_json(&v1::UpdateServerRequest {
            zone: "fr-par-1".into(),
            request_id: String::new(),
            server: Some(v1::Server {
                id: "s1".into(),
                volumes: [("0".to_owned(), root), ("1".to_owned(), sbs)].into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["volumes".into()],
            }),
        });
        let p = prepare(info, &req, None).unwrap();
        assert_eq!(
            p.body.unwrap(),
            serde_json::json!({"volumes": {
                "0": {"id": "root", "name": "root-vol", "size": 20_000_000_000_u64,
                      "volume_type": "l_ssd", "boot": true},
                "1": {"id": "sbs", "volume_type": "sbs_volume", "boot": false},
            }})
        );
    }

    #[test]
    fn ip_path_param_comes_from_the_resource_message() {
        let info = method("fleet.v1.Ips/UpdateIp").unwrap();
        let req = to_json(&v1::UpdateIpRequest {
            zone: "fr-par-1".into(),
            ip: Some(v1::Ip {
                id: "ip1".into(),
                tags: vec!["x".into()],
                ..Default::default()
            }),
            ..Default::default()
        });
        let p = prepare(info, &req, None).unwrap();
        assert_eq!(p.path_params["ip"], "ip1");
        assert_eq!(p.body.unwrap(), serde_json::json!({"tags": ["x"]}));
    }

    #[test]
    fn envelopes_are_unwrapped_only_for_resources() {
        let server = method("fleet.v1.Servers/GetServer").unwrap();
        let v = unwrap_envelope(&server.output, serde_json::json!({"server": {"id": "a"}}));
        assert_eq!(v, serde_json::json!({"id": "a"}));
        let types = method("fleet.v1.Servers/GetServerCompatibleTypes").unwrap();
        let v = unwrap_envelope(
            &types.output,
            serde_json::json!({"compatible_types": ["a"]}),
        );
        assert_eq!(v, serde_json::json!({"compatible_types": ["a"]}));
    }

    #[test]
    fn masks_parse_from_json_form() {
        assert_eq!(parse_mask("bootType,tags"), vec!["boot_type", "tags"]);
    }
}
