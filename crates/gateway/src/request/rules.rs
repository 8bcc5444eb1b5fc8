//! Validation of public requests before anything leaves the gateway.
//!
//! Rules are keyed by field name (Scaleway names one thing the same way everywhere: a
//! `*_id`, `project` or `security_group` string is a UUID; `name` has one alphabet) plus a
//! short table of required fields and enumerations per request message. Every failure
//! names the proto field (`volumes.0.size`, `server.name`) and says what would be valid;
//! all failures of a request are reported at once.

// Each rule reads "field matches → check its value"; folding the checks into match guards
// would hide which rule fired.
#![allow(clippy::collapsible_match)]

use std::net::IpAddr;
use std::str::FromStr;

use fleet_core::block;
use fleet_core::{
    Arch, AttachServerVolumeRequestVolumeType, BootType, IpType, ListServersRequestOrder,
    PlacementGroupPolicyMode, PlacementGroupPolicyType, SecurityGroupPolicy,
    SecurityGroupRuleAction, SecurityGroupRuleDirection, SecurityGroupRuleProtocol, ServerAction,
    ServerState, SnapshotVolumeType, VolumeVolumeType, Zone,
};
use serde_json::{Map, Value};

use crate::errors::{GatewayError, Violation};
use crate::operations::PUBLIC_STATES;
use crate::request::methods::MethodInfo;

/// String fields (top level or in a resource) that hold UUIDs.
const UUID_FIELDS: &[&str] = &[
    "server_id",
    "volume_id",
    "snapshot_id",
    "image_id",
    "security_group_id",
    "security_group_rule_id",
    "placement_group_id",
    "private_nic_id",
    "ip_id",
    "filesystem_id",
    "private_network_id",
    "base_volume_id",
    "base_snapshot",
    "root_volume",
    "organization",
    "project",
    "security_group",
    "placement_group",
    "server",
    "servers",
    "public_ip",
    "public_ips",
    "ip_ids",
    "ipam_ip_ids",
    "private_network",
    "private_networks",
    "admin_password_encryption_ssh_key_id",
];

/// The documented wire values of a fleet-core enum (its `KNOWN` list), less the `unknown_*`
/// zero value, which names no choice.
macro_rules! values_of {
    ($enum:ident) => {
        || -> Vec<&'static str> {
            $enum::KNOWN
                .iter()
                .map($enum::as_str)
                .filter(|v| !v.starts_with("unknown_"))
                .collect()
        }
    };
}

/// Allowed values of enumerated string fields, by (request message, field); `*` = any message.
/// The values are those of the fleet-core type of the field in the Scaleway request.
type Values = fn() -> Vec<&'static str>;
const ENUMS: &[(&str, &str, Values)] = &[
    ("ServerActionRequest", "action", values_of!(ServerAction)),
    (
        "CreateSecurityGroupRuleRequest",
        "action",
        values_of!(SecurityGroupRuleAction),
    ),
    (
        "SecurityGroupRule",
        "action",
        values_of!(SecurityGroupRuleAction),
    ),
    (
        "SetSecurityGroupRulesRule",
        "action",
        values_of!(SecurityGroupRuleAction),
    ),
    ("*", "protocol", values_of!(SecurityGroupRuleProtocol)),
    ("*", "direction", values_of!(SecurityGroupRuleDirection)),
    (
        "*",
        "inbound_default_policy",
        values_of!(SecurityGroupPolicy),
    ),
    (
        "*",
        "outbound_default_policy",
        values_of!(SecurityGroupPolicy),
    ),
    ("*", "boot_type", values_of!(BootType)),
    ("*", "arch", values_of!(Arch)),
    ("*", "policy_mode", values_of!(PlacementGroupPolicyMode)),
    ("*", "policy_type", values_of!(PlacementGroupPolicyType)),
    ("CreateIpRequest", "type", values_of!(IpType)),
    ("ListIpsRequest", "type", values_of!(IpType)),
    ("Ip", "type", values_of!(IpType)),
    (
        "AttachServerVolumeRequest",
        "volume_type",
        values_of!(AttachServerVolumeRequestVolumeType),
    ),
    (
        "CreateVolumeRequest",
        "volume_type",
        values_of!(VolumeVolumeType),
    ),
    (
        "ListVolumesRequest",
        "volume_type",
        values_of!(VolumeVolumeType),
    ),
    (
        "CreateSnapshotRequest",
        "volume_type",
        values_of!(SnapshotVolumeType),
    ),
    (
        "VolumeServerTemplate",
        "volume_type",
        values_of!(VolumeVolumeType),
    ),
    (
        "ListServersRequest",
        "order",
        values_of!(ListServersRequestOrder),
    ),
    ("ListServersRequest", "state", values_of!(ServerState)),
    ("ListOperationsRequest", "state", || PUBLIC_STATES.to_vec()),
];

