//! What a handler keeps in the job's `progress.state` and the gateway shows in
//! `OperationMetadata`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One upstream state seen while waiting.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Observation {
    /// Scaleway state, e.g. `starting`.
    pub state: String,
    /// Scaleway `state_detail`, when the resource has one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub state_detail: String,
    /// RFC 3339 time of the first observation of this state.
    pub observed_at: String,
}

/// Structured progress of a long-running job (`progress.state`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProgressDetail {
    /// Public name of the resource acted on (`zones/{zone}/servers/{id}`), set as soon as a
    /// create knows its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Upstream states observed, oldest first; a state is recorded when it changes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Observation>,
    /// Upstream (deprecated) task id, when Scaleway returned one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_task_id: Option<String>,
    /// RFC 3339 deadline of the whole operation (fixed at its first run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    /// Handler-private step data (intents, ids created, what to restore).
    #[serde(skip_serializing_if = "Value::is_null")]
    pub data: Value,
}

impl ProgressDetail {
    /// Reads the detail stored in `progress.state` for display (an empty detail when absent
    /// or foreign). A handler reads it with [`ProgressDetail::decode`], which never forgets.
    pub fn from_state(state: &Value) -> Self {
        Self::decode(state).unwrap_or_default()
    }

    /// Reads the detail stored in `progress.state`: empty when nothing was recorded yet
    /// (`null`), an error when something was recorded that does not decode (a handler must
    /// not take that for "nothing done yet": it may hold an intent).
    pub fn decode(state: &Value) -> Result<Self, serde_json::Error> {
        match state {
            Value::Null => Ok(Self::default()),
            other => serde_json::from_value(other.clone()),
        }
    }

    /// The value to store as `progress.state`.
    pub fn to_state(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Records `state` unless it is the latest one already; returns whether it was new.
    pub fn observe(&mut self, state: &str, state_detail: &str, observed_at: String) -> bool {
        if let Some(last) = self.history.last()
            && last.state == state
            && last.state_detail == state_detail
        {
            return false;
        }
        self.history.push(Observation {
            state: state.to_owned(),
            state_detail: state_detail.to_owned(),
            observed_at,
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observe_records_changes_only() {
        let mut detail = ProgressDetail::default();
        assert!(detail.observe("starting", "", "t1".into()));
        assert!(!detail.observe("starting", "", "t2".into()));
        assert!(detail.observe("starting", "provisioning node", "t3".into()));
        assert!(detail.observe("running", "", "t4".into()));
        let states: Vec<_> = detail
            .history
            .iter()
            .map(|o| o.observed_at.as_str())
            .collect();
        assert_eq!(states, ["t1", "t3", "t4"]);
        let back = ProgressDetail::from_state(&detail.to_state());
        assert_eq!(back, detail);
    }

    #[test]
    fn foreign_state_reads_as_empty() {
        assert_eq!(
            ProgressDetail::from_state(&serde_json::json!([1, 2])),
            ProgressDetail::default()
        );
    }
}
