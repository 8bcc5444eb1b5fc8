//! The method table: what the descriptors (`fleet.v1.endpoint` and `fleet.v1.operation_info`
//! options) say about every public method, read once from `fleet_proto::descriptor_pool`.

use std::collections::HashMap;
use std::sync::OnceLock;

use fleet_core::catalog::{Endpoint, Operation};
use prost_reflect::MessageDescriptor;

use crate::errors::GatewayError;

/// What the descriptors say about one public method.
#[derive(Debug, Clone)]
pub struct MethodInfo {
    /// `fleet.v1.Servers/GetServer`.
    pub grpc_method: String,
    /// The catalog endpoint.
    pub endpoint: &'static Endpoint,
    /// Fixed action of typed server-action helpers.
    pub action: Option<String>,
    /// Returns an Operation.
    pub long_running: bool,
    /// Fully qualified response type of a long-running method.
    pub response_type: Option<String>,
    /// Changes something (needs an operator, takes a request_id).
    pub mutating: bool,
    pub input: MessageDescriptor,
    pub output: MessageDescriptor,
}

impl MethodInfo {
    /// The catalog operation name.
    pub fn operation(&self) -> &'static str {
        self.endpoint.operation.name()
    }

    /// A List method (takes `page_size`).
    pub fn is_list(&self) -> bool {
        self.input.get_field_by_name("page_size").is_some()
    }

    /// A list over a zonal collection that accepts `zone = "all"`.
    pub fn fans_out(&self) -> bool {
        self.output.get_field_by_name("unreachable").is_some()
    }
}

/// Every public method that maps to a Scaleway endpoint, by `package.Service/Method`.
pub fn methods() -> &'static HashMap<String, MethodInfo> {
    static METHODS: OnceLock<HashMap<String, MethodInfo>> = OnceLock::new();
    METHODS.get_or_init(|| {
        let pool = fleet_proto::descriptor_pool();
        let mut out = HashMap::new();
        let (Some(endpoint_ext), Some(op_ext)) = (
            pool.get_extension_by_name("fleet.v1.endpoint"),
            pool.get_extension_by_name("fleet.v1.operation_info"),
        ) else {
            return out;
        };
        for service in pool.services() {
            if service.package_name() != "fleet.v1" {
                continue;
            }
            for method in service.methods() {
                let options = method.options();
                if !options.has_extension(&endpoint_ext) {
                    continue;
                }
                let ext = options.get_extension(&endpoint_ext);
                let Some(ext) = ext.as_message() else {
                    continue;
                };
                let get = |name: &str| -> String {
                    ext.get_field_by_name(name)
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                };
                let Some(operation) = Operation::from_name(&get("operation")) else {
                    continue;
                };
                let endpoint = operation.endpoint();
                let long_running = options.has_extension(&op_ext);
                let response_type = long_running
                    .then(|| {
                        options
                            .get_extension(&op_ext)
                            .as_message()
                            .and_then(|m| m.get_field_by_name("response_type"))
                            .and_then(|v| v.as_str().map(str::to_owned))
                    })
                    .flatten();
                let action = Some(get("action")).filter(|a| !a.is_empty());
                let mutating = endpoint.method != fleet_core::Method::Get
                    && !fleet_proto::endpoints::READ_ONLY_POSTS.contains(&operation.name());
                let grpc_method = format!("{}/{}", service.full_name(), method.name());
                out.insert(
                    grpc_method.clone(),
                    MethodInfo {
                        grpc_method,
                        endpoint,
                        action,
                        long_running,
                        response_type,
                        mutating,
                        input: method.input(),
                        output: method.output(),
                    },
                );
            }
        }
        out
    })
}

/// The method's info, or INTERNAL when the descriptors lack it (a build inconsistency).
pub fn method(grpc_method: &str) -> Result<&'static MethodInfo, GatewayError> {
    methods()
        .get(grpc_method)
        .ok_or_else(|| GatewayError::Internal(format!("no endpoint for {grpc_method}")))
}

/// The fully qualified response type of an operation (`Operation.response`): the
/// `operation_info.response_type` option of the method that started it, when recorded, else
/// of the long-running methods whose catalog operation the job kind names (a synchronous
/// method's record: its output type). `kind` is [`fleet_jobs::JobSpec::kind`]: mostly the catalog operation with, for server
/// actions, the action after a dot (`server_action.poweron`); `block_import_snapshot` is the
/// job of `block_import_snapshot_from_object_storage`, which only its method's record names.
pub fn response_type(method: Option<&str>, kind: &str) -> Option<&'static str> {
    if let Some(info) = method.and_then(|m| methods().get(m)) {
        if let Some(found) = info.response_type.as_deref() {
            return Some(found);
        }
        // A job recorded under a synchronous method (a batch's tag or type change, under
        // UpdateServer) answers what that method answers.
        if !info.long_running {
            return Some(info.output.full_name());
        }
    }
    let operation = kind.split('.').next().unwrap_or(kind);
    methods()
        .values()
        .filter(|info| info.long_running && info.operation() == operation)
        .find_map(|info| info.response_type.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_kind_has_the_response_type_of_its_methods() {
        let expected = [
            ("create_server", "fleet.v1.Server"),
            ("server_action.poweron", "fleet.v1.ServerActionResult"),
            ("server_action.backup", "fleet.v1.ServerActionResult"),
            ("delete_server", "fleet.v1.DeleteServerResult"),
            ("attach_server_volume", "fleet.v1.Server"),
            ("detach_server_volume", "fleet.v1.Server"),
            ("attach_server_file_system", "fleet.v1.Server"),
            ("detach_server_file_system", "fleet.v1.Server"),
            ("create_snapshot", "fleet.v1.Snapshot"),
            ("export_snapshot", "fleet.v1.ExportSnapshotResult"),
            ("create_image", "fleet.v1.Image"),
            ("create_volume", "fleet.v1.Volume"),
            ("create_private_nic", "fleet.v1.PrivateNic"),
            ("apply_block_migration", "fleet.v1.MigrationPlan"),
            ("block_update_volume", "fleet.v1.Volume"),
        ];
        for (kind, response) in expected {
            assert_eq!(response_type(None, kind), Some(response), "{kind}");
        }
        // The import's kind is not its operation's name: its method's record gives the type.
        assert_eq!(response_type(None, "block_import_snapshot"), None);
        assert_eq!(
            response_type(
                Some("fleet.v1.Snapshots/ImportSnapshot"),
                "block_import_snapshot"
            ),
            Some("fleet.v1.Snapshot")
        );
        // Every method that starts the same kind of job answers with the same type.
        for info in methods().values().filter(|i| i.long_running) {
            assert_eq!(
                info.response_type.as_deref(),
                response_type(None, info.operation()),
                "{}",
                info.grpc_method
            );
        }
    }
}