/// Fields a request message must set.
const REQUIRED: &[(&str, &[&str])] = &[
    ("CreateServerRequest", &["commercial_type"]),
    ("ServerActionRequest", &["action"]),
    ("AttachServerVolumeRequest", &["volume_id"]),
    ("DetachServerVolumeRequest", &["volume_id"]),
    ("AttachServerFileSystemRequest", &["filesystem_id"]),
    ("DetachServerFileSystemRequest", &["filesystem_id"]),
    ("CreateImageRequest", &["root_volume", "arch"]),
    ("ExportSnapshotRequest", &["bucket", "key"]),
    ("ImportSnapshotRequest", &["bucket", "key", "name"]),
    ("CreatePrivateNicRequest", &["private_network_id"]),
    ("CreateSecurityGroupRequest", &["name"]),
    (
        "CreateSecurityGroupRuleRequest",
        &["protocol", "direction", "action", "ip_range"],
    ),
    ("GetServerUserDataRequest", &["key"]),
    ("SetServerUserDataRequest", &["key"]),
    ("DeleteServerUserDataRequest", &["key"]),
    (
        "CheckBlockMigrationOrganizationQuotasRequest",
        &["organization"],
    ),
];

/// One gibibyte... Scaleway sizes are decimal: volumes come in whole gigabytes.
const GB: u64 = 1_000_000_000;

/// Collects violations.
#[derive(Default)]
struct Check {
    violations: Vec<Violation>,
}

impl Check {
    fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.violations.push(Violation::new(field, description));
    }
}

/// Validates `request` (the JSON of the public request of `info`).
pub fn validate(info: &MethodInfo, request: &Value) -> Result<(), GatewayError> {
    let Value::Object(fields) = request else {
        return Err(GatewayError::Internal(
            "request is not a json object".into(),
        ));
    };
    let mut check = Check::default();
    let message = info.input.name();

    match fields.get("zone").and_then(Value::as_str).unwrap_or("") {
        "" => check.add("zone", "required: a zone such as fr-par-1"),
        "all" if info.fans_out() => {}
        "all" => check.add(
            "zone",
            "\"all\" is only accepted by List methods over zonal collections; name one zone",
        ),
        zone => {
            if let Err(err) = Zone::from_str(zone) {
                check.add("zone", err.to_string());
            }
        }
    }
    if let Some(id) = fields.get("request_id").and_then(Value::as_str)
        && !id.is_empty()
        && uuid::Uuid::parse_str(id).is_err()
    {
        check.add("request_id", format!("must be a UUID; got {id:?}"));
    }
    if let Some(size) = fields.get("page_size").and_then(Value::as_i64)
        && size < 0
    {
        check.add(
            "page_size",
            format!("must be 0 (default 50) or positive; got {size}"),
        );
    }

    fields_rules(&mut check, message, "", fields);
    required(&mut check, message, fields);
    special(&mut check, info, message, fields);

    if check.violations.is_empty() {
        Ok(())
    } else {
        Err(GatewayError::InvalidArgument(check.violations))
    }
}

fn is_set(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    }
}

fn required(check: &mut Check, message: &str, fields: &Map<String, Value>) {
    for (msg, names) in REQUIRED {
        if *msg == message {
            for name in *names {
                if !is_set(fields.get(*name)) {
                    check.add(*name, "required");
                }
            }
        }
    }
}

