//! Client configuration, read from the environment (12-factor) or built in
//! code.
//!
//! | variable | field | default |
//! |---|---|---|
//! | `SCW_SECRET_KEY` (required) | [`Config::secret_key`] | — |
//! | `SCW_ACCESS_KEY` | [`Config::access_key`] | none |
//! | `SCW_API_URL` | [`Config::api_url`] | `https://api.scaleway.com` |
//! | `SCW_DEFAULT_ZONE` | [`Config::default_zone`] | `fr-par-1` |
//! | `SCW_DEFAULT_PROJECT_ID` | [`Config::default_project_id`] | none |
//! | `SCW_DEFAULT_ORGANIZATION_ID` | [`Config::default_organization_id`] | none |
//! | `FLEET_SCW_CONNECT_TIMEOUT_MS` | [`Config::connect_timeout`] | 5000 |
//! | `FLEET_SCW_REQUEST_TIMEOUT_MS` | [`Config::request_timeout`] | 30000 |
//! | `FLEET_SCW_MAX_ATTEMPTS` | [`RetryPolicy::max_attempts`] | 4 |
//! | `FLEET_SCW_RATE_LIMIT` | per-zone requests per second | 20 |
//! | `FLEET_SCW_RATE_BURST` | per-zone burst | 20 |
//! | `FLEET_SCW_CALLER` | [`Config::caller`] (`X-Fleet-Caller`) | none |

use std::time::Duration;

use fleet_core::Zone;

use crate::ratelimit::{RateLimitConfig, ZoneRate};
use crate::retry::RetryPolicy;
use crate::secret::SecretKey;

/// The public Scaleway API endpoint.
pub const DEFAULT_API_URL: &str = "https://api.scaleway.com";

/// A setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A variable holds a value that cannot be used. The value is not
    /// repeated for secret variables.
    #[error("{var} is invalid: {reason}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// What to fix.
        reason: String,
    },
}

/// Everything a [`crate::Client`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// `X-Auth-Token`; prints as `[redacted]`.
    pub secret_key: SecretKey,
    /// The access key id (not a secret; informative only).
    pub access_key: Option<String>,
    /// Scheme, host and optional port (and path prefix) of the API.
    pub api_url: String,
    /// The zone used by callers that do not say (the client itself always
    /// takes the zone as a parameter).
    pub default_zone: Zone,
    /// Project used by callers that do not say.
    pub default_project_id: Option<String>,
    /// Organization used by callers that do not say.
    pub default_organization_id: Option<String>,
    /// Time to open a TCP (+TLS) connection.
    pub connect_timeout: Duration,
    /// Time for one attempt, from sending to the end of the body.
    pub request_timeout: Duration,
    /// Idle pooled connections are closed after this.
    pub pool_idle_timeout: Duration,
    /// Idle connections kept per host.
    pub pool_max_idle_per_host: usize,
    /// TCP keep-alive probe interval of pooled connections.
    pub tcp_keepalive: Duration,
    /// `User-Agent` header.
    pub user_agent: String,
    /// `X-Fleet-Caller` header of every request (see
    /// [`crate::Client::with_caller`] for a per-clone value).
    pub caller: Option<String>,
    /// Retry bounds.
    pub retry: RetryPolicy,
    /// Per-zone rate limits.
    pub rate_limit: RateLimitConfig,
}

impl Config {
    /// A configuration with defaults for everything but the key.
    pub fn new(secret_key: impl Into<SecretKey>) -> Self {
        Config {
            secret_key: secret_key.into(),
            access_key: None,
            api_url: DEFAULT_API_URL.to_owned(),
            default_zone: Zone::default(),
            default_project_id: None,
            default_organization_id: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: 32,
            tcp_keepalive: Duration::from_secs(30),
            user_agent: concat!("fleet-scaleway/", env!("CARGO_PKG_VERSION")).to_owned(),
            caller: None,
            retry: RetryPolicy::default(),
            rate_limit: RateLimitConfig::default(),
        }
    }

