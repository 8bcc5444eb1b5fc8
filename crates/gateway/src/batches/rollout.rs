//! The rollout policy: its limits resolved against the selection, its waves, and which
//! pending children may start now.

use std::collections::{BTreeMap, VecDeque};

use fleet_proto::v1;
use serde::{Deserialize, Serialize};

use super::{ChildOutcome, ChildRow};
use crate::errors::GatewayError;
/// The policy's limits resolved against the selection's size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub max_in_flight: u32,
    pub max_failures: u32,
    /// Each zone's resolved `max_in_flight_per_zone`; empty when only the overall limit
    /// applies.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub zone_in_flight: BTreeMap<String, u32>,
    /// Children of the canary wave (the first ones in selection order); 0: one wave.
    #[serde(default)]
    pub canary: u32,
}

/// Default `max_in_flight`: 10% of the selection.
const DEFAULT_IN_FLIGHT_PERCENT: u32 = 10;

/// How a percentage of a selection is rounded.
#[derive(Debug, Clone, Copy)]
enum Rounding {
    /// Up, and at least 1 (a limit that lets work start).
    UpAtLeastOne,
    /// Down (a tolerance).
    Down,
}

/// One limit of the policy, its form checked: a count (at least `min_count`) or 1–100%.
#[derive(Debug, Clone, Copy)]
enum Share {
    Count(u32),
    Percent(u32),
}

impl Share {
    fn parse(
        field: &str,
        limit: Option<&v1::RolloutLimit>,
        min_count: u32,
    ) -> Result<Option<Self>, GatewayError> {
        use v1::rollout_limit::Limit;
        match limit.and_then(|l| l.limit) {
            None => Ok(None),
            Some(Limit::Percent(p)) if !(1..=100).contains(&p) => Err(GatewayError::invalid(
                field,
                format!("percent must be 1 to 100; got {p}"),
            )),
            Some(Limit::Percent(p)) => Ok(Some(Self::Percent(p))),
            Some(Limit::Count(n)) if n < min_count => Err(GatewayError::invalid(
                field,
                format!("count must be at least {min_count}; got {n}"),
            )),
            Some(Limit::Count(n)) => Ok(Some(Self::Count(n))),
        }
    }

    /// The share of `of` children.
    fn of(self, of: u32, rounding: Rounding) -> u32 {
        match self {
            Self::Count(n) => n,
            Self::Percent(p) => {
                let product = u64::from(p) * u64::from(of);
                let value = match rounding {
                    Rounding::UpAtLeastOne => product.div_ceil(100).max(1),
                    Rounding::Down => product / 100,
                };
                u32::try_from(value).unwrap_or(u32::MAX)
            }
        }
    }
}

impl Limits {
    /// Resolves `policy` for a selection of `zone_sizes` children per zone: percentages of
    /// the selection (of the zone's share for `max_in_flight_per_zone`), rounded up (at least
    /// 1) for the limits that let children start and down for `max_failures`.
    pub fn resolve(
        policy: Option<&v1::RolloutPolicy>,
        zone_sizes: &BTreeMap<String, u32>,
    ) -> Result<Self, GatewayError> {
        let in_flight = Share::parse(
            "policy.max_in_flight",
            policy.and_then(|p| p.max_in_flight.as_ref()),
            1,
        )?;
        let failures = Share::parse(
            "policy.max_failures",
            policy.and_then(|p| p.max_failures.as_ref()),
            0,
        )?;
        let per_zone = Share::parse(
            "policy.max_in_flight_per_zone",
            policy.and_then(|p| p.max_in_flight_per_zone.as_ref()),
            1,
        )?;
        let canary = Share::parse("policy.canary", policy.and_then(|p| p.canary.as_ref()), 1)?;
        let selected = zone_sizes
            .values()
            .fold(0u32, |sum, n| sum.saturating_add(*n));
        Ok(Self {
            max_in_flight: in_flight
                .unwrap_or(Share::Percent(DEFAULT_IN_FLIGHT_PERCENT))
                .of(selected, Rounding::UpAtLeastOne),
            max_failures: failures.map_or(0, |f| f.of(selected, Rounding::Down)),
            zone_in_flight: per_zone
                .map(|share| {
                    zone_sizes
                        .iter()
                        .map(|(zone, n)| (zone.clone(), share.of(*n, Rounding::UpAtLeastOne)))
                        .collect()
                })
                .unwrap_or_default(),
            canary: canary.map_or(0, |c| c.of(selected, Rounding::UpAtLeastOne).min(selected)),
        })
    }

