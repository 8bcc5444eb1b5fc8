//! Storage and catalog commands: `images`, `snapshots`, `volumes`,
//! `block-migration`, `products`, `dashboard`, plus helpers the update and
//! replace commands of every family share.

use clap::{Args, Subcommand};
use fleet_proto::v1;

use crate::args::{ListZone, LongRunning, Mutation, Paging, Source, Zone, parse_size};
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::output;

/// The update mask for the paths given; none given is a usage error naming the flags.
pub fn mask(paths: &[&str], flags: &str) -> Result<prost_types::FieldMask, CliError> {
    if paths.is_empty() {
        return Err(CliError::usage(format!(
            "nothing to update: give at least one of {flags}"
        )));
    }
    Ok(prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

/// A resource from a JSON file (`@-` or `-` for stdin), Scaleway field names.
pub fn from_file<M: prost::Message + prost::Name + Default>(path: &str) -> Result<M, CliError> {
    let source = match path {
        "-" | "@-" => Source::Stdin,
        path => Source::File(path.trim_start_matches('@').to_owned()),
    };
    fleet_proto::json::from_json(source.json()?).map_err(|err| {
        CliError::usage(format!(
            "{path} does not hold a valid {}: {err}",
            M::full_name()
        ))
    })
}

/// Confirms a change whose answer is empty.
pub fn done(what: &str) -> Result<(), CliError> {
    output::note(what);
    Ok(())
}

#[derive(Subcommand, Debug)]
pub enum ImagesCmd {
    /// List images (--zone all for every zone)
    List {
        #[command(flatten)]
        zone: ListZone,
        #[arg(long)]
        name: Option<String>,
        /// Public (Scaleway's) or private images only
        #[arg(long)]
        public: Option<bool>,
        /// x86_64 or arm64
        #[arg(long)]
        arch: Option<String>,
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long)]
        project: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show an image
    Get {
        #[command(flatten)]
        zone: Zone,
        image_id: String,
    },
    /// Create an image from a snapshot (an operation)
    Create {
        #[command(flatten)]
        zone: Zone,
        #[arg(long)]
        name: String,
        /// Snapshot UUID of the root volume
        #[arg(long)]
        root_volume: String,
        /// x86_64 or arm64
        #[arg(long, default_value = "x86_64")]
        arch: String,
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long)]
        project: Option<String>,
        #[arg(long)]
        public: Option<bool>,
        #[command(flatten)]
        long: LongRunning,
    },
    /// Change some fields of an image
    Update {
        #[command(flatten)]
        zone: Zone,
        image_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        arch: Option<String>,
        #[arg(long)]
        public: Option<bool>,
        /// Replace the tags with these (repeat)
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Replace an image with the JSON object in a file (PUT)
    Replace {
        #[command(flatten)]
        zone: Zone,
        #[arg(long)]
        file: String,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Delete an image
    Delete {
        #[command(flatten)]
        zone: Zone,
        image_id: String,
        #[command(flatten)]
        mutation: Mutation,
    },
}

pub async fn run_images(ctx: &Ctx, cmd: ImagesCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.images();
    match cmd {
        ImagesCmd::List {
            zone,
            name,
            public,
            arch,
            tags,
            project,
            paging,
        } => {
            let request = v1::ListImagesRequest {
                zone: zone.zone,
                name,
                public,
                arch,
                tags,
                project,
                ..Default::default()
            };
            ctx.list(request, &paging, |r| {
                let mut c = ctx.gateway.images();
                async move { c.list_images(r).await }
            })
            .await
        }
        ImagesCmd::Get { zone, image_id } => {
            let image = client
                .get_image(v1::GetImageRequest {
                    zone: zone.zone,
                    image_id,
                })
                .await?
                .into_inner();
            ctx.print(&image)
        }
        ImagesCmd::Create {
            zone,
            name,
            root_volume,
            arch,
            tags,
            project,
            public,
            long,
        } => {
            let op = client
                .create_image(v1::CreateImageRequest {
                    zone: zone.zone,
                    request_id: long.request_id(),
                    name,
                    root_volume,
                    arch,
                    tags,
                    project,
                    public,
                    ..Default::default()
                })
                .await?
                .into_inner();
            ctx.operation(op, &long).await
        }
        ImagesCmd::Update {
            zone,
            image_id,
            name,
            arch,
            public,
            tags,
            mutation,
        } => {
            let mut image = v1::Image {
                id: image_id,
                ..Default::default()
            };
            let mut paths = Vec::new();
            if let Some(name) = name {
                image.name = name;
                paths.push("name");
            }
            if let Some(arch) = arch {
                image.arch = arch;
                paths.push("arch");
            }
            if let Some(public) = public {
                image.public = public;
                paths.push("public");
            }
            if !tags.is_empty() {
                image.tags = tags;
                paths.push("tags");
            }
            let update_mask = mask(&paths, "--name, --arch, --public or --tag")?;
            let image = client
                .update_image(v1::UpdateImageRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    image: Some(image),
                    update_mask: Some(update_mask),
                })
                .await?
                .into_inner();
            ctx.print(&image)
        }
        ImagesCmd::Replace {
            zone,
            file,
            mutation,
        } => {
            let image = client
                .replace_image(v1::ReplaceImageRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    image: Some(from_file(&file)?),
                })
                .await?
                .into_inner();
            ctx.print(&image)
        }
        ImagesCmd::Delete {
            zone,
            image_id,
            mutation,
        } => {
            client
                .delete_image(v1::DeleteImageRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    image_id: image_id.clone(),
                })
                .await?;
            done(&format!("image {image_id} deleted"))
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum SnapshotsCmd {
    /// List snapshots (--zone all for every zone)
    List {
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
    },
    /// Show a snapshot
    Get {
        #[command(flatten)]
        zone: Zone,
        snapshot_id: String,
    },
    /// Snapshot a volume, or import a qcow2 object with --bucket/--key (an operation)
    Create {
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
    },
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
    /// Change the name or tags of a snapshot
    Update {
        #[command(flatten)]
        zone: Zone,
        snapshot_id: String,
        #[arg(long)]
        name: Option<String>,
        /// Replace the tags with these (repeat)
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Replace a snapshot with the JSON object in a file (PUT)
    Replace {
        #[command(flatten)]
        zone: Zone,
        #[arg(long)]
        file: String,
        #[command(flatten)]
        mutation: Mutation,
    },
    /// Delete a snapshot
    Delete {
        #[command(flatten)]
        zone: Zone,
        snapshot_id: String,
        #[command(flatten)]
        mutation: Mutation,
    },
}

pub async fn run_snapshots(ctx: &Ctx, cmd: SnapshotsCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.snapshots();
    match cmd {
        SnapshotsCmd::List {
            zone,
            name,
            tags,
            base_volume,
            project,
            paging,
        } => {
            let request = v1::ListSnapshotsRequest {
                zone: zone.zone,
                name,
                tags,
                base_volume_id: base_volume,
                project,
                ..Default::default()
            };
            ctx.list(request, &paging, |r| {
                let mut c = ctx.gateway.snapshots();
                async move { c.list_snapshots(r).await }
            })
            .await
        }
        SnapshotsCmd::Get { zone, snapshot_id } => {
            let snapshot = client
                .get_snapshot(v1::GetSnapshotRequest {
                    zone: zone.zone,
                    snapshot_id,
                })
                .await?
                .into_inner();
            ctx.print(&snapshot)
        }
        SnapshotsCmd::Create {
            zone,
            name,
            volume,
            bucket,
            key,
            size,
            volume_type,
            tags,
            project,
            long,
        } => {
            let op = client
                .create_snapshot(v1::CreateSnapshotRequest {
                    zone: zone.zone,
                    request_id: long.request_id(),
                    name,
                    volume_id: volume,
                    tags,
                    project,
                    volume_type,
                    bucket,
                    key,
                    size,
                    ..Default::default()
                })
                .await?
                .into_inner();
            ctx.operation(op, &long).await
        }
        SnapshotsCmd::Export {
            zone,
            snapshot_id,
            bucket,
            key,
            long,
        } => {
            let op = client
                .export_snapshot(v1::ExportSnapshotRequest {
                    zone: zone.zone,
                    request_id: long.request_id(),
                    snapshot_id,
                    bucket,
                    key,
                })
                .await?
                .into_inner();
            ctx.operation(op, &long).await
        }
        SnapshotsCmd::Update {
            zone,
            snapshot_id,
            name,
            tags,
            mutation,
        } => {
            let mut snapshot = v1::Snapshot {
                id: snapshot_id,
                ..Default::default()
            };
            let mut paths = Vec::new();
            if let Some(name) = name {
                snapshot.name = name;
                paths.push("name");
            }
            if !tags.is_empty() {
                snapshot.tags = tags;
                paths.push("tags");
            }
            let update_mask = mask(&paths, "--name or --tag")?;
            let snapshot = client
                .update_snapshot(v1::UpdateSnapshotRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    snapshot: Some(snapshot),
                    update_mask: Some(update_mask),
                })
                .await?
                .into_inner();
            ctx.print(&snapshot)
        }
        SnapshotsCmd::Replace {
            zone,
            file,
            mutation,
        } => {
            let snapshot = client
                .replace_snapshot(v1::ReplaceSnapshotRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    snapshot: Some(from_file(&file)?),
                })
                .await?
                .into_inner();
            ctx.print(&snapshot)
        }
        SnapshotsCmd::Delete {
            zone,
            snapshot_id,
            mutation,
        } => {
            client
                .delete_snapshot(v1::DeleteSnapshotRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    snapshot_id: snapshot_id.clone(),
                })
                .await?;
            done(&format!("snapshot {snapshot_id} deleted"))
        }
    }
}

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

