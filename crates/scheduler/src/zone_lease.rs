//! Zone leases: one owner per zone, with a fencing epoch, and the membership table workers use
//! to share the zones evenly.
//!
//! Every write is a single statement, so two workers racing for a zone cannot both win: the
//! `ON CONFLICT … DO UPDATE … WHERE` only replaces a lease that has expired (or that the same
//! owner already holds), and the epoch grows by one whenever the owner changes.

use std::time::Duration;

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use time::OffsetDateTime;

use crate::error::Result;

/// A zone's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneLease {
    pub zone: String,
    pub owner: String,
    /// The owner's internal gRPC address.
    pub address: String,
    /// Grows by one at each change of owner; upstream calls are fenced by it.
    pub epoch: i64,
    pub expires_at: OffsetDateTime,
    pub acquired_at: OffsetDateTime,
}

/// A live worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerMember {
    pub id: String,
    pub address: String,
    /// Zones it is willing to own.
    pub zones: Vec<String>,
    pub expires_at: OffsetDateTime,
}

const LEASE_COLUMNS: &str = "zone, owner, address, epoch, expires_at, acquired_at";

/// Tail of every lease write (`WITH lease AS (… RETURNING {LEASE_COLUMNS})`): records the
/// written lease in `zone_lease_history` in the same statement, and returns it. The last write
/// of an epoch wins (a renewal extends its expiry, a release cuts it); writes of one zone are
/// serialized by its `zone_leases` row lock.
const RECORD_HISTORY: &str = "\
    , history AS (INSERT INTO zone_lease_history (zone, epoch, owner, acquired_at, expires_at) \
        SELECT zone, epoch, owner, acquired_at, expires_at FROM lease \
        ON CONFLICT (zone, epoch) DO UPDATE SET owner = EXCLUDED.owner, \
            acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at) \
    SELECT * FROM lease";

fn lease_from_row(row: &PgRow) -> std::result::Result<ZoneLease, sqlx::Error> {
    Ok(ZoneLease {
        zone: row.try_get("zone")?,
        owner: row.try_get("owner")?,
        address: row.try_get("address")?,
        epoch: row.try_get("epoch")?,
        expires_at: row.try_get("expires_at")?,
        acquired_at: row.try_get("acquired_at")?,
    })
}

fn interval_ms(ttl: Duration) -> f64 {
    ttl.as_secs_f64() * 1000.0
}

