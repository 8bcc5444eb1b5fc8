//! Endpoints come from `fleet_core`'s catalog ([`Operation`] →
//! [`Endpoint`]); this module adds what the client needs on top: the
//! idempotency of each method, filling a path template, and the
//! per-operation call counters.
//!
//! The template (e.g. `/instance/v1/zones/{zone}/servers/{server_id}`) is
//! what telemetry records as `url.template` and what errors name, never
//! the concrete path.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

pub use fleet_core::catalog::{ENDPOINTS, Endpoint, Method, Operation};

/// Whether re-sending a request of this method is safe by itself:
/// everything but `POST` (see "Retries" in the crate docs).
pub const fn method_idempotent(method: Method) -> bool {
    !matches!(method, Method::Post)
}

pub(crate) fn to_reqwest(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

/// Fills `template`: `{zone}` with `zone`, the other `{…}` segments with
/// `params` in order, each percent-encoded as a path segment.
pub(crate) fn fill(template: &str, zone: &str, params: &[&str]) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut params = params.iter();
    for (i, segment) in template.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if segment == "{zone}" {
            out.push_str(zone);
        } else if segment.starts_with('{') && segment.ends_with('}') {
            let value = params
                .next()
                .ok_or_else(|| format!("missing {segment} for {template}"))?;
            if value.is_empty() {
                return Err(format!("{segment} of {template} must not be empty"));
            }
            out.extend(utf8_percent_encode(value, PATH_VALUE));
        } else {
            out.push_str(segment);
        }
    }
    if params.next().is_some() {
        return Err(format!("too many path parameters for {template}"));
    }
    Ok(out)
}

/// What the client escapes in a path value: everything but RFC 3986
/// unreserved characters, so no reserved character reaches the API raw.
const PATH_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Requests sent per operation (first attempts only), shared by the clones
/// of a client: the measure of which catalog entries were exercised.
#[derive(Debug, Default)]
pub(crate) struct Usage {
    counts: Mutex<BTreeMap<Operation, u64>>,
}

impl Usage {
    pub(crate) fn record(&self, operation: Operation) {
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(operation)
            .or_default() += 1;
    }

    pub(crate) fn snapshot(&self) -> BTreeMap<Operation, u64> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_templates() {
        let template = Operation::GetServerUserData.endpoint().path;
        assert_eq!(
            fill(template, "fr-par-1", &["abc", "cloud init/x"]).unwrap(),
            "/instance/v1/zones/fr-par-1/servers/abc/user_data/cloud%20init%2Fx"
        );
        assert!(fill(template, "fr-par-1", &["abc"]).is_err());
        assert!(fill(template, "fr-par-1", &["abc", ""]).is_err());
        assert!(fill(template, "fr-par-1", &["a", "b", "c"]).is_err());
    }

    #[test]
    fn every_catalog_path_fills_and_matches_back() {
        for endpoint in ENDPOINTS {
            let params: Vec<String> = endpoint
                .param_names()
                .skip(1)
                .enumerate()
                .map(|(i, _)| format!("p{i}"))
                .collect();
            let refs: Vec<&str> = params.iter().map(String::as_str).collect();
            let path = fill(endpoint.path, "fr-par-1", &refs).unwrap();
            assert!(
                endpoint.matches(endpoint.method.as_str(), &path).is_some(),
                "{path}"
            );
        }
    }
}
