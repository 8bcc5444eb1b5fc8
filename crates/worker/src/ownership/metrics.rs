//! The ownership metrics on the global meter `fleet.worker`, recorded where leases change.

use fleet_core::Zone;
use opentelemetry::KeyValue;

/// Names of the ownership metrics (dashboards query them).
pub const ZONES_OWNED: &str = "fleet.worker.zones.owned";
pub const ZONE_LEASE_EPOCH: &str = "fleet.worker.zone_lease.epoch";
pub const ZONE_LEASE_CHANGES: &str = "fleet.worker.zone_lease.changes";

/// A change of a held lease, as counted by [`ZONE_LEASE_CHANGES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LeaseChange {
    Acquired,
    Lost,
    Released,
}

impl LeaseChange {
    fn as_str(self) -> &'static str {
        match self {
            LeaseChange::Acquired => "acquired",
            LeaseChange::Lost => "lost",
            LeaseChange::Released => "released",
        }
    }
}

struct OwnershipMetrics {
    owned: opentelemetry::metrics::Gauge<u64>,
    epoch: opentelemetry::metrics::Gauge<u64>,
    changes: opentelemetry::metrics::Counter<u64>,
}

fn metrics() -> &'static OwnershipMetrics {
    static METRICS: std::sync::OnceLock<OwnershipMetrics> = std::sync::OnceLock::new();
    METRICS.get_or_init(|| {
        let meter = opentelemetry::global::meter("fleet.worker");
        OwnershipMetrics {
            owned: meter
                .u64_gauge(ZONES_OWNED)
                .with_description("Zones held by the worker")
                .build(),
            epoch: meter
                .u64_gauge(ZONE_LEASE_EPOCH)
                .with_description("Fencing epoch of the held lease of a zone (0 once given up)")
                .build(),
            changes: meter
                .u64_counter(ZONE_LEASE_CHANGES)
                .with_description("Zone lease changes: acquired, lost or released")
                .build(),
        }
    })
}

/// Records a change of `zone`'s lease held by `worker_id`, and the zones it holds after it.
pub(super) fn record_lease_change(
    worker_id: &str,
    zone: Zone,
    epoch: i64,
    change: LeaseChange,
    held: usize,
) {
    let metrics = metrics();
    let zone_attr = KeyValue::new("zone", zone.as_str());
    metrics.changes.add(
        1,
        &[zone_attr.clone(), KeyValue::new("change", change.as_str())],
    );
    let epoch = match change {
        LeaseChange::Acquired => u64::try_from(epoch).unwrap_or(0),
        LeaseChange::Lost | LeaseChange::Released => 0,
    };
    metrics.epoch.record(epoch, &[zone_attr]);
    metrics.owned.record(
        held as u64,
        &[KeyValue::new("worker_id", worker_id.to_owned())],
    );
}
