//! Pagination over 250 items, stopping on the last page, and one list
//! fanned out over three zones; the same for Block lists, which page with
//! `page_size` and carry `total_count` in the body (a scripted API).

mod common;

use std::collections::BTreeSet;

use std::collections::BTreeMap;

use common::mock::{Mock, Reply, Seen, snapshot, volume};
use fleet_core::block::{ListSnapshotsQuery, ListVolumesQuery};
use fleet_core::catalog::Operation;
use fleet_core::{CreateIpRequest, ListIpsQuery, Zone};
use fleet_scaleway::{Client, collect_zones, fan_out};
use futures::TryStreamExt;
use futures::future::try_join_all;
use serde_json::{Value, json};

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

/// A Block list of `total` items (`item(i)`): pages by `page`/`page_size`
/// (default 50, as the API documents none), the total in the body only.
fn block_page(seen: &Seen, key: &str, total: usize, item: impl Fn(usize) -> Value) -> Reply {
    let page: usize = seen.param("page").map_or(1, |p| p.parse().unwrap());
    let size: usize = seen.param("page_size").map_or(50, |p| p.parse().unwrap());
    let items: Vec<Value> = ((page - 1) * size..(page * size).min(total))
        .map(item)
        .collect();
    Reply::json(200, json!({key: items, "total_count": total}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_lists_page_with_page_size_and_the_total_in_the_body() {
    let volumes: BTreeMap<&str, usize> = [("fr-par-1", 250), ("nl-ams-1", 100), ("pl-waw-1", 0)]
        .into_iter()
        .collect();
    let mock = Mock::start(move |seen| {
        let zone = seen.path.split('/').nth(4).unwrap_or_default().to_owned();
        if seen.path.ends_with("/snapshots") {
            return block_page(seen, "snapshots", 120, |i| {
                snapshot(&format!("s{i}"), "available")
            });
        }
        let total = volumes.get(zone.as_str()).copied().unwrap_or(0);
        block_page(seen, "volumes", total, |i| {
            volume(&format!("{zone}-v{i}"), "available", &[])
        })
    })
    .await;
    let client = Client::new(common::config_at(&mock.url)).unwrap();

    // One page, chosen by the query's own page/page_size.
    let page = client
        .block_list_volumes(
            Zone::FrPar1,
            &ListVolumesQuery {
                page: Some(3),
                page_size: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 50);
    assert_eq!(page.total_count, Some(250), "read from the body");

    // Every item: three pages of page_size=100, the filter on each.
    let before = mock.seen().len();
    let query = ListVolumesQuery {
        tags: Some(vec!["team-a".to_owned()]),
        page_size: Some(7),
        ..Default::default()
    };
    let all: Vec<_> = client
        .block_list_volumes_all(Zone::FrPar1, query)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 250);
    let ids: BTreeSet<_> = all.iter().map(|v| v.id.clone()).collect();
    assert_eq!(ids.len(), 250, "no duplicates across pages");
    let requests: Vec<Seen> = mock.seen().split_off(before);
    let pages: Vec<(Option<&str>, Option<&str>)> = requests
        .iter()
        .map(|r| (r.param("page"), r.param("page_size")))
        .collect();
    assert_eq!(
        pages,
        [
            (Some("1"), Some("100")),
            (Some("2"), Some("100")),
            (Some("3"), Some("100"))
        ]
    );
    assert!(requests.iter().all(|r| r.param("per_page").is_none()));
    assert!(requests.iter().all(|r| r.param("tags") == Some("team-a")));

    // Fan-out: a full single page ends on the total; an empty zone at once.
    let before = mock.seen().len();
    let zones = [Zone::FrPar1, Zone::NlAms1, Zone::PlWaw1];
    let per_zone = collect_zones(&zones, |zone| {
        client.block_list_volumes_all(zone, ListVolumesQuery::default())
    })
    .await
    .unwrap();
    let counts: Vec<usize> = per_zone.iter().map(|(_, items)| items.len()).collect();
    assert_eq!(counts, [250, 100, 0]);
    let requests = mock.seen().split_off(before);
    let lists_in = |zone: &str| requests.iter().filter(|r| r.path.contains(zone)).count();
    assert_eq!(
        (
            lists_in("fr-par-1"),
            lists_in("nl-ams-1"),
            lists_in("pl-waw-1")
        ),
        (3, 1, 1)
    );

    // Snapshots page the same way.
    let snapshots: Vec<_> = client
        .block_list_snapshots_all(Zone::FrPar1, ListSnapshotsQuery::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(snapshots.len(), 120);

    // A raw call reports the body's total like the header's.
    let answer = client
        .invoke(
            Operation::BlockListVolumes,
            Zone::FrPar1,
            &BTreeMap::new(),
            &[("page_size".to_owned(), "10".to_owned())],
            None,
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.total_count, Some(250));
}

/// Instance v2alpha1 lists page by token: the stream follows
/// `next_page_token` over three pages of 250 interfaces, each item once,
/// and stops on the page without a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2alpha1_lists_follow_the_page_token() {
    use fleet_core::v2alpha1::{
        CreatePrivateNetworkInterfaceRequest, ListPrivateNetworkInterfacesQuery,
    };
    let emu = common::emulator().await;
    let client = common::client(&emu);
    let zone = Zone::FrPar1;
    for chunk in (0..250).collect::<Vec<u32>>().chunks(25) {
        try_join_all(chunk.iter().map(|_| {
            let request = CreatePrivateNetworkInterfaceRequest {
                private_network_id: Some("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d".into()),
                ..Default::default()
            };
            let client = client.clone();
            async move {
                client
                    .v2alpha1_create_private_network_interface(zone, &request)
                    .await
            }
        }))
        .await
        .unwrap();
    }
    let first = client
        .v2alpha1_list_private_network_interfaces(
            zone,
            &ListPrivateNetworkInterfacesQuery {
                page_size: Some(100),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((first.items.len(), first.total_count), (100, Some(250)));
    let token = first
        .next_page_token
        .clone()
        .expect("a first page of three names the next");
    let second = client
        .v2alpha1_list_private_network_interfaces(
            zone,
            &ListPrivateNetworkInterfacesQuery {
                page_size: Some(100),
                page_token: Some(token),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(second.items.len(), 100);
    assert!(second.items.iter().all(|n| !first.items.contains(n)));

    emu.clear_call_log();
    let all: Vec<_> = client
        .v2alpha1_list_private_network_interfaces_all(zone, Default::default())
        .try_collect()
        .await
        .unwrap();
    let ids: BTreeSet<&str> = all.iter().map(|n| n.id.as_str()).collect();
    assert_eq!((all.len(), ids.len()), (250, 250));
    assert_eq!(
        common::calls_to(&emu.call_log(), "GET", "/private-network-interfaces").len(),
        3
    );
    emu.shutdown().await;
}
