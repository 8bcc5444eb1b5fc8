//! Bounded property test of the gateway's request checks (the CI-sized run of the
//! `gateway_request` fuzz target): for every request message of every `fleet.v1` method,
//! arbitrary messages built over the descriptors (every field kind, nested messages, maps,
//! repeated fields, hostile and random strings) go through
//! `fleet_gateway::request::offline::check_request` (decode → JSON → validate → convert → job / page
//! token, as the server does). No input panics, and every refusal is INVALID_ARGUMENT with a
//! BadRequest naming a field.
//!
//! 256 cases by default; `PROPTEST_CASES=100000 cargo test --release -p fleet-gateway --test
//! validate_props` is the long run recorded in docs/reliability.md.

use proptest::prelude::*;
use prost::Message as _;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, Value};
use tonic_types::StatusExt as _;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// A small deterministic generator (splitmix64): the case is its method and seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const PLAUSIBLE: &[&str] = &[
    "fr-par-1",
    "nl-ams-1",
    "all",
    "11111111-1111-4111-8111-111111111111",
    "DEV1-S",
    "web-1",
    "ubuntu_noble",
    "poweron",
    "terminate",
    "l_ssd",
    "sbs_volume",
    "routed_ipv4",
    "accept",
    "inbound",
    "TCP",
    "x86_64",
    "10.0.0.0/8",
    "operations/1",
    "queued",
    "name,tags",
    "bootType",
    "*",
    "k",
    "my-bucket",
];

const HOSTILE: &[&str] = &[
    "",
    "' OR 1=1 --",
    "x'; DROP TABLE jobs; --",
    "../../etc/passwd",
    "..%2f..%2f",
    "a\r\nX-Injected: 1",
    "\0",
    "a\u{202e}b",
    "a\u{200b}b",
    "аdmin",
    "😀😀😀",
    "%00",
    "{\"a\":1}",
    "eyJvIjoxODQ0Njc0NDA3MzcwOTU1MTYxNSwiaCI6IngifQ",
    "operations/-1",
    "operations/99999999999999999999",
    "fr-par-1/../x",
    "__",
    "a__b",
    "A,B",
];

fn string(g: &mut Gen) -> String {
    match g.below(10) {
        0..=3 => (*g.pick(PLAUSIBLE)).to_owned(),
        4..=6 => (*g.pick(HOSTILE)).to_owned(),
        7 => "a".repeat(g.below(600)),
        _ => {
            let len = g.below(24);
            (0..len)
                .map(|_| match g.below(4) {
                    0 => char::from(b'a' + (g.below(26) as u8)),
                    1 => char::from(g.below(128) as u8),
                    _ => char::from_u32(g.below(0x3_0000) as u32).unwrap_or('?'),
                })
                .collect()
        }
    }
}

fn int(g: &mut Gen) -> i64 {
    match g.below(8) {
        0 => 0,
        1 => -1,
        2 => i64::MAX,
        3 => i64::MIN,
        4 => 20_000_000_000,
        5 => 65_535,
        _ => (g.next() as i64) % 1_000,
    }
}

fn scalar(g: &mut Gen, kind: &Kind, depth: usize) -> Option<Value> {
    Some(match kind {
        Kind::Double => Value::F64(*g.pick(&[0.0, -1.5, f64::NAN, f64::INFINITY, 1e300])),
        Kind::Float => Value::F32(*g.pick(&[0.0, 2.5, f32::NAN, f32::NEG_INFINITY])),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(int(g) as i32),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(int(g)),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(int(g) as u32),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(int(g) as u64),
        Kind::Bool => Value::Bool(g.chance(50)),
        Kind::String => Value::String(string(g)),
        Kind::Bytes => Value::Bytes(
            (0..g.below(40))
                .map(|_| g.next() as u8)
                .collect::<Vec<u8>>()
                .into(),
        ),
        Kind::Enum(e) => {
            let values: Vec<i32> = e.values().map(|v| v.number()).collect();
            Value::EnumNumber(if g.chance(80) && !values.is_empty() {
                *g.pick(&values)
            } else {
                int(g) as i32
            })
        }
        Kind::Message(m) => {
            if depth > 3 {
                return None;
            }
            Value::Message(message(g, m, depth + 1))
        }
    })
}

