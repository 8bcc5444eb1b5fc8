//! Small deterministic helpers: seeded ids, timestamps in the API's format,
//! MAC and IP address generation.

use std::time::SystemTime;

use time::OffsetDateTime;
use uuid::Uuid;

/// SplitMix64: tiny, fast, and good enough to make ids and fault decisions
/// reproducible under a seed (no dependency on a RNG crate's stream format).
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// A version-4 UUID from the stream.
    pub fn uuid(&mut self) -> Uuid {
        let hi = self.next_u64().to_be_bytes();
        let lo = self.next_u64().to_be_bytes();
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&hi);
        b[8..].copy_from_slice(&lo);
        uuid::Builder::from_random_bytes(b).into_uuid()
    }
}

/// The SplitMix64 finaliser: a stateless 64-bit hash.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform float in [0, 1) from 64 random bits.
pub fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// RFC 3339 with microseconds and `+00:00`, as the Instance API writes timestamps.
pub fn rfc3339(t: SystemTime) -> String {
    rfc3339_with_offset(t, "+00:00")
}

/// RFC 3339 with microseconds and `Z`, as the Block API writes timestamps.
pub fn rfc3339_z(t: SystemTime) -> String {
    rfc3339_with_offset(t, "Z")
}

fn rfc3339_with_offset(t: SystemTime, offset: &str) -> String {
    let dt = OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}{offset}",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.microsecond()
    )
}

/// `YYYY-MM-DD_HH-MM`, used in default backup image names.
pub fn backup_stamp(t: SystemTime) -> String {
    let dt = OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}_{:02}-{:02}",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute()
    )
}

/// Parse a lowercase-or-uppercase UUID path segment or body value.
pub fn parse_uuid(s: &str) -> Option<Uuid> {
    if s.len() != 36 {
        return None;
    }
    Uuid::parse_str(s).ok()
}