/// Field-name rules, applied to the request and to its resource / template messages.
fn fields_rules(check: &mut Check, message: &str, prefix: &str, fields: &Map<String, Value>) {
    for (name, value) in fields {
        let path = format!("{prefix}{name}");
        if name == "id" && !prefix.is_empty() {
            if let Some(id) = value.as_str()
                && !id.is_empty()
                && uuid::Uuid::parse_str(id).is_err()
            {
                check.add(path.clone(), format!("must be a UUID; got {id:?}"));
            }
            continue;
        }
        if UUID_FIELDS.contains(&name.as_str()) {
            uuid_values(check, &path, value);
        }
        if let Some(allowed) = enum_values(message, name)
            && let Some(v) = value.as_str()
            && !v.is_empty()
            && !allowed.contains(&v)
        {
            check.add(
                path.clone(),
                format!("must be one of {}; got {v:?}", allowed.join(", ")),
            );
        }
        match (name.as_str(), value) {
            ("name", Value::String(n)) if !n.is_empty() => name_rule(check, &path, n),
            ("tags", Value::Array(tags)) => {
                for (i, tag) in tags.iter().enumerate() {
                    let tag = tag.as_str().unwrap_or("");
                    if tag.is_empty()
                        || tag.len() > 128
                        || tag.chars().any(|c| c.is_control() || is_invisible(c))
                    {
                        check.add(
                            format!("{path}.{i}"),
                            "must be 1 to 128 printable characters",
                        );
                    }
                }
            }
            // In resources and templates size is a plain field: 0 means "not given".
            ("size", Value::Number(n)) if prefix.is_empty() || n.as_u64() != Some(0) => {
                size_rule(check, &path, n.as_u64())
            }
            ("perf_iops", Value::Number(n)) => perf_iops_rule(check, &path, n),
            ("dest_port_from" | "dest_port_to", Value::Number(n)) => {
                if !(1..=65535).contains(&n.as_u64().unwrap_or(0)) {
                    check.add(
                        path.clone(),
                        format!("must be a port from 1 to 65535; got {n}"),
                    );
                }
            }
            ("ip_range", Value::String(r)) if !r.is_empty() => {
                if !is_cidr(r) {
                    check.add(
                        path.clone(),
                        format!("must be an IP network such as 10.0.0.0/8; got {r:?}"),
                    );
                }
            }
            ("commercial_type", Value::String(t)) if !t.is_empty() => {
                if !t
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
                    || t.len() > 64
                {
                    check.add(
                        path.clone(),
                        format!("must be a commercial type such as DEV1-S; got {t:?}"),
                    );
                }
            }
            ("key", Value::String(k)) if message.contains("UserData") => {
                if k.is_empty()
                    || k.len() > 64
                    || !k
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                {
                    check.add(
                        path.clone(),
                        format!("must be 1 to 64 of a-z, 0-9, '-', '_', '.'; got {k:?}"),
                    );
                }
            }
            ("bucket", Value::String(b)) if !b.is_empty() => bucket_rule(check, &path, b),
            ("image", Value::String(i)) if !i.is_empty() && message == "CreateServerRequest" => {
                if uuid::Uuid::parse_str(i).is_err()
                    && !i
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    check.add(
                        path.clone(),
                        format!("must be an image UUID or a label such as ubuntu_noble; got {i:?}"),
                    );
                }
            }
            ("volumes" | "extra_volumes", Value::Object(map)) => {
                for (key, template) in map {
                    if let Value::Object(template) = template {
                        let inner = if name == "volumes" && message == "CreateServerRequest" {
                            "VolumeServerTemplate"
                        } else {
                            "VolumeTemplate"
                        };
                        fields_rules(check, inner, &format!("{path}.{key}."), template);
                    }
                }
            }
            ("rules", Value::Array(rules)) => {
                for (i, rule) in rules.iter().enumerate() {
                    if let Value::Object(rule) = rule {
                        fields_rules(
                            check,
                            "SetSecurityGroupRulesRule",
                            &format!("{path}.{i}."),
                            rule,
                        );
                    }
                }
            }
            (_, Value::Object(object)) if prefix.is_empty() && is_resource(name) => {
                let inner = resource_message(name);
                fields_rules(check, inner, &format!("{path}."), object);
            }
            _ => {}
        }
    }
    if let (Some(from), Some(to)) = (
        fields.get("dest_port_from").and_then(Value::as_u64),
        fields.get("dest_port_to").and_then(Value::as_u64),
    ) && from > to
    {
        check.add(
            format!("{prefix}dest_port_to"),
            format!("must not be below dest_port_from ({from}); got {to}"),
        );
    }
}

/// Invisible format characters (zero-width, bidi overrides and isolates, BOM) that make a
/// value display differently from what it is.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}'
    )
}

fn is_resource(name: &str) -> bool {
    matches!(
        name,
        "server"
            | "image"
            | "snapshot"
            | "volume"
            | "security_group"
            | "rule"
            | "placement_group"
            | "ip"
            | "private_nic"
    )
}

