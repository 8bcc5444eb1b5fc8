//! Power schedules' periods: when a selection should be on, and the crons of their edges.
//!
//! A period is on from its start time (inclusive) to its stop time (exclusive), local time,
//! on each of its weekdays; a stop at or before the start ends the next day. A run at slot
//! `t` compares "on just before `t`" with "on at `t`": a stop edge that is also another
//! period's start (adjacent periods) changes nothing, so servers are not stopped and
//! restarted.

use chrono::{Datelike, Timelike, Weekday};
use chrono_tz::Tz;
use fleet_proto::v1;
use time::OffsetDateTime;

use crate::errors::GatewayError;

/// A checked period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// Seconds after local midnight.
    pub start: u32,
    pub stop: u32,
    /// The days it starts on (every day when empty).
    pub days: Vec<Weekday>,
}

/// `HH:MM` or `HH:MM:SS` → seconds after midnight.
fn parse_clock(text: &str, field: &str) -> Result<u32, GatewayError> {
    let bad = || {
        GatewayError::invalid(
            field,
            format!("must be a local time HH:MM or HH:MM:SS (00:00 to 23:59:59); got {text:?}"),
        )
    };
    let parts: Vec<&str> = text.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
        return Err(bad());
    }
    let mut values = [0u32; 3];
    for (value, part) in values.iter_mut().zip(&parts) {
        *value = part.parse().map_err(|_| bad())?;
    }
    let [hours, minutes, seconds] = values;
    if hours > 23 || minutes > 59 || seconds > 59 {
        return Err(bad());
    }
    Ok(hours * 3600 + minutes * 60 + seconds)
}

fn weekday(day: i32, field: &str) -> Result<Weekday, GatewayError> {
    match v1::Weekday::try_from(day) {
        Ok(v1::Weekday::Monday) => Ok(Weekday::Mon),
        Ok(v1::Weekday::Tuesday) => Ok(Weekday::Tue),
        Ok(v1::Weekday::Wednesday) => Ok(Weekday::Wed),
        Ok(v1::Weekday::Thursday) => Ok(Weekday::Thu),
        Ok(v1::Weekday::Friday) => Ok(Weekday::Fri),
        Ok(v1::Weekday::Saturday) => Ok(Weekday::Sat),
        Ok(v1::Weekday::Sunday) => Ok(Weekday::Sun),
        _ => Err(GatewayError::invalid(
            field,
            format!("must be MONDAY to SUNDAY; got {day}"),
        )),
    }
}

/// The checked periods of a power schedule (`field` names the list in errors).
pub fn parse_periods(
    periods: &[v1::PowerPeriod],
    field: &str,
) -> Result<Vec<Period>, GatewayError> {
    if periods.is_empty() {
        return Err(GatewayError::invalid(
            field,
            "at least one period is required",
        ));
    }
    periods
        .iter()
        .enumerate()
        .map(|(i, period)| {
            let mut days = Vec::new();
            for (j, day) in period.weekdays.iter().enumerate() {
                let day = weekday(*day, &format!("{field}[{i}].weekdays[{j}]"))?;
                if days.contains(&day) {
                    return Err(GatewayError::invalid(
                        format!("{field}[{i}].weekdays[{j}]"),
                        format!("{day} is named twice"),
                    ));
                }
                days.push(day);
            }
            Ok(Period {
                start: parse_clock(&period.start_time, &format!("{field}[{i}].start_time"))?,
                stop: parse_clock(&period.stop_time, &format!("{field}[{i}].stop_time"))?,
                days,
            })
        })
        .collect()
}

impl Period {
    fn starts_on(&self, day: Weekday) -> bool {
        self.days.is_empty() || self.days.contains(&day)
    }

    fn overnight(&self) -> bool {
        self.stop <= self.start
    }

    /// Whether local time `second` of a `day` falls in the period (started that day or, for
    /// one that ends the next day, the day before).
    fn covers(&self, day: Weekday, second: u32) -> bool {
        if self.overnight() {
            (self.starts_on(day) && second >= self.start)
                || (self.starts_on(day.pred()) && second < self.stop)
        } else {
            self.starts_on(day) && self.start <= second && second < self.stop
        }
    }

    fn cron_days(days: &[Weekday]) -> String {
        if days.is_empty() {
            return "*".into();
        }
        days.iter()
            .map(|d| d.to_string().to_uppercase())
            .collect::<Vec<_>>()
            .join(",")
    }

    fn cron(second: u32, days: &[Weekday]) -> String {
        format!(
            "{} {} {} * * {}",
            second % 60,
            (second / 60) % 60,
            second / 3600,
            Self::cron_days(days)
        )
    }

    /// The crons of its start and stop edges (a stop ending the next day fires on the days
    /// after its start days).
    fn edge_crons(&self) -> [String; 2] {
        let stop_days: Vec<Weekday> = if self.overnight() {
            self.days.iter().map(|d| d.succ()).collect()
        } else {
            self.days.clone()
        };
        [
            Self::cron(self.start, &self.days),
            Self::cron(self.stop, &stop_days),
        ]
    }
}

/// Whether any period covers instant `at` in time zone `tz`.
pub fn on_at(periods: &[Period], tz: Tz, at: OffsetDateTime) -> bool {
    let Some(utc) = chrono::DateTime::from_timestamp(at.unix_timestamp(), 0) else {
        return false;
    };
    let local = utc.with_timezone(&tz);
    let second = local.num_seconds_from_midnight();
    periods
        .iter()
        .any(|period| period.covers(local.weekday(), second))
}

/// The edge crons of every period, each once.
pub fn edge_crons(periods: &[Period]) -> Vec<String> {
    let mut crons: Vec<String> = Vec::new();
    for cron in periods.iter().flat_map(Period::edge_crons) {
        if !crons.contains(&cron) {
            crons.push(cron);
        }
    }
    crons
}

