//! Batches in the mix: the driver submits reboot batches over a few of its own servers
//! (`OpKind::RebootBatch`), so gateways (which run the coordinators) are killed while batches
//! run, and fault storms fail their children. After the settle, every batch is checked from
//! Postgres against what a batch promises:
//!
//! * it ended (`completed`, `halted` or `cancelled`), and its parent job finished;
//! * every child that started has one job (one per `batch-{id}-{position}` key, whoever the
//!   caller), finished, and the child's outcome is its job's end state; a child without a job
//!   is `skipped`, and only in a batch that halted or was cancelled;
//! * a halted batch saw more than `max_failures` failures; a completed one did not;
//! * the counts in the parent operation's result are the children's, counted once.

use std::collections::{BTreeMap, HashSet};

use fleet_proto::v1;

use crate::analysis::JobRow;
use crate::driver::{OpKind, OpRecord};
use sqlx::PgPool;
use sqlx::Row as _;

/// One batch, as its tables and its parent job hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRow {
    pub id: i64,
    pub state: String,
    pub max_failures: u32,
    /// The parent job's state.
    pub job_state: String,
    /// The counts of the parent operation's result (the final Batch), once it has one.
    pub counts: Option<v1::BatchCounts>,
}

/// One child of a batch, with its job's state.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildRow {
    pub batch_id: i64,
    pub position: i32,
    pub job_id: Option<i64>,
    pub outcome: Option<String>,
    pub job_state: Option<String>,
}

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchCheck {
    pub batches: usize,
    pub children: usize,
    /// One line per broken promise, naming the batch (and child).
    pub faults: Vec<String>,
}

const ENDED: [&str; 3] = ["completed", "halted", "cancelled"];
const JOB_ENDED: [&str; 3] = ["completed", "failed", "cancelled"];

/// Checks every batch. `jobs_per_key` counts the jobs of each child key
/// (`batch-{id}-{position}`) across callers.
pub fn check(
    batches: &[BatchRow],
    children: &[ChildRow],
    jobs_per_key: &BTreeMap<String, i64>,
) -> BatchCheck {
    let mut faults = Vec::new();
    let mut by_batch: BTreeMap<i64, Vec<&ChildRow>> = BTreeMap::new();
    for child in children {
        by_batch.entry(child.batch_id).or_default().push(child);
    }
    for batch in batches {
        let id = batch.id;
        if !ENDED.contains(&batch.state.as_str()) {
            faults.push(format!("batch {id} did not end: {}", batch.state));
        }
        if !JOB_ENDED.contains(&batch.job_state.as_str()) {
            faults.push(format!("batch {id}: parent job {}", batch.job_state));
        }
        let mut counted = v1::BatchCounts::default();
        for child in by_batch.get(&id).into_iter().flatten() {
            let at = child.position;
            counted.total += 1;
            let slot = match child.outcome.as_deref() {
                Some("succeeded") => &mut counted.succeeded,
                Some("failed") => &mut counted.failed,
                Some("cancelled") => &mut counted.cancelled,
                Some("skipped") => &mut counted.skipped,
                None if child.job_id.is_some() => &mut counted.in_flight,
                _ => &mut counted.pending,
            };
            *slot += 1;
            let key = format!("batch-{id}-{at}");
            let jobs = jobs_per_key.get(&key).copied().unwrap_or(0);
            match child.job_id {
                Some(job) => {
                    if jobs != 1 {
                        faults.push(format!("batch {id} child {at}: {jobs} jobs"));
                    }
                    let expected = match child.job_state.as_deref() {
                        Some("completed") => Some("succeeded"),
                        Some(state @ ("failed" | "cancelled")) => Some(state),
                        _ => None,
                    };
                    match expected {
                        None => faults.push(format!(
                            "batch {id} child {at}: job {job} did not finish ({:?})",
                            child.job_state
                        )),
                        Some(expected) if child.outcome.as_deref() != Some(expected) => {
                            faults.push(format!(
                                "batch {id} child {at}: outcome {:?}, its job {job} ended {:?}",
                                child.outcome, child.job_state
                            ));
                        }
                        Some(_) => {}
                    }
                }
                None => {
                    if jobs != 0 {
                        faults.push(format!("batch {id} child {at}: {jobs} unrecorded jobs"));
                    }
                    let skippable = matches!(batch.state.as_str(), "halted" | "cancelled");
                    if child.outcome.as_deref() != Some("skipped") || !skippable {
                        faults.push(format!(
                            "batch {id} child {at}: never started, outcome {:?} in a {} batch",
                            child.outcome, batch.state
                        ));
                    }
                }
            }
        }
        match batch.state.as_str() {
            "halted" if counted.failed <= batch.max_failures => faults.push(format!(
                "batch {id} halted with {} failures, max_failures {}",
                counted.failed, batch.max_failures
            )),
            "completed" if counted.failed > batch.max_failures => faults.push(format!(
                "batch {id} completed with {} failures, max_failures {}",
                counted.failed, batch.max_failures
            )),
            _ => {}
        }
        match &batch.counts {
            Some(counts) if *counts != counted => faults.push(format!(
                "batch {id}: result counts {counts:?}, children {counted:?}"
            )),
            None if batch.job_state == "completed" => {
                faults.push(format!("batch {id}: completed without a result"));
            }
            _ => {}
        }
    }
    BatchCheck {
        batches: batches.len(),
        children: children.len(),
        faults,
    }
}

