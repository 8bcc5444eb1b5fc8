//! The end-of-run checks, as pure functions over what was recorded, so each can be tested
//! on hand-made histories.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, SystemTime};

/// One upstream call from the emulator's call log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub at: SystemTime,
    pub method: String,
    pub path: String,
    pub zone: Option<String>,
    pub status: u16,
    /// `X-Fleet-Caller`: `{worker_id}/{lease_epoch}` for worker calls.
    pub caller: Option<String>,
}

impl Call {
    /// The (worker, epoch) of a worker's call.
    pub fn owner(&self) -> Option<(&str, i64)> {
        let (worker, epoch) = self.caller.as_deref()?.rsplit_once('/')?;
        Some((worker, epoch.parse().ok()?))
    }
}

/// One epoch of a zone's lease as recorded (`zone_lease_history`): its owner, from its grant
/// until its expiry as last written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSpan {
    pub zone: String,
    pub epoch: i64,
    pub owner: String,
    pub from: SystemTime,
    pub until: SystemTime,
}

/// Result of the one-owner-per-zone check (promise 4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerCheck {
    /// Worker calls not inside their epoch's recorded lease: no lease recorded for that
    /// (zone, epoch), the epoch held by another worker, or the call arrived before the grant
    /// or at or after the expiry.
    pub double_owner_calls: usize,
    /// Calls attributed to a (zone, epoch).
    pub attributed_calls: usize,
    /// Worker calls whose caller header is not `{worker}/{epoch}`.
    pub malformed_callers: usize,
    /// Distinct (zone, epoch) pairs seen calling.
    pub epochs: usize,
    /// Up to ten offending calls, for the report.
    pub examples: Vec<String>,
}

/// Every worker call must fall inside its epoch's lease: `from <= at < until`, same owner.
/// Since a zone is granted again only once its lease has expired, this also catches a stale
/// owner calling after its expiry before any successor appeared. Calls without a caller
/// header are the harness's own and are ignored.
pub fn check_owners(calls: &[Call], leases: &[LeaseSpan]) -> OwnerCheck {
    let spans: HashMap<(&str, i64), &LeaseSpan> = leases
        .iter()
        .map(|l| ((l.zone.as_str(), l.epoch), l))
        .collect();
    let mut check = OwnerCheck::default();
    let mut seen: HashSet<(&str, i64)> = HashSet::new();
    for call in calls {
        if call.caller.is_none() {
            continue;
        }
        let Some(zone) = call.zone.as_deref() else {
            continue;
        };
        let Some((worker, epoch)) = call.owner() else {
            check.malformed_callers += 1;
            continue;
        };
        check.attributed_calls += 1;
        seen.insert((zone, epoch));
        let why = match spans.get(&(zone, epoch)) {
            None => Some("no lease recorded for this epoch".to_owned()),
            Some(span) if span.owner != worker => Some(format!("epoch held by {}", span.owner)),
            Some(span) if call.at < span.from => Some(format!(
                "before the lease's grant at {}",
                rfc3339(span.from)
            )),
            Some(span) if call.at >= span.until => Some(format!(
                "after the lease expired at {}",
                rfc3339(span.until)
            )),
            Some(_) => None,
        };
        if let Some(why) = why {
            check.double_owner_calls += 1;
            if check.examples.len() < 10 {
                check.examples.push(format!(
                    "{zone}: {} {} by {worker}/{epoch} at {}: {why}",
                    call.method,
                    call.path,
                    rfc3339(call.at)
                ));
            }
        }
    }
    check.epochs = seen.len();
    check
}

/// One row of the jobs table, with the gateway method that accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub id: i64,
    pub state: JobState,
    pub caller: String,
    /// The idempotency key (the caller's request_id).
    pub request_id: Option<String>,
    /// `gateway_operations.method`, e.g. `fleet.v1.Servers/CreateServer`.
    pub method: Option<String>,
}

/// A job row's state, as far as the checks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Completed,
    Failed,
    Cancelled,
    /// Scheduled, available, running or retryable.
    Unfinished,
}

impl JobState {
    /// From the `jobs.state` column.
    pub fn parse(state: &str) -> Self {
        match state {
            "completed" => JobState::Completed,
            "failed" => JobState::Failed,
            "cancelled" => JobState::Cancelled,
            _ => JobState::Unfinished,
        }
    }

