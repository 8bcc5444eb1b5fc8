//! Pagination over 250 items, stopping on the last page, and one list
//! fanned out over three zones.

mod common;

use std::collections::BTreeSet;

use fleet_core::{CreateIpRequest, ListIpsQuery, Zone};
use fleet_scaleway::{Client, collect_zones, fan_out};
use futures::TryStreamExt;
use futures::future::try_join_all;

async fn create_ips(client: &Client, zone: Zone, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(25) {
        try_join_all(chunk.iter().map(|i| {
            let request = CreateIpRequest {
                tags: Some(vec![format!("n{i}")]),
                ..CreateIpRequest::default()
            };
            let client = client.clone();
            async move { client.create_ip(zone, &request).await }
        }))
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_over_250_items_and_fans_out_over_three_zones() {
    let emu = common::emulator().await;
    let client = common::client(&emu);
    create_ips(&client, Zone::FrPar1, 250).await;
    create_ips(&client, Zone::NlAms1, 100).await;
    emu.clear_call_log();

    // One page: the total comes from X-Total-Count.
    let page = client
        .list_ips(
            Zone::FrPar1,
            &ListIpsQuery {
                per_page: Some(100),
                page: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 50);
    assert_eq!(page.total_count, Some(250));

    // Every item, once: pages 1, 2, 3 and no fourth request.
    emu.clear_call_log();
    let all: Vec<_> = client
        .list_ips_all(Zone::FrPar1, ListIpsQuery::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 250);
    let ids: BTreeSet<_> = all.iter().map(|ip| ip.id.clone()).collect();
    assert_eq!(ids.len(), 250, "no duplicates across pages");
    assert_eq!(common::calls_to(&emu.call_log(), "GET", "/ips").len(), 3);

    // Fan-out: 250, exactly one full page (100), and an empty zone.
    emu.clear_call_log();
    let zones = [Zone::FrPar1, Zone::NlAms1, Zone::PlWaw1];
    let per_zone = collect_zones(&zones, |zone| {
        client.list_ips_all(zone, ListIpsQuery::default())
    })
    .await
    .unwrap();
    let counts: Vec<(Zone, usize)> = per_zone
        .iter()
        .map(|(z, items)| (*z, items.len()))
        .collect();
    assert_eq!(
        counts,
        [(Zone::FrPar1, 250), (Zone::NlAms1, 100), (Zone::PlWaw1, 0)]
    );
    assert!(
        per_zone
            .iter()
            .all(|(zone, items)| items.iter().all(|ip| ip.zone == *zone))
    );
    let log = emu.call_log();
    let lists_in = |zone: &str| {
        log.iter()
            .filter(|c| c.zone.as_deref() == Some(zone) && c.path.ends_with("/ips"))
            .count()
    };
    assert_eq!(lists_in("fr-par-1"), 3);
    assert_eq!(
        lists_in("nl-ams-1"),
        1,
        "a full last page with X-Total-Count reached stops"
    );
    assert_eq!(lists_in("pl-waw-1"), 1, "an empty page stops");

    // The merged stream carries every item tagged with its zone.
    let merged: Vec<(Zone, _)> = fan_out(&zones, |zone| {
        client.list_ips_all(zone, ListIpsQuery::default())
    })
    .try_collect()
    .await
    .unwrap();
    assert_eq!(merged.len(), 350);
    assert_eq!(
        merged.iter().filter(|(z, _)| *z == Zone::NlAms1).count(),
        100
    );

    // A map-shaped list (server types) pages the same way.
    let first = client
        .list_servers_types(Zone::FrPar1, &Default::default())
        .await
        .unwrap();
    let types: Vec<_> = client
        .list_servers_types_all(Zone::FrPar1, Default::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(Some(types.len() as u64), first.total_count);
    emu.shutdown().await;
}
