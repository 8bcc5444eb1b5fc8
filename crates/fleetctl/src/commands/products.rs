//! `products`: server types, their availability and volume types.

use clap::Subcommand;
use fleet_proto::v1;

use super::list;
use crate::args::{Paging, Zone};
use crate::ctx::Ctx;
use crate::error::CliError;

#[derive(Subcommand, Debug)]
pub enum ProductsCmd {
    /// Server types with their prices and limits
    ServerTypes {
        #[command(flatten)]
        zone: Zone,
        #[command(flatten)]
        paging: Paging,
    },
    /// Availability of each server type (available, scarce, shortage)
    Availability {
        #[command(flatten)]
        zone: Zone,
        #[command(flatten)]
        paging: Paging,
    },
    /// Volume types with their limits
    VolumeTypes {
        #[command(flatten)]
        zone: Zone,
        #[command(flatten)]
        paging: Paging,
    },
}

pub async fn run(ctx: &Ctx, cmd: ProductsCmd) -> Result<(), CliError> {
    match cmd {
        ProductsCmd::ServerTypes { zone, paging } => {
            let request = v1::ListServerTypesRequest {
                zone: zone.zone,
                ..Default::default()
            };
            list!(ctx, products.list_server_types, request, paging)
        }
        ProductsCmd::Availability { zone, paging } => {
            let request = v1::GetServerTypesAvailabilityRequest {
                zone: zone.zone,
                ..Default::default()
            };
            list!(ctx, products.get_server_types_availability, request, paging)
        }
        ProductsCmd::VolumeTypes { zone, paging } => {
            let request = v1::ListVolumeTypesRequest {
                zone: zone.zone,
                ..Default::default()
            };
            list!(ctx, products.list_volume_types, request, paging)
        }
    }
}
