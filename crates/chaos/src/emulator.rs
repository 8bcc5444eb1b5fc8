//! The emulator's admin API (faults, call log, health) and the listings the end checks read.
//!
//! These requests carry no `X-Fleet-Caller`, so the ownership check ignores them.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context as _, bail};
use fleet_core::catalog::Api;
use serde_json::{Value, json};

use crate::analysis::{Call, parse_time};
use crate::plan::Storm;

/// Client of one emulator.
#[derive(Clone)]
pub struct EmulatorAdmin {
    base: String,
    /// The tenant's `X-Auth-Token` (a secret: never printed).
    token: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for EmulatorAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorAdmin")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl EmulatorAdmin {
    pub fn new(base: String, token: String) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("cannot build the http client")?;
        Ok(Self { base, token, http })
    }

    /// Whether the emulator answers its health endpoint.
    pub async fn healthy(&self) -> bool {
        match self
            .http
            .get(format!("{}/emulator/v1/health", self.base))
            .timeout(Duration::from_secs(2))
            .send()
            .await
        {
            Ok(r) => r.status().is_success(),
            Err(_) => false,
        }
    }

    /// Turns a storm on.
    pub async fn set_faults(&self, storm: &Storm) -> anyhow::Result<()> {
        let body = faults_json(storm);
        let response = self
            .http
            .put(format!("{}/emulator/v1/faults", self.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .context("PUT /emulator/v1/faults")?;
        if !response.status().is_success() {
            bail!("PUT /emulator/v1/faults answered {}", response.status());
        }
        Ok(())
    }

    /// Clears every fault.
    pub async fn clear_faults(&self) -> anyhow::Result<()> {
        let response = self
            .http
            .delete(format!("{}/emulator/v1/faults", self.base))
            .send()
            .await
            .context("DELETE /emulator/v1/faults")?;
        if !response.status().is_success() {
            bail!("DELETE /emulator/v1/faults answered {}", response.status());
        }
        Ok(())
    }

    /// The whole call log, oldest first.
    pub async fn calls(&self) -> anyhow::Result<Vec<Call>> {
        let response = self
            .http
            .get(format!("{}/emulator/v1/calls", self.base))
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .context("GET /emulator/v1/calls")?;
        if !response.status().is_success() {
            bail!("GET /emulator/v1/calls answered {}", response.status());
        }
        let body: Value =
            serde_json::from_slice(&response.bytes().await?).context("the call log is not json")?;
        parse_calls(&body)
    }

    /// Every resource of `collection` (`servers`, `snapshots`, `volumes`) of `api` in `zone`,
    /// all pages.
    pub async fn list_all(
        &self,
        api: Api,
        zone: &str,
        collection: &str,
    ) -> anyhow::Result<Vec<Value>> {
        const PER_PAGE: usize = 100;
        let mut out = Vec::new();
        for page in 1.. {
            let url = format!(
                "{}{}zones/{zone}/{collection}?page={page}&{}={PER_PAGE}",
                self.base,
                api.prefix(),
                api.page_size_param(),
            );
            let response = self
                .http
                .get(&url)
                .header("X-Auth-Token", &self.token)
                .send()
                .await
                .with_context(|| format!("GET {collection} in {zone}"))?;
            let status = response.status();
            let body: Value = serde_json::from_slice(&response.bytes().await?)
                .with_context(|| format!("{collection} of {zone} is not json"))?;
            if !status.is_success() {
                bail!("GET {collection} in {zone} answered {status}");
            }
            let items = body
                .get(collection)
                .and_then(Value::as_array)
                .with_context(|| format!("no {collection} array in the listing of {zone}"))?;
            out.extend(items.iter().cloned());
            if items.len() < PER_PAGE {
                break;
            }
        }
        Ok(out)
    }
}

/// The `PUT /emulator/v1/faults` body of a storm (field names of the emulator's `Faults`).
pub fn faults_json(storm: &Storm) -> Value {
    json!({
        "error_5xx_rate": storm.error_5xx_rate,
        "rate_429": storm.rate_429,
        "retry_after_secs": storm.retry_after_secs,
        "latency_ms": storm.latency_ms,
        "hang_rate": storm.hang_rate,
        "hang_for_ms": storm.hang_for_ms,
        "reset_rate": storm.reset_rate,
        "zones": storm.zones,
    })
}

/// Parses `{"calls":[{at, method, path, zone, status, caller}]}`.
pub fn parse_calls(body: &Value) -> anyhow::Result<Vec<Call>> {
    let calls = body
        .get("calls")
        .and_then(Value::as_array)
        .context("no calls array in the call log")?;
    calls
        .iter()
        .map(|c| {
            let text = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
            let at = text("at")
                .as_deref()
                .and_then(parse_time)
                .with_context(|| format!("call without a valid time: {c}"))?;
            Ok(Call {
                at,
                method: text("method").unwrap_or_default(),
                path: text("path").unwrap_or_default(),
                zone: text("zone"),
                status: c
                    .get("status")
                    .and_then(Value::as_u64)
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(0),
                caller: text("caller"),
            })
        })
        .collect()
}

/// Job id → number of listed resources carrying its tag.
pub fn count_job_tags(resources: &[Value]) -> HashMap<i64, usize> {
    let mut counts = HashMap::new();
    for resource in resources {
        let tags = resource.get("tags").and_then(Value::as_array);
        let jobs = tags
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(fleet_jobs::parse_job_tag);
        for job in jobs {
            *counts.entry(job).or_insert(0) += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_log_and_tags_parse() {
        let body = json!({"calls": [
            {"at": "2026-01-02T03:04:05.000001+00:00", "method": "POST",
             "path": "/instance/v1/zones/fr-par-1/servers", "zone": "fr-par-1",
             "status": 201, "caller": "w1-1/3"},
            {"at": "2026-01-02T03:04:06.000000+00:00", "method": "GET",
             "path": "/emulator/v1/health", "zone": null, "status": 200, "caller": null},
        ]});
        let calls = parse_calls(&body).unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].owner(), Some(("w1-1", 3)));
        assert_eq!(calls[1].zone, None);

        let servers = [
            json!({"tags": ["fleet-job=5", "web"]}),
            json!({"tags": ["fleet-job=5"]}),
            json!({"tags": ["fleet-job=6"]}),
            json!({"tags": []}),
        ];
        let counts = count_job_tags(&servers);
        assert_eq!(counts.get(&5), Some(&2));
        assert_eq!(counts.get(&6), Some(&1));
    }

    #[test]
    fn storm_body_uses_the_emulator_field_names() {
        let storm = Storm {
            name: "mixed",
            error_5xx_rate: 0.1,
            rate_429: 0.2,
            retry_after_secs: Some(1),
            latency_ms: 50,
            hang_rate: 0.02,
            hang_for_ms: 3000,
            reset_rate: 0.03,
            zones: Some(vec!["fr-par-1".into()]),
        };
        let body = faults_json(&storm);
        assert_eq!(body["hang_for_ms"], 3000);
        assert_eq!(body["zones"][0], "fr-par-1");
        assert!(body.get("name").is_none());
    }
}
