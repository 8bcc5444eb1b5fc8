//! `user-data`: the user data of a server (the UserData service).

use clap::Subcommand;
use fleet_proto::v1;

use super::{confirm, list};
use crate::args::{Mutation, Paging, Source, Zone};
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::output::{self, Format};

#[derive(Subcommand, Debug)]
pub enum UserDataCmd {
    /// Keys of a server's user data
    List {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        #[command(flatten)]
        paging: Paging,
    },
    /// One value; raw bytes on stdout with the table format (redirect to a file)
    Get {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        key: String,
    },
    /// Create or replace one key: VALUE, @file or @- for stdin
    Set {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        key: String,
        value: String,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Delete one key
    Delete {
        #[command(flatten)]
        zone: Zone,
        server_id: String,
        key: String,
        #[command(flatten)]
        mutation: Mutation,
    },
}

pub async fn run(ctx: &Ctx, cmd: UserDataCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.user_data();
    match cmd {
        UserDataCmd::List {
            zone,
            server_id,
            paging,
        } => {
            let request = v1::ListServerUserDataRequest {
                zone: zone.zone,
                server_id,
                ..Default::default()
            };
            list!(ctx, user_data.list_server_user_data, request, paging)
        }
        UserDataCmd::Get {
            zone,
            server_id,
            key,
        } => {
            let data = client
                .get_server_user_data(v1::GetServerUserDataRequest {
                    zone: zone.zone,
                    server_id,
                    key,
                })
                .await?
                .into_inner();
            match ctx.printer.format {
                Format::Table => output::write_stdout(&data.value),
                Format::Json | Format::Yaml => ctx.print(&data),
            }
        }
        UserDataCmd::Set {
            zone,
            server_id,
            key,
            value,
            mutation,
        } => {
            let request = v1::SetServerUserDataRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                server_id,
                key: key.clone(),
                value: Source::parse(&value).read()?,
            };
            let set = format!("user data {key} set");
            confirm(client.set_server_user_data(request), &set).await
        }
        UserDataCmd::Delete {
            zone,
            server_id,
            key,
            mutation,
        } => {
            let request = v1::DeleteServerUserDataRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                server_id,
                key: key.clone(),
            };
            let deleted = format!("user data {key} deleted");
            confirm(client.delete_server_user_data(request), &deleted).await
        }
    }
}
