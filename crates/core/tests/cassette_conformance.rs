//! Conformance of fleet-core's types against recorded Instance API traffic.
//!
//! Reads the go-vcr cassettes in place from `<repo>/../shared/conformance/
//! cassettes` (never copied into the repo). For every interaction under
//! `/instance/v1/` or `/instance/v2alpha1/`, the endpoint is looked up in the catalog by method and
//! path; the JSON request body is parsed into the endpoint's request type
//! and the JSON response body into its response type (or `ApiError` for
//! 4xx/5xx); each is serialized back and compared with the original value
//! for value (key order aside, numbers compared as numbers). Text bodies
//! (user-data values) and empty bodies are not counted. Success statuses
//! are checked against the catalog too.
//!
//! This is a `harness = false` test so that its one summary line,
//! `cassette conformance: A/B request bodies, C/D response bodies`, is never
//! captured and always shows in `cargo test` output. It exits non-zero on
//! any mismatch, and when the cassette folder is missing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fleet_core::ApiError;
use fleet_core::catalog::{self, Api, Body};
use serde::Deserialize;
use serde_json::Value;

/// Interactions whose mismatch is accepted, with the reason. Keep short.
/// Entries are (cassette path relative to the cassettes folder,
/// interaction index, "request" or "response", reason).
const EXCEPTIONS: &[(&str, usize, &str, &str)] = &[];

#[derive(Deserialize)]
struct Cassette {
    #[serde(default)]
    interactions: Vec<Interaction>,
}

#[derive(Deserialize)]
struct Interaction {
    request: RecordedRequest,
    response: RecordedResponse,
}

#[derive(Deserialize)]
struct RecordedRequest {
    method: String,
    url: String,
    #[serde(default)]
    body: serde_yaml::Value,
}

#[derive(Deserialize)]
struct RecordedResponse {
    code: u16,
    #[serde(default)]
    body: serde_yaml::Value,
}

