//! Pagination: one page at a time ([`Page`]), every item of every page as a
//! stream ([`paginate`]), and one list fanned out over several zones
//! ([`fan_out`], [`collect_zones`]).
//!
//! Both API families page with `page` (1-based) and a page size, and give
//! the total over all pages; where, the operation's
//! [`Api`] says, so that one code path serves both:
//!
//! | family | page size parameter ([`Api::page_size_param`]) | total ([`Api::total_in_body`]) |
//! |---|---|---|
//! | Instance | `per_page` | the `X-Total-Count` header |
//! | Block | `page_size` | `total_count` in the body |
//!
//! [`paginate`] asks for 100 items a page (both families' maximum) from
//! page 1 on and stops after the page that brings the count of items to
//! the total, on an empty page, or — when no total came — on a page
//! shorter than asked for.

use std::future::Future;

use fleet_core::Zone;
use fleet_core::catalog::{Api, Endpoint};
use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{Body, Client, decode, query_pairs};
use crate::endpoint::Operation;
use crate::error::Result;

/// Items per page asked for by [`paginate`]: the maximum of both families.
pub const PAGE_SIZE: u32 = 100;

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Items over all pages, when the API gave it (`X-Total-Count` for
    /// Instance, the body's `total_count` for Block).
    pub total_count: Option<u64>,
}

/// Where a page request goes: `page` is 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based page number.
    pub page: i32,
    /// Items per page, sent as the family's page-size parameter.
    pub page_size: u32,
}

impl Client {
    /// One page of the list `op`: `query` flattened and, when `at` is
    /// given, its `page` and page-size parameters replaced by `at`'s; the
    /// items picked from the decoded body by `items`, the total from the
    /// response (see [`list_total`]).
    pub(crate) async fn list_page<Q, R, T>(
        &self,
        op: Operation,
        zone: Zone,
        params: &[&str],
        query: &Q,
        at: Option<PageRequest>,
        items: impl FnOnce(R) -> Vec<T>,
    ) -> Result<Page<T>>
    where
        Q: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let mut pairs = query_pairs(Some(query))?;
        if let Some(at) = at {
            set_page(&mut pairs, op.api(), at);
        }
        let response = self.send(op, zone, params, pairs, Body::Empty).await?;
        let total_count = response.total_count;
        Ok(Page {
            items: items(decode(op, &response)?),
            total_count,
        })
    }
}

/// Replaces the paging parameters of `pairs` with `at`, under the names
/// `api` uses.
fn set_page(pairs: &mut Vec<(String, String)>, api: Api, at: PageRequest) {
    let size = api.page_size_param();
    pairs.retain(|(key, _)| key != "page" && key != size);
    pairs.push(("page".to_owned(), at.page.to_string()));
    pairs.push((size.to_owned(), at.page_size.to_string()));
}

/// The total over all pages that a response of `endpoint` gives: the
/// `X-Total-Count` header (`header`) for Instance, `total_count` in the
/// body of a Block list. Read for raw callers ([`Client::invoke`]) too, so
/// that a list's total means the same whatever the family.
pub(crate) fn list_total(endpoint: &Endpoint, header: Option<&str>, body: &[u8]) -> Option<u64> {
    if !endpoint.api().total_in_body() {
        return header.and_then(|v| v.trim().parse().ok());
    }
    #[derive(serde::Deserialize)]
    struct Total {
        total_count: Option<u64>,
    }
    if !endpoint.is_paginated() {
        return None;
    }
    serde_json::from_slice::<Total>(body).ok()?.total_count
}

struct State<F> {
    fetch: F,
    page: i32,
    seen: u64,
    done: bool,
}

/// Streams every item of a list, fetching pages with `fetch` in order.
pub fn paginate<T, F, Fut>(fetch: F) -> impl Stream<Item = Result<T>> + Send
where
    T: Send + 'static,
    F: FnMut(PageRequest) -> Fut + Send,
    Fut: Future<Output = Result<Page<T>>> + Send,
{
    let state = State {
        fetch,
        page: 1,
        seen: 0,
        done: false,
    };
    stream::try_unfold(state, |mut state| async move {
        if state.done {
            return Ok::<_, crate::error::Error>(None);
        }
        let request = PageRequest {
            page: state.page,
            page_size: PAGE_SIZE,
        };
        let page = (state.fetch)(request).await?;
        if page.items.is_empty() {
            return Ok(None);
        }
        let count = u64::try_from(page.items.len()).unwrap_or(u64::MAX);
        state.seen = state.seen.saturating_add(count);
        state.page = state.page.saturating_add(1);
        state.done = match page.total_count {
            Some(total) => state.seen >= total,
            None => count < u64::from(PAGE_SIZE),
        };
        Ok(Some((stream::iter(page.items.into_iter().map(Ok)), state)))
    })
    .try_flatten()
}

