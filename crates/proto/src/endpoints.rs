//! Which gRPC method stands for each Scaleway endpoint.
//!
//! [`ENDPOINT_METHODS`] has one row per Instance operation of the fleet-core
//! catalog (all 76: the 74 generated endpoints plus the single-key user-data GET
//! and PATCH), then one per Block Storage operation that has a method of its own
//! (resize and import; the other Block endpoints are reached through the Instance
//! methods, whose worker picks the API holding the volume or snapshot). The
//! same facts are written in the protos as the `fleet.v1.endpoint` and
//! `fleet.v1.operation_info` method options; tests keep both in agreement, and
//! `docs/api.md` carries the table rendered by [`markdown_table`].
//!
//! The typed server-action helpers (PowerOnServer, …) call the `server_action`
//! endpoint with a fixed action; they are listed in [`ACTION_HELPERS`].

/// One Scaleway endpoint and the gRPC method that serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointMethod {
    /// fleet-core catalog operation name, e.g. `"get_server"`.
    pub operation: &'static str,
    /// HTTP method of the endpoint.
    pub http_method: &'static str,
    /// Path template of the endpoint.
    pub path: &'static str,
    /// Fully qualified gRPC method, `package.Service/Method`.
    pub grpc_method: &'static str,
    /// True when the method returns `fleet.v1.Operation`.
    pub returns_operation: bool,
}

