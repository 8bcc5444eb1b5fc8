//! The end-of-run checks, as pure functions over what was recorded, so each can be tested
//! on hand-made histories.

use std::collections::{BTreeMap, HashMap};
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

/// Result of the one-owner-per-zone check (promise 4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerCheck {
    /// Calls made under a lease epoch older than one already seen calling that zone, or under
    /// an epoch already used by another worker.
    pub double_owner_calls: usize,
    /// Calls attributed to a (zone, epoch).
    pub attributed_calls: usize,
    /// Worker calls whose caller header is not `{worker}/{epoch}`.
    pub malformed_callers: usize,
    /// Distinct (zone, epoch) pairs seen.
    pub epochs: usize,
    /// Up to ten offending calls, for the report.
    pub examples: Vec<String>,
}

/// Per zone, in arrival order: a call whose epoch is below the highest epoch seen so far in
/// that zone came from a superseded owner after its successor had started calling. Calls
/// without a caller header are the harness's own and are ignored.
pub fn check_owners(calls: &[Call]) -> OwnerCheck {
    let mut by_zone: BTreeMap<&str, Vec<&Call>> = BTreeMap::new();
    let mut check = OwnerCheck::default();
    for call in calls {
        if call.caller.is_none() {
            continue;
        }
        let Some(zone) = call.zone.as_deref() else {
            continue;
        };
        if call.owner().is_none() {
            check.malformed_callers += 1;
            continue;
        }
        by_zone.entry(zone).or_default().push(call);
    }
    for (zone, mut calls) in by_zone {
        calls.sort_by_key(|c| c.at);
        let mut epoch_owner: HashMap<i64, &str> = HashMap::new();
        let mut highest: Option<i64> = None;
        for call in calls {
            let Some((worker, epoch)) = call.owner() else {
                continue;
            };
            check.attributed_calls += 1;
            let owner = *epoch_owner.entry(epoch).or_insert(worker);
            let stale = highest.is_some_and(|h| epoch < h);
            let shared = owner != worker;
            if stale || shared {
                check.double_owner_calls += 1;
                if check.examples.len() < 10 {
                    let why = if stale {
                        format!("epoch {epoch} after epoch {}", highest.unwrap_or_default())
                    } else {
                        format!("epoch {epoch} also used by {owner}")
                    };
                    check.examples.push(format!(
                        "{zone}: {} {} by {worker} at {}: {why}",
                        call.method,
                        call.path,
                        rfc3339(call.at)
                    ));
                }
            }
            highest = Some(highest.map_or(epoch, |h| h.max(epoch)));
        }
        check.epochs += epoch_owner.len();
    }
    check
}

/// A lease row as the harness's poller saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSighting {
    pub at: SystemTime,
    pub zone: String,
    pub owner: String,
    pub epoch: i64,
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
    /// Kill → first sign of a new owner (its lease row or its first call); `None` when no
    /// new owner was ever seen.
    pub after: Option<Duration>,
    /// Kill → first call by the new owner, when it made one.
    pub first_call_after: Option<Duration>,
}

/// Failover of every zone of every killed worker (promise 4's bounded failover).
pub fn failovers(kills: &[WorkerKill], leases: &[LeaseSighting], calls: &[Call]) -> Vec<Failover> {
    let mut out = Vec::new();
    for kill in kills {
        for zone in &kill.zones {
            let since = |t: SystemTime| t.duration_since(kill.at).ok();
            let first_lease = leases
                .iter()
                .filter(|l| &l.zone == zone && l.owner != kill.worker_id && l.at >= kill.at)
                .filter_map(|l| since(l.at))
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

    #[test]
    fn handover_in_order_is_clean() {
        let calls = [
            call(0, "fr-par-1", Some("w1-1/1")),
            call(10, "fr-par-1", Some("w1-1/1")),
            call(20, "fr-par-1", Some("w2-1/2")),
            call(5, "nl-ams-1", Some("w2-1/7")),
            call(25, "fr-par-1", None),
        ];
        let check = check_owners(&calls);
        assert_eq!(check.double_owner_calls, 0, "{:?}", check.examples);
        assert_eq!(check.attributed_calls, 4);
        assert_eq!(check.epochs, 3);
    }

    #[test]
    fn a_superseded_owner_calling_late_is_counted_per_call() {
        // Out of order in the log on purpose: the check sorts by arrival time.
        let calls = [
            call(30, "fr-par-1", Some("w1-1/1")),
            call(20, "fr-par-1", Some("w2-1/2")),
            call(0, "fr-par-1", Some("w1-1/1")),
            call(40, "fr-par-1", Some("w1-1/1")),
            call(41, "nl-ams-1", Some("w1-1/1")),
        ];
        let check = check_owners(&calls);
        assert_eq!(check.double_owner_calls, 2);
        assert!(check.examples[0].contains("epoch 1 after epoch 2"));
    }

    #[test]
    fn one_epoch_used_by_two_workers_is_counted() {
        let calls = [
            call(0, "fr-par-1", Some("w1-1/3")),
            call(1, "fr-par-1", Some("w2-1/3")),
            call(2, "fr-par-1", Some("garbage")),
        ];
        let check = check_owners(&calls);
        assert_eq!(check.double_owner_calls, 1);
        assert_eq!(check.malformed_callers, 1);
    }

    #[test]
    fn failover_takes_the_first_sign_of_a_new_owner() {
        let kill = WorkerKill {
            at: t(1000),
            worker_id: "w1-1".into(),
            zones: vec!["fr-par-1".into(), "nl-ams-1".into(), "pl-waw-1".into()],
        };
        let leases = [
            LeaseSighting {
                at: t(900),
                zone: "fr-par-1".into(),
                owner: "w2-1".into(),
                epoch: 1,
            },
            LeaseSighting {
                at: t(3500),
                zone: "fr-par-1".into(),
                owner: "w2-1".into(),
                epoch: 5,
            },
            LeaseSighting {
                at: t(3000),
                zone: "nl-ams-1".into(),
                owner: "w1-1".into(),
                epoch: 5,
            },
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
