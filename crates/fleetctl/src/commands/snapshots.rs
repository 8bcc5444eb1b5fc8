//! `snapshots`: the Snapshots service over the snapshots of both storage APIs
//! (snapshot a volume, import and export qcow2 objects), and `restore`, a volume
//! made from a snapshot (the Volumes service's create).

use clap::{Args, Subcommand};
use fleet_proto::v1;

use super::{ReplaceFile, confirm, list, plain_update, request, show, start};
use crate::args::{ListZone, LongRunning, Mutation, Paging, Zone, parse_size};
use crate::ctx::Ctx;
use crate::error::CliError;

#[derive(Subcommand, Debug)]
pub enum SnapshotsCmd {
    /// List snapshots (--zone all for every zone)
    List(ListSnapshots),
    /// Show a snapshot
    Get {
        #[command(flatten)]
        zone: Zone,
        snapshot_id: String,
    },
    /// Snapshot a volume, or import a qcow2 object with --bucket/--key (an operation)
    Create(CreateSnapshot),
    /// Export a snapshot as a qcow2 object to Object Storage (an operation)
    Export {
        #[command(flatten)]
        zone: Zone,
        snapshot_id: String,
        /// Bucket (same region as the zone)
        #[arg(long)]
        bucket: String,
        /// Object key, e.g. backups/web-1.qcow2
        #[arg(long)]
        key: String,
        #[command(flatten)]
        long: LongRunning,
    },
    /// Import a qcow2 object of Object Storage as an SBS snapshot (an operation)
    Import(ImportSnapshot),
    /// Restore a snapshot to a new volume (an operation)
    Restore(RestoreSnapshot),
    /// Change the name or tags of a snapshot
    Update(UpdateSnapshot),
    /// Replace a snapshot with the JSON object in a file (PUT)
    Replace(ReplaceFile),
    /// Delete a snapshot
    Delete {
        #[command(flatten)]
        zone: Zone,
        snapshot_id: String,
        #[command(flatten)]
        mutation: Mutation,
    },
}

// The arguments of `snapshots list`.
#[derive(Args, Debug)]
pub struct ListSnapshots {
    #[command(flatten)]
    zone: ListZone,
    #[arg(long)]
    name: Option<String>,
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Only snapshots of this volume
    #[arg(long)]
    base_volume: Option<String>,
    #[arg(long)]
    project: Option<String>,
    #[command(flatten)]
    paging: Paging,
}

// The arguments of `snapshots create`.
#[derive(Args, Debug)]
pub struct CreateSnapshot {
    #[command(flatten)]
    zone: Zone,
    #[arg(long)]
    name: String,
    /// Volume UUID to snapshot
    #[arg(long, required_unless_present = "bucket", conflicts_with = "bucket")]
    volume: Option<String>,
    /// Import: Object Storage bucket (same region as the zone)
    #[arg(long, requires = "key")]
    bucket: Option<String>,
    /// Import: object key of the qcow2 image
    #[arg(long, requires = "bucket")]
    key: Option<String>,
    /// Import: size, bytes or e.g. 20GB
    #[arg(long, value_parser = parse_size)]
    size: Option<u64>,
    /// l_ssd, b_ssd or unified
    #[arg(long)]
    volume_type: Option<String>,
    #[arg(long = "tag")]
    tags: Vec<String>,
    #[arg(long)]
    project: Option<String>,
    #[command(flatten)]
    long: LongRunning,
}

// The arguments of `snapshots import`.
#[derive(Args, Debug)]
pub struct ImportSnapshot {
    #[command(flatten)]
    zone: Zone,
    /// Name of the new snapshot
    #[arg(long)]
    name: String,
    /// Object Storage bucket (same region as the zone)
    #[arg(long)]
    bucket: String,
    /// Object key of the qcow2 image
    #[arg(long)]
    key: String,
    /// Size, bytes or e.g. 20GB (default: the object's)
    #[arg(long, value_parser = parse_size)]
    size: Option<u64>,
    #[arg(long = "tag")]
    tags: Vec<String>,
    #[arg(long)]
    project: Option<String>,
    #[command(flatten)]
    long: LongRunning,
}