    pub fn terminal(self) -> bool {
        self != JobState::Unfinished
    }
}

/// What the driver sent, keyed as the gateway deduplicates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission<'a> {
    pub caller: &'a str,
    pub method: &'a str,
    pub request_id: &'a str,
    /// The job the gateway answered with, when it answered.
    pub answered_job: Option<i64>,
}

/// Result of the one-job-per-request check (promise 3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobCheck {
    /// Jobs beyond the first for one (caller, method, request_id), plus jobs whose key the
    /// driver never sent (a resubmission that got a new key), plus answers naming a job of
    /// another key.
    pub duplicate_jobs: usize,
    pub examples: Vec<String>,
}

/// One job per accepted (caller, method, request_id), and every job accounted for.
pub fn check_jobs(submitted: &[Submission<'_>], jobs: &[JobRow]) -> JobCheck {
    type Key<'k> = (&'k str, Option<&'k str>, Option<&'k str>);
    let key_of = |j: &'_ JobRow| -> (String, Option<String>, Option<String>) {
        (j.caller.clone(), j.method.clone(), j.request_id.clone())
    };
    let mut check = JobCheck::default();
    let note = |check: &mut JobCheck, msg: String| {
        check.duplicate_jobs += 1;
        if check.examples.len() < 10 {
            check.examples.push(msg);
        }
    };
    let sent: HashSet<Key<'_>> = submitted
        .iter()
        .map(|s| (s.caller, Some(s.method), Some(s.request_id)))
        .collect();
    let mut by_key: BTreeMap<(String, Option<String>, Option<String>), Vec<i64>> = BTreeMap::new();
    for job in jobs {
        by_key.entry(key_of(job)).or_default().push(job.id);
    }
    let job_key: HashMap<i64, (String, Option<String>, Option<String>)> =
        jobs.iter().map(|j| (j.id, key_of(j))).collect();
    for ((caller, method, request_id), ids) in &by_key {
        let key = (caller.as_str(), method.as_deref(), request_id.as_deref());
        if !sent.contains(&key) {
            for id in ids {
                note(
                    &mut check,
                    format!(
                        "job {id} ({caller}, {method:?}, {request_id:?}) matches no request sent"
                    ),
                );
            }
        } else if ids.len() > 1 {
            for id in &ids[1..] {
                note(
                    &mut check,
                    format!(
                        "job {id}: a second job for ({caller}, {method:?}, {request_id:?}), first {}",
                        ids[0]
                    ),
                );
            }
        }
    }
    for s in submitted {
        let Some(id) = s.answered_job else { continue };
        let expected = (
            s.caller.to_owned(),
            Some(s.method.to_owned()),
            Some(s.request_id.to_owned()),
        );
        if job_key.get(&id) != Some(&expected) {
            note(
                &mut check,
                format!(
                    "request {} was answered with job {id}, which is not its job",
                    s.request_id
                ),
            );
        }
    }
    check
}

/// Result of the orphan check: resources upstream that no completed job accounts for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrphanCheck {
    pub orphans: usize,
    pub examples: Vec<String>,
}

/// `tagged` counts the upstream resources of each kind carrying each job's tag; a resource
/// whose job is unknown or did not complete is an orphan (nobody was told it exists).
pub fn check_orphans(tagged: &HashMap<(&'static str, i64), usize>, jobs: &[JobRow]) -> OrphanCheck {
    let states: HashMap<i64, JobState> = jobs.iter().map(|j| (j.id, j.state)).collect();
    let mut check = OrphanCheck::default();
    let mut keys: Vec<_> = tagged.iter().collect();
    keys.sort();
    for (&(kind, job), &n) in keys {
        let state = states.get(&job).copied();
        if state != Some(JobState::Completed) && n > 0 {
            check.orphans += n;
            if check.examples.len() < 10 {
                check.examples.push(format!(
                    "{n} {kind}(s) tagged by job {job}, which is {state:?}"
                ));
            }
        }
    }
    check
}

/// A worker the harness killed, with the zones it held at that moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerKill {
    pub at: SystemTime,
    pub worker_id: String,
    pub zones: Vec<String>,
}

