//! Metrics of Block calls: the same instruments as Instance calls, told
//! apart by the `api` attribute (collected with an in-memory exporter; its
//! own test binary, since the meter provider is process-global and must be
//! installed before the instruments are made).

mod common;

use std::collections::BTreeMap;

use common::mock::{Mock, Reply, volume};
use fleet_core::Zone;
use fleet_scaleway::Client;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use serde_json::json;

type Attributes = BTreeMap<String, String>;

/// Every data point of `name` as (attributes, count or value).
fn points(exported: &[ResourceMetrics], name: &str) -> Vec<(Attributes, u64)> {
    let collect = |attributes: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| -> Attributes {
        attributes
            .map(|kv| (kv.key.to_string(), kv.value.as_str().into_owned()))
            .collect()
    };
    let mut out = Vec::new();
    for metric in exported
        .iter()
        .flat_map(|rm| rm.scope_metrics())
        .flat_map(|sm| sm.metrics())
        .filter(|m| m.name() == name)
    {
        match metric.data() {
            AggregatedMetrics::F64(MetricData::Histogram(h)) => out.extend(
                h.data_points()
                    .map(|p| (collect(&mut p.attributes()), p.count())),
            ),
            AggregatedMetrics::U64(MetricData::Sum(s)) => out.extend(
                s.data_points()
                    .map(|p| (collect(&mut p.attributes()), p.value())),
            ),
            other => panic!("{name}: unexpected data {other:?}"),
        }
    }
    out
}

fn with<'a>(points: &'a [(Attributes, u64)], pairs: &[(&str, &str)]) -> Vec<&'a (Attributes, u64)> {
    points
        .iter()
        .filter(|(attributes, _)| {
            pairs
                .iter()
                .all(|(k, v)| attributes.get(*k).map(String::as_str) == Some(*v))
        })
        .collect()
}

#[tokio::test]
async fn block_calls_share_the_instruments_with_an_api_attribute() {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    opentelemetry::global::set_meter_provider(provider.clone());

    let throttled = Reply {
        status: 429,
        body: String::new(),
        headers: vec![("retry-after", "0".to_owned())],
    };
    let mock = Mock::scripted(vec![
        (
            "GET",
            "/block/v1/zones/fr-par-1/volumes/v1".to_owned(),
            vec![throttled, Reply::json(200, volume("v1", "available", &[]))],
        ),
        (
            "GET",
            "/instance/v1/zones/fr-par-1/ips/ip-1".to_owned(),
            vec![Reply::json(200, json!({"ip": {"id": "ip-1"}}))],
        ),
    ])
    .await;
    let client = Client::new(common::config_at(&mock.url)).unwrap();
    client.block_get_volume(Zone::FrPar1, "v1").await.unwrap();
    client.get_ip(Zone::FrPar1, "ip-1").await.unwrap();
    client.acquire(Zone::FrPar1).await.unwrap();
    provider.force_flush().unwrap();
    let exported = exporter.get_finished_metrics().unwrap();

    let durations = points(&exported, "http.client.request.duration");
    let block = "/block/v1/zones/{zone}/volumes/{volume_id}";
    let instance = "/instance/v1/zones/{zone}/ips/{ip}";
    for (api, template, status) in [
        ("block", block, "429"),
        ("block", block, "200"),
        ("instance", instance, "200"),
    ] {
        let found = with(
            &durations,
            &[
                ("api", api),
                ("url.template", template),
                ("http.response.status_code", status),
            ],
        );
        assert_eq!(found.len(), 1, "{api} {status}: {durations:?}");
        assert_eq!(found[0].1, 1);
    }
    assert!(
        durations.iter().all(|(a, _)| a.contains_key("api")),
        "{durations:?}"
    );

    let throttles = points(&exported, "fleet.scaleway.throttled");
    assert_eq!(throttles.len(), 1, "{throttles:?}");
    assert_eq!(
        with(&throttles, &[("zone", "fr-par-1"), ("api", "block")])[0].1,
        1
    );

    // Two Block attempts, one Instance call, one token taken ahead of work.
    let waits = points(&exported, "fleet.scaleway.ratelimit.wait.duration");
    assert_eq!(
        with(&waits, &[("zone", "fr-par-1"), ("api", "block")])[0].1,
        2
    );
    assert_eq!(with(&waits, &[("api", "instance")])[0].1, 1);
    let ahead: Vec<_> = waits
        .iter()
        .filter(|(a, _)| !a.contains_key("api"))
        .collect();
    assert_eq!(ahead.len(), 1, "{waits:?}");
    assert_eq!(ahead[0].1, 1);
}
