//! The chaos timeline: which process is killed when, when Postgres restarts, and when fault
//! storms blow. It is drawn from the seed alone, before anything runs, so a failing run can be
//! replayed with the same disruptions at the same offsets.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde::Serialize;

/// A process the harness may kill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Target {
    Gateway,
    Scheduler,
    /// Worker slot (0-based); each restart runs under a new worker id.
    Worker(usize),
}

impl Target {
    /// The slot name used in logs and the summary.
    pub fn name(self) -> String {
        match self {
            Target::Gateway => "gateway".to_owned(),
            Target::Scheduler => "scheduler".to_owned(),
            Target::Worker(n) => format!("worker{}", n + 1),
        }
    }
}

/// Upstream faults of one storm, in the emulator's `PUT /emulator/v1/faults` shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Storm {
    /// Preset name, for the summary.
    pub name: &'static str,
    pub error_5xx_rate: f64,
    pub rate_429: f64,
    pub retry_after_secs: Option<u64>,
    pub latency_ms: u64,
    pub hang_rate: f64,
    pub hang_for_ms: u64,
    pub reset_rate: f64,
    /// Only these zones are affected (every zone when `None`).
    pub zones: Option<Vec<String>>,
}

/// One disruption.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// SIGKILL the target.
    Kill(Target),
    /// Start the target again (new worker id for workers).
    Restart(Target),
    /// Stop Postgres with an immediate shutdown and start it again.
    PgRestart,
    /// Turn a fault storm on.
    FaultsOn(Storm),
    /// Clear every fault.
    FaultsOff,
}

/// What to plan.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub seed: u64,
    pub duration: Duration,
    pub kills: usize,
    pub pg_restarts: usize,
    pub workers: usize,
    pub storms: bool,
    pub zones: Vec<String>,
}

/// The timeline, sorted by offset from the start of the drive.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub events: Vec<(Duration, Event)>,
}

/// Disruptions happen within this share of the duration, so the last restart is done
/// before the settle phase and every process gets to run the tail of the work.
const WINDOW_START: f64 = 0.05;
const WINDOW_END: f64 = 0.85;

impl Plan {
    /// Draws the timeline.
    pub fn draw(input: &PlanInput) -> Plan {
        let mut rng = StdRng::seed_from_u64(input.seed ^ 0x6368_616f_735f_706c);
        let total = input.duration.as_secs_f64();
        let start = total * WINDOW_START;
        let end = total * WINDOW_END;
        let mut events: Vec<(Duration, Event)> = Vec::new();

        let mut targets = vec![Target::Gateway, Target::Scheduler];
        targets.extend((0..input.workers).map(Target::Worker));
        // Kills are evenly spaced with jitter; the target is drawn among those that are up
        // at that moment, so a process is never killed twice before its restart.
        let mut down_until: Vec<f64> = vec![0.0; targets.len()];
        if input.kills > 0 {
            let slot = (end - start) / input.kills as f64;
            for k in 0..input.kills {
                let at = start + slot * (k as f64 + rng.random_range(0.1..0.6));
                let up: Vec<usize> = (0..targets.len())
                    .filter(|&i| down_until[i] <= at)
                    .collect();
                let index = if up.is_empty() {
                    // Every target is down: take the one back soonest; its kill waits for it.
                    (0..targets.len())
                        .min_by(|&a, &b| down_until[a].total_cmp(&down_until[b]))
                        .unwrap_or(0)
                } else {
                    up[rng.random_range(0..up.len())]
                };
                let at = at.max(down_until[index] + 0.2);
                // Down long enough for the others to notice (a lease TTL or so), not so long
                // that the run is mostly missing a process.
                let down = rng.random_range(0.5..3.0_f64).min(slot.max(0.6) * 0.9);
                down_until[index] = at + down;
                events.push((secs(at), Event::Kill(targets[index])));
                events.push((secs(at + down), Event::Restart(targets[index])));
            }
        }

        if input.pg_restarts > 0 {
            let slot = (end - start) / input.pg_restarts as f64;
            for r in 0..input.pg_restarts {
                let at = start + slot * (r as f64 + rng.random_range(0.3..0.7));
                events.push((secs(at), Event::PgRestart));
            }
        }

        if input.storms {
            // About one storm per 40 s, at least two, each 5-15 s, never overlapping.
            let count = ((total / 40.0).round() as usize).max(2);
            let slot = (end - start) / count as f64;
            for s in 0..count {
                let length = rng.random_range(5.0..15.0_f64).min(slot * 0.8);
                let at = start + slot * s as f64 + rng.random_range(0.0..(slot - length).max(0.01));
                let storm = draw_storm(&mut rng, &input.zones);
                events.push((secs(at), Event::FaultsOn(storm)));
                events.push((secs(at + length), Event::FaultsOff));
            }
        }

        // Stable: at equal offsets the insertion order (kill before its restart) is kept.
        events.sort_by_key(|(at, _)| *at);
        Plan { events }
    }

