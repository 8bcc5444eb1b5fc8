//! `images`: the Images service.

use clap::{Args, Subcommand};
use fleet_proto::v1;

use super::{ReplaceFile, confirm, list, plain_update, request, show, start};
use crate::args::{ListZone, LongRunning, Mutation, Paging, Zone};
use crate::ctx::Ctx;
use crate::error::CliError;

#[derive(Subcommand, Debug)]
pub enum ImagesCmd {
    /// List images (--zone all for every zone)
    List(ListImages),
    /// Show an image
    Get {
        #[command(flatten)]
        zone: Zone,
        image_id: String,
    },
    /// Create an image from a snapshot (an operation)
    Create(CreateImage),
    /// Change some fields of an image
    Update(UpdateImage),
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

// The arguments of `images list`.
#[derive(Args, Debug)]
pub struct ListImages {
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
}

// The arguments of `images create`.
#[derive(Args, Debug)]
pub struct CreateImage {
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
}

plain_update! {
    // The arguments of `images update`.
    UpdateImage => UpdateImageRequest { image: Image, id: image_id }
    flags {
        #[arg(long)] name: String,
        #[arg(long)] arch: String,
        #[arg(long)] public: bool,
    }
}

pub async fn run(ctx: &Ctx, cmd: ImagesCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.images();
    match cmd {
        ImagesCmd::List(args) => {
            let request = request!(ListImagesRequest {
                zone: args.zone.zone,
                ..args => name, public, arch, tags, project
            });
            list!(ctx, images.list_images, request, args.paging)
        }
        ImagesCmd::Get { zone, image_id } => {
            let request = v1::GetImageRequest {
                zone: zone.zone,
                image_id,
            };
            show(ctx, client.get_image(request)).await
        }
        ImagesCmd::Create(args) => {
            let request = request!(CreateImageRequest {
                zone: args.zone.zone,
                request_id: args.long.request_id(),
                ..args => name, root_volume, arch, tags, project, public
            });
            start(ctx, client.create_image(request), &args.long).await
        }
        ImagesCmd::Update(args) => show(ctx, client.update_image(args.request()?)).await,
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
