//! The flags that say what a batch or a policy acts on (`--zone`, `--selector tag=web`, …)
//! and how fast (`--max-in-flight 10%`, `--max-failures 2`, …), shared by `batch` and
//! `policies`, and the BatchSelector and RolloutPolicy they make.

use clap::Args;
use fleet_proto::v1;

use crate::error::CliError;

/// The zones and selector terms of a selection (the target, servers or volumes, is the
/// command's own flag).
#[derive(Args, Debug, Clone, Default)]
pub struct Selection {
    /// Zone to select in (repeat for several), or `all`
    #[arg(long, required = true)]
    pub zone: Vec<String>,
    /// Selector terms, all of which must hold (repeatable): tag=T, project=P, name-prefix=N,
    /// state=S, type=COMMERCIAL_TYPE, id=SERVER_ID; with --volumes: volume-type=T,
    /// volume-id=VOLUME_ID (and tag, project, name-prefix)
    #[arg(long)]
    pub selector: Vec<String>,
}

/// The keys `--selector` takes.
const KEYS: &str = "tag, project, name-prefix, state, type, id, volume-type, volume-id";

impl Selection {
    /// The selector of the flags, targeting servers.
    pub fn selector(&self) -> Result<v1::BatchSelector, CliError> {
        let mut selector = v1::BatchSelector::default();
        self.apply(&mut selector)?;
        Ok(selector)
    }

    /// Applies the flags given to `selector`: `--zone` replaces its zones, `--selector`
    /// replaces its terms (zones and target kept); neither leaves it as it is.
    pub fn apply(&self, selector: &mut v1::BatchSelector) -> Result<(), CliError> {
        if !self.selector.is_empty() {
            let mut terms = v1::BatchSelector {
                zone: std::mem::take(&mut selector.zone),
                zones: std::mem::take(&mut selector.zones),
                target: selector.target,
                ..Default::default()
            };
            for term in &self.selector {
                add_term(&mut terms, term)?;
            }
            *selector = terms;
        }
        match self.zone.as_slice() {
            [] => {}
            [one] => {
                selector.zone = one.clone();
                selector.zones.clear();
            }
            several => {
                selector.zone.clear();
                selector.zones = several.to_vec();
            }
        }
        Ok(())
    }

    /// Whether any of these flags is given.
    pub fn given(&self) -> bool {
        !self.zone.is_empty() || !self.selector.is_empty()
    }

