//! Argument groups shared by many commands (zone, paging, idempotency, waiting)
//! and the parsers of values clap cannot check alone (sizes, `@file` values).

use std::collections::BTreeMap;
use std::io::Read as _;

use clap::Args;

use crate::error::CliError;

/// The variable read for `--zone` first; clap reads it itself.
pub const ZONE_ENV: &str = "FLEET_ZONE";
/// The Scaleway CLI's default zone, read when neither `--zone` nor [`ZONE_ENV`] is set.
pub const SCW_ZONE_ENV: &str = "SCW_DEFAULT_ZONE";
/// The zone value a List call takes for every zone.
pub const ALL_ZONES: &str = "all";

/// Appended to the usage error of a zonal command run without any zone.
pub const ZONE_HINT: &str = "hint: give --zone ZONE, or set FLEET_ZONE or SCW_DEFAULT_ZONE \
(read in that order)";

/// `SCW_DEFAULT_ZONE` when set and not empty: the default of every `--zone` (clap's
/// precedence is then flag, `FLEET_ZONE`, this). Read once; the value lives for the process.
pub fn scw_default_zone() -> Option<&'static str> {
    static ZONE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ZONE.get_or_init(|| std::env::var(SCW_ZONE_ENV).ok().filter(|z| !z.is_empty()))
        .as_deref()
}

/// The default zone of a List call: `SCW_DEFAULT_ZONE`, else every zone.
fn list_default_zone() -> &'static str {
    scw_default_zone().unwrap_or(ALL_ZONES)
}

/// `--zone` of a zonal call.
#[derive(Args, Debug, Clone)]
pub struct Zone {
    /// Zone, e.g. fr-par-1 (default: $FLEET_ZONE, then $SCW_DEFAULT_ZONE)
    #[arg(long, env = ZONE_ENV, default_value = scw_default_zone())]
    pub zone: String,
}

/// `--zone` of a List call, which also takes `all`.
#[derive(Args, Debug, Clone)]
pub struct ListZone {
    /// Zone, e.g. fr-par-1, or `all` for every zone (failed zones are reported, not fatal;
    /// default: $FLEET_ZONE, then $SCW_DEFAULT_ZONE, then all)
    #[arg(long, env = ZONE_ENV, default_value = list_default_zone())]
    pub zone: String,
}

/// Paging of List calls.
#[derive(Args, Debug, Clone, Default)]
pub struct Paging {
    /// Items per page (1-100; the gateway's default is 50)
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..=100))]
    pub page_size: Option<i32>,
    /// Page to fetch, from a previous answer's next_page_token
    #[arg(long, conflicts_with = "all_pages")]
    pub page_token: Option<String>,
    /// Fetch every page and print them as one list
    #[arg(long)]
    pub all_pages: bool,
}

/// Idempotency key of a mutating call.
#[derive(Args, Debug, Clone, Default)]
pub struct Mutation {
    /// Idempotency key (a UUID). A fresh one is sent by default; pass the same one when
    /// retrying a command so the gateway applies it once
    #[arg(long, value_parser = parse_uuid)]
    pub request_id: Option<String>,
}

impl Mutation {
    /// The request_id to send: the given one or a fresh UUID.
    pub fn id(&self) -> String {
        self.request_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
    }
}

/// A mutating call that returns an Operation.
#[derive(Args, Debug, Clone, Default)]
pub struct LongRunning {
    #[command(flatten)]
    pub mutation: Mutation,
    /// Wait until the operation finishes, showing its progress, then print its result
    /// (without it the operation name is printed at once)
    #[arg(long)]
    pub wait: bool,
}

impl LongRunning {
    pub fn request_id(&self) -> String {
        self.mutation.id()
    }
}

fn parse_uuid(value: &str) -> Result<String, String> {
    uuid::Uuid::parse_str(value)
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| "must be a UUID, e.g. 3f1c2a9e-5b7d-4c1e-9a2b-8d6f0e4c7a15".to_owned())
}

/// Parses a size: bytes, or a number with a decimal unit (KB, MB, GB, TB) as Scaleway counts.
pub fn parse_size(value: &str) -> Result<u64, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, unit) = value.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{value:?} is not a size; use bytes or e.g. 20GB"))?;
    let factor: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" | "K" => 1_000,
        "MB" | "M" => 1_000_000,
        "GB" | "G" => 1_000_000_000,
        "TB" | "T" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "unknown size unit {other:?}; use B, KB, MB, GB or TB"
            ));
        }
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("{value:?} is too large"))
}

