//! AIP-155 for synchronous mutations: `(caller, request_id)` → the first answer.
//!
//! A call claims its request_id as `pending` before it goes upstream; a success stores the
//! encoded response (`done`), a failure deletes the claim so the caller may retry with the
//! same id. A second call with the same id gets the stored response, or ABORTED while the
//! first is in flight, or INVALID_ARGUMENT when its payload (hash) differs. A pending claim
//! older than [`STALE_PENDING`] (its gateway died mid-call) may be taken over. Records
//! older than the retention are pruned by [`crate::retention`] (the gateway's `request_id_pruner`
//! task), so a request_id is honoured for that long, like a job's for its own retention.

use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};

use crate::errors::GatewayError;

/// A pending claim this old is considered abandoned.
pub const STALE_PENDING_SECS: i64 = 300;

/// What [`claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The call is ours to make.
    Fresh,
    /// The same request was answered before: the encoded response.
    Done(Vec<u8>),
}

/// Hash of a request for comparison: method plus the encoded request without its request_id.
pub fn request_hash(method: &str, encoded: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update([0]);
    hasher.update(encoded);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Claims `(caller, request_id)` for a call of `method` with `hash`.
pub async fn claim(
    pool: &PgPool,
    caller: &str,
    request_id: &str,
    method: &str,
    hash: &str,
) -> Result<Claim, GatewayError> {
    let inserted = sqlx::query(
        "INSERT INTO gateway_requests (caller, request_id, method, request_hash) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (caller, request_id) DO UPDATE SET created_at = now() \
           WHERE gateway_requests.state = 'pending' \
             AND gateway_requests.request_hash = EXCLUDED.request_hash \
             AND gateway_requests.created_at < now() - $5 * interval '1 second' \
         RETURNING request_id",
    )
    .bind(caller)
    .bind(request_id)
    .bind(method)
    .bind(hash)
    .bind(STALE_PENDING_SECS as f64)
    .fetch_optional(pool)
    .await?;
    if inserted.is_some() {
        return Ok(Claim::Fresh);
    }
    let row = sqlx::query(
        "SELECT method, request_hash, state, response FROM gateway_requests \
         WHERE caller = $1 AND request_id = $2",
    )
    .bind(caller)
    .bind(request_id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        // Deleted between the two statements (the first call failed): ours now.
        return Box::pin(claim(pool, caller, request_id, method, hash)).await;
    };
    let stored_method: String = row.try_get("method")?;
    let stored_hash: String = row.try_get("request_hash")?;
    if stored_method != method || stored_hash != hash {
        return Err(GatewayError::RequestIdReused {
            request_id: request_id.to_owned(),
            method: method.to_owned(),
        });
    }
    let state: String = row.try_get("state")?;
    if state != "done" {
        return Err(GatewayError::RequestInProgress {
            request_id: request_id.to_owned(),
        });
    }
    let response: Option<Vec<u8>> = row.try_get("response")?;
    Ok(Claim::Done(response.unwrap_or_default()))
}

/// Records the answer of a claimed call.
pub async fn finish(
    pool: &PgPool,
    caller: &str,
    request_id: &str,
    response: &[u8],
) -> Result<(), GatewayError> {
    sqlx::query(
        "UPDATE gateway_requests SET state = 'done', response = $3, finished_at = now() \
         WHERE caller = $1 AND request_id = $2",
    )
    .bind(caller)
    .bind(request_id)
    .bind(response)
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives a claim up after a failed call, so the request_id can be retried.
pub async fn abandon(pool: &PgPool, caller: &str, request_id: &str) -> Result<(), GatewayError> {
    sqlx::query(
        "DELETE FROM gateway_requests WHERE caller = $1 AND request_id = $2 AND state = 'pending'",
    )
    .bind(caller)
    .bind(request_id)
    .execute(pool)
    .await?;
    Ok(())
}