/// Every Instance catalog operation, in catalog order, then the Block operations
/// with a method of their own, each with its gRPC method.
pub const ENDPOINT_METHODS: &[EndpointMethod] = &[
    EndpointMethod {
        operation: "list_servers_types",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/products/servers",
        grpc_method: "fleet.v1.Products/ListServerTypes",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "get_server_types_availability",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/products/servers/availability",
        grpc_method: "fleet.v1.Products/GetServerTypesAvailability",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "list_volumes_types",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/products/volumes",
        grpc_method: "fleet.v1.Products/ListVolumeTypes",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "get_dashboard",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/dashboard",
        grpc_method: "fleet.v1.Dashboards/GetDashboard",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "list_servers",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/servers",
        grpc_method: "fleet.v1.Servers/ListServers",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "get_server",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/servers/{server_id}",
        grpc_method: "fleet.v1.Servers/GetServer",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "create_server",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/servers",
        grpc_method: "fleet.v1.Servers/CreateServer",
        returns_operation: true,
    },
    EndpointMethod {
        operation: "update_server",
        http_method: "PATCH",
        path: "/instance/v1/zones/{zone}/servers/{server_id}",
        grpc_method: "fleet.v1.Servers/UpdateServer",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "set_server",
        http_method: "PUT",
        path: "/instance/v1/zones/{zone}/servers/{id}",
        grpc_method: "fleet.v1.Servers/ReplaceServer",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "delete_server",
        http_method: "DELETE",
        path: "/instance/v1/zones/{zone}/servers/{server_id}",
        grpc_method: "fleet.v1.Servers/DeleteServer",
        returns_operation: true,
    },
    EndpointMethod {
        operation: "get_server_compatible_types",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/servers/{server_id}/compatible-types",
        grpc_method: "fleet.v1.Servers/GetServerCompatibleTypes",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "attach_server_volume",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/servers/{server_id}/attach-volume",
        grpc_method: "fleet.v1.Servers/AttachServerVolume",
        returns_operation: true,
    },
    EndpointMethod {
        operation: "detach_server_volume",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/servers/{server_id}/detach-volume",
        grpc_method: "fleet.v1.Servers/DetachServerVolume",
        returns_operation: true,
    },
    EndpointMethod {
        operation: "attach_server_file_system",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/servers/{server_id}/attach-filesystem",
        grpc_method: "fleet.v1.Servers/AttachServerFileSystem",
        returns_operation: true,
    },
    EndpointMethod {
        operation: "detach_server_file_system",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/servers/{server_id}/detach-filesystem",
        grpc_method: "fleet.v1.Servers/DetachServerFileSystem",
        returns_operation: true,
    },
    EndpointMethod {
        operation: "list_server_actions",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/servers/{server_id}/action",
        grpc_method: "fleet.v1.ServerActions/ListServerActions",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "server_action",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/servers/{server_id}/action",
        grpc_method: "fleet.v1.ServerActions/ServerAction",
        returns_operation: true,
    },
    EndpointMethod {
        operation: "list_server_user_data",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/servers/{server_id}/user_data",
        grpc_method: "fleet.v1.UserData/ListServerUserData",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "get_server_user_data",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/servers/{server_id}/user_data/{key}",
        grpc_method: "fleet.v1.UserData/GetServerUserData",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "set_server_user_data",
        http_method: "PATCH",
        path: "/instance/v1/zones/{zone}/servers/{server_id}/user_data/{key}",
        grpc_method: "fleet.v1.UserData/SetServerUserData",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "delete_server_user_data",
        http_method: "DELETE",
        path: "/instance/v1/zones/{zone}/servers/{server_id}/user_data/{key}",
        grpc_method: "fleet.v1.UserData/DeleteServerUserData",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "list_images",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/images",
        grpc_method: "fleet.v1.Images/ListImages",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "get_image",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/images/{image_id}",
        grpc_method: "fleet.v1.Images/GetImage",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "create_image",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/images",
        grpc_method: "fleet.v1.Images/CreateImage",
        returns_operation: true,
    },
    EndpointMethod {
        operation: "update_image",
        http_method: "PATCH",
        path: "/instance/v1/zones/{zone}/images/{image_id}",
        grpc_method: "fleet.v1.Images/UpdateImage",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "set_image",
        http_method: "PUT",
        path: "/instance/v1/zones/{zone}/images/{id}",
        grpc_method: "fleet.v1.Images/ReplaceImage",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "delete_image",
        http_method: "DELETE",
        path: "/instance/v1/zones/{zone}/images/{image_id}",
        grpc_method: "fleet.v1.Images/DeleteImage",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "list_snapshots",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/snapshots",
        grpc_method: "fleet.v1.Snapshots/ListSnapshots",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "get_snapshot",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/snapshots/{snapshot_id}",
        grpc_method: "fleet.v1.Snapshots/GetSnapshot",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "create_snapshot",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/snapshots",
        grpc_method: "fleet.v1.Snapshots/CreateSnapshot",
        returns_operation: true,
    },
    EndpointMethod {
        operation: "update_snapshot",
        http_method: "PATCH",
        path: "/instance/v1/zones/{zone}/snapshots/{snapshot_id}",
        grpc_method: "fleet.v1.Snapshots/UpdateSnapshot",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "set_snapshot",
        http_method: "PUT",
        path: "/instance/v1/zones/{zone}/snapshots/{snapshot_id}",
        grpc_method: "fleet.v1.Snapshots/ReplaceSnapshot",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "delete_snapshot",
        http_method: "DELETE",
        path: "/instance/v1/zones/{zone}/snapshots/{snapshot_id}",
        grpc_method: "fleet.v1.Snapshots/DeleteSnapshot",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "export_snapshot",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/snapshots/{snapshot_id}/export",
        grpc_method: "fleet.v1.Snapshots/ExportSnapshot",
        returns_operation: true,
    },
    EndpointMethod {
        operation: "list_volumes",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/volumes",
        grpc_method: "fleet.v1.Volumes/ListVolumes",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "get_volume",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/volumes/{volume_id}",
        grpc_method: "fleet.v1.Volumes/GetVolume",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "create_volume",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/volumes",
        grpc_method: "fleet.v1.Volumes/CreateVolume",
        returns_operation: true,
    },
    EndpointMethod {
        operation: "update_volume",
        http_method: "PATCH",
        path: "/instance/v1/zones/{zone}/volumes/{volume_id}",
        grpc_method: "fleet.v1.Volumes/UpdateVolume",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "delete_volume",
        http_method: "DELETE",
        path: "/instance/v1/zones/{zone}/volumes/{volume_id}",
        grpc_method: "fleet.v1.Volumes/DeleteVolume",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "plan_block_migration",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/block-migration/plan",
        grpc_method: "fleet.v1.BlockMigration/PlanBlockMigration",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "apply_block_migration",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/block-migration/apply",
        grpc_method: "fleet.v1.BlockMigration/ApplyBlockMigration",
        returns_operation: true,
    },
    EndpointMethod {
        operation: "check_block_migration_organization_quotas",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/block-migration/check-organization-quotas",
        grpc_method: "fleet.v1.BlockMigration/CheckBlockMigrationOrganizationQuotas",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "list_security_groups",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/security_groups",
        grpc_method: "fleet.v1.SecurityGroups/ListSecurityGroups",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "create_security_group",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/security_groups",
        grpc_method: "fleet.v1.SecurityGroups/CreateSecurityGroup",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "get_security_group",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/security_groups/{security_group_id}",
        grpc_method: "fleet.v1.SecurityGroups/GetSecurityGroup",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "update_security_group",
        http_method: "PATCH",
        path: "/instance/v1/zones/{zone}/security_groups/{security_group_id}",
        grpc_method: "fleet.v1.SecurityGroups/UpdateSecurityGroup",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "set_security_group",
        http_method: "PUT",
        path: "/instance/v1/zones/{zone}/security_groups/{id}",
        grpc_method: "fleet.v1.SecurityGroups/ReplaceSecurityGroup",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "delete_security_group",
        http_method: "DELETE",
        path: "/instance/v1/zones/{zone}/security_groups/{security_group_id}",
        grpc_method: "fleet.v1.SecurityGroups/DeleteSecurityGroup",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "list_default_security_group_rules",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/security_groups/default/rules",
        grpc_method: "fleet.v1.SecurityGroups/ListDefaultSecurityGroupRules",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "list_security_group_rules",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules",
        grpc_method: "fleet.v1.SecurityGroups/ListSecurityGroupRules",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "create_security_group_rule",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules",
        grpc_method: "fleet.v1.SecurityGroups/CreateSecurityGroupRule",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "set_security_group_rules",
        http_method: "PUT",
        path: "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules",
        grpc_method: "fleet.v1.SecurityGroups/SetSecurityGroupRules",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "get_security_group_rule",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}",
        grpc_method: "fleet.v1.SecurityGroups/GetSecurityGroupRule",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "update_security_group_rule",
        http_method: "PATCH",
        path: "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}",
        grpc_method: "fleet.v1.SecurityGroups/UpdateSecurityGroupRule",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "set_security_group_rule",
        http_method: "PUT",
        path: "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}",
        grpc_method: "fleet.v1.SecurityGroups/ReplaceSecurityGroupRule",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "delete_security_group_rule",
        http_method: "DELETE",
        path: "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}",
        grpc_method: "fleet.v1.SecurityGroups/DeleteSecurityGroupRule",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "list_placement_groups",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/placement_groups",
        grpc_method: "fleet.v1.PlacementGroups/ListPlacementGroups",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "create_placement_group",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/placement_groups",
        grpc_method: "fleet.v1.PlacementGroups/CreatePlacementGroup",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "get_placement_group",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}",
        grpc_method: "fleet.v1.PlacementGroups/GetPlacementGroup",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "set_placement_group",
        http_method: "PUT",
        path: "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}",
        grpc_method: "fleet.v1.PlacementGroups/ReplacePlacementGroup",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "update_placement_group",
        http_method: "PATCH",
        path: "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}",
        grpc_method: "fleet.v1.PlacementGroups/UpdatePlacementGroup",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "delete_placement_group",
        http_method: "DELETE",
        path: "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}",
        grpc_method: "fleet.v1.PlacementGroups/DeletePlacementGroup",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "get_placement_group_servers",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}/servers",
        grpc_method: "fleet.v1.PlacementGroups/GetPlacementGroupServers",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "set_placement_group_servers",
        http_method: "PUT",
        path: "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}/servers",
        grpc_method: "fleet.v1.PlacementGroups/SetPlacementGroupServers",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "update_placement_group_servers",
        http_method: "PATCH",
        path: "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}/servers",
        grpc_method: "fleet.v1.PlacementGroups/UpdatePlacementGroupServers",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "list_ips",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/ips",
        grpc_method: "fleet.v1.Ips/ListIps",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "create_ip",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/ips",
        grpc_method: "fleet.v1.Ips/CreateIp",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "get_ip",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/ips/{ip}",
        grpc_method: "fleet.v1.Ips/GetIp",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "update_ip",
        http_method: "PATCH",
        path: "/instance/v1/zones/{zone}/ips/{ip}",
        grpc_method: "fleet.v1.Ips/UpdateIp",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "delete_ip",
        http_method: "DELETE",
        path: "/instance/v1/zones/{zone}/ips/{ip}",
        grpc_method: "fleet.v1.Ips/DeleteIp",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "release_ip_to_ipam",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/ips/{ip_id}/release-to-ipam",
        grpc_method: "fleet.v1.Ips/ReleaseIpToIpam",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "list_private_nics",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/servers/{server_id}/private_nics",
        grpc_method: "fleet.v1.PrivateNics/ListPrivateNics",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "create_private_nic",
        http_method: "POST",
        path: "/instance/v1/zones/{zone}/servers/{server_id}/private_nics",
        grpc_method: "fleet.v1.PrivateNics/CreatePrivateNic",
        returns_operation: true,
    },
    EndpointMethod {
        operation: "get_private_nic",
        http_method: "GET",
        path: "/instance/v1/zones/{zone}/servers/{server_id}/private_nics/{private_nic_id}",
        grpc_method: "fleet.v1.PrivateNics/GetPrivateNic",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "update_private_nic",
        http_method: "PATCH",
        path: "/instance/v1/zones/{zone}/servers/{server_id}/private_nics/{private_nic_id}",
        grpc_method: "fleet.v1.PrivateNics/UpdatePrivateNic",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "delete_private_nic",
        http_method: "DELETE",
        path: "/instance/v1/zones/{zone}/servers/{server_id}/private_nics/{private_nic_id}",
        grpc_method: "fleet.v1.PrivateNics/DeletePrivateNic",
        returns_operation: false,
    },
    EndpointMethod {
        operation: "block_update_volume",
        http_method: "PATCH",
        path: "/block/v1/zones/{zone}/volumes/{volume_id}",
        grpc_method: "fleet.v1.Volumes/ResizeVolume",
        returns_operation: true,
    },
    EndpointMethod {
        operation: "block_import_snapshot_from_object_storage",
        http_method: "POST",
        path: "/block/v1/zones/{zone}/snapshots/import-from-object-storage",
        grpc_method: "fleet.v1.Snapshots/ImportSnapshot",
        returns_operation: true,
    },
];

