//! The outcome of a run: the summary table and the one-line verdict.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::analysis::{Failover, JobCheck, OnceCheck, OrphanCheck, OwnerCheck};
use crate::batches::BatchCheck;
use crate::policies::PolicyCheck;
use crate::procs::UnexpectedExit;

/// Per operation kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindStats {
    pub accepted: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub lost: usize,
    pub rejected: usize,
}

/// Everything a run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub seed: u64,
    pub planned_ops: usize,
    /// Operations the gateway accepted (answered with an Operation).
    pub ops: usize,
    /// Operations the gateway refused definitely (a documented refusal: nothing accepted).
    pub rejected: usize,
    /// Operations the caller gave up submitting (no definite answer): counted in `lost`.
    pub given_up: usize,
    /// Accepted operations done per GetOperation and terminal in the jobs table.
    pub terminal: usize,
    /// Operations not seen done by the waiting caller and terminal in the jobs table, plus
    /// those given up on, plus definite refusals that still made a job.
    pub lost: usize,
    pub succeeded: usize,
    pub failed: usize,
    /// Accepted operations whose first call did not get an answer, so the same request_id
    /// was sent again.
    pub resubmitted: usize,
    /// Accepted operations whose gateway view (done) and jobs row (terminal) disagree.
    pub disagreements: usize,
    pub jobs_total: usize,
    /// Jobs rows not terminal at the end (including jobs of calls the harness gave up on).
    pub jobs_unfinished: usize,
    pub once: OnceCheck,
    /// One job per (caller, method, request_id).
    pub jobs: JobCheck,
    /// Tagged resources upstream that no completed job accounts for.
    pub orphans: OrphanCheck,
    /// Every batch ended, each child ran once, outcomes and counts agree with the jobs.
    pub batches: BatchCheck,
    /// The snapshot policy: each slot once, none lost, runs and batches ended, one snapshot
    /// per volume per slot.
    pub policies: PolicyCheck,
    pub owners: OwnerCheck,
    pub failovers: Vec<Failover>,
    pub max_failover: Option<Duration>,
    /// A killed owner's zone must have a new owner within this.
    pub failover_bound: Duration,
    /// Zones not re-owned within `failover_bound` (or never).
    pub late_failovers: usize,
    /// (offset from the start of the drive, process, worker id).
    pub kills: Vec<(Duration, String, Option<String>)>,
    /// How long each Postgres restart took.
    pub pg_restarts: Vec<Duration>,
    /// (offset, storm preset, zones).
    pub storms: Vec<(Duration, String, String)>,
    pub unexpected_exits: Vec<UnexpectedExit>,
    pub by_kind: BTreeMap<&'static str, KindStats>,
    /// Error codes of failed operations and reasons of refusals, with counts.
    pub errors: BTreeMap<String, usize>,
    pub accept_p50: Option<Duration>,
    pub accept_p99: Option<Duration>,
    pub done_p50: Option<Duration>,
    pub done_p99: Option<Duration>,
    pub done_max: Option<Duration>,
    pub calls_total: usize,
    pub elapsed: Duration,
    /// Where the process logs were kept (`None`: removed after a passing run).
    pub log_dir: Option<PathBuf>,
}

impl Report {
    /// The promises held: nothing lost, nothing created twice (upstream or as a job), no
    /// successful create without its resource, no orphan resource, no call outside its
    /// epoch's lease, every killed owner's zone re-owned in time, no process died unplanned,
    /// every batch and the policy kept their promises.
    pub fn passed(&self) -> bool {
        self.lost == 0
            && self.once.duplicates == 0
            && self.once.missing == 0
            && self.jobs.duplicate_jobs == 0
            && self.orphans.orphans == 0
            && self.batches.faults.is_empty()
            && self.policies.faults.is_empty()
            && self.owners.double_owner_calls == 0
            && self.late_failovers == 0
            && self.unexpected_exits.is_empty()
    }

    /// The last line of the output.
    pub fn summary_line(&self) -> String {
        // A zone never re-owned has no failover time: say so rather than drop it.
        let failover = if self.failovers.iter().any(|f| f.after.is_none()) {
            "never".to_owned()
        } else {
            self.max_failover
                .map_or_else(|| "n/a".to_owned(), |d| format!("{:.2}", d.as_secs_f64()))
        };
        format!(
            "ops={} terminal={} lost={} duplicates={} double_owner_calls={} duplicate_jobs={} \
             unexpected_exits={} orphans={} batches={} batch_faults={} policy_slots={} \
             policy_faults={} max_failover_s={failover}",
            self.ops,
            self.terminal,
            self.lost,
            self.once.duplicates,
            self.owners.double_owner_calls,
            self.jobs.duplicate_jobs,
            self.unexpected_exits.len(),
            self.orphans.orphans,
            self.batches.batches,
            self.batches.faults.len(),
            self.policies.slots,
            self.policies.faults.len(),
        )
    }

