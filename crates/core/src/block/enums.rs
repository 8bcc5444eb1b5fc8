//! String enumerations of the Block API, declared with the Instance enums'
//! macro: unknown strings are kept in `Other(String)` and written back
//! unchanged. `Default` is the Go SDK's zero value where it has one.
//! `is_transient()` follows the SDK waiters: they stop on `available`,
//! `in_use`, `error`, `locked` and `deleted`, so everything else that is
//! documented is a state something is still happening in. Unknown values
//! count as not transient, as for the Instance states.

use crate::enums::api_enum;

api_enum! {
    /// Status of a Block volume.
    VolumeStatus default UnknownStatus {
        UnknownStatus = "unknown_status",
        Creating = "creating",
        Available = "available",
        InUse = "in_use",
        Deleting = "deleting",
        Deleted = "deleted",
        /// Documented, never recorded: size changes go through `updating`.
        Resizing = "resizing",
        Error = "error",
        /// Documented, never recorded.
        Snapshotting = "snapshotting",
        Locked = "locked",
        /// After a PATCH of `size` or `perf_iops`, until the change is applied.
        Updating = "updating",
    }
}

impl VolumeStatus {
    /// `creating`, `deleting`, `resizing`, `snapshotting`, `updating`.
    pub const fn is_transient(&self) -> bool {
        matches!(
            self,
            VolumeStatus::Creating
                | VolumeStatus::Deleting
                | VolumeStatus::Resizing
                | VolumeStatus::Snapshotting
                | VolumeStatus::Updating
        )
    }
}

api_enum! {
    /// Status of a Block snapshot.
    SnapshotStatus default UnknownStatus {
        UnknownStatus = "unknown_status",
        Creating = "creating",
        Available = "available",
        Error = "error",
        Deleting = "deleting",
        Deleted = "deleted",
        /// Referenced by an image (`instance_image` link).
        InUse = "in_use",
        Locked = "locked",
        /// While an export to Object Storage runs.
        Exporting = "exporting",
    }
}

impl SnapshotStatus {
    /// `creating`, `deleting`, `exporting`.
    pub const fn is_transient(&self) -> bool {
        matches!(
            self,
            SnapshotStatus::Creating | SnapshotStatus::Deleting | SnapshotStatus::Exporting
        )
    }
}

api_enum! {
    /// Status of a reference from a product resource to a volume or snapshot.
    ReferenceStatus default UnknownStatus {
        UnknownStatus = "unknown_status",
        Attaching = "attaching",
        Attached = "attached",
        /// After an Instance detach, while the volume still reads `in_use`.
        Detaching = "detaching",
        Detached = "detached",
        Creating = "creating",
        Error = "error",
    }
}

impl ReferenceStatus {
    /// `attaching`, `detaching`, `creating`: the SDK's volume-and-references
    /// waiter goes on until every reference is attached or detached.
    pub const fn is_transient(&self) -> bool {
        matches!(
            self,
            ReferenceStatus::Attaching | ReferenceStatus::Detaching | ReferenceStatus::Creating
        )
    }
}

api_enum! {
    /// How a product resource holds a volume or snapshot.
    ReferenceType default UnknownType {
        /// Also what the transient `internal` reference of a snapshot being
        /// created says.
        UnknownType = "unknown_type",
        /// An image's hold on its snapshots.
        Link = "link",
        /// A server's hold on its volumes.
        Exclusive = "exclusive",
        ReadOnly = "read_only",
    }
}

api_enum! {
    /// Kind of product resource behind a reference. The SDK types it as a
    /// free string, so there is no zero value: the default is the kind
    /// every attached volume has.
    ProductResourceType default InstanceServer {
        InstanceServer = "instance_server",
        InstanceImage = "instance_image",
        /// The Block API's own hold on a volume while a snapshot is taken.
        Internal = "internal",
    }
}

api_enum! {
    /// Storage class of a volume or snapshot.
    StorageClass default UnknownStorageClass {
        UnknownStorageClass = "unknown_storage_class",
        Unspecified = "unspecified",
        /// Volumes moved from the Instance API by a block migration.
        Bssd = "bssd",
        Sbs = "sbs",
    }
}

