//! The comparison of one recorded answer with the emulated one. The rules
//! are the same for every API; only the key tables differ:
//!
//! * every object has the same keys (bar [`DRIFT_KEYS`]); a data-keyed map
//!   (`server.volumes`, `image.extra_volumes`) has the same keys, each entry
//!   compared with its namesake; the `products/servers` map is compared by
//!   key too, but which types a page holds depends on the date of the
//!   recording (the offer changed month by month, the emulator serves the
//!   newest of each): a type on one side only must be in the emulator's
//!   whole catalogue, every type on both sides is compared;
//! * every array has the same length, items compared in order;
//! * `null` meets only `null`, except for the keys the API itself sets or
//!   leaves unset depending on timing ([`Rules::nullable`]);
//! * same JSON types everywhere; same booleans everywhere; same strings
//!   under the enum keys (states, types, error `type` and `resource`…) and
//!   same numbers under the number keys.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::Api;

/// The key tables of one API.
pub struct Rules {
    /// Keys whose string values (or arrays of strings) must be equal.
    enums: &'static [&'static str],
    /// Keys whose numbers must be equal.
    numbers: &'static [&'static str],
    /// Keys that may be `null` on one side only, each for a timing reason.
    nullable: &'static [&'static str],
}

/// Instance (v1 and v2alpha1) keys whose values do not depend on timing: the
/// resource's own state (the harness waited for the recorded one), enums,
/// error `type`/`resource`, the request's own values echoed back.
const INSTANCE_ENUMS: &[&str] = &[
    "state",
    "type",
    "resource",
    "reason",
    "argument_name",
    "volume_type",
    "protocol",
    "direction",
    "action",
    "policy_mode",
    "policy_type",
    "commercial_type",
    "arch",
    "boot_type",
    "boot_types",
    "inbound_default_policy",
    "outbound_default_policy",
    "family",
    "provisioning_mode",
    "allowed_actions",
    "zone",
    "tags",
    "ip_range",
    "netmask",
];

/// Instance numbers that do not depend on timing (sizes, ports, counts,
/// positions, offer shapes).
const INSTANCE_NUMBERS: &[&str] = &[
    "total_count",
    "size",
    "dest_port_from",
    "dest_port_to",
    "position",
    "ncpus",
    "ram",
    "gpu",
    "min_size",
    "max_size",
];

/// Instance keys the API sets or leaves `null` depending on when it was asked.
const INSTANCE_TIMING_NULLABLE: &[&str] = &[
    // `products/servers`: `null` in the offers recorded before 2026, a
    // number since (the emulator's catalogue is the newest).
    "scratch_storage_max_size",
];

/// Keys of Block bodies whose string values are enums that do not depend
/// on timing (`type` is a volume type, a reference type or an error type).
const BLOCK_ENUMS: &[&str] = &[
    "type",
    "class",
    "product_resource_type",
    "status",
    "resource",
    "reason",
    "argument_name",
    "zone",
    "tags",
];

/// Keys of Block bodies whose numbers must match exactly.
const BLOCK_NUMBERS: &[&str] = &["total_count", "perf_iops", "size"];

/// Keys of Block bodies that may be `null` on one side and set on the other only because of
/// timing: when the recording was made relative to an update, a detach, or the v1 rollout of
/// KMS.
const BLOCK_TIMING_NULLABLE: &[&str] = &["updated_at", "last_detached_at", "kms_key_id"];

/// Fields that appeared or disappeared across API versions in the
/// recordings (2025 vs 2026); the emulator emits the newest form.
/// (`kms_key_id` is in the Block v1 volumes recorded since 2026-07, not in
/// the older ones.)
const DRIFT_KEYS: &[&str] = &[
    "kms_key_id",
    "dns",
    "export_uri",
    "admin_password_encryption_ssh_key_id",
    "admin_password_encrypted_value",
    "scratch_storage_max_volumes_count",
];

impl Api {
    /// This API's key tables.
    pub fn rules(self) -> Rules {
        match self {
            Api::InstanceV1 | Api::InstanceV2alpha1 => Rules {
                enums: INSTANCE_ENUMS,
                numbers: INSTANCE_NUMBERS,
                nullable: INSTANCE_TIMING_NULLABLE,
            },
            Api::Block => Rules {
                enums: BLOCK_ENUMS,
                numbers: BLOCK_NUMBERS,
                nullable: BLOCK_TIMING_NULLABLE,
            },
        }
    }
}

