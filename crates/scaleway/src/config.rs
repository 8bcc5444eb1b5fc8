//! Client configuration: built in code ([`Config::new`] and the `with_*` builders) or parsed
//! from flags and the environment ([`Settings`], a `clap::Args` group that every role embeds;
//! `Config` itself is `clap::Args` through it).
//!
//! | variable | flag | field | default |
//! |---|---|---|---|
//! | `SCW_SECRET_KEY` (required) | `--scw-secret-key` | [`Config::secret_key`] | — |
//! | `SCW_ACCESS_KEY` | `--scw-access-key` | [`Config::access_key`] | none |
//! | `SCW_API_URL` | `--scw-api-url` | [`Config::api_url`] | `https://api.scaleway.com` |
//! | `SCW_DEFAULT_ZONE` | `--scw-default-zone` | [`Config::default_zone`] | `fr-par-1` |
//! | `SCW_DEFAULT_PROJECT_ID` | `--scw-default-project-id` | [`Config::default_project_id`] | none |
//! | `SCW_DEFAULT_ORGANIZATION_ID` | `--scw-default-organization-id` | [`Config::default_organization_id`] | none |
//! | `FLEET_SCW_CONNECT_TIMEOUT` | `--scw-connect-timeout` | [`Config::connect_timeout`] | `5s` |
//! | `FLEET_SCW_REQUEST_TIMEOUT` | `--scw-request-timeout` | [`Config::request_timeout`] | `30s` |
//! | `FLEET_SCW_MAX_ATTEMPTS` | `--scw-max-attempts` | [`RetryPolicy::max_attempts`] | `4` |
//! | `FLEET_SCW_RATE_LIMIT` | `--scw-rate-limit` | per-zone requests per second | `20` |
//! | `FLEET_SCW_RATE_BURST` | `--scw-rate-burst` | per-zone burst | `20` |
//! | `FLEET_SCW_CALLER` | `--scw-caller` | [`Config::caller`] (`X-Fleet-Caller`) | none |

use std::time::Duration;

use fleet_core::Zone;

use clap::{Args as _, FromArgMatches as _};

use crate::ratelimit::{RateLimitConfig, ZoneRate};
use crate::retry::RetryPolicy;
use crate::secret::SecretKey;

/// The public Scaleway API endpoint.
pub const DEFAULT_API_URL: &str = "https://api.scaleway.com";
/// Default time to open a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time for one attempt.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// The environment could not be parsed ([`Config::from_env`]); values of secret variables
    /// are never parsed, so never repeated.
    #[error("{0}")]
    Unparsable(String),
}

/// The client settings an operator sets, as flags with environment fallbacks (see the module
/// doc). [`Settings::into_config`] checks them and fills in the rest of a [`Config`].
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Scaleway secret key (`X-Auth-Token`).
    #[arg(
        long = "scw-secret-key",
        env = "SCW_SECRET_KEY",
        hide_env_values = true
    )]
    pub secret_key: Option<SecretKey>,
    /// Scaleway access key id (informative only).
    #[arg(long = "scw-access-key", env = "SCW_ACCESS_KEY")]
    pub access_key: Option<String>,
    /// Base URL of the Scaleway API (the emulator's in tests).
    #[arg(long = "scw-api-url", env = "SCW_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
    /// Zone of callers that name none.
    #[arg(long = "scw-default-zone", env = "SCW_DEFAULT_ZONE", default_value_t = Zone::default())]
    pub default_zone: Zone,
    /// Project of creates that name none.
    #[arg(long = "scw-default-project-id", env = "SCW_DEFAULT_PROJECT_ID")]
    pub default_project_id: Option<String>,
    /// Organization of creates that name none.
    #[arg(
        long = "scw-default-organization-id",
        env = "SCW_DEFAULT_ORGANIZATION_ID"
    )]
    pub default_organization_id: Option<String>,
    /// Time to open a connection to the API.
    #[arg(long = "scw-connect-timeout", env = "FLEET_SCW_CONNECT_TIMEOUT",
        default_value = humantime::format_duration(DEFAULT_CONNECT_TIMEOUT).to_string(),
        value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,
    /// Time for one attempt, from sending to the end of the body.
    #[arg(long = "scw-request-timeout", env = "FLEET_SCW_REQUEST_TIMEOUT",
        default_value = humantime::format_duration(DEFAULT_REQUEST_TIMEOUT).to_string(),
        value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
    /// Attempts per call, the first included (429, 5xx and timeouts are retried).
    #[arg(long = "scw-max-attempts", env = "FLEET_SCW_MAX_ATTEMPTS",
        default_value_t = RetryPolicy::default().max_attempts)]
    pub max_attempts: u32,
    /// Requests per second per zone.
    #[arg(long = "scw-rate-limit", env = "FLEET_SCW_RATE_LIMIT",
        default_value_t = RateLimitConfig::default().default.rate)]
    pub rate_limit: f64,
    /// Burst of the per-zone rate limit.
    #[arg(long = "scw-rate-burst", env = "FLEET_SCW_RATE_BURST",
        default_value_t = RateLimitConfig::default().default.burst)]
    pub rate_burst: u32,
    /// `X-Fleet-Caller` header of every request.
    #[arg(long = "scw-caller", env = "FLEET_SCW_CALLER")]
    pub caller: Option<String>,
}

