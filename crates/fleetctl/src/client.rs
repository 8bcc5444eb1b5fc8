//! The connection to the gateway: one channel, the bearer token on every call,
//! and a typed client per fleet.v1 service built on it.
//!
//! The token lives in [`Token`], whose `Debug` prints `[redacted]`, so no error
//! message or debug print can leak it.

use std::time::Duration;

use fleet_proto::v1;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::error::CliError;

/// The gateway token. Never printed.
#[derive(Clone)]
pub struct Token(Option<MetadataValue<Ascii>>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Token {
    /// The `authorization` value for `token`, checked once here so a bad token
    /// fails before any call instead of on each.
    pub fn new(token: Option<&str>) -> Result<Self, CliError> {
        match token.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(Token(None)),
            Some(token) => {
                let mut value: MetadataValue<Ascii> = format!("Bearer {token}")
                    .parse()
                    .map_err(|_| {
                        CliError::usage(
                            "the token holds characters not allowed in a header; check FLEET_TOKEN / --token",
                        )
                    })?;
                value.set_sensitive(true);
                Ok(Token(Some(value)))
            }
        }
    }
}

/// Adds `authorization: Bearer …` to every request.
#[derive(Clone, Debug)]
pub struct Auth {
    token: Token,
}

impl Interceptor for Auth {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.token.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// The channel type every client uses.
pub type AuthChannel = InterceptedService<Channel, Auth>;

/// A connected gateway: hands out typed clients sharing one HTTP/2 connection.
#[derive(Clone, Debug)]
pub struct Gateway {
    channel: Channel,
    auth: Auth,
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `http://host:port` (or https).
    pub addr: String,
    /// Bearer token.
    pub token: Token,
    /// Deadline of each unary call (and of connecting).
    pub timeout: Duration,
}

impl Gateway {
    /// Connects now, so an unreachable gateway is reported once, clearly.
    pub async fn connect(options: ConnectOptions) -> Result<Self, CliError> {
        let addr = options.addr.clone();
        let endpoint = Endpoint::from_shared(options.addr.clone())
            .map_err(|err| {
                CliError::usage(format!(
                    "--addr {addr:?} is not a valid URL ({err}); use e.g. http://127.0.0.1:50051"
                ))
            })?
            .connect_timeout(options.timeout)
            .timeout(options.timeout);
        let channel = endpoint.connect().await.map_err(|err| CliError::Connect {
            addr: addr.clone(),
            reason: error_chain(&err),
        })?;
        Ok(Gateway {
            channel,
            auth: Auth {
                token: options.token,
            },
        })
    }

    /// The authenticated channel, for the generic `call` command.
    pub fn channel(&self) -> AuthChannel {
        InterceptedService::new(self.channel.clone(), self.auth.clone())
    }

    pub fn products(&self) -> v1::products_client::ProductsClient<AuthChannel> {
        v1::products_client::ProductsClient::new(self.channel())
    }
    pub fn dashboards(&self) -> v1::dashboards_client::DashboardsClient<AuthChannel> {
        v1::dashboards_client::DashboardsClient::new(self.channel())
    }
    pub fn servers(&self) -> v1::servers_client::ServersClient<AuthChannel> {
        v1::servers_client::ServersClient::new(self.channel())
    }
    pub fn server_actions(&self) -> v1::server_actions_client::ServerActionsClient<AuthChannel> {
        v1::server_actions_client::ServerActionsClient::new(self.channel())
    }
    pub fn user_data(&self) -> v1::user_data_client::UserDataClient<AuthChannel> {
        v1::user_data_client::UserDataClient::new(self.channel())
    }
    pub fn images(&self) -> v1::images_client::ImagesClient<AuthChannel> {
        v1::images_client::ImagesClient::new(self.channel())
    }
    pub fn snapshots(&self) -> v1::snapshots_client::SnapshotsClient<AuthChannel> {
        v1::snapshots_client::SnapshotsClient::new(self.channel())
    }
    pub fn volumes(&self) -> v1::volumes_client::VolumesClient<AuthChannel> {
        v1::volumes_client::VolumesClient::new(self.channel())
    }
    pub fn block_migration(&self) -> v1::block_migration_client::BlockMigrationClient<AuthChannel> {
        v1::block_migration_client::BlockMigrationClient::new(self.channel())
    }
    pub fn security_groups(&self) -> v1::security_groups_client::SecurityGroupsClient<AuthChannel> {
        v1::security_groups_client::SecurityGroupsClient::new(self.channel())
    }
    pub fn placement_groups(
        &self,
    ) -> v1::placement_groups_client::PlacementGroupsClient<AuthChannel> {
        v1::placement_groups_client::PlacementGroupsClient::new(self.channel())
    }
    pub fn ips(&self) -> v1::ips_client::IpsClient<AuthChannel> {
        v1::ips_client::IpsClient::new(self.channel())
    }
    pub fn private_nics(&self) -> v1::private_nics_client::PrivateNicsClient<AuthChannel> {
        v1::private_nics_client::PrivateNicsClient::new(self.channel())
    }
    pub fn operations(&self) -> v1::operations_client::OperationsClient<AuthChannel> {
        v1::operations_client::OperationsClient::new(self.channel())
    }
    pub fn audit(&self) -> v1::audit_client::AuditClient<AuthChannel> {
        v1::audit_client::AuditClient::new(self.channel())
    }
    pub fn batches(&self) -> v1::batches_client::BatchesClient<AuthChannel> {
        v1::batches_client::BatchesClient::new(self.channel())
    }
    pub fn policies(&self) -> v1::policies_client::PoliciesClient<AuthChannel> {
        v1::policies_client::PoliciesClient::new(self.channel())
    }
}

/// The error and its sources on one line: tonic's top-level transport error
/// alone ("transport error") says nothing about what went wrong.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_is_redacted() {
        let token = Token::new(Some("s3cr3t")).unwrap();
        assert_eq!(format!("{token:?}"), "[redacted]");
        let auth = Auth { token };
        assert!(!format!("{auth:?}").contains("s3cr3t"));
    }

    #[test]
    fn blank_token_sends_no_header() {
        let mut auth = Auth {
            token: Token::new(Some("  ")).unwrap(),
        };
        let request = auth.call(tonic::Request::new(())).unwrap();
        assert!(request.metadata().get("authorization").is_none());
    }

    #[test]
    fn token_with_newline_is_a_usage_error() {
        let err = Token::new(Some("a\nb")).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::USAGE);
        assert!(!err.to_string().contains("a\nb"));
    }
}
