//! Tables for people, drawn from the JSON form of a message and its descriptor.
//!
//! A List response (a message with a repeated or map field of items) prints one
//! row per item; any other message prints as `KEY  value` lines. Columns come
//! from [`columns`], keyed by the item's message name; a type without columns
//! falls back to its id/name/zone/state fields, or every non-empty leaf, so new
//! messages still print. Paths are dotted JSON paths (`public_ips.0.address`), or
//! `@…` for a column computed from the whole item (a policy's schedule summary:
//! [`crate::policies::table_cell`]).
//! Only the table goes to stdout; notes such as unreachable zones go to stderr
//! (see [`crate::output`]) so the table stays parseable.

use prost_reflect::{Kind, MessageDescriptor};
use serde_json::Value;

/// Columns for an item message: (header, dotted path).
fn columns(message: &str) -> Option<&'static [(&'static str, &'static str)]> {
    let columns: &'static [(&'static str, &'static str)] = match message {
        "fleet.v1.Server" => &[
            ("ID", "id"),
            ("NAME", "name"),
            ("ZONE", "zone"),
            ("TYPE", "commercial_type"),
            ("STATE", "state"),
            ("PUBLIC IP", "public_ips.0.address"),
            ("TAGS", "tags"),
        ],
        "fleet.v1.Image" => &[
            ("ID", "id"),
            ("NAME", "name"),
            ("ZONE", "zone"),
            ("ARCH", "arch"),
            ("STATE", "state"),
            ("PUBLIC", "public"),
            ("ROOT VOLUME", "root_volume.id"),
        ],
        "fleet.v1.Snapshot" => &[
            ("ID", "id"),
            ("NAME", "name"),
            ("ZONE", "zone"),
            ("API", "api"),
            ("VOLUME TYPE", "volume_type"),
            ("SIZE", "size"),
            ("STATE", "state"),
            ("BASE VOLUME", "base_volume.id"),
        ],
        "fleet.v1.Volume" => &[
            ("ID", "id"),
            ("NAME", "name"),
            ("ZONE", "zone"),
            ("API", "api"),
            ("TYPE", "volume_type"),
            ("SIZE", "size"),
            ("IOPS", "perf_iops"),
            ("STATE", "state"),
            ("SERVER", "server.id"),
        ],
        "fleet.v1.SecurityGroup" => &[
            ("ID", "id"),
            ("NAME", "name"),
            ("ZONE", "zone"),
            ("INBOUND", "inbound_default_policy"),
            ("OUTBOUND", "outbound_default_policy"),
            ("STATEFUL", "stateful"),
            ("PROJECT DEFAULT", "project_default"),
        ],
        "fleet.v1.SecurityGroupRule" => &[
            ("ID", "id"),
            ("POSITION", "position"),
            ("DIRECTION", "direction"),
            ("PROTOCOL", "protocol"),
            ("ACTION", "action"),
            ("IP RANGE", "ip_range"),
            ("PORT FROM", "dest_port_from"),
            ("PORT TO", "dest_port_to"),
            ("EDITABLE", "editable"),
        ],
        "fleet.v1.Ip" => &[
            ("ID", "id"),
            ("ADDRESS", "address"),
            ("ZONE", "zone"),
            ("TYPE", "type"),
            ("STATE", "state"),
            ("SERVER", "server.id"),
            ("REVERSE", "reverse"),
        ],
        "fleet.v1.PlacementGroup" => &[
            ("ID", "id"),
            ("NAME", "name"),
            ("ZONE", "zone"),
            ("POLICY MODE", "policy_mode"),
            ("POLICY TYPE", "policy_type"),
            ("RESPECTED", "policy_respected"),
        ],
        "fleet.v1.PlacementGroupServer" => &[
            ("ID", "id"),
            ("NAME", "name"),
            ("RESPECTED", "policy_respected"),
        ],
        "fleet.v1.PrivateNic" => &[
            ("ID", "id"),
            ("SERVER", "server_id"),
            ("PRIVATE NETWORK", "private_network_id"),
            ("MAC", "mac_address"),
            ("STATE", "state"),
            ("ZONE", "zone"),
        ],
        "fleet.v1.Operation" => &[
            ("NAME", "name"),
            ("KIND", "metadata.kind"),
            ("ZONE", "metadata.zone"),
            ("STATE", "metadata.state"),
            ("PERCENT", "metadata.percent"),
            ("STEP", "metadata.step"),
            ("RESOURCE", "metadata.resource"),
            ("ERROR", "error.message"),
        ],
        "fleet.v1.AuditEvent" => &[
            ("TIME", "time"),
            ("CALLER", "caller"),
            ("METHOD", "method"),
            ("RESOURCE", "resource"),
            ("OUTCOME", "outcome"),
            ("REASON", "reason"),
            ("OPERATION", "operation"),
        ],
        "fleet.v1.ServerType" => &[
            ("NCPUS", "ncpus"),
            ("RAM", "ram"),
            ("ARCH", "arch"),
            ("HOURLY PRICE", "hourly_price"),
            ("MONTHLY PRICE", "monthly_price"),
            ("END OF SERVICE", "end_of_service"),
        ],
        "fleet.v1.ServerTypeAvailability" => &[("AVAILABILITY", "availability")],
        "fleet.v1.VolumeType" => &[
            ("DISPLAY NAME", "display_name"),
            ("SNAPSHOT", "capabilities.snapshot"),
            ("MIN", "constraints.min"),
            ("MAX", "constraints.max"),
        ],
        "fleet.v1.Policy" => &[
            ("NAME", "name"),
            ("DISPLAY NAME", "display_name"),
            ("KIND", "@policy.kind"),
            ("STATE", "@policy.state"),
            ("SCHEDULE", "@policy.schedule"),
            ("SELECTOR", "@policy.selector"),
            ("RETENTION", "@policy.retention"),
            ("NEXT RUN", "next_run_time"),
        ],
        "fleet.v1.PolicyRun" => &[
            ("SLOT", "slot_local"),
            ("TRIGGER", "@run.trigger"),
            ("OUTCOME", "@run.outcome"),
            ("BATCH", "batch"),
            ("ACTION", "action"),
            ("LATE", "@run.late"),
            ("DELETIONS", "@run.deletions"),
            ("DETAIL", "detail"),
        ],
        "fleet.v1.ServerActionResult" => &[
            ("ACTION", "action"),
            ("SERVER", "server.id"),
            ("STATE", "server.state"),
            ("IMAGE", "image.id"),
        ],
        _ => return None,
    };
    Some(columns)
}