fn resource_message(name: &str) -> &'static str {
    match name {
        "rule" => "SecurityGroupRule",
        "ip" => "Ip",
        _ => "Resource",
    }
}

fn enum_values(message: &str, field: &str) -> Option<Vec<&'static str>> {
    ENUMS
        .iter()
        .find(|(m, f, _)| *m == message && *f == field)
        .or_else(|| ENUMS.iter().find(|(m, f, _)| *m == "*" && *f == field))
        .map(|(_, _, values)| values())
}

fn uuid_values(check: &mut Check, path: &str, value: &Value) {
    match value {
        Value::String(s) if !s.is_empty() => {
            if uuid::Uuid::parse_str(s).is_err() {
                check.add(path, format!("must be a UUID; got {s:?}"));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if let Some(s) = item.as_str()
                    && uuid::Uuid::parse_str(s).is_err()
                {
                    check.add(format!("{path}.{i}"), format!("must be a UUID; got {s:?}"));
                }
            }
        }
        _ => {}
    }
}

/// Names: alphanumerics, dots, spaces, dashes and underscores, 1 to 255 characters.
fn name_rule(check: &mut Check, path: &str, name: &str) {
    let ok = name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ' ' | '-' | '_'))
        && !name.starts_with(' ')
        && !name.ends_with(' ');
    if !ok {
        check.add(
            path,
            format!(
                "must be 1 to 255 of letters, digits, '.', '-', '_' and inner spaces; got {name:?}"
            ),
        );
    }
}

fn size_rule(check: &mut Check, path: &str, size: Option<u64>) {
    match size {
        Some(0) | None => check.add(path, "must be a positive number of bytes"),
        Some(s) if s % GB != 0 => check.add(
            path,
            format!("must be a whole number of gigabytes (a multiple of {GB} bytes); got {s}"),
        ),
        Some(_) => {}
    }
}

/// Object Storage bucket names: 3 to 63 of a-z, 0-9, '-', '.'.
fn bucket_rule(check: &mut Check, path: &str, bucket: &str) {
    if bucket.len() < 3
        || bucket.len() > 63
        || !bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'))
    {
        check.add(
            path,
            format!("must be an object storage bucket name (3 to 63 of a-z, 0-9, '-', '.'); got {bucket:?}"),
        );
    }
}

/// SBS IOPS: the values of the Block volume types (5000 for sbs_5k, 15000 for sbs_15k).
fn perf_iops_rule(check: &mut Check, path: &str, value: &serde_json::Number) {
    let allowed: Vec<u32> = block::VolumeType::KNOWN
        .iter()
        .filter_map(block::VolumeType::perf_iops)
        .collect();
    let known = value
        .as_u64()
        .and_then(|v| u32::try_from(v).ok())
        .is_some_and(|v| allowed.contains(&v));
    if !known {
        let allowed: Vec<String> = allowed.iter().map(u32::to_string).collect();
        check.add(
            path,
            format!("must be one of {}; got {value}", allowed.join(", ")),
        );
    }
}

/// SBS volume sizes: 5 GB to 10 TB (whole gigabytes are [`size_rule`]'s).
fn block_size_rule(check: &mut Check, fields: &Map<String, Value>) {
    if let Some(size) = fields.get("size").and_then(Value::as_u64)
        && !(block::MIN_VOLUME_SIZE..=block::MAX_VOLUME_SIZE).contains(&size)
    {
        check.add(
            "size",
            format!(
                "an SBS volume is {} to {} bytes (5 GB to 10 TB); got {size}",
                block::MIN_VOLUME_SIZE,
                block::MAX_VOLUME_SIZE
            ),
        );
    }
}

fn is_cidr(range: &str) -> bool {
    let (addr, prefix) = range.split_once('/').unwrap_or((range, ""));
    let Ok(ip) = IpAddr::from_str(addr) else {
        return false;
    };
    if prefix.is_empty() {
        return true;
    }
    let max = if ip.is_ipv4() { 32 } else { 128 };
    prefix.parse::<u8>().is_ok_and(|p| p <= max)
}

