//! The values of the `policies` flags clap cannot check alone, and the words tables print
//! them back in: cron expressions (`--cron`), power periods (`--period 'mon-fri
//! 08:00-20:00'`: weekdays, ranges of them and `HH:MM` times) and retention ages
//! (`--max-age 7d`).
//!
//! The parsers return `String` errors, which clap prints after the flag and its value.

use fleet_proto::v1::{PowerPeriod, Weekday};

/// The weekdays in order, with the short name each is written as.
const WEEKDAYS: [(Weekday, &str); 7] = [
    (Weekday::Monday, "mon"),
    (Weekday::Tuesday, "tue"),
    (Weekday::Wednesday, "wed"),
    (Weekday::Thursday, "thu"),
    (Weekday::Friday, "fri"),
    (Weekday::Saturday, "sat"),
    (Weekday::Sunday, "sun"),
];

/// What `--period` takes, for its errors.
const PERIOD_FORMAT: &str = "expected DAYS HH:MM-HH:MM (or HH:MM:SS), e.g. 'mon-fri 08:00-20:00' or \
'daily 22:00-06:00' (DAYS: daily, mon,tue,… or ranges like mon-fri)";

/// A cron expression of 5 fields, or 6 with seconds first (the gateway checks the fields).
pub fn parse_cron(text: &str) -> Result<String, String> {
    let fields = text.split_whitespace().count();
    if fields == 5 || fields == 6 {
        Ok(text.trim().to_owned())
    } else {
        Err(format!(
            "expected 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds \
             first, e.g. '0 3 * * *' or '*/5 * * * * *'; got {fields}"
        ))
    }
}

/// `mon`, `Monday`, `MON`… → the weekday.
pub fn parse_weekday(text: &str) -> Result<Weekday, String> {
    let lower = text.trim().to_ascii_lowercase();
    WEEKDAYS
        .iter()
        .find(|(day, short)| {
            let long = day
                .as_str_name()
                .strip_prefix("WEEKDAY_")
                .unwrap_or_default();
            lower == *short || lower == long.to_ascii_lowercase()
        })
        .map(|(day, _)| *day)
        .ok_or_else(|| {
            format!("unknown weekday {text:?} (mon, tue, wed, thu, fri, sat, sun, or daily)")
        })
}

/// `daily` → every day (no weekday); `mon,wed,fri`, `mon-fri`, `mon-wed,sat` or `fri-mon`
/// (a range that wraps past Sunday) → those days, in week order, each once.
pub fn parse_days(text: &str) -> Result<Vec<Weekday>, String> {
    if text.trim().eq_ignore_ascii_case("daily") {
        return Ok(Vec::new());
    }
    let mut days = [false; 7];
    for part in text.split(',') {
        if part.trim().is_empty() {
            return Err(format!("empty weekday in {text:?}"));
        }
        let (first, last) = match part.split_once('-') {
            Some((first, last)) => (parse_weekday(first)?, parse_weekday(last)?),
            None => {
                let day = parse_weekday(part)?;
                (day, day)
            }
        };
        let (first, last) = (index(first), index(last));
        let mut day = first;
        loop {
            days[day] = true;
            if day == last {
                break;
            }
            day = (day + 1) % 7;
        }
    }
    Ok(WEEKDAYS
        .iter()
        .zip(days)
        .filter(|(_, on)| *on)
        .map(|((day, _), _)| *day)
        .collect())
}

/// The position of a weekday in the week (Monday 0).
fn index(day: Weekday) -> usize {
    WEEKDAYS
        .iter()
        .position(|(d, _)| *d == day)
        .unwrap_or_default()
}

