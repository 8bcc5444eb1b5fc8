//! Block Storage as a new user meets it: the real `fleet dev` (own Postgres, own emulator) and
//! the real `fleetctl`. A server made from an image label has an SBS root; snapshot it, back
//! the server up, export the snapshot, restore it to a new volume, resize that, make and attach
//! a 15k-IOPS volume, then delete the server with `--stop-first --delete-volumes --wait` and
//! count, in the emulator's Block API, that none of the server's volumes is left.

mod support;

use serde_json::Value;
use support::dev::DevWithEmulator;
use support::{fleetctl_bin, http_get_json};

const ZONE: &str = "fr-par-1";

fn id_of(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value:#}"))
        .to_owned()
}

/// Every Block volume of the zone, as the emulator's Block API lists them.
fn block_volumes(emulator_port: u16, key: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let path = format!("/block/v1/zones/{ZONE}/volumes?page={page}&page_size=100");
        let body = http_get_json(emulator_port, &path, &[("X-Auth-Token", key)])
            .unwrap_or_else(|| panic!("GET {path} failed"));
        let items = body["volumes"].as_array().cloned().unwrap_or_default();
        let full = items.len() == 100;
        out.extend(items);
        if !full {
            break;
        }
    }
    out
}

#[test]
fn sbs_server_snapshot_backup_export_restore_resize_and_delete() {
    let ctl = fleetctl_bin();
    let dev = DevWithEmulator::start();
    let (emulator_port, key) = (dev.emulator_port, dev.key.clone());

    // From a label, with no root volume type: the root is an SBS volume, held by Block.
    let server = dev.ok(
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
            "ubuntu_noble",
            "--wait",
        ],
    );
    let server_id = id_of(&server);
    let root = &server["volumes"]["0"];
    assert_eq!(root["volume_type"], "sbs_volume", "{server:#}");
    let root_id = id_of(root);
    let root_volume = dev.ok(&ctl, &["volumes", "get", "--zone", ZONE, &root_id]);
    assert_eq!(root_volume["api"], "block", "{root_volume:#}");
    assert_eq!(root_volume["server"]["id"], server_id.as_str());

    let snapshot = dev.ok(
        &ctl,
        &[
            "snapshots",
            "create",
            "--zone",
            ZONE,
            "--name",
            "web-1-snap",
            "--volume",
            &root_id,
            "--wait",
        ],
    );
    assert_eq!(snapshot["state"], "available", "{snapshot:#}");
    assert_eq!(snapshot["api"], "block");
    assert_eq!(snapshot["base_volume"]["id"], root_id.as_str());
    let snapshot_id = id_of(&snapshot);

    let backup = dev.ok(
        &ctl,
        &[
            "servers", "action", "--zone", ZONE, &server_id, "backup", "--wait",
        ],
    );
    let image = &backup["image"];
    assert_eq!(
        image["root_volume"]["volume_type"], "sbs_snapshot",
        "{backup:#}"
    );

    let export = dev.ok(
        &ctl,
        &[
            "snapshots",
            "export",
            "--zone",
            ZONE,
            &snapshot_id,
            "--bucket",
            "backups",
            "--key",
            "web-1.qcow2",
            "--wait",
        ],
    );
    assert_eq!(export["snapshot"]["id"], snapshot_id.as_str(), "{export:#}");
    assert_eq!(export["snapshot"]["state"], "available");

    let restored = dev.ok(
        &ctl,
        &[
            "snapshots",
            "restore",
            "--zone",
            ZONE,
            &snapshot_id,
            "--name",
            "web-1-restored",
            "--wait",
        ],
    );
    assert_eq!(restored["api"], "block", "{restored:#}");
    assert_eq!(restored["state"], "available");
    assert_eq!(restored["size"], snapshot["size"]);
    let restored_id = id_of(&restored);

    let resized = dev.ok(
        &ctl,
        &[
            "volumes",
            "resize",
            "--zone",
            ZONE,
            &restored_id,
            "--size",
            "30GB",
            "--iops",
            "15000",
            "--wait",
        ],
    );
    assert_eq!(resized["size"], 30_000_000_000u64, "{resized:#}");
    assert_eq!(resized["perf_iops"], 15000);
    assert_eq!(resized["state"], "available");

    let data = dev.ok(
        &ctl,
        &[
            "volumes", "create", "--zone", ZONE, "--name", "data", "--size", "20GB", "--iops",
            "15000", "--wait",
        ],
    );
    assert_eq!(data["api"], "block", "{data:#}");
    assert_eq!(data["perf_iops"], 15000);
    let data_id = id_of(&data);
    dev.ok(
        &ctl,
        &[
            "servers",
            "attach-volume",
            "--zone",
            ZONE,
            &server_id,
            "--volume",
            &data_id,
            "--volume-type",
            "sbs_volume",
            "--wait",
        ],
    );

    // Both families in one list.
    let listed = dev.ok(&ctl, &["volumes", "list", "--zone", "all"]);
    let ids: Vec<&str> = listed["volumes"]
        .as_array()
        .expect("volumes array")
        .iter()
        .filter_map(|v| v["id"].as_str())
        .collect();
    for id in [&root_id, &restored_id, &data_id] {
        assert!(ids.contains(&id.as_str()), "{id} not listed: {listed:#}");
    }

    let deleted = dev.ok(
        &ctl,
        &[
            "servers",
            "delete",
            "--zone",
            ZONE,
            &server_id,
            "--stop-first",
            "--delete-volumes",
            "--wait",
        ],
    );
    let deleted_volumes: Vec<&str> = deleted["deleted_volumes"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        deleted_volumes.contains(&root_id.as_str()) && deleted_volumes.contains(&data_id.as_str()),
        "{deleted:#}"
    );

    // Counted in the emulator: nothing of that server is left in Block; the restored volume,
    // never attached to it, is.
    let left = block_volumes(emulator_port, &key);
    let of_server: Vec<&Value> = left
        .iter()
        .filter(|v| {
            let id = v["id"].as_str().unwrap_or_default();
            id == root_id
                || id == data_id
                || v["references"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|r| r["product_resource_id"] == server_id.as_str())
        })
        .collect();
    assert!(of_server.is_empty(), "left behind: {of_server:#?}");
    assert!(
        left.iter().any(|v| v["id"] == restored_id.as_str()),
        "the restored volume was not the server's and stays"
    );

    dev.stop();
}