// The arguments of `snapshots restore`.
#[derive(Args, Debug)]
pub struct RestoreSnapshot {
    #[command(flatten)]
    zone: Zone,
    /// The snapshot to restore
    snapshot_id: String,
    /// Name of the new volume
    #[arg(long)]
    name: String,
    /// Volume type for an Instance snapshot (l_ssd, b_ssd); SBS snapshots restore to sbs_volume
    #[arg(long)]
    volume_type: Option<String>,
    /// IOPS of the new SBS volume, 5000 or 15000
    #[arg(long = "iops", value_name = "IOPS")]
    perf_iops: Option<u32>,
    #[arg(long = "tag")]
    tags: Vec<String>,
    #[arg(long)]
    project: Option<String>,
    #[command(flatten)]
    long: LongRunning,
}

plain_update! {
    // The arguments of `snapshots update`.
    UpdateSnapshot => UpdateSnapshotRequest { snapshot: Snapshot, id: snapshot_id }
    flags {
        #[arg(long)] name: String,
    }
}

pub async fn run(ctx: &Ctx, cmd: SnapshotsCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.snapshots();
    match cmd {
        SnapshotsCmd::List(args) => {
            let request = request!(ListSnapshotsRequest {
                zone: args.zone.zone,
                base_volume_id: args.base_volume,
                ..args => name, tags, project
            });
            list!(ctx, snapshots.list_snapshots, request, args.paging)
        }
        SnapshotsCmd::Get { zone, snapshot_id } => {
            let request = v1::GetSnapshotRequest {
                zone: zone.zone,
                snapshot_id,
            };
            show(ctx, client.get_snapshot(request)).await
        }
        SnapshotsCmd::Create(args) => {
            let request = request!(CreateSnapshotRequest {
                zone: args.zone.zone,
                request_id: args.long.request_id(),
                volume_id: args.volume,
                ..args => name, tags, project, volume_type, bucket, key, size
            });
            start(ctx, client.create_snapshot(request), &args.long).await
        }
        SnapshotsCmd::Export {
            zone,
            snapshot_id,
            bucket,
            key,
            long,
        } => {
            let request = v1::ExportSnapshotRequest {
                zone: zone.zone,
                request_id: long.request_id(),
                snapshot_id,
                bucket,
                key,
            };
            start(ctx, client.export_snapshot(request), &long).await
        }
        SnapshotsCmd::Import(args) => {
            let request = v1::ImportSnapshotRequest {
                zone: args.zone.zone,
                request_id: args.long.request_id(),
                bucket: args.bucket,
                key: args.key,
                name: args.name,
                project: args.project,
                tags: args.tags,
                size: args.size,
            };
            start(ctx, client.import_snapshot(request), &args.long).await
        }
        SnapshotsCmd::Restore(args) => {
            let request = request!(CreateVolumeRequest {
                zone: args.zone.zone,
                request_id: args.long.request_id(),
                base_snapshot: Some(args.snapshot_id),
                ..args => name, volume_type, perf_iops, tags, project
            });
            start(
                ctx,
                ctx.gateway.volumes().create_volume(request),
                &args.long,
            )
            .await
        }
        SnapshotsCmd::Update(args) => show(ctx, client.update_snapshot(args.request()?)).await,
        SnapshotsCmd::Replace(replace) => {
            show(
                ctx,
                client.replace_snapshot(replace.request::<v1::ReplaceSnapshotRequest>()?),
            )
            .await
        }
        SnapshotsCmd::Delete {
            zone,
            snapshot_id,
            mutation,
        } => {
            let request = v1::DeleteSnapshotRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                snapshot_id: snapshot_id.clone(),
            };
            let deleted = format!("snapshot {snapshot_id} deleted");
            confirm(client.delete_snapshot(request), &deleted).await
        }
    }
}
