//! Queries of the product endpoints (pagination only). The aliases give
//! each endpoint its own name in the catalog.

use crate::requests::PaginationQuery;

/// Query of `GET products/servers`.
pub type ListServersTypesQuery = PaginationQuery;
/// Query of `GET products/servers/availability`.
pub type GetServerTypesAvailabilityQuery = PaginationQuery;
/// Query of `GET products/volumes`.
pub type ListVolumesTypesQuery = PaginationQuery;