/// Typed helpers of `fleet.v1.ServerActions`: (Scaleway action, gRPC method).
/// Each calls the `server_action` endpoint with that action.
pub const ACTION_HELPERS: &[(&str, &str)] = &[
    ("poweron", "fleet.v1.ServerActions/PowerOnServer"),
    ("poweroff", "fleet.v1.ServerActions/PowerOffServer"),
    ("stop_in_place", "fleet.v1.ServerActions/StopServerInPlace"),
    ("reboot", "fleet.v1.ServerActions/RebootServer"),
    ("terminate", "fleet.v1.ServerActions/TerminateServer"),
    ("backup", "fleet.v1.ServerActions/BackupServer"),
    ("enable_routed_ip", "fleet.v1.ServerActions/EnableRoutedIp"),
];

/// POST endpoints that change nothing (and so take no `request_id`).
pub const READ_ONLY_POSTS: &[&str] = &[
    "plan_block_migration",
    "check_block_migration_organization_quotas",
];

/// The row of a catalog operation.
pub fn by_operation(operation: &str) -> Option<&'static EndpointMethod> {
    ENDPOINT_METHODS.iter().find(|e| e.operation == operation)
}

/// The row whose gRPC method is `grpc_method` (`package.Service/Method`).
pub fn by_grpc_method(grpc_method: &str) -> Option<&'static EndpointMethod> {
    ENDPOINT_METHODS
        .iter()
        .find(|e| e.grpc_method == grpc_method)
}

/// The endpoint table as Markdown, as it appears in `docs/api.md`.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| # | Scaleway endpoint | catalog operation | gRPC method | returns |\n|---|---|---|---|---|\n",
    );
    for (i, e) in ENDPOINT_METHODS.iter().enumerate() {
        let returns = if e.returns_operation {
            "**Operation**"
        } else {
            "direct"
        };
        out.push_str(&format!(
            "| {} | `{} {}` | `{}` | `{}` | {} |\n",
            i + 1,
            e.http_method,
            e.path,
            e.operation,
            e.grpc_method,
            returns
        ));
    }
    out
}
