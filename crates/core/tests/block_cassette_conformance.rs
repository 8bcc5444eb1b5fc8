//! Conformance of fleet-core's Block model against recorded Block traffic.
//!
//! Reads the go-vcr cassettes in place from `<repo>/../shared/conformance/
//! cassettes`, every folder (the Terraform Block cassettes and the Instance
//! ones that call Block on the side), as `cassette_conformance.rs` does for
//! Instance. Every interaction under `/block/v1/` or `/block/v1alpha1/`
//! must match a Block catalog entry; its JSON request body is parsed into
//! the entry's request type and its JSON response body into the response
//! type (`ApiError` for 4xx/5xx), serialized back and compared by value
//! (key order aside, numbers as numbers), and a `not_found` must name a
//! [`BlockResource`]. Empty bodies (deletes, 429s) are not counted. There is no exception list: every body must round-trip.
//!
//! `harness = false`, so its one line,
//! `block cassette conformance: N/N request bodies, M/M response bodies`,
//! always shows; it exits non-zero on any mismatch or a missing folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fleet_core::ApiError;
use fleet_core::block::BlockResource;
use fleet_core::catalog::{self, Api, Body};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Cassette {
    #[serde(default)]
    interactions: Vec<Interaction>,
}

#[derive(Deserialize)]
struct Interaction {
    request: Recorded<String>,
    response: Recorded<u16>,
}

/// A recorded request (`method`, `url`) or response (`code`); both have a
/// body, a string in go-vcr files.
#[derive(Deserialize)]
struct Recorded<Head> {
    #[serde(alias = "method", alias = "code")]
    head: Head,
    #[serde(default)]
    url: String,
    #[serde(default)]
    body: Option<String>,
}

/// Bodies checked and the mismatches found.
#[derive(Default)]
struct Tally {
    requests: (usize, usize),
    responses: (usize, usize),
    failures: Vec<String>,
}

impl Tally {
    fn record(&mut self, is_request: bool, at: &str, result: Result<(), String>) {
        let (ok, all) = if is_request {
            &mut self.requests
        } else {
            &mut self.responses
        };
        *all += 1;
        match result {
            Ok(()) => *ok += 1,
            Err(e) => self.failures.push(format!(
                "{at}: {} body: {e}",
                if is_request { "request" } else { "response" }
            )),
        }
    }
}

fn main() -> ExitCode {
    // The first ancestor holding it: the repository's parent for a
    // checkout, further up for a worktree nested one level deeper.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest
        .ancestors()
        .map(|a| a.join("shared/conformance/cassettes"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| manifest.join("../../../shared/conformance/cassettes"));
    let Some(root) = root.canonicalize().ok().filter(|r| r.is_dir()) else {
        println!(
            "block cassette conformance: FAILED: cassette folder {} not found",
            root.display()
        );
        return ExitCode::FAILURE;
    };
    let mut files = Vec::new();
    cassettes_under(&root, &mut files);
    files.sort();
    let mut tally = Tally::default();
    for file in &files {
        let rel = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        match std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_yaml::from_str::<Cassette>(&text).map_err(|e| e.to_string()))
        {
            Ok(cassette) => check_cassette(&cassette, &rel, &mut tally),
            Err(e) => tally
                .failures
                .push(format!("{rel}: cannot read cassette: {e}")),
        }
    }
    for failure in tally.failures.iter().take(40) {
        println!("  mismatch: {failure}");
    }
    if tally.failures.len() > 40 {
        println!("  … and {} more mismatches", tally.failures.len() - 40);
    }
    let ((req_ok, req), (resp_ok, resp)) = (tally.requests, tally.responses);
    println!(
        "block cassette conformance: {req_ok}/{req} request bodies, {resp_ok}/{resp} response bodies"
    );
    if tally.failures.is_empty() && req > 0 && resp > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn cassettes_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for path in std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
    {
        if path.is_dir() {
            cassettes_under(&path, out);
        } else if path.to_string_lossy().ends_with(".cassette.yaml") {
            out.push(path);
        }
    }
}

