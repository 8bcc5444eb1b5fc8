//! `volumes`: the Volumes service.

use clap::Subcommand;
use fleet_proto::v1;

use super::{Changes, confirm, list, show, start};
use crate::args::{ListZone, LongRunning, Mutation, Paging, Zone, parse_size};
use crate::ctx::Ctx;
use crate::error::CliError;

#[derive(Subcommand, Debug)]
pub enum VolumesCmd {
    /// List volumes (--zone all for every zone)
    List {
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
    },
    /// Show a volume
    Get {
        #[command(flatten)]
        zone: Zone,
        volume_id: String,
    },
    /// Create a volume, empty (--size) or from a snapshot (an operation)
    Create {
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
    },
    /// Change the name, size or tags of a volume
    Update {
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
    },
    /// Delete a volume
    Delete {
        #[command(flatten)]
        zone: Zone,
        volume_id: String,
        #[command(flatten)]
        mutation: Mutation,
    },
}

pub async fn run(ctx: &Ctx, cmd: VolumesCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.volumes();
    match cmd {
        VolumesCmd::List {
            zone,
            name,
            tags,
            volume_type,
            project,
            paging,
        } => {
            let request = v1::ListVolumesRequest {
                zone: zone.zone,
                name,
                tags,
                volume_type,
                project,
                ..Default::default()
            };
            list!(ctx, volumes.list_volumes, request, paging)
        }
        VolumesCmd::Get { zone, volume_id } => {
            let request = v1::GetVolumeRequest {
                zone: zone.zone,
                volume_id,
            };
            show(ctx, client.get_volume(request)).await
        }
        VolumesCmd::Create {
            zone,
            name,
            volume_type,
            size,
            base_snapshot,
            tags,
            project,
            long,
        } => {
            let request = v1::CreateVolumeRequest {
                zone: zone.zone,
                request_id: long.request_id(),
                name,
                volume_type,
                size,
                base_snapshot,
                tags,
                project,
                ..Default::default()
            };
            start(ctx, client.create_volume(request), &long).await
        }
        VolumesCmd::Update {
            zone,
            volume_id,
            name,
            size,
            tags,
            mutation,
        } => {
            let mut volume = v1::Volume {
                id: volume_id,
                ..Default::default()
            };
            let mut changes = Changes::default();
            changes.set("name", &mut volume.name, name);
            changes.set("size", &mut volume.size, size);
            changes.tags(&mut volume.tags, tags);
            let request = v1::UpdateVolumeRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                volume: Some(volume),
                update_mask: Some(changes.mask("--name, --size or --tag")?),
            };
            show(ctx, client.update_volume(request)).await
        }
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
