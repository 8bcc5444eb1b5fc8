//! Replays every recorded cassette's `/instance/v1/`, `/block/v1/` and
//! `/block/v1alpha1/` requests against a fresh emulator and compares each
//! answer with the recorded one: status code, JSON shape (same keys at every
//! level, same value types, same enum values where they do not depend on
//! timing; for Block answers also the number of `references`) and the
//! list/create headers. Instance and Block interactions are scored on their
//! own lines. Answers the real API's rate limiter gave (429) are replayed
//! as nothing and counted apart: they are the recording's load, not API
//! behaviour.
//!
//! Recorded ids are mapped to the ids the emulator returned (by walking the
//! recorded and emulated bodies side by side). Runs of identical GETs
//! (polling loops) are collapsed into one request compared with the last
//! recorded answer; GETs wait (bounded) for the emulator to reach the
//! recorded status/state, so the comparison does not depend on timing.
//! The tenant is the recorded project: its id is the auth token.
//! Harness-less so the summary line always shows in `cargo test` output.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fleet_emulator::Emulator;
mod support;

use serde_json::Value;
use support::{Conn, RawResponse};

/// Minimum share of matching interactions.
const THRESHOLD: f64 = 0.95;

/// Keys whose string values are enums that do not depend on timing.
const ENUM_KEYS: &[&str] = &[
    "volume_type",
    "protocol",
    "direction",
    "action",
    "policy_mode",
    "policy_type",
    "commercial_type",
    "arch",
    "boot_type",
    "inbound_default_policy",
    "outbound_default_policy",
    "family",
    "provisioning_mode",
    "reason",
    "resource",
    "argument_name",
    "editable",
    "public",
    "project_default",
];

/// Keys of Block bodies whose string values are enums that do not depend
/// on timing (`type` is a volume type, a reference type or an error type).
const BLOCK_ENUM_KEYS: &[&str] = &[
    "type",
    "class",
    "product_resource_type",
    "status",
    "resource",
];

/// Keys of Block bodies that may be `null` on one side and set on the other only because of
/// timing: when the recording was made relative to an update, a detach, or the v1 rollout of
/// KMS. Anywhere else in a Block body `null` must meet `null`.
const BLOCK_TIMING_NULLABLE: &[&str] = &["updated_at", "last_detached_at", "kms_key_id"];

/// Keys of Block bodies whose numbers must match exactly.
const BLOCK_NUMBER_KEYS: &[&str] = &["total_count", "perf_iops", "size"];

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

/// Whether key `k` may be in one recording of object `emu` and not in
/// another: a [`DRIFT_KEYS`] key, or the `state` of an SBS entry of
/// `server.volumes` (absent in the 2025-09 recordings, present since).
fn drifted(k: &str, emu: &serde_json::Map<String, Value>) -> bool {
    DRIFT_KEYS.contains(&k)
        || (k == "state" && emu.get("volume_type").and_then(Value::as_str) == Some("sbs_volume"))
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::parse_str(s).is_ok()
}

fn uuids_in(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 36 <= b.len() {
        if let Some(c) = s.get(i..i + 36)
            && is_uuid(c)
        {
            out.push(c.to_owned());
            i += 36;
            continue;
        }
        i += 1;
    }
    out
}