/// Fields that name a resource, used for types without columns.
const FALLBACK: &[&str] = &["id", "name", "zone", "state", "type"];

/// The table or key/value text of `value` (a message of type `desc`).
pub fn render(value: &Value, desc: Option<&MessageDescriptor>) -> String {
    if let Some(desc) = desc
        && let Some((field, item)) = list_field(desc)
        && let Some(items) = value.get(field.as_str())
    {
        let text = match items {
            Value::Object(map) => {
                let rows: Vec<(String, &Value)> = map.iter().map(|(k, v)| (k.clone(), v)).collect();
                rows_table(&rows, item.as_ref(), true)
            }
            Value::Array(list) => {
                let rows: Vec<(String, &Value)> = list.iter().map(|v| (String::new(), v)).collect();
                rows_table(&rows, item.as_ref(), false)
            }
            _ => String::new(),
        };
        return text;
    }
    let spec = desc.and_then(|d| columns(d.full_name()));
    let pairs: Vec<(String, String)> = match spec {
        Some(spec) => spec
            .iter()
            .map(|(header, path)| ((*header).to_owned(), cell_at(value, path)))
            .collect(),
        None => {
            let mut pairs = Vec::new();
            flatten("", value, &mut pairs);
            pairs
        }
    };
    key_values(&pairs)
}

