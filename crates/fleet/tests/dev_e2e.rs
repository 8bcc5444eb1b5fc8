//! The newcomer's path, end to end: the real `fleet dev` binary with no DATABASE_URL and no
//! SCW_SECRET_KEY (so it runs its own Postgres and emulator), driven through the real
//! `fleetctl` binary: create, power on with --wait, snapshot, export, list as JSON,
//! terminate. Then SIGINT: `fleet dev` must exit 0 and leave no Postgres behind, and a second
//! start must reuse the same data directory.

mod support;

use std::path::Path;

use serde_json::Value;
use support::dev::{TOKEN, processes_using, start_dev, stop_with_sigint, wait_healthy};
use support::{fleetctl_bin, free_port};

fn fleetctl(bin: &Path, port: u16, args: &[&str]) -> std::process::Output {
    support::fleetctl(bin, port, TOKEN, args)
}

fn json_ok(bin: &Path, port: u16, args: &[&str]) -> Value {
    support::fleetctl_json(bin, port, TOKEN, args)
}

#[test]
fn fleet_dev_and_fleetctl_scenario() {
    let ctl = fleetctl_bin();
    let temp = tempfile::tempdir().expect("temp dir");
    let data_dir = temp.path().join("data");
    let log = temp.path().join("dev.log");
    let port = free_port();
    let dev = start_dev(&data_dir, port, &log, &[]);
    wait_healthy(port, &log);

    let created = json_ok(
        &ctl,
        port,
        &[
            "servers",
            "create",
            "--zone",
            "fr-par-1",
            "--name",
            "web-1",
            "--commercial-type",
            "DEV1-S",
            "--image",
            "ubuntu_noble",
            "--root-volume-type",
            "l_ssd",
            "--root-volume-size",
            "20GB",
            "--wait",
            "-o",
            "json",
        ],
    );
    let server_id = created["id"].as_str().expect("server id").to_owned();
    assert_eq!(created["name"], "web-1");
    assert_eq!(created["state"], "stopped");
    let volume_id = created["volumes"]["0"]["id"]
        .as_str()
        .expect("root volume")
        .to_owned();

    let action = json_ok(
        &ctl,
        port,
        &[
            "servers", "action", "--zone", "fr-par-1", &server_id, "poweron", "--wait", "-o",
            "json",
        ],
    );
    assert_eq!(action["server"]["state"], "running", "{action:#}");

    let snapshot = json_ok(
        &ctl,
        port,
        &[
            "snapshots",
            "create",
            "--zone",
            "fr-par-1",
            "--name",
            "snap-1",
            "--volume",
            &volume_id,
            "--wait",
            "-o",
            "json",
        ],
    );
    assert_eq!(snapshot["state"], "available", "{snapshot:#}");
    let snapshot_id = snapshot["id"].as_str().expect("snapshot id").to_owned();

    let export = json_ok(
        &ctl,
        port,
        &[
            "snapshots",
            "export",
            "--zone",
            "fr-par-1",
            &snapshot_id,
            "--bucket",
            "backups",
            "--key",
            "web-1.qcow2",
            "--wait",
            "-o",
            "json",
        ],
    );
    assert_eq!(export["snapshot"]["id"], snapshot_id.as_str(), "{export:#}");

    let listed = json_ok(
        &ctl,
        port,
        &["servers", "list", "--zone", "all", "-o", "json"],
    );
    let servers = listed["servers"].as_array().expect("servers array");
    let ours = servers
        .iter()
        .find(|s| s["id"] == server_id.as_str())
        .expect("the server is listed");
    assert_eq!(ours["state"], "running");
    assert_eq!(ours["commercial_type"], "DEV1-S", "Scaleway field names");

    json_ok(
        &ctl,
        port,
        &[
            "servers",
            "action",
            "--zone",
            "fr-par-1",
            &server_id,
            "terminate",
            "--wait",
            "-o",
            "json",
        ],
    );
    let gone = fleetctl(
        &ctl,
        port,
        &[
            "servers", "get", "--zone", "fr-par-1", &server_id, "-o", "json",
        ],
    );
    assert_eq!(
        gone.status.code(),
        Some(3),
        "a terminated server is not found"
    );

    stop_with_sigint(dev);
    assert!(
        processes_using(&data_dir).is_empty(),
        "postgres left running: {:?}",
        processes_using(&data_dir)
    );

    // The second start reuses the initialised cluster: the first run's operations are there.
    let dev = start_dev(&data_dir, port, &log, &[]);
    wait_healthy(port, &log);
    let operations = json_ok(&ctl, port, &["operations", "list", "-o", "json"]);
    let count = operations["operations"].as_array().map_or(0, Vec::len);
    assert!(
        count >= 5,
        "operations of the first run are kept: {operations:#}"
    );
    stop_with_sigint(dev);
    assert!(processes_using(&data_dir).is_empty());
}
