//! The endpoint table, the proto method options and the descriptor set agree,
//! and every method follows the API conventions (zone, request_id, paging, masks).

use std::collections::{BTreeMap, BTreeSet};

use fleet_proto::descriptor_pool;
use fleet_proto::endpoints::{ACTION_HELPERS, ENDPOINT_METHODS, READ_ONLY_POSTS, markdown_table};
use prost_reflect::{DynamicMessage, Kind, MethodDescriptor, Value};

/// Looks a method up by `package.Service/Method`.
fn method(full: &str) -> Option<MethodDescriptor> {
    let (service, name) = full.split_once('/')?;
    descriptor_pool()
        .get_service_by_name(service)?
        .methods()
        .find(|m| m.name() == name)
}

fn string_field(message: &DynamicMessage, name: &str) -> String {
    match message.get_field_by_name(name).as_deref() {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

/// The `fleet.v1.endpoint` option of a method, if set.
fn endpoint_option(m: &MethodDescriptor) -> Option<DynamicMessage> {
    let ext = descriptor_pool()
        .get_extension_by_name("fleet.v1.endpoint")
        .expect("extension fleet.v1.endpoint");
    let options = m.options();
    if !options.has_extension(&ext) {
        return None;
    }
    options.get_extension(&ext).as_message().cloned()
}

fn has_operation_info(m: &MethodDescriptor) -> bool {
    let ext = descriptor_pool()
        .get_extension_by_name("fleet.v1.operation_info")
        .expect("extension fleet.v1.operation_info");
    m.options().has_extension(&ext)
}

/// The 76 catalog operation names of the Scaleway Instance API v1, as fleet-core's
/// catalog names them (snake_case of the SDK method: 74 generated endpoints plus
/// the single-key user-data GET and PATCH).
const CATALOG: &[&str] = &[
    "list_servers_types",
    "get_server_types_availability",
    "list_volumes_types",
    "list_servers",
    "create_server",
    "get_server",
    "update_server",
    "set_server",
    "delete_server",
    "get_server_compatible_types",
    "list_server_actions",
    "server_action",
    "list_server_user_data",
    "delete_server_user_data",
    "get_server_user_data",
    "set_server_user_data",
    "attach_server_volume",
    "detach_server_volume",
    "attach_server_file_system",
    "detach_server_file_system",
    "list_images",
    "get_image",
    "create_image",
    "update_image",
    "set_image",
    "delete_image",
    "list_snapshots",
    "create_snapshot",
    "get_snapshot",
    "update_snapshot",
    "set_snapshot",
    "delete_snapshot",
    "export_snapshot",
    "list_volumes",
    "create_volume",
    "get_volume",
    "update_volume",
    "delete_volume",
    "plan_block_migration",
    "apply_block_migration",
    "check_block_migration_organization_quotas",
    "list_security_groups",
    "create_security_group",
    "get_security_group",
    "update_security_group",
    "set_security_group",
    "delete_security_group",
    "list_default_security_group_rules",
    "list_security_group_rules",
    "create_security_group_rule",
    "set_security_group_rules",
    "get_security_group_rule",
    "update_security_group_rule",
    "set_security_group_rule",
    "delete_security_group_rule",
    "list_placement_groups",
    "create_placement_group",
    "get_placement_group",
    "set_placement_group",
    "update_placement_group",
    "delete_placement_group",
    "get_placement_group_servers",
    "set_placement_group_servers",
    "update_placement_group_servers",
    "list_ips",
    "create_ip",
    "get_ip",
    "update_ip",
    "delete_ip",
    "release_ip_to_ipam",
    "list_private_nics",
    "create_private_nic",
    "get_private_nic",
    "update_private_nic",
    "delete_private_nic",
    "get_dashboard",
];

/// The Block Storage operations with a gRPC method of their own (the others are
/// reached through the Instance methods, whose worker picks the API).
const BLOCK_METHODS: &[&str] = &[
    "block_update_volume",
    "block_import_snapshot_from_object_storage",
];

#[test]
fn every_catalog_operation_appears_exactly_once() {
    assert_eq!(CATALOG.len(), 76);
    assert_eq!(ENDPOINT_METHODS.len(), 76 + BLOCK_METHODS.len());
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for e in ENDPOINT_METHODS {
        *counts.entry(e.operation).or_default() += 1;
    }
    for name in CATALOG.iter().chain(BLOCK_METHODS) {
        assert_eq!(
            counts.get(name),
            Some(&1),
            "{name} must appear exactly once"
        );
    }
    let catalog: BTreeSet<&str> = CATALOG.iter().chain(BLOCK_METHODS).copied().collect();
    let extra: Vec<&str> = counts
        .keys()
        .filter(|k| !catalog.contains(*k))
        .copied()
        .collect();
    assert!(extra.is_empty(), "not catalog operations: {extra:?}");
    let methods: BTreeSet<&str> = ENDPOINT_METHODS.iter().map(|e| e.grpc_method).collect();
    assert_eq!(
        methods.len(),
        ENDPOINT_METHODS.len(),
        "one gRPC method per endpoint"
    );
    // Instance rows first, in catalog order; the Block rows after them.
    let order: Vec<&str> = ENDPOINT_METHODS.iter().map(|e| e.operation).collect();
    assert_eq!(&order[76..], BLOCK_METHODS);
}

/// fleet-core's catalog (`crates/core/src/catalog.rs`, read as text: fleet-proto
/// does not depend on fleet-core) lists exactly our Instance v1 (operation, method,
/// path) rows, and each of our Block rows; fleet.v1 serves none of its Instance
/// v2alpha1 rows.
/// Its entries look like `ListServers "list_servers" Get "/instance/v1/zones/{zone}/servers"`.
#[test]
fn rows_match_fleet_core_catalog() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../core/src/catalog.rs");
    let Ok(source) = std::fs::read_to_string(path) else {
        eprintln!("fleet-core catalog not found; skipped");
        return;
    };
    let mut core: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut core_block: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut core_v2alpha1: BTreeSet<(String, String, String)> = BTreeSet::new();
    for line in source.lines() {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        if let [_, op, method, path, ..] = tokens[..]
            && op.starts_with('"')
            && ["Get", "Post", "Put", "Patch", "Delete"].contains(&method)
        {
            let row = (
                op.trim_matches('"').to_owned(),
                method.to_uppercase(),
                path.trim_matches('"').to_owned(),
            );
            if path.starts_with("\"/instance/v1/") {
                core.insert(row);
            } else if path.starts_with("\"/instance/v2alpha1/") {
                core_v2alpha1.insert(row);
            } else if path.starts_with("\"/block/") {
                core_block.insert(row);
            }
        }
    }
    assert!(
        !core.is_empty() && !core_block.is_empty() && !core_v2alpha1.is_empty(),
        "no catalog entries parsed from {path}: its format changed"
    );
    let row = |e: &fleet_proto::endpoints::EndpointMethod| {
        (
            e.operation.to_owned(),
            e.http_method.to_owned(),
            e.path.to_owned(),
        )
    };
    let (block, instance): (Vec<_>, Vec<_>) = ENDPOINT_METHODS
        .iter()
        .partition(|e| e.path.starts_with("/block/"));
    let ours: BTreeSet<(String, String, String)> = instance.into_iter().map(row).collect();
    assert!(
        ours.is_disjoint(&core_v2alpha1),
        "fleet.v1 serves no Instance v2alpha1 endpoint"
    );
    let missing: Vec<_> = core.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&core).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "catalog rows we lack: {missing:?}; our rows not in the catalog: {extra:?}"
    );
    for e in block {
        assert!(
            core_block.contains(&row(e)),
            "{} is not a Block row of the catalog",
            e.grpc_method
        );
    }
}

