//! The build step: connect to Postgres, migrate, read the callers and bind, turning a
//! [`GatewayConfig`] into a [`Gateway`] ready to [`Gateway::run`].

use std::net::SocketAddr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::net::TcpListener;

use super::server::Gateway;
use crate::auth::{Callers, CallersError};
use crate::config::{CallerSourceError, GatewayConfig};

/// Why the gateway cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayStartError {
    #[error("invalid setting {name}: {reason}")]
    Setting { name: &'static str, reason: String },
    #[error(transparent)]
    Callers(#[from] CallersError),
    #[error(transparent)]
    CallerSource(#[from] CallerSourceError),
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

impl GatewayConfig {
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
        let callers = Callers::new(&self.all_callers()?)?;
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
