//! The three API families of the catalog and what differs between them.

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
    /// `/instance/v2alpha1` (private network interfaces, placement groups):
    /// lists take `page_token`/`page_size` and answer `next_page_token`,
    /// the total is `total_count` in the body, creates answer 200.
    InstanceV2Alpha1,
}

/// How a family's lists are paged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Paging {
    /// `page` (1-based) and a page size; the total says when to stop.
    Numbered,
    /// [`Paging::TOKEN_PARAM`] set to the previous page's
    /// [`Paging::NEXT_TOKEN_KEY`], absent on the first request; the last
    /// page has none.
    Token,
}

impl Paging {
    /// The query parameter naming the page to read ([`Paging::Token`]).
    pub const TOKEN_PARAM: &'static str = "page_token";
    /// The body key naming the next page ([`Paging::Token`]).
    pub const NEXT_TOKEN_KEY: &'static str = "next_page_token";
}

impl Api {
    /// Every family.
    pub const ALL: &'static [Api] = &[Api::Instance, Api::Block, Api::InstanceV2Alpha1];

    /// Label for metrics and logs: `instance`, `block` or `instance_v2alpha1`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Api::Instance => "instance",
            Api::Block => "block",
            Api::InstanceV2Alpha1 => "instance_v2alpha1",
        }
    }

    /// The path prefix of the version fleet calls.
    pub const fn prefix(self) -> &'static str {
        match self {
            Api::Instance => "/instance/v1/",
            Api::Block => "/block/v1/",
            Api::InstanceV2Alpha1 => "/instance/v2alpha1/",
        }
    }

    /// How the family's lists are paged.
    pub const fn paging(self) -> Paging {
        match self {
            Api::Instance | Api::Block => Paging::Numbered,
            Api::InstanceV2Alpha1 => Paging::Token,
        }
    }

    /// The query parameter giving the page size.
    pub const fn page_size_param(self) -> &'static str {
        match self {
            Api::Instance => "per_page",
            Api::Block | Api::InstanceV2Alpha1 => "page_size",
        }
    }

    /// Whether a list's total is `total_count` in the body (else the
    /// `X-Total-Count` header).
    pub const fn total_in_body(self) -> bool {
        matches!(self, Api::Block | Api::InstanceV2Alpha1)
    }

    /// The key naming a resource's project in bodies and list filters:
    /// `project` (Instance v1), `project_id` (the others).
    pub const fn project_key(self) -> &'static str {
        match self {
            Api::Instance => "project",
            Api::Block | Api::InstanceV2Alpha1 => "project_id",
        }
    }

    /// Whether single objects come inside an envelope (`{"server": …}`,
    /// Instance v1) rather than bare.
    pub const fn wraps_objects(self) -> bool {
        matches!(self, Api::Instance)
    }

    /// The family a concrete path or template belongs to.
    pub fn of_path(path: &str) -> Option<Api> {
        if path.starts_with(Api::Instance.prefix()) {
            Some(Api::Instance)
        } else if path.starts_with(Api::InstanceV2Alpha1.prefix()) {
            Some(Api::InstanceV2Alpha1)
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
