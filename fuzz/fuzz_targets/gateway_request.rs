//! Bytes → the gateway's request checks (`fleet_gateway::request::offline::check_request`: decode →
//! JSON → validate → convert → job / page token), for a method chosen by the first byte. No
//! input may panic, and every refusal must be INVALID_ARGUMENT with a BadRequest naming a
//! field (promise 6).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tonic_types::StatusExt as _;

fn methods() -> &'static Vec<String> {
    static METHODS: OnceLock<Vec<String>> = OnceLock::new();
    METHODS.get_or_init(fleet_gateway::request::offline::method_names)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let methods = methods();
    let method = &methods[usize::from(selector) % methods.len()];
    if let Err(status) = fleet_gateway::request::offline::check_request(method, body) {
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{method}: {}",
            status.message()
        );
        let details = status.get_error_details();
        let named = details.bad_request().is_some_and(|b| {
            !b.field_violations.is_empty() && b.field_violations.iter().all(|v| !v.field.is_empty())
        });
        assert!(
            named,
            "{method}: refusal names no field: {}",
            status.message()
        );
    }
});
