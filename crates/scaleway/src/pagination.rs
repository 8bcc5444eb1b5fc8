//! Pagination: one page at a time ([`Page`]), every item of every page as a
//! stream ([`paginate`]), and one list fanned out over several zones
//! ([`fan_out`], [`collect_zones`]).
//!
//! The API puts no `total_count` in list bodies; the total is the
//! `X-Total-Count` header. [`paginate`] asks for `per_page = 100` (the
//! maximum) from page 1 on and stops after the page that brings the count
//! of items to the total, on an empty page, or — when the header is
//! missing — on a page shorter than asked for.

use std::future::Future;

use fleet_core::Zone;
use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};

use crate::error::Result;

/// Items per page asked for by [`paginate`]: the API's maximum.
pub const PER_PAGE: u32 = 100;

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// `X-Total-Count`: items over all pages, when the API sent it.
    pub total_count: Option<u64>,
}

/// Where a page request goes: `page` is 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based page number.
    pub page: i32,
    /// Items per page.
    pub per_page: u32,
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
            per_page: PER_PAGE,
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
            None => count < u64::from(PER_PAGE),
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
                let start = u32::try_from(req.page - 1).unwrap_or(0) * req.per_page;
                let end = (start + req.per_page).min(total);
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
