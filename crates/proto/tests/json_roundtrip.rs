//! Scaleway JSON from the recorded cassettes (read in place) converts into the
//! proto messages and back to the same JSON, modulo the normalisations documented
//! in `fleet_proto::json`: `null` ≡ absent key, `[]` ≡ absent key, and key order.

use std::path::PathBuf;

use fleet_proto::json::{JsonOptions, from_json, to_json, to_json_with};
use fleet_proto::v1;
use serde_json::Value;

fn cassettes() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/cassettes")
}

/// JSON bodies of the successful /instance/v1 responses of one cassette.
fn response_bodies(file: &str) -> Vec<Value> {
    let path = cassettes().join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("cassette yaml");
    let mut bodies = Vec::new();
    for interaction in doc["interactions"].as_sequence().expect("interactions") {
        let url = interaction["request"]["url"].as_str().unwrap_or_default();
        let code = interaction["response"]["code"].as_u64().unwrap_or_default();
        if !url.contains("/instance/v1/") || !(200..300).contains(&code) {
            continue;
        }
        let body = interaction["response"]["body"].as_str().unwrap_or_default();
        if let Ok(value) = serde_json::from_str::<Value>(body) {
            bodies.push(value);
        }
    }
    bodies
}

/// The first object under `key` in the cassette's responses that satisfies `pick`.
fn first_object(file: &str, key: &str, pick: impl Fn(&Value) -> bool) -> Value {
    response_bodies(file)
        .into_iter()
        .filter_map(|b| b.get(key).cloned())
        .flat_map(|v| match v {
            Value::Array(items) => items,
            other => vec![other],
        })
        .find(|v| v.is_object() && pick(v))
        .unwrap_or_else(|| panic!("no matching {key} in {file}"))
}

/// Removes `null` values and empty lists (recursively): the documented
/// normalisations (repeated fields have no presence, so `[]` is always written,
/// e.g. `tags` of the sbs_volume entries of Server.volumes that Scaleway omits).
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Converts `json` into `M` and back, and checks nothing changed but nulls.
fn assert_round_trip<M>(json: &Value) -> M
where
    M: prost::Message + prost::Name + Default + PartialEq + std::fmt::Debug,
{
    let message: M = from_json(json.clone()).expect("from_json");
    let back = to_json(&message);
    assert_eq!(
        without_nulls(&back),
        without_nulls(json),
        "{}",
        M::full_name()
    );
    // With Scaleway's nulls every key comes back, nulls included.
    let with_nulls = to_json_with(&message, JsonOptions::scaleway_nulls());
    if let (Value::Object(orig), Value::Object(out)) = (json, &with_nulls) {
        for key in orig.keys() {
            assert!(out.contains_key(key), "{}: key {key} lost", M::full_name());
        }
    }
    let again: M = from_json(with_nulls).expect("from_json of own output");
    assert_eq!(again, message, "{}", M::full_name());
    message
}

#[test]
fn running_server_round_trips() {
    let json = first_object(
        "scaleway-cli/test-create-server-ips-with-ipv6-and-ipv4.cassette.yaml",
        "server",
        |s| s["state"] == "running" && s["public_ips"].as_array().is_some_and(|a| !a.is_empty()),
    );
    let server: v1::Server = assert_round_trip(&json);
    assert_eq!(server.state, "running");
    assert!(server.location.is_some());
    assert!(!server.public_ips.is_empty());
    assert!(server.volumes.contains_key("0"));
    assert_eq!(server.private_ip, None);
}

#[test]
fn stopped_in_place_and_terminating_servers_keep_their_strings() {
    // A state with spaces and a volume state outside the documented enum.
    let mut json = first_object(
        "scaleway-cli/test-create-server-ips-with-ipv6-and-ipv4.cassette.yaml",
        "server",
        |_| true,
    );
    json["state"] = Value::from("stopped in place");
    json["volumes"]["0"]["state"] = Value::from("deleting");
    let server: v1::Server = assert_round_trip(&json);
    assert_eq!(server.state, "stopped in place");
    assert_eq!(server.volumes["0"].state.as_deref(), Some("deleting"));
}