    /// Builder-style: the API base URL.
    pub fn with_api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = url.into();
        self
    }

    /// Builder-style: the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Builder-style: the rate limits.
    pub fn with_rate_limit(mut self, rate_limit: RateLimitConfig) -> Self {
        self.rate_limit = rate_limit;
        self
    }

    /// Builder-style: connect and request timeouts.
    pub fn with_timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.connect_timeout = connect;
        self.request_timeout = request;
        self
    }

    /// Reads the process environment (see the module doc).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
        let secret = get("SCW_SECRET_KEY").ok_or(ConfigError::Missing("SCW_SECRET_KEY"))?;
        if secret.trim() != secret || secret.chars().any(char::is_control) {
            return Err(ConfigError::Invalid {
                var: "SCW_SECRET_KEY",
                reason: "must not contain spaces or control characters".to_owned(),
            });
        }
        let mut config = Config::new(secret);
        config.access_key = get("SCW_ACCESS_KEY");
        if let Some(url) = get("SCW_API_URL") {
            config.api_url = url;
        }
        if let Some(zone) = get("SCW_DEFAULT_ZONE") {
            config.default_zone =
                zone.parse()
                    .map_err(|e: fleet_core::zone::UnknownZone| ConfigError::Invalid {
                        var: "SCW_DEFAULT_ZONE",
                        reason: e.to_string(),
                    })?;
        }
        config.default_project_id = get("SCW_DEFAULT_PROJECT_ID");
        config.default_organization_id = get("SCW_DEFAULT_ORGANIZATION_ID");
        if let Some(ms) = get("FLEET_SCW_CONNECT_TIMEOUT_MS") {
            config.connect_timeout =
                Duration::from_millis(parse_num("FLEET_SCW_CONNECT_TIMEOUT_MS", &ms)?);
        }
        if let Some(ms) = get("FLEET_SCW_REQUEST_TIMEOUT_MS") {
            config.request_timeout =
                Duration::from_millis(parse_num("FLEET_SCW_REQUEST_TIMEOUT_MS", &ms)?);
        }
        if let Some(n) = get("FLEET_SCW_MAX_ATTEMPTS") {
            let n = parse_num("FLEET_SCW_MAX_ATTEMPTS", &n)?;
            config.retry.max_attempts = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
        }
        let mut rate: ZoneRate = config.rate_limit.default;
        if let Some(r) = get("FLEET_SCW_RATE_LIMIT") {
            rate.rate = r
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| *r > 0.0)
                .ok_or_else(|| ConfigError::Invalid {
                    var: "FLEET_SCW_RATE_LIMIT",
                    reason: format!("{r:?} is not a positive number of requests per second"),
                })?;
        }
        if let Some(b) = get("FLEET_SCW_RATE_BURST") {
            let b = parse_num("FLEET_SCW_RATE_BURST", &b)?;
            rate.burst = u32::try_from(b.max(1)).unwrap_or(u32::MAX);
        }
        config.rate_limit.default = rate;
        config.caller = get("FLEET_SCW_CALLER");
        config.validate()?;
        Ok(config)
    }

    /// Checks the settings a client cannot work without.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.secret_key.is_empty() {
            return Err(ConfigError::Missing("SCW_SECRET_KEY"));
        }
        let url = reqwest::Url::parse(&self.api_url).map_err(|e| ConfigError::Invalid {
            var: "SCW_API_URL",
            reason: format!("{:?} is not a URL: {e}", self.api_url),
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ConfigError::Invalid {
                var: "SCW_API_URL",
                reason: format!("{:?} must be an http(s) URL with a host", self.api_url),
            });
        }
        if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
            return Err(ConfigError::Invalid {
                var: "SCW_API_URL",
                reason: "must not carry credentials or a query string".to_owned(),
            });
        }
        if self.retry.max_attempts == 0 {
            return Err(ConfigError::Invalid {
                var: "FLEET_SCW_MAX_ATTEMPTS",
                reason: "must be at least 1".to_owned(),
            });
        }
        Ok(())
    }
}

fn parse_num(var: &'static str, value: &str) -> Result<u64, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::Invalid {
        var,
        reason: format!("{value:?} is not a non-negative integer"),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn reads_the_scaleway_variables() {
        let config = Config::from_lookup(lookup(&[
            ("SCW_SECRET_KEY", "6f1e0e4e-0000-4000-8000-000000000001"),
            ("SCW_API_URL", "http://127.0.0.1:9999"),
            ("SCW_DEFAULT_ZONE", "nl-ams-1"),
            ("FLEET_SCW_RATE_LIMIT", "7.5"),
            ("FLEET_SCW_RATE_BURST", "3"),
            ("FLEET_SCW_REQUEST_TIMEOUT_MS", "1500"),
        ]))
        .unwrap();
        assert_eq!(config.api_url, "http://127.0.0.1:9999");
        assert_eq!(config.default_zone, Zone::NlAms1);
        assert_eq!(config.rate_limit.default, ZoneRate::new(7.5, 3));
        assert_eq!(config.request_timeout, Duration::from_millis(1500));
        let printed = format!("{config:?}");
        assert!(!printed.contains("6f1e0e4e"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }

    #[test]
    fn defaults_and_errors() {
        let config = Config::from_lookup(lookup(&[("SCW_SECRET_KEY", "k")])).unwrap();
        assert_eq!(config.api_url, DEFAULT_API_URL);
        assert_eq!(
            Config::from_lookup(lookup(&[])).unwrap_err(),
            ConfigError::Missing("SCW_SECRET_KEY")
        );
        let err = Config::from_lookup(lookup(&[
            ("SCW_SECRET_KEY", "k"),
            ("SCW_API_URL", "ftp://x"),
        ]))
        .unwrap_err();
        assert!(
            err.to_string().starts_with("SCW_API_URL is invalid"),
            "{err}"
        );
        let err =
            Config::from_lookup(lookup(&[("SCW_SECRET_KEY", " secret-with-space")])).unwrap_err();
        assert!(!err.to_string().contains("secret-with-space"), "{err}");
    }
}