impl Settings {
    /// The client configuration these settings describe, checked.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let secret = self.secret_key.filter(|key| !key.is_empty());
        let secret = secret.ok_or(ConfigError::Missing("SCW_SECRET_KEY"))?;
        let key = secret.expose();
        if key.trim() != key || key.chars().any(char::is_control) {
            return Err(ConfigError::Invalid {
                var: "SCW_SECRET_KEY",
                reason: "must not contain spaces or control characters".to_owned(),
            });
        }
        if !(self.rate_limit.is_finite() && self.rate_limit > 0.0) {
            return Err(ConfigError::Invalid {
                var: "FLEET_SCW_RATE_LIMIT",
                reason: format!(
                    "{} is not a positive number of requests per second",
                    self.rate_limit
                ),
            });
        }
        let mut config =
            Config::new(secret).with_timeouts(self.connect_timeout, self.request_timeout);
        config.access_key = self.access_key.filter(|key| !key.trim().is_empty());
        config.api_url = self.api_url;
        config.default_zone = self.default_zone;
        config.default_project_id = self.default_project_id.filter(|id| !id.trim().is_empty());
        config.default_organization_id = self
            .default_organization_id
            .filter(|id| !id.trim().is_empty());
        config.retry.max_attempts = self.max_attempts.max(1);
        config.rate_limit.default = ZoneRate::new(self.rate_limit, self.rate_burst.max(1));
        config.caller = self.caller.filter(|caller| !caller.trim().is_empty());
        config.validate()?;
        Ok(config)
    }
}

/// `Config` is a flag group through [`Settings`], so that a role's config can flatten it.
impl clap::Args for Config {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        Settings::augment_args(cmd)
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Settings::augment_args_for_update(cmd)
    }
}

impl clap::FromArgMatches for Config {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let settings = Settings::from_arg_matches(matches)?;
        settings
            .into_config()
            .map_err(|err| clap::Error::raw(clap::error::ErrorKind::ValueValidation, err))
    }
    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
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
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
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

    /// Reads the `SCW_*` and `FLEET_SCW_*` variables of the process (see the module doc).
    pub fn from_env() -> Result<Self, ConfigError> {
        let command = Settings::augment_args(clap::Command::new("scaleway").no_binary_name(true));
        let unparsable = |err: clap::Error| ConfigError::Unparsable(err.to_string());
        let matches = command
            .try_get_matches_from(std::iter::empty::<String>())
            .map_err(unparsable)?;
        Settings::from_arg_matches(&matches)
            .map_err(unparsable)?
            .into_config()
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

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, FromArgMatches as _, Parser};

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: Settings,
    }

    /// `args` parsed as flags, the process environment left out.
    fn settings(args: &[&str]) -> Settings {
        let matches = Cli::command()
            .mut_args(|arg| arg.env(None))
            .try_get_matches_from(std::iter::once("test").chain(args.iter().copied()))
            .unwrap();
        Cli::from_arg_matches(&matches).unwrap().settings
    }

    #[test]
    fn reads_the_scaleway_settings() {
        let config = settings(&[
            "--scw-secret-key=6f1e0e4e-0000-4000-8000-000000000001",
            "--scw-api-url=http://127.0.0.1:9999",
            "--scw-default-zone=nl-ams-1",
            "--scw-rate-limit=7.5",
            "--scw-rate-burst=3",
            "--scw-request-timeout=1500ms",
        ])
        .into_config()
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
        let config = settings(&["--scw-secret-key=k"]).into_config().unwrap();
        assert_eq!(config.api_url, DEFAULT_API_URL);
        assert_eq!(config.connect_timeout, Config::new("k").connect_timeout);
        assert_eq!(config.request_timeout, Config::new("k").request_timeout);
        assert_eq!(config.retry, RetryPolicy::default());
        assert_eq!(config.rate_limit, RateLimitConfig::default());
        assert_eq!(
            settings(&[]).into_config().unwrap_err(),
            ConfigError::Missing("SCW_SECRET_KEY")
        );
        let err = settings(&["--scw-secret-key=k", "--scw-api-url=ftp://x"])
            .into_config()
            .unwrap_err();
        assert!(
            err.to_string().starts_with("SCW_API_URL is invalid"),
            "{err}"
        );
        let err = settings(&["--scw-secret-key= secret-with-space"])
            .into_config()
            .unwrap_err();
        assert!(!err.to_string().contains("secret-with-space"), "{err}");
    }

    #[test]
    fn secret_values_are_hidden_from_help() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("[env: SCW_SECRET_KEY"), "{help}");
        let secret = Cli::command()
            .get_arguments()
            .find(|arg| arg.get_id() == "secret_key")
            .map(|arg| arg.is_hide_env_values_set());
        assert_eq!(secret, Some(true));
    }
}
