//! The log of upstream calls, for tests of retries and zone ownership.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::SystemTime;

use serde::Serialize;

/// Entries kept; older ones are dropped first.
const CAPACITY: usize = 200_000;

/// One Instance API call as the emulator saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRecord {
    /// When the request arrived.
    pub at: SystemTime,
    /// HTTP method.
    pub method: String,
    /// Request path (without query).
    pub path: String,
    /// Query string, when the request had one (`servers=id1,id2&per_page=100`): which
    /// resources a list read asked for.
    pub query: Option<String>,
    /// Zone segment, when the path has one.
    pub zone: Option<String>,
    /// Status answered; 0 when the connection was reset without a response.
    pub status: u16,
    /// The caller's `X-Fleet-Caller` header, if any.
    pub caller: Option<String>,
}

/// A bounded, thread-safe call log.
#[derive(Debug, Default)]
pub struct CallLog {
    inner: Mutex<VecDeque<CallRecord>>,
}

impl CallLog {
    /// Append a record.
    pub fn push(&self, rec: CallRecord) {
        let mut q = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() >= CAPACITY {
            q.pop_front();
        }
        q.push_back(rec);
    }
    /// A copy of every record, oldest first.
    pub fn snapshot(&self) -> Vec<CallRecord> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
    /// Forget every record.
    pub fn clear(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// The largest number of `(start, end)` intervals open at once, e.g. resources between their
/// first and last call. An interval that ends when another starts does not overlap it.
pub fn max_overlap(intervals: impl IntoIterator<Item = (SystemTime, SystemTime)>) -> usize {
    let mut edges: Vec<(SystemTime, i32)> = intervals
        .into_iter()
        .flat_map(|(start, end)| [(start, 1), (end, -1)])
        .collect();
    // Ends sort before starts at the same instant.
    edges.sort();
    let (mut open, mut max) = (0i32, 0i32);
    for (_, step) in edges {
        open += step;
        max = max.max(open);
    }
    usize::try_from(max).unwrap_or(0)
}
