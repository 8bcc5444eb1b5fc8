//! Settings of the gateway: a `clap::Args` group (flags with environment fallbacks, defaults
//! in `fleet gateway --help`), or built in code with [`GatewayConfig::new`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use humantime::parse_duration;

use crate::auth::{CallerConfig, Callers, CallersError};
use crate::limits::{self, Limit};

/// Default gRPC listen address.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 50051);
/// Default zone owner cache lifetime.
pub const DEFAULT_OWNER_CACHE: Duration = Duration::from_secs(2);
/// Default bound of a synchronous call, retries included.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Default server-side bound of a unary request: above the WaitOperation cap.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(75);
/// Default WaitOperation cap.
pub const DEFAULT_WAIT_CAP: Duration = Duration::from_secs(60);
/// Default largest request or response message.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// Default HTTP/2 keep-alive ping interval.
pub const DEFAULT_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// Default HTTP/2 keep-alive ping timeout.
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default connection age before it is recycled.
pub const DEFAULT_MAX_CONNECTION_AGE: Duration = Duration::from_secs(300);
/// Default grace of in-flight calls on a recycled connection.
pub const DEFAULT_MAX_CONNECTION_AGE_GRACE: Duration = Duration::from_secs(30);
/// Default bound of the drain at shutdown.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(20);
/// Default readiness probe period.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(2);
/// Default Postgres pool size.
pub const DEFAULT_DB_CONNECTIONS: u32 = 16;
/// How long a synchronous mutation's `request_id` is remembered (as long as a completed job,
/// which remembers its own).
pub const DEFAULT_REQUEST_ID_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// How often expired `request_id` records are pruned.
pub const DEFAULT_REQUEST_ID_PRUNE_INTERVAL: Duration = Duration::from_secs(600);

/// How long audit records are kept (independent of job pruning).
pub const DEFAULT_AUDIT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);
/// How often expired audit records are pruned.
pub const DEFAULT_AUDIT_PRUNE_INTERVAL: Duration = Duration::from_secs(600);
/// Default pause between two ticks of a batch's coordinator.
pub const DEFAULT_BATCH_TICK: Duration = Duration::from_millis(250);

/// A duration default as `--help` shows it and `humantime::parse_duration` reads it back.
fn shown(default: Duration) -> String {
    humantime::format_duration(default).to_string()
}

/// Settings of the gateway.
#[derive(Debug, Clone, clap::Args)]
pub struct GatewayConfig {
    /// gRPC address.
    #[arg(long, env = "FLEET_GATEWAY_LISTEN", default_value_t = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Postgres URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// Callers given in code; the gateway serves these and those of [`Self::caller_source`].
    #[arg(skip)]
    pub callers: Vec<CallerConfig>,
    /// Where the callers are configured.
    #[command(flatten)]
    pub caller_source: CallerSource,
    /// Apply the migrations at start (under an advisory lock).
    #[arg(long, env = "FLEET_GATEWAY_MIGRATE", default_value_t = true,
        action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub migrate: bool,
    /// How long a zone's owner is cached.
    #[arg(long, env = "FLEET_GATEWAY_OWNER_CACHE",
        default_value = shown(DEFAULT_OWNER_CACHE), value_parser = parse_duration)]
    pub owner_cache: Duration,
    /// Longest synchronous call to a worker, retries included.
    #[arg(long, env = "FLEET_GATEWAY_CALL_TIMEOUT",
        default_value = shown(DEFAULT_CALL_TIMEOUT), value_parser = parse_duration)]
    pub call_timeout: Duration,
    /// Longest WaitOperation.
    #[arg(long, env = "FLEET_GATEWAY_WAIT_CAP",
        default_value = shown(DEFAULT_WAIT_CAP), value_parser = parse_duration)]
    pub wait_cap: Duration,
    /// Bound of the drain at shutdown.
    #[arg(long, env = "FLEET_GATEWAY_DRAIN_TIMEOUT",
        default_value = shown(DEFAULT_DRAIN_TIMEOUT), value_parser = parse_duration)]
    pub drain_timeout: Duration,
    /// Readiness probe period.
    #[arg(long, env = "FLEET_GATEWAY_HEALTH_INTERVAL",
        default_value = shown(DEFAULT_HEALTH_INTERVAL), value_parser = parse_duration)]
    pub health_interval: Duration,
    /// Pause between two ticks of a running batch (how soon a finished child is replaced).
    #[arg(long, env = "FLEET_GATEWAY_BATCH_TICK",
        default_value = shown(DEFAULT_BATCH_TICK), value_parser = parse_duration)]
    pub batch_tick: Duration,
    /// The gRPC transport: message and request bounds, HTTP/2 keep-alive, connection age.
    #[command(flatten)]
    pub transport: TransportSettings,
    /// How long the gateway's own records are kept.
    #[command(flatten)]
    pub retention: RetentionSettings,
    /// Postgres pool size.
    #[arg(long, env = "FLEET_GATEWAY_DB_CONNECTIONS", default_value_t = DEFAULT_DB_CONNECTIONS)]
    pub db_connections: u32,
    /// Default per-caller rate limit, for callers that set none of their own.
    #[command(flatten)]
    pub caller_limit: Limit,
}

