//! The endpoint catalog: one static table of the three API families fleet
//! speaks, [`Api::Instance`] (all 76 Instance v1 endpoints),
//! [`Api::Block`] (the 14 Block Storage endpoints) and
//! [`Api::InstanceV2Alpha1`] (the 12 Instance v2alpha1 endpoints of private
//! network interfaces, their attach and detach on servers, and placement
//! groups, which current Terraform calls).
//!
//! Instance: the 74 HTTP calls of the generated SDK plus the hand-written
//! single-key user-data GET and PATCH. Block: `/block/v1`, each entry also
//! answering under `/block/v1alpha1` (same paths, what the CLI and the SDKs'
//! Instance helpers call), plus the v1alpha1-only `import-from-s3`; Block
//! operation names start with `block_` (`block_get_volume`), since both
//! families have volumes and snapshots. Instance v2alpha1: the same private
//! NICs and placement groups as v1 in the newer shape ([`crate::v2alpha1`]),
//! operations named `v2alpha1_…`. Each [`Endpoint`] gives the method, the path
//! template exactly as in the reference, the operation name, the query,
//! request and response types (by name, plus a JSON re-encoder so tests can
//! check real traffic against them), the success status, pagination and
//! body kinds. The client, the emulator and the gateway count their
//! coverage against [`ENDPOINTS`] and refer to entries by [`Operation`].

use std::fmt;
use std::str::FromStr;

use percent_encoding::utf8_percent_encode;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::requests::*;
use crate::resources::{MigrationPlan, PrivateNic};
use crate::responses::*;
use block_types::*;
use v2alpha1_types::*;

/// The Block types under the names the table gives them (their own names
/// are the Instance ones: `block::Volume`).
mod block_types {
    pub use crate::block::{
        CreateSnapshotRequest as BlockCreateSnapshotRequest,
        CreateVolumeRequest as BlockCreateVolumeRequest,
        ExportSnapshotToObjectStorageRequest as BlockExportSnapshotToObjectStorageRequest,
        ImportSnapshotFromObjectStorageRequest as BlockImportSnapshotFromObjectStorageRequest,
        ListSnapshotsQuery as BlockListSnapshotsQuery,
        ListSnapshotsResponse as BlockListSnapshotsResponse,
        ListVolumeTypesQuery as BlockListVolumeTypesQuery,
        ListVolumeTypesResponse as BlockListVolumeTypesResponse,
        ListVolumesQuery as BlockListVolumesQuery, ListVolumesResponse as BlockListVolumesResponse,
        Snapshot as BlockSnapshot, UpdateSnapshotRequest as BlockUpdateSnapshotRequest,
        UpdateVolumeRequest as BlockUpdateVolumeRequest, Volume as BlockVolume,
    };
}

/// The Instance v2alpha1 types under the names the table gives them
/// (their own names are the v1 ones: `v2alpha1::PlacementGroup`).
mod v2alpha1_types {
    pub use crate::v2alpha1::{
        AttachServerPrivateNetworkInterfaceRequest as V2Alpha1AttachServerPrivateNetworkInterfaceRequest,
        CreatePlacementGroupRequest as V2Alpha1CreatePlacementGroupRequest,
        CreatePrivateNetworkInterfaceRequest as V2Alpha1CreatePrivateNetworkInterfaceRequest,
        DetachServerPrivateNetworkInterfaceRequest as V2Alpha1DetachServerPrivateNetworkInterfaceRequest,
        ListPlacementGroupsQuery as V2Alpha1ListPlacementGroupsQuery,
        ListPlacementGroupsResponse as V2Alpha1ListPlacementGroupsResponse,
        ListPrivateNetworkInterfacesQuery as V2Alpha1ListPrivateNetworkInterfacesQuery,
        ListPrivateNetworkInterfacesResponse as V2Alpha1ListPrivateNetworkInterfacesResponse,
        PlacementGroup as V2Alpha1PlacementGroup,
        PrivateNetworkInterface as V2Alpha1PrivateNetworkInterface, Server as V2Alpha1Server,
        UpdatePlacementGroupRequest as V2Alpha1UpdatePlacementGroupRequest,
        UpdatePrivateNetworkInterfaceRequest as V2Alpha1UpdatePrivateNetworkInterfaceRequest,
    };
}

mod api;
mod path;
pub use api::{Api, BLOCK_V1ALPHA1_PREFIX, Paging};
pub use path::PathParams;
use path::{PATH_SEGMENT, match_template, normalize_path, param_name};

/// HTTP method of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// Upper-case method name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A method name the catalog does not use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported http method {0:?}: expected GET, POST, PUT, PATCH or DELETE")]
pub struct UnknownMethod(pub String);

impl FromStr for Method {
    type Err = UnknownMethod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Method::Get,
            Method::Post,
            Method::Put,
            Method::Patch,
            Method::Delete,
        ]
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| UnknownMethod(s.to_owned()))
    }
}

/// A Rust type of this crate, by name, with a JSON re-encoder.
#[derive(Clone, Copy)]
pub struct TypeRef {
    /// The type's name in this crate, e.g. `CreateServerRequest`; Block
    /// types carry a `Block` prefix (`BlockVolume` is `block::Volume`).
    pub name: &'static str,
    reencode: fn(&Value) -> Result<Value, serde_json::Error>,
}

impl TypeRef {
    /// The reference for `T`, named `name`.
    pub const fn of<T: Serialize + DeserializeOwned>(name: &'static str) -> Self {
        TypeRef {
            name,
            reencode: reencode::<T>,
        }
    }