#[test]
fn every_table_method_exists_and_matches_its_options() {
    let operation = descriptor_pool()
        .get_message_by_name("fleet.v1.Operation")
        .expect("fleet.v1.Operation");
    for e in ENDPOINT_METHODS {
        let m = method(e.grpc_method)
            .unwrap_or_else(|| panic!("{} is not in the descriptor set", e.grpc_method));
        let option = endpoint_option(&m)
            .unwrap_or_else(|| panic!("{} has no (fleet.v1.endpoint) option", e.grpc_method));
        assert_eq!(
            string_field(&option, "operation"),
            e.operation,
            "{}",
            e.grpc_method
        );
        assert_eq!(
            string_field(&option, "method"),
            e.http_method,
            "{}",
            e.grpc_method
        );
        assert_eq!(string_field(&option, "path"), e.path, "{}", e.grpc_method);
        assert_eq!(string_field(&option, "action"), "", "{}", e.grpc_method);
        let returns_operation = m.output() == operation;
        assert_eq!(returns_operation, e.returns_operation, "{}", e.grpc_method);
        assert_eq!(
            has_operation_info(&m),
            e.returns_operation,
            "{}",
            e.grpc_method
        );
        assert!(!m.is_client_streaming() && !m.is_server_streaming());
        assert!(
            e.path.starts_with("/instance/v1/zones/{zone}/")
                || e.path.starts_with("/block/v1/zones/{zone}/"),
            "{}",
            e.path
        );
    }
}

