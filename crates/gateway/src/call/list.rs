//! List methods: one zone served by item offset over Scaleway's numbered pages, or every zone
//! at once (`zone = "all"`) merged zone by zone behind one opaque token (AIP-158, AIP-217).

use fleet_core::Zone;
use futures::future::join_all;
use serde_json::{Map, Value, json};

use super::{Api, zone_of};
use crate::auth::Caller;
use crate::errors::GatewayError;
use crate::paging::{Page, PageToken, UPSTREAM_PAGE_SIZE};
use crate::request::ListPlan;
use crate::request::convert::prepare;
use crate::request::methods::MethodInfo;

impl Api {
    /// A List method: one zone paged by offset, or every zone merged.
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
        } = plan;
        let zone = zone_of(json);
        let mut out = Map::new();
        if zone == "all" {
            let (items, next, total, unreachable) = self
                .fan_out(info, caller, json, &collection, &token, size)
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
        let (items, total) = self
            .zone_slice(info, caller, json, &zone, &collection, token.offset, size)
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

    /// Items `[offset, offset + size)` of one zone's list and the zone's total. Map entries
    /// come back as `[key, value]` pairs.
    #[allow(clippy::too_many_arguments)]
    async fn zone_slice(
        &self,
        info: &MethodInfo,
        caller: &Caller,
        json: &Value,
        zone: &str,
        collection: &str,
        offset: u64,
        size: u64,
    ) -> Result<(Vec<Value>, u64), GatewayError> {
        let paginated = info.endpoint.is_paginated();
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
            let mut zone_json = json.clone();
            if let Value::Object(map) = &mut zone_json {
                map.insert("zone".into(), Value::String(zone.to_owned()));
            }
            let prepared = prepare(info, &zone_json, Some((page, UPSTREAM_PAGE_SIZE)))?;
            let response = self
                .invoke(info.operation(), zone, &prepared, caller, &zone_json)
                .await?;
            let total_count = response.total_count;
            let value = self.answer(info, zone, &prepared, response, &zone_json)?;
            let all: Vec<Value> = match value.get(collection) {
                Some(Value::Array(list)) => list.clone(),
                Some(Value::Object(map)) => map
                    .iter()
                    .map(|(k, v)| Value::Array(vec![Value::String(k.clone()), v.clone()]))
                    .collect(),
                _ => Vec::new(),
            };
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

    /// Every zone at once, merged zone by zone; one token position (zone index, offset).
    #[allow(clippy::type_complexity)]
    async fn fan_out(
        &self,
        info: &MethodInfo,
        caller: &Caller,
        json: &Value,
        collection: &str,
        token: &PageToken,
        size: u64,
    ) -> Result<(Vec<Value>, Option<(u32, u64)>, u64, Vec<String>), GatewayError> {
        let first = token.zone_index.unwrap_or(0) as usize;
        let zones = Zone::ALL;
        let calls = zones.iter().enumerate().map(|(i, zone)| {
            let (offset, want) = match i.cmp(&first) {
                std::cmp::Ordering::Less => (0, 1),
                std::cmp::Ordering::Equal => (token.offset, size),
                std::cmp::Ordering::Greater => (0, size),
            };
            async move {
                self.zone_slice(info, caller, json, zone.as_str(), collection, offset, want)
                    .await
            }
        });
        let results = join_all(calls).await;
        let mut unreachable = Vec::new();
        let mut total = 0u64;
        let mut items = Vec::new();
        let mut next = None;
        let mut first_error = None;
        for (i, (zone, result)) in zones.iter().zip(results).enumerate() {
            match result {
                Ok((zone_items, zone_total)) => {
                    total += zone_total;
                    if i < first || next.is_some() {
                        continue;
                    }
                    let offset = if i == first { token.offset } else { 0 };
                    let room = size as usize - items.len();
                    let take = zone_items.len().min(room);
                    items.extend(zone_items.into_iter().take(take));
                    let position = offset + take as u64;
                    if items.len() as u64 >= size {
                        next = if position < zone_total {
                            Some((i as u32, position))
                        } else {
                            Some((i as u32 + 1, 0))
                        };
                    }
                }
                Err(err) => {
                    tracing::info!(zone = zone.as_str(), error = %err, "zone left out of an all-zones list");
                    unreachable.push(zone.as_str().to_owned());
                    first_error.get_or_insert(err);
                }
            }
        }
        if unreachable.len() == zones.len()
            && let Some(err) = first_error
        {
            return Err(err);
        }
        // A position past the last zone means the list is complete.
        if let Some((z, _)) = next
            && z as usize >= zones.len()
        {
            next = None;
        }
        Ok((items, next, total, unreachable))
    }
}
