//! AIP-158 pagination: page sizes and opaque page tokens.
//!
//! A token is base64url of a small JSON record: the position in the result (an item offset
//! for Scaleway-backed lists, with a source index for merged lists (zones, storage APIs), or a job id for
//! operations) and a hash of the request's filters. A token presented with other filters is
//! refused (INVALID_ARGUMENT on `page_token`), as AIP-158 requires; a changed `page_size` is
//! honoured because positions are item offsets, not page numbers.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::errors::GatewayError;

/// Default page size (AIP-158).
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Larger sizes are coerced to this.
pub const MAX_PAGE_SIZE: u32 = 100;

/// `page_size` as asked → the size served.
pub fn page_size(asked: i32) -> Result<u32, GatewayError> {
    match asked {
        n if n < 0 => Err(GatewayError::invalid(
            "page_size",
            format!("must be 0 (default {DEFAULT_PAGE_SIZE}) or positive; got {n}"),
        )),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok((n as u32).min(MAX_PAGE_SIZE)),
    }
}

/// Upstream page size used to serve gateway pages (sliced to the caller's page size).
pub const UPSTREAM_PAGE_SIZE: u64 = 100;

/// Largest offset a page token may carry (far above any real collection), so offset
/// arithmetic never overflows.
pub const MAX_TOKEN_OFFSET: u64 = 1 << 40;

/// Where the next page starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageToken {
    /// Item offset (within the source for merged lists).
    #[serde(default, rename = "o")]
    pub offset: u64,
    /// Index into the list's sources for merged lists: the zones of "all zones" lists, and
    /// for volumes and snapshots each zone's Instance then Block list.
    #[serde(default, rename = "z", skip_serializing_if = "Option::is_none")]
    pub zone_index: Option<u32>,
    /// Keyset position for operations (last id served).
    #[serde(default, rename = "a", skip_serializing_if = "Option::is_none")]
    pub after: Option<i64>,
    /// Hash of the filters the token was issued for.
    #[serde(rename = "h")]
    pub filter_hash: String,
}

impl PageToken {
    /// The opaque string.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Decodes a non-empty `token` without checking which filters it was issued for (the
    /// offline check, which has no caller to hash with the Operations filters).
    pub fn decode_shape(token: &str) -> Result<PageToken, GatewayError> {
        let invalid = || {
            GatewayError::invalid(
                "page_token",
                "is not a token returned by this method; omit it to start from the first page",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        let decoded: PageToken = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        // Tokens are not signed: a forged offset must not reach the page arithmetic.
        if decoded.offset > MAX_TOKEN_OFFSET {
            return Err(invalid());
        }
        Ok(decoded)
    }

    /// Decodes `token` (empty: first page) and checks it was issued for `filter_hash`.
    pub fn decode(token: &str, filter_hash: &str) -> Result<PageToken, GatewayError> {
        if token.is_empty() {
            return Ok(PageToken {
                filter_hash: filter_hash.to_owned(),
                ..PageToken::default()
            });
        }
        let decoded = PageToken::decode_shape(token)?;
        if decoded.filter_hash != filter_hash {
            return Err(GatewayError::invalid(
                "page_token",
                "was issued for different filters; keep the filters of the first page or omit the token",
            ));
        }
        Ok(decoded)
    }
}

/// The paging of one List request: the size served, the hash of its filters and where it
/// starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub size: u64,
    pub hash: String,
    pub token: PageToken,
}

impl Page {
    /// From `request`, the JSON of a List request of `method`: `page_size`, `page_token`, and
    /// every other field as the filters the token is bound to.
    pub fn of(method: &str, request: &serde_json::Value) -> Result<Page, GatewayError> {
        let field = |name: &str| request.get(name);
        let asked = field("page_size")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        let size = u64::from(page_size(i32::try_from(asked).unwrap_or(if asked < 0 {
            -1
        } else {
            i32::MAX
        }))?);
        let mut filters = request.clone();
        if let serde_json::Value::Object(map) = &mut filters {
            map.remove("page_size");
            map.remove("page_token");
        }
        let hash = filter_hash(method, &filters);
        let token = PageToken::decode(
            field("page_token")
                .and_then(serde_json::Value::as_str)
                .unwrap_or(""),
            &hash,
        )?;
        Ok(Page { size, hash, token })
    }
}

/// A short hash of the filters of a list request (its JSON without paging fields).
pub fn filter_hash(method: &str, filters: &serde_json::Value) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update([0]);
    hasher.update(serde_json::to_vec(filters).unwrap_or_default());
    hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_aip_158() {
        assert_eq!(page_size(0).unwrap(), 50);
        assert_eq!(page_size(7).unwrap(), 7);
        assert_eq!(page_size(1000).unwrap(), 100);
        assert!(page_size(-1).is_err());
    }

    #[test]
    fn tokens_round_trip_and_bind_filters() {
        let t = PageToken {
            offset: 120,
            zone_index: Some(3),
            after: None,
            filter_hash: "abc".into(),
        };
        let s = t.encode();
        assert_eq!(PageToken::decode(&s, "abc").unwrap(), t);
        assert!(PageToken::decode(&s, "abd").is_err());
        assert!(PageToken::decode("garbage!", "abc").is_err());
        assert!(PageToken::decode("Zm9v", "abc").is_err());
        assert_eq!(PageToken::decode("", "h").unwrap().offset, 0);
    }
}
