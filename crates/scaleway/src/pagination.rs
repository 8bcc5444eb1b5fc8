//! Pagination: one page at a time ([`Page`]), every item of every page as a
//! stream ([`paginate`]), and one list fanned out over several zones
//! ([`fan_out`], [`collect_zones`]).
//!
//! The families page in two ways ([`Paging`]), and the operation's [`Api`]
//! says which and under what names, so that one code path serves all:
//!
//! | family | paging ([`Api::paging`]) | page size ([`Api::page_size_param`]) | total ([`Api::total_in_body`]) |
//! |---|---|---|---|
//! | Instance v1 | `page` (1-based) | `per_page` | the `X-Total-Count` header |
//! | Block | `page` (1-based) | `page_size` | `total_count` in the body |
//! | Instance v2alpha1 | `page_token` ← the last page's `next_page_token` | `page_size` | `total_count` in the body |
//!
//! [`paginate`] asks for 100 items a page (every family's maximum). By
//! number, it reads from page 1 on and stops after the page that brings the
//! count of items to the total, on an empty page, or — when no total came —
//! on a page shorter than asked for. By token, it starts without a token and
//! stops on the first page that names no next one (or an empty page).

use std::future::Future;

use fleet_core::Zone;
use fleet_core::catalog::{Api, Endpoint, Paging};
use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{Body, Client, decode, query_pairs};
use crate::endpoint::Operation;
use crate::error::Result;

/// Items per page asked for by [`paginate`]: the maximum of every family.
pub const PAGE_SIZE: u32 = 100;

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Items over all pages, when the API gave it (`X-Total-Count` for
    /// Instance v1, the body's `total_count` for the others).
    pub total_count: Option<u64>,
    /// The token of the next page ([`Paging::Token`] families); `None` on
    /// the last page and for the families paged by number.
    pub next_page_token: Option<String>,
}

/// Which page to read, in the family's [`Paging`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageAt {
    /// 1-based page number ([`Paging::Numbered`]).
    Number(i32),
    /// The previous page's `next_page_token`, none for the first page
    /// ([`Paging::Token`]).
    Token(Option<String>),
}

impl PageAt {
    /// The first page in `paging`.
    pub fn first(paging: Paging) -> Self {
        match paging {
            Paging::Numbered => PageAt::Number(1),
            Paging::Token => PageAt::Token(None),
        }
    }
}

/// Where a page request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Which page.
    pub at: PageAt,
    /// Items per page, sent as the family's page-size parameter.
    pub page_size: u32,
}

impl Client {
    /// One page of the list `op`: `query` flattened and, when `at` is
    /// given, its paging and page-size parameters replaced by `at`'s; the
    /// items picked from the decoded body by `items`, the total from the
    /// response (see [`list_total`]) and the next page's token from the
    /// body (see [`next_page_token`]).
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
        let next_page_token = next_page_token(op.endpoint(), &response.body);
        Ok(Page {
            items: items(decode(op, &response)?),
            total_count,
            next_page_token,
        })
    }
}

/// Replaces the paging parameters of `pairs` with `at`, under the names
/// `api` uses (`page` or `page_token`, and the page size).
fn set_page(pairs: &mut Vec<(String, String)>, api: Api, at: PageRequest) {
    let size = api.page_size_param();
    pairs.retain(|(key, _)| key != "page" && key != Paging::TOKEN_PARAM && key != size);
    match at.at {
        PageAt::Number(page) => pairs.push(("page".to_owned(), page.to_string())),
        PageAt::Token(Some(token)) => pairs.push((Paging::TOKEN_PARAM.to_owned(), token)),
        PageAt::Token(None) => {}
    }
    pairs.push((size.to_owned(), at.page_size.to_string()));
}

