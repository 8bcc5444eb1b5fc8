//! The Block endpoint table: every Block Storage endpoint, under
//! `/block/v1/zones/{zone}/…` and, for the clients that still call it,
//! `/block/v1alpha1/zones/{zone}/…` (same paths, plus the deprecated
//! `import-from-s3`).
//!
//! Entries are shaped like the Instance catalog's [`Endpoint`] and use its
//! [`Method`], [`TypeRef`], [`Body`] and [`PathParams`], so the table can
//! join it as a second API family. Two differences: one entry stands for
//! the same call in every version that serves it (`versions`, `path` being
//! the template below `/block/{version}`), and lists page with
//! `page`/`page_size` and carry `total_count` in the body.

use std::fmt;

use crate::block::requests::*;
use crate::block::resources::{Snapshot, Volume};
use crate::block::responses::*;
use crate::catalog::{Body, Endpoint, Method, Operation, PathParams, TypeRef};

/// A version of the Block API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BlockVersion {
    /// `v1`: what Terraform calls.
    V1,
    /// `v1alpha1`: what the CLI and the SDKs' Instance helpers call.
    V1alpha1,
}

impl BlockVersion {
    /// Both versions.
    pub const ALL: &'static [BlockVersion] = &[BlockVersion::V1, BlockVersion::V1alpha1];

    /// The path segment, e.g. `v1alpha1`.
    pub const fn as_str(self) -> &'static str {
        match self {
            BlockVersion::V1 => "v1",
            BlockVersion::V1alpha1 => "v1alpha1",
        }
    }

    /// The path prefix, e.g. `/block/v1`.
    pub const fn prefix(self) -> &'static str {
        match self {
            BlockVersion::V1 => "/block/v1",
            BlockVersion::V1alpha1 => "/block/v1alpha1",
        }
    }

    /// Splits a concrete path into its version and the rest
    /// (`/zones/…`); `None` when it is not a Block path.
    pub fn split(path: &str) -> Option<(BlockVersion, &str)> {
        let rest = path.strip_prefix("/block/")?;
        let (segment, rest) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let version = BlockVersion::ALL
            .iter()
            .copied()
            .find(|v| v.as_str() == segment)?;
        Some((version, rest))
    }
}

impl fmt::Display for BlockVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One endpoint of the Block API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockEndpoint {
    /// Stable identifier.
    pub operation: BlockOperation,
    pub method: Method,
    /// Template below `/block/{version}`, e.g. `/zones/{zone}/volumes/{volume_id}`.
    pub path: &'static str,
    /// The versions serving it.
    pub versions: &'static [BlockVersion],
    /// Query-string struct, if the endpoint takes a query.
    pub query: Option<TypeRef>,
    pub request: Body,
    pub response: Body,
    /// 200 (creates included, unlike Instance's 201) or 204 (deletes).
    pub success_status: u16,
    /// For lists: the JSON key of the items (`page`/`page_size` in the
    /// query, `total_count` in the body).
    pub pagination: Option<&'static str>,
}

impl BlockEndpoint {
    /// Operation name, e.g. `get_volume`.
    pub const fn name(&self) -> &'static str {
        self.operation.name()
    }

    /// Whether the endpoint takes `page`/`page_size`.
    pub const fn is_paginated(&self) -> bool {
        self.pagination.is_some()
    }

    /// Whether `version` serves it.
    pub fn serves(&self, version: BlockVersion) -> bool {
        self.versions.contains(&version)
    }

    /// The full template in `version`, e.g.
    /// `/block/v1/zones/{zone}/volumes`; `None` if that version lacks it.
    pub fn template(&self, version: BlockVersion) -> Option<String> {
        self.serves(version)
            .then(|| format!("{}{}", version.prefix(), self.path))
    }

    /// Names of the path parameters, in order (`zone` first).
    pub fn param_names(&self) -> impl Iterator<Item = &'static str> + 'static {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
    }

    /// Matches a concrete request (method case-insensitive; query string,
    /// one trailing slash and percent-escapes as for Instance paths).
    pub fn matches(&self, method: &str, path: &str) -> Option<(BlockVersion, PathParams)> {
        if !self.method.as_str().eq_ignore_ascii_case(method) {
            return None;
        }
        self.match_path(path)
    }

    /// Matches a concrete path, ignoring the method.
    pub fn match_path(&self, path: &str) -> Option<(BlockVersion, PathParams)> {
        let (version, rest) = BlockVersion::split(path)?;
        if !self.serves(version) {
            return None;
        }
        Some((version, self.below_version().match_path(rest)?))
    }

    /// Builds a concrete path in `version` from parameter values
    /// (percent-encoded as needed); `None` if one is missing or the
    /// version lacks the endpoint.
    pub fn render(&self, version: BlockVersion, params: &[(&str, &str)]) -> Option<String> {
        if !self.serves(version) {
            return None;
        }
        let rest = self.below_version().render(params)?;
        Some(format!("{}{rest}", version.prefix()))
    }

    /// Number of literal segments; more is more specific.
    fn literal_segments(&self) -> usize {
        self.path.split('/').filter(|s| !s.starts_with('{')).count()
    }

    /// The template as an Instance-catalog entry, to use its path matcher
    /// and renderer: `PathParams` can only be built by that matcher, and
    /// one matcher keeps both families' path rules the same. Only `path`
    /// and `method` are read; the operation is a stand-in until the
    /// catalog's `Endpoint` is generic over its API family.
    fn below_version(&self) -> Endpoint {
        Endpoint {
            operation: Operation::ALL[0],
            method: self.method,
            path: self.path,
            query: None,
            request: Body::None,
            response: Body::None,
            success_status: self.success_status,
            pagination: None,
        }
    }
}

