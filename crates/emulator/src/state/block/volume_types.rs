//! `GET volume-types`: the two SBS types a volume can be created with.
//! Never recorded: each entry has its `type` and `specs`; pricing is not
//! modelled and reads `null`.

use fleet_core::Maybe;
use fleet_core::block::{
    ListVolumeTypesResponse, StorageClass, VolumeSpecs, VolumeType, VolumeTypeInfo,
};
use serde_json::{Map, Value};

use crate::errors::ApiResult;
use crate::http::{Req, Resp};

/// The types offered at creation.
const OFFERED: [VolumeType; 2] = [VolumeType::Sbs5k, VolumeType::Sbs15k];

fn info(volume_type: &VolumeType) -> VolumeTypeInfo {
    let mut extra = Map::new();
    extra.insert("pricing".into(), Value::Null);
    extra.insert("snapshot_pricing".into(), Value::Null);
    VolumeTypeInfo {
        volume_type: volume_type.clone(),
        specs: Maybe::Value(VolumeSpecs {
            perf_iops: volume_type.perf_iops(),
            class: StorageClass::Sbs,
            extra: Map::new(),
        }),
        extra,
    }
}

/// `GET volume-types`.
pub fn list(req: &Req) -> ApiResult<Resp> {
    let items: Vec<VolumeTypeInfo> = OFFERED.iter().map(info).collect();
    crate::pagination::block_list_response(req, items, |volume_types, total_count| {
        ListVolumeTypesResponse {
            volume_types,
            total_count,
            extra: Map::new(),
        }
    })
}