pub async fn run_volumes(ctx: &Ctx, cmd: VolumesCmd) -> Result<(), CliError> {
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
            ctx.list(request, &paging, |r| {
                let mut c = ctx.gateway.volumes();
                async move { c.list_volumes(r).await }
            })
            .await
        }
        VolumesCmd::Get { zone, volume_id } => {
            let volume = client
                .get_volume(v1::GetVolumeRequest {
                    zone: zone.zone,
                    volume_id,
                })
                .await?
                .into_inner();
            ctx.print(&volume)
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
            let op = client
                .create_volume(v1::CreateVolumeRequest {
                    zone: zone.zone,
                    request_id: long.request_id(),
                    name,
                    volume_type,
                    size,
                    base_snapshot,
                    tags,
                    project,
                    ..Default::default()
                })
                .await?
                .into_inner();
            ctx.operation(op, &long).await
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
            let mut paths = Vec::new();
            if let Some(name) = name {
                volume.name = name;
                paths.push("name");
            }
            if let Some(size) = size {
                volume.size = size;
                paths.push("size");
            }
            if !tags.is_empty() {
                volume.tags = tags;
                paths.push("tags");
            }
            let update_mask = mask(&paths, "--name, --size or --tag")?;
            let volume = client
                .update_volume(v1::UpdateVolumeRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    volume: Some(volume),
                    update_mask: Some(update_mask),
                })
                .await?
                .into_inner();
            ctx.print(&volume)
        }
        VolumesCmd::Delete {
            zone,
            volume_id,
            mutation,
        } => {
            client
                .delete_volume(v1::DeleteVolumeRequest {
                    zone: zone.zone,
                    request_id: mutation.id(),
                    volume_id: volume_id.clone(),
                })
                .await?;
            done(&format!("volume {volume_id} deleted"))
        }
    }
}

