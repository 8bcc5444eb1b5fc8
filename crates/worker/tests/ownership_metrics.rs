//! The zone-ownership metrics the dashboards query: `fleet.worker.zones.owned`,
//! `fleet.worker.zone_lease.epoch` and `fleet.worker.zone_lease.changes`, recorded where
//! leases are acquired, lost and released. This test binary installs an in-memory meter
//! provider as the global one.

mod ownership_support;

use std::collections::BTreeMap;
use std::time::Duration;

use fleet_core::Zone;
use fleet_scaleway::Client;
use fleet_worker::ownership::{ZONE_LEASE_CHANGES, ZONE_LEASE_EPOCH, ZONES_OWNED};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use ownership_support::{chatty, db, emulator, eventually, scaleway_config, start, worker_config};

const TTL: Duration = Duration::from_secs(1);

/// Points of one u64 metric in the latest export: attributes (sorted `key=value`) → value.
fn points(exporter: &InMemoryMetricExporter, name: &str) -> BTreeMap<String, u64> {
    let exported = exporter.get_finished_metrics().expect("metrics");
    let latest = exported.last().expect("an export");
    let mut out = BTreeMap::new();
    for metric in latest
        .scope_metrics()
        .filter(|sm| sm.scope().name() == "fleet.worker")
        .flat_map(|sm| sm.metrics())
        .filter(|m| m.name() == name)
    {
        let mut add = |attrs: Vec<String>, value: u64| {
            let mut attrs = attrs;
            attrs.sort();
            out.insert(attrs.join(","), value);
        };
        match metric.data() {
            AggregatedMetrics::U64(MetricData::Gauge(g)) => {
                for p in g.data_points() {
                    add(
                        p.attributes()
                            .map(|kv| format!("{}={}", kv.key, kv.value))
                            .collect(),
                        p.value(),
                    );
                }
            }
            AggregatedMetrics::U64(MetricData::Sum(s)) => {
                for p in s.data_points() {
                    add(
                        p.attributes()
                            .map(|kv| format!("{}={}", kv.key, kv.value))
                            .collect(),
                        p.value(),
                    );
                }
            }
            other => panic!("{name} is not a u64 gauge or counter: {other:?}"),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_changes_are_measured() {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    opentelemetry::global::set_meter_provider(provider.clone());

    let (url, pool) = db().await;
    let emu = emulator().await;
    let client = Client::new(scaleway_config(&emu)).unwrap();
    let zones = [Zone::FrPar1, Zone::NlAms1];
    let mut config = worker_config(&url, &emu, &zones, TTL);
    config.worker_id = Some("metrics-worker".to_owned());
    let worker = start(&config, &pool, &client, chatty()).await;
    let held = eventually(
        "the worker to own its zones",
        Duration::from_secs(10),
        || async {
            let held = worker.handle.held_epochs();
            (held.len() == zones.len()).then_some(held)
        },
    )
    .await;

    provider.force_flush().unwrap();
    let owned = points(&exporter, ZONES_OWNED);
    assert_eq!(owned.get("worker_id=metrics-worker"), Some(&2), "{owned:?}");
    let epochs = points(&exporter, ZONE_LEASE_EPOCH);
    for (zone, epoch) in &held {
        assert_eq!(
            epochs.get(&format!("zone={zone}")),
            Some(&u64::try_from(*epoch).unwrap()),
            "{epochs:?}"
        );
    }
    let changes = points(&exporter, ZONE_LEASE_CHANGES);
    for zone in zones {
        assert_eq!(
            changes.get(&format!("change=acquired,zone={zone}")),
            Some(&1),
            "{changes:?}"
        );
    }

    // Cut off from Postgres: the leases run out and are counted as lost.
    worker.handle.stall_renewals(true);
    eventually("the zones to be lost", Duration::from_secs(10), || async {
        worker.handle.held_zones().is_empty().then_some(())
    })
    .await;
    eventually(
        "the losses to be counted",
        Duration::from_secs(10),
        || async {
            provider.force_flush().unwrap();
            let changes = points(&exporter, ZONE_LEASE_CHANGES);
            let owned = points(&exporter, ZONES_OWNED);
            (zones
                .iter()
                .all(|z| changes.get(&format!("change=lost,zone={z}")) == Some(&1))
                && owned.get("worker_id=metrics-worker") == Some(&0))
            .then_some(())
        },
    )
    .await;
    let epochs = points(&exporter, ZONE_LEASE_EPOCH);
    for zone in zones {
        assert_eq!(epochs.get(&format!("zone={zone}")), Some(&0), "{epochs:?}");
    }

    // Back in touch: the zones are taken again, then released on a graceful stop.
    worker.handle.stall_renewals(false);
    eventually(
        "the zones to be owned again",
        Duration::from_secs(15),
        || async { (worker.handle.held_zones().len() == zones.len()).then_some(()) },
    )
    .await;
    worker.stop().await.unwrap();
    provider.force_flush().unwrap();
    let changes = points(&exporter, ZONE_LEASE_CHANGES);
    for zone in zones {
        assert_eq!(
            changes.get(&format!("change=acquired,zone={zone}")),
            Some(&2),
            "{changes:?}"
        );
        assert_eq!(
            changes.get(&format!("change=released,zone={zone}")),
            Some(&1),
            "{changes:?}"
        );
    }
    assert_eq!(
        points(&exporter, ZONES_OWNED).get("worker_id=metrics-worker"),
        Some(&0)
    );
}