/// What a power run at `at` does: `Some(true)` start, `Some(false)` stop, `None` nothing
/// (the periods give the same state just before and at `at`). A manual run (`edge` false)
/// always brings the selection to the state of `at`.
pub fn decide(periods: &[Period], tz: Tz, at: OffsetDateTime, edge: bool) -> Option<bool> {
    let now = on_at(periods, tz, at);
    let before = on_at(periods, tz, at - time::Duration::seconds(1));
    (!edge || now != before).then_some(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(start: &str, stop: &str, days: &[v1::Weekday]) -> v1::PowerPeriod {
        v1::PowerPeriod {
            start_time: start.into(),
            stop_time: stop.into(),
            weekdays: days.iter().map(|d| *d as i32).collect(),
        }
    }

    fn at(rfc3339: &str) -> OffsetDateTime {
        OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).unwrap()
    }

    const WEEKDAYS: [v1::Weekday; 5] = [
        v1::Weekday::Monday,
        v1::Weekday::Tuesday,
        v1::Weekday::Wednesday,
        v1::Weekday::Thursday,
        v1::Weekday::Friday,
    ];

    #[test]
    fn office_hours_in_paris() {
        let periods = parse_periods(&[period("08:00", "20:00", &WEEKDAYS)], "p").unwrap();
        let paris = chrono_tz::Europe::Paris;
        // 2026-12-04 is a Friday; Paris is UTC+1 in winter.
        assert!(!on_at(&periods, paris, at("2026-12-04T06:59:59Z")));
        assert!(on_at(&periods, paris, at("2026-12-04T07:00:00Z")));
        assert!(on_at(&periods, paris, at("2026-12-04T18:59:59Z")));
        assert!(!on_at(&periods, paris, at("2026-12-04T19:00:00Z")));
        // Saturday.
        assert!(!on_at(&periods, paris, at("2026-12-05T10:00:00Z")));
        assert_eq!(
            decide(&periods, paris, at("2026-12-04T07:00:00Z"), true),
            Some(true)
        );
        assert_eq!(
            decide(&periods, paris, at("2026-12-04T19:00:00Z"), true),
            Some(false)
        );
        assert_eq!(
            edge_crons(&periods),
            [
                "0 0 8 * * MON,TUE,WED,THU,FRI",
                "0 0 20 * * MON,TUE,WED,THU,FRI"
            ]
        );
    }

    #[test]
    fn adjacent_periods_neither_stop_nor_restart() {
        let periods = parse_periods(
            &[period("08:00", "12:00", &[]), period("12:00", "18:00", &[])],
            "p",
        )
        .unwrap();
        let utc = chrono_tz::UTC;
        assert_eq!(
            decide(&periods, utc, at("2026-12-04T12:00:00Z"), true),
            None
        );
        assert_eq!(
            decide(&periods, utc, at("2026-12-04T18:00:00Z"), true),
            Some(false)
        );
        // A manual run at the joint still says "on".
        assert_eq!(
            decide(&periods, utc, at("2026-12-04T12:00:00Z"), false),
            Some(true)
        );
        assert_eq!(
            edge_crons(&periods),
            ["0 0 8 * * *", "0 0 12 * * *", "0 0 18 * * *"]
        );
    }

    #[test]
    fn periods_may_name_seconds() {
        let periods = parse_periods(&[period("08:00:30", "08:01:15", &[])], "p").unwrap();
        let utc = chrono_tz::UTC;
        assert!(!on_at(&periods, utc, at("2026-12-04T08:00:29Z")));
        assert!(on_at(&periods, utc, at("2026-12-04T08:00:30Z")));
        assert!(!on_at(&periods, utc, at("2026-12-04T08:01:15Z")));
        assert_eq!(edge_crons(&periods), ["30 0 8 * * *", "15 1 8 * * *"]);
    }

    #[test]
    fn a_period_past_midnight_ends_the_next_day() {
        let periods =
            parse_periods(&[period("22:00", "06:00", &[v1::Weekday::Friday])], "p").unwrap();
        let utc = chrono_tz::UTC;
        assert!(on_at(&periods, utc, at("2026-12-04T23:00:00Z")));
        assert!(on_at(&periods, utc, at("2026-12-05T05:59:59Z")));
        assert!(!on_at(&periods, utc, at("2026-12-05T06:00:00Z")));
        // Thursday night is not in it.
        assert!(!on_at(&periods, utc, at("2026-12-03T23:00:00Z")));
        assert_eq!(edge_crons(&periods), ["0 0 22 * * FRI", "0 0 6 * * SAT"]);
    }

    #[test]
    fn bad_periods_are_refused_by_field() {
        for (bad, field) in [
            (period("8:00", "20:00", &[]), "p[0].start_time"),
            (period("08:00", "24:00", &[]), "p[0].stop_time"),
            (period("08:00", "20:60", &[]), "p[0].stop_time"),
            (period("08:00", "20:00:60", &[]), "p[0].stop_time"),
            (period("08:00:5", "20:00", &[]), "p[0].start_time"),
            (
                period("08:00", "20:00", &[v1::Weekday::Unspecified]),
                "p[0].weekdays[0]",
            ),
            (
                period(
                    "08:00",
                    "20:00",
                    &[v1::Weekday::Monday, v1::Weekday::Monday],
                ),
                "p[0].weekdays[1]",
            ),
        ] {
            let err = parse_periods(&[bad], "p").unwrap_err();
            let GatewayError::InvalidArgument(violations) = err else {
                panic!("not invalid: {err}");
            };
            assert_eq!(violations[0].field, field);
        }
        assert!(parse_periods(&[], "p").is_err());
    }
}