/// The volume or snapshot a block migration is about.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct MigrationTarget {
    /// Volume UUID (b_ssd) to migrate
    #[arg(long)]
    volume: Option<String>,
    /// Snapshot UUID to migrate
    #[arg(long)]
    snapshot: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum BlockMigrationCmd {
    /// What would migrate with the volume or snapshot, and the validation key to apply it
    Plan {
        #[command(flatten)]
        zone: Zone,
        #[command(flatten)]
        target: MigrationTarget,
    },
    /// Apply a plan (an operation)
    Apply {
        #[command(flatten)]
        zone: Zone,
        #[command(flatten)]
        target: MigrationTarget,
        /// validation_key from `block-migration plan`
        #[arg(long)]
        validation_key: String,
        #[command(flatten)]
        long: LongRunning,
    },
    /// Check the organization's quotas allow a migration
    CheckQuotas {
        #[command(flatten)]
        zone: Zone,
        #[arg(long)]
        organization: String,
    },
}

pub async fn run_block_migration(ctx: &Ctx, cmd: BlockMigrationCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.block_migration();
    match cmd {
        BlockMigrationCmd::Plan { zone, target } => {
            let plan = client
                .plan_block_migration(v1::PlanBlockMigrationRequest {
                    zone: zone.zone,
                    volume_id: target.volume,
                    snapshot_id: target.snapshot,
                })
                .await?
                .into_inner();
            ctx.print(&plan)
        }
        BlockMigrationCmd::Apply {
            zone,
            target,
            validation_key,
            long,
        } => {
            let op = client
                .apply_block_migration(v1::ApplyBlockMigrationRequest {
                    zone: zone.zone,
                    request_id: long.request_id(),
                    volume_id: target.volume,
                    snapshot_id: target.snapshot,
                    validation_key,
                })
                .await?
                .into_inner();
            ctx.operation(op, &long).await
        }
        BlockMigrationCmd::CheckQuotas { zone, organization } => {
            client
                .check_block_migration_organization_quotas(
                    v1::CheckBlockMigrationOrganizationQuotasRequest {
                        zone: zone.zone,
                        organization,
                    },
                )
                .await?;
            done("quotas allow the migration")
        }
    }
}

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

