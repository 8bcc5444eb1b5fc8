//! The interactions replayed but not scored, each with the reason the
//! emulator cannot (or must not) answer as recorded. Printed with the
//! scores; an entry naming an interaction the replay never meets fails it.

use crate::Api;

/// One excluded interaction.
pub struct Exclusion {
    /// Cassette path under `shared/conformance/cassettes`.
    pub cassette: &'static str,
    /// The recorded interaction's `id` (for a collapsed polling loop, the
    /// last GET's, the one compared).
    pub interaction: usize,
    /// Its API (checked against the recording).
    pub api: Api,
    /// Why it is not scored.
    pub reason: &'static str,
}

/// Every exclusion.
pub const EXCLUSIONS: &[Exclusion] = &[];

/// The exclusion of interaction `id` of cassette `name`, if any.
pub fn find(name: &str, id: usize) -> Option<&'static Exclusion> {
    EXCLUSIONS
        .iter()
        .find(|x| x.cassette == name && x.interaction == id)
}
