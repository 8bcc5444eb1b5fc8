//! String enumerations of the Instance API (reference section 7).
//!
//! The API adds values without notice (`"deleting"` on server volumes,
//! `"sbs_snapshot"` in backup templates), so every enum has an
//! `Other(String)` variant that keeps an unknown string and writes it back
//! unchanged. `Default` is the Go SDK's zero value, which is a client
//! convention, not an API default. State enums have `is_transient()` per the
//! table of reference section 8; unknown values count as not transient,
//! like the Python SDK's waiter which only waits on listed values.

/// Declares a string enum with a catch-all `Other(String)` variant, plus
/// `as_str`, `Display`, `FromStr`, `From<&str>`, `Default` and serde as a
/// plain string.
macro_rules! api_enum {
    (
        $(#[$meta:meta])*
        $name:ident default $default:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* #[doc = concat!("`", $text, "`")] $variant, )+
            /// A value this crate does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// Every documented value, in reference order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )+
                    $name::Other(other) => other,
                }
            }

            /// Maps a wire string to a variant; unknown strings become `Other`.
            pub fn from_wire(s: &str) -> Self {
                match s {
                    $( $text => $name::$variant, )+
                    other => $name::Other(other.to_owned()),
                }
            }

            /// False for `Other(_)`.
            pub const fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::$default
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name::from_wire(s))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name::from_wire(s)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name::from_wire(&s)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = ::std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                Ok($name::from_wire(&s))
            }
        }
    };
}

pub(crate) use api_enum;

api_enum! {
    /// CPU architecture of a server, image or server type.
    Arch default UnknownArch {
        UnknownArch = "unknown_arch",
        X86_64 = "x86_64",
        Arm = "arm",
        Arm64 = "arm64",
    }
}

api_enum! {
    /// `volume_type` of an attach-volume request.
    AttachServerVolumeRequestVolumeType default UnknownVolumeType {
        UnknownVolumeType = "unknown_volume_type",
        LSsd = "l_ssd",
        /// Deprecated.
        BSsd = "b_ssd",
        SbsVolume = "sbs_volume",
    }
}

api_enum! {
    /// How a server boots.
    BootType default Local {
        Local = "local",
        /// Legacy.
        Bootscript = "bootscript",
        Rescue = "rescue",
    }
}

api_enum! {
    /// State of a flexible IP.
    IpState default UnknownState {
        UnknownState = "unknown_state",
        Detached = "detached",
        Attached = "attached",
        Pending = "pending",
        Error = "error",
    }
}

api_enum! {
    /// Kind of flexible IP.
    IpType default UnknownIptype {
        UnknownIptype = "unknown_iptype",
        RoutedIpv4 = "routed_ipv4",
        RoutedIpv6 = "routed_ipv6",
    }
}

api_enum! {
    /// State of an image.
    ImageState default Available {
        Available = "available",
        Creating = "creating",
        Error = "error",
    }
}

api_enum! {
    /// `order` query parameter of the server list.
    ListServersRequestOrder default CreationDateDesc {
        CreationDateDesc = "creation_date_desc",
        CreationDateAsc = "creation_date_asc",
        ModificationDateDesc = "modification_date_desc",
        ModificationDateAsc = "modification_date_asc",
    }
}

api_enum! {
    /// What happens when a placement group's policy cannot be respected.
    PlacementGroupPolicyMode default Optional {
        Optional = "optional",
        Enforced = "enforced",
    }
}

api_enum! {
    /// Spread (`max_availability`) or group (`low_latency`) servers.
    PlacementGroupPolicyType default MaxAvailability {
        MaxAvailability = "max_availability",
        LowLatency = "low_latency",
    }
}

api_enum! {
    /// State of a private NIC.
    PrivateNicState default Available {
        Available = "available",
        Syncing = "syncing",
        SyncingError = "syncing_error",
    }
}

api_enum! {
    /// Default inbound/outbound policy of a security group.
    SecurityGroupPolicy default UnknownPolicy {
        UnknownPolicy = "unknown_policy",
        Accept = "accept",
        Drop = "drop",
    }
}

api_enum! {
    /// What a security-group rule does with matching packets.
    SecurityGroupRuleAction default UnknownAction {
        UnknownAction = "unknown_action",
        Accept = "accept",
        Drop = "drop",
    }
}

api_enum! {
    /// Direction a security-group rule applies to.
    SecurityGroupRuleDirection default UnknownDirection {
        UnknownDirection = "unknown_direction",
        Inbound = "inbound",
        Outbound = "outbound",
    }
}