    /// Checks the policy's form, which does not depend on the selection.
    pub fn check(policy: Option<&v1::RolloutPolicy>) -> Result<(), GatewayError> {
        Self::resolve(policy, &BTreeMap::from([(String::new(), 1)])).map(|_| ())
    }

    /// The most children of `zone` in flight at once (the overall limit without a zone one).
    pub fn zone_limit(&self, zone: &str) -> u32 {
        self.zone_in_flight
            .get(zone)
            .copied()
            .unwrap_or(self.max_in_flight)
    }
}

/// The waves of a batch with a canary: the canary wave's children, then the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wave {
    Canary,
    Rest,
}

impl Wave {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Canary => "canary",
            Self::Rest => "rest",
        }
    }

    /// The wave now current, derived from the children (none without a canary): the canary
    /// until each of its children has finished, then the rest.
    pub fn current(limits: &Limits, children: &[ChildRow]) -> Option<Self> {
        if limits.canary == 0 {
            return None;
        }
        let canary_open = children
            .iter()
            .filter(|c| Self::of(limits, c) == Self::Canary)
            .any(|c| !c.outcome.is_finished());
        Some(if canary_open {
            Self::Canary
        } else {
            Self::Rest
        })
    }

    /// The wave child `child` belongs to (with a canary).
    pub fn of(limits: &Limits, child: &ChildRow) -> Self {
        if u32::try_from(child.position).unwrap_or(u32::MAX) < limits.canary {
            Self::Canary
        } else {
            Self::Rest
        }
    }
}