/// Runs `list` in every zone concurrently and merges the streams, tagging
/// each item with its zone. Items of one zone keep their order.
pub fn fan_out<T, S, F>(zones: &[Zone], list: F) -> BoxStream<'static, Result<(Zone, T)>>
where
    T: Send + 'static,
    S: Stream<Item = Result<T>> + Send + 'static,
    F: Fn(Zone) -> S,
{
    let streams = zones
        .iter()
        .map(|&zone| list(zone).map_ok(move |item| (zone, item)).boxed())
        .collect::<Vec<_>>();
    stream::select_all(streams).boxed()
}

/// Runs `list` in every zone concurrently and collects each zone's items,
/// in the order of `zones`. The first error of any zone is returned.
pub async fn collect_zones<T, S, F>(zones: &[Zone], list: F) -> Result<Vec<(Zone, Vec<T>)>>
where
    S: Stream<Item = Result<T>>,
    F: Fn(Zone) -> S,
{
    let futures = zones.iter().map(|&zone| {
        let stream = list(zone);
        async move {
            stream
                .try_collect::<Vec<T>>()
                .await
                .map(|items| (zone, items))
        }
    });
    futures::future::try_join_all(futures).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn pages(
        total: u32,
        send_total: bool,
        calls: Arc<AtomicU32>,
    ) -> impl Stream<Item = Result<u32>> {
        paginate(move |req: PageRequest| {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::Relaxed);
                let start = u32::try_from(req.page - 1).unwrap_or(0) * req.page_size;
                let end = (start + req.page_size).min(total);
                Ok(Page {
                    items: (start..end.max(start)).collect(),
                    total_count: send_total.then_some(u64::from(total)),
                })
            }
        })
    }

    #[tokio::test]
    async fn stops_on_the_last_page() {
        for (total, with_header, expected_calls) in [
            (250, true, 3),
            (200, true, 2),
            (0, true, 1),
            (250, false, 3),
            (200, false, 3), // the third, empty page ends it
        ] {
            let calls = Arc::new(AtomicU32::new(0));
            let items: Vec<u32> = pages(total, with_header, calls.clone())
                .try_collect()
                .await
                .unwrap();
            assert_eq!(items, (0..total).collect::<Vec<_>>());
            assert_eq!(
                calls.load(Ordering::Relaxed),
                expected_calls,
                "total {total}, header {with_header}"
            );
        }
    }

    #[test]
    fn page_parameters_are_the_familys() {
        let at = PageRequest {
            page: 3,
            page_size: 100,
        };
        let mut pairs = vec![
            ("page_size".to_owned(), "7".to_owned()),
            ("tags".to_owned(), "a".to_owned()),
            ("page".to_owned(), "1".to_owned()),
        ];
        set_page(&mut pairs, Api::Block, at);
        assert_eq!(
            pairs,
            [("tags", "a"), ("page", "3"), ("page_size", "100")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        let mut pairs = vec![("per_page".to_owned(), "7".to_owned())];
        set_page(&mut pairs, Api::Instance, at);
        assert_eq!(
            pairs,
            [("page", "3"), ("per_page", "100")].map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn the_total_is_where_the_family_puts_it() {
        let block = Operation::BlockListVolumes.endpoint();
        let body = br#"{"volumes": [], "total_count": 250}"#;
        assert_eq!(list_total(block, None, body), Some(250));
        assert_eq!(
            list_total(block, Some("9"), body),
            Some(250),
            "the header is not Block's"
        );
        assert_eq!(list_total(block, None, b"not json"), None);
        let get = Operation::BlockGetVolume.endpoint();
        assert_eq!(list_total(get, None, br#"{"total_count": 3}"#), None);
        let instance = Operation::ListIps.endpoint();
        assert_eq!(list_total(instance, Some(" 42 "), body), Some(42));
        assert_eq!(
            list_total(instance, None, body),
            None,
            "Instance bodies carry no total"
        );
    }

    #[tokio::test]
    async fn fans_out_over_zones() {
        let zones = [Zone::FrPar1, Zone::NlAms1, Zone::PlWaw1];
        let all = collect_zones(&zones, |_| pages(120, true, Arc::new(AtomicU32::new(0))))
            .await
            .unwrap();
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|(_, items)| items.len() == 120));
        let merged: Vec<(Zone, u32)> =
            fan_out(&zones, |_| pages(5, true, Arc::new(AtomicU32::new(0))))
                .try_collect()
                .await
                .unwrap();
        assert_eq!(merged.len(), 15);
    }
}