api_enum! {
    /// Protocol of a security-group rule (upper case on the wire).
    SecurityGroupRuleProtocol default UnknownProtocol {
        UnknownProtocol = "unknown_protocol",
        Tcp = "TCP",
        Udp = "UDP",
        Icmp = "ICMP",
        Any = "ANY",
    }
}

api_enum! {
    /// State of a security group (briefly `syncing` after rule changes).
    SecurityGroupState default Available {
        Available = "available",
        Syncing = "syncing",
        SyncingError = "syncing_error",
    }
}

api_enum! {
    /// Action of `POST …/servers/{server_id}/action`, also listed in
    /// `server.allowed_actions`.
    ServerAction default Poweron {
        Poweron = "poweron",
        Backup = "backup",
        StopInPlace = "stop_in_place",
        Poweroff = "poweroff",
        Terminate = "terminate",
        Reboot = "reboot",
        EnableRoutedIp = "enable_routed_ip",
    }
}

api_enum! {
    /// State of a filesystem attachment.
    ServerFilesystemState default UnknownState {
        UnknownState = "unknown_state",
        Attaching = "attaching",
        Available = "available",
        Detaching = "detaching",
    }
}

api_enum! {
    /// Address family of a server IP (Go `ServerIPIPFamily`).
    ServerIpIpFamily default Inet {
        Inet = "inet",
        Inet6 = "inet6",
    }
}

api_enum! {
    /// How a server IP is provisioned.
    ServerIpProvisioningMode default Manual {
        Manual = "manual",
        Dhcp = "dhcp",
        Slaac = "slaac",
    }
}

api_enum! {
    /// State of a server IP.
    ServerIpState default UnknownState {
        UnknownState = "unknown_state",
        Detached = "detached",
        Attached = "attached",
        Pending = "pending",
        Error = "error",
    }
}

api_enum! {
    /// Power state of a server. Note `"stopped in place"` contains spaces
    /// while the action is `stop_in_place`.
    ServerState default Running {
        Running = "running",
        Stopped = "stopped",
        StoppedInPlace = "stopped in place",
        Starting = "starting",
        Stopping = "stopping",
        Locked = "locked",
    }
}

api_enum! {
    /// Stock level of a server type.
    ServerTypesAvailability default Available {
        Available = "available",
        Scarce = "scarce",
        Shortage = "shortage",
    }
}

api_enum! {
    /// State of a snapshot.
    SnapshotState default Available {
        Available = "available",
        Snapshotting = "snapshotting",
        Error = "error",
        InvalidData = "invalid_data",
        Importing = "importing",
        Exporting = "exporting",
    }
}

api_enum! {
    /// `volume_type` override of snapshot creation and backup templates.
    SnapshotVolumeType default UnknownVolumeType {
        UnknownVolumeType = "unknown_volume_type",
        LSsd = "l_ssd",
        /// Deprecated.
        BSsd = "b_ssd",
        /// Deprecated.
        Unified = "unified",
        /// A Block Storage snapshot (backups and images of SBS servers); the
        /// Go SDK's enum lacks it, the API sends it.
        SbsSnapshot = "sbs_snapshot",
    }
}

api_enum! {
    /// Status of a (deprecated) task.
    TaskStatus default Pending {
        Pending = "pending",
        Started = "started",
        Success = "success",
        Failure = "failure",
        Retry = "retry",
    }
}

api_enum! {
    /// State of an entry of `server.volumes` (the API also sends
    /// `deleting` during terminate, kept as `Other`).
    VolumeServerState default Available {
        Available = "available",
        Snapshotting = "snapshotting",
        Resizing = "resizing",
        Fetching = "fetching",
        Saving = "saving",
        Hotsyncing = "hotsyncing",
        Attaching = "attaching",
        Error = "error",
    }
}

api_enum! {
    /// Type of an entry of `server.volumes`.
    VolumeServerVolumeType default LSsd {
        LSsd = "l_ssd",
        /// Deprecated.
        BSsd = "b_ssd",
        SbsVolume = "sbs_volume",
        Scratch = "scratch",
    }
}

api_enum! {
    /// State of a volume.
    VolumeState default Available {
        Available = "available",
        Snapshotting = "snapshotting",
        Fetching = "fetching",
        Saving = "saving",
        Attaching = "attaching",
        Resizing = "resizing",
        Hotsyncing = "hotsyncing",
        Error = "error",
    }
}

