//! `volumes`: the Volumes service.

use clap::{Args, Subcommand};
use fleet_proto::v1;

use super::{Changes, confirm, list, request, show, start};
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

// The arguments of `volumes update`.
#[derive(Args, Debug)]
pub struct UpdateVolume {
    #[command(flatten)]
    zone: Zone,
    volume_id: String,
    #[arg(long)]
    name: Option<String>,
    /// New size (grow only), bytes or e.g. 40GB
    #[arg(long, value_parser = parse_size)]
    size: Option<u64>,
    /// Replace the tags with these (repeat)
    #[arg(long = "tag")]
    tags: Vec<String>,
    #[command(flatten)]
    mutation: Mutation,
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
    #[arg(long = "tag")]
    tags: Vec<String>,
    #[arg(long)]
    project: Option<String>,
    #[command(flatten)]
    long: LongRunning,
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
                ..args => name, volume_type, size, base_snapshot, tags, project
            });
            start(ctx, client.create_volume(request), &args.long).await
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

impl UpdateVolume {
    /// The UpdateVolumeRequest: the fields given, named in the update mask.
    fn request(self) -> Result<v1::UpdateVolumeRequest, CliError> {
        let mut volume = v1::Volume {
            id: self.volume_id,
            ..Default::default()
        };
        let mut changes = Changes::default();
        changes.set("name", &mut volume.name, self.name);
        changes.set("size", &mut volume.size, self.size);
        changes.tags(&mut volume.tags, self.tags);
        Ok(v1::UpdateVolumeRequest {
            zone: self.zone.zone,
            request_id: self.mutation.id(),
            volume: Some(volume),
            update_mask: Some(changes.mask("--name, --size or --tag")?),
        })
    }
}