pub async fn run_products(ctx: &Ctx, cmd: ProductsCmd) -> Result<(), CliError> {
    match cmd {
        ProductsCmd::ServerTypes { zone, paging } => {
            let request = v1::ListServerTypesRequest {
                zone: zone.zone,
                ..Default::default()
            };
            ctx.list(request, &paging, |r| {
                let mut c = ctx.gateway.products();
                async move { c.list_server_types(r).await }
            })
            .await
        }
        ProductsCmd::Availability { zone, paging } => {
            let request = v1::GetServerTypesAvailabilityRequest {
                zone: zone.zone,
                ..Default::default()
            };
            ctx.list(request, &paging, |r| {
                let mut c = ctx.gateway.products();
                async move { c.get_server_types_availability(r).await }
            })
            .await
        }
        ProductsCmd::VolumeTypes { zone, paging } => {
            let request = v1::ListVolumeTypesRequest {
                zone: zone.zone,
                ..Default::default()
            };
            ctx.list(request, &paging, |r| {
                let mut c = ctx.gateway.products();
                async move { c.list_volume_types(r).await }
            })
            .await
        }
    }
}

#[derive(Args, Debug)]
pub struct DashboardArgs {
    #[command(flatten)]
    zone: Zone,
    #[arg(long)]
    project: Option<String>,
    #[arg(long)]
    organization: Option<String>,
}

pub async fn run_dashboard(ctx: &Ctx, args: DashboardArgs) -> Result<(), CliError> {
    let dashboard = ctx
        .gateway
        .dashboards()
        .get_dashboard(v1::GetDashboardRequest {
            zone: args.zone.zone,
            project: args.project,
            organization: args.organization,
        })
        .await?
        .into_inner();
    ctx.print(&dashboard)
}