api_enum! {
    /// Type of a volume, snapshot or image volume.
    VolumeVolumeType default LSsd {
        LSsd = "l_ssd",
        /// Deprecated.
        BSsd = "b_ssd",
        /// Deprecated.
        Unified = "unified",
        Scratch = "scratch",
        SbsVolume = "sbs_volume",
        SbsSnapshot = "sbs_snapshot",
    }
}

impl ServerState {
    /// `starting` and `stopping`; everything else is where a waiter stops.
    pub const fn is_transient(&self) -> bool {
        matches!(self, ServerState::Starting | ServerState::Stopping)
    }
}

impl VolumeState {
    /// Every state but `available` and `error`.
    pub const fn is_transient(&self) -> bool {
        matches!(
            self,
            VolumeState::Snapshotting
                | VolumeState::Fetching
                | VolumeState::Saving
                | VolumeState::Attaching
                | VolumeState::Resizing
                | VolumeState::Hotsyncing
        )
    }
}

impl VolumeServerState {
    /// Every documented state but `available` and `error`. The observed
    /// undocumented `deleting` is `Other` and so not transient: the server
    /// itself is what callers wait on during terminate.
    pub const fn is_transient(&self) -> bool {
        matches!(
            self,
            VolumeServerState::Snapshotting
                | VolumeServerState::Resizing
                | VolumeServerState::Fetching
                | VolumeServerState::Saving
                | VolumeServerState::Hotsyncing
                | VolumeServerState::Attaching
        )
    }
}

impl SnapshotState {
    /// `snapshotting`, `importing`, `exporting`.
    pub const fn is_transient(&self) -> bool {
        matches!(
            self,
            SnapshotState::Snapshotting | SnapshotState::Importing | SnapshotState::Exporting
        )
    }
}

impl ImageState {
    /// `creating`.
    pub const fn is_transient(&self) -> bool {
        matches!(self, ImageState::Creating)
    }
}

impl IpState {
    /// `pending`.
    pub const fn is_transient(&self) -> bool {
        matches!(self, IpState::Pending)
    }
}

impl ServerIpState {
    /// `pending`.
    pub const fn is_transient(&self) -> bool {
        matches!(self, ServerIpState::Pending)
    }
}

impl PrivateNicState {
    /// `syncing`.
    pub const fn is_transient(&self) -> bool {
        matches!(self, PrivateNicState::Syncing)
    }
}

impl SecurityGroupState {
    /// `syncing`.
    pub const fn is_transient(&self) -> bool {
        matches!(self, SecurityGroupState::Syncing)
    }
}

impl ServerFilesystemState {
    /// `attaching`, `detaching`.
    pub const fn is_transient(&self) -> bool {
        matches!(
            self,
            ServerFilesystemState::Attaching | ServerFilesystemState::Detaching
        )
    }
}