/// The gRPC transport's settings.
#[derive(Debug, Clone, clap::Args)]
pub struct TransportSettings {
    /// Server-side bound of any unary request (above the WaitOperation cap).
    #[arg(long, env = "FLEET_GATEWAY_REQUEST_TIMEOUT",
        default_value = shown(DEFAULT_REQUEST_TIMEOUT), value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// Largest request or response message, in bytes.
    #[arg(long, env = "FLEET_GATEWAY_MAX_MESSAGE_BYTES", default_value_t = DEFAULT_MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,
    /// HTTP/2 keep-alive ping interval.
    #[arg(long, env = "FLEET_GATEWAY_KEEPALIVE_INTERVAL",
        default_value = shown(DEFAULT_KEEPALIVE_INTERVAL), value_parser = parse_duration)]
    pub keepalive_interval: Duration,
    /// HTTP/2 keep-alive ping timeout.
    #[arg(long, env = "FLEET_GATEWAY_KEEPALIVE_TIMEOUT",
        default_value = shown(DEFAULT_KEEPALIVE_TIMEOUT), value_parser = parse_duration)]
    pub keepalive_timeout: Duration,
    /// Connections are closed after this age, so that clients rebalance across replicas.
    #[arg(long, env = "FLEET_GATEWAY_MAX_CONNECTION_AGE",
        default_value = shown(DEFAULT_MAX_CONNECTION_AGE), value_parser = parse_duration)]
    pub max_connection_age: Duration,
    /// Time in-flight calls get on a connection closed for its age.
    #[arg(long, env = "FLEET_GATEWAY_MAX_CONNECTION_AGE_GRACE",
        default_value = shown(DEFAULT_MAX_CONNECTION_AGE_GRACE), value_parser = parse_duration)]
    pub max_connection_age_grace: Duration,
}

impl Default for TransportSettings {
    fn default() -> Self {
        TransportSettings {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            keepalive_interval: DEFAULT_KEEPALIVE_INTERVAL,
            keepalive_timeout: DEFAULT_KEEPALIVE_TIMEOUT,
            max_connection_age: DEFAULT_MAX_CONNECTION_AGE,
            max_connection_age_grace: DEFAULT_MAX_CONNECTION_AGE_GRACE,
        }
    }
}

/// How long the gateway keeps its own records (`request_id`s of synchronous mutations, audit
/// records) and how often it prunes them.
#[derive(Debug, Clone, clap::Args)]
pub struct RetentionSettings {
    /// How long a synchronous mutation's `request_id` is remembered.
    #[arg(long, env = "FLEET_GATEWAY_REQUEST_ID_RETENTION",
        default_value = shown(DEFAULT_REQUEST_ID_RETENTION), value_parser = parse_duration)]
    pub request_id_retention: Duration,
    /// How often expired `request_id` records are pruned.
    #[arg(long, env = "FLEET_GATEWAY_REQUEST_ID_PRUNE_INTERVAL",
        default_value = shown(DEFAULT_REQUEST_ID_PRUNE_INTERVAL), value_parser = parse_duration)]
    pub request_id_prune_interval: Duration,
    /// How long audit records are kept (independent of job pruning).
    #[arg(long, env = "FLEET_GATEWAY_AUDIT_RETENTION",
        default_value = shown(DEFAULT_AUDIT_RETENTION), value_parser = parse_duration)]
    pub audit_retention: Duration,
    /// How often expired audit records are pruned.
    #[arg(long, env = "FLEET_GATEWAY_AUDIT_PRUNE_INTERVAL",
        default_value = shown(DEFAULT_AUDIT_PRUNE_INTERVAL), value_parser = parse_duration)]
    pub audit_prune_interval: Duration,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            request_id_retention: DEFAULT_REQUEST_ID_RETENTION,
            request_id_prune_interval: DEFAULT_REQUEST_ID_PRUNE_INTERVAL,
            audit_retention: DEFAULT_AUDIT_RETENTION,
            audit_prune_interval: DEFAULT_AUDIT_PRUNE_INTERVAL,
        }
    }
}