#[test]
fn action_helpers_are_long_running_server_actions() {
    let actions: BTreeSet<&str> = ACTION_HELPERS.iter().map(|(a, _)| *a).collect();
    let expected: BTreeSet<&str> = [
        "poweron",
        "poweroff",
        "stop_in_place",
        "reboot",
        "terminate",
        "backup",
        "enable_routed_ip",
    ]
    .into_iter()
    .collect();
    assert_eq!(actions, expected);
    for (action, full) in ACTION_HELPERS {
        let m = method(full).unwrap_or_else(|| panic!("{full} is not in the descriptor set"));
        let option = endpoint_option(&m).expect("endpoint option");
        assert_eq!(string_field(&option, "operation"), "server_action");
        assert_eq!(string_field(&option, "action"), *action);
        assert_eq!(m.output().full_name(), "fleet.v1.Operation");
        assert!(has_operation_info(&m));
    }
}

/// Every public method except those of fleet's own services (Operations, Audit) maps to an
/// endpoint: the table plus the action helpers, nothing else.
#[test]
fn no_public_method_is_unmapped() {
    let mapped: BTreeSet<&str> = ENDPOINT_METHODS
        .iter()
        .map(|e| e.grpc_method)
        .chain(ACTION_HELPERS.iter().map(|(_, m)| *m))
        .collect();
    for service in descriptor_pool().services() {
        if service.package_name() != "fleet.v1"
            || fleet_proto::OWN_SERVICES.contains(&service.full_name())
        {
            continue;
        }
        for m in service.methods() {
            let full = format!("{}/{}", service.full_name(), m.name());
            assert!(
                mapped.contains(full.as_str()),
                "{full} maps to no Scaleway endpoint"
            );
        }
    }
}

fn field_kind(m: &prost_reflect::MessageDescriptor, name: &str) -> Option<Kind> {
    m.get_field_by_name(name).map(|f| f.kind())
}

#[test]
fn requests_follow_the_conventions() {
    let mapped = ENDPOINT_METHODS
        .iter()
        .map(|e| (e.grpc_method, e.http_method, e.operation))
        .chain(
            ACTION_HELPERS
                .iter()
                .map(|(_, m)| (*m, "POST", "server_action")),
        );
    for (full, http, operation) in mapped {
        let m = method(full).expect("method");
        let input = m.input();
        let output = m.output();
        assert_eq!(
            field_kind(&input, "zone"),
            Some(Kind::String),
            "{full}: zone"
        );
        let mutating = http != "GET" && !READ_ONLY_POSTS.contains(&operation);
        assert_eq!(
            field_kind(&input, "request_id") == Some(Kind::String),
            mutating,
            "{full}: request_id on mutating requests only"
        );
        if m.name().starts_with("List") || operation == "get_server_types_availability" {
            assert_eq!(field_kind(&input, "page_size"), Some(Kind::Int32), "{full}");
            assert_eq!(
                field_kind(&input, "page_token"),
                Some(Kind::String),
                "{full}"
            );
            assert_eq!(
                field_kind(&output, "next_page_token"),
                Some(Kind::String),
                "{full}"
            );
            assert_eq!(
                field_kind(&output, "total_size"),
                Some(Kind::Int32),
                "{full}"
            );
        }
        if m.name().starts_with("Update") && !operation.ends_with("_servers") {
            let mask = input.get_field_by_name("update_mask").expect("update_mask");
            assert_eq!(
                mask.kind().as_message().map(|d| d.full_name().to_owned()),
                Some("google.protobuf.FieldMask".to_owned()),
                "{full}"
            );
        }
    }
}

#[test]
fn operations_service_is_complete() {
    let service = descriptor_pool()
        .get_service_by_name("fleet.v1.Operations")
        .expect("Operations");
    let names: BTreeSet<String> = service.methods().map(|m| m.name().to_owned()).collect();
    for name in [
        "GetOperation",
        "ListOperations",
        "CancelOperation",
        "WaitOperation",
        "WatchOperation",
    ] {
        assert!(names.contains(name), "{name}");
    }
    let watch = service
        .methods()
        .find(|m| m.name() == "WatchOperation")
        .expect("Watch");
    assert!(watch.is_server_streaming());
}

/// docs/api.md carries the table rendered from ENDPOINT_METHODS. Run with
/// FLEET_PROTO_BLESS=1 to rewrite it after changing the table.
#[test]
fn docs_table_is_current() {
    const START: &str = "<!-- endpoint-table:start -->\n";
    const END: &str = "<!-- endpoint-table:end -->";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api.md");
    let doc = std::fs::read_to_string(path).expect("docs/api.md");
    let start = doc.find(START).expect("start marker") + START.len();
    let end = doc.find(END).expect("end marker");
    let table = markdown_table();
    if std::env::var_os("FLEET_PROTO_BLESS").is_some() {
        let updated = format!("{}{}{}", &doc[..start], table, &doc[end..]);
        std::fs::write(path, updated).expect("write docs/api.md");
        return;
    }
    assert_eq!(
        &doc[start..end],
        table,
        "docs/api.md is stale: run with FLEET_PROTO_BLESS=1"
    );
}
