//! The kinds of resource the inventory holds.

use std::fmt;
use std::str::FromStr;

/// A kind of resource, as stored in `inventory_resources.kind`. Block volumes and snapshots are
/// `Volume` and `Snapshot` (the row's `api` says which API holds them), as callers see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Server,
    Volume,
    Snapshot,
    Image,
    Ip,
    SecurityGroup,
    PlacementGroup,
    PrivateNic,
}

impl Kind {
    /// Every kind, in the order a full resync visits them.
    pub const ALL: [Kind; 8] = [
        Kind::Server,
        Kind::Volume,
        Kind::Snapshot,
        Kind::Image,
        Kind::Ip,
        Kind::SecurityGroup,
        Kind::PlacementGroup,
        Kind::PrivateNic,
    ];

    /// The stored name (the migration's check constraint lists the same).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Server => "server",
            Kind::Volume => "volume",
            Kind::Snapshot => "snapshot",
            Kind::Image => "image",
            Kind::Ip => "ip",
            Kind::SecurityGroup => "security_group",
            Kind::PlacementGroup => "placement_group",
            Kind::PrivateNic => "private_nic",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind name the inventory does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown inventory kind {0:?}; expected one of server, volume, snapshot, image, ip, security_group, placement_group, private_nic"
)]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_back_from_its_name() {
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>(), Ok(kind));
        }
        assert_eq!(
            "servers".parse::<Kind>(),
            Err(UnknownKind("servers".to_owned()))
        );
    }

    #[test]
    fn the_migration_allows_exactly_these_kinds() {
        let migration = include_str!("../../../migrations/20261202050000_inventory.sql");
        for kind in Kind::ALL {
            assert!(
                migration.contains(&format!("'{}'", kind.as_str())),
                "{kind} missing from the check constraint"
            );
        }
    }
}
