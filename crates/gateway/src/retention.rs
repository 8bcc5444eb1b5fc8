//! Retention of the gateway's own records: each pruned table has a named background task
//! that deletes its rows older than the configured retention, in bounded rounds.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Records pruned per round; more wait for the next round (or the next gateway's).
const PRUNE_BATCH: i64 = 1000;

/// A table the gateway prunes after its retention, each by a task of its own name.
#[derive(Debug, Clone, Copy)]
pub enum Pruned {
    /// `gateway_requests`: synchronous mutations' `request_id` records.
    RequestIds,
    /// `gateway_audit`: the audit log.
    Audit,
}

impl Pruned {
    /// The task's name in logs.
    pub fn task(self) -> &'static str {
        match self {
            Pruned::RequestIds => "request_id_pruner",
            Pruned::Audit => "audit_pruner",
        }
    }

    /// The bounded delete of the table's expired rows (`$1` the retention in seconds, `$2` the
    /// round's limit), written out per table: statements are static text, never assembled.
    fn prune_statement(self) -> &'static str {
        match self {
            Pruned::RequestIds => {
                "DELETE FROM gateway_requests WHERE ctid IN ( \
                   SELECT ctid FROM gateway_requests \
                    WHERE created_at < now() - $1 * interval '1 second' \
                    ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
            }
            Pruned::Audit => {
                "DELETE FROM gateway_audit WHERE ctid IN ( \
                   SELECT ctid FROM gateway_audit \
                    WHERE created_at < now() - $1 * interval '1 second' \
                    ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
            }
        }
    }

    /// Deletes up to `limit` rows created more than `retention` ago; returns how many went.
    /// Bounded so that one round never holds a long lock; several gateways may prune at once
    /// (locked rows are skipped, not waited for).
    pub async fn prune(
        self,
        pool: &PgPool,
        retention: Duration,
        limit: i64,
    ) -> Result<u64, sqlx::Error> {
        let deleted = sqlx::query(self.prune_statement())
            .bind(retention.as_secs_f64())
            .bind(limit)
            .execute(pool)
            .await?
            .rows_affected();
        Ok(deleted)
    }
}

/// The [`Pruned::task`] task: deletes the table's records older than `retention`, every
/// `interval`, until `shutdown`.
pub(crate) async fn pruner(
    pruned: Pruned,
    pool: PgPool,
    retention: Duration,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match pruned.prune(&pool, retention, PRUNE_BATCH).await {
            Ok(0) => {}
            Ok(deleted) => tracing::debug!(deleted, task = pruned.task(), "expired records pruned"),
            Err(err) => {
                tracing::warn!(error = %err, task = pruned.task(), "pruning failed; retried next round");
            }
        }
    }
}
