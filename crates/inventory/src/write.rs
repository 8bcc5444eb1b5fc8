//! The writes of the zone's owning worker: what it saw, and what a full resync no longer finds.
//!
//! Every timestamp is the database's `clock_timestamp()`, so "seen after this resync started"
//! compares instants of one clock however many workers write.

use sqlx::PgPool;
use time::OffsetDateTime;

use crate::{Kind, Record};

/// Records that `records` exist now, as shown: inserts new rows, refreshes known ones (a row
/// marked gone that shows up again is live again). Returns the rows written.
pub async fn upsert(pool: &PgPool, records: &[Record]) -> Result<u64, sqlx::Error> {
    if records.is_empty() {
        return Ok(0);
    }
    let rows: Vec<serde_json::Value> = records.iter().map(as_row).collect();
    let result = sqlx::query(
        r#"
        INSERT INTO inventory_resources AS r
            (zone, kind, id, api, project, name, state, commercial_type, volume_type,
             attached_to, tags, body, created_at, first_seen, last_seen, gone_at)
        SELECT zone, kind, id, api, project, name, state, commercial_type, volume_type,
               attached_to, ARRAY(SELECT jsonb_array_elements_text(tags)), body, created_at,
               clock_timestamp(), clock_timestamp(), NULL
        FROM jsonb_to_recordset($1::jsonb) AS x(
            zone text, kind text, id text, api text, project text, name text, state text,
            commercial_type text, volume_type text, attached_to text, tags jsonb, body jsonb,
            created_at timestamptz)
        ON CONFLICT (zone, kind, id) DO UPDATE SET
            api = EXCLUDED.api, project = EXCLUDED.project, name = EXCLUDED.name,
            state = EXCLUDED.state, commercial_type = EXCLUDED.commercial_type,
            volume_type = EXCLUDED.volume_type, attached_to = EXCLUDED.attached_to,
            tags = EXCLUDED.tags, body = EXCLUDED.body, created_at = EXCLUDED.created_at,
            last_seen = EXCLUDED.last_seen, gone_at = NULL
        "#,
    )
    .bind(serde_json::Value::Array(rows))
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}

fn as_row(record: &Record) -> serde_json::Value {
    let created_at = record.created_at.and_then(|at| {
        at.format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    serde_json::json!({
        "zone": record.zone,
        "kind": record.kind.as_str(),
        "id": record.id,
        "api": record.api,
        "project": record.project,
        "name": record.name,
        "state": record.state,
        "commercial_type": record.commercial_type,
        "volume_type": record.volume_type,
        "attached_to": record.attached_to,
        "tags": record.tags,
        "body": record.body,
        "created_at": created_at,
    })
}

/// Marks one resource gone at once (a call answered that it does not exist, or fleet deleted
/// it). Returns whether a live row was marked.
pub async fn mark_gone(
    pool: &PgPool,
    zone: &str,
    kind: Kind,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE inventory_resources SET gone_at = clock_timestamp() \
         WHERE zone = $1 AND kind = $2 AND id = $3 AND gone_at IS NULL",
    )
    .bind(zone)
    .bind(kind.as_str())
    .bind(id)
    .execute(pool)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// A full resync of one zone and kind in progress: started by [`begin_resync`], ended by
/// [`complete_resync`] once every page of every API holding the kind was upserted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resync {
    pub zone: String,
    pub kind: Kind,
    pub started_at: OffsetDateTime,
}

/// Records that a full resync of `zone`'s `kind` starts now.
pub async fn begin_resync(pool: &PgPool, zone: &str, kind: Kind) -> Result<Resync, sqlx::Error> {
    let started_at: OffsetDateTime = sqlx::query_scalar(
        "INSERT INTO inventory_syncs (zone, kind, started_at) VALUES ($1, $2, clock_timestamp()) \
         ON CONFLICT (zone, kind) DO UPDATE SET started_at = EXCLUDED.started_at \
         RETURNING started_at",
    )
    .bind(zone)
    .bind(kind.as_str())
    .fetch_one(pool)
    .await?;
    Ok(Resync {
        zone: zone.to_owned(),
        kind,
        started_at,
    })
}

/// Ends `resync`: every live row of its zone and kind not seen since it started is marked gone,
/// in the same transaction that records its completion. Returns the rows marked gone.
pub async fn complete_resync(
    pool: &PgPool,
    resync: &Resync,
    seen: u64,
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let gone = sqlx::query(
        "UPDATE inventory_resources SET gone_at = clock_timestamp() \
         WHERE zone = $1 AND kind = $2 AND gone_at IS NULL AND last_seen < $3",
    )
    .bind(&resync.zone)
    .bind(resync.kind.as_str())
    .bind(resync.started_at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "UPDATE inventory_syncs SET completed_at = clock_timestamp(), seen = $4, marked_gone = $5 \
         WHERE zone = $1 AND kind = $2 AND started_at = $3",
    )
    .bind(&resync.zone)
    .bind(resync.kind.as_str())
    .bind(resync.started_at)
    .bind(i32::try_from(seen).unwrap_or(i32::MAX))
    .bind(i32::try_from(gone).unwrap_or(i32::MAX))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(gone)
}