/// The items field of a List-like message and the item message type (None for
/// scalar items such as action names): its first repeated or map field,
/// `unreachable` aside.
fn list_field(desc: &MessageDescriptor) -> Option<(String, Option<MessageDescriptor>)> {
    desc.fields()
        .filter(|f| f.name() != "unreachable")
        .find(|f| f.is_list() || f.is_map())
        .map(|f| {
            let item = match f.kind() {
                Kind::Message(m) if f.is_map() => match m.map_entry_value_field().kind() {
                    Kind::Message(v) => Some(v),
                    _ => None,
                },
                Kind::Message(m) => Some(m),
                _ => None,
            };
            (f.name().to_owned(), item)
        })
        // A message that is itself a resource with tags (e.g. Server) is not a
        // list: only messages named like responses or sets count.
        .filter(|_| is_list_message(desc))
}

fn is_list_message(desc: &MessageDescriptor) -> bool {
    let name = desc.name();
    name.starts_with("List")
        || name.ends_with("Response")
        || name == "PlacementGroupServers"
        || name == "ServerCompatibleTypes"
}

/// Rows of items under headers; `keyed` adds the map key as the first column.
fn rows_table(rows: &[(String, &Value)], item: Option<&MessageDescriptor>, keyed: bool) -> String {
    let spec: Vec<(String, String)> = match item.and_then(|d| columns(d.full_name())) {
        Some(spec) => spec
            .iter()
            .map(|(h, p)| ((*h).to_owned(), (*p).to_owned()))
            .collect(),
        None => match item {
            Some(desc) => FALLBACK
                .iter()
                .filter(|f| desc.get_field_by_name(f).is_some())
                .map(|f| (f.to_uppercase(), (*f).to_owned()))
                .collect(),
            None => vec![("VALUE".to_owned(), String::new())],
        },
    };
    let mut headers: Vec<String> = Vec::new();
    if keyed {
        headers.push("NAME".to_owned());
    }
    headers.extend(spec.iter().map(|(h, _)| h.clone()));
    let mut table: Vec<Vec<String>> = vec![headers];
    for (key, value) in rows {
        let mut row = Vec::new();
        if keyed {
            row.push(key.clone());
        }
        for (_, path) in &spec {
            row.push(if path.is_empty() {
                cell(value)
            } else {
                cell_at(value, path)
            });
        }
        table.push(row);
    }
    align(&table)
}

fn align(table: &[Vec<String>]) -> String {
    let width = table.first().map_or(0, Vec::len);
    let mut widths = vec![0; width];
    for row in table {
        for (i, c) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    for row in table {
        let mut line = String::new();
        for (i, c) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(c);
            } else {
                let pad = widths.get(i).copied().unwrap_or(0);
                line.push_str(&format!("{c:<pad$}   "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn key_values(pairs: &[(String, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (k, v) in pairs {
        out.push_str(format!("{k:<width$}   {v}").trim_end());
        out.push('\n');
    }
    out
}

/// Every non-empty leaf as (dotted path, text), for types without columns.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "@type" {
                    continue;
                }
                flatten(&join(k), v, out);
            }
        }
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            if !items.is_empty() {
                out.push((prefix.to_owned(), cell(value)));
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&join(&i.to_string()), v, out);
            }
        }
        Value::Null => {}
        Value::String(s) if s.is_empty() => {}
        other => out.push((prefix.to_owned(), cell(other))),
    }
}

/// Which storage API holds a volume or snapshot whose `api` is unset.
const DEFAULT_API: &str = "instance";

/// The cell text at a dotted path; sizes in bytes print in decimal units, and an unset
/// `api` (fleet.v1 leaves it unset for Instance volumes and snapshots) names Instance.
/// A path `@…` is a computed column: the cell is made from the whole item.
fn cell_at(value: &Value, path: &str) -> String {
    if let Some(column) = path.strip_prefix('@') {
        return crate::policies::table_cell(column, value).unwrap_or_default();
    }
    let mut current = value;
    for part in path.split('.') {
        let next = match current {
            Value::Object(map) => map.get(part).filter(|v| !v.is_null()),
            Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(v) => current = v,
            None if path == "api" => return DEFAULT_API.to_owned(),
            None => return String::new(),
        }
    }
    let last = path.rsplit('.').next().unwrap_or(path);
    if matches!(last, "size" | "ram" | "min" | "max")
        && let Some(bytes) = current.as_u64()
    {
        return human_bytes(bytes);
    }
    cell(current)
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        Value::Object(_) => value.to_string(),
    }
}

