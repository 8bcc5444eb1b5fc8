//! List methods: one upstream list served by item offset over Scaleway's numbered pages, or
//! several merged source by source behind one opaque token (AIP-158, AIP-217): every zone
//! (`zone = "all"`) and, for volumes and snapshots, the Instance and the Block list of each
//! zone (the sources are [`crate::request::sources`]'s).

use fleet_core::catalog::Api as FamilyApi;
use futures::future::join_all;
use serde_json::{Map, Value, json};

use super::{Api, upstream_error, zone_of};
use crate::auth::Caller;
use crate::errors::GatewayError;
use crate::paging::{Page, PageToken, UPSTREAM_PAGE_SIZE};
use crate::request::ListPlan;
use crate::request::convert::prepare;
use crate::request::methods::MethodInfo;
use crate::request::sources::{self, Source};

impl Api {
    /// Every item of List method `grpc_method` for `json` (every page), through the same
    /// field rules, project scoping, plan and upstream lists as a caller's List call; refused
    /// when a zone did not answer, so a selection is never silently partial. The selection of
    /// a batch is resolved by it.
    pub(crate) async fn list_every(
        &self,
        grpc_method: &str,
        caller: &Caller,
        mut json: Value,
    ) -> Result<Vec<Value>, GatewayError> {
        let info = crate::request::methods::method(grpc_method)?;
        crate::request::rules::validate(info, &json)?;
        super::scope_project(info, caller, &mut json)?;
        let mut items = Vec::new();
        loop {
            let crate::request::Plan::List(plan) = crate::request::plan(info, &json)? else {
                return Err(GatewayError::Internal(format!(
                    "{grpc_method} is not a List method"
                )));
            };
            let collection = plan.collection.clone();
            let page = self.list(info, caller, &json, plan).await?;
            if let Some(zone) = page
                .get("unreachable")
                .and_then(Value::as_array)
                .and_then(|zones| zones.first())
                .and_then(Value::as_str)
            {
                return Err(GatewayError::WorkerUnavailable {
                    zone: zone.to_owned(),
                    message: "the zone did not answer its list; the selection would be partial"
                        .into(),
                });
            }
            if let Some(Value::Array(page_items)) = page.get(&collection) {
                items.extend(page_items.iter().cloned());
            }
            let next = page
                .get("next_page_token")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if next.is_empty() {
                return Ok(items);
            }
            if let Value::Object(map) = &mut json {
                map.insert("page_token".into(), Value::String(next.to_owned()));
                map.insert("page_size".into(), json!(crate::paging::MAX_PAGE_SIZE));
            }
        }
    }

    /// A List method: one source paged by offset, or every source merged.
    pub(super) async fn list(
        &self,
        info: &MethodInfo,
        caller: &Caller,
        json: &Value,
        plan: ListPlan,
    ) -> Result<Value, GatewayError> {
        let ListPlan {
            page: Page { size, hash, token },
            collection,
            sources,
        } = plan;
        let mut out = Map::new();
        let single = match sources.as_slice() {
            [source] if zone_of(json) != "all" => *source,
            _ => {
                let (items, next, total, unreachable) = self
                    .merge(info, caller, json, &collection, &sources, &token, size)
                    .await?;
                out.insert(collection, Value::Array(items));
                out.insert(
                    "next_page_token".into(),
                    Value::String(
                        next.map(|(z, o)| {
                            PageToken {
                                offset: o,
                                zone_index: Some(z),
                                after: None,
                                filter_hash: hash.clone(),
                            }
                            .encode()
                        })
                        .unwrap_or_default(),
                    ),
                );
                out.insert("total_size".into(), json!(total));
                out.insert("unreachable".into(), json!(unreachable));
                return Ok(Value::Object(out));
            }
        };
        let (items, total) = self
            .source_slice(info, caller, json, single, &collection, token.offset, size)
            .await?;
        let next = token.offset + items.len() as u64;
        let next_token = if next < total && !items.is_empty() {
            PageToken {
                offset: next,
                zone_index: None,
                after: None,
                filter_hash: hash,
            }
            .encode()
        } else {
            String::new()
        };
        let is_map = info
            .output
            .get_field_by_name(&collection)
            .is_some_and(|f| f.is_map());
        let collection_value = if is_map {
            Value::Object(
                items
                    .into_iter()
                    .filter_map(|item| match item {
                        Value::Array(mut kv) if kv.len() == 2 => {
                            let v = kv.pop()?;
                            let k = kv.pop()?.as_str()?.to_owned();
                            Some((k, v))
                        }
                        _ => None,
                    })
                    .collect(),
            )
        } else {
            Value::Array(items)
        };
        out.insert(collection, collection_value);
        out.insert("next_page_token".into(), Value::String(next_token));
        out.insert("total_size".into(), json!(total.min(i32::MAX as u64)));
        Ok(Value::Object(out))
    }

    /// Items `[offset, offset + size)` of one source's list and the source's total. Map
    /// entries come back as `[key, value]` pairs.
    #[allow(clippy::too_many_arguments)]
    async fn source_slice(
        &self,
        info: &MethodInfo,
        caller: &Caller,
        json: &Value,
        source: Source,
        collection: &str,
        offset: u64,
        size: u64,
    ) -> Result<(Vec<Value>, u64), GatewayError> {
        // Block lists are always paged.
        let paginated = source.api == FamilyApi::Block || info.endpoint.is_paginated();
        let mut page = if paginated {
            offset / UPSTREAM_PAGE_SIZE + 1
        } else {
            1
        };
        let mut start = if paginated {
            offset % UPSTREAM_PAGE_SIZE
        } else {
            offset
        };
        let mut items: Vec<Value> = Vec::new();
        let mut total;
        loop {
            let (all, total_count) = self
                .fetch_page(info, caller, json, source, collection, page)
                .await?;
            let fetched = all.len() as u64;
            total = match (paginated, total_count) {
                (true, Some(t)) => t,
                (true, None) => (page - 1) * UPSTREAM_PAGE_SIZE + fetched,
                (false, _) => fetched,
            };
            items.extend(all.into_iter().skip(start as usize));
            start = 0;
            let reached_end =
                !paginated || fetched < UPSTREAM_PAGE_SIZE || page * UPSTREAM_PAGE_SIZE >= total;
            if items.len() as u64 >= size || reached_end {
                break;
            }
            page += 1;
        }
        items.truncate(size as usize);
        Ok((items, total))
    }