#[derive(Default)]
struct Tally {
    requests_ok: usize,
    requests: usize,
    responses_ok: usize,
    responses: usize,
    excepted: usize,
    failures: Vec<String>,
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
    let root = match root.canonicalize() {
        Ok(root) if root.is_dir() => root,
        _ => {
            println!(
                "cassette conformance: FAILED: cassette folder {} not found",
                root.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    let mut tally = Tally::default();
    if files.is_empty() {
        tally
            .failures
            .push(format!("no *.cassette.yaml under {}", root.display()));
    }
    for file in &files {
        let rel = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        check_file(file, &rel, &mut tally);
    }
    for failure in tally.failures.iter().take(40) {
        println!("  mismatch: {failure}");
    }
    if tally.failures.len() > 40 {
        println!("  … and {} more mismatches", tally.failures.len() - 40);
    }
    if tally.excepted > 0 {
        println!("  {} bodies skipped by the exception list", tally.excepted);
    }
    println!(
        "cassette conformance: {}/{} request bodies, {}/{} response bodies",
        tally.requests_ok, tally.requests, tally.responses_ok, tally.responses
    );
    if tally.failures.is_empty() && tally.requests > 0 && tally.responses > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.to_string_lossy().ends_with(".cassette.yaml") {
            out.push(path);
        }
    }
}

fn check_file(file: &Path, rel: &str, tally: &mut Tally) {
    let cassette: Cassette = match std::fs::read_to_string(file)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_yaml::from_str(&text).map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => {
            tally
                .failures
                .push(format!("{rel}: cannot read cassette: {e}"));
            return;
        }
    };
    for (index, interaction) in cassette.interactions.iter().enumerate() {
        let Some(path) = url_path(&interaction.request.url) else {
            continue;
        };
        if !matches!(
            Api::of_path(path),
            Some(Api::Instance | Api::InstanceV2Alpha1)
        ) {
            continue;
        }
        let at = format!("{rel}#{index} {} {path}", interaction.request.method);
        let Some((endpoint, _)) = catalog::find(&interaction.request.method, path) else {
            tally.failures.push(format!("{at}: no catalog endpoint"));
            continue;
        };
        let code = interaction.response.code;

        let request_body = text(&interaction.request.body);
        if !request_body.trim().is_empty() && endpoint.request != Body::Text {
            if is_excepted(rel, index, "request") {
                tally.excepted += 1;
            } else {
                tally.requests += 1;
                match check_body(&request_body, &endpoint.request, None) {
                    Ok(()) => tally.requests_ok += 1,
                    Err(e) => tally.failures.push(format!("{at}: request body: {e}")),
                }
            }
        }

        if (200..300).contains(&code) && code != endpoint.success_status {
            tally.failures.push(format!(
                "{at}: status {code}, catalog says {}",
                endpoint.success_status
            ));
        }
        let response_body = text(&interaction.response.body);
        let is_error = code >= 400;
        if response_body.trim().is_empty() || (!is_error && endpoint.response == Body::Text) {
            continue;
        }
        if is_excepted(rel, index, "response") {
            tally.excepted += 1;
            continue;
        }
        tally.responses += 1;
        let result = if is_error {
            check_body(&response_body, &Body::None, Some(()))
        } else {
            check_body(&response_body, &endpoint.response, None)
        };
        match result {
            Ok(()) => tally.responses_ok += 1,
            Err(e) => tally
                .failures
                .push(format!("{at} -> {code}: response body: {e}")),
        }
    }
}

fn is_excepted(rel: &str, index: usize, part: &str) -> bool {
    EXCEPTIONS
        .iter()
        .any(|(file, i, p, _reason)| *file == rel && *i == index && *p == part)
}

/// Path of a recorded URL, without scheme, host and query.
fn url_path(url: &str) -> Option<&str> {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path_start = after_scheme.find('/')?;
    let path = &after_scheme[path_start..];
    Some(path.split(['?', '#']).next().unwrap_or(path))
}

/// go-vcr bodies are strings; tolerate YAML scalars of other types.
fn text(value: &serde_yaml::Value) -> String {
    match value {
        serde_yaml::Value::Null => String::new(),
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        serde_yaml::Value::Number(n) => n.to_string(),
        other => serde_yaml::to_string(other).unwrap_or_default(),
    }
}

/// Parses `body` as JSON, re-encodes it through the expected type (the
/// endpoint's body type, or `ApiError` when `error` is set) and compares.
fn check_body(body: &str, expected: &Body, error: Option<()>) -> Result<(), String> {
    let original: Value = serde_json::from_str(body).map_err(|e| format!("not JSON ({e})"))?;
    let (type_name, reencoded) = if error.is_some() {
        let typed: ApiError =
            serde_json::from_value(original.clone()).map_err(|e| format!("ApiError: {e}"))?;
        (
            "ApiError",
            serde_json::to_value(&typed).map_err(|e| format!("ApiError: {e}"))?,
        )
    } else {
        let Some(ty) = expected.json_type() else {
            return Err(format!(
                "a JSON body where the catalog expects {:?}",
                expected.kind()
            ));
        };
        (
            ty.name,
            ty.reencode(&original)
                .map_err(|e| format!("{}: {e}", ty.name))?,
        )
    };
    match first_difference(&original, &reencoded, "$") {
        None => Ok(()),
        Some(diff) => Err(format!("{type_name} round trip differs at {diff}")),
    }
}

/// The JSON path of the first difference, if any. Objects compare without
/// regard to key order; numbers compare by value.
fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (key, value) in x {
                match y.get(key) {
                    None => return Some(format!("{at}.{key} (dropped)")),
                    Some(other) => {
                        if let Some(d) = first_difference(value, other, &format!("{at}.{key}")) {
                            return Some(d);
                        }
                    }
                }
            }
            y.keys()
                .find(|key| !x.contains_key(*key))
                .map(|key| format!("{at}.{key} (added: {})", y[key]))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{at} (length {} vs {})", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (p, q))| first_difference(p, q, &format!("{at}[{i}]")))
        }
        (Value::Number(x), Value::Number(y)) => {
            let same = match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(p), Some(q), _, _) => p == q,
                (_, _, Some(p), Some(q)) => p == q,
                _ => x.as_f64() == y.as_f64(),
            };
            (!same).then(|| format!("{at} ({x} vs {y})"))
        }
        _ => (a != b).then(|| format!("{at} ({a} vs {b})")),
    }
}
