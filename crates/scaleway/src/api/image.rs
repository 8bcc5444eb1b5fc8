//! Images.
//!
//! One method per catalog endpoint; each doc line gives the method and
//! path template. Lists also have a `…_all` variant streaming every item
//! of every page (see [`crate::pagination`]).

use fleet_core::{
    CreateImageRequest, CreateImageResponse, GetImageResponse, Image, ListImagesQuery,
    ListImagesResponse, SetImageRequest, SetImageResponse, UpdateImageRequest, UpdateImageResponse,
    Zone,
};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::client::Client;
use crate::endpoint::Operation;
use crate::error::Result;
use crate::pagination::{Page, PageRequest, paginate};

impl Client {
    /// `GET /instance/v1/zones/{zone}/images`
    ///
    /// One page; `query.page`/`query.per_page` choose it.
    pub async fn list_images(&self, zone: Zone, query: &ListImagesQuery) -> Result<Page<Image>> {
        let (response, total_count) = self
            .call::<_, _, ListImagesResponse>(
                Operation::ListImages,
                zone,
                &[],
                Some(query),
                None::<&()>,
            )
            .await?;
        Ok(Page {
            items: response.images,
            total_count,
        })
    }

    /// Every item of [`Client::list_images`], page after page (`per_page = 100`).
    pub fn list_images_all(
        &self,
        zone: Zone,
        query: ListImagesQuery,
    ) -> BoxStream<'static, Result<Image>> {
        let client = self.clone();
        paginate(move |at: PageRequest| {
            let client = client.clone();
            let mut query = query.clone();
            query.page = Some(at.page);
            query.per_page = Some(at.per_page);
            async move { client.list_images(zone, &query).await }
        })
        .boxed()
    }

    /// `GET /instance/v1/zones/{zone}/images/{image_id}`
    pub async fn get_image(&self, zone: Zone, image_id: &str) -> Result<Image> {
        let (response, _) = self
            .call::<_, _, GetImageResponse>(
                Operation::GetImage,
                zone,
                &[image_id],
                None::<&()>,
                None::<&()>,
            )
            .await?;
        Ok(response.image)
    }

    /// `POST /instance/v1/zones/{zone}/images`
    pub async fn create_image(&self, zone: Zone, request: &CreateImageRequest) -> Result<Image> {
        let (response, _) = self
            .call::<_, _, CreateImageResponse>(
                Operation::CreateImage,
                zone,
                &[],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.image)
    }

    /// `PATCH /instance/v1/zones/{zone}/images/{image_id}`
    pub async fn update_image(
        &self,
        zone: Zone,
        image_id: &str,
        request: &UpdateImageRequest,
    ) -> Result<Image> {
        let (response, _) = self
            .call::<_, _, UpdateImageResponse>(
                Operation::UpdateImage,
                zone,
                &[image_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.image)
    }

    /// `PUT /instance/v1/zones/{zone}/images/{id}`
    pub async fn set_image(
        &self,
        zone: Zone,
        id: &str,
        request: &SetImageRequest,
    ) -> Result<Image> {
        let (response, _) = self
            .call::<_, _, SetImageResponse>(
                Operation::SetImage,
                zone,
                &[id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.image)
    }

    /// `DELETE /instance/v1/zones/{zone}/images/{image_id}`
    pub async fn delete_image(&self, zone: Zone, image_id: &str) -> Result<()> {
        self.call_empty(Operation::DeleteImage, zone, &[image_id], None::<&()>)
            .await
    }
}