/// How long one zone of a killed worker went without an owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failover {
    pub worker_id: String,
    pub zone: String,
    /// Kill → first sign of a new owner (its recorded grant or its first call); `None` when no
    /// new owner was ever seen.
    pub after: Option<Duration>,
    /// Kill → first call by the new owner, when it made one.
    pub first_call_after: Option<Duration>,
}

/// Failover of every zone of every killed worker (promise 4's bounded failover).
pub fn failovers(kills: &[WorkerKill], leases: &[LeaseSpan], calls: &[Call]) -> Vec<Failover> {
    let mut out = Vec::new();
    for kill in kills {
        for zone in &kill.zones {
            let since = |t: SystemTime| t.duration_since(kill.at).ok();
            let first_lease = leases
                .iter()
                .filter(|l| &l.zone == zone && l.owner != kill.worker_id && l.from >= kill.at)
                .filter_map(|l| since(l.from))
                .min();
            let first_call = calls
                .iter()
                .filter(|c| c.zone.as_deref() == Some(zone.as_str()) && c.at >= kill.at)
                .filter(|c| c.owner().is_some_and(|(w, _)| w != kill.worker_id))
                .filter_map(|c| since(c.at))
                .min();
            let after = match (first_lease, first_call) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            out.push(Failover {
                worker_id: kill.worker_id.clone(),
                zone: zone.clone(),
                after,
                first_call_after: first_call,
            });
        }
    }
    out
}

/// Zones of killed workers not re-owned within `bound` (or never): each fails the run.
pub fn late_failovers(failovers: &[Failover], bound: Duration) -> usize {
    failovers
        .iter()
        .filter(|f| f.after.is_none_or(|after| after > bound))
        .count()
}

/// Result of the effectively-once check (promise 2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OnceCheck {
    /// Resources beyond the first carrying one job's tag.
    pub duplicates: usize,
    /// Successful creates whose resource does not exist.
    pub missing: usize,
    /// Creates checked.
    pub checked: usize,
    /// Up to ten offenders.
    pub examples: Vec<String>,
}

/// A create operation to account for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOp {
    pub job_id: i64,
    pub kind: &'static str,
    pub succeeded: bool,
}