api_enum! {
    /// The `type` of a Block volume. The SDK types it as a free string; the
    /// default is the type a volume gets when `perf_iops` is not given.
    VolumeType default Sbs5k {
        /// 5,000 IOPS.
        Sbs5k = "sbs_5k",
        /// 15,000 IOPS.
        Sbs15k = "sbs_15k",
        /// An Instance `b_ssd` volume after a block migration (class `bssd`).
        BSsd = "b_ssd",
    }
}

impl VolumeType {
    /// The SBS type offering `perf_iops`, if any (5000 or 15000).
    pub const fn for_perf_iops(perf_iops: u32) -> Option<VolumeType> {
        match perf_iops {
            5000 => Some(VolumeType::Sbs5k),
            15000 => Some(VolumeType::Sbs15k),
            _ => None,
        }
    }

    /// The IOPS of an SBS type; `None` for `b_ssd` and unknown types.
    pub const fn perf_iops(&self) -> Option<u32> {
        match self {
            VolumeType::Sbs5k => Some(5000),
            VolumeType::Sbs15k => Some(15000),
            _ => None,
        }
    }
}

api_enum! {
    /// `order_by` of the volume and snapshot lists.
    ListOrderBy default CreatedAtAsc {
        CreatedAtAsc = "created_at_asc",
        CreatedAtDesc = "created_at_desc",
        NameAsc = "name_asc",
        NameDesc = "name_desc",
    }
}

api_enum! {
    /// The `resource` of a Block `not_found` error body (Instance errors say
    /// `instance_volume` where Block says `volume`).
    BlockResource default Volume {
        Volume = "volume",
        Snapshot = "snapshot",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_are_kept_verbatim() {
        let status: VolumeStatus = serde_json::from_str("\"migrating\"").unwrap();
        assert_eq!(status, VolumeStatus::Other("migrating".to_owned()));
        assert!(!status.is_transient());
        assert_eq!(serde_json::to_string(&status).unwrap(), "\"migrating\"");
        let kind: ProductResourceType = "k8s_node".into();
        assert!(!kind.is_known());
        assert_eq!(kind.as_str(), "k8s_node");
        for known in VolumeType::KNOWN {
            assert_eq!(&VolumeType::from_wire(known.as_str()), known);
        }
    }

    #[test]
    fn volume_statuses_that_waiters_wait_out() {
        let transient: Vec<&str> = VolumeStatus::KNOWN
            .iter()
            .filter(|s| s.is_transient())
            .map(VolumeStatus::as_str)
            .collect();
        assert_eq!(
            transient,
            [
                "creating",
                "deleting",
                "resizing",
                "snapshotting",
                "updating"
            ]
        );
        for settled in ["available", "in_use", "error", "locked", "deleted"] {
            assert!(
                !VolumeStatus::from_wire(settled).is_transient(),
                "{settled}"
            );
        }
    }

    #[test]
    fn snapshot_and_reference_statuses_that_waiters_wait_out() {
        let transient: Vec<&str> = SnapshotStatus::KNOWN
            .iter()
            .filter(|s| s.is_transient())
            .map(SnapshotStatus::as_str)
            .collect();
        assert_eq!(transient, ["creating", "deleting", "exporting"]);
        let transient: Vec<&str> = ReferenceStatus::KNOWN
            .iter()
            .filter(|s| s.is_transient())
            .map(ReferenceStatus::as_str)
            .collect();
        assert_eq!(transient, ["attaching", "detaching", "creating"]);
        assert!(!ReferenceStatus::Attached.is_transient());
        assert!(!ReferenceStatus::Detached.is_transient());
    }

    #[test]
    fn volume_types_map_to_iops() {
        assert_eq!(VolumeType::for_perf_iops(5000), Some(VolumeType::Sbs5k));
        assert_eq!(VolumeType::for_perf_iops(15000), Some(VolumeType::Sbs15k));
        assert_eq!(VolumeType::for_perf_iops(7000), None);
        assert_eq!(VolumeType::Sbs15k.perf_iops(), Some(15000));
        assert_eq!(VolumeType::BSsd.perf_iops(), None);
        assert_eq!(VolumeType::default(), VolumeType::Sbs5k);
        assert_eq!(ListOrderBy::default().as_str(), "created_at_asc");
    }
}
