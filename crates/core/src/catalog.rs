//! The endpoint catalog: one static table of all 76 Instance v1 endpoints.
//!
//! The 74 HTTP calls of the generated SDK plus the hand-written single-key
//! user-data GET and PATCH. Each [`Endpoint`] gives the method, the path
//! template exactly as in the reference, the operation name, the query,
//! request and response types (by name, plus a JSON re-encoder so tests can
//! check real traffic against them), the success status, pagination and
//! body kinds. The client, the emulator and the gateway count their
//! coverage against [`ENDPOINTS`] and refer to entries by [`Operation`].

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::requests::*;
use crate::resources::{MigrationPlan, PrivateNic};
use crate::responses::*;
use crate::zone::{UnknownZone, Zone};

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
    /// The type's name in this crate, e.g. `CreateServerRequest`.
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

/// One endpoint of the Instance API.
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
    /// 200, 201 (creates), 202 (actions, export) or 204 (no body).
    pub success_status: u16,
    /// For endpoints taking `page`/`per_page`: the JSON key of the
    /// collection (the total is in `X-Total-Count`).
    pub pagination: Option<&'static str>,
}

impl Endpoint {
    /// Operation name, e.g. `get_server`.
    pub const fn name(&self) -> &'static str {
        self.operation.name()
    }

    /// Whether the endpoint takes `page`/`per_page`.
    pub const fn is_paginated(&self) -> bool {
        self.pagination.is_some()
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

    /// Matches a concrete path, ignoring the method.
    pub fn match_path(&self, path: &str) -> Option<PathParams> {
        let path = normalize_path(path);
        let mut template = self.path.split('/');
        let mut segments = path.split('/');
        let mut params = Vec::new();
        loop {
            match (template.next(), segments.next()) {
                (None, None) => return Some(PathParams { params }),
                (Some(t), Some(s)) => match param_name(t) {
                    Some(name) if !s.is_empty() => params.push((name, percent_decode(s))),
                    Some(_) => return None,
                    None if t == s => {}
                    None => return None,
                },
                _ => return None,
            }
        }
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
                    percent_encode_into(value, &mut out);
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

fn param_name(segment: &str) -> Option<&str> {
    segment.strip_prefix('{')?.strip_suffix('}')
}

fn normalize_path(path: &str) -> &str {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    match path.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => trimmed,
        _ => path,
    }
}

fn percent_decode(segment: &str) -> String {
    if !segment.contains('%') {
        return segment.to_owned();
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    // Keep the raw text when the escapes do not form UTF-8.
    String::from_utf8(out).unwrap_or_else(|_| segment.to_owned())
}

fn percent_encode_into(value: &str, out: &mut String) {
    for b in value.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// Path parameters captured by [`Endpoint::matches`], in template order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PathParams {
    params: Vec<(&'static str, String)>,
}

impl PathParams {
    /// The decoded value of a parameter, e.g. `get("server_id")`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `{zone}` parameter, parsed. Every catalog path has one; a
    /// missing one reads as the empty, unknown zone.
    pub fn zone(&self) -> Result<Zone, UnknownZone> {
        self.get("zone").unwrap_or("").parse()
    }

    /// `(name, value)` pairs in template order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.params.iter().map(|(n, v)| (*n, v.as_str()))
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
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
/// drift apart.
macro_rules! catalog {
    ($(
        $op:ident $name:literal $method:ident $path:literal
            query $query:expr, request $request:expr, response $response:expr,
            status $status:literal, page $page:expr;
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
                query: $query,
                request: $request,
                response: $response,
                success_status: $status,
                pagination: $page,
            }, )*
        ];
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
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

use Body::{Json, Text};

catalog! {
    // Products.
    ListServersTypes "list_servers_types" Get "/instance/v1/zones/{zone}/products/servers"
        query Some(ty!(ListServersTypesQuery)), request Body::None, response Json(ty!(ListServersTypesResponse)),
        status 200, page Some("servers");
    GetServerTypesAvailability "get_server_types_availability" Get "/instance/v1/zones/{zone}/products/servers/availability"
        query Some(ty!(GetServerTypesAvailabilityQuery)), request Body::None, response Json(ty!(GetServerTypesAvailabilityResponse)),
        status 200, page Some("servers");
    ListVolumesTypes "list_volumes_types" Get "/instance/v1/zones/{zone}/products/volumes"
        query Some(ty!(ListVolumesTypesQuery)), request Body::None, response Json(ty!(ListVolumesTypesResponse)),
        status 200, page Some("volumes");
    // Servers.
    ListServers "list_servers" Get "/instance/v1/zones/{zone}/servers"
        query Some(ty!(ListServersQuery)), request Body::None, response Json(ty!(ListServersResponse)),
        status 200, page Some("servers");
    CreateServer "create_server" Post "/instance/v1/zones/{zone}/servers"
        query None, request Json(ty!(CreateServerRequest)), response Json(ty!(CreateServerResponse)),
        status 201, page None;
    GetServer "get_server" Get "/instance/v1/zones/{zone}/servers/{server_id}"
        query None, request Body::None, response Json(ty!(GetServerResponse)),
        status 200, page None;
    UpdateServer "update_server" Patch "/instance/v1/zones/{zone}/servers/{server_id}"
        query None, request Json(ty!(UpdateServerRequest)), response Json(ty!(UpdateServerResponse)),
        status 200, page None;
    SetServer "set_server" Put "/instance/v1/zones/{zone}/servers/{id}"
        query None, request Json(ty!(SetServerRequest)), response Json(ty!(SetServerResponse)),
        status 200, page None;
    DeleteServer "delete_server" Delete "/instance/v1/zones/{zone}/servers/{server_id}"
        query None, request Body::None, response Body::None,
        status 204, page None;
    GetServerCompatibleTypes "get_server_compatible_types" Get "/instance/v1/zones/{zone}/servers/{server_id}/compatible-types"
        query None, request Body::None, response Json(ty!(GetServerCompatibleTypesResponse)),
        status 200, page None;
    ListServerActions "list_server_actions" Get "/instance/v1/zones/{zone}/servers/{server_id}/action"
        query None, request Body::None, response Json(ty!(ListServerActionsResponse)),
        status 200, page None;
    ServerAction "server_action" Post "/instance/v1/zones/{zone}/servers/{server_id}/action"
        query None, request Json(ty!(ServerActionRequest)), response Json(ty!(ServerActionResponse)),
        status 202, page None;
    ListServerUserData "list_server_user_data" Get "/instance/v1/zones/{zone}/servers/{server_id}/user_data"
        query None, request Body::None, response Json(ty!(ListServerUserDataResponse)),
        status 200, page None;
    DeleteServerUserData "delete_server_user_data" Delete "/instance/v1/zones/{zone}/servers/{server_id}/user_data/{key}"
        query None, request Body::None, response Body::None,
        status 204, page None;
    AttachServerVolume "attach_server_volume" Post "/instance/v1/zones/{zone}/servers/{server_id}/attach-volume"
        query None, request Json(ty!(AttachServerVolumeRequest)), response Json(ty!(AttachServerVolumeResponse)),
        status 200, page None;
    DetachServerVolume "detach_server_volume" Post "/instance/v1/zones/{zone}/servers/{server_id}/detach-volume"
        query None, request Json(ty!(DetachServerVolumeRequest)), response Json(ty!(DetachServerVolumeResponse)),
        status 200, page None;
    AttachServerFileSystem "attach_server_file_system" Post "/instance/v1/zones/{zone}/servers/{server_id}/attach-filesystem"
        query None, request Json(ty!(AttachServerFileSystemRequest)), response Json(ty!(AttachServerFileSystemResponse)),
        status 200, page None;
    DetachServerFileSystem "detach_server_file_system" Post "/instance/v1/zones/{zone}/servers/{server_id}/detach-filesystem"
        query None, request Json(ty!(DetachServerFileSystemRequest)), response Json(ty!(DetachServerFileSystemResponse)),
        status 200, page None;
    // Images.
    ListImages "list_images" Get "/instance/v1/zones/{zone}/images"
        query Some(ty!(ListImagesQuery)), request Body::None, response Json(ty!(ListImagesResponse)),
        status 200, page Some("images");
    GetImage "get_image" Get "/instance/v1/zones/{zone}/images/{image_id}"
        query None, request Body::None, response Json(ty!(GetImageResponse)),
        status 200, page None;
    CreateImage "create_image" Post "/instance/v1/zones/{zone}/images"
        query None, request Json(ty!(CreateImageRequest)), response Json(ty!(CreateImageResponse)),
        status 201, page None;
    UpdateImage "update_image" Patch "/instance/v1/zones/{zone}/images/{image_id}"
        query None, request Json(ty!(UpdateImageRequest)), response Json(ty!(UpdateImageResponse)),
        status 200, page None;
    SetImage "set_image" Put "/instance/v1/zones/{zone}/images/{id}"
        query None, request Json(ty!(SetImageRequest)), response Json(ty!(SetImageResponse)),
        status 200, page None;
    DeleteImage "delete_image" Delete "/instance/v1/zones/{zone}/images/{image_id}"
        query None, request Body::None, response Body::None,
        status 204, page None;
    // Snapshots.
    ListSnapshots "list_snapshots" Get "/instance/v1/zones/{zone}/snapshots"
        query Some(ty!(ListSnapshotsQuery)), request Body::None, response Json(ty!(ListSnapshotsResponse)),
        status 200, page Some("snapshots");
    CreateSnapshot "create_snapshot" Post "/instance/v1/zones/{zone}/snapshots"
        query None, request Json(ty!(CreateSnapshotRequest)), response Json(ty!(CreateSnapshotResponse)),
        status 201, page None;
    GetSnapshot "get_snapshot" Get "/instance/v1/zones/{zone}/snapshots/{snapshot_id}"
        query None, request Body::None, response Json(ty!(GetSnapshotResponse)),
        status 200, page None;
    UpdateSnapshot "update_snapshot" Patch "/instance/v1/zones/{zone}/snapshots/{snapshot_id}"
        query None, request Json(ty!(UpdateSnapshotRequest)), response Json(ty!(UpdateSnapshotResponse)),
        status 200, page None;
    SetSnapshot "set_snapshot" Put "/instance/v1/zones/{zone}/snapshots/{snapshot_id}"
        query None, request Json(ty!(SetSnapshotRequest)), response Json(ty!(SetSnapshotResponse)),
        status 200, page None;
    DeleteSnapshot "delete_snapshot" Delete "/instance/v1/zones/{zone}/snapshots/{snapshot_id}"
        query None, request Body::None, response Body::None,
        status 204, page None;
    ExportSnapshot "export_snapshot" Post "/instance/v1/zones/{zone}/snapshots/{snapshot_id}/export"
        query None, request Json(ty!(ExportSnapshotRequest)), response Json(ty!(ExportSnapshotResponse)),
        status 202, page None;
    // Volumes.
    ListVolumes "list_volumes" Get "/instance/v1/zones/{zone}/volumes"
        query Some(ty!(ListVolumesQuery)), request Body::None, response Json(ty!(ListVolumesResponse)),
        status 200, page Some("volumes");
    CreateVolume "create_volume" Post "/instance/v1/zones/{zone}/volumes"
        query None, request Json(ty!(CreateVolumeRequest)), response Json(ty!(CreateVolumeResponse)),
        status 201, page None;
    GetVolume "get_volume" Get "/instance/v1/zones/{zone}/volumes/{volume_id}"
        query None, request Body::None, response Json(ty!(GetVolumeResponse)),
        status 200, page None;
    UpdateVolume "update_volume" Patch "/instance/v1/zones/{zone}/volumes/{volume_id}"
        query None, request Json(ty!(UpdateVolumeRequest)), response Json(ty!(UpdateVolumeResponse)),
        status 200, page None;
    DeleteVolume "delete_volume" Delete "/instance/v1/zones/{zone}/volumes/{volume_id}"
        query None, request Body::None, response Body::None,
        status 204, page None;
    // Block migration. The statuses of the two body-less answers are not
    // recorded anywhere; 204 is what the API uses for every other empty
    // answer.
    PlanBlockMigration "plan_block_migration" Post "/instance/v1/zones/{zone}/block-migration/plan"
        query None, request Json(ty!(PlanBlockMigrationRequest)), response Json(ty!(MigrationPlan)),
        status 200, page None;
    ApplyBlockMigration "apply_block_migration" Post "/instance/v1/zones/{zone}/block-migration/apply"
        query None, request Json(ty!(ApplyBlockMigrationRequest)), response Body::None,
        status 204, page None;
    CheckBlockMigrationOrganizationQuotas "check_block_migration_organization_quotas" Post "/instance/v1/zones/{zone}/block-migration/check-organization-quotas"
        query None, request Json(ty!(CheckBlockMigrationOrganizationQuotasRequest)), response Body::None,
        status 204, page None;
    // Security groups.
    ListSecurityGroups "list_security_groups" Get "/instance/v1/zones/{zone}/security_groups"
        query Some(ty!(ListSecurityGroupsQuery)), request Body::None, response Json(ty!(ListSecurityGroupsResponse)),
        status 200, page Some("security_groups");
    CreateSecurityGroup "create_security_group" Post "/instance/v1/zones/{zone}/security_groups"
        query None, request Json(ty!(CreateSecurityGroupRequest)), response Json(ty!(CreateSecurityGroupResponse)),
        status 201, page None;
    GetSecurityGroup "get_security_group" Get "/instance/v1/zones/{zone}/security_groups/{security_group_id}"
        query None, request Body::None, response Json(ty!(GetSecurityGroupResponse)),
        status 200, page None;
    UpdateSecurityGroup "update_security_group" Patch "/instance/v1/zones/{zone}/security_groups/{security_group_id}"
        query None, request Json(ty!(UpdateSecurityGroupRequest)), response Json(ty!(UpdateSecurityGroupResponse)),
        status 200, page None;
    SetSecurityGroup "set_security_group" Put "/instance/v1/zones/{zone}/security_groups/{id}"
        query None, request Json(ty!(SetSecurityGroupRequest)), response Json(ty!(SetSecurityGroupResponse)),
        status 200, page None;
    DeleteSecurityGroup "delete_security_group" Delete "/instance/v1/zones/{zone}/security_groups/{security_group_id}"
        query None, request Body::None, response Body::None,
        status 204, page None;
    // Security-group rules.
    ListDefaultSecurityGroupRules "list_default_security_group_rules" Get "/instance/v1/zones/{zone}/security_groups/default/rules"
        query None, request Body::None, response Json(ty!(ListDefaultSecurityGroupRulesResponse)),
        status 200, page None;
    // The SDK pages this list, although the live API answers in one page
    // without X-Total-Count.
    ListSecurityGroupRules "list_security_group_rules" Get "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules"
        query Some(ty!(ListSecurityGroupRulesQuery)), request Body::None, response Json(ty!(ListSecurityGroupRulesResponse)),
        status 200, page Some("rules");
    CreateSecurityGroupRule "create_security_group_rule" Post "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules"
        query None, request Json(ty!(CreateSecurityGroupRuleRequest)), response Json(ty!(CreateSecurityGroupRuleResponse)),
        status 201, page None;
    SetSecurityGroupRules "set_security_group_rules" Put "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules"
        query None, request Json(ty!(SetSecurityGroupRulesRequest)), response Json(ty!(SetSecurityGroupRulesResponse)),
        status 200, page None;
    GetSecurityGroupRule "get_security_group_rule" Get "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}"
        query None, request Body::None, response Json(ty!(GetSecurityGroupRuleResponse)),
        status 200, page None;
    UpdateSecurityGroupRule "update_security_group_rule" Patch "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}"
        query None, request Json(ty!(UpdateSecurityGroupRuleRequest)), response Json(ty!(UpdateSecurityGroupRuleResponse)),
        status 200, page None;
    SetSecurityGroupRule "set_security_group_rule" Put "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}"
        query None, request Json(ty!(SetSecurityGroupRuleRequest)), response Json(ty!(SetSecurityGroupRuleResponse)),
        status 200, page None;
    DeleteSecurityGroupRule "delete_security_group_rule" Delete "/instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}"
        query None, request Body::None, response Body::None,
        status 204, page None;
    // Placement groups.
    ListPlacementGroups "list_placement_groups" Get "/instance/v1/zones/{zone}/placement_groups"
        query Some(ty!(ListPlacementGroupsQuery)), request Body::None, response Json(ty!(ListPlacementGroupsResponse)),
        status 200, page Some("placement_groups");
    CreatePlacementGroup "create_placement_group" Post "/instance/v1/zones/{zone}/placement_groups"
        query None, request Json(ty!(CreatePlacementGroupRequest)), response Json(ty!(CreatePlacementGroupResponse)),
        status 201, page None;
    GetPlacementGroup "get_placement_group" Get "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}"
        query None, request Body::None, response Json(ty!(GetPlacementGroupResponse)),
        status 200, page None;
    UpdatePlacementGroup "update_placement_group" Patch "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}"
        query None, request Json(ty!(UpdatePlacementGroupRequest)), response Json(ty!(UpdatePlacementGroupResponse)),
        status 200, page None;
    SetPlacementGroup "set_placement_group" Put "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}"
        query None, request Json(ty!(SetPlacementGroupRequest)), response Json(ty!(SetPlacementGroupResponse)),
        status 200, page None;
    DeletePlacementGroup "delete_placement_group" Delete "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}"
        query None, request Body::None, response Body::None,
        status 204, page None;
    GetPlacementGroupServers "get_placement_group_servers" Get "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}/servers"
        query None, request Body::None, response Json(ty!(GetPlacementGroupServersResponse)),
        status 200, page None;
    SetPlacementGroupServers "set_placement_group_servers" Put "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}/servers"
        query None, request Json(ty!(SetPlacementGroupServersRequest)), response Json(ty!(SetPlacementGroupServersResponse)),
        status 200, page None;
    UpdatePlacementGroupServers "update_placement_group_servers" Patch "/instance/v1/zones/{zone}/placement_groups/{placement_group_id}/servers"
        query None, request Json(ty!(UpdatePlacementGroupServersRequest)), response Json(ty!(UpdatePlacementGroupServersResponse)),
        status 200, page None;
    // Flexible IPs; `{ip}` is an id or an address.
    ListIps "list_ips" Get "/instance/v1/zones/{zone}/ips"
        query Some(ty!(ListIpsQuery)), request Body::None, response Json(ty!(ListIpsResponse)),
        status 200, page Some("ips");
    CreateIp "create_ip" Post "/instance/v1/zones/{zone}/ips"
        query None, request Json(ty!(CreateIpRequest)), response Json(ty!(CreateIpResponse)),
        status 201, page None;
    GetIp "get_ip" Get "/instance/v1/zones/{zone}/ips/{ip}"
        query None, request Body::None, response Json(ty!(GetIpResponse)),
        status 200, page None;
    UpdateIp "update_ip" Patch "/instance/v1/zones/{zone}/ips/{ip}"
        query None, request Json(ty!(UpdateIpRequest)), response Json(ty!(UpdateIpResponse)),
        status 200, page None;
    DeleteIp "delete_ip" Delete "/instance/v1/zones/{zone}/ips/{ip}"
        query None, request Body::None, response Body::None,
        status 204, page None;
    ReleaseIpToIpam "release_ip_to_ipam" Post "/instance/v1/zones/{zone}/ips/{ip_id}/release-to-ipam"
        query None, request Json(ty!(ReleaseIpToIpamRequest)), response Body::None,
        status 204, page None;
    // Private NICs.
    ListPrivateNics "list_private_nics" Get "/instance/v1/zones/{zone}/servers/{server_id}/private_nics"
        query Some(ty!(ListPrivateNicsQuery)), request Body::None, response Json(ty!(ListPrivateNicsResponse)),
        status 200, page Some("private_nics");
    CreatePrivateNic "create_private_nic" Post "/instance/v1/zones/{zone}/servers/{server_id}/private_nics"
        query None, request Json(ty!(CreatePrivateNicRequest)), response Json(ty!(CreatePrivateNicResponse)),
        status 201, page None;
    GetPrivateNic "get_private_nic" Get "/instance/v1/zones/{zone}/servers/{server_id}/private_nics/{private_nic_id}"
        query None, request Body::None, response Json(ty!(GetPrivateNicResponse)),
        status 200, page None;
    // Answers the bare NIC, not `{"private_nic": …}`.
    UpdatePrivateNic "update_private_nic" Patch "/instance/v1/zones/{zone}/servers/{server_id}/private_nics/{private_nic_id}"
        query None, request Json(ty!(UpdatePrivateNicRequest)), response Json(ty!(PrivateNic)),
        status 200, page None;
    DeletePrivateNic "delete_private_nic" Delete "/instance/v1/zones/{zone}/servers/{server_id}/private_nics/{private_nic_id}"
        query None, request Body::None, response Body::None,
        status 204, page None;
    // Dashboard.
    GetDashboard "get_dashboard" Get "/instance/v1/zones/{zone}/dashboard"
        query Some(ty!(GetDashboardQuery)), request Body::None, response Json(ty!(GetDashboardResponse)),
        status 200, page None;
    // User-data values (hand-written in the Go SDK): raw text/plain.
    GetServerUserData "get_server_user_data" Get "/instance/v1/zones/{zone}/servers/{server_id}/user_data/{key}"
        query None, request Body::None, response Text,
        status 200, page None;
    SetServerUserData "set_server_user_data" Patch "/instance/v1/zones/{zone}/servers/{server_id}/user_data/{key}"
        query None, request Text, response Body::None,
        status 204, page None;
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn has_all_76_endpoints_in_operation_order() {
        assert_eq!(ENDPOINTS.len(), 76);
        assert_eq!(Operation::ALL.len(), 76);
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
            assert!(
                e.path.starts_with("/instance/v1/zones/{zone}/"),
                "{}",
                e.path
            );
            assert!(
                matches!(e.success_status, 200 | 201 | 202 | 204),
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
