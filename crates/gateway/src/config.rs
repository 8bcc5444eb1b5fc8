//! The gateway's settings ([`GatewayConfig`], read from the environment by
//! [`GatewayConfig::from_env`]) and the build step that connects, migrates and binds
//! ([`GatewayConfig::build`]); [`crate::service::server::Gateway`] runs what it builds.

use std::net::SocketAddr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::net::TcpListener;

use crate::auth::{CallerConfig, Callers, CallersError};
use crate::limits::Limit;
use crate::service::server::Gateway;

/// Why the gateway cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayStartError {
    #[error("invalid setting {name}: {reason}")]
    Setting { name: &'static str, reason: String },
    #[error(transparent)]
    Callers(#[from] CallersError),
    #[error("cannot read {path}: {source}")]
    ReadCallers {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot connect to postgres: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations failed: {0}")]
    Migrate(#[from] fleet_scheduler::SchedulerError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
}

/// Settings of the gateway (12-factor: [`GatewayConfig::from_env`]).
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// `FLEET_GATEWAY_LISTEN`, default `0.0.0.0:50051`.
    pub listen: SocketAddr,
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `FLEET_CALLERS` (JSON) or `FLEET_CALLERS_FILE`.
    pub callers: Vec<CallerConfig>,
    /// Apply migrations at start (`FLEET_GATEWAY_MIGRATE`, default true).
    pub migrate: bool,
    /// Zone owner cache lifetime (`FLEET_GATEWAY_OWNER_CACHE_MS`, default 2000).
    pub owner_cache: Duration,
    /// Longest synchronous call, retries included (`FLEET_GATEWAY_CALL_TIMEOUT_MS`, 30000).
    pub call_timeout: Duration,
    /// Server-side timeout of unary requests (`FLEET_GATEWAY_REQUEST_TIMEOUT_MS`, 75000; above
    /// the 60 s WaitOperation cap).
    pub request_timeout: Duration,
    /// WaitOperation cap (60 s).
    pub wait_cap: Duration,
    /// Largest request or response message (`FLEET_GATEWAY_MAX_MESSAGE_BYTES`, 4 MiB).
    pub max_message_bytes: usize,
    /// HTTP/2 keep-alive ping interval (30 s) and timeout (10 s).
    pub keepalive_interval: Duration,
    pub keepalive_timeout: Duration,
    /// Connections are closed after this age (`FLEET_GATEWAY_MAX_CONNECTION_AGE_MS`, 5 min)
    /// so clients rebalance across replicas; in-flight calls get `max_connection_age_grace`.
    pub max_connection_age: Duration,
    pub max_connection_age_grace: Duration,
    /// Bound of the drain at shutdown (`FLEET_GATEWAY_DRAIN_TIMEOUT_MS`, 20 s).
    pub drain_timeout: Duration,
    /// Readiness probe period (2 s).
    pub health_interval: Duration,
    /// Postgres pool size (`FLEET_GATEWAY_DB_CONNECTIONS`, 16).
    pub db_connections: u32,
    /// Default per-caller rate limit, for callers that set none of their own
    /// (`FLEET_GATEWAY_CALLER_RATE` requests/s, 200, 0 = unlimited;
    /// `FLEET_GATEWAY_CALLER_BURST`, 400).
    pub caller_limit: Limit,
}

impl GatewayConfig {
    /// Defaults for `listen`, `database_url` and `callers`.
    pub fn new(
        listen: SocketAddr,
        database_url: impl Into<String>,
        callers: Vec<CallerConfig>,
    ) -> Self {
        GatewayConfig {
            listen,
            database_url: database_url.into(),
            callers,
            migrate: true,
            owner_cache: Duration::from_secs(2),
            call_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(75),
            wait_cap: Duration::from_secs(60),
            max_message_bytes: 4 * 1024 * 1024,
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(10),
            max_connection_age: Duration::from_secs(300),
            max_connection_age_grace: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(20),
            health_interval: Duration::from_secs(2),
            db_connections: 16,
            caller_limit: Limit::default(),
        }
    }

    /// Reads the environment (see each field).
    pub fn from_env() -> Result<Self, GatewayStartError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`GatewayConfig::from_env`], from any lookup (tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, GatewayStartError> {
        let listen = match get("FLEET_GATEWAY_LISTEN") {
            Some(v) => v.parse().map_err(|e| GatewayStartError::Setting {
                name: "FLEET_GATEWAY_LISTEN",
                reason: format!("{e}"),
            })?,
            None => SocketAddr::from(([0, 0, 0, 0], 50051)),
        };
        let database_url = get("DATABASE_URL").ok_or(GatewayStartError::Setting {
            name: "DATABASE_URL",
            reason: "required".into(),
        })?;
        let callers = match (get("FLEET_CALLERS"), get("FLEET_CALLERS_FILE")) {
            (Some(json), _) => Callers::parse_json(&json)?,
            (None, Some(path)) => {
                let json = std::fs::read_to_string(&path)
                    .map_err(|source| GatewayStartError::ReadCallers { path, source })?;
                Callers::parse_json(&json)?
            }
            (None, None) => {
                return Err(GatewayStartError::Setting {
                    name: "FLEET_CALLERS",
                    reason: "set FLEET_CALLERS (json) or FLEET_CALLERS_FILE".into(),
                });
            }
        };
        let mut config = GatewayConfig::new(listen, database_url, callers);
        let ms = |name: &'static str, default: Duration| -> Result<Duration, GatewayStartError> {
            match get(name) {
                Some(v) => v.parse::<u64>().map(Duration::from_millis).map_err(|e| {
                    GatewayStartError::Setting {
                        name,
                        reason: e.to_string(),
                    }
                }),
                None => Ok(default),
            }
        };
        config.owner_cache = ms("FLEET_GATEWAY_OWNER_CACHE_MS", config.owner_cache)?;
        config.call_timeout = ms("FLEET_GATEWAY_CALL_TIMEOUT_MS", config.call_timeout)?;
        config.request_timeout = ms("FLEET_GATEWAY_REQUEST_TIMEOUT_MS", config.request_timeout)?;
        config.max_connection_age = ms(
            "FLEET_GATEWAY_MAX_CONNECTION_AGE_MS",
            config.max_connection_age,
        )?;
        config.drain_timeout = ms("FLEET_GATEWAY_DRAIN_TIMEOUT_MS", config.drain_timeout)?;
        if let Some(v) = get("FLEET_GATEWAY_MAX_MESSAGE_BYTES") {
            config.max_message_bytes =
                v.parse()
                    .map_err(|e: std::num::ParseIntError| GatewayStartError::Setting {
                        name: "FLEET_GATEWAY_MAX_MESSAGE_BYTES",
                        reason: e.to_string(),
                    })?;
        }
        if let Some(v) = get("FLEET_GATEWAY_DB_CONNECTIONS") {
            config.db_connections =
                v.parse()
                    .map_err(|e: std::num::ParseIntError| GatewayStartError::Setting {
                        name: "FLEET_GATEWAY_DB_CONNECTIONS",
                        reason: e.to_string(),
                    })?;
        }
        if let Some(v) = get("FLEET_GATEWAY_CALLER_RATE") {
            config.caller_limit.rate = v
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite() && *r >= 0.0)
                .ok_or_else(|| GatewayStartError::Setting {
                    name: "FLEET_GATEWAY_CALLER_RATE",
                    reason: format!("must be a number of requests per second >= 0; got {v:?}"),
                })?;
        }
        if let Some(v) = get("FLEET_GATEWAY_CALLER_BURST") {
            config.caller_limit.burst =
                v.parse::<u32>().ok().filter(|b| *b > 0).ok_or_else(|| {
                    GatewayStartError::Setting {
                        name: "FLEET_GATEWAY_CALLER_BURST",
                        reason: format!("must be a positive number of requests; got {v:?}"),
                    }
                })?;
        }
        if let Some(v) = get("FLEET_GATEWAY_MIGRATE") {
            config.migrate = !matches!(v.as_str(), "0" | "false" | "no");
        }
        Ok(config)
    }

    /// Connects to Postgres (and migrates) then builds the gateway.
    pub async fn build(self) -> Result<Gateway, GatewayStartError> {
        let pool = PgPoolOptions::new()
            .max_connections(self.db_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect(&self.database_url)
            .await?;
        self.build_with_pool(pool).await
    }

    /// Builds the gateway on an existing pool (binds the listen address).
    pub async fn build_with_pool(self, pool: PgPool) -> Result<Gateway, GatewayStartError> {
        let callers = Callers::new(&self.callers)?;
        if callers.is_empty() {
            tracing::warn!("no callers configured: every call will be refused");
        }
        if self.migrate {
            fleet_scheduler::migrate(&pool).await?;
        }
        let listener =
            TcpListener::bind(self.listen)
                .await
                .map_err(|source| GatewayStartError::Bind {
                    addr: self.listen,
                    source,
                })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| GatewayStartError::Bind {
                addr: self.listen,
                source,
            })?;
        Ok(Gateway {
            config: self,
            pool,
            callers,
            listener,
            local_addr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_limits_come_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        const BASE: &[(&str, &str)] = &[("DATABASE_URL", "postgres://x"), ("FLEET_CALLERS", "[]")];
        let config = GatewayConfig::from_lookup(env(BASE)).unwrap();
        assert_eq!(config.caller_limit, Limit::default());
        let config = GatewayConfig::from_lookup(env(&[
            ("DATABASE_URL", "postgres://x"),
            ("FLEET_CALLERS", "[]"),
            ("FLEET_GATEWAY_CALLER_RATE", "2.5"),
            ("FLEET_GATEWAY_CALLER_BURST", "9"),
        ]))
        .unwrap();
        assert_eq!(
            config.caller_limit,
            Limit {
                rate: 2.5,
                burst: 9
            }
        );
        for bad in [
            &[
                ("DATABASE_URL", "postgres://x"),
                ("FLEET_CALLERS", "[]"),
                ("FLEET_GATEWAY_CALLER_RATE", "-1"),
            ][..],
            &[
                ("DATABASE_URL", "postgres://x"),
                ("FLEET_CALLERS", "[]"),
                ("FLEET_GATEWAY_CALLER_BURST", "0"),
            ][..],
        ] {
            let owned: Vec<(String, String)> = bad
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            let lookup = |name: &str| {
                owned
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            assert!(GatewayConfig::from_lookup(lookup).is_err());
        }
    }
}