fn map_key(g: &mut Gen, kind: &Kind) -> MapKey {
    match kind {
        Kind::String => MapKey::String(string(g)),
        Kind::Bool => MapKey::Bool(g.chance(50)),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => MapKey::I32(int(g) as i32),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => MapKey::I64(int(g)),
        Kind::Uint32 | Kind::Fixed32 => MapKey::U32(int(g) as u32),
        _ => MapKey::U64(int(g) as u64),
    }
}

fn field_value(g: &mut Gen, field: &FieldDescriptor, depth: usize) -> Option<Value> {
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            return None;
        };
        let key = entry.map_entry_key_field().kind();
        let value = entry.map_entry_value_field();
        let mut map = std::collections::HashMap::new();
        for _ in 0..g.below(4) {
            let v = scalar(g, &value.kind(), depth)?;
            map.insert(map_key(g, &key), v);
        }
        return Some(Value::Map(map));
    }
    if field.is_list() {
        let items: Option<Vec<Value>> = (0..g.below(4))
            .map(|_| scalar(g, &field.kind(), depth))
            .collect();
        return Some(Value::List(items?));
    }
    scalar(g, &field.kind(), depth)
}

fn message(g: &mut Gen, descriptor: &MessageDescriptor, depth: usize) -> DynamicMessage {
    let mut message = DynamicMessage::new(descriptor.clone());
    for field in descriptor.fields() {
        // Plausible requests more often than not, so checks past the zone are reached.
        let set = match field.name() {
            "zone" => {
                if g.chance(80) {
                    message.set_field(
                        &field,
                        Value::String((*g.pick(&["fr-par-1", "all"])).to_owned()),
                    );
                    continue;
                }
                true
            }
            _ => g.chance(45),
        };
        if !set {
            continue;
        }
        if let Some(oneof) = field.containing_oneof()
            && oneof
                .fields()
                .any(|f| f.number() != field.number() && message.has_field(&f))
        {
            continue;
        }
        if let Some(value) = field_value(g, &field, depth) {
            message.set_field(&field, value);
        }
    }
    message
}

fn methods() -> Vec<String> {
    fleet_gateway::request::offline::method_names()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_requests_are_accepted_or_refused_naming_a_field(
        index in any::<usize>(),
        seed in any::<u64>(),
    ) {
        let methods = methods();
        let method = &methods[index % methods.len()];
        let input = fleet_gateway::request::offline::input_of(method).unwrap();
        let mut g = Gen(seed);
        let request = message(&mut g, &input, 0);
        let bytes = request.encode_to_vec();
        if let Err(status) = fleet_gateway::request::offline::check_request(method, &bytes) {
            prop_assert_eq!(
                status.code(),
                tonic::Code::InvalidArgument,
                "{} (seed {}): {}",
                method,
                seed,
                status.message()
            );
            let details = status.get_error_details();
            let fields: Vec<String> = details
                .bad_request()
                .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
                .unwrap_or_default();
            prop_assert!(
                !fields.is_empty() && fields.iter().all(|f| !f.is_empty()),
                "{} (seed {}): the refusal names no field: {}",
                method,
                seed,
                status.message()
            );
        }
    }

    #[test]
    fn arbitrary_bytes_are_refused_naming_a_field(
        index in any::<usize>(),
        bytes in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let methods = methods();
        let method = &methods[index % methods.len()];
        if let Err(status) = fleet_gateway::request::offline::check_request(method, &bytes) {
            prop_assert_eq!(status.code(), tonic::Code::InvalidArgument, "{}: {}", method, status.message());
            prop_assert!(status.get_error_details().bad_request().is_some(), "{}", method);
        }
    }
}

/// Every method is reached by the generator: the case count covers them many times over,
/// and each method's empty request is answered without a panic.
#[test]
fn every_method_has_checks() {
    let methods = methods();
    assert!(methods.len() >= 88, "{}", methods.len());
    for method in &methods {
        let _ = fleet_gateway::request::offline::check_request(method, &[]);
    }
}
