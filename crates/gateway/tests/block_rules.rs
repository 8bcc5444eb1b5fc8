//! The field rules of the Block Storage fields: SBS IOPS and sizes on volume creates,
//! resizes and imports, each refusal naming its field (through the public rules entry,
//! `fleet_gateway::request::rules::validate`).

use fleet_gateway::GatewayError;
use fleet_gateway::request::methods::method;
use fleet_gateway::request::rules::validate;
use fleet_proto::json::to_json;
use fleet_proto::v1;
use serde_json::Value;

const GB: u64 = 1_000_000_000;

/// The (field, description) of every violation of `request` for `grpc_method`.
fn violations(grpc_method: &str, request: &Value) -> Vec<(String, String)> {
    match validate(method(grpc_method).unwrap(), request) {
        Ok(()) => Vec::new(),
        Err(GatewayError::InvalidArgument(v)) => {
            v.into_iter().map(|v| (v.field, v.description)).collect()
        }
        Err(other) => panic!("{other:?}"),
    }
}

#[test]
fn sbs_volumes_take_known_iops_and_their_sizes() {
    let create = |size: u64, volume_type: Option<&str>, perf_iops: Option<u32>| {
        violations(
            "fleet.v1.Volumes/CreateVolume",
            &to_json(&v1::CreateVolumeRequest {
                zone: "fr-par-1".into(),
                name: "data".into(),
                size: Some(size),
                volume_type: volume_type.map(str::to_owned),
                perf_iops,
                ..Default::default()
            }),
        )
    };
    assert!(create(20 * GB, Some("sbs_volume"), Some(15000)).is_empty());
    assert!(create(20 * GB, None, Some(5000)).is_empty());
    let bad_iops = create(20 * GB, None, Some(7000));
    assert_eq!(bad_iops.len(), 1, "{bad_iops:?}");
    assert_eq!(bad_iops[0].0, "perf_iops");
    assert!(bad_iops[0].1.contains("5000, 15000"), "{bad_iops:?}");
    let local = create(20 * GB, Some("l_ssd"), Some(5000));
    assert_eq!(local[0].0, "perf_iops");
    assert!(local[0].1.contains("sbs_volume"), "{local:?}");
    // SBS volumes are 5 GB to 10 TB; a local one may be smaller.
    assert_eq!(create(2 * GB, Some("sbs_volume"), None)[0].0, "size");
    assert_eq!(create(2 * GB, None, Some(5000))[0].0, "size");
    assert_eq!(create(20_000 * GB, Some("sbs_volume"), None)[0].0, "size");
    assert!(create(2 * GB, Some("l_ssd"), None).is_empty());
}

#[test]
fn a_resize_names_a_volume_and_a_change() {
    let resize = |size: Option<u64>, perf_iops: Option<u32>, volume_id: &str| {
        violations(
            "fleet.v1.Volumes/ResizeVolume",
            &to_json(&v1::ResizeVolumeRequest {
                zone: "fr-par-1".into(),
                volume_id: volume_id.into(),
                size,
                perf_iops,
                ..Default::default()
            }),
        )
    };
    let id = "11111111-2222-3333-4444-555555555555";
    assert!(resize(Some(40 * GB), None, id).is_empty());
    assert!(resize(None, Some(15000), id).is_empty());
    let fields = |v: Vec<(String, String)>| v.into_iter().map(|(f, _)| f).collect::<Vec<_>>();
    assert_eq!(fields(resize(None, None, id)), ["size"]);
    assert_eq!(fields(resize(Some(40 * GB + 1), None, id)), ["size"]);
    assert_eq!(fields(resize(Some(20_000 * GB), None, id)), ["size"]);
    assert_eq!(fields(resize(None, Some(1), id)), ["perf_iops"]);
    assert_eq!(fields(resize(Some(40 * GB), None, "")), ["volume_id"]);
    assert_eq!(fields(resize(Some(40 * GB), None, "nope")), ["volume_id"]);
}

#[test]
fn an_import_names_its_object_and_snapshot() {
    let missing = violations(
        "fleet.v1.Snapshots/ImportSnapshot",
        &to_json(&v1::ImportSnapshotRequest {
            zone: "fr-par-1".into(),
            size: Some(GB + 1),
            ..Default::default()
        }),
    );
    let mut fields: Vec<&str> = missing.iter().map(|(f, _)| f.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["bucket", "key", "name", "size"]);
    let bad_bucket = violations(
        "fleet.v1.Snapshots/ImportSnapshot",
        &to_json(&v1::ImportSnapshotRequest {
            zone: "fr-par-1".into(),
            bucket: "No_Such".into(),
            key: "k".into(),
            name: "n".into(),
            ..Default::default()
        }),
    );
    assert_eq!(bad_bucket[0].0, "bucket");
}
