//! `volumes`: the Volumes service, over the volumes of both storage APIs (Instance and
//! Block Storage SBS volumes, by id alike).

use clap::{Args, Subcommand};
use fleet_proto::v1;

use super::{confirm, list, plain_update, request, show, start};
use crate::args::{ListZone, LongRunning, Mutation, Paging, Zone, parse_size};
use crate::ctx::Ctx;
use crate::error::CliError;

#[derive(Subcommand, Debug)]
pub enum VolumesCmd {
    /// List volumes (--zone all for every zone)
    List(ListVolumes),
    /// Show a volume
    Get {
        #[command(flatten)]
        zone: Zone,
        volume_id: String,
    },
    /// Create a volume, empty (--size) or from a snapshot (an operation)
    Create(CreateVolume),
    /// Grow an SBS volume or change its IOPS (an operation)
    Resize(ResizeVolume),
    /// Change the name, size or tags of a volume
    Update(UpdateVolume),
    /// Delete a volume
    Delete {
        #[command(flatten)]
        zone: Zone,
        volume_id: String,
        #[command(flatten)]
        mutation: Mutation,
    },
}

// The arguments of `volumes list`.
#[derive(Args, Debug)]
pub struct ListVolumes {
    #[command(flatten)]
    zone: ListZone,
    #[arg(long)]
    name: Option<String>,
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// l_ssd, b_ssd, sbs_volume, scratch
    #[arg(long)]
    volume_type: Option<String>,
    #[arg(long)]
    project: Option<String>,
    #[command(flatten)]
    paging: Paging,
}

// The arguments of `volumes create`.
#[derive(Args, Debug)]
pub struct CreateVolume {
    #[command(flatten)]
    zone: Zone,
    #[arg(long)]
    name: String,
    /// l_ssd, b_ssd, sbs_volume or scratch
    #[arg(long)]
    volume_type: Option<String>,
    /// Size, bytes or e.g. 20GB
    #[arg(long, value_parser = parse_size)]
    size: Option<u64>,
    /// Snapshot UUID to restore
    #[arg(long)]
    base_snapshot: Option<String>,
    /// IOPS of an SBS volume, 5000 or 15000 (makes the volume in Block Storage)
    #[arg(long = "iops", value_name = "IOPS")]
    perf_iops: Option<u32>,
    #[arg(long = "tag")]
    tags: Vec<String>,
    #[arg(long)]
    project: Option<String>,
    #[command(flatten)]
    long: LongRunning,
}

// The arguments of `volumes resize`.
#[derive(Args, Debug)]
pub struct ResizeVolume {
    #[command(flatten)]
    zone: Zone,
    /// An SBS volume
    volume_id: String,
    /// New size (grow only), bytes or e.g. 40GB
    #[arg(long, value_parser = parse_size, required_unless_present = "perf_iops")]
    size: Option<u64>,
    /// New IOPS, 5000 or 15000
    #[arg(long = "iops", value_name = "IOPS")]
    perf_iops: Option<u32>,
    #[command(flatten)]
    long: LongRunning,
}

plain_update! {
    // The arguments of `volumes update`.
    UpdateVolume => UpdateVolumeRequest { volume: Volume, id: volume_id }
    flags {
        #[arg(long)] name: String,
        /// New size (grow only), bytes or e.g. 40GB
        #[arg(long, value_parser = parse_size)] size: u64,
    }
}

pub async fn run(ctx: &Ctx, cmd: VolumesCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.volumes();
    match cmd {
        VolumesCmd::List(args) => {
            let request = request!(ListVolumesRequest {
                zone: args.zone.zone,
                ..args => name, tags, volume_type, project
            });
            list!(ctx, volumes.list_volumes, request, args.paging)
        }
        VolumesCmd::Get { zone, volume_id } => {
            let request = v1::GetVolumeRequest {
                zone: zone.zone,
                volume_id,
            };
            show(ctx, client.get_volume(request)).await
        }
        VolumesCmd::Create(args) => {
            let request = request!(CreateVolumeRequest {
                zone: args.zone.zone,
                request_id: args.long.request_id(),
                ..args => name, volume_type, size, base_snapshot, perf_iops, tags, project
            });
            start(ctx, client.create_volume(request), &args.long).await
        }
        VolumesCmd::Resize(args) => {
            let request = v1::ResizeVolumeRequest {
                zone: args.zone.zone,
                request_id: args.long.request_id(),
                volume_id: args.volume_id,
                size: args.size,
                perf_iops: args.perf_iops,
            };
            start(ctx, client.resize_volume(request), &args.long).await
        }
        VolumesCmd::Update(args) => show(ctx, client.update_volume(args.request()?)).await,
        VolumesCmd::Delete {
            zone,
            volume_id,
            mutation,
        } => {
            let request = v1::DeleteVolumeRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                volume_id: volume_id.clone(),
            };
            confirm(
                client.delete_volume(request),
                &format!("volume {volume_id} deleted"),
            )
            .await
        }
    }
}