/// Rules that involve several fields.
fn special(check: &mut Check, info: &MethodInfo, message: &str, fields: &Map<String, Value>) {
    let set = |name: &str| is_set(fields.get(name));
    match message {
        "CreateServerRequest" => {
            let has_root = fields.get("volumes").and_then(|v| v.get("0")).is_some();
            if !set("image") && !has_root {
                check.add(
                    "image",
                    "required unless volumes[\"0\"] gives the root volume",
                );
            }
        }
        "CreateSnapshotRequest" => {
            let importing = set("bucket") && set("key");
            if !(set("volume_id") || importing) {
                check.add("volume_id", "required unless importing from bucket and key");
            }
        }
        "CreateVolumeRequest" => {
            match (set("size"), set("base_snapshot")) {
                (false, false) => check.add("size", "required unless base_snapshot is given"),
                (true, true) => check.add(
                    "base_snapshot",
                    "give either size or base_snapshot, not both",
                ),
                _ => {}
            }
            let sbs = VolumeVolumeType::SbsVolume.as_str();
            match fields.get("volume_type").and_then(Value::as_str) {
                Some(other) if set("perf_iops") && !other.is_empty() && other != sbs => check.add(
                    "perf_iops",
                    format!("is for SBS volumes (volume_type {sbs}); got volume_type {other:?}"),
                ),
                Some(t) if t == sbs => block_size_rule(check, fields),
                _ if set("perf_iops") => block_size_rule(check, fields),
                _ => {}
            }
        }
        "ResizeVolumeRequest" => {
            if !set("size") && !set("perf_iops") {
                check.add(
                    "size",
                    "required unless perf_iops is given: the new size or IOPS",
                );
            }
            block_size_rule(check, fields);
        }
        "PlanBlockMigrationRequest" | "ApplyBlockMigrationRequest" => {
            match (set("volume_id"), set("snapshot_id")) {
                (false, false) => check.add("volume_id", "required: give volume_id or snapshot_id"),
                (true, true) => check.add(
                    "snapshot_id",
                    "give either volume_id or snapshot_id, not both",
                ),
                _ => {}
            }
        }
        _ => {}
    }
    // Get/Delete by IP accept an address as well as an id.
    if let Some(ip) = fields.get("ip").and_then(Value::as_str)
        && !ip.is_empty()
        && uuid::Uuid::parse_str(ip).is_err()
        && IpAddr::from_str(ip).is_err()
    {
        check.add(
            "ip",
            format!("must be an IP id (UUID) or address; got {ip:?}"),
        );
    }
    // Path parameters given as strings must be present.
    for param in info.endpoint.param_names().filter(|p| *p != "zone") {
        if let Some(Value::String(s)) = fields.get(param)
            && s.is_empty()
            && !check.violations.iter().any(|v| v.field == param)
        {
            check.add(param, "required: names the resource");
        }
    }
}

#[cfg(test)]
mod tests {
    use fleet_proto::json::to_json;
    use fleet_proto::v1;

    use super::*;
    use crate::request::methods::method;

    fn fields_of(err: GatewayError) -> Vec<String> {
        match err {
            GatewayError::InvalidArgument(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_valid_request_passes() {
        let info = method("fleet.v1.Servers/CreateServer").unwrap();
        let req = to_json(&v1::CreateServerRequest {
            zone: "fr-par-1".into(),
            name: "web-1".into(),
            commercial_type: "DEV1-S".into(),
            image: Some("ubuntu_noble".into()),
            ..Default::default()
        });
        validate(info, &req).unwrap();
    }

    #[test]
    fn failures_name_their_fields() {
        let info = method("fleet.v1.Servers/CreateServer").unwrap();
        let req = to_json(&v1::CreateServerRequest {
            zone: "mars-1".into(),
            request_id: "nope".into(),
            name: "bad/name".into(),
            commercial_type: String::new(),
            ..Default::default()
        });
        let fields = fields_of(validate(info, &req).unwrap_err());
        for f in ["zone", "request_id", "name", "commercial_type", "image"] {
            assert!(fields.iter().any(|x| x == f), "{f} missing in {fields:?}");
        }
    }

    #[test]
    fn all_zones_only_on_fan_out_lists() {
        let list = method("fleet.v1.Servers/ListServers").unwrap();
        validate(
            list,
            &to_json(&v1::ListServersRequest {
                zone: "all".into(),
                ..Default::default()
            }),
        )
        .unwrap();
        let get = method("fleet.v1.Servers/GetServer").unwrap();
        let err = validate(
            get,
            &to_json(&v1::GetServerRequest {
                zone: "all".into(),
                server_id: uuid::Uuid::new_v4().to_string(),
            }),
        )
        .unwrap_err();
        assert_eq!(fields_of(err), ["zone"]);
    }
}
