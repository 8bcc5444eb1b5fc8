//! Worker settings, 12-factor: every field has an environment variable and a default.
//!
//! | variable | field | default |
//! |---|---|---|
//! | `DATABASE_URL` | [`WorkerConfig::database_url`] | required |
//! | `FLEET_WORKER_ZONES` | [`WorkerConfig::zones`]: comma-separated zones, or `all` | `all` |
//! | `FLEET_WORKER_LISTEN` | [`WorkerConfig::listen`]: the internal gRPC (`ZoneCalls`) address | `0.0.0.0:50052` |
//! | `FLEET_WORKER_ADVERTISE` | [`WorkerConfig::advertise_address`]: the address the gateway dials (`http://host:port`) | `http://{listen}`, a wildcard host replaced by `127.0.0.1` |
//! | `FLEET_WORKER_ID` | [`WorkerConfig::worker_id`] | a random UUID |
//! | `FLEET_WORKER_LEASE_TTL` | [`WorkerConfig::lease_ttl`] (`500ms`, `10s`, `1m`; renewed every third) | `10s` |
//! | `FLEET_WORKER_CONCURRENCY` | [`WorkerConfig::concurrency`]: jobs in flight per zone | `32` |
//! | `FLEET_WORKER_JOB_LEASE` | [`WorkerConfig::job_lease`]: lease of a claimed job | `30s` |
//! | `FLEET_WORKER_DB_MAX_CONNECTIONS` | [`WorkerConfig::db_max_connections`] | `20` |
//! | `SCW_*`, `FLEET_SCW_*` | [`WorkerConfig::scaleway`] | see `fleet_scaleway::config` |

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use fleet_core::Zone;

/// Default internal gRPC listen address.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 50052);
/// Default zone lease TTL.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);
/// Default jobs in flight per zone.
pub const DEFAULT_CONCURRENCY: usize = 32;
/// Default lease of a claimed job.
pub const DEFAULT_JOB_LEASE: Duration = Duration::from_secs(30);
/// Shortest lease TTL accepted: below it a renewal round trip is a large part of the TTL.
pub const MIN_LEASE_TTL: Duration = Duration::from_millis(300);

/// A setting that cannot be used. Values of `DATABASE_URL` and `SCW_SECRET_KEY` are never
/// repeated.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A variable holds a value that cannot be used.
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
    /// The Scaleway client settings (`SCW_*`, `FLEET_SCW_*`).
    #[error(transparent)]
    Scaleway(#[from] fleet_scaleway::ConfigError),
}

/// Everything a worker needs.
#[derive(Clone)]
pub struct WorkerConfig {
    /// Postgres URL (may carry a password: never logged).
    pub database_url: String,
    /// Zones this worker may own; `None` = every zone ([`Zone::ALL`]).
    pub zones: Option<Vec<Zone>>,
    /// Where the internal `ZoneCalls` gRPC server listens (`127.0.0.1:0` in tests).
    pub listen: SocketAddr,
    /// The address stored in the zone leases, which the gateway dials; `None` derives it from
    /// the bound address.
    pub advertise_address: Option<String>,
    /// Lease owner id; `None` = a random UUID (unique per process start).
    pub worker_id: Option<String>,
    /// Zone lease TTL; renewed every `lease_ttl / 3`. A dead worker's zones move after at most
    /// this long.
    pub lease_ttl: Duration,
    /// Jobs in flight per held zone.
    pub concurrency: usize,
    /// Lease of a claimed job (heartbeated every third).
    pub job_lease: Duration,
    /// Postgres pool size.
    pub db_max_connections: u32,
    /// The Scaleway client settings.
    pub scaleway: fleet_scaleway::Config,
}

impl fmt::Debug for WorkerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerConfig")
            .field("database_url", &redact_url(&self.database_url))
            .field("zones", &self.zones)
            .field("listen", &self.listen)
            .field("advertise_address", &self.advertise_address)
            .field("worker_id", &self.worker_id)
            .field("lease_ttl", &self.lease_ttl)
            .field("concurrency", &self.concurrency)
            .field("job_lease", &self.job_lease)
            .field("db_max_connections", &self.db_max_connections)
            .field("scaleway", &self.scaleway)
            .finish()
    }
}

