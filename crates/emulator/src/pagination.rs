//! Pagination exactly as the real APIs do it: 1-based `page` and a page size
//! ≤ 100 (default 50) named by the family (`per_page` for Instance,
//! `page_size` for Block), an empty page (200) past the end. Instance lists
//! give the total only in `X-Total-Count` plus a `Link` header with
//! `next`/`last` relative to the zone root; Block lists give it in the body
//! (`total_count`) and send neither header. One Instance list, the rules
//! of a security group, pages but sends neither header either. Instance
//! v2alpha1 lists page by token instead ([`token_list_response`]).

use fleet_core::catalog::{Api, Paging};
use serde::Serialize;

use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp};

/// Default page size.
pub const DEFAULT_PER_PAGE: u64 = 50;
/// Largest accepted page size.
pub const MAX_PER_PAGE: u64 = 100;

/// The requested page window.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// 1-based page.
    pub page: u64,
    /// Items per page.
    pub per_page: u64,
}

impl Page {
    /// Read and validate `page` and the family's page-size parameter.
    pub fn from_req(req: &Req, api: Api) -> ApiResult<Self> {
        let size_param = api.page_size_param();
        let page = parse_num(req, "page")?.unwrap_or(1);
        let per_page = parse_num(req, size_param)?.unwrap_or(DEFAULT_PER_PAGE);
        if page < 1 {
            return Err(Error::invalid(ArgDetail::constraint(
                "page",
                "must be greater or equal to 1",
            )));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(Error::invalid(ArgDetail::constraint(
                size_param,
                "must be between 1 and 100",
            )));
        }
        Ok(Self { page, per_page })
    }

    /// This page of `items`, and the number of items over all pages.
    pub fn slice<T>(self, items: Vec<T>) -> (Vec<T>, u64) {
        let total = items.len() as u64;
        let start = (self.page - 1).saturating_mul(self.per_page);
        let slice = items
            .into_iter()
            .skip(usize::try_from(start).unwrap_or(usize::MAX))
            .take(usize::try_from(self.per_page).unwrap_or(usize::MAX))
            .collect();
        (slice, total)
    }
}

fn parse_num(req: &Req, key: &str) -> ApiResult<Option<u64>> {
    match req.q(key) {
        None => Ok(None),
        Some(v) => v
            .parse::<u64>()
            .map(Some)
            .map_err(|_| Error::invalid(ArgDetail::format(key, "not a valid integer"))),
    }
}

/// Slice `items` to the requested page, wrap the page in its core
/// envelope, and add the `X-Total-Count` and `Link` headers. `link_path`
/// is relative to the zone root (e.g. `/servers`).
pub fn list_response<T, E: Serialize>(
    req: &Req,
    items: Vec<T>,
    link_path: &str,
    envelope: impl FnOnce(Vec<T>) -> E,
) -> ApiResult<Resp> {
    let page = Page::from_req(req, Api::Instance)?;
    let (slice, total) = page.slice(items);
    Ok(Resp::ok(envelope(slice))
        .with_header("x-total-count", total.to_string())
        .with_header("link", link_header(req, link_path, page, total)))
}

/// Slice `items` to the requested page of an Instance list that the live
/// API answers without `X-Total-Count` or `Link` (security-group rules:
/// no recorded answer carries either). Clients stop on the short or
/// empty page past the end, which is why `page` must be honoured here.
pub fn untotalled_list_response<T, E: Serialize>(
    req: &Req,
    items: Vec<T>,
    envelope: impl FnOnce(Vec<T>) -> E,
) -> ApiResult<Resp> {
    let (slice, _) = Page::from_req(req, Api::Instance)?.slice(items);
    Ok(Resp::ok(envelope(slice)))
}

/// Slice `items` to the requested page of a Block list and wrap it with
/// the total in its core envelope (`{"volumes": […], "total_count": n}`).
pub fn block_list_response<T, E: Serialize>(
    req: &Req,
    items: Vec<T>,
    envelope: impl FnOnce(Vec<T>, u64) -> E,
) -> ApiResult<Resp> {
    let (slice, total) = Page::from_req(req, Api::Block)?.slice(items);
    Ok(Resp::ok(envelope(slice, total)))
}

/// One page of a token-paged list (Instance v2alpha1): `page_token` is
/// absent for the first page, else a `next_page_token` this emulator
/// wrote (the offset the page starts at; anything else is a 400), and the
/// envelope gets the next page's token (none on the last page) and the
/// total.
pub fn token_list_response<T, E: Serialize>(
    req: &Req,
    items: Vec<T>,
    envelope: impl FnOnce(Vec<T>, Option<String>, u64) -> E,
) -> ApiResult<Resp> {
    let api = Api::InstanceV2Alpha1;
    debug_assert_eq!(api.paging(), Paging::Token);
    let size_param = api.page_size_param();
    let size = parse_num(req, size_param)?.unwrap_or(DEFAULT_PER_PAGE);
    if !(1..=MAX_PER_PAGE).contains(&size) {
        return Err(Error::invalid(ArgDetail::constraint(
            size_param,
            "must be between 1 and 100",
        )));
    }
    let start = match req.q(Paging::TOKEN_PARAM) {
        None => 0,
        Some(token) => token.parse::<u64>().map_err(|_| {
            Error::invalid(ArgDetail::format(
                Paging::TOKEN_PARAM,
                "not a page token this API issued",
            ))
        })?,
    };
    let total = items.len() as u64;
    let page: Vec<T> = items
        .into_iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(size).unwrap_or(usize::MAX))
        .collect();
    let end = start.saturating_add(page.len() as u64);
    let next = (end < total).then(|| end.to_string());
    Ok(Resp::ok(envelope(page, next, total)))
}

/// `</servers?page=2&per_page=50&>; rel="next",</servers?page=2&per_page=50&>; rel="last"`.
fn link_header(req: &Req, path: &str, page: Page, total: u64) -> String {
    let filters: Vec<String> = req
        .query
        .iter()
        .filter(|(k, _)| k != "page" && k != "per_page")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let filters = filters.join("&");
    let last = total.div_ceil(page.per_page).max(1);
    let link = |p: u64| format!("<{path}?page={p}&per_page={}&{filters}>", page.per_page);
    let mut parts = Vec::new();
    if page.page < last {
        parts.push(format!("{}; rel=\"next\"", link(page.page + 1)));
    }
    parts.push(format!("{}; rel=\"last\"", link(last)));
    parts.join(",")
}
