//! The storage commands of the real `fleetctl` binary against the in-test gateway of
//! `support`: what each command sends (recorded requests) for volumes and snapshots of
//! both storage APIs, and the list table naming the API of each volume.

mod support;

use serde_json::{Value, json};
use support::storage::{SNAPSHOT_ID, VOLUME_ID};
use support::{TOKEN, fleetctl, rows, start};

/// The request of the one call of `method`, with its fresh request_id checked and removed.
fn sent(gateway: &support::Gateway, method: &str) -> Value {
    let calls = gateway.calls(method);
    assert_eq!(calls.len(), 1, "{method}: {calls:?}");
    let mut request = calls[0].request.clone();
    let id = request
        .as_object_mut()
        .unwrap()
        .remove("request_id")
        .unwrap();
    uuid::Uuid::parse_str(id.as_str().unwrap()).unwrap();
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_create_takes_a_size_with_units_and_iops() {
    let (addr, gateway) = start().await;
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "volumes", "create", "--zone", "fr-par-1", "--name", "data", "--size", "20GB",
            "--iops", "15000",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "operations/volume-1\n");
    assert_eq!(
        sent(&gateway, "CreateVolume"),
        json!({"zone": "fr-par-1", "name": "data", "tags": [], "size": 20_000_000_000u64,
               "perf_iops": 15000})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_resize_sends_what_changes_and_needs_a_change() {
    let (addr, gateway) = start().await;
    let run = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "volumes", "resize", "--zone", "nl-ams-1", VOLUME_ID, "--size", "40GB", "--iops",
            "15000",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "operations/resize-1\n");
    assert_eq!(
        sent(&gateway, "ResizeVolume"),
        json!({"zone": "nl-ams-1", "volume_id": VOLUME_ID, "size": 40_000_000_000u64,
               "perf_iops": 15000})
    );

    let iops_only = fleetctl(
        addr,
        Some(TOKEN),
        &[
            "volumes", "resize", "--zone", "nl-ams-1", VOLUME_ID, "--iops", "5000", "--wait",
        ],
    )
    .await;
    assert_eq!(iops_only.code, 0, "{}", iops_only.stderr);
    let calls = gateway.calls("ResizeVolume");
    assert_eq!(calls[1].request["perf_iops"], 5000);
    assert!(calls[1].request.get("size").is_none(), "{:?}", calls[1]);
    assert_eq!(
        gateway.calls("WatchOperation")[0].request["name"],
        "operations/resize-1"
    );

    // Nothing to change is a usage error, before any call.
    let nothing = fleetctl(
        addr,
        Some(TOKEN),
        &["volumes", "resize", "--zone", "nl-ams-1", VOLUME_ID],
    )
    .await;
    assert_eq!(nothing.code, 2, "{}", nothing.stderr);
    assert_eq!(gateway.calls("ResizeVolume").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_create_export_import_and_restore() {
    let (addr, gateway) = start().await;
    let zone = ["--zone", "fr-par-1"];
    let runs = [
        (
            vec![
                "snapshots",
                "create",
                "--name",
                "root-snap",
                "--volume",
                VOLUME_ID,
            ],
            "operations/snapshot-1",
        ),
        (
            vec![
                "snapshots",
                "export",
                SNAPSHOT_ID,
                "--bucket",
                "backups",
                "--key",
                "root.qcow2",
            ],
            "operations/export-1",
        ),
        (
            vec![
                "snapshots",
                "import",
                "--name",
                "restored",
                "--bucket",
                "backups",
                "--key",
                "root.qcow2",
                "--size",
                "10GB",
                "--tag",
                "imported",
            ],
            "operations/import-1",
        ),
        (
            vec![
                "snapshots",
                "restore",
                SNAPSHOT_ID,
                "--name",
                "copy",
                "--iops",
                "5000",
            ],
            "operations/volume-1",
        ),
    ];
    for (args, operation) in runs {
        let mut args = args;
        args.splice(2..2, zone);
        let run = fleetctl(addr, Some(TOKEN), &args).await;
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout.trim(), operation, "{args:?}");
    }
    assert_eq!(
        sent(&gateway, "CreateSnapshot"),
        json!({"zone": "fr-par-1", "name": "root-snap", "volume_id": VOLUME_ID, "tags": []})
    );
    assert_eq!(
        sent(&gateway, "ExportSnapshot"),
        json!({"zone": "fr-par-1", "snapshot_id": SNAPSHOT_ID, "bucket": "backups",
               "key": "root.qcow2"})
    );
    assert_eq!(
        sent(&gateway, "ImportSnapshot"),
        json!({"zone": "fr-par-1", "name": "restored", "bucket": "backups",
               "key": "root.qcow2", "size": 10_000_000_000u64, "tags": ["imported"]})
    );
    // A restore is a volume made from the snapshot.
    assert_eq!(
        sent(&gateway, "CreateVolume"),
        json!({"zone": "fr-par-1", "name": "copy", "base_snapshot": SNAPSHOT_ID,
               "perf_iops": 5000, "tags": []})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_list_all_zones_names_the_api_of_each_volume() {
    let (addr, gateway) = start().await;
    let run = fleetctl(addr, Some(TOKEN), &["volumes", "list", "--zone", "all"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = rows(&run.stdout);
    assert_eq!(
        rows[0],
        [
            "ID", "NAME", "ZONE", "API", "TYPE", "SIZE", "IOPS", "STATE", "SERVER"
        ]
    );
    assert_eq!(
        rows[1][..5],
        ["l1", "scratch", "fr-par-1", "instance", "l_ssd"]
    );
    assert_eq!(
        rows[2],
        [
            VOLUME_ID,
            "ubuntu_noble_sbs_volume_0",
            "nl-ams-1",
            "block",
            "sbs_volume",
            "10 GB",
            "5000",
            "in_use"
        ]
    );
    assert_eq!(gateway.calls("ListVolumes")[0].request["zone"], "all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_storage_commands_document_their_flags() {
    let (addr, gateway) = start().await;
    let pages = [
        (
            &["volumes", "--help"][..],
            &["resize  Grow an SBS volume or change its IOPS"][..],
        ),
        (
            &["volumes", "create", "--help"],
            &["--size <SIZE>", "--iops <IOPS>", "5000 or 15000"],
        ),
        (
            &["volumes", "resize", "--help"],
            &["<VOLUME_ID>", "--size <SIZE>", "--iops <IOPS>", "--wait"],
        ),
        (
            &["snapshots", "--help"],
            &[
                "import   Import a qcow2 object",
                "restore  Restore a snapshot to a new volume",
            ],
        ),
        (
            &["snapshots", "import", "--help"],
            &[
                "--bucket <BUCKET>",
                "--key <KEY>",
                "--name <NAME>",
                "--size <SIZE>",
            ],
        ),
        (
            &["snapshots", "restore", "--help"],
            &[
                "<SNAPSHOT_ID>",
                "--name <NAME>",
                "--iops <IOPS>",
                "--volume-type",
            ],
        ),
    ];
    for (args, expected) in pages {
        let run = fleetctl(addr, None, args).await;
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        for text in expected {
            assert!(
                run.stdout.contains(text),
                "{args:?} lacks {text:?}:\n{}",
                run.stdout
            );
        }
    }
    assert!(
        gateway.seen.lock().unwrap().is_empty(),
        "help calls nothing"
    );
}
