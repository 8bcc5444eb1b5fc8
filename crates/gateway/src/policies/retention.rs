//! Retention of a snapshot policy: which of its snapshots of one volume go.
//!
//! Only snapshots carrying the policy's tag are ever considered (the caller lists by it).
//! Their age is their slot's (the `fleet-policy-slot` tag), measured from the slot of the run
//! applying retention, so an injected clock ages them exactly. The newest available one is
//! never deleted, whatever the limits: when the newest run failed, the last good snapshot
//! stays. Snapshots still being made are never touched; ones in error always go.

use fleet_core::SnapshotState;
use fleet_proto::v1;
use serde::{Deserialize, Serialize};

/// One policy snapshot of a volume, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySnapshot {
    pub id: String,
    /// Unix seconds of the slot it was taken for.
    pub slot: i64,
    pub state: SnapshotState,
}

/// The limits of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// 0: no count limit.
    pub keep_count: u32,
    /// 0: no age limit.
    pub max_age_seconds: u64,
}

/// Why a snapshot goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    BeyondKeepCount,
    OlderThanMaxAge,
    InError,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BeyondKeepCount => "beyond keep_count",
            Self::OlderThanMaxAge => "older than max_age_seconds",
            Self::InError => "in error",
        }
    }
}

/// The snapshots of one volume to delete, newest first, with why.
pub fn choose(snapshots: &[PolicySnapshot], limits: Limits, now: i64) -> Vec<(String, Reason)> {
    let mut sorted: Vec<&PolicySnapshot> = snapshots.iter().collect();
    sorted.sort_by(|a, b| b.slot.cmp(&a.slot).then_with(|| b.id.cmp(&a.id)));
    let mut good_seen: u32 = 0;
    let mut chosen = Vec::new();
    for snapshot in sorted {
        match snapshot.state {
            SnapshotState::Available => {
                good_seen += 1;
                if good_seen == 1 {
                    continue;
                }
                let age = now.saturating_sub(snapshot.slot);
                if limits.keep_count > 0 && good_seen > limits.keep_count {
                    chosen.push((snapshot.id.clone(), Reason::BeyondKeepCount));
                } else if limits.max_age_seconds > 0
                    && u64::try_from(age).unwrap_or(0) > limits.max_age_seconds
                {
                    chosen.push((snapshot.id.clone(), Reason::OlderThanMaxAge));
                }
            }
            SnapshotState::Error | SnapshotState::InvalidData => {
                chosen.push((snapshot.id.clone(), Reason::InError));
            }
            // Being made, imported or exported: not ours to touch now.
            _ => {}
        }
    }
    chosen
}

/// A deletion a run made (or tried), as recorded in `policy_runs.deletions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deletion {
    pub zone: String,
    pub snapshot_id: String,
    pub volume_id: String,
    pub reason: Reason,
    /// Why the delete failed; empty when the snapshot is gone.
    #[serde(default)]
    pub error: String,
}

impl Deletion {
    pub fn to_proto(&self) -> v1::RetentionDeletion {
        v1::RetentionDeletion {
            zone: self.zone.clone(),
            snapshot_id: self.snapshot_id.clone(),
            volume_id: self.volume_id.clone(),
            reason: self.reason.as_str().to_owned(),
            error: self.error.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(id: &str, slot: i64, state: SnapshotState) -> PolicySnapshot {
        PolicySnapshot {
            id: id.into(),
            slot,
            state,
        }
    }

    fn ids(chosen: Vec<(String, Reason)>) -> Vec<String> {
        chosen.into_iter().map(|(id, _)| id).collect()
    }

    const DAY: i64 = 86_400;

    #[test]
    fn keep_count_keeps_the_newest() {
        let snaps: Vec<_> = (1..=5)
            .map(|d| snap(&format!("s{d}"), d * DAY, SnapshotState::Available))
            .collect();
        let limits = Limits {
            keep_count: 3,
            max_age_seconds: 0,
        };
        assert_eq!(ids(choose(&snaps, limits, 5 * DAY)), ["s2", "s1"]);
    }

    #[test]
    fn age_never_takes_the_last_good_one() {
        let snaps = vec![
            snap("old", DAY, SnapshotState::Available),
            snap("older", 0, SnapshotState::Available),
            snap("broken", 9 * DAY, SnapshotState::Error),
        ];
        let limits = Limits {
            keep_count: 0,
            max_age_seconds: 7 * DAY as u64,
        };
        // Ten days on, every run since day 1 failed: "old" is the newest good one and stays.
        let chosen = choose(&snaps, limits, 10 * DAY);
        assert_eq!(
            chosen,
            [
                ("broken".to_owned(), Reason::InError),
                ("older".to_owned(), Reason::OlderThanMaxAge)
            ]
        );
    }

    #[test]
    fn snapshots_in_the_making_are_left_alone_and_not_counted() {
        let snaps = vec![
            snap("making", 3 * DAY, SnapshotState::Snapshotting),
            snap("a", 2 * DAY, SnapshotState::Available),
            snap("b", DAY, SnapshotState::Available),
        ];
        let limits = Limits {
            keep_count: 2,
            max_age_seconds: 0,
        };
        assert!(choose(&snaps, limits, 3 * DAY).is_empty());
    }
}