/// Whether key `k` may be in one recording of object `emu` and not in
/// another: a [`DRIFT_KEYS`] key, or the `state` of an SBS entry of
/// `server.volumes` (absent in the 2025-09 recordings, present since).
fn drifted(k: &str, emu: &Map<String, Value>) -> bool {
    DRIFT_KEYS.contains(&k)
        || (k == "state" && emu.get("volume_type").and_then(Value::as_str) == Some("sbs_volume"))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Objects keyed by data (type names, indices) rather than by schema.
fn is_data_map(path: &str) -> bool {
    path == "$.servers" || path.ends_with(".volumes") || path.ends_with(".extra_volumes")
}

impl Rules {
    /// Compare a recorded body with the emulated one; the error names the
    /// first difference by its JSON path.
    /// `catalogue` is every commercial type the emulator offers in the
    /// zone, for a `products/servers` answer.
    pub fn compare(
        &self,
        rec: &Value,
        emu: &Value,
        catalogue: Option<&HashSet<String>>,
    ) -> Result<(), String> {
        Cmp {
            rules: self,
            catalogue,
        }
        .at(rec, emu, "$", "")
    }
}

/// One comparison: the rules and the zone's catalogue.
struct Cmp<'a> {
    rules: &'a Rules,
    catalogue: Option<&'a HashSet<String>>,
}

impl Cmp<'_> {
    /// `key` is the nearest object key above the value (array items inherit
    /// their array's key).
    fn at(&self, rec: &Value, emu: &Value, path: &str, key: &str) -> Result<(), String> {
        let differ = || {
            Err(format!(
                "{path}: {} recorded, {} emulated",
                show(rec),
                show(emu)
            ))
        };
        match (rec, emu) {
            (Value::Null, Value::Null) => Ok(()),
            (Value::Null, _) | (_, Value::Null) if self.rules.nullable.contains(&key) => Ok(()),
            (Value::Object(a), Value::Object(b)) => self.objects(a, b, path),
            (Value::Array(a), Value::Array(b)) => {
                if a.len() != b.len() {
                    return Err(format!(
                        "{path}: {} items recorded, {} emulated",
                        a.len(),
                        b.len()
                    ));
                }
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    self.at(x, y, &format!("{path}[{i}]"), key)?;
                }
                Ok(())
            }
            (Value::Bool(a), Value::Bool(b)) if a != b => differ(),
            (Value::String(a), Value::String(b)) if a != b && self.rules.enums.contains(&key) => {
                differ()
            }
            (Value::Number(a), Value::Number(b)) if a != b && self.rules.numbers.contains(&key) => {
                differ()
            }
            (a, b) if kind(a) == kind(b) => Ok(()),
            _ => differ(),
        }
    }

    fn objects(
        &self,
        a: &Map<String, Value>,
        b: &Map<String, Value>,
        path: &str,
    ) -> Result<(), String> {
        let data_map = is_data_map(path);
        let catalogue = self.catalogue.filter(|_| path == "$.servers");
        for k in a.keys() {
            if b.contains_key(k) {
                continue;
            }
            let dated = catalogue.is_some_and(|c| c.contains(k));
            if !dated && (data_map || !drifted(k, b)) {
                return Err(format!("{path}: key {k:?} missing"));
            }
        }
        for k in b.keys() {
            if !a.contains_key(k) && catalogue.is_none() && (data_map || !drifted(k, b)) {
                return Err(format!("{path}: extra key {k:?}"));
            }
        }
        for (k, v) in a {
            if let Some(w) = b.get(k) {
                // A data map's keys are data: its entries are compared as
                // wholes, under the map's own key.
                let key = if data_map {
                    path.rsplit('.').next().unwrap_or_default()
                } else {
                    k.as_str()
                };
                self.at(v, w, &format!("{path}.{k}"), key)?;
            }
        }
        Ok(())
    }
}

/// A value as shown in a mismatch: scalars in full, containers by kind.
fn show(v: &Value) -> String {
    match v {
        Value::Array(_) | Value::Object(_) => kind(v).to_owned(),
        Value::String(s) if s.chars().count() > 60 => {
            format!("{:?}…", s.chars().take(60).collect::<String>())
        }
        other => other.to_string(),
    }
}