/// `tagged` counts the upstream resources of each kind carrying each job's tag.
pub fn check_once(creates: &[CreateOp], tagged: &HashMap<(&'static str, i64), usize>) -> OnceCheck {
    let mut check = OnceCheck::default();
    for op in creates {
        check.checked += 1;
        let n = tagged.get(&(op.kind, op.job_id)).copied().unwrap_or(0);
        if n > 1 {
            check.duplicates += n - 1;
            if check.examples.len() < 10 {
                check
                    .examples
                    .push(format!("job {} ({}): {n} resources", op.job_id, op.kind));
            }
        } else if n == 0 && op.succeeded {
            check.missing += 1;
            if check.examples.len() < 10 {
                check.examples.push(format!(
                    "job {} ({}) succeeded but no resource carries its tag",
                    op.job_id, op.kind
                ));
            }
        }
    }
    check
}

/// Value at quantile `q` (0..=1) of sorted `values`.
pub fn quantile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let index = ((sorted.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    sorted.get(index).copied()
}

/// Parses the emulator's timestamps (`2026-01-02T03:04:05.123456+00:00`).
pub fn parse_time(s: &str) -> Option<SystemTime> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    Some(SystemTime::from(t))
}

/// Formats a time for the report.
pub fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000) + Duration::from_millis(ms)
    }

    fn call(ms: u64, zone: &str, caller: Option<&str>) -> Call {
        Call {
            at: t(ms),
            method: "GET".into(),
            path: format!("/instance/v1/zones/{zone}/servers"),
            zone: Some(zone.into()),
            status: 200,
            caller: caller.map(str::to_owned),
        }
    }

    fn span(zone: &str, epoch: i64, owner: &str, from: u64, until: u64) -> LeaseSpan {
        LeaseSpan {
            zone: zone.into(),
            epoch,
            owner: owner.into(),
            from: t(from),
            until: t(until),
        }
    }

    fn leases() -> Vec<LeaseSpan> {
        vec![
            span("fr-par-1", 1, "w1-1", 0, 15),
            span("fr-par-1", 2, "w2-1", 18, 100),
            span("nl-ams-1", 7, "w2-1", 0, 100),
        ]
    }

    #[test]
    fn calls_inside_their_leases_are_clean() {
        let calls = [
            call(0, "fr-par-1", Some("w1-1/1")),
            call(10, "fr-par-1", Some("w1-1/1")),
            call(20, "fr-par-1", Some("w2-1/2")),
            call(5, "nl-ams-1", Some("w2-1/7")),
            call(25, "fr-par-1", None),
        ];
        let check = check_owners(&calls, &leases());
        assert_eq!(check.double_owner_calls, 0, "{:?}", check.examples);
        assert_eq!(check.attributed_calls, 4);
        assert_eq!(check.epochs, 3);
    }

    #[test]
    fn a_stale_owner_calling_after_its_expiry_before_any_successor_is_counted() {
        // The test double of a broken fence: w1-1 calls at 16 ms, after its lease expired
        // (15) and before w2-1's grant (18); no successor call came before it, so an
        // order-of-epochs check could not see it.
        let calls = [
            call(10, "fr-par-1", Some("w1-1/1")),
            call(16, "fr-par-1", Some("w1-1/1")),
            call(20, "fr-par-1", Some("w2-1/2")),
        ];
        let check = check_owners(&calls, &leases());
        assert_eq!(check.double_owner_calls, 1, "{:?}", check.examples);
        assert!(check.examples[0].contains("after the lease expired"));
    }

    #[test]
    fn calls_outside_any_recorded_lease_or_under_another_owner_are_counted() {
        let calls = [
            // A superseded owner, late.
            call(30, "fr-par-1", Some("w1-1/1")),
            // Before the grant.
            call(17, "fr-par-1", Some("w2-1/2")),
            // An epoch never granted.
            call(40, "fr-par-1", Some("w3-1/3")),
            // Another worker under someone else's epoch.
            call(41, "nl-ams-1", Some("w1-1/7")),
            call(42, "nl-ams-1", Some("garbage")),
        ];
        let check = check_owners(&calls, &leases());
        assert_eq!(check.double_owner_calls, 4, "{:?}", check.examples);
        assert_eq!(check.malformed_callers, 1);
        assert!(check.examples[1].contains("before the lease's grant"));
        assert!(check.examples[2].contains("no lease recorded"));
        assert!(check.examples[3].contains("epoch held by w2-1"));
    }

    fn job(id: i64, state: JobState, method: &str, request_id: Option<&str>) -> JobRow {
        JobRow {
            id,
            state,
            caller: "chaos".into(),
            request_id: request_id.map(str::to_owned),
            method: Some(method.into()),
        }
    }

    const CREATE: &str = "fleet.v1.Servers/CreateServer";
    const REBOOT: &str = "fleet.v1.ServerActions/RebootServer";

    fn sent<'a>(method: &'a str, request_id: &'a str, job: Option<i64>) -> Submission<'a> {
        Submission {
            caller: "chaos",
            method,
            request_id,
            answered_job: job,
        }
    }

    #[test]
    fn one_job_per_request_is_clean() {
        let jobs = [
            job(1, JobState::Completed, CREATE, Some("a")),
            job(2, JobState::Completed, REBOOT, Some("b")),
            // Accepted behind a caller who gave up: still its own request.
            job(3, JobState::Completed, CREATE, Some("c")),
        ];
        let submitted = [
            sent(CREATE, "a", Some(1)),
            sent(REBOOT, "b", Some(2)),
            sent(CREATE, "c", None),
        ];
        let check = check_jobs(&submitted, &jobs);
        assert_eq!(check.duplicate_jobs, 0, "{:?}", check.examples);
    }

    #[test]
    fn a_resubmission_that_made_a_second_job_is_counted() {
        // Test doubles of a broken dedup: the same key twice (a missing unique index), and a
        // resubmission enqueued without its key (a gateway dropping the request_id), whose
        // job carries a new id that the tag-based resource count could never tie to "a".
        let jobs = [
            job(1, JobState::Completed, CREATE, Some("a")),
            job(2, JobState::Completed, CREATE, Some("a")),
            job(3, JobState::Completed, REBOOT, Some("b")),
            job(4, JobState::Completed, REBOOT, None),
        ];
        let submitted = [sent(CREATE, "a", Some(2)), sent(REBOOT, "b", Some(4))];
        let check = check_jobs(&submitted, &jobs);
        // Job 2 (second for "a"), job 4 (no key), and the answer for "b" naming job 4.
        assert_eq!(check.duplicate_jobs, 3, "{:?}", check.examples);
        // Same request_id under another method is another request, not a duplicate.
        let jobs = [
            job(1, JobState::Completed, CREATE, Some("a")),
            job(2, JobState::Completed, REBOOT, Some("a")),
        ];
        let submitted = [sent(CREATE, "a", Some(1)), sent(REBOOT, "a", Some(2))];
        assert_eq!(check_jobs(&submitted, &jobs).duplicate_jobs, 0);
    }

    #[test]
    fn resources_of_jobs_that_did_not_complete_are_orphans() {
        let jobs = [
            job(1, JobState::Completed, CREATE, Some("a")),
            job(2, JobState::Failed, CREATE, Some("b")),
            job(3, JobState::Unfinished, CREATE, Some("c")),
        ];
        let tagged = HashMap::from([
            (("server", 1), 1),
            (("volume", 1), 1),
            (("server", 2), 1),
            (("server", 3), 0),
            (("server", 9), 2),
        ]);
        let check = check_orphans(&tagged, &jobs);
        assert_eq!(check.orphans, 3, "{:?}", check.examples);
        assert!(check.examples[0].contains("job 2"));
        assert!(check.examples[1].contains("job 9, which is None"));
    }

    #[test]
    fn a_zone_never_re_owned_or_re_owned_late_fails() {
        let f = |after: Option<u64>| Failover {
            worker_id: "w1-1".into(),
            zone: "fr-par-1".into(),
            after: after.map(Duration::from_millis),
            first_call_after: None,
        };
        let bound = Duration::from_secs(10);
        assert_eq!(late_failovers(&[f(Some(2300)), f(Some(10_000))], bound), 0);
        assert_eq!(late_failovers(&[f(Some(2300)), f(None)], bound), 1);
        assert_eq!(late_failovers(&[f(Some(10_001))], bound), 1);
    }

    #[test]
    fn failover_takes_the_first_sign_of_a_new_owner() {
        let kill = WorkerKill {
            at: t(1000),
            worker_id: "w1-1".into(),
            zones: vec!["fr-par-1".into(), "nl-ams-1".into(), "pl-waw-1".into()],
        };
        let leases = [
            span("fr-par-1", 1, "w2-1", 900, 1000),
            span("fr-par-1", 5, "w2-1", 3500, 9000),
            span("nl-ams-1", 5, "w1-1", 3000, 9000),
        ];
        let calls = [
            call(1200, "fr-par-1", Some("w1-1/4")),
            call(3300, "fr-par-1", Some("w3-1/5")),
            call(4000, "nl-ams-1", Some("w1-2/6")),
        ];
        let got = failovers(&[kill], &leases, &calls);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].after, Some(Duration::from_millis(2300)));
        assert_eq!(got[0].first_call_after, Some(Duration::from_millis(2300)));
        assert_eq!(got[1].after, Some(Duration::from_millis(3000)));
        assert_eq!(got[2].after, None);
    }

    #[test]
    fn once_counts_extra_and_missing_resources() {
        let creates = [
            CreateOp {
                job_id: 1,
                kind: "server",
                succeeded: true,
            },
            CreateOp {
                job_id: 2,
                kind: "server",
                succeeded: true,
            },
            CreateOp {
                job_id: 3,
                kind: "snapshot",
                succeeded: true,
            },
            CreateOp {
                job_id: 4,
                kind: "server",
                succeeded: false,
            },
        ];
        let tagged = HashMap::from([(("server", 1), 1), (("server", 2), 3), (("server", 3), 1)]);
        let check = check_once(&creates, &tagged);
        assert_eq!(check.duplicates, 2);
        assert_eq!(check.missing, 1, "{:?}", check.examples);
        assert_eq!(check.checked, 4);
    }

    #[test]
    fn quantiles_and_times() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&v, 0.5), Some(Duration::from_millis(51)));
        assert_eq!(quantile(&v, 1.0), Some(Duration::from_millis(100)));
        assert_eq!(quantile(&[], 0.5), None);
        let at = parse_time("2026-01-02T03:04:05.123456+00:00").unwrap();
        assert_eq!(rfc3339(at), "2026-01-02T03:04:05.123456Z");
    }
}