/// A `KEY=VALUE` pair whose value may be `@path` (file contents) or `@-` (stdin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Source,
}

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Literal(String),
    File(String),
    Stdin,
}

impl Source {
    /// `@path` → file, `@-` → stdin, anything else → the text itself.
    pub fn parse(value: &str) -> Source {
        match value.strip_prefix('@') {
            Some("-") => Source::Stdin,
            Some(path) => Source::File(path.to_owned()),
            None => Source::Literal(value.to_owned()),
        }
    }

    /// The bytes of the value.
    pub fn read(&self) -> Result<Vec<u8>, CliError> {
        match self {
            Source::Literal(text) => Ok(text.clone().into_bytes()),
            Source::File(path) => std::fs::read(path)
                .map_err(|err| CliError::usage(format!("cannot read {path}: {err}"))),
            Source::Stdin => {
                let mut bytes = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut bytes)
                    .map_err(|err| CliError::usage(format!("cannot read stdin: {err}")))?;
                Ok(bytes)
            }
        }
    }

    /// The value as JSON.
    pub fn json(&self) -> Result<serde_json::Value, CliError> {
        let bytes = self.read()?;
        serde_json::from_slice(&bytes)
            .map_err(|err| CliError::usage(format!("the JSON given is not valid: {err}")))
    }
}

/// Parses `KEY=VALUE` / `KEY=@file`.
pub fn parse_key_value(value: &str) -> Result<KeyValue, String> {
    let (key, rest) = value
        .split_once('=')
        .ok_or_else(|| format!("{value:?} is not KEY=VALUE (e.g. cloud-init=@init.yaml)"))?;
    if key.is_empty() {
        return Err("the key before `=` is empty".to_owned());
    }
    Ok(KeyValue {
        key: key.to_owned(),
        value: Source::parse(rest),
    })
}

/// Reads every pair into a map; a key given twice is a usage error.
pub fn read_key_values(pairs: &[KeyValue]) -> Result<BTreeMap<String, Vec<u8>>, CliError> {
    let mut map = BTreeMap::new();
    for pair in pairs {
        if map.insert(pair.key.clone(), pair.value.read()?).is_some() {
            return Err(CliError::usage(format!("key {} is given twice", pair.key)));
        }
    }
    Ok(map)
}

/// `operations/{uuid}` from a full name or a bare UUID.
pub fn operation_name(name: &str) -> String {
    resource_name("operations", name)
}

/// `{collection}/{id}` (e.g. `batches/7`) from a full name or a bare id.
pub fn resource_name(collection: &str, name: &str) -> String {
    match name.strip_prefix(collection) {
        Some(id) if id.starts_with('/') => name.to_owned(),
        _ => format!("{collection}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_accept_bytes_and_units() {
        assert_eq!(parse_size("20GB"), Ok(20_000_000_000));
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("1 tb"), Ok(1_000_000_000_000));
        assert!(parse_size("GB").is_err());
        assert!(parse_size("5XB").is_err());
        assert!(parse_size("99999999999999999999TB").is_err());
    }

    #[test]
    fn key_values_read_files() {
        let kv = parse_key_value("cloud-init=@/tmp/x").unwrap();
        assert_eq!(kv.value, Source::File("/tmp/x".into()));
        assert_eq!(
            parse_key_value("a=b=c").unwrap().value,
            Source::Literal("b=c".into())
        );
        assert!(parse_key_value("novalue").is_err());
        assert!(parse_key_value("=x").is_err());
    }

    #[test]
    fn request_ids_are_fresh_uuids_unless_given() {
        let m = Mutation::default();
        let (a, b) = (m.id(), m.id());
        assert_ne!(a, b);
        assert!(uuid::Uuid::parse_str(&a).is_ok());
        assert!(parse_uuid("not-a-uuid").is_err());
    }

    #[test]
    fn operation_names_accept_bare_uuids() {
        assert_eq!(operation_name("abc"), "operations/abc");
        assert_eq!(operation_name("operations/abc"), "operations/abc");
        assert_eq!(resource_name("policies", "7"), "policies/7");
        assert_eq!(resource_name("policies", "policies/7"), "policies/7");
        assert_eq!(resource_name("policies", "policiesX"), "policies/policiesX");
    }
}