/// The endpoint serving `method` + `path`, with the version and the
/// parameters. When several templates match, the one with more literal
/// segments wins (`snapshots/import-from-s3` over `snapshots/{snapshot_id}`).
pub fn find(
    method: &str,
    path: &str,
) -> Option<(&'static BlockEndpoint, BlockVersion, PathParams)> {
    BLOCK_ENDPOINTS
        .iter()
        .filter_map(|e| e.matches(method, path).map(|(v, p)| (e, v, p)))
        .max_by_key(|(e, _, _)| e.literal_segments())
}

/// Methods served at `path` (for a 405 answer with `Allow`).
pub fn allowed_methods(path: &str) -> Vec<Method> {
    let mut methods: Vec<Method> = Vec::new();
    for endpoint in BLOCK_ENDPOINTS {
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

/// Declares [`BlockOperation`], its order and its snake_case names.
macro_rules! operations {
    ($( $op:ident $name:literal, )*) => {
        /// Stable identifier of a Block endpoint; `BLOCK_ENDPOINTS[op as usize]` is its entry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum BlockOperation {
            $( #[doc = concat!("`", $name, "`")] $op, )*
        }

        impl BlockOperation {
            /// Every operation, in catalog order.
            pub const ALL: &'static [BlockOperation] = &[$(BlockOperation::$op),*];

            /// snake_case operation name, e.g. `list_volumes`.
            pub const fn name(self) -> &'static str {
                match self {
                    $( BlockOperation::$op => $name, )*
                }
            }
        }
    };
}

operations! {
    ListVolumeTypes "list_volume_types",
    ListVolumes "list_volumes",
    CreateVolume "create_volume",
    GetVolume "get_volume",
    UpdateVolume "update_volume",
    DeleteVolume "delete_volume",
    ListSnapshots "list_snapshots",
    CreateSnapshot "create_snapshot",
    ImportSnapshotFromObjectStorage "import_snapshot_from_object_storage",
    ImportSnapshotFromS3 "import_snapshot_from_s3",
    ExportSnapshotToObjectStorage "export_snapshot_to_object_storage",
    GetSnapshot "get_snapshot",
    UpdateSnapshot "update_snapshot",
    DeleteSnapshot "delete_snapshot",
}

impl BlockOperation {
    /// The catalog entry.
    pub fn endpoint(self) -> &'static BlockEndpoint {
        &BLOCK_ENDPOINTS[self as usize]
    }

    /// Looks an operation up by its snake_case name.
    pub fn from_name(name: &str) -> Option<BlockOperation> {
        BlockOperation::ALL
            .iter()
            .copied()
            .find(|op| op.name() == name)
    }
}