/// The `next_page_token` of a list answer of a [`Paging::Token`] family;
/// `None` for the last page, other families and other endpoints.
pub(crate) fn next_page_token(endpoint: &Endpoint, body: &[u8]) -> Option<String> {
    if endpoint.api().paging() != Paging::Token || !endpoint.is_paginated() {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value
        .get(Paging::NEXT_TOKEN_KEY)?
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// The total over all pages that a response of `endpoint` gives: the
/// `X-Total-Count` header (`header`) for Instance v1, `total_count` in the
/// body of a Block or Instance v2alpha1 list. Read for raw callers ([`Client::invoke`]) too, so
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
    at: PageAt,
    seen: u64,
    done: bool,
}

/// Streams every item of a list paged as `paging`, fetching pages with
/// `fetch` in order.
pub fn paginate<T, F, Fut>(paging: Paging, fetch: F) -> impl Stream<Item = Result<T>> + Send
where
    T: Send + 'static,
    F: FnMut(PageRequest) -> Fut + Send,
    Fut: Future<Output = Result<Page<T>>> + Send,
{
    let state = State {
        fetch,
        at: PageAt::first(paging),
        seen: 0,
        done: false,
    };
    stream::try_unfold(state, |mut state| async move {
        if state.done {
            return Ok::<_, crate::error::Error>(None);
        }
        let request = PageRequest {
            at: state.at.clone(),
            page_size: PAGE_SIZE,
        };
        let page = (state.fetch)(request).await?;
        if page.items.is_empty() {
            return Ok(None);
        }
        let count = u64::try_from(page.items.len()).unwrap_or(u64::MAX);
        state.seen = state.seen.saturating_add(count);
        match &mut state.at {
            PageAt::Number(number) => {
                *number = number.saturating_add(1);
                state.done = match page.total_count {
                    Some(total) => state.seen >= total,
                    None => count < u64::from(PAGE_SIZE),
                };
            }
            PageAt::Token(token) => {
                // A token seen before would read the same pages again.
                state.done = page.next_page_token.is_none() || page.next_page_token == *token;
                token.clone_from(&page.next_page_token);
            }
        }
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
        paginate(Paging::Numbered, move |req: PageRequest| {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::Relaxed);
                let PageAt::Number(page) = req.at else {
                    panic!("a numbered list is asked for by number: {req:?}");
                };
                let start = u32::try_from(page - 1).unwrap_or(0) * req.page_size;
                let end = (start + req.page_size).min(total);
                Ok(Page {
                    items: (start..end.max(start)).collect(),
                    total_count: send_total.then_some(u64::from(total)),
                    next_page_token: None,
                })
            }
        })
    }

    /// A token-paged list of `total` items whose tokens are the offsets
    /// (as the emulator's), recording every token asked for.
    fn token_pages(
        total: u32,
        asked: Arc<std::sync::Mutex<Vec<Option<String>>>>,
    ) -> impl Stream<Item = Result<u32>> {
        paginate(Paging::Token, move |req: PageRequest| {
            let asked = asked.clone();
            async move {
                let PageAt::Token(token) = req.at else {
                    panic!("a token list is asked for by token: {req:?}");
                };
                asked.lock().unwrap().push(token.clone());
                let start: u32 = token.as_deref().map_or(0, |t| t.parse().unwrap());
                let end = (start + req.page_size).min(total);
                Ok(Page {
                    items: (start..end).collect(),
                    total_count: Some(u64::from(total)),
                    next_page_token: (end < total).then(|| end.to_string()),
                })
            }
        })
    }

    #[tokio::test]
    async fn token_lists_follow_next_page_token_to_the_end() {
        for (total, tokens) in [
            (250, vec![None, Some("100"), Some("200")]),
            (100, vec![None]),
            (0, vec![None]),
        ] {
            let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
            let items: Vec<u32> = token_pages(total, asked.clone())
                .try_collect()
                .await
                .unwrap();
            assert_eq!(items, (0..total).collect::<Vec<_>>());
            let tokens: Vec<Option<String>> =
                tokens.into_iter().map(|t| t.map(str::to_owned)).collect();
            assert_eq!(*asked.lock().unwrap(), tokens, "total {total}");
        }
    }

    #[tokio::test]
    async fn a_token_that_repeats_ends_the_list() {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let items: Vec<u32> = paginate(Paging::Token, move |_req: PageRequest| {
            counter.fetch_add(1, Ordering::Relaxed);
            async move {
                Ok(Page {
                    items: vec![1],
                    total_count: None,
                    next_page_token: Some("same".to_owned()),
                })
            }
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!((items, calls.load(Ordering::Relaxed)), (vec![1, 1], 2));
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
            at: PageAt::Number(3),
            page_size: 100,
        };
        let mut pairs = vec![
            ("page_size".to_owned(), "7".to_owned()),
            ("tags".to_owned(), "a".to_owned()),
            ("page".to_owned(), "1".to_owned()),
        ];
        set_page(&mut pairs, Api::Block, at.clone());
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
        let mut pairs = vec![
            ("page_token".to_owned(), "old".to_owned()),
            ("page".to_owned(), "2".to_owned()),
            ("order_by".to_owned(), "created_at_asc".to_owned()),
        ];
        let next = PageRequest {
            at: PageAt::Token(Some("t2".to_owned())),
            page_size: 100,
        };
        set_page(&mut pairs, Api::InstanceV2Alpha1, next);
        assert_eq!(
            pairs,
            [
                ("order_by", "created_at_asc"),
                ("page_token", "t2"),
                ("page_size", "100")
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        let mut pairs = Vec::new();
        let first = PageRequest {
            at: PageAt::Token(None),
            page_size: 100,
        };
        set_page(&mut pairs, Api::InstanceV2Alpha1, first);
        assert_eq!(pairs, [("page_size".to_owned(), "100".to_owned())]);
    }

    #[test]
    fn the_next_token_is_read_only_from_token_lists() {
        let list = Operation::V2Alpha1ListPlacementGroups.endpoint();
        let body = br#"{"placement_groups": [], "next_page_token": "t2", "total_count": 3}"#;
        assert_eq!(next_page_token(list, body).as_deref(), Some("t2"));
        assert_eq!(
            next_page_token(list, br#"{"placement_groups": [], "total_count": 3}"#),
            None
        );
        assert_eq!(next_page_token(list, br#"{"next_page_token": ""}"#), None);
        let get = Operation::V2Alpha1GetPlacementGroup.endpoint();
        assert_eq!(next_page_token(get, body), None);
        assert_eq!(
            next_page_token(Operation::BlockListVolumes.endpoint(), body),
            None
        );
        assert_eq!(
            list_total(list, Some("9"), body),
            Some(3),
            "the total is in the body"
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
