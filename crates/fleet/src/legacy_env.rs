//! The variable names and formats of before the one configuration mechanism, still accepted for
//! a deprecation period.
//!
//! The process environment is never changed: a legacy variable that is set becomes an extra
//! `--flag=value` argument of the subcommand, unless its new variable or the flag is given, and
//! each legacy name used prints one deprecation line. The flag is the one whose `env` is the new
//! name, read from the command itself, so this table holds only what is legacy.

use std::ffi::OsString;

/// What an old value counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// Integer milliseconds of a renamed `…_MS` variable.
    Milliseconds,
    /// Bare seconds (`3`, `1.5`), which the variable accepted before humantime durations.
    Seconds,
}

#[derive(Debug)]
struct Legacy {
    old: &'static str,
    new: &'static str,
    unit: Unit,
}

const fn renamed_ms(old: &'static str, new: &'static str) -> Legacy {
    Legacy {
        old,
        new,
        unit: Unit::Milliseconds,
    }
}

const fn bare_seconds(name: &'static str) -> Legacy {
    Legacy {
        old: name,
        new: name,
        unit: Unit::Seconds,
    }
}

/// Every legacy name: old → new variable, and the unit of its old values.
const LEGACY: &[Legacy] = &[
    renamed_ms("FLEET_SCW_CONNECT_TIMEOUT_MS", "FLEET_SCW_CONNECT_TIMEOUT"),
    renamed_ms("FLEET_SCW_REQUEST_TIMEOUT_MS", "FLEET_SCW_REQUEST_TIMEOUT"),
    renamed_ms("FLEET_GATEWAY_OWNER_CACHE_MS", "FLEET_GATEWAY_OWNER_CACHE"),
    renamed_ms(
        "FLEET_GATEWAY_CALL_TIMEOUT_MS",
        "FLEET_GATEWAY_CALL_TIMEOUT",
    ),
    renamed_ms(
        "FLEET_GATEWAY_REQUEST_TIMEOUT_MS",
        "FLEET_GATEWAY_REQUEST_TIMEOUT",
    ),
    renamed_ms(
        "FLEET_GATEWAY_MAX_CONNECTION_AGE_MS",
        "FLEET_GATEWAY_MAX_CONNECTION_AGE",
    ),
    renamed_ms(
        "FLEET_GATEWAY_DRAIN_TIMEOUT_MS",
        "FLEET_GATEWAY_DRAIN_TIMEOUT",
    ),
    renamed_ms("FLEET_EMULATOR_TRANSITION_MS", "FLEET_EMULATOR_TRANSITION"),
    renamed_ms("FLEET_DEV_TRANSITION_MS", "FLEET_DEV_TRANSITION"),
    bare_seconds("FLEET_WORKER_LEASE_TTL"),
    bare_seconds("FLEET_WORKER_JOB_LEASE"),
];

/// `args` (program name first) with the legacy variables `env` holds turned into flags of the
/// subcommand, and one deprecation line per legacy name used.
pub fn translate(
    command: &clap::Command,
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<String>,
) -> (Vec<OsString>, Vec<String>) {
    let mut args: Vec<OsString> = args.into_iter().collect();
    let subcommand = args.iter().skip(1).find_map(|arg| {
        let name = arg.to_str()?;
        command.get_subcommands().find(|sub| sub.get_name() == name)
    });
    let Some(subcommand) = subcommand else {
        return (args, Vec::new());
    };
    let set = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    let mut deprecations = Vec::new();
    for legacy in LEGACY {
        let Some(old_value) = set(legacy.old) else {
            continue;
        };
        let flag = subcommand
            .get_arguments()
            .find(|arg| arg.get_env().is_some_and(|env| env == legacy.new))
            .and_then(clap::Arg::get_long);
        let Some(flag) = flag else {
            continue;
        };
        let Some(value) = duration(legacy.unit, &old_value) else {
            continue;
        };
        let renamed = legacy.old != legacy.new;
        let flag = format!("--{flag}");
        let given = args.iter().any(|arg| {
            arg.to_str()
                .is_some_and(|arg| arg == flag || arg.starts_with(&format!("{flag}=")))
        });
        if renamed {
            deprecations.push(format!(
                "{} is deprecated: set {}={value} (or {flag}) instead",
                legacy.old, legacy.new
            ));
        } else {
            deprecations.push(format!(
                "{}={old_value} in bare seconds is deprecated: write {value}",
                legacy.old
            ));
        }
        if given || (renamed && set(legacy.new).is_some()) {
            continue;
        }
        args.push(format!("{flag}={value}").into());
    }
    (args, deprecations)
}

