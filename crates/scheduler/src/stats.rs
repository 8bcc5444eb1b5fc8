//! Queue depth and age per state, kind and zone (for metrics; export is wired elsewhere).

use sqlx::{PgPool, Row};

use crate::error::Result;
use crate::job::JobState;

/// One group of unfinished jobs.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueStat {
    pub state: JobState,
    pub kind: String,
    pub zone: String,
    pub count: i64,
    /// Seconds since the oldest job of the group became due (`run_at`; 0 if none is due yet).
    pub oldest_due_age_secs: f64,
    /// Seconds since the oldest job of the group was created.
    pub oldest_created_age_secs: f64,
}

/// Depth and age of the unfinished jobs (scheduled, available, running, retryable) per state,
/// kind and zone. Finished jobs are not counted (they are history, see `list_jobs`).
pub async fn queue_stats(pool: &PgPool) -> Result<Vec<QueueStat>> {
    let rows = sqlx::query(
        "SELECT state, kind, zone, count(*) AS count, \
                coalesce(extract(epoch FROM now() - min(run_at) FILTER (WHERE run_at <= now())), 0)::float8 AS due_age, \
                coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS created_age \
         FROM jobs WHERE state IN ('scheduled', 'available', 'running', 'retryable') \
         GROUP BY state, kind, zone ORDER BY zone, kind, state",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let state: String = r.try_get("state")?;
            Ok(QueueStat {
                state: state.parse()?,
                kind: r.try_get("kind")?,
                zone: r.try_get("zone")?,
                count: r.try_get("count")?,
                oldest_due_age_secs: r.try_get("due_age")?,
                oldest_created_age_secs: r.try_get("created_age")?,
            })
        })
        .collect()
}