/// `8:00`, `08:00` → `08:00`; `08:00:30` keeps its seconds (00:00 to 23:59:59).
pub fn parse_time(text: &str) -> Result<String, String> {
    let bad = || {
        let hint = if text == "24:00" {
            " (for midnight use 00:00: a stop at or before the start ends the next day)"
        } else {
            ""
        };
        format!("bad time {text:?}: expected HH:MM or HH:MM:SS from 00:00 to 23:59:59{hint}")
    };
    let parts: Vec<&str> = text.split(':').collect();
    let digits = |s: &str, widths: std::ops::RangeInclusive<usize>| {
        widths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    let (hours, minutes, seconds) = match parts.as_slice() {
        [h, m] => (*h, *m, None),
        [h, m, s] => (*h, *m, Some(*s)),
        _ => return Err(bad()),
    };
    if !digits(hours, 1..=2) || !digits(minutes, 2..=2) || !seconds.is_none_or(|s| digits(s, 2..=2))
    {
        return Err(bad());
    }
    let number = |s: &str| s.parse::<u32>().map_err(|_| bad());
    let (hours, minutes) = (number(hours)?, number(minutes)?);
    let seconds = seconds.map(number).transpose()?;
    if hours > 23 || minutes > 59 || seconds.is_some_and(|s| s > 59) {
        return Err(bad());
    }
    Ok(match seconds {
        Some(seconds) => format!("{hours:02}:{minutes:02}:{seconds:02}"),
        None => format!("{hours:02}:{minutes:02}"),
    })
}

/// `DAYS HH:MM-HH:MM` → a power period.
pub fn parse_period(text: &str) -> Result<PowerPeriod, String> {
    let mut words = text.split_whitespace();
    let (Some(days), Some(times), None) = (words.next(), words.next(), words.next()) else {
        return Err(PERIOD_FORMAT.to_owned());
    };
    let (start, stop) = times
        .split_once('-')
        .ok_or_else(|| format!("no HH:MM-HH:MM in {text:?}: {PERIOD_FORMAT}"))?;
    Ok(PowerPeriod {
        start_time: parse_time(start)?,
        stop_time: parse_time(stop)?,
        weekdays: parse_days(days)?
            .into_iter()
            .map(|day| day as i32)
            .collect(),
    })
}

/// A period as `--period` takes it, e.g. `mon-fri 08:00-20:00`.
pub fn describe_period(period: &PowerPeriod) -> String {
    format!(
        "{} {}-{}",
        describe_days(&period.weekdays),
        period.start_time,
        period.stop_time
    )
}

/// Weekdays as `--period` takes them: `daily` for none, runs of three or more days as
/// ranges (`mon-fri`), others listed (`sat,sun`).
pub fn describe_days(weekdays: &[i32]) -> String {
    if weekdays.is_empty() {
        return "daily".to_owned();
    }
    let mut on = [false; 7];
    let mut unknown = Vec::new();
    for value in weekdays {
        match Weekday::try_from(*value) {
            Ok(day) if day != Weekday::Unspecified => on[index(day)] = true,
            _ => unknown.push(value.to_string()),
        }
    }
    let mut parts = Vec::new();
    let mut day = 0;
    while day < 7 {
        if !on[day] {
            day += 1;
            continue;
        }
        let mut last = day;
        while last + 1 < 7 && on[last + 1] {
            last += 1;
        }
        let name = |i: usize| WEEKDAYS[i].1;
        match last - day {
            0 => parts.push(name(day).to_owned()),
            1 => parts.extend([name(day).to_owned(), name(last).to_owned()]),
            _ => parts.push(format!("{}-{}", name(day), name(last))),
        }
        day = last + 1;
    }
    parts.extend(unknown);
    parts.join(",")
}

/// `7d`, `12h`, `30m`, `90s` (any humantime span of whole seconds) → seconds; `0` → 0
/// (no age limit).
pub fn parse_max_age(text: &str) -> Result<u64, String> {
    let span = humantime::parse_duration(text.trim())
        .map_err(|err| format!("{err}; use e.g. 7d, 12h, 30m or 90s (0: no age limit)"))?;
    if span.subsec_nanos() != 0 {
        return Err(format!("{text:?} is not a whole number of seconds"));
    }
    Ok(span.as_secs())
}

/// Seconds in the largest unit that divides them: 604800 → `7d`, 5400 → `90m`.
pub fn describe_seconds(seconds: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(86_400, "d"), (3_600, "h"), (60, "m")];
    UNITS
        .iter()
        .find(|(size, _)| seconds != 0 && seconds.is_multiple_of(*size))
        .map_or_else(
            || format!("{seconds}s"),
            |(size, unit)| format!("{}{unit}", seconds / size),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use Weekday::{Friday, Monday, Saturday, Sunday, Thursday, Tuesday, Wednesday};

    #[test]
    fn weekdays_take_short_and_long_names_in_any_case() {
        assert_eq!(parse_weekday("mon"), Ok(Monday));
        assert_eq!(parse_weekday("Wednesday"), Ok(Wednesday));
        assert_eq!(parse_weekday("SUN"), Ok(Sunday));
        let err = parse_weekday("fry").unwrap_err();
        assert!(err.contains("unknown weekday \"fry\""), "{err}");
        assert!(parse_weekday("").is_err());
        assert!(parse_weekday("mo").is_err());
    }

    #[test]
    fn days_take_lists_ranges_wrapping_ranges_and_daily() {
        assert_eq!(parse_days("daily"), Ok(vec![]));
        assert_eq!(
            parse_days("mon-fri"),
            Ok(vec![Monday, Tuesday, Wednesday, Thursday, Friday])
        );
        assert_eq!(parse_days("sun,sat,sat"), Ok(vec![Saturday, Sunday]));
        assert_eq!(
            parse_days("fri-mon"),
            Ok(vec![Monday, Friday, Saturday, Sunday])
        );
        assert_eq!(
            parse_days("mon-tue,thu"),
            Ok(vec![Monday, Tuesday, Thursday])
        );
        assert_eq!(parse_days("wed-wed"), Ok(vec![Wednesday]));
        assert!(parse_days("mon,,fri").is_err());
        assert!(parse_days("mon-").is_err());
        assert!(parse_days("mon-fri-sun").is_err());
        assert!(parse_days("weekdays").unwrap_err().contains("weekdays"));
    }

    #[test]
    fn days_read_back_as_they_are_written() {
        let days =
            |days: &[Weekday]| describe_days(&days.iter().map(|d| *d as i32).collect::<Vec<_>>());
        assert_eq!(describe_days(&[]), "daily");
        assert_eq!(
            days(&[Monday, Tuesday, Wednesday, Thursday, Friday]),
            "mon-fri"
        );
        assert_eq!(days(&[Saturday, Sunday]), "sat,sun");
        assert_eq!(
            days(&[Monday, Wednesday, Friday, Saturday, Sunday]),
            "mon,wed,fri-sun"
        );
        assert_eq!(describe_days(&[1, 0, 9]), "mon,0,9");
        for text in ["mon-fri", "sat,sun", "daily", "mon,wed,fri-sun", "tue"] {
            let period = parse_period(&format!("{text} 08:00-20:00")).unwrap();
            assert_eq!(describe_days(&period.weekdays), text);
        }
    }

    #[test]
    fn times_are_hh_mm_within_a_day() {
        assert_eq!(parse_time("08:00"), Ok("08:00".to_owned()));
        assert_eq!(parse_time("8:05"), Ok("08:05".to_owned()));
        assert_eq!(parse_time("23:59"), Ok("23:59".to_owned()));
        assert_eq!(parse_time("0:00"), Ok("00:00".to_owned()));
        assert_eq!(parse_time("08:00:30"), Ok("08:00:30".to_owned()));
        for bad in [
            "24:00",
            "12:60",
            "8",
            "8:5",
            "08:000",
            "-1:00",
            "ab:cd",
            "08h00",
            "+8:00",
            "08:00:60",
            "08:00:5",
            "08:00:00:00",
        ] {
            let err = parse_time(bad).unwrap_err();
            assert!(err.contains("expected HH:MM"), "{bad}: {err}");
        }
        assert!(parse_time("24:00").unwrap_err().contains("use 00:00"));
    }

    #[test]
    fn periods_are_days_then_start_and_stop() {
        assert_eq!(
            parse_period("mon-fri 08:00-20:00"),
            Ok(PowerPeriod {
                start_time: "08:00".into(),
                stop_time: "20:00".into(),
                weekdays: vec![1, 2, 3, 4, 5],
            })
        );
        // A stop at or before the start ends the next day: kept as written.
        let night = parse_period("  daily   22:00-6:00 ").unwrap();
        assert_eq!(
            (night.start_time.as_str(), night.stop_time.as_str()),
            ("22:00", "06:00")
        );
        assert!(night.weekdays.is_empty());
        assert_eq!(describe_period(&night), "daily 22:00-06:00");
        for bad in [
            "mon-fri",
            "08:00-20:00",
            "mon-fri 08:00",
            "mon-fri 08:00-20:00 x",
        ] {
            assert!(
                parse_period(bad).unwrap_err().contains("DAYS HH:MM-HH:MM"),
                "{bad}"
            );
        }
        assert!(
            parse_period("mon-fry 08:00-20:00")
                .unwrap_err()
                .contains("unknown weekday \"fry\"")
        );
        assert!(
            parse_period("mon 8:00-25:00")
                .unwrap_err()
                .contains("bad time \"25:00\"")
        );
    }

    #[test]
    fn ages_are_spans_of_whole_seconds() {
        assert_eq!(parse_max_age("7d"), Ok(604_800));
        assert_eq!(parse_max_age("12h"), Ok(43_200));
        assert_eq!(parse_max_age("30m"), Ok(1_800));
        assert_eq!(parse_max_age("90s"), Ok(90));
        assert_eq!(parse_max_age("1d 12h"), Ok(129_600));
        assert_eq!(parse_max_age("0"), Ok(0));
        assert!(parse_max_age("7").unwrap_err().contains("e.g. 7d"));
        assert!(parse_max_age("7x").is_err());
        assert!(
            parse_max_age("1500ms")
                .unwrap_err()
                .contains("whole number")
        );
        assert_eq!(describe_seconds(604_800), "7d");
        assert_eq!(describe_seconds(43_200), "12h");
        assert_eq!(describe_seconds(5_400), "90m");
        assert_eq!(describe_seconds(90), "90s");
        assert_eq!(describe_seconds(0), "0s");
    }

    #[test]
    fn crons_have_five_or_six_fields() {
        assert_eq!(parse_cron(" 0 3 * * * "), Ok("0 3 * * *".to_owned()));
        assert_eq!(parse_cron("*/5 * * * * *"), Ok("*/5 * * * * *".to_owned()));
        assert!(parse_cron("* * *").unwrap_err().contains("got 3"));
        assert!(parse_cron("").is_err());
        assert!(parse_cron("0 0 3 * * * 2026").is_err());
    }
}