    /// A usage error when a term uses one of `keys`, which `what` does not take.
    pub fn refuse(&self, keys: &[&str], what: &str) -> Result<(), CliError> {
        for term in &self.selector {
            let key = term.split_once('=').map_or(term.as_str(), |(key, _)| key);
            if keys.contains(&key) {
                return Err(CliError::Usage(format!(
                    "--selector {term:?}: {what} takes no {key}= term ({} are refused)",
                    keys.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// Adds one `KEY=VALUE` term to `selector`.
fn add_term(selector: &mut v1::BatchSelector, term: &str) -> Result<(), CliError> {
    let (key, value) = term
        .split_once('=')
        .ok_or_else(|| CliError::Usage(format!("--selector: expected KEY=VALUE; got {term:?}")))?;
    let value = value.to_owned();
    match key {
        "tag" => selector.tags.push(value),
        "project" => selector.project = value,
        "name-prefix" => selector.name_prefix = value,
        "state" => selector.state = value,
        "type" => selector.commercial_type = value,
        "id" => selector.server_ids.push(value),
        "volume-type" => selector.volume_type = value,
        "volume-id" => selector.volume_ids.push(value),
        other => {
            return Err(CliError::Usage(format!(
                "--selector: unknown key {other:?} ({KEYS})"
            )));
        }
    }
    Ok(())
}

/// The selector in the terms of the flags, e.g. `zone=all tag=db volumes`.
pub fn describe(selector: &v1::BatchSelector) -> String {
    let zones = if selector.zones.is_empty() {
        selector.zone.clone()
    } else {
        selector.zones.join(",")
    };
    let mut terms = Vec::new();
    let mut term = |key: &str, value: &str| {
        if !value.is_empty() {
            terms.push(format!("{key}={value}"));
        }
    };
    term("zone", &zones);
    term("project", &selector.project);
    selector.tags.iter().for_each(|tag| term("tag", tag));
    term("name-prefix", &selector.name_prefix);
    term("state", &selector.state);
    term("type", &selector.commercial_type);
    selector.server_ids.iter().for_each(|id| term("id", id));
    term("volume-type", &selector.volume_type);
    selector
        .volume_ids
        .iter()
        .for_each(|id| term("volume-id", id));
    if selector.target == v1::BatchTarget::Volumes as i32 {
        terms.push("volumes".to_owned());
    }
    terms.join(" ")
}

/// How fast a batch goes: the limits of its RolloutPolicy.
#[derive(Args, Debug, Clone, Default)]
pub struct Rollout {
    /// Children in flight at once: a count or a percentage (10%)
    #[arg(long)]
    pub max_in_flight: Option<String>,
    /// Failures tolerated before no new child starts: a count or a percentage
    #[arg(long)]
    pub max_failures: Option<String>,
    /// Children in flight at once in each zone: a count or a percentage of the zone's share
    #[arg(long)]
    pub max_in_flight_per_zone: Option<String>,
    /// A first wave of this many children (a count or a percentage); the rest start only
    /// once it finished within --max-failures
    #[arg(long)]
    pub canary: Option<String>,
}

impl Rollout {
    /// The policy of the flags (a limit not given is unset: the gateway's default).
    pub fn policy(&self) -> Result<v1::RolloutPolicy, CliError> {
        let mut policy = v1::RolloutPolicy::default();
        self.apply(&mut policy)?;
        Ok(policy)
    }

    /// Sets each limit given in `policy`, leaving the others as they are.
    pub fn apply(&self, policy: &mut v1::RolloutPolicy) -> Result<(), CliError> {
        let limits = [
            (
                "max-in-flight",
                &self.max_in_flight,
                &mut policy.max_in_flight,
            ),
            ("max-failures", &self.max_failures, &mut policy.max_failures),
            (
                "max-in-flight-per-zone",
                &self.max_in_flight_per_zone,
                &mut policy.max_in_flight_per_zone,
            ),
            ("canary", &self.canary, &mut policy.canary),
        ];
        for (flag, text, limit) in limits {
            if let Some(text) = text {
                *limit = Some(parse_limit(flag, text)?);
            }
        }
        Ok(())
    }

    /// Whether any of these flags is given.
    pub fn given(&self) -> bool {
        self.max_in_flight.is_some()
            || self.max_failures.is_some()
            || self.max_in_flight_per_zone.is_some()
            || self.canary.is_some()
    }
}

/// `10%` → a percentage, `3` → a count.
pub fn parse_limit(flag: &str, text: &str) -> Result<v1::RolloutLimit, CliError> {
    use v1::rollout_limit::Limit;
    let bad = || {
        CliError::Usage(format!(
            "--{flag}: expected a count or a percentage like 10%; got {text:?}"
        ))
    };
    let limit = match text.strip_suffix('%') {
        Some(percent) => Limit::Percent(percent.trim().parse().map_err(|_| bad())?),
        None => Limit::Count(text.trim().parse().map_err(|_| bad())?),
    };
    Ok(v1::RolloutLimit { limit: Some(limit) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use v1::rollout_limit::Limit;

    fn selection(zone: &[&str], selector: &[&str]) -> Selection {
        Selection {
            zone: zone.iter().map(|z| (*z).to_owned()).collect(),
            selector: selector.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn terms_make_the_selector_and_read_back_as_terms() {
        let terms = [
            "tag=web",
            "tag=eu",
            "project=p",
            "name-prefix=web-",
            "state=running",
            "type=DEV1-S",
            "id=s1",
            "volume-type=b_ssd",
            "volume-id=v1",
        ];
        let selector = selection(&["all"], &terms).selector().unwrap();
        assert_eq!(
            selector,
            v1::BatchSelector {
                zone: "all".into(),
                project: "p".into(),
                tags: vec!["web".into(), "eu".into()],
                name_prefix: "web-".into(),
                state: "running".into(),
                commercial_type: "DEV1-S".into(),
                server_ids: vec!["s1".into()],
                volume_type: "b_ssd".into(),
                volume_ids: vec!["v1".into()],
                ..Default::default()
            }
        );
        assert_eq!(
            describe(&selector),
            "zone=all project=p tag=web tag=eu name-prefix=web- state=running type=DEV1-S \
             id=s1 volume-type=b_ssd volume-id=v1"
        );
        let several = selection(&["fr-par-1", "nl-ams-1"], &[])
            .selector()
            .unwrap();
        assert_eq!(several.zones, ["fr-par-1", "nl-ams-1"]);
        assert!(several.zone.is_empty());
        assert_eq!(describe(&several), "zone=fr-par-1,nl-ams-1");
    }

    #[test]
    fn applying_replaces_only_what_is_given() {
        let mut selector = selection(&["fr-par-1"], &["tag=db", "project=p"])
            .selector()
            .unwrap();
        selector.target = v1::BatchTarget::Volumes as i32;
        // New terms: the zone and target stay, every old term goes.
        selection(&[], &["tag=web"]).apply(&mut selector).unwrap();
        assert_eq!(
            describe(&selector),
            "zone=fr-par-1 tag=web volumes",
            "{selector:?}"
        );
        // New zones: the terms stay.
        selection(&["fr-par-1", "fr-par-2"], &[])
            .apply(&mut selector)
            .unwrap();
        assert_eq!(
            describe(&selector),
            "zone=fr-par-1,fr-par-2 tag=web volumes"
        );
        selection(&["all"], &[]).apply(&mut selector).unwrap();
        assert_eq!(describe(&selector), "zone=all tag=web volumes");
        assert!(!selection(&[], &[]).given());
    }

    #[test]
    fn bad_terms_and_limits_are_usage_errors() {
        for term in ["colour=red", "tag"] {
            let err = selection(&["all"], &[term]).selector().unwrap_err();
            assert!(matches!(err, CliError::Usage(_)), "{term}");
        }
        let err = selection(&["all"], &["state=running"])
            .refuse(&["state", "type"], "a power schedule")
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("a power schedule takes no state= term"),
            "{err}"
        );
        assert!(
            selection(&["all"], &["tag=web"])
                .refuse(&["state"], "x")
                .is_ok()
        );
        for text in ["ten", "x%", "-1"] {
            assert!(matches!(
                parse_limit("max-in-flight", text),
                Err(CliError::Usage(_))
            ));
        }
        let rollout = Rollout {
            canary: Some("lots".into()),
            ..Rollout::default()
        };
        let err = rollout.policy().unwrap_err();
        assert!(err.to_string().starts_with("--canary:"), "{err}");
    }

    #[test]
    fn rollout_flags_set_each_limit_given() {
        let rollout = Rollout {
            max_in_flight: Some("10%".into()),
            max_failures: Some("2".into()),
            max_in_flight_per_zone: Some("1".into()),
            canary: Some("5%".into()),
        };
        let policy = rollout.policy().unwrap();
        let limit = |l: Option<v1::RolloutLimit>| l.and_then(|l| l.limit);
        assert_eq!(limit(policy.max_in_flight), Some(Limit::Percent(10)));
        assert_eq!(limit(policy.max_failures), Some(Limit::Count(2)));
        assert_eq!(limit(policy.max_in_flight_per_zone), Some(Limit::Count(1)));
        assert_eq!(limit(policy.canary), Some(Limit::Percent(5)));
        let mut kept = policy;
        Rollout {
            max_failures: Some("0".into()),
            ..Rollout::default()
        }
        .apply(&mut kept)
        .unwrap();
        assert_eq!(limit(kept.max_failures), Some(Limit::Count(0)));
        assert_eq!(limit(kept.max_in_flight), Some(Limit::Percent(10)));
        assert!(rollout.given() && !Rollout::default().given());
    }
}
