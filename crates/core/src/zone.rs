//! Availability zones of the Instance API.
//!
//! Every Instance path carries the zone as a segment
//! (`/instance/v1/zones/{zone}/…`) and every resource echoes it in its `zone`
//! field, so the zone is a small `Copy` enum rather than a string: a typo
//! fails at the edge with a message that names the bad value. Resource
//! `zone` fields use it too, so a response from a zone opened after this
//! list was written fails to parse: add the zone here when Scaleway opens
//! one (the list is the Go SDK's `API.Zones()`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An Instance API availability zone, e.g. `fr-par-1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Zone {
    /// `fr-par-1`; the default zone of Scaleway's SDKs and tools.
    #[default]
    FrPar1,
    /// `fr-par-2`
    FrPar2,
    /// `fr-par-3`
    FrPar3,
    /// `nl-ams-1`
    NlAms1,
    /// `nl-ams-2`
    NlAms2,
    /// `nl-ams-3`
    NlAms3,
    /// `pl-waw-1`
    PlWaw1,
    /// `pl-waw-2`
    PlWaw2,
    /// `pl-waw-3`
    PlWaw3,
    /// `it-mil-1`
    ItMil1,
}

impl Zone {
    /// The ten zones the current SDK lists (Go `API.Zones()`).
    pub const ALL: [Zone; 10] = [
        Zone::FrPar1,
        Zone::FrPar2,
        Zone::FrPar3,
        Zone::NlAms1,
        Zone::NlAms2,
        Zone::NlAms3,
        Zone::PlWaw1,
        Zone::PlWaw2,
        Zone::PlWaw3,
        Zone::ItMil1,
    ];

    /// The older seven-zone list of earlier API documentation, before
    /// `nl-ams-3`, `pl-waw-3` and `it-mil-1` were opened.
    pub const SEED: [Zone; 7] = [
        Zone::FrPar1,
        Zone::FrPar2,
        Zone::FrPar3,
        Zone::NlAms1,
        Zone::NlAms2,
        Zone::PlWaw1,
        Zone::PlWaw2,
    ];

    /// The zone name as used in paths and bodies, e.g. `fr-par-1`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Zone::FrPar1 => "fr-par-1",
            Zone::FrPar2 => "fr-par-2",
            Zone::FrPar3 => "fr-par-3",
            Zone::NlAms1 => "nl-ams-1",
            Zone::NlAms2 => "nl-ams-2",
            Zone::NlAms3 => "nl-ams-3",
            Zone::PlWaw1 => "pl-waw-1",
            Zone::PlWaw2 => "pl-waw-2",
            Zone::PlWaw3 => "pl-waw-3",
            Zone::ItMil1 => "it-mil-1",
        }
    }

    /// The region holding this zone, e.g. `fr-par` for `fr-par-2`.
    pub const fn region(self) -> &'static str {
        match self {
            Zone::FrPar1 | Zone::FrPar2 | Zone::FrPar3 => "fr-par",
            Zone::NlAms1 | Zone::NlAms2 | Zone::NlAms3 => "nl-ams",
            Zone::PlWaw1 | Zone::PlWaw2 | Zone::PlWaw3 => "pl-waw",
            Zone::ItMil1 => "it-mil",
        }
    }
}

/// A zone name that is not one of [`Zone::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown zone {zone:?}: expected one of fr-par-1, fr-par-2, fr-par-3, nl-ams-1, nl-ams-2, nl-ams-3, pl-waw-1, pl-waw-2, pl-waw-3, it-mil-1"
)]
pub struct UnknownZone {
    /// The rejected input, verbatim.
    pub zone: String,
}

impl FromStr for Zone {
    type Err = UnknownZone;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Zone::ALL
            .into_iter()
            .find(|zone| zone.as_str() == s)
            .ok_or_else(|| UnknownZone { zone: s.to_owned() })
    }
}

impl TryFrom<&str> for Zone {
    type Error = UnknownZone;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for Zone {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Serialize for Zone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_zone_round_trips() {
        for zone in Zone::ALL {
            assert_eq!(zone.as_str().parse::<Zone>().unwrap(), zone);
            assert_eq!(zone.to_string(), zone.as_str());
            let json = serde_json::to_string(&zone).unwrap();
            assert_eq!(json, format!("\"{}\"", zone.as_str()));
            assert_eq!(serde_json::from_str::<Zone>(&json).unwrap(), zone);
            assert!(zone.as_str().starts_with(zone.region()));
        }
        assert!(Zone::SEED.iter().all(|z| Zone::ALL.contains(z)));
        assert_eq!(Zone::FrPar2.region(), "fr-par");
        assert_eq!(Zone::ItMil1.region(), "it-mil");
    }

    #[test]
    fn bad_zone_names_the_input() {
        let err = "fr-par-9".parse::<Zone>().unwrap_err();
        assert_eq!(err.zone, "fr-par-9");
        let msg = err.to_string();
        assert!(
            msg.starts_with("unknown zone \"fr-par-9\": expected one of fr-par-1, "),
            "{msg}"
        );
        assert!(msg.ends_with("it-mil-1"), "{msg}");
        let serde_err = serde_json::from_str::<Zone>("\"FR-PAR-1\"").unwrap_err();
        assert!(serde_err.to_string().contains("\"FR-PAR-1\""));
    }
}
