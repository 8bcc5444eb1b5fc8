//! Volume bodies and queries.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::VolumeVolumeType;
use crate::requests::comma_list;
use crate::wire::wire_structs;

wire_structs! {
    /// Query of `GET volumes`.
    query ListVolumesQuery {
        volume_type?: VolumeVolumeType,
        per_page?: u32,
        page?: i32,
        organization?: String,
        project?: String,
        #[serde(with = "comma_list")]
        tags?: Vec<String>,
        name?: String,
    }

    /// `POST volumes`: empty (`size`) or from a snapshot (`base_snapshot`).
    body CreateVolumeRequest {
        name?: String,
        /// Deprecated.
        organization?: String,
        project?: String,
        tags?: Vec<String>,
        volume_type?: VolumeVolumeType,
        /// Bytes, a multiple of 512.
        size?: u64,
        base_snapshot?: String,
    }

    /// `PATCH volumes/{volume_id}`.
    body UpdateVolumeRequest {
        name?: String,
        tags?: Vec<String>,
        /// Bytes, a multiple of 512.
        size?: u64,
    }
}
