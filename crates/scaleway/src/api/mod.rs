//! Typed methods, one per endpoint of `fleet_core`'s catalog (all 76),
//! grouped by resource. Every method takes the zone first, then the path
//! parameters in template order, then the query or body. Single objects
//! come back unwrapped from their envelope (`{"server": …}` → `Server`);
//! lists come back as a [`crate::Page`] and, with `…_all`, as a stream of
//! every item.

mod block_migration;
mod dashboard;
mod image;
mod ip;
mod placement_group;
mod private_nic;
mod product;
mod security_group;
mod server;
mod snapshot;
mod volume;
