//! Local volumes (`l_ssd`, `scratch`).

use fleet_core::{
    CreateVolumeRequest, CreateVolumeResponse, GetVolumeResponse, ListVolumesQuery,
    ListVolumesResponse, UpdateVolumeRequest, UpdateVolumeResponse, Volume,
};

use super::client_methods;
use crate::client::Client;

impl Client {
    client_methods! {
        /// `GET /instance/v1/zones/{zone}/volumes`
        list list_volumes / list_volumes_all() ListVolumesQuery => Volume = ListVolumes(ListVolumesResponse).volumes;
        /// `POST /instance/v1/zones/{zone}/volumes`
        send create_volume() CreateVolumeRequest => Volume = CreateVolume(CreateVolumeResponse).volume;
        /// `GET /instance/v1/zones/{zone}/volumes/{volume_id}`
        get get_volume(volume_id) => Volume = GetVolume(GetVolumeResponse).volume;
        /// `PATCH /instance/v1/zones/{zone}/volumes/{volume_id}`
        send update_volume(volume_id) UpdateVolumeRequest => Volume = UpdateVolume(UpdateVolumeResponse).volume;
        /// `DELETE /instance/v1/zones/{zone}/volumes/{volume_id}`
        empty delete_volume(volume_id) = DeleteVolume;
    }
}