/// The callers file or JSON text; at least one is required on the command line. JSON wins
/// when both are given.
#[derive(Debug, Clone, Default, clap::Args)]
#[group(required = true, multiple = true)]
pub struct CallerSource {
    /// Callers as JSON: `[{"name","token" or "token_sha256","projects":["*"] or ids,"role"}]`.
    #[arg(long = "callers", env = "FLEET_CALLERS", hide_env_values = true)]
    pub json: Option<String>,
    /// A file holding the callers JSON.
    #[arg(long = "callers-file", env = "FLEET_CALLERS_FILE")]
    pub file: Option<PathBuf>,
}

/// Why the configured callers cannot be read. Never repeats the JSON, which holds tokens.
#[derive(Debug, thiserror::Error)]
pub enum CallerSourceError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] CallersError),
}

impl CallerSource {
    /// The callers this source names (none when it names no source).
    pub fn load(&self) -> Result<Vec<CallerConfig>, CallerSourceError> {
        match (&self.json, &self.file) {
            (Some(json), _) => Ok(Callers::parse_json(json)?),
            (None, Some(path)) => {
                let json =
                    std::fs::read_to_string(path).map_err(|source| CallerSourceError::Read {
                        path: path.clone(),
                        source,
                    })?;
                Ok(Callers::parse_json(&json)?)
            }
            (None, None) => Ok(Vec::new()),
        }
    }
}

/// The gateway-wide caller limit as flags: rate (`0` = unlimited) and burst.
#[derive(clap::Args)]
struct CallerLimitFlags {
    /// Default requests per second of a caller (`0` = unlimited).
    #[arg(long = "caller-rate", env = "FLEET_GATEWAY_CALLER_RATE",
        default_value_t = limits::DEFAULT_RATE, value_parser = parse_rate)]
    rate: f64,
    /// Default burst of a caller.
    #[arg(long = "caller-burst", env = "FLEET_GATEWAY_CALLER_BURST",
        default_value_t = limits::DEFAULT_BURST,
        value_parser = clap::value_parser!(u32).range(1..))]
    burst: u32,
}

fn parse_rate(value: &str) -> Result<f64, String> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|rate| rate.is_finite() && *rate >= 0.0)
        .ok_or_else(|| "must be a number of requests per second >= 0".to_owned())
}

impl clap::Args for Limit {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        CallerLimitFlags::augment_args(cmd)
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        CallerLimitFlags::augment_args_for_update(cmd)
    }
}

