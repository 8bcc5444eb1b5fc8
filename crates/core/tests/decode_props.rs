//! Bounded property tests of decoding (the CI-sized run of the `core_json` fuzz target): no
//! JSON value, however malformed, panics a decoder, and whatever decodes re-encodes to a value
//! that decodes to the same thing (so the worker and gateway never mangle what they relay).
//!
//! `PROPTEST_CASES=200000 cargo test --release -p fleet-core --test decode_props` is the long
//! run recorded in docs/reliability.md.

use fleet_core::*;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// Keys the core types know, so generated objects reach past the first field.
const KEYS: &[&str] = &[
    "id",
    "name",
    "state",
    "state_detail",
    "commercial_type",
    "tags",
    "volumes",
    "size",
    "volume_type",
    "project",
    "organization",
    "creation_date",
    "modification_date",
    "zone",
    "image",
    "public_ips",
    "public_ip",
    "private_nics",
    "security_group",
    "placement_group",
    "allowed_actions",
    "boot_type",
    "arch",
    "server",
    "root_volume",
    "extra_volumes",
    "base_volume",
    "type",
    "message",
    "details",
    "resource",
    "resource_id",
    "argument_name",
    "reason",
    "help_message",
    "quota",
    "current",
    "rules",
    "policy_mode",
    "policy_type",
    "address",
    "prefix",
    "reverse",
    "family",
    "mac_address",
    "private_network_id",
    "action",
    "bucket",
    "key",
    "validation_key",
    "0",
    "1",
    "maintenances",
    "location",
    "ipv6",
    "dynamic_ip_required",
    "routed_ip_enabled",
    "protected",
    "hostname",
    "filesystems",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("running"),
            Just("stopped"),
            Just("available"),
            Just("b_ssd"),
            Just("l_ssd"),
            Just("sbs_volume"),
            Just("2026-11-28T10:00:00.000000+00:00"),
            Just("fr-par-1"),
            Just("11111111-1111-4111-8111-111111111111"),
            Just("not_found"),
            Just("invalid_arguments"),
            Just("x86_64"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|pairs| {
                Value::Object(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

/// 512 cases in CI; `PROPTEST_CASES` for the long run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

fn stable<T>(value: &Value) -> Result<(), TestCaseError>
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    if let Ok(decoded) = serde_json::from_value::<T>(value.clone()) {
        let encoded = serde_json::to_value(&decoded)
            .map_err(|e| TestCaseError::fail(format!("re-encoding failed: {e}")))?;
        let again: T = serde_json::from_value(encoded.clone())
            .map_err(|e| TestCaseError::fail(format!("re-decoding {encoded} failed: {e}")))?;
        prop_assert_eq!(again, decoded);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn resources_never_panic_and_round_trip(value in json_value()) {
        stable::<Server>(&value)?;
        stable::<Volume>(&value)?;
        stable::<Snapshot>(&value)?;
        stable::<Image>(&value)?;
        stable::<Ip>(&value)?;
        stable::<SecurityGroup>(&value)?;
        stable::<SecurityGroupRule>(&value)?;
        stable::<PlacementGroup>(&value)?;
        stable::<PrivateNic>(&value)?;
        stable::<Task>(&value)?;
        stable::<MigrationPlan>(&value)?;
    }

    #[test]
    fn requests_never_panic_and_round_trip(value in json_value()) {
        stable::<CreateServerRequest>(&value)?;
        stable::<UpdateServerRequest>(&value)?;
        stable::<ServerActionRequest>(&value)?;
        stable::<CreateVolumeRequest>(&value)?;
        stable::<CreateSnapshotRequest>(&value)?;
        stable::<CreateImageRequest>(&value)?;
        stable::<CreateIpRequest>(&value)?;
        stable::<CreateSecurityGroupRequest>(&value)?;
        stable::<SetSecurityGroupRulesRequest>(&value)?;
        stable::<CreatePlacementGroupRequest>(&value)?;
    }

    #[test]
    fn error_bodies_always_decode_to_some_error(value in json_value()) {
        // Any object is an error body of some kind (unknown types are kept whole).
        if let Value::Object(map) = &value {
            let error = ApiError::from_body(map.clone());
            prop_assert!(!error.to_string().is_empty());
        }
        let _ = serde_json::from_value::<ApiError>(value);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = serde_json::from_slice::<Server>(&bytes);
        let _ = serde_json::from_slice::<ApiError>(&bytes);
        let _ = serde_json::from_slice::<CreateServerRequest>(&bytes);
    }
}