/// Decimal units, as Scaleway counts sizes (20 GB = 20 000 000 000 bytes).
fn human_bytes(bytes: u64) -> String {
    const UNITS: &[&str] = &["B", "KB", "MB", "GB", "TB", "PB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit + 1 < UNITS.len() {
        size /= 1000.0;
        unit += 1;
    }
    let unit_name = UNITS.get(unit).copied().unwrap_or("B");
    if unit == 0 || size.fract() == 0.0 {
        format!("{size:.0} {unit_name}")
    } else {
        format!("{size:.1} {unit_name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn desc(name: &str) -> MessageDescriptor {
        fleet_proto::descriptor_pool()
            .get_message_by_name(name)
            .unwrap()
    }

    #[test]
    fn list_prints_one_row_per_item() {
        let value = json!({
            "servers": [
                {"id": "11", "name": "web-1", "zone": "fr-par-1", "commercial_type": "DEV1-S",
                 "state": "running", "public_ips": [{"address": "51.15.0.1"}], "tags": ["a", "b"]},
            ],
            "next_page_token": "", "total_size": 1, "unreachable": ["nl-ams-9"]
        });
        let text = render(&value, Some(&desc("fleet.v1.ListServersResponse")));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ID"), "{text}");
        assert!(
            lines[1].contains("web-1") && lines[1].contains("51.15.0.1"),
            "{text}"
        );
        assert!(lines[1].ends_with("a,b"), "{text}");
    }

    #[test]
    fn single_resource_prints_key_values() {
        let value =
            json!({"id": "v1", "name": "data", "size": 20_000_000_000u64, "zone": "fr-par-1"});
        let text = render(&value, Some(&desc("fleet.v1.Volume")));
        assert!(text.contains("SIZE"), "{text}");
        assert!(text.contains("20 GB"), "{text}");
    }

    #[test]
    fn map_lists_key_the_rows() {
        let value = json!({"servers": {"DEV1-S": {"availability": "available"}}});
        let text = render(
            &value,
            Some(&desc("fleet.v1.GetServerTypesAvailabilityResponse")),
        );
        assert!(text.lines().nth(1).unwrap().starts_with("DEV1-S"), "{text}");
    }

    #[test]
    fn unknown_shapes_flatten() {
        let value = json!({"server_id": "s", "deleted_volumes": ["v1", "v2"], "deleted_ips": []});
        let text = render(&value, Some(&desc("fleet.v1.DeleteServerResult")));
        assert!(text.contains("deleted_volumes   v1,v2"), "{text}");
        assert!(!text.contains("deleted_ips"), "{text}");
    }

    #[test]
    fn volume_lists_name_the_api_of_each_row() {
        let value = json!({
            "volumes": [
                {"id": "l1", "name": "data", "zone": "fr-par-1", "volume_type": "l_ssd",
                 "size": 20_000_000_000u64, "state": "available", "api": null},
                {"id": "b1", "name": "root", "zone": "fr-par-1", "volume_type": "sbs_volume",
                 "api": "block", "size": 10_000_000_000u64, "perf_iops": 15000,
                 "state": "in_use", "server": {"id": "srv"}},
            ],
            "next_page_token": "", "total_size": 2, "unreachable": []
        });
        let text = render(&value, Some(&desc("fleet.v1.ListVolumesResponse")));
        let rows: Vec<Vec<&str>> = text
            .lines()
            .map(|l| {
                l.split("   ")
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .collect()
            })
            .collect();
        assert_eq!(
            rows[0],
            [
                "ID", "NAME", "ZONE", "API", "TYPE", "SIZE", "IOPS", "STATE", "SERVER"
            ]
        );
        assert_eq!(
            rows[1],
            [
                "l1",
                "data",
                "fr-par-1",
                "instance",
                "l_ssd",
                "20 GB",
                "available"
            ]
        );
        assert_eq!(
            rows[2],
            [
                "b1",
                "root",
                "fr-par-1",
                "block",
                "sbs_volume",
                "10 GB",
                "15000",
                "in_use",
                "srv"
            ]
        );
    }

    #[test]
    fn human_bytes_uses_decimal_units() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000_000), "1.5 GB");
    }
}
