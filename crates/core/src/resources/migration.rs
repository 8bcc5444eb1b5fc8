//! Block-migration plan (local `b_ssd` to SBS), returned unwrapped.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::resources::{Snapshot, Volume};

/// What `POST block-migration/plan` would migrate together.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MigrationPlan {
    pub volume: Option<Volume>,
    pub snapshots: Vec<Snapshot>,
    /// To pass to `block-migration/apply`.
    pub validation_key: String,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