impl TaskStatus {
    /// `pending`, `started`, `retry`.
    pub const fn is_transient(&self) -> bool {
        matches!(
            self,
            TaskStatus::Pending | TaskStatus::Started | TaskStatus::Retry
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use std::fmt::Display;
    use std::str::FromStr;

    /// Checks every known value and an unknown one for one enum.
    fn check<E>(known: &[E], as_str: fn(&E) -> &str)
    where
        E: Serialize + DeserializeOwned + Display + FromStr + PartialEq + std::fmt::Debug + Clone,
        <E as FromStr>::Err: std::fmt::Debug,
    {
        assert!(!known.is_empty());
        for value in known {
            let text = as_str(value).to_owned();
            let json = serde_json::to_string(value).unwrap();
            assert_eq!(json, serde_json::to_string(&text).unwrap());
            let back: E = serde_json::from_str(&json).unwrap();
            assert_eq!(&back, value);
            assert_eq!(value.to_string(), text);
            assert_eq!(&text.parse::<E>().unwrap(), value);
        }
        for unknown in ["something_new", "", "Running Late"] {
            let json = serde_json::to_string(unknown).unwrap();
            let parsed: E = serde_json::from_str(&json).unwrap();
            assert!(
                known.iter().all(|k| k != &parsed),
                "{unknown:?} must not map to a known value"
            );
            assert_eq!(as_str(&parsed), unknown);
            assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
            assert_eq!(parsed.to_string(), unknown);
        }
    }

    #[test]
    fn every_enum_round_trips_known_and_unknown_values() {
        check(Arch::KNOWN, Arch::as_str);
        check(
            AttachServerVolumeRequestVolumeType::KNOWN,
            AttachServerVolumeRequestVolumeType::as_str,
        );
        check(BootType::KNOWN, BootType::as_str);
        check(IpState::KNOWN, IpState::as_str);
        check(IpType::KNOWN, IpType::as_str);
        check(ImageState::KNOWN, ImageState::as_str);
        check(
            ListServersRequestOrder::KNOWN,
            ListServersRequestOrder::as_str,
        );
        check(
            PlacementGroupPolicyMode::KNOWN,
            PlacementGroupPolicyMode::as_str,
        );
        check(
            PlacementGroupPolicyType::KNOWN,
            PlacementGroupPolicyType::as_str,
        );
        check(PrivateNicState::KNOWN, PrivateNicState::as_str);
        check(SecurityGroupPolicy::KNOWN, SecurityGroupPolicy::as_str);
        check(
            SecurityGroupRuleAction::KNOWN,
            SecurityGroupRuleAction::as_str,
        );
        check(
            SecurityGroupRuleDirection::KNOWN,
            SecurityGroupRuleDirection::as_str,
        );
        check(
            SecurityGroupRuleProtocol::KNOWN,
            SecurityGroupRuleProtocol::as_str,
        );
        check(SecurityGroupState::KNOWN, SecurityGroupState::as_str);
        check(ServerAction::KNOWN, ServerAction::as_str);
        check(ServerFilesystemState::KNOWN, ServerFilesystemState::as_str);
        check(ServerIpIpFamily::KNOWN, ServerIpIpFamily::as_str);
        check(
            ServerIpProvisioningMode::KNOWN,
            ServerIpProvisioningMode::as_str,
        );
        check(ServerIpState::KNOWN, ServerIpState::as_str);
        check(ServerState::KNOWN, ServerState::as_str);
        check(
            ServerTypesAvailability::KNOWN,
            ServerTypesAvailability::as_str,
        );
        check(SnapshotState::KNOWN, SnapshotState::as_str);
        check(SnapshotVolumeType::KNOWN, SnapshotVolumeType::as_str);
        check(TaskStatus::KNOWN, TaskStatus::as_str);
        check(VolumeServerState::KNOWN, VolumeServerState::as_str);
        check(
            VolumeServerVolumeType::KNOWN,
            VolumeServerVolumeType::as_str,
        );
        check(VolumeState::KNOWN, VolumeState::as_str);
        check(VolumeVolumeType::KNOWN, VolumeVolumeType::as_str);
    }

    #[test]
    fn stopped_in_place_has_spaces() {
        let state: ServerState = serde_json::from_str("\"stopped in place\"").unwrap();
        assert_eq!(state, ServerState::StoppedInPlace);
        assert_eq!(ServerAction::StopInPlace.as_str(), "stop_in_place");
        assert_eq!(SecurityGroupRuleProtocol::Tcp.as_str(), "TCP");
    }

    #[test]
    fn transient_states_follow_the_reference_table() {
        let transient: Vec<&str> = ServerState::KNOWN
            .iter()
            .filter(|s| s.is_transient())
            .map(ServerState::as_str)
            .collect();
        assert_eq!(transient, ["starting", "stopping"]);
        assert!(!VolumeState::Available.is_transient() && !VolumeState::Error.is_transient());
        assert_eq!(
            VolumeState::KNOWN
                .iter()
                .filter(|s| s.is_transient())
                .count(),
            6
        );
        assert_eq!(
            VolumeServerState::KNOWN
                .iter()
                .filter(|s| s.is_transient())
                .count(),
            6
        );
        assert!(!VolumeServerState::from_wire("deleting").is_transient());
        let snap: Vec<&str> = SnapshotState::KNOWN
            .iter()
            .filter(|s| s.is_transient())
            .map(SnapshotState::as_str)
            .collect();
        assert_eq!(snap, ["snapshotting", "importing", "exporting"]);
        assert!(ImageState::Creating.is_transient() && !ImageState::Error.is_transient());
        assert!(IpState::Pending.is_transient() && !IpState::UnknownState.is_transient());
        assert!(ServerIpState::Pending.is_transient());
        assert!(
            PrivateNicState::Syncing.is_transient()
                && !PrivateNicState::SyncingError.is_transient()
        );
        assert!(SecurityGroupState::Syncing.is_transient());
        assert!(
            ServerFilesystemState::Detaching.is_transient()
                && !ServerFilesystemState::UnknownState.is_transient()
        );
        assert!(TaskStatus::Retry.is_transient() && !TaskStatus::Failure.is_transient());
    }
}
