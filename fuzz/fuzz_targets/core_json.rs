//! Bytes → JSON → every fleet-core request and response type of the catalog, and the error
//! body: no input panics, and whatever decodes re-encodes to a fixed point (decode → encode
//! → decode → encode gives the same JSON twice), so nothing relayed is mangled.
#![no_main]

use std::sync::OnceLock;

use fleet_core::catalog::TypeRef;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn types() -> &'static Vec<TypeRef> {
    static TYPES: OnceLock<Vec<TypeRef>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let mut out: Vec<TypeRef> = Vec::new();
        for endpoint in fleet_core::ENDPOINTS {
            for ty in [endpoint.request.json_type(), endpoint.response.json_type()]
                .into_iter()
                .flatten()
            {
                if !out.iter().any(|t| t.name == ty.name) {
                    out.push(*ty);
                }
            }
        }
        out
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    // Raw bytes straight into the error type (the worker decodes upstream error bodies).
    let _ = serde_json::from_slice::<fleet_core::ApiError>(rest);
    let Ok(value) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    if let Value::Object(map) = &value {
        let error = fleet_core::ApiError::from_body(map.clone());
        assert!(!error.to_string().is_empty());
    }
    let types = types();
    let ty = types[usize::from(selector) % types.len()];
    if let Ok(once) = ty.reencode(&value) {
        let twice = ty
            .reencode(&once)
            .unwrap_or_else(|e| panic!("{}: re-decoding its own output failed: {e}", ty.name));
        assert_eq!(once, twice, "{}: encoding is not a fixed point", ty.name);
    }
});