impl clap::FromArgMatches for Limit {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let CallerLimitFlags { rate, burst } = CallerLimitFlags::from_arg_matches(matches)?;
        Ok(Limit { rate, burst })
    }
    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl GatewayConfig {
    /// Defaults around `listen`, `database_url` and `callers`.
    pub fn new(
        listen: SocketAddr,
        database_url: impl Into<String>,
        callers: Vec<CallerConfig>,
    ) -> Self {
        GatewayConfig {
            listen,
            database_url: database_url.into(),
            callers,
            caller_source: CallerSource::default(),
            migrate: true,
            owner_cache: DEFAULT_OWNER_CACHE,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            wait_cap: DEFAULT_WAIT_CAP,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            health_interval: DEFAULT_HEALTH_INTERVAL,
            batch_tick: DEFAULT_BATCH_TICK,
            transport: TransportSettings::default(),
            retention: RetentionSettings::default(),
            db_connections: DEFAULT_DB_CONNECTIONS,
            caller_limit: Limit::default(),
        }
    }

    /// The batch coordinator's pacing.
    pub fn batch_coordinator(&self) -> crate::batches::coordinator::CoordinatorSettings {
        crate::batches::coordinator::CoordinatorSettings {
            tick: self.batch_tick,
            ..Default::default()
        }
    }

    /// The policy runner's pacing (a run looks at its batch at the batch tick's pace).
    pub fn policy_runner(&self) -> crate::policies::runner::RunnerSettings {
        crate::policies::runner::RunnerSettings {
            tick: self.batch_tick,
            ..Default::default()
        }
    }

    /// Every caller the gateway serves: those given in code, then those of the source.
    pub fn all_callers(&self) -> Result<Vec<CallerConfig>, CallerSourceError> {
        let mut callers = self.callers.clone();
        callers.extend(self.caller_source.load()?);
        Ok(callers)
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, FromArgMatches as _, Parser};

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: GatewayConfig,
    }

    /// `args` after the required ones, parsed as flags (the process environment left out).
    fn parse(args: &[&str]) -> Result<GatewayConfig, clap::Error> {
        let base = ["gateway", "--database-url=postgres://x", "--callers=[]"];
        let matches = Cli::command()
            .mut_args(|arg| arg.env(None))
            .try_get_matches_from(base.into_iter().chain(args.iter().copied()))?;
        Ok(Cli::from_arg_matches(&matches)?.config)
    }

    #[test]
    fn caller_limits_come_from_the_flags() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.caller_limit, Limit::default());
        let config = parse(&["--caller-rate=2.5", "--caller-burst=9"]).unwrap();
        assert_eq!(
            config.caller_limit,
            Limit {
                rate: 2.5,
                burst: 9
            }
        );
        for bad in [&["--caller-rate=-1"][..], &["--caller-burst=0"][..]] {
            assert!(parse(bad).is_err());
        }
    }

    #[test]
    fn defaults_agree_with_new() {
        let mut parsed = parse(&[]).unwrap();
        assert_eq!(parsed.caller_source.json.as_deref(), Some("[]"));
        parsed.caller_source = CallerSource::default();
        let built = GatewayConfig::new(DEFAULT_LISTEN, "postgres://x", Vec::new());
        assert_eq!(format!("{parsed:?}"), format!("{built:?}"));
        let config = parse(&[
            "--owner-cache=250ms",
            "--migrate=false",
            "--drain-timeout=1m",
            "--audit-retention=30days",
        ])
        .unwrap();
        assert_eq!(
            config.retention.audit_retention,
            Duration::from_secs(30 * 24 * 3600)
        );
        assert_eq!(config.owner_cache, Duration::from_millis(250));
        assert_eq!(config.drain_timeout, Duration::from_secs(60));
        assert!(!config.migrate);
    }

    #[test]
    fn callers_come_from_json_or_a_file_and_are_required() {
        let json = r#"[{"name":"ops","token":"tok-1","projects":["*"],"role":"operator"}]"#;
        let file = std::env::temp_dir().join(format!("fleet-callers-{}.json", std::process::id()));
        std::fs::write(&file, json).unwrap();
        let from_file = format!("--callers-file={}", file.display());
        let matches = Cli::command()
            .mut_args(|arg| arg.env(None))
            .try_get_matches_from(["gateway", "--database-url=postgres://x", &from_file])
            .unwrap();
        let config = Cli::from_arg_matches(&matches).unwrap().config;
        assert_eq!(config.all_callers().unwrap().len(), 1);
        std::fs::remove_file(&file).unwrap();
        assert!(matches!(
            config.all_callers(),
            Err(CallerSourceError::Read { .. })
        ));

        let missing = Cli::command()
            .mut_args(|arg| arg.env(None))
            .try_get_matches_from(["gateway", "--database-url=postgres://x"])
            .unwrap_err();
        assert_eq!(
            missing.kind(),
            clap::error::ErrorKind::MissingRequiredArgument
        );

        let mut config = parse(&[]).unwrap();
        config.caller_source.json = Some(json.replace("tok-1\"", "tok-1\","));
        let err = config.all_callers().unwrap_err();
        assert!(!err.to_string().contains("tok-1"), "{err}");
    }
}