/// The children to start now: pending ones of the current wave, as many as `max_in_flight`
/// leaves room for overall and each zone's limit leaves in its zone, the zones taking turns
/// (the one with the fewest in flight first), each zone's children in selection order.
/// The selection is grouped by zone, so filling the room in selection order would keep one or
/// two zones busy at their rate budget while the others wait. A child of a full zone is passed
/// over (it waits without holding a slot).
pub fn children_to_start<'a>(limits: &Limits, children: &'a [ChildRow]) -> Vec<&'a ChildRow> {
    let wave = Wave::current(limits, children);
    let mut in_flight: BTreeMap<&str, u32> = BTreeMap::new();
    for child in children {
        if child.outcome == ChildOutcome::InFlight {
            *in_flight.entry(child.zone.as_str()).or_default() += 1;
        }
    }
    let mut room = limits
        .max_in_flight
        .saturating_sub(in_flight.values().sum::<u32>());
    // Each zone's candidates, zones in the order their first child appears in the selection.
    let mut queues: Vec<(&str, VecDeque<&ChildRow>)> = Vec::new();
    for child in children {
        let in_wave = wave.is_none_or(|w| w == Wave::Rest || Wave::of(limits, child) == w);
        if child.outcome != ChildOutcome::Pending || !in_wave {
            continue;
        }
        match queues.iter_mut().find(|(zone, _)| *zone == child.zone) {
            Some((_, queue)) => queue.push_back(child),
            None => queues.push((child.zone.as_str(), VecDeque::from([child]))),
        }
    }
    let mut starting = Vec::new();
    while room > 0 {
        // The zone with room and the fewest children in flight goes next (the first in
        // selection order on a tie), so room freed in one tick goes where work is thinnest.
        let next = queues
            .iter_mut()
            .filter(|(zone, queue)| {
                !queue.is_empty()
                    && in_flight.get(zone).copied().unwrap_or(0) < limits.zone_limit(zone)
            })
            .min_by_key(|(zone, _)| in_flight.get(zone).copied().unwrap_or(0));
        let Some((zone, queue)) = next else {
            break;
        };
        let Some(child) = queue.pop_front() else {
            break;
        };
        *in_flight.entry(*zone).or_default() += 1;
        room -= 1;
        starting.push(child);
    }
    starting
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batches::ChildRow;

    use v1::rollout_limit::Limit::{self, Count, Percent};

    fn limit(l: Limit) -> Option<v1::RolloutLimit> {
        Some(v1::RolloutLimit { limit: Some(l) })
    }

    fn policy(in_flight: Limit, failures: Limit) -> v1::RolloutPolicy {
        v1::RolloutPolicy {
            max_in_flight: limit(in_flight),
            max_failures: limit(failures),
            ..Default::default()
        }
    }

    fn one_zone(n: u32) -> BTreeMap<String, u32> {
        BTreeMap::from([("fr-par-1".to_owned(), n)])
    }

    #[test]
    fn percentages_round_up_for_in_flight_and_down_for_failures() {
        let limits =
            Limits::resolve(Some(&policy(Percent(25), Percent(5))), &one_zone(10)).unwrap();
        assert_eq!((limits.max_in_flight, limits.max_failures), (3, 0));
        assert!(limits.zone_in_flight.is_empty() && limits.canary == 0);
        let limits = Limits::resolve(Some(&policy(Count(4), Count(2))), &one_zone(10)).unwrap();
        assert_eq!((limits.max_in_flight, limits.max_failures), (4, 2));
        // Unset: 10% (at least one) in flight, no failure tolerated.
        let limits = Limits::resolve(None, &one_zone(3)).unwrap();
        assert_eq!((limits.max_in_flight, limits.max_failures), (1, 0));
        let refused = |p: &v1::RolloutPolicy| Limits::resolve(Some(p), &one_zone(3)).unwrap_err();
        assert!(
            refused(&policy(Percent(0), Count(0)))
                .to_string()
                .contains("percent")
        );
        assert!(
            refused(&policy(Count(0), Count(0)))
                .to_string()
                .contains("at least 1")
        );
        refused(&policy(Count(1), Percent(101)));
        let mut zero_canary = policy(Count(1), Count(0));
        zero_canary.canary = limit(Count(0));
        refused(&zero_canary);
        let mut zero_zone = policy(Count(1), Count(0));
        zero_zone.max_in_flight_per_zone = limit(Percent(0));
        refused(&zero_zone);
    }

    #[test]
    fn zone_limits_are_shares_of_each_zone_and_the_canary_of_the_selection() {
        let sizes = BTreeMap::from([("fr-par-1".to_owned(), 10), ("nl-ams-1".to_owned(), 3)]);
        let mut p = policy(Count(6), Count(1));
        p.max_in_flight_per_zone = limit(Percent(20));
        p.canary = limit(Percent(10));
        let limits = Limits::resolve(Some(&p), &sizes).unwrap();
        assert_eq!(
            limits.zone_in_flight,
            BTreeMap::from([("fr-par-1".to_owned(), 2), ("nl-ams-1".to_owned(), 1)])
        );
        assert_eq!(
            (limits.zone_limit("fr-par-1"), limits.zone_limit("pl-waw-1")),
            (2, 6)
        );
        // 10% of 13, rounded up.
        assert_eq!(limits.canary, 2);
        // A canary larger than the selection is the whole selection.
        p.canary = limit(Count(50));
        assert_eq!(Limits::resolve(Some(&p), &sizes).unwrap().canary, 13);
        // Stored specs of before these fields still decode.
        let old: Limits =
            serde_json::from_value(serde_json::json!({"max_in_flight": 2, "max_failures": 0}))
                .unwrap();
        assert_eq!((old.canary, old.zone_in_flight.len()), (0, 0));
    }

    fn child(position: i32, zone: &str, outcome: ChildOutcome) -> ChildRow {
        ChildRow {
            position,
            zone: zone.to_owned(),
            target: crate::batches::ChildTarget::Server(format!("s{position}")),
            project: None,
            name: String::new(),
            state: String::new(),
            job_id: None,
            outcome,
            error: None,
        }
    }

    fn positions(starting: &[&ChildRow]) -> Vec<i32> {
        starting.iter().map(|c| c.position).collect()
    }

    #[test]
    fn children_start_within_the_overall_and_each_zone_limit_in_selection_order() {
        use ChildOutcome::{InFlight, Pending, Succeeded};
        let limits = Limits {
            max_in_flight: 3,
            max_failures: 0,
            zone_in_flight: BTreeMap::from([("a".to_owned(), 1), ("b".to_owned(), 2)]),
            canary: 0,
        };
        let children = vec![
            child(0, "a", InFlight),
            child(1, "a", Pending),
            child(2, "b", Pending),
            child(3, "a", Pending),
            child(4, "b", Pending),
            child(5, "b", Pending),
        ];
        // Zone a is full: its children wait, zone b's behind them start, up to 3 overall.
        assert_eq!(positions(&children_to_start(&limits, &children)), [2, 4]);
        let mut children = children;
        children[0].outcome = Succeeded;
        // The zones take turns: a, b, then b again (a is full at 1).
        assert_eq!(positions(&children_to_start(&limits, &children)), [1, 2, 4]);
        // Without zone limits only the overall one holds.
        let overall = Limits {
            zone_in_flight: BTreeMap::new(),
            ..limits
        };
        assert_eq!(
            positions(&children_to_start(&overall, &children)),
            [1, 2, 3]
        );
    }

    #[test]
    fn zones_take_turns_so_every_zone_works_at_once() {
        use ChildOutcome::{InFlight, Pending};
        let limits = Limits {
            max_in_flight: 5,
            max_failures: 0,
            zone_in_flight: BTreeMap::new(),
            canary: 0,
        };
        // Grouped by zone, as a resolved selection is.
        let mut children: Vec<ChildRow> = (0..4)
            .map(|i| child(i, "a", Pending))
            .chain((4..8).map(|i| child(i, "b", Pending)))
            .chain((8..10).map(|i| child(i, "c", Pending)))
            .collect();
        assert_eq!(
            positions(&children_to_start(&limits, &children)),
            [0, 4, 8, 1, 5]
        );
        // Room goes to the zone with the fewest in flight, not back to the first zone.
        for position in [0, 4, 8, 1] {
            children[position].outcome = InFlight;
        }
        assert_eq!(positions(&children_to_start(&limits, &children)), [5]);
    }

    #[test]
    fn the_rest_waits_until_the_canary_wave_has_finished() {
        use ChildOutcome::{Failed, InFlight, Pending, Succeeded};
        let limits = Limits {
            max_in_flight: 10,
            max_failures: 1,
            zone_in_flight: BTreeMap::new(),
            canary: 2,
        };
        let mut children: Vec<ChildRow> = (0..5).map(|i| child(i, "a", Pending)).collect();
        assert_eq!(Wave::current(&limits, &children), Some(Wave::Canary));
        assert_eq!(positions(&children_to_start(&limits, &children)), [0, 1]);
        children[0].outcome = Succeeded;
        children[1].outcome = InFlight;
        assert_eq!(Wave::current(&limits, &children), Some(Wave::Canary));
        assert!(children_to_start(&limits, &children).is_empty());
        children[1].outcome = Failed;
        assert_eq!(Wave::current(&limits, &children), Some(Wave::Rest));
        assert_eq!(positions(&children_to_start(&limits, &children)), [2, 3, 4]);
        let one_wave = Limits {
            canary: 0,
            ..limits
        };
        assert_eq!(Wave::current(&one_wave, &children), None);
    }
}