    /// One upstream page of a source (`UPSTREAM_PAGE_SIZE` items) and the total it reports:
    /// Instance items as Scaleway sends them, Block items in the Instance shape.
    async fn fetch_page(
        &self,
        info: &MethodInfo,
        caller: &Caller,
        json: &Value,
        source: Source,
        collection: &str,
        page: u64,
    ) -> Result<(Vec<Value>, Option<u64>), GatewayError> {
        let zone = source.zone.as_str();
        let mut zone_json = json.clone();
        if let Value::Object(map) = &mut zone_json {
            map.insert("zone".into(), Value::String(zone.to_owned()));
        }
        match source.api {
            // fleet.v1 serves no Instance v2alpha1 method (`request::sources` names Instance v1
            // and Block only); a source naming it is a bug, refused before any call, since its
            // lists page by token, not by the page numbers this loop counts.
            FamilyApi::InstanceV2Alpha1 => Err(GatewayError::Internal(format!(
                "{} lists are not served over fleet.v1",
                FamilyApi::InstanceV2Alpha1
            ))),
            FamilyApi::Instance => {
                let prepared = prepare(info, &zone_json, Some((page, UPSTREAM_PAGE_SIZE)))?;
                let response = self
                    .invoke(info.operation(), zone, &prepared, caller, &zone_json)
                    .await?;
                let total_count = response.total_count;
                let value = self.answer(info, zone, &prepared, response, &zone_json)?;
                let items = match value.get(collection) {
                    Some(Value::Array(list)) => list.clone(),
                    Some(Value::Object(map)) => map
                        .iter()
                        .map(|(k, v)| Value::Array(vec![Value::String(k.clone()), v.clone()]))
                        .collect(),
                    _ => Vec::new(),
                };
                Ok((items, total_count))
            }
            FamilyApi::Block => {
                let (block, prepared) =
                    sources::block_call(info, &zone_json, page, UPSTREAM_PAGE_SIZE)?;
                let response = self
                    .invoke(block.name(), zone, &prepared, caller, &zone_json)
                    .await?;
                if response.status >= 400 {
                    return Err(upstream_error(block.endpoint(), zone, &prepared, &response));
                }
                let (items, total) = sources::block_page(block, &response.body)?;
                // A worker that drops items outside the caller's projects says so in its count.
                Ok((items, Some(response.total_count.unwrap_or(total))))
            }
        }
    }

    /// Every source at once, merged source by source; one token position (source index,
    /// offset within the source). Failed sources name their zone in `unreachable`.
    #[allow(clippy::type_complexity, clippy::too_many_arguments)]
    async fn merge(
        &self,
        info: &MethodInfo,
        caller: &Caller,
        json: &Value,
        collection: &str,
        sources: &[Source],
        token: &PageToken,
        size: u64,
    ) -> Result<(Vec<Value>, Option<(u32, u64)>, u64, Vec<String>), GatewayError> {
        let first = token.zone_index.unwrap_or(0) as usize;
        let calls = sources.iter().enumerate().map(|(i, &source)| {
            let (offset, want) = match i.cmp(&first) {
                std::cmp::Ordering::Less => (0, 1),
                std::cmp::Ordering::Equal => (token.offset, size),
                std::cmp::Ordering::Greater => (0, size),
            };
            async move {
                self.source_slice(info, caller, json, source, collection, offset, want)
                    .await
            }
        });
        let results = join_all(calls).await;
        let mut unreachable: Vec<String> = Vec::new();
        let mut failed = 0;
        let mut total = 0u64;
        let mut items = Vec::new();
        let mut next = None;
        let mut first_error = None;
        for (i, (source, result)) in sources.iter().zip(results).enumerate() {
            match result {
                Ok((source_items, source_total)) => {
                    total += source_total;
                    if i < first || next.is_some() {
                        continue;
                    }
                    let offset = if i == first { token.offset } else { 0 };
                    let room = size as usize - items.len();
                    let take = source_items.len().min(room);
                    items.extend(source_items.into_iter().take(take));
                    let position = offset + take as u64;
                    if items.len() as u64 >= size {
                        next = if position < source_total {
                            Some((i as u32, position))
                        } else {
                            Some((i as u32 + 1, 0))
                        };
                    }
                }
                Err(err) => {
                    let zone = source.zone.as_str();
                    tracing::info!(zone, api = source.api.as_str(), error = %err, "source left out of a merged list");
                    failed += 1;
                    if !unreachable.iter().any(|z| z == zone) {
                        unreachable.push(zone.to_owned());
                    }
                    first_error.get_or_insert(err);
                }
            }
        }
        if failed == sources.len()
            && let Some(err) = first_error
        {
            return Err(err);
        }
        // A position past the last source means the list is complete.
        if let Some((z, _)) = next
            && z as usize >= sources.len()
        {
            next = None;
        }
        Ok((items, next, total, unreachable))
    }
}
