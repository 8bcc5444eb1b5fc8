//! The interactions replayed but not scored, each with the reason the
//! emulator cannot (or must not) answer as recorded. Printed with the
//! scores; an entry naming an interaction the replay never meets (of the
//! named API) fails it, so the list cannot go stale.

use crate::Api;

/// Interactions of one cassette excluded for one reason.
pub struct Exclusion {
    /// Cassette path under `shared/conformance/cassettes`.
    pub cassette: &'static str,
    /// The recorded interactions' `id`s (for a collapsed polling loop, the
    /// last GET's, the one compared).
    pub interactions: &'static [usize],
    /// Their API (checked against the recording).
    pub api: Api,
    /// Why they are not scored.
    pub reason: &'static str,
}

/// Every exclusion.
pub static EXCLUSIONS: &[Exclusion] = &[
    Exclusion {
        cassette: "terraform-provider-scaleway/ip-reverse-dns-basic.cassette.yaml",
        interactions: &[13, 14, 15, 16, 17],
        api: Api::InstanceV1,
        reason: "PATCH ips/{id} reverse: the real API refuses a reverse until the name resolves \
                 in DNS (400 until DNS propagates, then 200); the emulator cannot query DNS and \
                 accepts any well-formed name",
    },
    Exclusion {
        cassette: "terraform-provider-scaleway/snapshot-from-s3.cassette.yaml",
        interactions: &[13, 38, 39, 54],
        api: Api::InstanceV1,
        reason: "snapshot imported from an object the emulator never saw: its size (1 GiB) is \
                 the object's; the emulator assumes 10 GB for objects it did not export itself",
    },
    Exclusion {
        cassette: "terraform-provider-scaleway-block/snapshot-from-s3.cassette.yaml",
        interactions: &[13, 29],
        api: Api::Block,
        reason: "as for the Instance import: the imported object's size (1 GiB) comes from a \
                 file the emulator never saw",
    },
    Exclusion {
        cassette: "terraform-provider-scaleway-block/snapshot-to-s3.cassette.yaml",
        interactions: &[56],
        api: Api::Block,
        reason: "GET of a new snapshot recorded still `creating`; the emulator's is `available` \
                 by then (a GET can wait for a later state, not an earlier one)",
    },
    Exclusion {
        cassette: "terraform-provider-scaleway/action-instance-export-snapshot-local.cassette.yaml",
        interactions: &[46, 61, 88],
        api: Api::InstanceV1,
        reason: "GETs of a snapshot recorded `exporting` for minutes; the emulator's export \
                 lasts one transition, so it is `available` by then (a GET cannot wait for an \
                 earlier state)",
    },
    Exclusion {
        cassette: "scaleway-cli/test-ip-list-simple.cassette.yaml",
        interactions: &[1],
        api: Api::InstanceV1,
        reason: "GET ips lists an IP the recording account held before the test began (attached \
                 to a server created outside the cassette); the emulator starts empty",
    },
    Exclusion {
        cassette: "scaleway-cli/test-list-server-simple.cassette.yaml",
        interactions: &[0],
        api: Api::InstanceV1,
        reason: "GET servers lists 3 servers created outside the cassette; the emulator starts \
                 empty",
    },
    Exclusion {
        cassette: "scaleway-sdk-go/test-list-server-multiple-zones.cassette.yaml",
        interactions: &[0, 8, 9],
        api: Api::InstanceV1,
        reason: "GET servers in it-mil-1, fr-par-2 and fr-par-1 lists servers created outside the \
                 cassette (the test only lists); the emulator starts empty",
    },
];

/// The exclusion of interaction `id` of cassette `name`, if any.
pub fn find(name: &str, id: usize) -> Option<&'static Exclusion> {
    EXCLUSIONS
        .iter()
        .find(|x| x.cassette == name && x.interactions.contains(&id))
}
