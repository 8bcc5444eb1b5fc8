//! Waiters of the Block API: a volume until its status is terminal and
//! every reference is attached or detached (the SDK's
//! `WaitForVolumeAndReferences`), a snapshot until its status is terminal.
//! Unlike the Instance waiters, `error` and `locked` end a wait at once
//! even when any terminal state would do, as does a reference in `error`.
//! History entries name the volume's status and its references' statuses
//! (`in_use [detaching]`), so that a failed wait shows what moved.

use fleet_core::block::{ReferenceStatus, Snapshot, SnapshotStatus, Volume, VolumeStatus};

use super::{Holds, Polled, waiters};

impl Polled for Volume {
    type State = VolumeStatus;

    fn state(&self) -> VolumeStatus {
        self.status.clone()
    }

    fn transient(state: &VolumeStatus) -> bool {
        state.is_transient()
    }

    fn failed(state: &VolumeStatus) -> bool {
        matches!(state, VolumeStatus::Error | VolumeStatus::Locked)
    }

    fn holds(&self) -> Holds {
        let statuses = self.references.iter().map(|r| &r.status);
        if statuses.clone().any(|s| *s == ReferenceStatus::Error) {
            Holds::Failed
        } else if statuses
            .clone()
            .all(|s| matches!(s, ReferenceStatus::Attached | ReferenceStatus::Detached))
        {
            Holds::Settled
        } else {
            Holds::Changing
        }
    }

    fn describe(&self) -> String {
        if self.references.is_empty() {
            return self.status.as_str().to_owned();
        }
        let references: Vec<&str> = self.references.iter().map(|r| r.status.as_str()).collect();
        format!("{} [{}]", self.status.as_str(), references.join(", "))
    }
}

impl Polled for Snapshot {
    type State = SnapshotStatus;

    fn state(&self) -> SnapshotStatus {
        self.status.clone()
    }

    fn transient(state: &SnapshotStatus) -> bool {
        state.is_transient()
    }

    fn failed(state: &SnapshotStatus) -> bool {
        matches!(state, SnapshotStatus::Error | SnapshotStatus::Locked)
    }

    fn describe(&self) -> String {
        self.status.as_str().to_owned()
    }
}

/// The `resource` the Block API names in its errors, which the wait errors
/// carry too.
const VOLUME: &str = "volume";
const SNAPSHOT: &str = "snapshot";

waiters! {
    /// Waits for a Block volume: its status (`creating`, `updating`, … are
    /// transient) and its references (`attaching`, `detaching`, `creating`
    /// keep it waiting; a detach ends with no reference and `available`).
    /// `error` and `locked` fail the wait unless the target names them.
    wait_block_volume(volume_id) -> Volume[VolumeStatus] = block_get_volume, VOLUME;
    /// Waits for a Block snapshot (`creating`, `exporting`, `deleting` are
    /// transient). `error` and `locked` fail the wait unless the target
    /// names them.
    wait_block_snapshot(snapshot_id) -> Snapshot[SnapshotStatus] = block_get_snapshot, SNAPSHOT;
}

#[cfg(test)]
mod tests {
    use fleet_core::block::BlockResource;
    use serde_json::json;

    use super::*;
    use crate::waiter::{Verdict, WaitOptions, WaitTarget, judge};

    fn volume(status: &str, references: &[&str]) -> Volume {
        let references: Vec<_> = references
            .iter()
            .map(|status| json!({"product_resource_type": "instance_server", "status": status}))
            .collect();
        serde_json::from_value(json!({"id": "v", "status": status, "references": references}))
            .unwrap()
    }

    fn verdict<T: Polled>(item: &T, target: &WaitTarget<T::State>) -> &'static str {
        match judge(
            item,
            target,
            &WaitOptions::default(),
            std::time::Duration::ZERO,
        ) {
            Verdict::Reached => "reached",
            Verdict::Pending => "pending",
            Verdict::Unexpected => "unexpected",
        }
    }

    #[test]
    fn a_volume_is_settled_when_its_status_and_every_reference_are() {
        let terminal = WaitTarget::Terminal;
        for (status, references, expected) in [
            ("in_use", &["attached"][..], "reached"),
            ("in_use", &["detaching"][..], "pending"),
            ("in_use", &["attaching"][..], "pending"),
            ("in_use", &["attached", "creating"][..], "pending"),
            ("available", &[][..], "reached"),
            ("available", &["detached"][..], "reached"),
            ("updating", &["attached"][..], "pending"),
            ("creating", &[][..], "pending"),
            ("error", &[][..], "unexpected"),
            ("locked", &["attached"][..], "unexpected"),
            ("in_use", &["error"][..], "unexpected"),
            // An unknown reference status is not "attached or detached".
            ("in_use", &["migrating"][..], "pending"),
        ] {
            assert_eq!(
                verdict(&volume(status, references), &terminal),
                expected,
                "{status} {references:?}"
            );
        }
        // A named target waits for its references too, and may name a failure.
        let available = WaitTarget::State(VolumeStatus::Available);
        assert_eq!(
            verdict(&volume("in_use", &["detaching"]), &available),
            "pending"
        );
        assert_eq!(
            verdict(&volume("in_use", &["attached"]), &available),
            "unexpected"
        );
        assert_eq!(verdict(&volume("available", &[]), &available), "reached");
        let error = WaitTarget::State(VolumeStatus::Error);
        assert_eq!(verdict(&volume("error", &[]), &error), "reached");
    }

    #[test]
    fn snapshots_fail_on_error_and_locked() {
        let snapshot = |status: &str| -> Snapshot {
            serde_json::from_value(json!({"id": "s", "status": status})).unwrap()
        };
        for (status, expected) in [
            ("creating", "pending"),
            ("exporting", "pending"),
            ("available", "reached"),
            ("in_use", "reached"),
            ("error", "unexpected"),
            ("locked", "unexpected"),
        ] {
            assert_eq!(
                verdict(&snapshot(status), &WaitTarget::Terminal),
                expected,
                "{status}"
            );
        }
    }

    #[test]
    fn history_entries_show_the_references() {
        assert_eq!(
            volume("in_use", &["detaching"]).describe(),
            "in_use [detaching]"
        );
        assert_eq!(
            volume("in_use", &["attached", "attaching"]).describe(),
            "in_use [attached, attaching]"
        );
        assert_eq!(volume("available", &[]).describe(), "available");
    }

    #[test]
    fn errors_name_the_resources_as_the_block_api_does() {
        assert_eq!(VOLUME, BlockResource::Volume.as_str());
        assert_eq!(SNAPSHOT, BlockResource::Snapshot.as_str());
    }
}