/// An old value as a humantime duration, or `None` when it is not in the old format (then
/// the variable is left for clap to parse, or to refuse).
fn duration(unit: Unit, value: &str) -> Option<String> {
    let value = value.trim();
    match unit {
        Unit::Milliseconds => value.parse::<u64>().ok().map(|ms| format!("{ms}ms")),
        Unit::Seconds => {
            let seconds = value
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)?;
            let ms = (seconds * 1000.0).round();
            // Whole seconds read better; the rest keeps its milliseconds.
            Some(if ms % 1000.0 == 0.0 {
                format!("{}s", ms / 1000.0)
            } else {
                format!("{ms}ms")
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use clap::CommandFactory as _;

    use super::*;

    fn run(args: &[&str], env: &[(&str, &str)]) -> (Vec<String>, Vec<String>) {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let (args, deprecations) = translate(
            &crate::Cli::command(),
            args.iter().map(OsString::from),
            |name| env.get(name).cloned(),
        );
        let args = args
            .into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect();
        (args, deprecations)
    }

    #[test]
    fn millisecond_integers_become_durations_of_the_new_flag() {
        let (args, deprecations) = run(
            &["fleet", "gateway"],
            &[
                ("FLEET_GATEWAY_OWNER_CACHE_MS", "500"),
                ("FLEET_GATEWAY_DRAIN_TIMEOUT_MS", "20000"),
            ],
        );
        assert_eq!(
            args,
            [
                "fleet",
                "gateway",
                "--owner-cache=500ms",
                "--drain-timeout=20000ms"
            ]
        );
        assert_eq!(deprecations.len(), 2, "{deprecations:?}");
        assert!(deprecations[0].contains("FLEET_GATEWAY_OWNER_CACHE_MS"));
        assert!(deprecations[0].contains("FLEET_GATEWAY_OWNER_CACHE=500ms"));

        // The client's timeouts belong to every role that embeds the client settings.
        let env = [("FLEET_SCW_REQUEST_TIMEOUT_MS", "1500")];
        for role in ["worker", "dev"] {
            let (args, _) = run(&["fleet", role], &env);
            assert_eq!(args, ["fleet", role, "--scw-request-timeout=1500ms"]);
        }
        let (args, _) = run(
            &["fleet", "emulator"],
            &[("FLEET_EMULATOR_TRANSITION_MS", "200")],
        );
        assert_eq!(args, ["fleet", "emulator", "--transition=200ms"]);
    }

    #[test]
    fn the_new_name_and_the_flag_win() {
        let old = ("FLEET_DEV_TRANSITION_MS", "200");
        let (args, deprecations) = run(&["fleet", "dev"], &[old, ("FLEET_DEV_TRANSITION", "1s")]);
        assert_eq!(args, ["fleet", "dev"]);
        assert_eq!(deprecations.len(), 1);
        for flag in [&["--transition", "1s"][..], &["--transition=1s"][..]] {
            let argv: Vec<&str> = ["fleet", "dev"].iter().chain(flag).copied().collect();
            let (args, _) = run(&argv, &[old]);
            assert_eq!(args, argv);
        }
    }

    #[test]
    fn bare_seconds_keep_working_and_durations_pass_untouched() {
        let (args, deprecations) = run(
            &["fleet", "worker"],
            &[
                ("FLEET_WORKER_LEASE_TTL", "3"),
                ("FLEET_WORKER_JOB_LEASE", "1.5"),
            ],
        );
        assert_eq!(
            args,
            ["fleet", "worker", "--lease-ttl=3s", "--job-lease=1500ms"]
        );
        assert_eq!(deprecations.len(), 2);
        let (args, deprecations) = run(&["fleet", "worker"], &[("FLEET_WORKER_LEASE_TTL", "3s")]);
        assert_eq!(args, ["fleet", "worker"]);
        assert!(deprecations.is_empty());
    }

    #[test]
    fn other_roles_values_and_commands_are_left_alone() {
        let env = [
            ("FLEET_GATEWAY_OWNER_CACHE_MS", "500"),
            ("FLEET_EMULATOR_TRANSITION_MS", "soon"),
        ];
        for argv in [
            &["fleet", "worker"][..],
            &["fleet", "emulator"][..],
            &["fleet", "--help"][..],
        ] {
            let (args, deprecations) = run(argv, &env);
            assert_eq!(args, argv);
            assert!(deprecations.is_empty(), "{deprecations:?}");
        }
        // Global flags may come before the subcommand.
        let (args, _) = run(&["fleet", "--log-format=json", "gateway"], &env[..1]);
        assert_eq!(args.last().map(String::as_str), Some("--owner-cache=500ms"));
    }

    #[test]
    fn every_new_name_is_a_flag_of_some_role() {
        let command = crate::Cli::command();
        for legacy in LEGACY {
            let known = command.get_subcommands().any(|sub| {
                sub.get_arguments()
                    .any(|arg| arg.get_env().is_some_and(|env| env == legacy.new))
            });
            assert!(known, "{} names no flag", legacy.new);
        }
    }
}
