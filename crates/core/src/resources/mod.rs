//! Resource objects as the API returns them (reference section 6).
//!
//! Field types follow what the live API sends, which is looser than the SDK
//! declares: `Option<T>` where `null` occurs (always serialized, as `null`),
//! [`Maybe<T>`](crate::Maybe) where the key is sometimes missing, plain `T`
//! where the key is always there. Every struct keeps keys it does not model
//! in `extra` and writes them back, and accepts missing keys
//! (`#[serde(default)]`), so no response is refused or loses data.

mod dashboard;
mod image;
mod ip;
mod migration;
mod placement_group;
mod private_nic;
mod product;
mod security_group;
mod server;
mod snapshot;
mod task;
mod volume;

pub use dashboard::Dashboard;
pub use image::{Bootscript, Image, VolumeSummary};
pub use ip::Ip;
pub use migration::MigrationPlan;
pub use placement_group::{PlacementGroup, PlacementGroupServer};
pub use private_nic::PrivateNic;
pub use product::{
    ServerType, ServerTypeAvailability, ServerTypeCapabilities, ServerTypeGpuInfo,
    ServerTypeNetwork, ServerTypeNetworkInterface, ServerTypeVolumeConstraintSizes,
    ServerTypeVolumeConstraintsByType, VolumeType, VolumeTypeCapabilities, VolumeTypeConstraints,
};
pub use security_group::{SecurityGroup, SecurityGroupRule, SecurityGroupSummary};
pub use server::{
    Server, ServerFilesystem, ServerIp, ServerIpv6, ServerLocation, ServerMaintenance,
    ServerSummary, VolumeServer,
};
pub use snapshot::{Snapshot, SnapshotBaseVolume};
pub use task::Task;
pub use volume::Volume;
