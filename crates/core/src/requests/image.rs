//! Image bodies and queries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::{Arch, ImageState, VolumeVolumeType};
use crate::requests::comma_list;
use crate::resources::{Bootscript, Volume, VolumeSummary};
use crate::time::Timestamp;
use crate::wire::wire_structs;

wire_structs! {
    /// Query of `GET images`.
    query ListImagesQuery {
        organization?: String,
        per_page?: u32,
        page?: i32,
        name?: String,
        public?: bool,
        arch?: String,
        project?: String,
        #[serde(with = "comma_list")]
        tags?: Vec<String>,
    }

    /// An additional volume of an image being created.
    body VolumeTemplate {
        id?: String,
        name?: String,
        /// Bytes, a multiple of 512.
        size?: u64,
        volume_type?: VolumeVolumeType,
        /// Deprecated.
        organization?: String,
        project?: String,
    }

    /// `POST images`.
    body CreateImageRequest {
        name?: String,
        /// UUID of the root snapshot.
        root_volume?: String,
        arch?: Arch,
        extra_volumes?: BTreeMap<String, VolumeTemplate>,
        /// Deprecated.
        organization?: String,
        project?: String,
        tags?: Vec<String>,
        public?: bool,
    }

    /// A snapshot reference in an image update.
    body VolumeImageUpdateTemplate {
        /// UUID of the snapshot.
        id: String,
    }

    /// `PATCH images/{image_id}`.
    body UpdateImageRequest {
        name?: String,
        arch?: Arch,
        /// Keyed by position of the snapshot in the image.
        extra_volumes?: BTreeMap<String, VolumeImageUpdateTemplate>,
        tags?: Vec<String>,
        public?: bool,
    }

    /// `PUT images/{id}`: full replacement, every field sent.
    body SetImageRequest {
        name: String,
        arch: Arch,
        creation_date: Option<Timestamp>,
        modification_date: Option<Timestamp>,
        default_bootscript: Option<Bootscript>,
        extra_volumes: BTreeMap<String, Volume>,
        from_server: String,
        organization: String,
        public: bool,
        root_volume: Option<VolumeSummary>,
        state: ImageState,
        project: String,
        tags: Option<Vec<String>>,
    }
}
