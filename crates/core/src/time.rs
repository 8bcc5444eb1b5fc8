//! `Timestamp`: an RFC 3339 date-time that writes back exactly what it read.
//!
//! The API sends `2025-11-04T10:16:43.388760+00:00` (microseconds, `+00:00`).
//! Parsing is lenient (any fraction length, `Z`, a space instead of `T`, a
//! missing offset read as UTC) and the original text is kept, so a
//! response re-serialized by the emulator or a client is byte-identical.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// A point in time as the API wrote it.
///
/// Equality, ordering and hashing use the instant, not the text, so
/// `…Z` and `…+00:00` compare equal.
#[derive(Debug, Clone)]
pub struct Timestamp {
    text: String,
    value: OffsetDateTime,
}

/// A string that is not a date-time the API could have sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp {text:?}: expected RFC 3339, e.g. 2025-11-04T10:16:43.388760+00:00")]
pub struct InvalidTimestamp {
    /// The rejected input, verbatim.
    pub text: String,
}

impl Timestamp {
    /// Builds a timestamp in the API's own format (UTC, microseconds,
    /// `+00:00`), as the emulator must emit it.
    pub fn new(value: OffsetDateTime) -> Self {
        let value = value.to_offset(UtcOffset::UTC);
        let format = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00"
        );
        // Formatting a UTC date-time with a fixed description only fails for
        // years outside 0..=9999, which `OffsetDateTime` cannot hold without
        // the `large-dates` feature; fall back to RFC 3339 to stay total.
        let text = value
            .format(&format)
            .or_else(|_| value.format(&Rfc3339))
            .unwrap_or_default();
        Timestamp { text, value }
    }

    /// The current time in the API's format.
    pub fn now() -> Self {
        Timestamp::new(OffsetDateTime::now_utc())
    }

    /// Parses leniently and keeps `text` verbatim.
    pub fn parse(text: &str) -> Result<Self, InvalidTimestamp> {
        let value = parse_lenient(text).ok_or_else(|| InvalidTimestamp {
            text: text.to_owned(),
        })?;
        Ok(Timestamp {
            text: text.to_owned(),
            value,
        })
    }

    /// The text as received (or as produced by [`Timestamp::new`]).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The instant.
    pub const fn datetime(&self) -> OffsetDateTime {
        self.value
    }
}

fn parse_lenient(text: &str) -> Option<OffsetDateTime> {
    let trimmed = text.trim();
    if let Ok(v) = OffsetDateTime::parse(trimmed, &Rfc3339) {
        return Some(v);
    }
    // Some producers write a space between date and time (RFC 3339 allows it
    // in prose, the `time` parser does not).
    let with_t = if trimmed.len() > 10 && trimmed.as_bytes()[10] == b' ' {
        format!("{}T{}", &trimmed[..10], &trimmed[11..])
    } else {
        trimmed.to_owned()
    };
    if let Ok(v) = OffsetDateTime::parse(&with_t, &Rfc3339) {
        return Some(v);
    }
    // A date-time without offset is taken as UTC, which is what the API uses.
    OffsetDateTime::parse(&format!("{with_t}Z"), &Rfc3339).ok()
}

impl From<OffsetDateTime> for Timestamp {
    fn from(value: OffsetDateTime) -> Self {
        Timestamp::new(value)
    }
}

impl From<Timestamp> for OffsetDateTime {
    fn from(ts: Timestamp) -> Self {
        ts.value
    }
}

impl FromStr for Timestamp {
    type Err = InvalidTimestamp;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(s)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for Timestamp {}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}

impl Hash for Timestamp {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_api_text() {
        let raw = "2025-11-04T10:16:43.388760+00:00";
        let ts: Timestamp = serde_json::from_str(&format!("\"{raw}\"")).unwrap();
        assert_eq!(ts.as_str(), raw);
        assert_eq!(serde_json::to_string(&ts).unwrap(), format!("\"{raw}\""));
        assert_eq!(ts.datetime().microsecond(), 388_760);
    }

    #[test]
    fn parses_leniently() {
        let canonical = Timestamp::parse("2025-11-04T10:16:43.388760+00:00").unwrap();
        for text in [
            "2025-11-04T10:16:43.38876Z",
            "2025-11-04 10:16:43.388760+00:00",
            "2025-11-04T10:16:43.388760",
            "2025-11-04T11:16:43.388760+01:00",
        ] {
            let ts = Timestamp::parse(text).unwrap();
            assert_eq!(ts, canonical, "{text}");
            assert_eq!(ts.as_str(), text);
        }
        let err = Timestamp::parse("yesterday").unwrap_err();
        assert!(err.to_string().contains("\"yesterday\""));
    }

    #[test]
    fn new_uses_the_api_format() {
        let ts = Timestamp::parse("2025-11-04T11:16:43.5+01:00").unwrap();
        let again = Timestamp::new(ts.datetime());
        assert_eq!(again.as_str(), "2025-11-04T10:16:43.500000+00:00");
    }
}