impl WorkerConfig {
    /// Defaults around a database URL and a Scaleway configuration.
    pub fn new(database_url: impl Into<String>, scaleway: fleet_scaleway::Config) -> Self {
        Self {
            database_url: database_url.into(),
            zones: None,
            listen: DEFAULT_LISTEN,
            advertise_address: None,
            worker_id: None,
            lease_ttl: DEFAULT_LEASE_TTL,
            concurrency: DEFAULT_CONCURRENCY,
            job_lease: DEFAULT_JOB_LEASE,
            db_max_connections: 20,
            scaleway,
        }
    }

    /// Reads the process environment (see the module doc).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
        let database_url = get("DATABASE_URL").ok_or(ConfigError::Missing("DATABASE_URL"))?;
        let scaleway = fleet_scaleway::Config::from_lookup(&lookup)?;
        let mut config = Self::new(database_url, scaleway);
        if let Some(zones) = get("FLEET_WORKER_ZONES") {
            config.zones = parse_zones(&zones)?;
        }
        if let Some(listen) = get("FLEET_WORKER_LISTEN") {
            config.listen = listen
                .trim()
                .parse()
                .map_err(|e: std::net::AddrParseError| ConfigError::Invalid {
                    var: "FLEET_WORKER_LISTEN",
                    reason: format!("{listen:?}: {e}"),
                })?;
        }
        config.advertise_address = get("FLEET_WORKER_ADVERTISE").map(|a| a.trim().to_owned());
        config.worker_id = get("FLEET_WORKER_ID").map(|a| a.trim().to_owned());
        if let Some(ttl) = get("FLEET_WORKER_LEASE_TTL") {
            config.lease_ttl = parse_duration("FLEET_WORKER_LEASE_TTL", &ttl)?;
        }
        if let Some(n) = get("FLEET_WORKER_CONCURRENCY") {
            config.concurrency = parse_count("FLEET_WORKER_CONCURRENCY", &n)?;
        }
        if let Some(lease) = get("FLEET_WORKER_JOB_LEASE") {
            config.job_lease = parse_duration("FLEET_WORKER_JOB_LEASE", &lease)?;
        }
        if let Some(n) = get("FLEET_WORKER_DB_MAX_CONNECTIONS") {
            let n = parse_count("FLEET_WORKER_DB_MAX_CONNECTIONS", &n)?;
            config.db_max_connections = u32::try_from(n).unwrap_or(u32::MAX);
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks values that would make the worker misbehave.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.lease_ttl < MIN_LEASE_TTL {
            return Err(ConfigError::Invalid {
                var: "FLEET_WORKER_LEASE_TTL",
                reason: format!(
                    "{:?} is below the minimum {MIN_LEASE_TTL:?}",
                    self.lease_ttl
                ),
            });
        }
        if self.concurrency == 0 {
            return Err(ConfigError::Invalid {
                var: "FLEET_WORKER_CONCURRENCY",
                reason: "must be at least 1".to_owned(),
            });
        }
        if self.job_lease < Duration::from_secs(1) {
            return Err(ConfigError::Invalid {
                var: "FLEET_WORKER_JOB_LEASE",
                reason: "must be at least 1s".to_owned(),
            });
        }
        if self.zones.as_ref().is_some_and(Vec::is_empty) {
            return Err(ConfigError::Invalid {
                var: "FLEET_WORKER_ZONES",
                reason: "names no zone".to_owned(),
            });
        }
        if let Some(id) = &self.worker_id
            && (id.is_empty()
                || id.contains('/')
                || !id.is_ascii()
                || id.contains(char::is_control))
        {
            // The id is half of the X-Fleet-Caller header `{id}/{epoch}`.
            return Err(ConfigError::Invalid {
                var: "FLEET_WORKER_ID",
                reason: "must be non-empty printable ascii without '/'".to_owned(),
            });
        }
        Ok(())
    }

    /// The zones this worker may own.
    pub fn eligible_zones(&self) -> Vec<Zone> {
        let mut zones = self.zones.clone().unwrap_or_else(|| Zone::ALL.to_vec());
        zones.sort();
        zones.dedup();
        zones
    }
}