#[test]
fn volume_round_trips() {
    let json = first_object(
        "scaleway-cli/test-create-server-volumes-valid-single-local-snapshot.cassette.yaml",
        "volume",
        |v| !v["server"].is_null(),
    );
    let volume: v1::Volume = assert_round_trip(&json);
    assert!(
        volume.size > u64::from(u32::MAX),
        "sizes are u64 bytes: {}",
        volume.size
    );
    assert!(volume.server.is_some());
}

#[test]
fn snapshot_round_trips() {
    let json = first_object(
        "scaleway-cli/test-create-server-volumes-valid-single-local-snapshot.cassette.yaml",
        "snapshot",
        |s| !s["base_volume"].is_null(),
    );
    let snapshot: v1::Snapshot = assert_round_trip(&json);
    assert!(snapshot.base_volume.is_some());
}

#[test]
fn security_group_rule_round_trips() {
    let json = first_object(
        "scaleway-cli/test-security-group-get-get.cassette.yaml",
        "rules",
        |r| r["dest_port_to"].is_null() && !r["dest_port_from"].is_null(),
    );
    let rule: v1::SecurityGroupRule = assert_round_trip(&json);
    assert!(rule.dest_port_from.is_some());
    assert_eq!(rule.dest_port_to, None);
}

#[test]
fn ip_round_trips() {
    let json = first_object(
        "scaleway-cli/test-ip-detach-with-ip.cassette.yaml",
        "ip",
        |ip| !ip["server"].is_null(),
    );
    let ip: v1::Ip = assert_round_trip(&json);
    assert!(ip.server.is_some());
    assert_eq!(ip.prefix, None);
}

#[test]
fn other_resources_round_trip() {
    assert_round_trip::<v1::SecurityGroup>(&first_object(
        "scaleway-cli/test-security-group-get-get.cassette.yaml",
        "security_group",
        |_| true,
    ));
    assert_round_trip::<v1::PlacementGroup>(&first_object(
        "scaleway-cli/test-get-placement-group-simple.cassette.yaml",
        "placement_group",
        |_| true,
    ));
    assert_round_trip::<v1::PrivateNic>(&first_object(
        "scaleway-cli/test-get-private-nic-get-from-id.cassette.yaml",
        "private_nic",
        |_| true,
    ));
    assert_round_trip::<v1::Image>(&first_object(
        "scaleway-cli/test-attach-filesystem-attach-filesystem.cassette.yaml",
        "image",
        |_| true,
    ));
}

#[test]
fn list_envelope_converts_into_the_list_response() {
    // Scaleway's list body {"servers": [...]} is the response message minus paging fields.
    let body =
        response_bodies("scaleway-cli/test-create-server-ips-with-ipv6-and-ipv4.cassette.yaml")
            .into_iter()
            .find(|b| b.get("servers").is_some_and(Value::is_array))
            .or_else(|| {
                Some(serde_json::json!({"servers": [first_object(
                    "scaleway-cli/test-create-server-ips-with-ipv6-and-ipv4.cassette.yaml",
                    "server",
                    |_| true,
                )]}))
            })
            .expect("list body");
    let list: v1::ListServersResponse = from_json(body.clone()).expect("from_json");
    assert_eq!(
        list.servers.len(),
        body["servers"].as_array().map_or(0, Vec::len)
    );
}

#[test]
fn unknown_keys_are_ignored_and_bad_types_rejected() {
    let ok: v1::PlacementGroupServer = from_json(
        serde_json::json!({"id": "x", "name": "n", "policy_respected": true, "new_field": 1}),
    )
    .expect("unknown keys are ignored");
    assert_eq!(ok.id, "x");
    let err = from_json::<v1::Volume>(serde_json::json!({"size": "big"})).expect_err("bad type");
    assert!(err.to_string().contains("fleet.v1.Volume"), "{err}");
}

