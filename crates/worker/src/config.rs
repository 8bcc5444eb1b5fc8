//! Worker settings: a `clap::Args` group (flags with environment fallbacks, defaults below),
//! or built in code with [`WorkerConfig::new`].
//!
//! | variable | flag | field | default |
//! |---|---|---|---|
//! | `DATABASE_URL` | `--database-url` | [`WorkerConfig::database_url`] | required |
//! | `FLEET_WORKER_ZONES` | `--zones` | [`WorkerConfig::zones`]: comma-separated zones, or `all` | `all` |
//! | `FLEET_WORKER_LISTEN` | `--listen` | [`WorkerConfig::listen`]: the internal gRPC (`ZoneCalls`) address | `0.0.0.0:50052` |
//! | `FLEET_WORKER_ADVERTISE` | `--advertise` | [`WorkerConfig::advertise_address`]: the address the gateway dials (`http://host:port`) | `http://{listen}`, a wildcard host replaced by `127.0.0.1` |
//! | `FLEET_WORKER_ID` | `--worker-id` | [`WorkerConfig::worker_id`] | a random UUID |
//! | `FLEET_WORKER_LEASE_TTL` | `--lease-ttl` | [`WorkerConfig::lease_ttl`] (`500ms`, `10s`, `1m`; renewed every third) | `10s` |
//! | `FLEET_WORKER_CONCURRENCY` | `--concurrency` | [`WorkerConfig::concurrency`]: jobs in flight per zone | `32` |
//! | `FLEET_WORKER_JOB_LEASE` | `--job-lease` | [`WorkerConfig::job_lease`]: lease of a claimed job | `30s` |
//! | `FLEET_WORKER_DB_MAX_CONNECTIONS` | `--db-max-connections` | [`WorkerConfig::db_max_connections`] | `20` |
//! | `SCW_*`, `FLEET_SCW_*` | `--scw-*` | [`WorkerConfig::scaleway`] | see `fleet_scaleway::config` |

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use fleet_core::Zone;

use crate::jobs::sweeper::SweepMode;

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
    /// A variable holds a value that cannot be used.
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

/// Default Postgres pool size.
pub const DEFAULT_DB_MAX_CONNECTIONS: u32 = 20;

/// Everything a worker needs.
#[derive(Clone, clap::Args)]
pub struct WorkerConfig {
    /// Postgres URL (may carry a password: never logged).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// Zones this worker may own: comma-separated names, or `all` (`None`, [`Zone::ALL`]).
    // Spelled with its path so that clap hands the whole value to `parse_zones`.
    #[arg(long, env = "FLEET_WORKER_ZONES", default_value = "all", value_parser = parse_zones)]
    pub zones: std::option::Option<Vec<Zone>>,
    /// Where the internal `ZoneCalls` gRPC server listens (`127.0.0.1:0` in tests).
    #[arg(long, env = "FLEET_WORKER_LISTEN", default_value_t = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// The address stored in the zone leases, which the gateway dials (`http://host:port`);
    /// unset derives it from the bound address, a wildcard host replaced by `127.0.0.1`.
    #[arg(long = "advertise", env = "FLEET_WORKER_ADVERTISE")]
    pub advertise_address: Option<String>,
    /// Lease owner id; unset = a random UUID (unique per process start).
    #[arg(long, env = "FLEET_WORKER_ID")]
    pub worker_id: Option<String>,
    /// Zone lease TTL; renewed every third of it. A dead worker's zones move after at most
    /// this long.
    #[arg(long, env = "FLEET_WORKER_LEASE_TTL",
        default_value = humantime::format_duration(DEFAULT_LEASE_TTL).to_string(),
        value_parser = humantime::parse_duration)]
    pub lease_ttl: Duration,
    /// Jobs in flight per held zone.
    #[arg(long, env = "FLEET_WORKER_CONCURRENCY", default_value_t = DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// Lease of a claimed job (heartbeated every third).
    #[arg(long, env = "FLEET_WORKER_JOB_LEASE",
        default_value = humantime::format_duration(DEFAULT_JOB_LEASE).to_string(),
        value_parser = humantime::parse_duration)]
    pub job_lease: Duration,
    /// Postgres pool size.
    #[arg(long, env = "FLEET_WORKER_DB_MAX_CONNECTIONS", default_value_t = DEFAULT_DB_MAX_CONNECTIONS)]
    pub db_max_connections: u32,
    /// What the orphan sweeper does with a server tagged by a job that ended without it
    /// (`report`: log and count; `delete`).
    #[arg(long, env = "FLEET_WORKER_ORPHAN_SWEEP", value_enum, default_value_t = SweepMode::Report)]
    pub orphan_sweep: SweepMode,
    /// Time between two orphan sweeps of a held zone; `0s` turns the sweeper off.
    #[arg(long, env = "FLEET_WORKER_ORPHAN_SWEEP_INTERVAL",
        default_value = humantime::format_duration(DEFAULT_SWEEP_INTERVAL).to_string(),
        value_parser = humantime::parse_duration)]
    pub orphan_sweep_interval: Duration,
    /// The Scaleway client settings.
    #[command(flatten)]
    pub scaleway: fleet_scaleway::Config,
}