    /// Parses `value` as this type and serializes it back; a faithful type
    /// returns a value equal to the input.
    pub fn reencode(&self, value: &Value) -> Result<Value, serde_json::Error> {
        (self.reencode)(value)
    }
}

fn reencode<T: Serialize + DeserializeOwned>(value: &Value) -> Result<Value, serde_json::Error> {
    let typed: T = serde_json::from_value(value.clone())?;
    serde_json::to_value(&typed)
}

impl fmt::Debug for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for TypeRef {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TypeRef {}

/// How a body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyKind {
    /// No body (DELETE answers still say `Content-Type: application/json`).
    None,
    /// `application/json`.
    Json,
    /// `text/plain` raw bytes (user-data values).
    TextPlain,
}

/// A request or response body: none, JSON of a given type, or raw text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// No body.
    None,
    /// A JSON body of this type.
    Json(TypeRef),
    /// Raw `text/plain` bytes.
    Text,
}

impl Body {
    /// The encoding.
    pub const fn kind(&self) -> BodyKind {
        match self {
            Body::None => BodyKind::None,
            Body::Json(_) => BodyKind::Json,
            Body::Text => BodyKind::TextPlain,
        }
    }

    /// The JSON type, if the body is JSON.
    pub const fn json_type(&self) -> Option<&TypeRef> {
        match self {
            Body::Json(t) => Some(t),
            _ => None,
        }
    }

    /// The JSON type's name, if the body is JSON.
    pub const fn type_name(&self) -> Option<&'static str> {
        match self {
            Body::Json(t) => Some(t.name),
            _ => None,
        }
    }
}

/// One endpoint of the Instance or the Block API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// Stable identifier.
    pub operation: Operation,
    pub method: Method,
    /// Path template as in the reference, e.g.
    /// `/instance/v1/zones/{zone}/servers/{server_id}`.
    pub path: &'static str,
    /// Query-string struct, if the endpoint takes a query.
    pub query: Option<TypeRef>,
    pub request: Body,
    pub response: Body,
    /// 200, 201 (Instance v1 creates), 202 (actions, export) or 204 (no body).
    pub success_status: u16,
    /// For paged lists: the JSON key of the collection (how pages are
    /// asked for and where the total is are the [`Api`]'s).
    pub pagination: Option<&'static str>,
}

impl Endpoint {
    /// Operation name, e.g. `get_server`.
    pub const fn name(&self) -> &'static str {
        self.operation.name()
    }

    /// Whether the endpoint takes `page` and a page size.
    pub const fn is_paginated(&self) -> bool {
        self.pagination.is_some()
    }

    /// The API family, from the path (every template has one; the test
    /// `no_two_entries_collide` checks it).
    pub fn api(&self) -> Api {
        Api::of_path(self.path).unwrap_or(Api::Instance)
    }

    /// Names of the path parameters, in order (`zone` first).
    pub fn param_names(&self) -> impl Iterator<Item = &'static str> + 'static {
        self.path.split('/').filter_map(param_name)
    }

    /// Matches a concrete request against this endpoint. The method is
    /// compared case-insensitively; `path` may carry a query string and one
    /// trailing slash; parameter values are percent-decoded.
    pub fn matches(&self, method: &str, path: &str) -> Option<PathParams> {
        if !self.method.as_str().eq_ignore_ascii_case(method) {
            return None;
        }
        self.match_path(path)
    }

    /// Matches a concrete path, ignoring the method. A `/block/v1/…`
    /// template also matches the same path under `/block/v1alpha1/`.
    pub fn match_path(&self, path: &str) -> Option<PathParams> {
        let path = normalize_path(path);
        if let (Some(template), Some(rest)) = (
            self.path.strip_prefix(Api::Block.prefix()),
            path.strip_prefix(BLOCK_V1ALPHA1_PREFIX),
        ) {
            return match_template(template, rest);
        }
        match_template(self.path, path)
    }

    /// Builds a concrete path from parameter values (percent-encoded as
    /// needed); `None` if one is missing.
    pub fn render(&self, params: &[(&str, &str)]) -> Option<String> {
        let mut out = String::with_capacity(self.path.len() + 48);
        for (i, segment) in self.path.split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            match param_name(segment) {
                Some(name) => {
                    let value = params.iter().find(|(n, _)| *n == name)?.1;
                    out.extend(utf8_percent_encode(value, PATH_SEGMENT));
                }
                None => out.push_str(segment),
            }
        }
        Some(out)
    }

    /// Number of literal segments; more is more specific.
    fn literal_segments(&self) -> usize {
        self.path
            .split('/')
            .filter(|s| param_name(s).is_none())
            .count()
    }
}

