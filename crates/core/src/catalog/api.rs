//! The two API families of the catalog and what differs between them.

use std::fmt;

/// An API family: where an endpoint lives and how its lists page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Api {
    /// `/instance/v1`: lists take `page`/`per_page`, the total is the
    /// `X-Total-Count` header, creates answer 201.
    Instance,
    /// `/block/v1` (and `/block/v1alpha1`): lists take `page`/`page_size`,
    /// the total is `total_count` in the body, creates answer 200.
    Block,
}

impl Api {
    /// Both families.
    pub const ALL: &'static [Api] = &[Api::Instance, Api::Block];

    /// Label for metrics and logs: `instance` or `block`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Api::Instance => "instance",
            Api::Block => "block",
        }
    }

    /// The path prefix of the version fleet calls.
    pub const fn prefix(self) -> &'static str {
        match self {
            Api::Instance => "/instance/v1/",
            Api::Block => "/block/v1/",
        }
    }

    /// The query parameter giving the page size.
    pub const fn page_size_param(self) -> &'static str {
        match self {
            Api::Instance => "per_page",
            Api::Block => "page_size",
        }
    }

    /// Whether a list's total is `total_count` in the body (else the
    /// `X-Total-Count` header).
    pub const fn total_in_body(self) -> bool {
        matches!(self, Api::Block)
    }

    /// The family a concrete path or template belongs to.
    pub fn of_path(path: &str) -> Option<Api> {
        if path.starts_with("/instance/v1/") {
            Some(Api::Instance)
        } else if path.starts_with(Api::Block.prefix()) || path.starts_with(BLOCK_V1ALPHA1_PREFIX) {
            Some(Api::Block)
        } else {
            None
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The older Block version, still served: every `/block/v1/…` template
/// also matches under this prefix.
pub const BLOCK_V1ALPHA1_PREFIX: &str = "/block/v1alpha1/";
