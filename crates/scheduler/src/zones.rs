//! Pausing and resuming a zone's queue: claims skip paused zones.

use sqlx::{PgPool, Row};
use time::OffsetDateTime;

use crate::error::Result;
use crate::notify::ENQUEUED_CHANNEL;

/// A paused zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZonePause {
    pub zone: String,
    /// `None` = until resumed.
    pub paused_until: Option<OffsetDateTime>,
    pub reason: String,
    pub paused_at: OffsetDateTime,
}

/// Pauses `zone` until `until` (or until [`resume_zone`] when `None`). Re-pausing replaces the
/// previous pause (e.g. a worker extending a 429 back-off).
pub async fn pause_zone(
    pool: &PgPool,
    zone: &str,
    until: Option<OffsetDateTime>,
    reason: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO zone_pauses (zone, paused_until, reason) VALUES ($1, $2, $3) \
         ON CONFLICT (zone) DO UPDATE SET paused_until = EXCLUDED.paused_until, \
             reason = EXCLUDED.reason, paused_at = now()",
    )
    .bind(zone)
    .bind(until)
    .bind(reason)
    .execute(pool)
    .await?;
    tracing::info!(zone, ?until, reason, "zone paused");
    Ok(())
}

/// Resumes `zone` and wakes its workers. Returns whether it was paused.
pub async fn resume_zone(pool: &PgPool, zone: &str) -> Result<bool> {
    let row = sqlx::query(
        "WITH del AS (DELETE FROM zone_pauses WHERE zone = $1 RETURNING zone) \
         SELECT zone, pg_notify($2, zone) FROM del",
    )
    .bind(zone)
    .bind(ENQUEUED_CHANNEL)
    .fetch_optional(pool)
    .await?;
    tracing::info!(zone, "zone resumed");
    Ok(row.is_some())
}

/// Pauses in force now (expired timed pauses are not listed).
pub async fn list_zone_pauses(pool: &PgPool) -> Result<Vec<ZonePause>> {
    let rows = sqlx::query(
        "SELECT zone, paused_until, reason, paused_at FROM zone_pauses \
         WHERE paused_until IS NULL OR paused_until > now() ORDER BY zone",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ZonePause {
                zone: r.try_get("zone")?,
                paused_until: r.try_get("paused_until")?,
                reason: r.try_get("reason")?,
                paused_at: r.try_get("paused_at")?,
            })
        })
        .collect()
}
