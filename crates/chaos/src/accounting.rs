//! The caller-side accounting of a run: what became of every operation the driver submitted
//! (terminal, lost, refused), joined with the jobs table and the upstream resource count.
//! Pure over recorded data, so each rule is tested on hand-made records.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::ChaosConfig;
use crate::analysis::{self, CreateOp, JobRow, JobState, Submission};
use crate::driver::{OpRecord, Refusal};
use crate::report::{KindStats, Report};

/// The one caller the driver calls as (`FLEET_CALLERS`); its name keys the jobs it makes.
pub const CALLER: &str = "chaos";

/// Builds the report's accounting from the driver's records, the gateway's final word on each
/// operation (`finals`: done, error code), the jobs table and the tagged resources upstream.
pub fn assemble(
    config: &ChaosConfig,
    records: &[OpRecord],
    finals: &HashMap<String, (bool, Option<String>)>,
    jobs: &[JobRow],
    tagged: &HashMap<(&'static str, i64), usize>,
) -> Report {
    let mut report = Report {
        seed: config.seed,
        planned_ops: config.ops,
        ..Report::default()
    };
    let states: HashMap<i64, JobState> = jobs.iter().map(|j| (j.id, j.state)).collect();
    let keyed: HashSet<(&str, &str)> = jobs
        .iter()
        .filter_map(|j| Some((j.method.as_deref()?, j.request_id.as_deref()?)))
        .collect();
    // An operation whose task died left no record: nobody saw it end.
    report.lost = config.ops.saturating_sub(records.len());
    let mut creates = Vec::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    let mut accept = Vec::new();
    let mut done = Vec::new();
    for record in records {
        let stats: &mut KindStats = report.by_kind.entry(record.kind.as_str()).or_default();
        let (Some(name), Some(job_id)) = (&record.name, record.job_id()) else {
            let refusal = record.refused.clone().unwrap_or(Refusal::GaveUp {
                last: "no answer".into(),
            });
            let made_a_job =
                keyed.contains(&(record.kind.grpc_method(), record.request_id.as_str()));
            match &refusal {
                // A definite refusal is not an accepted request, unless a job was made anyway.
                Refusal::Definite { .. } if !made_a_job => {
                    report.rejected += 1;
                    stats.rejected += 1;
                }
                Refusal::Definite { .. } => {
                    report.lost += 1;
                    stats.lost += 1;
                }
                // The caller never learnt the outcome: lost, whatever happened behind.
                Refusal::GaveUp { .. } => {
                    report.given_up += 1;
                    report.lost += 1;
                    stats.lost += 1;
                }
            }
            *errors
                .entry(truncate(&refusal.describe(), 100))
                .or_insert(0) += 1;
            continue;
        };
        report.ops += 1;
        stats.accepted += 1;
        if record.submit_attempts > 1 {
            report.resubmitted += 1;
        }
        // The final GetOperation is the gateway's word, for the disagreement count; the
        // verdict needs the waiting caller to have seen it done (a caller who stopped waiting
        // lost it) and the row to be terminal.
        let (gateway_done, error) = finals
            .get(name)
            .cloned()
            .unwrap_or((record.done, record.error.clone()));
        let row_terminal = states.get(&job_id).is_some_and(|s| s.terminal());
        if gateway_done != row_terminal {
            report.disagreements += 1;
        }
        if record.done && gateway_done && row_terminal {
            report.terminal += 1;
            match &error {
                None => {
                    report.succeeded += 1;
                    stats.succeeded += 1;
                }
                Some(code) => {
                    report.failed += 1;
                    stats.failed += 1;
                    *errors
                        .entry(format!("{} failed: {code}", record.kind.as_str()))
                        .or_insert(0) += 1;
                }
            }
        } else {
            report.lost += 1;
            stats.lost += 1;
        }
        if let Some(kind) = record.kind.creates() {
            creates.push(CreateOp {
                job_id,
                kind,
                succeeded: gateway_done && error.is_none(),
            });
        }
        accept.extend(record.accept_latency);
        done.extend(record.done_latency);
    }
    report.jobs_total = jobs.len();
    report.jobs_unfinished = jobs.iter().filter(|j| !j.state.terminal()).count();
    let submitted: Vec<Submission<'_>> = records
        .iter()
        .map(|r| Submission {
            caller: CALLER,
            method: r.kind.grpc_method(),
            request_id: &r.request_id,
            answered_job: r.job_id(),
        })
        .collect();
    report.jobs = analysis::check_jobs(&submitted, jobs);
    report.once = analysis::check_once(&creates, tagged);
    report.orphans = analysis::check_orphans(tagged, jobs);
    report.errors = errors;
    accept.sort();
    done.sort();
    report.accept_p50 = analysis::quantile(&accept, 0.5);
    report.accept_p99 = analysis::quantile(&accept, 0.99);
    report.done_p50 = analysis::quantile(&done, 0.5);
    report.done_p99 = analysis::quantile(&done, 0.99);
    report.done_max = done.last().copied();
    report
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::driver::OpKind;

    fn record(index: usize, kind: OpKind, name: Option<&str>) -> OpRecord {
        OpRecord {
            index,
            kind,
            zone: "fr-par-1".into(),
            submit_attempts: 1,
            request_id: format!("r{index}"),
            name: name.map(str::to_owned),
            refused: name.is_none().then(|| Refusal::Definite {
                code: tonic::Code::InvalidArgument,
                reason: "INVALID_ARGUMENT".to_owned(),
            }),
            done: name.is_some(),
            error: None,
            accept_latency: Some(Duration::from_millis(10)),
            done_latency: Some(Duration::from_secs(2)),
        }
    }

    fn row(id: i64, state: &str, kind: OpKind, request_id: &str) -> JobRow {
        JobRow {
            id,
            state: JobState::parse(state),
            caller: CALLER.into(),
            request_id: Some(request_id.into()),
            method: Some(kind.grpc_method().into()),
        }
    }

    fn config(ops: usize) -> ChaosConfig {
        ChaosConfig {
            ops,
            ..ChaosConfig::default()
        }
    }

    #[test]
    fn accounting_of_terminal_lost_and_refused() {
        let records = [
            record(0, OpKind::CreateServer, Some("operations/1")),
            record(1, OpKind::CreateServer, Some("operations/2")),
            record(2, OpKind::PowerOff, Some("operations/3")),
            record(3, OpKind::Reboot, None),
            record(4, OpKind::CreateSnapshot, Some("operations/5")),
        ];
        let finals = HashMap::from([
            ("operations/1".to_owned(), (true, None)),
            (
                "operations/2".to_owned(),
                (true, Some("FailedPrecondition".to_owned())),
            ),
            ("operations/3".to_owned(), (false, None)),
            ("operations/5".to_owned(), (true, None)),
        ]);
        let jobs = [
            row(1, "completed", OpKind::CreateServer, "r0"),
            row(2, "failed", OpKind::CreateServer, "r1"),
            row(3, "running", OpKind::PowerOff, "r2"),
            row(5, "retryable", OpKind::CreateSnapshot, "r4"),
        ];
        let tagged = HashMap::from([(("server", 1), 1), (("server", 2), 1), (("snapshot", 5), 2)]);
        let report = assemble(&config(5), &records, &finals, &jobs, &tagged);
        assert_eq!(report.ops, 4);
        assert_eq!(report.rejected, 1);
        assert_eq!(report.given_up, 0);
        assert_eq!(report.terminal, 2);
        assert_eq!(report.lost, 2);
        assert_eq!(report.disagreements, 1);
        assert_eq!((report.succeeded, report.failed), (1, 1));
        assert_eq!(report.once.duplicates, 1);
        // The failed create's server and the unfinished snapshot job's two snapshots.
        assert_eq!(report.orphans.orphans, 3);
        assert_eq!(report.jobs.duplicate_jobs, 0, "{:?}", report.jobs.examples);
        assert_eq!(report.jobs_unfinished, 2);
        assert!(!report.passed());
        assert_eq!(report.by_kind["create_server"].accepted, 2);
        assert_eq!(truncate("abcdef", 3), "abc…");
    }

    #[test]
    fn an_operation_the_caller_gave_up_on_is_lost_not_refused() {
        // Test doubles of the driver giving up: submission out of time on UNAVAILABLE (the
        // old harness counted it "refused"), and a waiter that stopped at the deadline though
        // the job finished later.
        let mut gave_up = record(0, OpKind::CreateServer, None);
        gave_up.refused = Some(Refusal::GaveUp {
            last: "Unavailable: gateway down".into(),
        });
        let mut stopped_waiting = record(1, OpKind::Reboot, Some("operations/7"));
        stopped_waiting.done = false;
        let finals = HashMap::from([("operations/7".to_owned(), (true, None))]);
        let jobs = [
            row(6, "completed", OpKind::CreateServer, "r0"),
            row(7, "completed", OpKind::Reboot, "r1"),
        ];
        let report = assemble(
            &config(2),
            &[gave_up, stopped_waiting],
            &finals,
            &jobs,
            &HashMap::from([(("server", 6), 1)]),
        );
        assert_eq!((report.lost, report.given_up, report.rejected), (2, 1, 0));
        assert!(!report.passed());
        assert!(
            report
                .errors
                .keys()
                .any(|k| k.starts_with("gave up after Unavailable"))
        );

        // A definite refusal behind which a job was made anyway is lost too; a missing
        // record (its task died) as well.
        let refused = record(0, OpKind::CreateServer, None);
        let jobs = [row(6, "completed", OpKind::CreateServer, "r0")];
        let report = assemble(
            &config(2),
            &[refused],
            &HashMap::new(),
            &jobs,
            &HashMap::new(),
        );
        assert_eq!((report.lost, report.rejected), (2, 0));

        // A plain definite refusal is not lost.
        let refused = record(0, OpKind::CreateServer, None);
        let report = assemble(
            &config(1),
            &[refused],
            &HashMap::new(),
            &[],
            &HashMap::new(),
        );
        assert_eq!((report.lost, report.rejected), (0, 1));
        assert!(report.passed());
    }
}
