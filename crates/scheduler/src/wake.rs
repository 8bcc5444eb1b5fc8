//! Early wake-up of snoozed jobs: a watcher that sees the resource a job waits on change
//! brings the job's `run_at` forward, so it runs now instead of at its next poll.
//!
//! Not fenced: it changes no attempt's writes, only when a `scheduled` job becomes claimable,
//! and a job that is running, finished or already due is left alone.

use sqlx::PgPool;

use crate::error::Result;
use crate::notify::ENQUEUED_CHANNEL;

/// Makes the `scheduled` jobs among `ids` due now and notifies their zones' runners.
/// Returns how many jobs were woken.
pub async fn wake_jobs(pool: &PgPool, ids: &[i64]) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let woken: i64 = sqlx::query_scalar(
        "WITH upd AS ( \
           UPDATE jobs SET run_at = now(), updated_at = now() \
           WHERE id = ANY($1::int8[]) AND state = 'scheduled' AND run_at > now() \
           RETURNING zone \
         ), notified AS ( \
           SELECT pg_notify($2, z.zone) FROM (SELECT DISTINCT zone FROM upd) AS z \
         ) \
         SELECT (SELECT count(*) FROM upd) + 0 * (SELECT count(*) FROM notified)",
    )
    .bind(ids)
    .bind(ENQUEUED_CHANNEL)
    .fetch_one(pool)
    .await?;
    Ok(u64::try_from(woken).unwrap_or(0))
}
