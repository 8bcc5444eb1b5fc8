//! The recorded Instance v2alpha1 traffic, replayed: every placement-group
//! call (v2alpha1 and the v1 calls Terraform interleaves on the same group)
//! of the cassettes that make a group through v2alpha1, and every recorded
//! private-network-interface list, sent in order to a fresh emulator per
//! cassette. Each answer must have the recorded status and the recorded
//! body, ids mapped to the emulator's and timestamps (and v1's
//! `organization`, which the recording's account sets) compared by type
//! only. `cassette_replay.rs` replays these v2alpha1 calls as setup
//! without comparing them; this test compares them.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fleet_emulator::Emulator;
use serde_json::Value;
use support::Tenant;

/// Compared by JSON type only: set by the clock or by the recorded account.
const BY_TYPE: &[&str] = &["created_at", "updated_at", "organization"];

fn cassette_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|a| a.join("shared/conformance/cassettes"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| manifest.join("../../../shared/conformance/cassettes"))
}

/// One recorded call this test replays.
struct Recorded {
    method: String,
    /// Path and query from the root.
    target: String,
    body: Option<Value>,
    status: u16,
    answer: Option<Value>,
}

fn is_replayed(target: &str) -> bool {
    target.starts_with("/instance/v2alpha1/") && target.contains("/private-network-interfaces?")
        || target.contains("/placement-groups")
        || target.contains("/instance/v1/") && target.contains("/placement_groups")
}

fn recorded(file: &Path) -> (Vec<Recorded>, bool) {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    let doc: serde_yaml::Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    let mut calls = Vec::new();
    let mut makes_group = false;
    for it in doc["interactions"].as_sequence().into_iter().flatten() {
        let url = it["request"]["url"].as_str().unwrap_or_default();
        let Some(target) = url.strip_prefix("https://api.scaleway.com") else {
            continue;
        };
        if !is_replayed(target) {
            continue;
        }
        let method = it["request"]["method"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        makes_group |= method == "POST" && target.contains("/instance/v2alpha1/");
        let json = |v: &serde_yaml::Value| {
            v.as_str()
                .filter(|s| !s.is_empty())
                .and_then(|s| serde_json::from_str(s).ok())
        };
        calls.push(Recorded {
            method,
            target: target.to_owned(),
            body: json(&it["request"]["body"]),
            status: it["response"]["code"]
                .as_u64()
                .and_then(|c| u16::try_from(c).ok())
                .unwrap_or(0),
            answer: json(&it["response"]["body"]),
        });
    }
    (calls, makes_group)
}

/// Every id of the recording replaced by the emulator's.
fn mapped(text: &str, ids: &HashMap<String, String>) -> String {
    ids.iter()
        .fold(text.to_owned(), |t, (from, to)| t.replace(from, to))
}

/// Differences between the recorded and the emulated value, as JSON paths.
fn diff(at: &str, recorded: &Value, emulated: &Value, out: &mut Vec<String>) {
    match (recorded, emulated) {
        (Value::Object(r), Value::Object(e)) => {
            let mut keys: Vec<&String> = r.keys().chain(e.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let here = format!("{at}.{k}");
                match (r.get(k), e.get(k)) {
                    (Some(a), Some(b)) if BY_TYPE.contains(&k.as_str()) => {
                        if std::mem::discriminant(a) != std::mem::discriminant(b) {
                            out.push(format!("{here}: {a} recorded, {b} emulated"));
                        }
                    }
                    (Some(a), Some(b)) => diff(&here, a, b, out),
                    (Some(_), None) => out.push(format!("{here}: missing")),
                    (None, Some(_)) => out.push(format!("{here}: not recorded")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(r), Value::Array(e)) if r.len() == e.len() => {
            for (i, (a, b)) in r.iter().zip(e).enumerate() {
                diff(&format!("{at}[{i}]"), a, b, out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{at}: {a} recorded, {b} emulated")),
    }
}

async fn replay(file: &Path, calls: &[Recorded], mismatches: &mut Vec<String>) -> usize {
    let e = match Emulator::builder()
        .transition(Duration::from_millis(20))
        .seed(5)
        .start()
        .await
    {
        Ok(e) => e,
        Err(err) => panic!("start: {err}"),
    };
    let project = calls
        .iter()
        .find_map(|c| {
            c.body
                .as_ref()?
                .get("project_id")?
                .as_str()
                .map(str::to_owned)
        })
        .or_else(|| {
            calls.iter().find_map(|c| {
                let (_, q) = c.target.split_once("project_id=")?;
                Some(q.split('&').next()?.to_owned())
            })
        })
        .unwrap_or_else(|| panic!("{file:?}: no recorded project"));
    let t = Tenant::new(e.local_addr(), &project);
    let mut ids: HashMap<String, String> = HashMap::new();
    for c in calls {
        let target = mapped(&c.target, &ids);
        let body = c.body.as_ref().map(|b| {
            serde_json::from_str(&mapped(&b.to_string(), &ids)).unwrap_or_else(|_| b.clone())
        });
        let r = t.call(&c.method, &target, body).await;
        let at = format!(
            "{} {} {}",
            file.file_name().unwrap_or_default().to_string_lossy(),
            c.method,
            c.target
        );
        if r.status != c.status {
            mismatches.push(format!(
                "{at}: status {} recorded, {} emulated",
                c.status, r.status
            ));
            continue;
        }
        let emulated = (!r.body.is_empty()).then(|| r.json());
        if c.method == "POST" {
            // The one id the recording made: the group's.
            let id = |v: &Option<Value>| v.as_ref()?.get("id")?.as_str().map(str::to_owned);
            if let (Some(from), Some(to)) = (id(&c.answer), id(&emulated)) {
                ids.insert(from, to);
            }
        }
        let recorded = c.answer.as_ref().map(|a| {
            serde_json::from_str(&mapped(&a.to_string(), &ids)).unwrap_or_else(|_| a.clone())
        });
        let mut out = Vec::new();
        diff(
            "$",
            &recorded.unwrap_or(Value::Null),
            &emulated.unwrap_or(Value::Null),
            &mut out,
        );
        mismatches.extend(out.into_iter().map(|d| format!("{at}: {d}")));
    }
    e.shutdown().await;
    calls.len()
}

#[tokio::test]
async fn recorded_v2alpha1_calls_are_answered_as_recorded() {
    let root = cassette_root();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cassettes at {root:?}: {e}"))
        .flatten()
        .filter_map(|d| std::fs::read_dir(d.path()).ok())
        .flat_map(|d| d.flatten().map(|f| f.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let (mut replayed, mut v2alpha1, mut mismatches) = (0, 0, Vec::new());
    for file in &files {
        let (calls, makes_group) = recorded(file);
        // v1 placement-group calls are compared only where v2alpha1 made the group.
        let calls: Vec<Recorded> = calls
            .into_iter()
            .filter(|c| makes_group || c.target.starts_with("/instance/v2alpha1/"))
            .collect();
        if calls.is_empty() {
            continue;
        }
        v2alpha1 += calls
            .iter()
            .filter(|c| c.target.starts_with("/instance/v2alpha1/"))
            .count();
        replayed += replay(file, &calls, &mut mismatches).await;
    }
    println!(
        "v2alpha1 recorded: {} of {replayed} calls as recorded ({v2alpha1} of them v2alpha1)",
        replayed - mismatches.len().min(replayed)
    );
    assert!(
        v2alpha1 >= 250,
        "fewer recorded v2alpha1 calls than known: {v2alpha1}"
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