/// Default of `FLEET_WORKER_ORPHAN_SWEEP_INTERVAL`.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(10 * 60);

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
            .field("orphan_sweep", &self.orphan_sweep)
            .field("orphan_sweep_interval", &self.orphan_sweep_interval)
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
            db_max_connections: DEFAULT_DB_MAX_CONNECTIONS,
            orphan_sweep: SweepMode::Report,
            orphan_sweep_interval: DEFAULT_SWEEP_INTERVAL,
            scaleway,
        }
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
fn parse_zones(value: &str) -> Result<Option<Vec<Zone>>, String> {
    if value.trim().eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    let zones = value
        .split(',')
        .map(str::trim)
        .filter(|z| !z.is_empty())
        .map(|z| z.parse::<Zone>().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    if zones.is_empty() {
        return Err("names no zone".to_owned());
    }
    Ok(Some(zones))
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
    use clap::{CommandFactory as _, FromArgMatches as _, Parser};

    use super::*;

    const KEY: &str = "6f1e0e4e-0000-4000-8000-000000000001";

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: WorkerConfig,
    }

    /// `args` parsed as flags, the process environment left out.
    fn parse_only(args: &[&str]) -> Result<WorkerConfig, String> {
        let matches = Cli::command()
            .mut_args(|arg| arg.env(None))
            .try_get_matches_from(std::iter::once("worker").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        Ok(Cli::from_arg_matches(&matches)
            .map_err(|e| e.to_string())?
            .config)
    }

    /// [`parse_only`], then validated.
    fn parse(args: &[&str]) -> Result<WorkerConfig, String> {
        let config = parse_only(args)?;
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    #[test]
    fn reads_the_flags_with_defaults() {
        let key = format!("--scw-secret-key={KEY}");
        let config = parse(&["--database-url=postgres://u:pw@db/fleet", &key]).unwrap();
        assert_eq!(config.zones, None);
        assert_eq!(config.eligible_zones().len(), Zone::ALL.len());
        assert_eq!(config.listen, DEFAULT_LISTEN);
        assert_eq!(config.lease_ttl, DEFAULT_LEASE_TTL);
        let built = WorkerConfig::new("postgres://u:pw@db/fleet", config.scaleway.clone());
        assert_eq!(
            format!("{config:?}"),
            format!("{built:?}"),
            "defaults agree with new()"
        );
        let printed = format!("{config:?}");
        assert!(
            !printed.contains("pw") && !printed.contains(KEY),
            "{printed}"
        );

        let config = parse(&[
            "--database-url=postgres://db/fleet",
            &key,
            "--zones=nl-ams-1, fr-par-1",
            "--listen=127.0.0.1:0",
            "--advertise=http://worker-0.workers:50052",
            "--worker-id=worker-0",
            "--lease-ttl=1500ms",
            "--concurrency=8",
        ])
        .unwrap();
        assert_eq!(config.eligible_zones(), [Zone::FrPar1, Zone::NlAms1]);
        assert_eq!(config.lease_ttl, Duration::from_millis(1500));
        assert_eq!(config.concurrency, 8);
        assert_eq!(config.worker_id.as_deref(), Some("worker-0"));
    }

    #[test]
    fn refuses_bad_values_without_echoing_secrets() {
        let key = format!("--scw-secret-key={KEY}");
        // Values clap cannot parse name the flag; values `validate` refuses name the variable.
        for (flag, value, named) in [
            ("--zones", "fr-par-9", "--zones"),
            ("--zones", ",", "--zones"),
            ("--listen", "nowhere", "--listen"),
            ("--lease-ttl", "10 parsecs", "--lease-ttl"),
            ("--lease-ttl", "10ms", "FLEET_WORKER_LEASE_TTL"),
            ("--concurrency", "0", "FLEET_WORKER_CONCURRENCY"),
            ("--worker-id", "a/b", "FLEET_WORKER_ID"),
        ] {
            let setting = format!("{flag}={value}");
            let message =
                parse(&["--database-url=postgres://u:pw@db/fleet", &key, &setting]).unwrap_err();
            assert!(message.contains(named), "{message}");
            assert!(!message.contains("pw"), "{message}");
        }
        let message = parse(&[&key]).unwrap_err();
        assert!(message.contains("--database-url"), "{message}");
    }

    #[test]
    fn durations_and_redaction() {
        let key = format!("--scw-secret-key={KEY}");
        let lease = |value: &str| {
            let ttl = format!("--lease-ttl={value}");
            parse_only(&["--database-url=postgres://db/fleet", &key, &ttl]).map(|c| c.lease_ttl)
        };
        assert_eq!(lease("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(lease("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(lease("3s"), Ok(Duration::from_secs(3)));
        assert!(lease("-1s").is_err());
        assert_eq!(
            redact_url("postgres://u:p@h:5432/d"),
            "postgres://[redacted]@h:5432/d"
        );
        assert_eq!(redact_url("postgres://h/d"), "postgres://h/d");
    }
}
