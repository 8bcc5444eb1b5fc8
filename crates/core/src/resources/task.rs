//! Tasks returned by server actions and snapshot create/export. They are
//! deprecated ("fake task"): callers poll the resource instead.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::enums::TaskStatus;
use crate::time::Timestamp;
use crate::zone::Zone;

/// A task.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Task {
    /// `00000000-0000-0000-0000-000000000000` for fake tasks.
    pub id: String,
    /// e.g. `server_batch_poweron`, `volume_snapshot`, `fake task`.
    pub description: String,
    pub status: TaskStatus,
    pub href_from: String,
    /// e.g. `/servers/<id>`, `/images/<id>`, `snapshots/<id>`.
    pub href_result: String,
    pub started_at: Option<Timestamp>,
    pub terminated_at: Option<Timestamp>,
    pub progress: i32,
    pub zone: Zone,
    /// Keys this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