fn check_cassette(cassette: &Cassette, rel: &str, tally: &mut Tally) {
    for (index, Interaction { request, response }) in cassette.interactions.iter().enumerate() {
        let Some(path) = block_path(&request.url) else {
            continue;
        };
        let at = format!("{rel}#{index} {} {path}", request.head);
        let Some((endpoint, _)) =
            catalog::find(&request.head, path).filter(|(endpoint, _)| endpoint.api() == Api::Block)
        else {
            tally
                .failures
                .push(format!("{at}: no Block catalog endpoint"));
            continue;
        };
        let code = response.head;
        if (200..300).contains(&code) && code != endpoint.success_status {
            tally.failures.push(format!(
                "{at}: status {code}, catalog says {}",
                endpoint.success_status
            ));
        }
        if let Some(body) = non_empty(&request.body) {
            tally.record(
                true,
                &at,
                round_trip(body, Expected::Body(&endpoint.request)),
            );
        }
        if let Some(body) = non_empty(&response.body) {
            let expected = if code >= 400 {
                Expected::Error
            } else {
                Expected::Body(&endpoint.response)
            };
            let at = format!("{at} -> {code}");
            tally.record(false, &at, round_trip(body, expected));
            if let Ok(ApiError::NotFound(error)) = serde_json::from_str::<ApiError>(body)
                && !BlockResource::from_wire(&error.resource).is_known()
            {
                let resource = error.resource;
                tally.failures.push(format!(
                    "{at}: not_found names {resource:?}, no BlockResource"
                ));
            }
        }
    }
}

/// The path of a recorded Block URL (no scheme, host or query), if it is one.
fn block_path(url: &str) -> Option<&str> {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = &after_scheme[after_scheme.find('/')?..];
    let path = path.split(['?', '#']).next().unwrap_or(path);
    (path.starts_with("/block/v1/") || path.starts_with("/block/v1alpha1/")).then_some(path)
}

fn non_empty(body: &Option<String>) -> Option<&str> {
    body.as_deref().filter(|b| !b.trim().is_empty())
}

/// What a body must parse as.
enum Expected<'a> {
    Body(&'a Body),
    Error,
}

/// Parses `body`, re-encodes it through the expected type and compares.
fn round_trip(body: &str, expected: Expected<'_>) -> Result<(), String> {
    let original: Value = serde_json::from_str(body).map_err(|e| format!("not JSON ({e})"))?;
    let (type_name, reencoded) = match expected {
        Expected::Error => (
            "ApiError",
            serde_json::from_value::<ApiError>(original.clone())
                .and_then(|typed| serde_json::to_value(&typed)),
        ),
        Expected::Body(Body::Json(ty)) => (ty.name, ty.reencode(&original)),
        Expected::Body(other) => {
            return Err(format!(
                "a JSON body where the catalog expects {:?}",
                other.kind()
            ));
        }
    };
    let reencoded = reencoded.map_err(|e| format!("{type_name}: {e}"))?;
    match difference(&original, &reencoded, "$") {
        None => Ok(()),
        Some(diff) => Err(format!("{type_name} round trip differs at {diff}")),
    }
}

/// Where two JSON values first differ: objects regardless of key order,
/// numbers by value.
fn difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x
            .iter()
            .find_map(|(key, value)| match y.get(key) {
                None => Some(format!("{at}.{key} (dropped)")),
                Some(other) => difference(value, other, &format!("{at}.{key}")),
            })
            .or_else(|| {
                y.iter()
                    .find(|(key, _)| !x.contains_key(*key))
                    .map(|(key, value)| format!("{at}.{key} (added: {value})"))
            }),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| difference(p, q, &format!("{at}[{i}]"))),
        (Value::Array(x), Value::Array(y)) => {
            Some(format!("{at} (length {} vs {})", x.len(), y.len()))
        }
        (Value::Number(x), Value::Number(y)) => {
            let same = match (x.as_u64(), y.as_u64(), x.as_i64(), y.as_i64()) {
                (Some(p), Some(q), _, _) => p == q,
                (_, _, Some(p), Some(q)) => p == q,
                _ => x.as_f64() == y.as_f64(),
            };
            (!same).then(|| format!("{at} ({x} vs {y})"))
        }
        _ => (a != b).then(|| format!("{at} ({a} vs {b})")),
    }
}
