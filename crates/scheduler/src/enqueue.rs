//! Enqueueing jobs, alone or many at once, on a pool or inside the caller's transaction.
//!
//! One multi-row `INSERT … SELECT FROM unnest(…)` per call. Jobs that name a `resource` take a
//! transaction-scoped advisory lock on it before their ids are drawn, so that on one resource id
//! order equals commit (acceptance) order, which the claim query relies on. One `NOTIFY` per call
//! and zone wakes the workers.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;

use crate::error::{Result, SchedulerError};
use crate::job::{JOB_COLUMNS, Job, JobState, NewJob};
use crate::notify::ENQUEUED_CHANNEL;

/// Advisory-lock namespace (first key) for per-resource enqueue serialization.
pub(crate) const RESOURCE_LOCK_NAMESPACE: i32 = 0x5c4e_d001;

/// The outcome of enqueueing one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    pub id: i64,
    /// `false` when an earlier job with the same (caller, idempotency key) was returned instead.
    pub created: bool,
    pub state: JobState,
}

/// Enqueues one job on its own (autocommit, or a short transaction when it names a resource).
///
/// Re-enqueueing with a used (caller, idempotency key) returns the existing job
/// (`created == false`); a different payload under a used key is
/// [`SchedulerError::IdempotencyConflict`].
pub async fn enqueue(pool: &PgPool, job: &NewJob) -> Result<Enqueued> {
    let mut conn = pool.acquire().await?;
    enqueue_tx(&mut conn, job).await
}

/// Enqueues many jobs in one statement; results are in input order. All or nothing: an
/// idempotency conflict refuses the whole batch.
pub async fn enqueue_many(pool: &PgPool, jobs: &[NewJob]) -> Result<Vec<Enqueued>> {
    let mut conn = pool.acquire().await?;
    enqueue_many_tx(&mut conn, jobs).await
}

/// [`enqueue`] on the caller's connection, typically inside its transaction (`&mut tx`): the
/// job becomes visible, and workers are notified, when the caller commits.
pub async fn enqueue_tx(conn: &mut PgConnection, job: &NewJob) -> Result<Enqueued> {
    enqueue_many_tx(conn, std::slice::from_ref(job))
        .await?
        .pop()
        .ok_or_else(|| SchedulerError::Corrupt("enqueue returned no row".into()))
}

/// [`enqueue_many`] on the caller's connection, typically inside its transaction (`&mut tx`).
pub async fn enqueue_many_tx(conn: &mut PgConnection, jobs: &[NewJob]) -> Result<Vec<Enqueued>> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    for job in jobs {
        validate(job)?;
    }
    // One statement is atomic on its own: a transaction (or savepoint) is needed only for the
    // resource locks (held until commit) and for all-or-nothing batches that may hit an
    // idempotency conflict.
    let needs_tx = jobs.iter().any(|j| j.resource.is_some())
        || (jobs.len() > 1 && jobs.iter().any(|j| j.idempotency_key.is_some()));
    if needs_tx {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let out = insert_jobs(&mut tx, jobs).await?;
        tx.commit().await?;
        Ok(out)
    } else {
        insert_jobs(conn, jobs).await
    }
}

async fn insert_jobs(tx: &mut PgConnection, jobs: &[NewJob]) -> Result<Vec<Enqueued>> {
    // Serialize enqueues per resource (sorted to avoid lock-order deadlocks).
    let resources: BTreeSet<&str> = jobs.iter().filter_map(|j| j.resource.as_deref()).collect();
    if !resources.is_empty() {
        let resources: Vec<&str> = resources.into_iter().collect();
        sqlx::query(
            "SELECT pg_advisory_xact_lock($1, hashtext(r)) \
             FROM (SELECT r FROM unnest($2::text[]) AS r ORDER BY r OFFSET 0) AS s",
        )
        .bind(RESOURCE_LOCK_NAMESPACE)
        .bind(&resources)
        .execute(&mut *tx)
        .await?;
    }

    // Draw ids up front so that results map back to inputs exactly, in input order.
    let ids: Vec<Option<i64>> = if jobs.len() == 1 {
        vec![None]
    } else {
        let mut ids: Vec<i64> =
            sqlx::query_scalar("SELECT nextval('jobs_id_seq') FROM generate_series(1, $1)")
                .bind(jobs.len() as i64)
                .fetch_all(&mut *tx)
                .await?;
        ids.sort_unstable();
        ids.into_iter().map(Some).collect()
    };

    let n = jobs.len();
    let mut kinds = Vec::with_capacity(n);
    let mut zones = Vec::with_capacity(n);
    let mut projects = Vec::with_capacity(n);
    let mut resources = Vec::with_capacity(n);
    let mut args = Vec::with_capacity(n);
    let mut priorities = Vec::with_capacity(n);
    let mut run_ats: Vec<Option<OffsetDateTime>> = Vec::with_capacity(n);
    let mut max_attempts = Vec::with_capacity(n);
    let mut callers = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    let mut traces = Vec::with_capacity(n);
    for job in jobs {
        kinds.push(job.kind.as_str());
        zones.push(job.zone.as_str());
        projects.push(job.project.as_deref());
        resources.push(job.resource.as_deref());
        args.push(&job.args);
        priorities.push(job.priority);
        run_ats.push(job.run_at);
        max_attempts.push(job.max_attempts);
        callers.push(job.caller.as_str());
        keys.push(job.idempotency_key.as_deref());
        traces.push(&job.trace_context);
    }

    let rows = sqlx::query(
        "WITH ins AS ( \
           INSERT INTO jobs (id, kind, zone, project, resource, args, state, priority, run_at, \
                             max_attempts, caller, idempotency_key, trace_context) \
           SELECT coalesce(u.id, nextval('jobs_id_seq')), u.kind, u.zone, u.project, u.resource, \
                  u.args, \
                  CASE WHEN coalesce(u.run_at, now()) > now() THEN 'scheduled' ELSE 'available' END, \
                  u.priority, coalesce(u.run_at, now()), u.max_attempts, u.caller, u.key, u.trace \
           FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], \
                       $7::int2[], $8::timestamptz[], $9::int4[], $10::text[], $11::text[], \
                       $12::jsonb[]) \
                AS u(id, kind, zone, project, resource, args, priority, run_at, max_attempts, \
                     caller, key, trace) \
           ON CONFLICT (caller, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING \
           RETURNING id, zone, state \
         ), notified AS ( \
           SELECT pg_notify($13, z.zone) FROM (SELECT DISTINCT zone FROM ins) AS z \
         ) \
         SELECT ins.id, ins.state, (SELECT count(*) FROM notified) AS notified FROM ins",
    )
    .bind(&ids)
    .bind(&kinds)
    .bind(&zones)
    .bind(&projects)
    .bind(&resources)
    .bind(&args)
    .bind(&priorities)
    .bind(&run_ats)
    .bind(&max_attempts)
    .bind(&callers)
    .bind(&keys)
    .bind(&traces)
    .bind(ENQUEUED_CHANNEL)
    .fetch_all(&mut *tx)
    .await?;

    let mut out: Vec<Option<Enqueued>> = vec![None; n];
    if n == 1 {
        if let Some(row) = rows.first() {
            out[0] = Some(created_from_row(row)?);
        }
    } else {
        let index: HashMap<i64, usize> = ids
            .iter()
            .enumerate()
            .filter_map(|(i, id)| id.map(|id| (id, i)))
            .collect();
        for row in &rows {
            let enqueued = created_from_row(row)?;
            if let Some(&i) = index.get(&enqueued.id) {
                out[i] = Some(enqueued);
            }
        }
    }

    resolve_existing(tx, jobs, &mut out).await?;

    out.into_iter()
        .map(|e| e.ok_or_else(|| SchedulerError::Corrupt("enqueue lost a row".into())))
        .collect()
}