fn is_ipv4(s: &str) -> bool {
    s.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Learn recorded → emulated id/address pairs from two bodies.
fn learn(rec: &Value, emu: &Value, map: &mut HashMap<String, String>) {
    match (rec, emu) {
        (Value::String(a), Value::String(b))
            if a != b && ((is_uuid(a) && is_uuid(b)) || (is_ipv4(a) && is_ipv4(b))) =>
        {
            map.entry(a.clone()).or_insert_with(|| b.clone());
        }
        (Value::String(a), Value::String(b)) if a != b => {
            // Ids inside strings (`href_result: "/images/<id>"`): pair them up.
            let (x, y) = (uuids_in(a), uuids_in(b));
            if x.len() == y.len() {
                for (p, q) in x.into_iter().zip(y) {
                    if p != q {
                        map.entry(p).or_insert(q);
                    }
                }
            }
        }
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                if let Some(w) = b.get(k) {
                    learn(v, w, map);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (x, y) in a.iter().zip(b) {
                learn(x, y, map);
            }
        }
        _ => {}
    }
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

/// Objects keyed by data (type names, indices, ids) rather than by schema.
fn is_data_map(path: &str) -> bool {
    path.ends_with(".servers") && path.starts_with("$")
        || path.ends_with(".volumes")
        || path.ends_with(".extra_volumes")
}

fn compare(rec: &Value, emu: &Value, path: &str, top: &str, block: bool) -> Result<(), String> {
    let key = path.rsplit('.').next().unwrap_or_default();
    match (rec, emu) {
        (Value::Null, Value::Null) => Ok(()),
        (Value::Null, other) | (other, Value::Null)
            if block && !BLOCK_TIMING_NULLABLE.contains(&key) =>
        {
            let (r, e) = if rec.is_null() {
                ("null", kind(other))
            } else {
                (kind(other), "null")
            };
            Err(format!("{path}: {r} recorded, {e} emulated"))
        }
        (Value::Null, _) | (_, Value::Null) => Ok(()),
        (Value::Object(a), Value::Object(b)) => {
            let data_map = is_data_map(path) && (top == "products" || path.ends_with("volumes"));
            if !data_map {
                for k in a.keys() {
                    if !b.contains_key(k) && !drifted(k, b) {
                        return Err(format!("{path}: key {k:?} missing"));
                    }
                }
                for k in b.keys() {
                    if !a.contains_key(k) && !drifted(k, b) {
                        return Err(format!("{path}: extra key {k:?}"));
                    }
                }
            } else if top != "products" && a.len() != b.len() {
                return Err(format!(
                    "{path}: {} entries recorded, {} emulated",
                    a.len(),
                    b.len()
                ));
            }
            for (k, v) in a {
                if let Some(w) = b.get(k) {
                    let enum_key = ENUM_KEYS.contains(&k.as_str())
                        || (block && BLOCK_ENUM_KEYS.contains(&k.as_str()));
                    if enum_key && v.is_string() && v != w {
                        return Err(format!("{path}.{k}: {v} recorded, {w} emulated"));
                    }
                    if block && BLOCK_NUMBER_KEYS.contains(&k.as_str()) && v.is_number() && v != w {
                        return Err(format!("{path}.{k}: {v} recorded, {w} emulated"));
                    }
                    if block && k == "references" {
                        let (n, m) = (count(v), count(w));
                        if n != m {
                            return Err(format!("{path}.references: {n} recorded, {m} emulated"));
                        }
                    }
                    compare(v, w, &format!("{path}.{k}"), top, block)?;
                } else if data_map && top == "products" {
                    continue;
                }
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(b)) => {
            if block && a.len() != b.len() {
                return Err(format!(
                    "{path}: {} items recorded, {} emulated",
                    a.len(),
                    b.len()
                ));
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                compare(x, y, &format!("{path}[{i}]"), top, block)?;
            }
            Ok(())
        }
        (Value::Bool(a), Value::Bool(b)) if block && a != b => {
            Err(format!("{path}: {a} recorded, {b} emulated"))
        }
        (a, b) if kind(a) == kind(b) => Ok(()),
        (a, b) => Err(format!(
            "{path}: {} recorded, {} emulated",
            kind(a),
            kind(b)
        )),
    }
}

fn count(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

/// What a GET waits for: the `state` of the enveloped Instance resource;
/// the `status` and the references' statuses of a bare Block one.
fn top_state(v: &Value, block: bool) -> Option<String> {
    let o = v.as_object()?;
    if block {
        let status = o.get("status").and_then(Value::as_str)?;
        let references: Vec<&str> = o
            .get("references")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("status").and_then(Value::as_str))
            .collect();
        return Some(format!("{status}/{}", references.join(",")));
    }
    let inner = o.values().find(|x| x.is_object())?;
    inner
        .get("state")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

struct Interaction {
    /// A Block API call (else Instance).
    block: bool,
    method: String,
    path: String,
    body: String,
    content_type: Option<String>,
    status: u16,
    resp_body: String,
    resp_headers: BTreeMap<String, String>,
    setup: bool,
}

fn load(file: &Path) -> Result<Vec<Interaction>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let y: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for it in y
        .get("interactions")
        .and_then(|v| v.as_sequence())
        .into_iter()
        .flatten()
    {
        let rq = &it["request"];
        let rs = &it["response"];
        let url = rq["url"].as_str().unwrap_or_default();
        // v2alpha1 placement groups create state later v1 calls use: replayed, not compared.
        let setup = url.contains("/instance/v2alpha1/") && url.contains("/placement-groups");
        let Some(idx) = ["/instance/v1/", "/block/v1/", "/block/v1alpha1/"]
            .iter()
            .find_map(|p| url.find(p))
            .or_else(|| {
                if setup {
                    url.find("/instance/v2alpha1/")
                } else {
                    None
                }
            })
        else {
            continue;
        };
        let hdr = |h: &serde_yaml::Value, k: &str| {
            h.get(k)
                .and_then(|v| v.get(0))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let mut resp_headers = BTreeMap::new();
        for k in ["X-Total-Count", "Link", "Location", "Content-Type"] {
            if let Some(v) = hdr(&rs["headers"], k) {
                resp_headers.insert(k.to_ascii_lowercase(), v);
            }
        }
        out.push(Interaction {
            block: url[idx..].starts_with("/block/"),
            method: rq["method"].as_str().unwrap_or("GET").to_owned(),
            path: url[idx..].to_owned(),
            body: rq["body"].as_str().unwrap_or_default().to_owned(),
            content_type: hdr(&rq["headers"], "Content-Type"),
            status: u16::try_from(rs["code"].as_u64().unwrap_or(0)).unwrap_or(0),
            resp_body: rs["body"].as_str().unwrap_or_default().to_owned(),
            resp_headers,
            setup,
        });
    }
    Ok(out)
}

/// The recorded tenant: first project id a request names, else one a response shows.
fn tenant_of(its: &[Interaction]) -> String {
    let public = "51b656e3-4865-41e8-adbc-0c45bdd780db";
    let find = |s: &str| -> Option<String> {
        let v: Value = serde_json::from_str(s).ok()?;
        fn walk(v: &Value, public: &str) -> Option<String> {
            match v {
                Value::Object(o) => {
                    for key in ["project", "project_id"] {
                        if let Some(Value::String(p)) = o.get(key)
                            && p != public
                            && is_uuid(p)
                        {
                            return Some(p.clone());
                        }
                    }
                    o.values().find_map(|x| walk(x, public))
                }
                Value::Array(a) => a.iter().find_map(|x| walk(x, public)),
                _ => None,
            }
        }
        walk(&v, public)
    };
    its.iter()
        .find_map(|i| find(&i.body))
        .or_else(|| its.iter().find_map(|i| find(&i.resp_body)))
        .unwrap_or_else(|| "11111111-1111-4111-8111-111111111111".into())
}

fn substitute(s: &str, map: &HashMap<String, String>) -> String {
    let mut out = s.to_owned();
    for (a, b) in map {
        if is_uuid(a) {
            out = out.replace(a.as_str(), b);
        }
    }
    out
}

fn substitute_path(p: &str, map: &HashMap<String, String>) -> String {
    let p = substitute(p, map);
    let (path, q) = p
        .split_once('?')
        .map_or((p.as_str(), None), |(a, b)| (a, Some(b)));
    let segs: Vec<String> = path
        .split('/')
        .map(|s| {
            map.get(s)
                .filter(|_| is_ipv4(s))
                .cloned()
                .unwrap_or_else(|| s.to_owned())
        })
        .collect();
    match q {
        Some(q) => format!("{}?{q}", segs.join("/")),
        None => segs.join("/"),
    }
}

/// Compared and matched interactions of one API family.
#[derive(Default, Clone, Copy)]
struct Score {
    compared: usize,
    matched: usize,
}

impl Score {
    fn add(&mut self, other: Score) {
        self.compared += other.compared;
        self.matched += other.matched;
    }

    fn ratio(self) -> f64 {
        if self.compared == 0 {
            0.0
        } else {
            self.matched as f64 / self.compared as f64
        }
    }
}

struct Outcome {
    instance: Score,
    block: Score,
    /// Recorded 429s of the real rate limiter, not replayed.
    rate_limited: usize,
    mismatches: Vec<String>,
}

async fn send(
    conn: &mut Conn,
    addr: SocketAddr,
    it: &Interaction,
    path: &str,
    body: &str,
    token: &str,
) -> RawResponse {
    let ct = it
        .content_type
        .clone()
        .unwrap_or_else(|| "application/json".into());
    let headers = [("x-auth-token", token), ("content-type", ct.as_str())];
    for _ in 0..3 {
        match conn.send(&it.method, path, &headers, body.as_bytes()).await {
            Ok(r) => return r,
            Err(_) => {
                if let Ok(c) = Conn::connect(addr).await {
                    *conn = c;
                }
            }
        }
    }
    RawResponse {
        status: 0,
        headers: Vec::new(),
        body: Vec::new(),
    }
}

async fn replay(file: &Path) -> Result<Outcome, String> {
    let its = load(file)?;
    let token = tenant_of(&its);
    let emu = Emulator::builder()
        .transition(Duration::from_millis(20))
        .seed(7)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let addr = emu.local_addr();
    let mut conn = Conn::connect(addr).await.map_err(|e| e.to_string())?;
    let mut map: HashMap<String, String> = HashMap::new();
    let mut out = Outcome {
        instance: Score::default(),
        block: Score::default(),
        rate_limited: 0,
        mismatches: Vec::new(),
    };
    let mut i = 0;
    while i < its.len() {
        // Collapse a polling loop: identical consecutive GETs → the last one.
        let mut j = i;
        while its[i].method == "GET"
            && j + 1 < its.len()
            && its[j + 1].method == "GET"
            && its[j + 1].path == its[i].path
        {
            j += 1;
        }
        let it = &its[j];
        if it.status == 429 {
            out.rate_limited += 1;
            i = j + 1;
            continue;
        }
        let path = substitute_path(&it.path, &map);
        let body = substitute(&it.body, &map);
        let rec: Value = serde_json::from_str(&it.resp_body).unwrap_or(Value::Null);
        let mut resp = send(&mut conn, addr, it, &path, &body, &token).await;
        if it.method == "GET" {
            // Wait (bounded) for the recorded status and state.
            let want_state = top_state(&rec, it.block);
            for _ in 0..100 {
                let ok = resp.status == it.status
                    && (want_state.is_none() || top_state(&resp.json(), it.block) == want_state);
                if ok {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                resp = send(&mut conn, addr, it, &path, &body, &token).await;
            }
        }
        let emu_json = resp.json();
        learn(&rec, &emu_json, &mut map);
        if it.setup {
            i = j + 1;
            continue;
        }
        let score = if it.block {
            &mut out.block
        } else {
            &mut out.instance
        };
        score.compared += 1;
        let name = format!(
            "{} {} ({} recorded)",
            it.method,
            it.path.split('?').next().unwrap_or_default(),
            it.status
        );
        let verdict = if resp.status != it.status {
            Err(format!(
                "status {} (body {})",
                resp.status,
                String::from_utf8_lossy(&resp.body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ))
        } else if rec.is_null() || emu_json.is_null() {
            if it.resp_body.trim() == String::from_utf8_lossy(&resp.body).trim()
                || (rec.is_null()
                    && emu_json.is_null()
                    && !it.resp_body.trim_start().starts_with('{'))
            {
                Ok(())
            } else {
                Err("body differs".into())
            }
        } else {
            let top = it.path.split('/').nth(5).unwrap_or_default().to_owned();
            compare(&rec, &emu_json, "$", &top, it.block).and_then(|_| {
                for h in ["x-total-count", "link", "location"] {
                    if it.resp_headers.contains_key(h) && resp.header(h).is_none() {
                        return Err(format!("header {h} missing"));
                    }
                }
                Ok(())
            })
        };
        match verdict {
            Ok(()) => score.matched += 1,
            Err(e) => out.mismatches.push(format!("{name}: {e}")),
        }
        i = j + 1;
    }
    emu.shutdown().await;
    Ok(out)
}

/// `shared/conformance/cassettes` beside the repository: the first
/// ancestor of the crate holding it (the repository's parent for a
/// checkout, further up for a worktree nested one level deeper).
fn cassette_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|a| a.join("shared/conformance/cassettes"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| manifest.join("../../../shared/conformance/cassettes"))
}

fn main() {
    let root = cassette_root();
    let mut files = Vec::new();
    let Ok(dirs) = std::fs::read_dir(&root) else {
        eprintln!(
            "cassette replay: FAILED, cassette folder {} is missing",
            root.display()
        );
        std::process::exit(1);
    };
    for d in dirs.flatten() {
        if let Ok(fs) = std::fs::read_dir(d.path()) {
            files.extend(
                fs.flatten()
                    .map(|f| f.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "yaml")),
            );
        }
    }
    files.sort();
    let filter = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let verbose = std::env::var("REPLAY_VERBOSE").is_ok();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cassette replay: cannot start runtime: {e}");
            std::process::exit(1);
        }
    };
    let (mut instance, mut block, mut rate_limited) = (Score::default(), Score::default(), 0);
    let mut report = Vec::new();
    for f in &files {
        let name = f.strip_prefix(&root).unwrap_or(f).display().to_string();
        if filter.as_ref().is_some_and(|x| !name.contains(x.as_str())) {
            continue;
        }
        match rt.block_on(replay(f)) {
            Ok(o) => {
                instance.add(o.instance);
                block.add(o.block);
                rate_limited += o.rate_limited;
                for m in o.mismatches {
                    report.push(format!("{name}: {m}"));
                }
            }
            Err(e) => report.push(format!("{name}: cannot replay: {e}")),
        }
    }
    if verbose || std::env::var("REPLAY_MISMATCHES").is_ok() {
        for r in &report {
            println!("mismatch: {r}");
        }
    }
    println!(
        "cassette replay: {}/{} Instance interactions match ({:.1}%, {} cassettes, polling loops collapsed)",
        instance.matched,
        instance.compared,
        instance.ratio() * 100.0,
        files.len()
    );
    println!(
        "cassette replay: {}/{} Block interactions match ({:.1}%; {rate_limited} recorded 429s of the real rate limiter not compared)",
        block.matched,
        block.compared,
        block.ratio() * 100.0,
    );
    // A filtered run may hold one family only; a family that was replayed
    // must reach the threshold.
    let failed: Vec<&str> = [("Instance", instance), ("Block", block)]
        .into_iter()
        .filter(|(_, s)| s.compared > 0 && s.ratio() < THRESHOLD)
        .map(|(n, _)| n)
        .collect();
    if instance.compared + block.compared == 0 || !failed.is_empty() {
        for r in &report {
            println!("mismatch: {r}");
        }
        eprintln!(
            "cassette replay: FAILED, {} below {:.0}%",
            failed.join(" and "),
            THRESHOLD * 100.0
        );
        std::process::exit(1);
    }
}