/// `jobs` without the children of the driver's batches: those are the batches' jobs, not
/// requests of the driver's, and [`check`] accounts for them. A child job of a batch the
/// driver never submitted stays, and the one-job-per-request check reports it.
pub fn without_children(
    jobs: Vec<JobRow>,
    records: &[OpRecord],
    children: &[ChildRow],
) -> Vec<JobRow> {
    let batches: HashSet<i64> = records
        .iter()
        .filter(|r| r.kind == OpKind::RebootBatch)
        .filter_map(OpRecord::job_id)
        .collect();
    let child_jobs: HashSet<i64> = children
        .iter()
        .filter(|c| batches.contains(&c.batch_id))
        .filter_map(|c| c.job_id)
        .collect();
    jobs.into_iter()
        .filter(|j| !child_jobs.contains(&j.id))
        .collect()
}

/// Reads every batch, child and child-job count.
pub async fn load(
    pool: &PgPool,
) -> anyhow::Result<(Vec<BatchRow>, Vec<ChildRow>, BTreeMap<String, i64>)> {
    let rows = sqlx::query(
        "SELECT b.id, b.state, coalesce((b.spec -> 'limits' ->> 'max_failures')::int, 0) AS mf, \
                coalesce(j.state, 'missing') AS job_state, j.result \
         FROM batches b LEFT JOIN jobs j ON j.id = b.id ORDER BY b.id",
    )
    .fetch_all(pool)
    .await?;
    let mut batches = Vec::with_capacity(rows.len());
    for row in rows {
        let result: Option<serde_json::Value> = row.try_get("result")?;
        let counts = match result {
            Some(value) => {
                fleet_proto::json::from_json::<v1::Batch>(value)
                    .map_err(|err| anyhow::anyhow!("batch result does not decode: {err}"))?
                    .counts
            }
            None => None,
        };
        batches.push(BatchRow {
            id: row.try_get("id")?,
            state: row.try_get("state")?,
            max_failures: u32::try_from(row.try_get::<i32, _>("mf")?).unwrap_or(0),
            job_state: row.try_get("job_state")?,
            counts,
        });
    }
    let children = sqlx::query(
        "SELECT c.batch_id, c.position, c.job_id, c.outcome, j.state AS job_state \
         FROM batch_children c LEFT JOIN jobs j ON j.id = c.job_id \
         ORDER BY c.batch_id, c.position",
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| {
        Ok(ChildRow {
            batch_id: row.try_get("batch_id")?,
            position: row.try_get("position")?,
            job_id: row.try_get("job_id")?,
            outcome: row.try_get("outcome")?,
            job_state: row.try_get("job_state")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let jobs_per_key = sqlx::query(
        "SELECT idempotency_key, count(*) AS n FROM jobs \
         WHERE idempotency_key LIKE 'batch-%' GROUP BY idempotency_key",
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|row| Ok((row.try_get("idempotency_key")?, row.try_get("n")?)))
    .collect::<Result<BTreeMap<String, i64>, sqlx::Error>>()?;
    Ok((batches, children, jobs_per_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(state: &str, counts: v1::BatchCounts) -> BatchRow {
        BatchRow {
            id: 7,
            state: state.to_owned(),
            max_failures: 0,
            job_state: "completed".to_owned(),
            counts: Some(counts),
        }
    }

    fn child(position: i32, job: Option<i64>, outcome: &str, job_state: &str) -> ChildRow {
        ChildRow {
            batch_id: 7,
            position,
            job_id: job,
            outcome: Some(outcome.to_owned()).filter(|o| !o.is_empty()),
            job_state: Some(job_state.to_owned()).filter(|s| !s.is_empty()),
        }
    }

    fn keys(positions: &[i32]) -> BTreeMap<String, i64> {
        positions
            .iter()
            .map(|p| (format!("batch-7-{p}"), 1))
            .collect()
    }

    fn halted() -> (BatchRow, Vec<ChildRow>) {
        let counts = v1::BatchCounts {
            total: 3,
            succeeded: 1,
            failed: 1,
            skipped: 1,
            ..Default::default()
        };
        let children = vec![
            child(0, Some(10), "succeeded", "completed"),
            child(1, Some(11), "failed", "failed"),
            child(2, None, "skipped", ""),
        ];
        (batch("halted", counts), children)
    }

    #[test]
    fn a_halted_batch_that_kept_every_promise_passes() {
        let (batch, children) = halted();
        let found = check(&[batch], &children, &keys(&[0, 1]));
        assert_eq!(found.faults, Vec::<String>::new());
        assert_eq!((found.batches, found.children), (1, 3));
    }

    #[test]
    fn each_broken_promise_is_a_fault() {
        let (good, children) = halted();
        let faults = |batch: &BatchRow, children: &[ChildRow], keys: &BTreeMap<String, i64>| {
            check(std::slice::from_ref(batch), children, keys).faults
        };
        let ok = keys(&[0, 1]);
        // Still running.
        let running = BatchRow {
            state: "running".into(),
            job_state: "running".into(),
            ..good.clone()
        };
        assert_eq!(
            faults(&running, &children, &ok).len(),
            3,
            "not ended, job, skipped"
        );
        // A child run twice (two jobs under its key).
        let mut twice = ok.clone();
        twice.insert("batch-7-0".into(), 2);
        assert!(faults(&good, &children, &twice)[0].contains("2 jobs"));
        // A job for a child the batch never recorded as started.
        let mut stray = ok.clone();
        stray.insert("batch-7-2".into(), 1);
        assert!(faults(&good, &children, &stray)[0].contains("unrecorded"));
        // An outcome that is not its job's end.
        let mut wrong = children.clone();
        wrong[1].outcome = Some("succeeded".into());
        let found = faults(&good, &wrong, &ok);
        assert!(found.iter().any(|f| f.contains("outcome")), "{found:?}");
        // A started child whose job never finished.
        let mut open = children.clone();
        open[0].job_state = Some("running".into());
        open[0].outcome = None;
        let found = faults(&good, &open, &ok);
        assert!(
            found.iter().any(|f| f.contains("did not finish")),
            "{found:?}"
        );
        // Halted at the threshold, not past it.
        let lenient = BatchRow {
            max_failures: 1,
            ..good.clone()
        };
        assert!(faults(&lenient, &children, &ok)[0].contains("halted with 1"));
        // Counts double-counted in the result.
        let mut doubled = good.clone();
        if let Some(c) = doubled.counts.as_mut() {
            c.succeeded = 2;
        }
        assert!(faults(&doubled, &children, &ok)[0].contains("result counts"));
        // A skipped child in a batch that completed.
        let completed = BatchRow {
            state: "completed".into(),
            ..good
        };
        let found = faults(&completed, &children, &ok);
        assert!(
            found.iter().any(|f| f.contains("never started")),
            "{found:?}"
        );
    }

    #[test]
    fn only_children_of_the_drivers_batches_leave_the_request_check() {
        use crate::analysis::JobState;
        let record = |kind, name: &str| OpRecord {
            index: 0,
            kind,
            zone: "fr-par-1".into(),
            submit_attempts: 1,
            request_id: "r".into(),
            name: Some(name.into()),
            refused: None,
            done: true,
            error: None,
            accept_latency: None,
            done_latency: None,
        };
        let records = [
            record(OpKind::RebootBatch, "operations/7"),
            record(OpKind::Reboot, "operations/8"),
        ];
        let mut children = vec![child(0, Some(10), "succeeded", "completed")];
        children.push(ChildRow {
            batch_id: 9,
            ..child(0, Some(12), "succeeded", "completed")
        });
        let job = |id| JobRow {
            id,
            state: JobState::parse("completed"),
            caller: "chaos".into(),
            request_id: None,
            method: None,
        };
        let kept: Vec<i64> =
            without_children(vec![job(7), job(8), job(10), job(12)], &records, &children)
                .into_iter()
                .map(|j| j.id)
                .collect();
        assert_eq!(kept, [7, 8, 12]);
    }
}