/// Inputs that were not inserted hit an existing (caller, key): fills in the existing job, or
/// reports a conflict when it asked for something else.
async fn resolve_existing(
    tx: &mut PgConnection,
    jobs: &[NewJob],
    out: &mut [Option<Enqueued>],
) -> Result<()> {
    let missing: Vec<usize> = (0..out.len()).filter(|&i| out[i].is_none()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let m_callers: Vec<&str> = missing.iter().map(|&i| jobs[i].caller.as_str()).collect();
    let m_keys: Vec<&str> = missing
        .iter()
        .map(|&i| jobs[i].idempotency_key.as_deref().unwrap_or_default())
        .collect();
    let existing: Vec<Job> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs \
         WHERE (caller, idempotency_key) IN \
               (SELECT c, k FROM unnest($1::text[], $2::text[]) AS u(c, k))"
    )))
    .bind(&m_callers)
    .bind(&m_keys)
    .fetch_all(&mut *tx)
    .await?;
    let by_key: HashMap<(&str, &str), &Job> = existing
        .iter()
        .filter_map(|j| {
            j.idempotency_key
                .as_deref()
                .map(|k| ((j.caller.as_str(), k), j))
        })
        .collect();
    for &i in &missing {
        let job = &jobs[i];
        let key = job.idempotency_key.as_deref().unwrap_or_default();
        let Some(existing) = by_key.get(&(job.caller.as_str(), key)) else {
            return Err(SchedulerError::Corrupt(format!(
                "job of caller {:?} with key {key:?} neither inserted nor found",
                job.caller
            )));
        };
        if !same_request(job, existing) {
            return Err(SchedulerError::IdempotencyConflict {
                caller: job.caller.clone(),
                key: key.to_owned(),
                existing_id: existing.id,
            });
        }
        out[i] = Some(Enqueued {
            id: existing.id,
            created: false,
            state: existing.state,
        });
    }
    Ok(())
}

fn created_from_row(row: &sqlx::postgres::PgRow) -> Result<Enqueued> {
    let state: String = row.try_get("state")?;
    Ok(Enqueued {
        id: row.try_get("id")?,
        created: true,
        state: state.parse()?,
    })
}

/// Whether a re-sent request is the same as the one stored under its idempotency key.
fn same_request(job: &NewJob, existing: &Job) -> bool {
    job.kind == existing.kind
        && job.zone == existing.zone
        && job.project == existing.project
        && job.resource == existing.resource
        && json_eq(&job.args, &existing.args)
}

/// JSON equality ignoring object key order (jsonb does not keep it).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| json_eq(v, w)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(v, w)| json_eq(v, w))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => a == b,
    }
}

pub(crate) fn validate(job: &NewJob) -> Result<()> {
    if job.kind.is_empty() || job.kind.len() > 200 {
        return Err(SchedulerError::Invalid(
            "kind must be 1 to 200 characters".into(),
        ));
    }
    if job.zone.is_empty() || job.zone.len() > 64 {
        return Err(SchedulerError::Invalid(
            "zone must be 1 to 64 characters".into(),
        ));
    }
    if job.max_attempts < 1 {
        return Err(SchedulerError::Invalid(
            "max_attempts must be at least 1".into(),
        ));
    }
    if job.idempotency_key.as_deref() == Some("") {
        return Err(SchedulerError::Invalid(
            "idempotency key must not be empty".into(),
        ));
    }
    Ok(())
}