impl fmt::Display for BlockOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Table builders: an entry starts from its method (200 with no bodies,
/// both versions; 204 for deletes) and gains its bodies.
impl BlockEndpoint {
    const fn new(operation: BlockOperation, method: Method, path: &'static str) -> Self {
        BlockEndpoint {
            operation,
            method,
            path,
            versions: BlockVersion::ALL,
            query: None,
            request: Body::None,
            response: Body::None,
            success_status: 200,
            pagination: None,
        }
    }

    const fn list(self, items_key: &'static str, query: TypeRef, response: TypeRef) -> Self {
        BlockEndpoint {
            query: Some(query),
            pagination: Some(items_key),
            ..self.answers(response)
        }
    }

    const fn takes(self, request: TypeRef) -> Self {
        BlockEndpoint {
            request: Body::Json(request),
            ..self
        }
    }

    const fn answers(self, response: TypeRef) -> Self {
        BlockEndpoint {
            response: Body::Json(response),
            ..self
        }
    }

    const fn only_in(self, versions: &'static [BlockVersion]) -> Self {
        BlockEndpoint { versions, ..self }
    }
}

const fn get(operation: BlockOperation, path: &'static str) -> BlockEndpoint {
    BlockEndpoint::new(operation, Method::Get, path)
}

const fn post(operation: BlockOperation, path: &'static str) -> BlockEndpoint {
    BlockEndpoint::new(operation, Method::Post, path)
}

const fn patch(operation: BlockOperation, path: &'static str) -> BlockEndpoint {
    BlockEndpoint::new(operation, Method::Patch, path)
}

const fn delete(operation: BlockOperation, path: &'static str) -> BlockEndpoint {
    BlockEndpoint {
        success_status: 204,
        ..BlockEndpoint::new(operation, Method::Delete, path)
    }
}

const TABLE: &[BlockEndpoint] = {
    use BlockOperation::*;
    &[
        get(ListVolumeTypes, "/zones/{zone}/volume-types").list(
            "volume_types",
            ty!(ListVolumeTypesQuery),
            ty!(ListVolumeTypesResponse),
        ),
        get(ListVolumes, "/zones/{zone}/volumes").list(
            "volumes",
            ty!(ListVolumesQuery),
            ty!(ListVolumesResponse),
        ),
        post(CreateVolume, "/zones/{zone}/volumes")
            .takes(ty!(CreateVolumeRequest))
            .answers(ty!(Volume)),
        get(GetVolume, "/zones/{zone}/volumes/{volume_id}").answers(ty!(Volume)),
        patch(UpdateVolume, "/zones/{zone}/volumes/{volume_id}")
            .takes(ty!(UpdateVolumeRequest))
            .answers(ty!(Volume)),
        // Refused while the volume is `in_use`.
        delete(DeleteVolume, "/zones/{zone}/volumes/{volume_id}"),
        get(ListSnapshots, "/zones/{zone}/snapshots").list(
            "snapshots",
            ty!(ListSnapshotsQuery),
            ty!(ListSnapshotsResponse),
        ),
        post(CreateSnapshot, "/zones/{zone}/snapshots")
            .takes(ty!(CreateSnapshotRequest))
            .answers(ty!(Snapshot)),
        post(
            ImportSnapshotFromObjectStorage,
            "/zones/{zone}/snapshots/import-from-object-storage",
        )
        .takes(ty!(ImportSnapshotFromObjectStorageRequest))
        .answers(ty!(Snapshot)),
        // The deprecated name of the import, v1alpha1 only.
        post(
            ImportSnapshotFromS3,
            "/zones/{zone}/snapshots/import-from-s3",
        )
        .takes(ty!(ImportSnapshotFromObjectStorageRequest))
        .answers(ty!(Snapshot))
        .only_in(&[BlockVersion::V1alpha1]),
        // Answers the snapshot, `exporting`, not a task.
        post(
            ExportSnapshotToObjectStorage,
            "/zones/{zone}/snapshots/{snapshot_id}/export-to-object-storage",
        )
        .takes(ty!(ExportSnapshotToObjectStorageRequest))
        .answers(ty!(Snapshot)),
        get(GetSnapshot, "/zones/{zone}/snapshots/{snapshot_id}").answers(ty!(Snapshot)),
        patch(UpdateSnapshot, "/zones/{zone}/snapshots/{snapshot_id}")
            .takes(ty!(UpdateSnapshotRequest))
            .answers(ty!(Snapshot)),
        delete(DeleteSnapshot, "/zones/{zone}/snapshots/{snapshot_id}"),
    ]
};

// The table is in operation order, so `BLOCK_ENDPOINTS[op as usize]` is
// `op`'s entry; checked when the crate compiles.
const _: () = {
    assert!(TABLE.len() == BlockOperation::ALL.len());
    let mut i = 0;
    while i < TABLE.len() {
        assert!(TABLE[i].operation as usize == i);
        i += 1;
    }
};

/// All Block endpoints: volume types, volumes, snapshots.
pub static BLOCK_ENDPOINTS: &[BlockEndpoint] = TABLE;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::BodyKind;
    use crate::zone::Zone;
    use std::collections::HashSet;

    fn example_params(endpoint: &BlockEndpoint) -> Vec<(&'static str, String)> {
        endpoint
            .param_names()
            .map(|name| match name {
                "zone" => (name, "pl-waw-2".to_owned()),
                other => (name, format!("{other}-5d4309ae")),
            })
            .collect()
    }

    #[test]
    fn operations_and_entries_are_in_one_order() {
        assert_eq!(BLOCK_ENDPOINTS.len(), BlockOperation::ALL.len());
        for (i, op) in BlockOperation::ALL.iter().enumerate() {
            assert_eq!(BLOCK_ENDPOINTS[i].operation, *op);
            assert_eq!(op.endpoint().operation, *op);
            assert_eq!(BlockOperation::from_name(op.name()), Some(*op));
        }
    }

    #[test]
    fn entries_are_distinct_and_consistent() {
        let mut shapes = HashSet::new();
        for e in BLOCK_ENDPOINTS {
            let shape: Vec<&str> = e
                .path
                .split('/')
                .map(|s| if s.starts_with('{') { "{}" } else { s })
                .collect();
            assert!(shapes.insert((e.method, shape)), "{} {}", e.method, e.path);
            assert!(e.path.starts_with("/zones/{zone}/"), "{}", e.path);
            assert!(!e.versions.is_empty(), "{}", e.name());
            assert!(matches!(e.success_status, 200 | 204), "{}", e.name());
            assert_eq!(
                e.success_status == 204,
                e.response.kind() == BodyKind::None,
                "{}",
                e.name()
            );
            assert_eq!(e.is_paginated(), e.query.is_some(), "{}", e.name());
        }
    }

    #[test]
    fn every_template_resolves_to_itself_in_each_version() {
        for e in BLOCK_ENDPOINTS {
            let values = example_params(e);
            let pairs: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, v.as_str())).collect();
            for &version in BlockVersion::ALL {
                let Some(path) = e.render(version, &pairs) else {
                    assert!(!e.serves(version));
                    assert!(e.template(version).is_none());
                    continue;
                };
                assert!(path.starts_with(version.prefix()), "{path}");
                let (found, found_version, params) = find(e.method.as_str(), &path).unwrap();
                assert_eq!(found.operation, e.operation, "{path}");
                assert_eq!(found_version, version);
                assert_eq!(params.zone(), Ok(Zone::PlWaw2));
                let lower = e.method.as_str().to_ascii_lowercase();
                let with_query = format!("{path}/?page=1&page_size=50");
                assert_eq!(
                    find(&lower, &with_query).map(|(f, _, _)| f.operation),
                    Some(e.operation)
                );
            }
        }
    }

    #[test]
    fn literal_actions_win_over_ids_and_versions_are_checked() {
        let (e, version, params) = find(
            "POST",
            "/block/v1alpha1/zones/fr-par-1/snapshots/import-from-s3",
        )
        .unwrap();
        assert_eq!(e.operation, BlockOperation::ImportSnapshotFromS3);
        assert_eq!(version, BlockVersion::V1alpha1);
        assert_eq!(params.len(), 1);
        assert!(find("POST", "/block/v1/zones/fr-par-1/snapshots/import-from-s3").is_none());
        let (e, _, params) = find(
            "POST",
            "/block/v1/zones/fr-par-1/snapshots/051e93f6/export-to-object-storage",
        )
        .unwrap();
        assert_eq!(e.operation, BlockOperation::ExportSnapshotToObjectStorage);
        assert_eq!(params.get("snapshot_id"), Some("051e93f6"));
        assert!(find("GET", "/block/v2/zones/fr-par-1/volumes").is_none());
        assert!(find("GET", "/block/v1beta/zones/fr-par-1/volumes").is_none());
        assert!(find("GET", "/instance/v1/zones/fr-par-1/volumes").is_none());
        assert!(find("GET", "/block/v1/zones/fr-par-1/volumes/").is_some());
        assert!(find("GET", "/block/v1/zones/fr-par-1/volumes/a/b").is_none());
        assert_eq!(
            allowed_methods("/block/v1/zones/fr-par-1/volumes/abc"),
            [Method::Get, Method::Patch, Method::Delete]
        );
    }

    #[test]
    fn spot_checks() {
        let e = BlockOperation::CreateVolume.endpoint();
        assert_eq!((e.method, e.success_status), (Method::Post, 200));
        assert_eq!(e.request.type_name(), Some("CreateVolumeRequest"));
        assert_eq!(e.response.type_name(), Some("Volume"));
        assert_eq!(
            e.template(BlockVersion::V1).as_deref(),
            Some("/block/v1/zones/{zone}/volumes")
        );
        let e = BlockOperation::ListSnapshots.endpoint();
        assert_eq!(e.pagination, Some(ListSnapshotsResponse::ITEMS_KEY));
        assert_eq!(
            BlockOperation::ListVolumes.endpoint().pagination,
            Some(ListVolumesResponse::ITEMS_KEY)
        );
        assert_eq!(
            BlockOperation::ListVolumeTypes.endpoint().pagination,
            Some(ListVolumeTypesResponse::ITEMS_KEY)
        );
        assert_eq!(
            BlockOperation::DeleteSnapshot.endpoint().response.kind(),
            BodyKind::None
        );
    }
}
