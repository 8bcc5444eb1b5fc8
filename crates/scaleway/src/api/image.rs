//! Images.

use fleet_core::{
    CreateImageRequest, CreateImageResponse, GetImageResponse, Image, ListImagesQuery,
    ListImagesResponse, SetImageRequest, SetImageResponse, UpdateImageRequest, UpdateImageResponse,
};

use super::client_methods;
use crate::client::Client;

impl Client {
    client_methods! {
        /// `GET /instance/v1/zones/{zone}/images`
        list list_images / list_images_all() ListImagesQuery => Image = ListImages(ListImagesResponse).images;
        /// `GET /instance/v1/zones/{zone}/images/{image_id}`
        get get_image(image_id) => Image = GetImage(GetImageResponse).image;
        /// `POST /instance/v1/zones/{zone}/images`
        send create_image() CreateImageRequest => Image = CreateImage(CreateImageResponse).image;
        /// `PATCH /instance/v1/zones/{zone}/images/{image_id}`
        send update_image(image_id) UpdateImageRequest => Image = UpdateImage(UpdateImageResponse).image;
        /// `PUT /instance/v1/zones/{zone}/images/{id}`
        send set_image(id) SetImageRequest => Image = SetImage(SetImageResponse).image;
        /// `DELETE /instance/v1/zones/{zone}/images/{image_id}`
        empty delete_image(image_id) = DeleteImage;
    }
}
