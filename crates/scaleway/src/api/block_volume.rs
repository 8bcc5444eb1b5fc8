//! Block Storage (SBS) volumes and volume types. Block answers single
//! objects bare (no envelope) and lists with `total_count` in the body.

use fleet_core::block::{
    CreateVolumeRequest, ListVolumeTypesQuery, ListVolumeTypesResponse, ListVolumesQuery,
    ListVolumesResponse, UpdateVolumeRequest, Volume, VolumeTypeInfo,
};

use super::client_methods;
use crate::client::Client;

impl Client {
    client_methods! {
        /// `GET /block/v1/zones/{zone}/volume-types`
        list block_list_volume_types / block_list_volume_types_all() ListVolumeTypesQuery => VolumeTypeInfo
            = BlockListVolumeTypes(ListVolumeTypesResponse).volume_types;
        /// `GET /block/v1/zones/{zone}/volumes`
        list block_list_volumes / block_list_volumes_all() ListVolumesQuery => Volume
            = BlockListVolumes(ListVolumesResponse).volumes;
        /// `POST /block/v1/zones/{zone}/volumes` (empty or from a snapshot;
        /// answers `creating`)
        send block_create_volume() CreateVolumeRequest => Volume = BlockCreateVolume(Volume);
        /// `GET /block/v1/zones/{zone}/volumes/{volume_id}`
        get block_get_volume(volume_id) => Volume = BlockGetVolume(Volume);
        /// `PATCH /block/v1/zones/{zone}/volumes/{volume_id}` (the answer says
        /// `updating` and still shows the old size and IOPS)
        send block_update_volume(volume_id) UpdateVolumeRequest => Volume = BlockUpdateVolume(Volume);
        /// `DELETE /block/v1/zones/{zone}/volumes/{volume_id}` (refused while
        /// `in_use`)
        empty block_delete_volume(volume_id) = BlockDeleteVolume;
    }
}