    /// Count of events matching `f`.
    pub fn count(&self, f: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| f(e)).count()
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

fn draw_storm(rng: &mut StdRng, zones: &[String]) -> Storm {
    let calm = Storm {
        name: "",
        error_5xx_rate: 0.0,
        rate_429: 0.0,
        retry_after_secs: None,
        latency_ms: 0,
        hang_rate: 0.0,
        hang_for_ms: 3000,
        reset_rate: 0.0,
        zones: None,
    };
    let mut storm = match rng.random_range(0..6) {
        0 => Storm {
            name: "5xx",
            error_5xx_rate: 0.3,
            ..calm
        },
        1 => Storm {
            name: "429",
            rate_429: 0.3,
            retry_after_secs: Some(1),
            ..calm
        },
        2 => Storm {
            name: "latency",
            latency_ms: 200,
            ..calm
        },
        3 => Storm {
            name: "hangs",
            hang_rate: 0.05,
            ..calm
        },
        4 => Storm {
            name: "resets",
            reset_rate: 0.1,
            ..calm
        },
        _ => Storm {
            name: "mixed",
            error_5xx_rate: 0.1,
            rate_429: 0.1,
            retry_after_secs: Some(1),
            latency_ms: 50,
            hang_rate: 0.02,
            reset_rate: 0.02,
            ..calm
        },
    };
    // Half the storms hit one zone only: a storm in one zone must not slow the others.
    if !zones.is_empty() && rng.random_bool(0.5) {
        storm.zones = Some(vec![zones[rng.random_range(0..zones.len())].clone()]);
    }
    storm
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(seed: u64) -> PlanInput {
        PlanInput {
            seed,
            duration: Duration::from_secs(120),
            kills: 10,
            pg_restarts: 1,
            workers: 3,
            storms: true,
            zones: vec!["fr-par-1".into(), "nl-ams-1".into()],
        }
    }

    #[test]
    fn same_seed_same_plan_and_counts_hold() {
        let a = Plan::draw(&input(7));
        assert_eq!(a, Plan::draw(&input(7)));
        assert_ne!(a, Plan::draw(&input(8)));
        assert_eq!(a.count(|e| matches!(e, Event::Kill(_))), 10);
        assert_eq!(a.count(|e| matches!(e, Event::Restart(_))), 10);
        assert_eq!(a.count(|e| matches!(e, Event::PgRestart)), 1);
        assert_eq!(
            a.count(|e| matches!(e, Event::FaultsOn(_))),
            a.count(|e| matches!(e, Event::FaultsOff))
        );
        assert!(a.events.windows(2).all(|w| w[0].0 <= w[1].0));
        let end = Duration::from_secs(120);
        assert!(a.events.iter().all(|(at, _)| *at < end));
    }

    #[test]
    fn a_target_is_never_killed_while_down_and_storms_do_not_overlap() {
        for seed in 0..50 {
            let mut input = input(seed);
            input.kills = 50;
            input.duration = Duration::from_secs(300);
            let plan = Plan::draw(&input);
            let mut down = std::collections::HashSet::new();
            let mut storm_on = false;
            for (_, event) in &plan.events {
                match event {
                    Event::Kill(t) => assert!(down.insert(*t), "seed {seed}: {t:?} killed twice"),
                    Event::Restart(t) => assert!(down.remove(t), "seed {seed}: {t:?} not down"),
                    Event::FaultsOn(_) => {
                        assert!(!storm_on, "seed {seed}: overlapping storms");
                        storm_on = true;
                    }
                    Event::FaultsOff => storm_on = false,
                    Event::PgRestart => {}
                }
            }
            assert!(down.is_empty() && !storm_on);
        }
    }

    #[test]
    fn nothing_to_plan_is_an_empty_plan() {
        let plan = Plan::draw(&PlanInput {
            kills: 0,
            pg_restarts: 0,
            storms: false,
            ..input(1)
        });
        assert!(plan.events.is_empty());
    }
}
