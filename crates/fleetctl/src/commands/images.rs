//! `images`: the Images service.

use clap::Subcommand;
use fleet_proto::v1;

use super::{Changes, ReplaceFile, confirm, list, show, start};
use crate::args::{ListZone, LongRunning, Mutation, Paging, Zone};
use crate::ctx::Ctx;
use crate::error::CliError;

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
    Replace(ReplaceFile),
    /// Delete an image
    Delete {
        #[command(flatten)]
        zone: Zone,
        image_id: String,
        #[command(flatten)]
        mutation: Mutation,
    },
}

pub async fn run(ctx: &Ctx, cmd: ImagesCmd) -> Result<(), CliError> {
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
            list!(ctx, images.list_images, request, paging)
        }
        ImagesCmd::Get { zone, image_id } => {
            let request = v1::GetImageRequest {
                zone: zone.zone,
                image_id,
            };
            show(ctx, client.get_image(request)).await
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
            let request = v1::CreateImageRequest {
                zone: zone.zone,
                request_id: long.request_id(),
                name,
                root_volume,
                arch,
                tags,
                project,
                public,
                ..Default::default()
            };
            start(ctx, client.create_image(request), &long).await
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
            let mut changes = Changes::default();
            changes.set("name", &mut image.name, name);
            changes.set("arch", &mut image.arch, arch);
            changes.set("public", &mut image.public, public);
            changes.tags(&mut image.tags, tags);
            let request = v1::UpdateImageRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                image: Some(image),
                update_mask: Some(changes.mask("--name, --arch, --public or --tag")?),
            };
            show(ctx, client.update_image(request)).await
        }
        ImagesCmd::Replace(replace) => {
            show(
                ctx,
                client.replace_image(replace.request::<v1::ReplaceImageRequest>()?),
            )
            .await
        }
        ImagesCmd::Delete {
            zone,
            image_id,
            mutation,
        } => {
            let request = v1::DeleteImageRequest {
                zone: zone.zone,
                request_id: mutation.id(),
                image_id: image_id.clone(),
            };
            confirm(
                client.delete_image(request),
                &format!("image {image_id} deleted"),
            )
            .await
        }
    }
}