#[test]
fn defaults_are_written_and_unset_nullables_are_not() {
    let json = to_json(&v1::SecurityGroupRule {
        id: "r".into(),
        ..Default::default()
    });
    assert_eq!(json["position"], 0);
    assert_eq!(json["editable"], false);
    assert_eq!(json["protocol"], "");
    assert!(json.get("dest_port_from").is_none());
    let scw = to_json_with(
        &v1::SecurityGroupRule::default(),
        JsonOptions::scaleway_nulls(),
    );
    assert!(scw["dest_port_from"].is_null() && scw.get("dest_port_from").is_some());
}

#[test]
fn operation_and_status_print_as_json() {
    use prost::Name as _;
    let op = v1::Operation {
        name: "operations/42".into(),
        done: true,
        metadata: Some(
            prost_types::Any::from_msg(&v1::OperationMetadata {
                kind: "create_snapshot".into(),
                percent: 100,
                ..Default::default()
            })
            .expect("pack"),
        ),
        result: Some(v1::operation::Result::Response(
            prost_types::Any::from_msg(&v1::Snapshot {
                id: "s".into(),
                size: 20_000_000_000,
                ..Default::default()
            })
            .expect("pack"),
        )),
    };
    let json = to_json(&op);
    assert_eq!(
        json["metadata"]["@type"],
        format!("type.googleapis.com/{}", v1::OperationMetadata::full_name())
    );
    assert_eq!(json["metadata"]["kind"], "create_snapshot");
    assert_eq!(json["response"]["size"], 20_000_000_000u64);
    let back: v1::Operation = from_json(json).expect("from_json");
    assert_eq!(back, op);
}

/// Every server, volume, snapshot, image, IP, security group, rule, placement
/// group and private NIC of every cassette survives the round trip: the protos
/// model every key Scaleway was ever recorded sending.
#[test]
fn every_recorded_resource_round_trips() {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in std::fs::read_dir(cassettes()).expect("cassettes dir") {
        let dir = dir.expect("entry").path();
        if dir.is_dir() {
            for f in std::fs::read_dir(&dir).expect("dir") {
                files.push(f.expect("entry").path());
            }
        }
    }
    files.sort();
    let mut checked = 0usize;
    for file in &files {
        let rel = file
            .strip_prefix(cassettes())
            .expect("prefix")
            .to_string_lossy()
            .into_owned();
        for body in response_bodies(&rel) {
            let Value::Object(map) = &body else { continue };
            for (key, value) in map {
                let items: Vec<&Value> = match value {
                    Value::Array(items) => items.iter().collect(),
                    Value::Object(_) => vec![value],
                    _ => continue,
                };
                for item in items {
                    checked += match key.as_str() {
                        "server" | "servers" if item.get("commercial_type").is_some() => {
                            check::<v1::Server>(item, &rel)
                        }
                        "volume" | "volumes" if item.get("volume_type").is_some() => {
                            check::<v1::Volume>(item, &rel)
                        }
                        "snapshot" | "snapshots" => check::<v1::Snapshot>(item, &rel),
                        "image" | "images" => check::<v1::Image>(item, &rel),
                        "ip" | "ips" => check::<v1::Ip>(item, &rel),
                        "security_group" | "security_groups" => {
                            check::<v1::SecurityGroup>(item, &rel)
                        }
                        "rule" | "rules" => check::<v1::SecurityGroupRule>(item, &rel),
                        "placement_group" | "placement_groups" => {
                            check::<v1::PlacementGroup>(item, &rel)
                        }
                        "private_nic" | "private_nics" => check::<v1::PrivateNic>(item, &rel),
                        "task" => check::<v1::Task>(item, &rel),
                        _ => 0,
                    };
                }
            }
        }
    }
    assert!(checked > 1000, "only {checked} objects checked");
    println!("{checked} recorded objects round-tripped");
}

fn check<M: prost::Message + prost::Name + Default>(json: &Value, file: &str) -> usize {
    let message: M = from_json(json.clone()).unwrap_or_else(|e| panic!("{file}: {e}"));
    let back = to_json(&message);
    assert_eq!(
        without_nulls(&back),
        without_nulls(json),
        "{file}: {}",
        M::full_name()
    );
    1
}