/// Takes `zone` for `owner` when it is free, expired, or already `owner`'s (then it is renewed
/// and keeps its epoch). Returns the lease when `owner` holds it afterwards.
pub async fn try_acquire_zone(
    pool: &PgPool,
    zone: &str,
    owner: &str,
    address: &str,
    ttl: Duration,
) -> Result<Option<ZoneLease>> {
    let sql = format!(
        "WITH lease AS (INSERT INTO zone_leases (zone, owner, address, epoch, expires_at) \
         VALUES ($1, $2, $3, 1, now() + $4 * interval '1 millisecond') \
         ON CONFLICT (zone) DO UPDATE SET \
             epoch = CASE WHEN zone_leases.owner = EXCLUDED.owner \
                          AND zone_leases.expires_at > now() \
                          THEN zone_leases.epoch ELSE zone_leases.epoch + 1 END, \
             acquired_at = CASE WHEN zone_leases.owner = EXCLUDED.owner \
                          AND zone_leases.expires_at > now() \
                          THEN zone_leases.acquired_at ELSE now() END, \
             owner = EXCLUDED.owner, address = EXCLUDED.address, \
             expires_at = EXCLUDED.expires_at, renewed_at = now() \
         WHERE zone_leases.expires_at <= now() OR zone_leases.owner = EXCLUDED.owner \
         RETURNING {LEASE_COLUMNS}) \
         {RECORD_HISTORY}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(zone)
        .bind(owner)
        .bind(address)
        .bind(interval_ms(ttl))
        .fetch_optional(pool)
        .await?;
    Ok(row.as_ref().map(lease_from_row).transpose()?)
}

/// Extends `lease` by `ttl` if `owner` still holds it in the same epoch and it has not expired.
/// `None` means the lease is lost: stop calling the zone.
pub async fn renew_zone(
    pool: &PgPool,
    lease: &ZoneLease,
    ttl: Duration,
) -> Result<Option<ZoneLease>> {
    let sql = format!(
        "WITH lease AS (UPDATE zone_leases \
             SET expires_at = now() + $4 * interval '1 millisecond', renewed_at = now() \
         WHERE zone = $1 AND owner = $2 AND epoch = $3 AND expires_at > now() \
         RETURNING {LEASE_COLUMNS}) \
         {RECORD_HISTORY}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&lease.zone)
        .bind(&lease.owner)
        .bind(lease.epoch)
        .bind(interval_ms(ttl))
        .fetch_optional(pool)
        .await?;
    Ok(row.as_ref().map(lease_from_row).transpose()?)
}

/// Gives `lease` up at once (graceful shutdown or hand-over); returns whether it was held.
pub async fn release_zone(pool: &PgPool, lease: &ZoneLease) -> Result<bool> {
    let sql = format!(
        "WITH lease AS (UPDATE zone_leases SET expires_at = now() \
         WHERE zone = $1 AND owner = $2 AND epoch = $3 AND expires_at > now() \
         RETURNING {LEASE_COLUMNS}) \
         {RECORD_HISTORY}"
    );
    let released = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&lease.zone)
        .bind(&lease.owner)
        .bind(lease.epoch)
        .fetch_optional(pool)
        .await?;
    Ok(released.is_some())
}

/// One epoch of a zone's lease, from `zone_lease_history`: who held it, from its grant until
/// its expiry as last written (a renewal extends it, a release cuts it short).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseEpoch {
    pub zone: String,
    pub epoch: i64,
    pub owner: String,
    pub acquired_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// Every recorded lease epoch, by zone then epoch.
pub async fn lease_history(pool: &PgPool) -> Result<Vec<LeaseEpoch>> {
    let rows = sqlx::query(
        "SELECT zone, epoch, owner, acquired_at, expires_at FROM zone_lease_history \
         ORDER BY zone, epoch",
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(LeaseEpoch {
            zone: row.try_get("zone")?,
            epoch: row.try_get("epoch")?,
            owner: row.try_get("owner")?,
            acquired_at: row.try_get("acquired_at")?,
            expires_at: row.try_get("expires_at")?,
        });
    }
    Ok(out)
}

/// Deletes up to `limit` recorded epochs that expired more than `retention` ago, never a
/// zone's current epoch (the one its `zone_leases` row holds, however old). The history only
/// has to outlive the checks that read it (the chaos harness, an investigation); every
/// failover adds a row, so without this it grows for ever.
pub async fn prune_lease_history(pool: &PgPool, retention: Duration, limit: i64) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM zone_lease_history WHERE (zone, epoch) IN ( \
           SELECT h.zone, h.epoch FROM zone_lease_history h \
           WHERE h.expires_at < now() - $1 * interval '1 second' \
             AND NOT EXISTS (SELECT 1 FROM zone_leases l \
                             WHERE l.zone = h.zone AND l.epoch = h.epoch) \
           LIMIT $2)",
    )
    .bind(retention.as_secs_f64())
    .bind(limit)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Leases held now (unexpired), by zone.
pub async fn zone_owners(pool: &PgPool) -> Result<Vec<ZoneLease>> {
    let sql =
        format!("SELECT {LEASE_COLUMNS} FROM zone_leases WHERE expires_at > now() ORDER BY zone");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?;
    Ok(rows
        .iter()
        .map(lease_from_row)
        .collect::<std::result::Result<_, _>>()?)
}

/// The current lease of `zone`, if held.
pub async fn zone_owner(pool: &PgPool, zone: &str) -> Result<Option<ZoneLease>> {
    let sql =
        format!("SELECT {LEASE_COLUMNS} FROM zone_leases WHERE zone = $1 AND expires_at > now()");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(zone)
        .fetch_optional(pool)
        .await?;
    Ok(row.as_ref().map(lease_from_row).transpose()?)
}

/// Announces (or refreshes) a live worker for `ttl`, and returns every live worker, by id.
pub async fn heartbeat_worker(
    pool: &PgPool,
    id: &str,
    address: &str,
    zones: &[String],
    ttl: Duration,
) -> Result<Vec<WorkerMember>> {
    sqlx::query(
        "INSERT INTO fleet_workers (id, address, zones, expires_at) \
         VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond') \
         ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, zones = EXCLUDED.zones, \
             heartbeat_at = now(), expires_at = EXCLUDED.expires_at",
    )
    .bind(id)
    .bind(address)
    .bind(zones)
    .bind(interval_ms(ttl))
    .execute(pool)
    .await?;
    live_workers(pool).await
}

/// Live workers, by id.
pub async fn live_workers(pool: &PgPool) -> Result<Vec<WorkerMember>> {
    let rows = sqlx::query(
        "SELECT id, address, zones, expires_at FROM fleet_workers \
         WHERE expires_at > now() ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    let mut members = Vec::with_capacity(rows.len());
    for row in rows {
        members.push(WorkerMember {
            id: row.try_get("id")?,
            address: row.try_get("address")?,
            zones: row.try_get("zones")?,
            expires_at: row.try_get("expires_at")?,
        });
    }
    Ok(members)
}

/// Removes a worker from the membership (graceful shutdown), so the others take its share at
/// their next round instead of after its expiry.
pub async fn leave_workers(pool: &PgPool, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM fleet_workers WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