/// The endpoint serving `method` + `path`, with its parameters. When
/// several templates match, the one with more literal segments wins, so
/// `security_groups/default/rules` beats `security_groups/{id}/rules`.
pub fn find(method: &str, path: &str) -> Option<(&'static Endpoint, PathParams)> {
    let mut best: Option<(&'static Endpoint, PathParams)> = None;
    for endpoint in ENDPOINTS {
        if let Some(params) = endpoint.matches(method, path) {
            let better = best
                .as_ref()
                .is_none_or(|(b, _)| endpoint.literal_segments() > b.literal_segments());
            if better {
                best = Some((endpoint, params));
            }
        }
    }
    best
}

/// Methods served at `path` (for a 405 answer with `Allow`).
pub fn allowed_methods(path: &str) -> Vec<Method> {
    let mut methods: Vec<Method> = Vec::new();
    for endpoint in ENDPOINTS {
        if endpoint.match_path(path).is_some() && !methods.contains(&endpoint.method) {
            methods.push(endpoint.method);
        }
    }
    methods
}

/// `TypeRef` for a type, named after it.
macro_rules! ty {
    ($t:ident) => {
        TypeRef::of::<$t>(stringify!($t))
    };
}

/// Declares [`Operation`] and [`ENDPOINTS`] from one list so they cannot
/// drift apart. A row is `Operation "name" Method "path" status`, then,
/// where they apply, `query Q`, `request B`, `response B` (`text` for raw
/// `text/plain`, else the JSON type) and `page "collection key"`.
macro_rules! catalog {
    ($(
        $op:ident $name:literal $method:ident $path:literal $status:literal
            $(query $query:ident)? $(request $request:ident)? $(response $response:ident)?
            $(page $page:literal)?;
    )*) => {
        /// Stable identifier of an endpoint; `ENDPOINTS[op as usize]` is its entry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Operation {
            $( #[doc = concat!("`", $name, "`: `", stringify!($method), " ", $path, "`")] $op, )*
        }

        impl Operation {
            /// Every operation, in catalog order.
            pub const ALL: &'static [Operation] = &[$(Operation::$op),*];

            /// snake_case operation name, e.g. `list_servers`.
            pub const fn name(self) -> &'static str {
                match self {
                    $( Operation::$op => $name, )*
                }
            }
        }

        /// All endpoints, in reference order.
        pub static ENDPOINTS: &[Endpoint] = &[
            $( Endpoint {
                operation: Operation::$op,
                method: Method::$method,
                path: $path,
                query: optional!($(ty!($query))?),
                request: body_of!($($request)?),
                response: body_of!($($response)?),
                success_status: $status,
                pagination: optional!($($page)?),
            }, )*
        ];
    };
}

/// `None`, or `Some` of what is given.
macro_rules! optional {
    () => {
        None
    };
    ($($value:tt)+) => {
        Some($($value)+)
    };
}

/// A catalog body: none, `text` (raw `text/plain`) or a JSON type.
macro_rules! body_of {
    () => {
        Body::None
    };
    (text) => {
        Body::Text
    };
    ($t:ident) => {
        Body::Json(ty!($t))
    };
}