/// `all`, or comma-separated zone names.
fn parse_zones(value: &str) -> Result<Option<Vec<Zone>>, ConfigError> {
    if value.trim().eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    let zones = value
        .split(',')
        .map(str::trim)
        .filter(|z| !z.is_empty())
        .map(|z| {
            z.parse::<Zone>().map_err(|e| ConfigError::Invalid {
                var: "FLEET_WORKER_ZONES",
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if zones.is_empty() {
        return Err(ConfigError::Invalid {
            var: "FLEET_WORKER_ZONES",
            reason: "names no zone".to_owned(),
        });
    }
    Ok(Some(zones))
}

/// `250ms`, `10s`, `2m`, or bare seconds.
fn parse_duration(var: &'static str, value: &str) -> Result<Duration, ConfigError> {
    let value = value.trim();
    let invalid = || ConfigError::Invalid {
        var,
        reason: format!("{value:?} is not a duration such as 500ms, 10s or 1m"),
    };
    let (number, unit) = match value.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(at) => value.split_at(at),
        None => (value, "s"),
    };
    let number: f64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit.trim() {
        "ms" => number / 1000.0,
        "s" => number,
        "m" => number * 60.0,
        _ => return Err(invalid()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| invalid())
}

fn parse_count(var: &'static str, value: &str) -> Result<usize, ConfigError> {
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ConfigError::Invalid {
            var,
            reason: format!("{value:?} is not a positive integer"),
        })
}

/// The URL with its user info (and so any password) replaced, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://[redacted]@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const KEY: &str = "6f1e0e4e-0000-4000-8000-000000000001";

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn reads_the_environment_with_defaults() {
        let config = WorkerConfig::from_lookup(lookup(&[
            ("DATABASE_URL", "postgres://u:pw@db/fleet"),
            ("SCW_SECRET_KEY", KEY),
        ]))
        .unwrap();
        assert_eq!(config.zones, None);
        assert_eq!(config.eligible_zones().len(), Zone::ALL.len());
        assert_eq!(config.listen, DEFAULT_LISTEN);
        assert_eq!(config.lease_ttl, DEFAULT_LEASE_TTL);
        let printed = format!("{config:?}");
        assert!(
            !printed.contains("pw") && !printed.contains(KEY),
            "{printed}"
        );

        let config = WorkerConfig::from_lookup(lookup(&[
            ("DATABASE_URL", "postgres://db/fleet"),
            ("SCW_SECRET_KEY", KEY),
            ("FLEET_WORKER_ZONES", "nl-ams-1, fr-par-1"),
            ("FLEET_WORKER_LISTEN", "127.0.0.1:0"),
            ("FLEET_WORKER_ADVERTISE", "http://worker-0.workers:50052"),
            ("FLEET_WORKER_ID", "worker-0"),
            ("FLEET_WORKER_LEASE_TTL", "1500ms"),
            ("FLEET_WORKER_CONCURRENCY", "8"),
        ]))
        .unwrap();
        assert_eq!(config.eligible_zones(), [Zone::FrPar1, Zone::NlAms1]);
        assert_eq!(config.lease_ttl, Duration::from_millis(1500));
        assert_eq!(config.concurrency, 8);
        assert_eq!(config.worker_id.as_deref(), Some("worker-0"));
    }

    #[test]
    fn refuses_bad_values_without_echoing_secrets() {
        let base = [
            ("DATABASE_URL", "postgres://u:pw@db/fleet"),
            ("SCW_SECRET_KEY", KEY),
        ];
        for (var, value) in [
            ("FLEET_WORKER_ZONES", "fr-par-9"),
            ("FLEET_WORKER_ZONES", ","),
            ("FLEET_WORKER_LISTEN", "nowhere"),
            ("FLEET_WORKER_LEASE_TTL", "10 parsecs"),
            ("FLEET_WORKER_LEASE_TTL", "10ms"),
            ("FLEET_WORKER_CONCURRENCY", "0"),
            ("FLEET_WORKER_ID", "a/b"),
        ] {
            let mut pairs = base.to_vec();
            pairs.push((var, value));
            let err = WorkerConfig::from_lookup(lookup(&pairs)).unwrap_err();
            let message = err.to_string();
            assert!(message.contains(var), "{message}");
            assert!(!message.contains("pw"), "{message}");
        }
        assert!(matches!(
            WorkerConfig::from_lookup(lookup(&[("SCW_SECRET_KEY", KEY)])),
            Err(ConfigError::Missing("DATABASE_URL"))
        ));
    }

    #[test]
    fn durations_and_redaction() {
        assert_eq!(
            parse_duration("X", "250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(parse_duration("X", "2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("X", "3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("X", "-1s").is_err());
        assert_eq!(
            redact_url("postgres://u:p@h:5432/d"),
            "postgres://[redacted]@h:5432/d"
        );
        assert_eq!(redact_url("postgres://h/d"), "postgres://h/d");
    }
}