    /// The human summary printed before the last line.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let ms = |d: Option<Duration>| {
            d.map_or_else(|| "-".to_owned(), |d| format!("{:.2}s", d.as_secs_f64()))
        };
        let _ = writeln!(
            out,
            "fleet-chaos summary (seed {}, {:.0}s)",
            self.seed,
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(out, "{:-<72}", "");
        let rows: Vec<(&str, String)> = vec![
            ("operations planned", self.planned_ops.to_string()),
            ("accepted (Operation returned)", self.ops.to_string()),
            (
                "refused by the gateway (definite)",
                self.rejected.to_string(),
            ),
            ("given up by the caller (lost)", self.given_up.to_string()),
            (
                "accepted after a resubmission",
                self.resubmitted.to_string(),
            ),
            (
                "terminal (gateway done + job row terminal)",
                self.terminal.to_string(),
            ),
            (
                "  succeeded / failed",
                format!("{} / {}", self.succeeded, self.failed),
            ),
            ("lost", self.lost.to_string()),
            ("gateway/jobs disagreements", self.disagreements.to_string()),
            (
                "jobs rows / unfinished",
                format!("{} / {}", self.jobs_total, self.jobs_unfinished),
            ),
            ("duplicate jobs", self.jobs.duplicate_jobs.to_string()),
            ("creates checked upstream", self.once.checked.to_string()),
            ("duplicate resources", self.once.duplicates.to_string()),
            (
                "succeeded creates without resource",
                self.once.missing.to_string(),
            ),
            ("orphan resources", self.orphans.orphans.to_string()),
            (
                "batches / children / faults",
                format!(
                    "{} / {} / {}",
                    self.batches.batches,
                    self.batches.children,
                    self.batches.faults.len()
                ),
            ),
            (
                "policy slots / missed / runs / batches",
                format!(
                    "{} / {} / {} / {}",
                    self.policies.slots,
                    self.policies.missed,
                    self.policies.runs,
                    self.policies.batches
                ),
            ),
            (
                "policy snapshots / deleted / faults",
                format!(
                    "{} / {} / {}",
                    self.policies.snapshots,
                    self.policies.deleted,
                    self.policies.faults.len()
                ),
            ),
            ("upstream calls logged", self.calls_total.to_string()),
            (
                "worker calls attributed / epochs",
                format!("{} / {}", self.owners.attributed_calls, self.owners.epochs),
            ),
            (
                "double-owner calls",
                self.owners.double_owner_calls.to_string(),
            ),
            (
                "malformed caller headers",
                self.owners.malformed_callers.to_string(),
            ),
            ("kills (SIGKILL)", self.kills.len().to_string()),
            (
                "postgres immediate restarts",
                self.pg_restarts.len().to_string(),
            ),
            ("fault storms", self.storms.len().to_string()),
            (
                "unexpected process exits",
                self.unexpected_exits.len().to_string(),
            ),
            (
                "zone failovers measured / unseen",
                format!(
                    "{} / {}",
                    self.failovers.iter().filter(|f| f.after.is_some()).count(),
                    self.failovers.iter().filter(|f| f.after.is_none()).count()
                ),
            ),
            ("max failover (kill -> new owner)", ms(self.max_failover)),
            (
                "zones not re-owned within the bound",
                format!(
                    "{} (bound {:.0}s)",
                    self.late_failovers,
                    self.failover_bound.as_secs_f64()
                ),
            ),
            (
                "accept latency p50 / p99",
                format!("{} / {}", ms(self.accept_p50), ms(self.accept_p99)),
            ),
            (
                "done latency p50 / p99 / max",
                format!(
                    "{} / {} / {}",
                    ms(self.done_p50),
                    ms(self.done_p99),
                    ms(self.done_max)
                ),
            ),
        ];
        for (label, value) in rows {
            let _ = writeln!(out, "{label:<44} {value:>26}");
        }
        let _ = writeln!(out, "{:-<72}", "");
        let _ = writeln!(
            out,
            "{:<18}{:>10}{:>11}{:>9}{:>7}{:>9}",
            "kind", "accepted", "succeeded", "failed", "lost", "refused"
        );
        for (kind, s) in &self.by_kind {
            let _ = writeln!(
                out,
                "{kind:<18}{:>10}{:>11}{:>9}{:>7}{:>9}",
                s.accepted, s.succeeded, s.failed, s.lost, s.rejected
            );
        }
        if !self.errors.is_empty() {
            let _ = writeln!(out, "{:-<72}", "");
            let _ = writeln!(out, "failure and refusal reasons:");
            for (reason, n) in &self.errors {
                let _ = writeln!(out, "  {n:>5}  {reason}");
            }
        }
        if !self.kills.is_empty() || !self.pg_restarts.is_empty() || !self.storms.is_empty() {
            let _ = writeln!(out, "{:-<72}", "");
            let _ = writeln!(out, "disruptions:");
            for (at, name, id) in &self.kills {
                let _ = writeln!(
                    out,
                    "  {:>7.1}s  kill {name}{}",
                    at.as_secs_f64(),
                    id.as_deref().map(|i| format!(" ({i})")).unwrap_or_default()
                );
            }
            for (at, name, zones) in &self.storms {
                let _ = writeln!(out, "  {:>7.1}s  storm {name} in {zones}", at.as_secs_f64());
            }
            for d in &self.pg_restarts {
                let _ = writeln!(out, "  postgres restart took {:.2}s", d.as_secs_f64());
            }
        }
        let slow: Vec<&Failover> = {
            let mut f: Vec<&Failover> = self.failovers.iter().collect();
            f.sort_by_key(|f| std::cmp::Reverse(f.after));
            f.into_iter().take(5).collect()
        };
        if !slow.is_empty() {
            let _ = writeln!(out, "slowest zone failovers:");
            for f in slow {
                let _ = writeln!(
                    out,
                    "  {} {}: {} (first call {})",
                    f.worker_id,
                    f.zone,
                    ms(f.after),
                    ms(f.first_call_after)
                );
            }
        }
        for exit in &self.unexpected_exits {
            let _ = writeln!(out, "unexpected exit: {} ({})", exit.name, exit.status);
        }
        for example in self
            .owners
            .examples
            .iter()
            .chain(&self.once.examples)
            .chain(&self.jobs.examples)
            .chain(&self.orphans.examples)
            .chain(&self.batches.faults)
            .chain(&self.policies.faults)
        {
            let _ = writeln!(out, "violation: {example}");
        }
        match &self.log_dir {
            Some(dir) => {
                let _ = writeln!(out, "process logs: {}", dir.display());
            }
            None => {
                let _ = writeln!(out, "process logs: removed (the run passed)");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_is_stable_and_verdict_follows_every_check() {
        let clean = Report {
            ops: 200,
            terminal: 200,
            max_failover: Some(Duration::from_millis(2346)),
            failover_bound: Duration::from_secs(10),
            ..Report::default()
        };
        assert_eq!(
            clean.summary_line(),
            "ops=200 terminal=200 lost=0 duplicates=0 double_owner_calls=0 duplicate_jobs=0 \
             unexpected_exits=0 orphans=0 batches=0 batch_faults=0 policy_slots=0 \
             policy_faults=0 max_failover_s=2.35"
        );
        assert!(clean.passed());
        assert!(clean.table().contains("lost"));
        // Each broken promise alone fails the run.
        type Break = (&'static str, fn(&mut Report));
        let breaks: [Break; 10] = [
            ("lost", |r| r.lost = 1),
            ("duplicates", |r| r.once.duplicates = 1),
            ("missing", |r| r.once.missing = 1),
            ("duplicate_jobs", |r| r.jobs.duplicate_jobs = 1),
            ("orphans", |r| r.orphans.orphans = 1),
            ("batch fault", |r| {
                r.batches.faults.push("batch 1 did not end".into())
            }),
            ("policy fault", |r| {
                r.policies
                    .faults
                    .push("slot 2027-01-15T08:00:10: 2 run jobs [7, 9]".into())
            }),
            ("double_owner_calls", |r| r.owners.double_owner_calls = 1),
            ("late failover", |r| r.late_failovers = 1),
            ("unexpected exit", |r| {
                r.unexpected_exits.push(UnexpectedExit {
                    name: "worker-1".into(),
                    at: std::time::SystemTime::now(),
                    status: "exit code 1".into(),
                });
            }),
        ];
        for (what, break_it) in breaks {
            let mut report = clean.clone();
            break_it(&mut report);
            assert!(!report.passed(), "{what} must fail the run");
        }
        let mut report = clean.clone();
        report.unexpected_exits.push(UnexpectedExit {
            name: "worker-1".into(),
            at: std::time::SystemTime::now(),
            status: "exit code 1".into(),
        });
        assert!(report.summary_line().contains("unexpected_exits=1"));
        let mut report = clean.clone();
        report.policies.slots = 9;
        report
            .policies
            .faults
            .push("slot 2027-01-15T08:00:10: 2 runs [7, 9]".into());
        assert!(
            report
                .summary_line()
                .contains("batch_faults=0 policy_slots=9 policy_faults=1 max_failover_s=")
        );
        assert!(
            report
                .table()
                .contains("violation: slot 2027-01-15T08:00:10: 2 runs")
        );
        let mut report = clean.clone();
        report.max_failover = None;
        assert!(report.summary_line().ends_with("max_failover_s=n/a"));
        report.failovers.push(Failover {
            worker_id: "w1-1".into(),
            zone: "fr-par-1".into(),
            after: None,
            first_call_after: None,
        });
        assert!(report.summary_line().ends_with("max_failover_s=never"));
    }
}
