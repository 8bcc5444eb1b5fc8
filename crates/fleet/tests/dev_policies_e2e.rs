//! Policies as a user meets them: the real `fleet dev` and the real `fleetctl`, on the wall
//! clock (these are the slots a user would see; the injected-clock tests are in
//! crates/e2e/tests/policies.rs).
//!
//! * A snapshot policy every 5 s with `--keep 2` on a tagged server whose root is an SBS
//!   volume: once 20 s of slots have run, exactly 2 policy snapshots of its root exist (read
//!   from the emulator's Block API too), and the snapshot made by hand is untouched.
//! * A power schedule whose period starts and ends a few seconds from now powers a stopped
//!   tagged server on at its start and off at its end.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::dev::DevWithEmulator;
use support::{fleetctl_bin, http_get_json};

const ZONE: &str = "fr-par-1";

fn text(value: &Value, key: &str) -> String {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {value:#}"))
        .to_owned()
}

/// Waits (bounded, polling) until `probe` answers `Some`.
fn wait_for<T>(
    what: &str,
    log: &Path,
    within: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; see {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn runs(dev: &DevWithEmulator, bin: &Path, policy: &str) -> Vec<Value> {
    let listed = dev.ok(bin, &["policies", "runs", policy]);
    listed
        .as_array()
        .or_else(|| listed["runs"].as_array())
        .cloned()
        .unwrap_or_default()
}

fn finished(run: &Value) -> bool {
    !matches!(
        run["outcome"].as_str(),
        Some("POLICY_RUN_OUTCOME_RUNNING") | Some("RUNNING") | Some("running") | None
    )
}

/// The local wall-clock time `seconds` from now, `HH:MM:SS` (UTC).
fn clock_in(seconds: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let of_day = (now + seconds) % 86_400;
    format!(
        "{:02}:{:02}:{:02}",
        of_day / 3600,
        (of_day / 60) % 60,
        of_day % 60
    )
}

#[test]
fn a_snapshot_policy_keeps_two_and_a_power_schedule_follows_its_period() {
    let ctl = fleetctl_bin();
    let dev = DevWithEmulator::start();
    let (emulator_port, key, log) = (dev.emulator_port, dev.key.clone(), dev.log.clone());

    // A server from a label: its root is an SBS volume.
    let server = dev.ok(
        &ctl,
        &[
            "servers",
            "create",
            "--zone",
            ZONE,
            "--name",
            "db-1",
            "--commercial-type",
            "DEV1-S",
            "--image",
            "ubuntu_noble",
            "--tag",
            "db",
            "--start",
            "--wait",
        ],
    );
    let root = &server["volumes"]["0"];
    assert_eq!(root["volume_type"], "sbs_volume", "{server:#}");
    let root_id = text(root, "id");
    let by_hand = dev.ok(
        &ctl,
        &[
            "snapshots",
            "create",
            "--zone",
            ZONE,
            "--name",
            "db-1-by-hand",
            "--volume",
            &root_id,
            "--wait",
        ],
    );
    let by_hand_id = text(&by_hand, "id");

    let policy = dev.ok(
        &ctl,
        &[
            "policies",
            "create",
            "snapshot",
            "--zone",
            ZONE,
            "--selector",
            "tag=db",
            "--root-only",
            "--cron",
            "*/5 * * * * *",
            "--keep",
            "2",
        ],
    );
    let name = text(&policy, "name");
    // 20 s of slots: four runs finished, retention having run in the last ones.
    wait_for(
        "four finished snapshot runs",
        &log,
        Duration::from_secs(90),
        || {
            let runs = runs(&dev, &ctl, &name);
            (runs.iter().filter(|r| finished(r)).count() >= 4).then_some(())
        },
    );
    // Stop the slots, let the run in flight finish, then count.
    dev.ok(&ctl, &["policies", "pause", &name]);
    let runs = wait_for("no run in flight", &log, Duration::from_secs(60), || {
        let runs = runs(&dev, &ctl, &name);
        runs.iter().all(finished).then_some(runs)
    });
    assert!(
        runs.iter()
            .any(|r| r["deletions"].as_array().is_some_and(|d| !d.is_empty())),
        "retention never deleted: {runs:#?}"
    );
    let policy_id = name.trim_start_matches("policies/");
    let tag = format!("fleet-policy={policy_id}");
    let path = format!("/block/v1/zones/{ZONE}/snapshots?page_size=100");
    let block = http_get_json(emulator_port, &path, &[("X-Auth-Token", &key)])
        .unwrap_or_else(|| panic!("GET {path} failed"));
    let snapshots = block["snapshots"].as_array().cloned().unwrap_or_default();
    let ours: Vec<&Value> = snapshots
        .iter()
        .filter(|s| {
            s["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t.as_str() == Some(tag.as_str())))
        })
        .collect();
    assert_eq!(ours.len(), 2, "policy snapshots: {ours:#?}");
    assert!(
        ours.iter()
            .all(|s| s["parent_volume"]["id"] == root_id.as_str()),
        "{ours:#?}"
    );
    assert!(
        snapshots.iter().any(|s| s["id"] == by_hand_id.as_str()),
        "the snapshot made by hand is gone"
    );

    // A power schedule on a stopped server: on at the period's start, off at its end.
    let web = dev.ok(
        &ctl,
        &[
            "servers",
            "create",
            "--zone",
            ZONE,
            "--name",
            "web-1",
            "--commercial-type",
            "DEV1-S",
            "--image",
            "ubuntu_jammy",
            "--tag",
            "web",
            "--wait",
        ],
    );
    let web_id = text(&web, "id");
    assert_eq!(web["state"], "stopped", "{web:#}");
    let period = format!("daily {}-{}", clock_in(8), clock_in(30));
    dev.ok(
        &ctl,
        &[
            "policies",
            "create",
            "power",
            "--zone",
            ZONE,
            "--selector",
            "tag=web",
            "--period",
            &period,
        ],
    );
    let state = || {
        text(
            &dev.ok(&ctl, &["servers", "get", "--zone", ZONE, &web_id]),
            "state",
        )
    };
    wait_for(
        "the period's start to power web-1 on",
        &log,
        Duration::from_secs(60),
        || (state() == "running").then_some(()),
    );
    wait_for(
        "the period's end to power web-1 off",
        &log,
        Duration::from_secs(90),
        || (state() == "stopped").then_some(()),
    );

    dev.stop();
}