impl Operation {
    /// The catalog entry.
    pub fn endpoint(self) -> &'static Endpoint {
        &ENDPOINTS[self as usize]
    }

    /// Looks an operation up by its snake_case name.
    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.iter().copied().find(|op| op.name() == name)
    }

    /// The API family serving it.
    pub fn api(self) -> Api {
        self.endpoint().api()
    }

    /// The Block endpoint doing what this Instance one does, for the
    /// volume and snapshot calls that work by id or list whichever API
    /// holds the resource (bodies and answers map through
    /// [`crate::block::unified`]).
    pub const fn block_counterpart(self) -> Option<Operation> {
        use Operation::*;
        Some(match self {
            ListVolumes => BlockListVolumes,
            GetVolume => BlockGetVolume,
            UpdateVolume => BlockUpdateVolume,
            DeleteVolume => BlockDeleteVolume,
            ListSnapshots => BlockListSnapshots,
            GetSnapshot => BlockGetSnapshot,
            UpdateSnapshot => BlockUpdateSnapshot,
            DeleteSnapshot => BlockDeleteSnapshot,
            _ => return None,
        })
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

catalog! {
    // Products.
    ListServersTypes "list_servers_types" Get "/instance/v1/zones/{zone}/products/servers" 200 query ListServersTypesQuery response ListServersTypesResponse page "servers";
    GetServerTypesAvailability "get_server_types_availability" Get "/instance/v1/zones/{zone}/products/servers/availability" 200 query GetServerTypesAvailabilityQuery response GetServerTypesAvailabilityResponse page "servers";
    ListVolumesTypes "list_volumes_types" Get "/instance/v1/zones/{zone}/products/volumes" 200 query ListVolumesTypesQuery response ListVolumesTypesResponse page "volumes";
    // Servers.
    ListServers "list_servers" Get "/instance/v1/zones/{zone}/servers" 200 query ListServersQuery response ListServersResponse page "servers";
    CreateServer "create_server" Post "/instance/v1/zones/{zone}/servers" 201 request CreateServerRequest response CreateServerResponse;
    GetServer "get_server" Get "/instance/v1/zones/{zone}/servers/{server_id}" 200 response GetServerResponse;
    UpdateServer "update_server" Patch "/instance/v1/zones/{zone}/servers/{server_id}" 200 request UpdateServerRequest response UpdateServerResponse;
    SetServer "set_server" Put "/instance/v1/zones/{zone}/servers/{id}" 200 request SetServerRequest response SetServerResponse;
    DeleteServer "delete_server" Delete "/instance/v1/zones/{zone}/servers/{server_id}" 204;
    GetServerCompatibleTypes "get_server_compatible_types" Get "/instance/v1/zones/{zone}/servers/{server_id}/compatible-types" 200 response GetServerCompatibleTypesResponse;
    ListServerActions "list_server_actions" Get "/instance/v1/zones/{zone}/servers/{server_id}/action" 200 response ListServerActionsResponse;
    ServerAction "server_action" Post "/instance/v1/zones/{zone}/servers/{server_id}/action" 202 request ServerActionRequest response ServerActionResponse;
    ListServerUserData "list_server_user_data" Get "/instance/v1/zones/{zone}/servers/{server_id}/user_data" 200 response ListServerUserDataResponse;
    DeleteServerUserData "delete_server_user_data" Delete "/instance/v1/zones/{zone}/servers/{server_id}/user_data/{key}" 204;
    AttachServerVolume "attach_server_volume" Post "/instance/v1/zones/{zone}/servers/{server_id}/attach-volume" 200 request AttachServerVolumeRequest response AttachServerVolumeResponse;
    DetachServerVolume "detach_server_volume" Post "/instance/v1/zones/{zone}/servers/{server_id}/detach-volume" 200 request DetachServerVolumeRequest response DetachServerVolumeResponse;
    AttachServerFileSystem "attach_server_file_system" Post "/instance/v1/zones/{zone}/servers/{server_id}/attach-filesystem" 200 request AttachServerFileSystemRequest response AttachServerFileSystemResponse;
    DetachServerFileSystem "detach_server_file_system" Post "/instance/v1/zones/{zone}/servers/{server_id}/detach-filesystem" 200 request DetachServerFileSystemRequest response DetachServerFileSystemResponse;
    // Images.
    ListImages "list_images" Get "/instance/v1/zones/{zone}/images" 200 query ListImagesQuery response ListImagesResponse page "images";
    GetImage "get_image" Get "/instance/v1/zones/{zone}/images/{image_id}" 200 response GetImageResponse;
    CreateImage "create_image" Post "/instance/v1/zones/{zone}/images" 201 request CreateImageRequest response CreateImageResponse;
    UpdateImage "update_image" Patch "/instance/v1/zones/{zone}/images/{image_id}" 200 request UpdateImageRequest response UpdateImageResponse;
    SetImage "set_image" Put "/instance/v1/zones/{zone}/images/{id}" 200 request SetImageRequest response SetImageResponse;
    DeleteImage "delete_image" Delete "/instance/v1/zones/{zone}/images/{image_id}" 204;
    // Snapshots.
    ListSnapshots "list_snapshots" Get "/instance/v1/zones/{zone}/snapshots" 200 query ListSnapshotsQuery response ListSnapshotsResponse page "snapshots";
    CreateSnapshot "create_snapshot" Post "/instance/v1/zones/{zone}/snapshots" 201 request CreateSnapshotRequest response CreateSnapshotResponse;
    GetSnapshot "get_snapshot" Get "/instance/v1/zones/{zone}/snapshots/{snapshot_id}" 200 response GetSnapshotResponse;
    UpdateSnapshot "update_snapshot" Patch "/instance/v1/zones/{zone}/snapshots/{snapshot_id}" 200 request UpdateSnapshotRequest response UpdateSnapshotResponse;
    SetSnapshot "set_snapshot" Put "/instance/v1/zones/{zone}/snapshots/{snapshot_id}" 200 request SetSnapshotRequest response SetSnapshotResponse;
    DeleteSnapshot "delete_snapshot" Delete "/instance/v1/zones/{zone}/snapshots/{snapshot_id}" 204;
    ExportSnapshot "export_snapshot" Post "/instance/v1/zones/{zone}/snapshots/{snapshot_id}/export" 202 request ExportSnapshotRequest response ExportSnapshotResponse;
    // Volumes.
    ListVolumes "list_volumes" Get "/instance/v1/zones/{zone}/volumes" 200 query ListVolumesQuery response ListVolumesResponse page "volumes";
    CreateVolume "create_volume" Post "/instance/v1/zones/{zone}/volumes" 201 request CreateVolumeRequest response CreateVolumeResponse;
    GetVolume "get_volume" Get "/instance/v1/zones/{zone}/volumes/{volume_id}" 200 response GetVolumeResponse;
    UpdateVolume "update_volume" Patch "/instance/v1/zones/{zone}/volumes/{volume_id}" 200 request UpdateVolumeRequest response UpdateVolumeResponse;
    DeleteVolume "delete_volume" Delete "/instance/v1/zones/{zone}/volumes/{volume_id}" 204;
    // Block migration. The statuses of the two body-less answers are not
    // recorded anywhere; 204 is what the API uses for every other empty
    // answer.
    PlanBlockMigration "plan_block_migration" Post "/instance/v1/zones/{zone}/block-migration/plan" 200 request PlanBlockMigrationRequest response MigrationPlan;
    ApplyBlockMigration "apply_block_migration" Post "/instance/v1/zones/{zone}/block-migration/apply" 204 request ApplyBlockMigrationRequest;
    CheckBlockMigrationOrganizationQuotas "check_block_migration_organization_quotas" Post "/instance/v1/zones/{zone}/block-migration/check-organization-quotas" 204 request CheckBlockMigrationOrganizationQuotasRequest;
    // Security groups.
    ListSecurityGroups "list_security_groups" Get "/instance/v1/zones/{zone}/security_groups" 200 query ListSecurityGroupsQuery response ListSecurityGroupsResponse page "security_groups";
    CreateSecurityGroup "create_security_group" Post "/instance/v1/zones/{zone}/security_groups" 201 request CreateSecurityGroupRequest response CreateSecurityGroupResponse;
    GetSecurityGroup "get_security_group" Get "/instance/v1/zones/{zone}/security_groups/{security_group_id}" 200 response GetSecurityGroupResponse;
    UpdateSecurityGroup "update_security_group" Patch "/instance/v1/zones/{zone}/security_groups/{security_group_id}" 200 request UpdateSecurityGroupRequest response UpdateSecurityGroupResponse;
    SetSecurityGroup "set_security_group" Put "/instance/v1/zones/{zone}/security_groups/{id}" 200 request SetSecurityGroupRequest response SetSecurityGroupResponse;
    DeleteSecurityGroup "delete_security_group" Delete "/instance/v1/zones/{zone}/security_groups/{security_group_id}" 204;
    // Security-group rules.
    ListDefaultSecurityGroupRules "list_default_security_group_rules" Get "/instance/v1/zones/{zone}/security_groups/default/rules" 200 response ListDefaultSecurityGroupRulesResponse;
    // The SDK pages this list, although the live API answers in one page
    // without X-Total-Count.
    ListSecurityGroupRules "list_security_group_rules" Get "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules" 200 query ListSecurityGroupRulesQuery response ListSecurityGroupRulesResponse page "rules";
    CreateSecurityGroupRule "create_security_group_rule" Post "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules" 201 request CreateSecurityGroupRuleRequest response CreateSecurityGroupRuleResponse;
    SetSecurityGroupRules "set_security_group_rules" Put "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules" 200 request SetSecurityGroupRulesRequest response SetSecurityGroupRulesResponse;
    GetSecurityGroupRule "get_security_group_rule" Get "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}" 200 response GetSecurityGroupRuleResponse;
    UpdateSecurityGroupRule "update_security_group_rule" Patch "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}" 200 request UpdateSecurityGroupRuleRequest response UpdateSecurityGroupRuleResponse;
    SetSecurityGroupRule "set_security_group_rule" Put "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}" 200 request SetSecurityGroupRuleRequest response SetSecurityGroupRuleResponse;
    DeleteSecurityGroupRule "delete_security_group_rule" Delete "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}" 204;
    // Placement groups.
    ListPlacementGroups "list_placement_groups" Get "/instance/v1/zones/{zone}/placement_groups" 200 query ListPlacementGroupsQuery response ListPlacementGroupsResponse page "placement_groups";
    CreatePlacementGroup "create_placement_group" Post "/instance/v1/zones/{zone}/placement_groups" 201 request CreatePlacementGroupRequest response CreatePlacementGroupResponse;
    GetPlacementGroup "get_placement_group" Get "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}" 200 response GetPlacementGroupResponse;
    UpdatePlacementGroup "update_placement_group" Patch "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}" 200 request UpdatePlacementGroupRequest response UpdatePlacementGroupResponse;
    SetPlacementGroup "set_placement_group" Put "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}" 200 request SetPlacementGroupRequest response SetPlacementGroupResponse;
    DeletePlacementGroup "delete_placement_group" Delete "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}" 204;
    GetPlacementGroupServers "get_placement_group_servers" Get "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}/servers" 200 response GetPlacementGroupServersResponse;
    SetPlacementGroupServers "set_placement_group_servers" Put "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}/servers" 200 request SetPlacementGroupServersRequest response SetPlacementGroupServersResponse;
    UpdatePlacementGroupServers "update_placement_group_servers" Patch "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}/servers" 200 request UpdatePlacementGroupServersRequest response UpdatePlacementGroupServersResponse;
    // Flexible IPs; `{ip}` is an id or an address.
    ListIps "list_ips" Get "/instance/v1/zones/{zone}/ips" 200 query ListIpsQuery response ListIpsResponse page "ips";
    CreateIp "create_ip" Post "/instance/v1/zones/{zone}/ips" 201 request CreateIpRequest response CreateIpResponse;
    GetIp "get_ip" Get "/instance/v1/zones/{zone}/ips/{ip}" 200 response GetIpResponse;
    UpdateIp "update_ip" Patch "/instance/v1/zones/{zone}/ips/{ip}" 200 request UpdateIpRequest response UpdateIpResponse;
    DeleteIp "delete_ip" Delete "/instance/v1/zones/{zone}/ips/{ip}" 204;
    ReleaseIpToIpam "release_ip_to_ipam" Post "/instance/v1/zones/{zone}/ips/{ip_id}/release-to-ipam" 204 request ReleaseIpToIpamRequest;
    // Private NICs.
    ListPrivateNics "list_private_nics" Get "/instance/v1/zones/{zone}/servers/{server_id}/private_nics" 200 query ListPrivateNicsQuery response ListPrivateNicsResponse page "private_nics";
    CreatePrivateNic "create_private_nic" Post "/instance/v1/zones/{zone}/servers/{server_id}/private_nics" 201 request CreatePrivateNicRequest response CreatePrivateNicResponse;
    GetPrivateNic "get_private_nic" Get "/instance/v1/zones/{zone}/servers/{server_id}/private_nics/{private_nic_id}" 200 response GetPrivateNicResponse;
    // Answers the bare NIC, not `{"private_nic": …}`.
    UpdatePrivateNic "update_private_nic" Patch "/instance/v1/zones/{zone}/servers/{server_id}/private_nics/{private_nic_id}" 200 request UpdatePrivateNicRequest response PrivateNic;
    DeletePrivateNic "delete_private_nic" Delete "/instance/v1/zones/{zone}/servers/{server_id}/private_nics/{private_nic_id}" 204;
    // Dashboard.
    GetDashboard "get_dashboard" Get "/instance/v1/zones/{zone}/dashboard" 200 query GetDashboardQuery response GetDashboardResponse;
    // User-data values (hand-written in the Go SDK): raw text/plain.
    GetServerUserData "get_server_user_data" Get "/instance/v1/zones/{zone}/servers/{server_id}/user_data/{key}" 200 response text;
    SetServerUserData "set_server_user_data" Patch "/instance/v1/zones/{zone}/servers/{server_id}/user_data/{key}" 204 request text;
    // Block Storage (SBS). Creates answer 200; lists page with `page_size`
    // and carry `total_count` in the body.
    BlockListVolumeTypes "block_list_volume_types" Get "/block/v1/zones/{zone}/volume-types" 200 query BlockListVolumeTypesQuery response BlockListVolumeTypesResponse page "volume_types";
    BlockListVolumes "block_list_volumes" Get "/block/v1/zones/{zone}/volumes" 200 query BlockListVolumesQuery response BlockListVolumesResponse page "volumes";
    BlockCreateVolume "block_create_volume" Post "/block/v1/zones/{zone}/volumes" 200 request BlockCreateVolumeRequest response BlockVolume;
    BlockGetVolume "block_get_volume" Get "/block/v1/zones/{zone}/volumes/{volume_id}" 200 response BlockVolume;
    // Size grows only; the answer already says `updating` with the old values.
    BlockUpdateVolume "block_update_volume" Patch "/block/v1/zones/{zone}/volumes/{volume_id}" 200 request BlockUpdateVolumeRequest response BlockVolume;
    // Refused while the volume is `in_use`.
    BlockDeleteVolume "block_delete_volume" Delete "/block/v1/zones/{zone}/volumes/{volume_id}" 204;
    BlockListSnapshots "block_list_snapshots" Get "/block/v1/zones/{zone}/snapshots" 200 query BlockListSnapshotsQuery response BlockListSnapshotsResponse page "snapshots";
    BlockCreateSnapshot "block_create_snapshot" Post "/block/v1/zones/{zone}/snapshots" 200 request BlockCreateSnapshotRequest response BlockSnapshot;
    BlockImportSnapshotFromObjectStorage "block_import_snapshot_from_object_storage" Post "/block/v1/zones/{zone}/snapshots/import-from-object-storage" 200 request BlockImportSnapshotFromObjectStorageRequest response BlockSnapshot;
    // The deprecated name of the import, v1alpha1 only.
    BlockImportSnapshotFromS3 "block_import_snapshot_from_s3" Post "/block/v1alpha1/zones/{zone}/snapshots/import-from-s3" 200 request BlockImportSnapshotFromObjectStorageRequest response BlockSnapshot;
    // Answers the snapshot, `exporting`, not a task.
    BlockExportSnapshotToObjectStorage "block_export_snapshot_to_object_storage" Post "/block/v1/zones/{zone}/snapshots/{snapshot_id}/export-to-object-storage" 200 request BlockExportSnapshotToObjectStorageRequest response BlockSnapshot;
    BlockGetSnapshot "block_get_snapshot" Get "/block/v1/zones/{zone}/snapshots/{snapshot_id}" 200 response BlockSnapshot;
    BlockUpdateSnapshot "block_update_snapshot" Patch "/block/v1/zones/{zone}/snapshots/{snapshot_id}" 200 request BlockUpdateSnapshotRequest response BlockSnapshot;
    BlockDeleteSnapshot "block_delete_snapshot" Delete "/block/v1/zones/{zone}/snapshots/{snapshot_id}" 204;
    // Instance v2alpha1: the v1 private NICs and placement groups in the
    // newer shape. Objects come bare, creates answer 200, lists page by
    // `page_token` with `total_count` in the body.
    V2Alpha1ListPrivateNetworkInterfaces "v2alpha1_list_private_network_interfaces" Get "/instance/v2alpha1/zones/{zone}/private-network-interfaces" 200 query V2Alpha1ListPrivateNetworkInterfacesQuery response V2Alpha1ListPrivateNetworkInterfacesResponse page "private_network_interfaces";
    V2Alpha1CreatePrivateNetworkInterface "v2alpha1_create_private_network_interface" Post "/instance/v2alpha1/zones/{zone}/private-network-interfaces" 200 request V2Alpha1CreatePrivateNetworkInterfaceRequest response V2Alpha1PrivateNetworkInterface;
    V2Alpha1GetPrivateNetworkInterface "v2alpha1_get_private_network_interface" Get "/instance/v2alpha1/zones/{zone}/private-network-interfaces/{private_network_interface_id}" 200 response V2Alpha1PrivateNetworkInterface;
    V2Alpha1UpdatePrivateNetworkInterface "v2alpha1_update_private_network_interface" Patch "/instance/v2alpha1/zones/{zone}/private-network-interfaces/{private_network_interface_id}" 200 request V2Alpha1UpdatePrivateNetworkInterfaceRequest response V2Alpha1PrivateNetworkInterface;
    V2Alpha1DeletePrivateNetworkInterface "v2alpha1_delete_private_network_interface" Delete "/instance/v2alpha1/zones/{zone}/private-network-interfaces/{private_network_interface_id}" 204;
    V2Alpha1AttachServerPrivateNetworkInterface "v2alpha1_attach_server_private_network_interface" Post "/instance/v2alpha1/zones/{zone}/servers/{server_id}/attach-private-network-interface" 200 request V2Alpha1AttachServerPrivateNetworkInterfaceRequest response V2Alpha1Server;
    V2Alpha1DetachServerPrivateNetworkInterface "v2alpha1_detach_server_private_network_interface" Post "/instance/v2alpha1/zones/{zone}/servers/{server_id}/detach-private-network-interface" 200 request V2Alpha1DetachServerPrivateNetworkInterfaceRequest response V2Alpha1Server;
    V2Alpha1ListPlacementGroups "v2alpha1_list_placement_groups" Get "/instance/v2alpha1/zones/{zone}/placement-groups" 200 query V2Alpha1ListPlacementGroupsQuery response V2Alpha1ListPlacementGroupsResponse page "placement_groups";
    V2Alpha1CreatePlacementGroup "v2alpha1_create_placement_group" Post "/instance/v2alpha1/zones/{zone}/placement-groups" 200 request V2Alpha1CreatePlacementGroupRequest response V2Alpha1PlacementGroup;
    V2Alpha1GetPlacementGroup "v2alpha1_get_placement_group" Get "/instance/v2alpha1/zones/{zone}/placement-groups/{placement_group_id}" 200 response V2Alpha1PlacementGroup;
    V2Alpha1UpdatePlacementGroup "v2alpha1_update_placement_group" Patch "/instance/v2alpha1/zones/{zone}/placement-groups/{placement_group_id}" 200 request V2Alpha1UpdatePlacementGroupRequest response V2Alpha1PlacementGroup;
    V2Alpha1DeletePlacementGroup "v2alpha1_delete_placement_group" Delete "/instance/v2alpha1/zones/{zone}/placement-groups/{placement_group_id}" 204;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::Zone;
    use std::collections::HashSet;

    /// A concrete path for a template: params get distinct sample values.
    fn example_path(endpoint: &Endpoint) -> String {
        let values: Vec<(&str, String)> = endpoint
            .param_names()
            .map(|name| match name {
                "zone" => (name, "nl-ams-1".to_owned()),
                other => (name, format!("{other}-0f1e2d3c")),
            })
            .collect();
        let pairs: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, v.as_str())).collect();
        endpoint.render(&pairs).unwrap()
    }

    #[test]
    fn has_76_instance_and_14_block_endpoints_in_operation_order() {
        let count = |api| ENDPOINTS.iter().filter(|e| e.api() == api).count();
        assert_eq!((count(Api::Instance), count(Api::Block)), (76, 14));
        assert_eq!(count(Api::InstanceV2Alpha1), 12);
        assert_eq!(Operation::ALL.len(), ENDPOINTS.len());
        for (i, op) in Operation::ALL.iter().enumerate() {
            assert_eq!(ENDPOINTS[i].operation, *op);
            assert_eq!(op.endpoint().operation, *op);
            assert_eq!(Operation::from_name(op.name()), Some(*op));
        }
    }

    #[test]
    fn no_two_entries_collide() {
        let mut seen = HashSet::new();
        let mut names = HashSet::new();
        for e in ENDPOINTS {
            // Parameter names do not make two templates different.
            let shape: String = e
                .path
                .split('/')
                .map(|s| if param_name(s).is_some() { "{}" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            assert!(seen.insert((e.method, shape)), "{} {}", e.method, e.path);
            assert!(names.insert(e.name()), "{}", e.name());
            assert_eq!(Api::of_path(e.path), Some(e.api()), "{}", e.path);
            assert!(e.path.contains("/zones/{zone}/"), "{}", e.path);
            let statuses: &[u16] = match e.api() {
                Api::Instance => &[200, 201, 202, 204],
                Api::Block | Api::InstanceV2Alpha1 => &[200, 204],
            };
            assert!(statuses.contains(&e.success_status), "{}", e.name());
            assert_eq!(
                e.api() == Api::Block,
                e.name().starts_with("block_"),
                "{}",
                e.name()
            );
            assert_eq!(
                e.api() == Api::InstanceV2Alpha1,
                e.name().starts_with("v2alpha1_"),
                "{}",
                e.name()
            );
            assert_eq!(
                e.success_status == 204,
                e.response.kind() == BodyKind::None,
                "{}",
                e.name()
            );
            if e.pagination.is_some() {
                assert!(e.query.is_some(), "{} pages without a query", e.name());
            }
        }
    }

    #[test]
    fn every_template_matches_an_example_and_resolves_to_itself() {
        for e in ENDPOINTS {
            let path = example_path(e);
            let params = e
                .matches(e.method.as_str(), &path)
                .unwrap_or_else(|| panic!("{path}"));
            assert_eq!(params.zone(), Ok(Zone::NlAms1));
            let (found, found_params) = find(e.method.as_str(), &path).unwrap();
            assert_eq!(found.operation, e.operation, "{path}");
            assert_eq!(found_params, params);
            let lower = e.method.as_str().to_ascii_lowercase();
            let with_extras = format!("{path}/?page=2&per_page=50");
            assert_eq!(
                find(&lower, &with_extras).map(|(f, _)| f.operation),
                Some(e.operation)
            );
        }
    }

    #[test]
    fn default_rules_win_over_a_group_id() {
        let (e, params) = find(
            "GET",
            "/instance/v1/zones/fr-par-1/security_groups/default/rules",
        )
        .unwrap();
        assert_eq!(e.operation, Operation::ListDefaultSecurityGroupRules);
        assert_eq!(params.len(), 1);
        let (e, params) = find(
            "GET",
            "/instance/v1/zones/fr-par-1/security_groups/6bbed5ce/rules",
        )
        .unwrap();
        assert_eq!(e.operation, Operation::ListSecurityGroupRules);
        assert_eq!(params.get("security_group_id"), Some("6bbed5ce"));
        // Only GET exists for default rules: a PUT goes to the group form.
        let (e, _) = find(
            "PUT",
            "/instance/v1/zones/fr-par-1/security_groups/default/rules",
        )
        .unwrap();
        assert_eq!(e.operation, Operation::SetSecurityGroupRules);
    }

    #[test]
    fn lookups_tolerate_real_world_paths() {
        let (e, params) = find("GET", "/instance/v1/zones/fr-par-1/ips/51.15.242.82").unwrap();
        assert_eq!(e.operation, Operation::GetIp);
        assert_eq!(params.get("ip"), Some("51.15.242.82"));
        let (e, params) = find(
            "PATCH",
            "/instance/v1/zones/fr-par-1/servers/abc/user_data/cloud%2Dinit",
        )
        .unwrap();
        assert_eq!(e.operation, Operation::SetServerUserData);
        assert_eq!(params.get("key"), Some("cloud-init"));
        assert!(find("GET", "/instance/v1/zones/fr-par-1/nothing").is_none());
        assert!(find("GET", "/instance/v1/zones/fr-par-1/servers//action").is_none());
        assert!(find("TRACE", "/instance/v1/zones/fr-par-1/servers").is_none());
        let (_, params) = find("GET", "/instance/v1/zones/xx-yyy-9/servers").unwrap();
        assert!(params.zone().is_err());
        assert_eq!(
            allowed_methods("/instance/v1/zones/fr-par-1/servers/abc"),
            [Method::Get, Method::Patch, Method::Put, Method::Delete]
        );
    }

    #[test]
    fn block_templates_answer_in_both_versions() {
        let (e, params) = find("GET", "/block/v1alpha1/zones/fr-par-2/volumes/abc").unwrap();
        assert_eq!(e.operation, Operation::BlockGetVolume);
        assert_eq!(params.get("volume_id"), Some("abc"));
        assert_eq!(params.zone(), Ok(Zone::FrPar2));
        let (e, _) = find("GET", "/block/v1/zones/fr-par-2/volumes/abc/").unwrap();
        assert_eq!(e.operation, Operation::BlockGetVolume);
        let (e, params) = find(
            "POST",
            "/block/v1alpha1/zones/fr-par-1/snapshots/import-from-s3",
        )
        .unwrap();
        assert_eq!(e.operation, Operation::BlockImportSnapshotFromS3);
        assert_eq!(params.len(), 1);
        // Literal actions win over ids; the deprecated import is v1alpha1 only.
        assert_eq!(
            find("POST", "/block/v1/zones/fr-par-1/snapshots/import-from-s3"),
            None
        );
        let (e, params) = find(
            "POST",
            "/block/v1/zones/fr-par-1/snapshots/051e93f6/export-to-object-storage",
        )
        .unwrap();
        assert_eq!(e.operation, Operation::BlockExportSnapshotToObjectStorage);
        assert_eq!(params.get("snapshot_id"), Some("051e93f6"));
        for other in [
            "/block/v2/zones/fr-par-1/volumes",
            "/block/v1beta/zones/fr-par-1/volumes",
            "/block/v1/zones/fr-par-1/volumes/a/b",
        ] {
            assert!(find("GET", other).is_none(), "{other}");
        }
        assert_eq!(
            allowed_methods("/block/v1alpha1/zones/fr-par-1/volumes/abc"),
            [Method::Get, Method::Patch, Method::Delete]
        );
        let e = Operation::BlockListVolumes.endpoint();
        assert_eq!((e.api(), e.pagination), (Api::Block, Some("volumes")));
        assert_eq!(e.api().page_size_param(), "page_size");
        assert!(e.api().total_in_body());
        assert_eq!(Operation::BlockCreateVolume.endpoint().success_status, 200);
        assert_eq!(
            Operation::BlockCreateVolume.endpoint().response.type_name(),
            Some("BlockVolume")
        );
        assert_eq!(Operation::ListVolumes.api(), Api::Instance);
    }

    #[test]
    fn v2alpha1_is_its_own_family_paged_by_token() {
        let (e, params) = find(
            "PATCH",
            "/instance/v2alpha1/zones/fr-par-1/placement-groups/aca59013",
        )
        .unwrap();
        assert_eq!(e.operation, Operation::V2Alpha1UpdatePlacementGroup);
        assert_eq!(params.get("placement_group_id"), Some("aca59013"));
        let e = Operation::V2Alpha1ListPrivateNetworkInterfaces.endpoint();
        assert_eq!(
            (e.api(), e.pagination),
            (Api::InstanceV2Alpha1, Some("private_network_interfaces"))
        );
        let api = e.api();
        assert_eq!(api.paging(), Paging::Token);
        assert_eq!(
            (api.page_size_param(), api.total_in_body()),
            ("page_size", true)
        );
        assert_eq!(Api::Instance.paging(), Paging::Numbered);
        assert_eq!(
            Operation::V2Alpha1CreatePlacementGroup
                .endpoint()
                .success_status,
            200
        );
        // v1 spells the collection `placement_groups`, v2alpha1 `placement-groups`.
        assert!(find("GET", "/instance/v2alpha1/zones/fr-par-1/placement_groups").is_none());
        assert!(find("GET", "/instance/v1/zones/fr-par-1/placement-groups").is_none());
        assert_eq!(
            allowed_methods("/instance/v2alpha1/zones/fr-par-1/private-network-interfaces/x"),
            [Method::Get, Method::Patch, Method::Delete]
        );
    }

    #[test]
    fn spot_checks() {
        let e = Operation::ServerAction.endpoint();
        assert_eq!((e.method, e.success_status), (Method::Post, 202));
        assert_eq!(e.request.type_name(), Some("ServerActionRequest"));
        assert_eq!(e.response.type_name(), Some("ServerActionResponse"));
        let e = Operation::ListServers.endpoint();
        assert_eq!(e.pagination, Some("servers"));
        assert_eq!(e.query.map(|q| q.name), Some("ListServersQuery"));
        let e = Operation::SetServerUserData.endpoint();
        assert_eq!(
            (e.request.kind(), e.response.kind()),
            (BodyKind::TextPlain, BodyKind::None)
        );
        assert_eq!(
            Operation::GetServerUserData.endpoint().response.kind(),
            BodyKind::TextPlain
        );
        assert_eq!("patch".parse::<Method>(), Ok(Method::Patch));
        assert!("TRACE".parse::<Method>().is_err());
    }
}
