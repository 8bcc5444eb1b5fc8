//! Replays every recorded cassette's `/instance/v1/`, `/instance/v2alpha1/`,
//! `/block/v1/` and `/block/v1alpha1/` requests against a fresh emulator and
//! compares each answer with the recorded one: status code, the body by the
//! rules of [`compare`] (same keys, same array lengths, `null` only against
//! `null` bar a listed few, same booleans, enums, states and error types)
//! and the list/create headers. Each API is scored on its own line
//! (`instance/v1`, `block`, `instance/v2alpha1`), each must reach
//! [`THRESHOLD`]; the few interactions listed in [`exclusions`] are replayed
//! but not scored, and printed with their reasons under the scores. Answers
//! the real API's rate limiter gave (429) are replayed as nothing and
//! counted apart: they are the recording's load, not API behaviour.
//!
//! Recorded ids are mapped to the ids the emulator returned (by walking the
//! recorded and emulated bodies side by side). Runs of identical GETs
//! (polling loops) are collapsed into one request compared with the last
//! recorded answer; GETs wait (bounded) for the emulator to reach the
//! recorded status/state, so the comparison does not depend on timing.
//! The tenant is the recorded project: its id is the auth token.
//! Harness-less so the summary lines always show in `cargo test` output.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fleet_emulator::{Emulator, RunningEmulator};
#[path = "replay/compare.rs"]
mod compare;
#[path = "replay/exclusions.rs"]
mod exclusions;
mod support;

use serde_json::Value;
use support::{Conn, RawResponse};

/// Minimum share of matching compared interactions, for every API.
const THRESHOLD: f64 = 0.98;

/// The API an interaction belongs to, each scored on its own line.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Api {
    InstanceV1,
    Block,
    InstanceV2alpha1,
}

impl Api {
    const ALL: [Api; 3] = [Api::InstanceV1, Api::Block, Api::InstanceV2alpha1];

    /// The score line's label.
    fn label(self) -> &'static str {
        match self {
            Api::InstanceV1 => "instance/v1",
            Api::Block => "block",
            Api::InstanceV2alpha1 => "instance/v2alpha1",
        }
    }

    /// The API of a recorded URL, and where its path starts.
    fn of_url(url: &str) -> Option<(Api, usize)> {
        [
            ("/instance/v1/", Api::InstanceV1),
            ("/instance/v2alpha1/", Api::InstanceV2alpha1),
            ("/block/v1/", Api::Block),
            ("/block/v1alpha1/", Api::Block),
        ]
        .into_iter()
        .find_map(|(prefix, api)| url.find(prefix).map(|i| (api, i)))
    }

    fn index(self) -> usize {
        self as usize
    }
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

/// What a GET waits for: the `state` of the enveloped Instance v1
/// resource, of the bare v2alpha1 one; the `status` and the references'
/// statuses of a bare Block one.
fn top_state(v: &Value, api: Api) -> Option<String> {
    let o = v.as_object()?;
    if api == Api::InstanceV2alpha1 {
        return o.get("state").and_then(Value::as_str).map(str::to_owned);
    }
    if api == Api::Block {
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
    /// The recorded interaction's `id` (its position when unnamed).
    id: usize,
    api: Api,
    method: String,
    path: String,
    body: String,
    content_type: Option<String>,
    status: u16,
    resp_body: String,
    resp_headers: BTreeMap<String, String>,
}

fn load(file: &Path) -> Result<Vec<Interaction>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let y: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (pos, it) in y
        .get("interactions")
        .and_then(|v| v.as_sequence())
        .into_iter()
        .flatten()
        .enumerate()
    {
        let rq = &it["request"];
        let rs = &it["response"];
        let url = rq["url"].as_str().unwrap_or_default();
        let Some((api, idx)) = Api::of_url(url) else {
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
            id: it["id"]
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(pos),
            api,
            method: rq["method"].as_str().unwrap_or("GET").to_owned(),
            path: url[idx..].to_owned(),
            body: rq["body"].as_str().unwrap_or_default().to_owned(),
            content_type: hdr(&rq["headers"], "Content-Type"),
            status: u16::try_from(rs["code"].as_u64().unwrap_or(0)).unwrap_or(0),
            resp_body: rs["body"].as_str().unwrap_or_default().to_owned(),
            resp_headers,
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

/// Compared and matched interactions of one API.
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

/// What replaying one cassette found.
#[derive(Default)]
struct Outcome {
    /// Per [`Api::index`].
    scores: [Score; 3],
    /// Recorded 429s of the real rate limiter, not replayed.
    rate_limited: usize,
    mismatches: Vec<String>,
    /// Excluded interactions met: their exclusion, their id, and whether
    /// they matched this time anyway.
    excluded: Vec<(&'static exclusions::Exclusion, usize, bool)>,
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

/// How long a GET may wait for the emulator to reach the recorded status
/// and state: far above the emulator's transitions (20 ms each), so a
/// loaded machine only makes it wait longer, never compare early.
const WAIT: Duration = Duration::from_secs(10);

/// Send a recorded request; a GET is repeated until the emulator's answer
/// matches the recorded one (status, state, then the whole comparison), or
/// the emulator has no transition left to apply (its answer cannot change
/// any more), bounded by [`WAIT`]. A GET changes nothing, so asking again
/// only lets the emulator's transitions catch up with the recording.
async fn replay_one(
    emu: &RunningEmulator,
    conn: &mut Conn,
    it: &Interaction,
    rec: &Value,
    map: &HashMap<String, String>,
    token: &str,
    catalogue: Option<&HashSet<String>>,
) -> RawResponse {
    let addr = emu.local_addr();
    let path = substitute_path(&it.path, map);
    let body = substitute(&it.body, map);
    let mut resp = send(conn, addr, it, &path, &body, token).await;
    if it.method != "GET" {
        return resp;
    }
    let want_state = top_state(rec, it.api);
    let deadline = tokio::time::Instant::now() + WAIT;
    let matches = |resp: &RawResponse| {
        resp.status == it.status
            && (want_state.is_none() || top_state(&resp.json(), it.api) == want_state)
            && verdict(it, rec, resp, catalogue).is_ok()
    };
    while !matches(&resp) && emu.pending_transitions() > 0 && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
        resp = send(conn, addr, it, &path, &body, token).await;
    }
    resp
}

/// Whether the emulated answer matches the recorded one.
fn verdict(
    it: &Interaction,
    rec: &Value,
    resp: &RawResponse,
    catalogue: Option<&HashSet<String>>,
) -> Result<(), String> {
    let emu = resp.json();
    if resp.status != it.status {
        return Err(format!(
            "status {} (body {})",
            resp.status,
            String::from_utf8_lossy(&resp.body)
                .chars()
                .take(200)
                .collect::<String>()
        ));
    }
    if rec.is_null() || emu.is_null() {
        // Empty or non-JSON bodies (204s, user data as text/plain) must be
        // the same bytes, or both empty of JSON alike.
        let same = it.resp_body.trim() == String::from_utf8_lossy(&resp.body).trim()
            || (rec.is_null() && emu.is_null() && !it.resp_body.trim_start().starts_with('{'));
        return if same {
            Ok(())
        } else {
            Err("body differs".into())
        };
    }
    it.api.rules().compare(rec, &emu, catalogue)?;
    for h in ["x-total-count", "link", "location"] {
        if it.resp_headers.contains_key(h) && resp.header(h).is_none() {
            return Err(format!("header {h} missing"));
        }
    }
    // A catalogue's count is the recording's date's (see `compare`).
    if let Some(n) = it.resp_headers.get("x-total-count")
        && catalogue.is_none()
        && resp.header("x-total-count") != Some(n.as_str())
    {
        return Err(format!(
            "X-Total-Count {n} recorded, {:?} emulated",
            resp.header("x-total-count")
        ));
    }
    Ok(())
}

/// Every key of the `servers` map the emulator pages out at `base` (a
/// `products/servers` path): its whole catalogue for the zone.
async fn catalogue(
    conn: &mut Conn,
    addr: SocketAddr,
    it: &Interaction,
    base: &str,
    token: &str,
) -> HashSet<String> {
    let mut all = HashSet::new();
    // Bounded: the catalogue holds a few hundred types at most.
    for page in 1..=20 {
        let path = format!("{base}?page={page}&per_page=100");
        let v = send(conn, addr, it, &path, "", token).await.json();
        let keys: Vec<String> = v["servers"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        if keys.is_empty() {
            break;
        }
        all.extend(keys);
    }
    all
}

async fn replay(name: &str, file: &Path) -> Result<Outcome, String> {
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
    let mut out = Outcome::default();
    let mut catalogues: HashMap<String, HashSet<String>> = HashMap::new();
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
        i = j + 1;
        let it = &its[j];
        if it.status == 429 {
            out.rate_limited += 1;
            continue;
        }
        let rec: Value = serde_json::from_str(&it.resp_body).unwrap_or(Value::Null);
        let catalogue = if it.path.contains("/products/servers") && rec["servers"].is_object() {
            let base = it.path.split('?').next().unwrap_or_default().to_owned();
            if !catalogues.contains_key(&base) {
                let all = catalogue(&mut conn, emu.local_addr(), it, &base, &token).await;
                catalogues.insert(base.clone(), all);
            }
            catalogues.get(&base)
        } else {
            None
        };
        let resp = replay_one(&emu, &mut conn, it, &rec, &map, &token, catalogue).await;
        learn(&rec, &resp.json(), &mut map);
        let verdict = verdict(it, &rec, &resp, catalogue);
        if let Some(x) = exclusions::find(name, it.id).filter(|x| x.api == it.api) {
            out.excluded.push((x, it.id, verdict.is_ok()));
            continue;
        }
        let score = &mut out.scores[it.api.index()];
        score.compared += 1;
        match verdict {
            Ok(()) => score.matched += 1,
            Err(e) => out.mismatches.push(format!(
                "#{} {} {} ({} recorded, {}): {e}",
                it.id,
                it.method,
                it.path.split('?').next().unwrap_or_default(),
                it.status,
                it.api.label()
            )),
        }
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

/// Every cassette under `root`, sorted, named relative to it.
fn cassettes(root: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let dirs = std::fs::read_dir(root)
        .map_err(|e| format!("cassette folder {} unreadable: {e}", root.display()))?;
    let mut files = Vec::new();
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
    Ok(files
        .into_iter()
        .map(|f| {
            let name = f.strip_prefix(root).unwrap_or(&f).display().to_string();
            (name, f)
        })
        .collect())
}

fn fail(msg: &str) -> ! {
    eprintln!("cassette replay: FAILED, {msg}");
    std::process::exit(1);
}

fn main() {
    let root = cassette_root();
    let files = cassettes(&root).unwrap_or_else(|e| fail(&e));
    let filter = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let verbose = std::env::var("REPLAY_MISMATCHES").is_ok();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("cannot start runtime: {e}")));
    let mut total = Outcome::default();
    let mut replayed = HashSet::new();
    for (name, f) in &files {
        if filter.as_ref().is_some_and(|x| !name.contains(x.as_str())) {
            continue;
        }
        replayed.insert(name.clone());
        match rt.block_on(replay(name, f)) {
            Ok(o) => {
                for api in Api::ALL {
                    total.scores[api.index()].add(o.scores[api.index()]);
                }
                total.rate_limited += o.rate_limited;
                total
                    .mismatches
                    .extend(o.mismatches.into_iter().map(|m| format!("{name} {m}")));
                total.excluded.extend(o.excluded);
            }
            Err(e) => total.mismatches.push(format!("{name}: cannot replay: {e}")),
        }
    }
    if verbose {
        for r in &total.mismatches {
            println!("mismatch: {r}");
        }
    }
    report(&total, replayed.len());
    // Every exclusion must name interactions that were replayed (when its
    // cassette was): a stale entry would hide nothing and mislead.
    let stale: Vec<String> = exclusions::EXCLUSIONS
        .iter()
        .filter(|x| replayed.contains(x.cassette))
        .flat_map(|x| x.interactions.iter().map(move |id| (x, *id)))
        .filter(|(x, id)| {
            !total
                .excluded
                .iter()
                .any(|(y, yid, _)| std::ptr::eq(*x, *y) && yid == id)
        })
        .map(|(x, id)| format!("{} #{id}", x.cassette))
        .collect();
    // A filtered run may hold some APIs only; an API that was replayed must
    // reach the threshold.
    let failed: Vec<&str> = Api::ALL
        .into_iter()
        .filter(|a| {
            let s = total.scores[a.index()];
            s.compared > 0 && s.ratio() < THRESHOLD
        })
        .map(Api::label)
        .collect();
    let compared: usize = total.scores.iter().map(|s| s.compared).sum();
    if compared == 0 || !failed.is_empty() || !stale.is_empty() {
        if !verbose {
            for r in &total.mismatches {
                println!("mismatch: {r}");
            }
        }
        if !stale.is_empty() {
            fail(&format!(
                "exclusions name interactions not in the replay: {}",
                stale.join(", ")
            ));
        }
        fail(&format!(
            "{} below {:.0}%",
            failed.join(" and "),
            THRESHOLD * 100.0
        ));
    }
}

/// The score lines, then the exclusions with their reasons.
fn report(total: &Outcome, cassettes: usize) {
    for api in Api::ALL {
        let s = total.scores[api.index()];
        let excluded = total
            .excluded
            .iter()
            .filter(|(x, _, _)| x.api == api)
            .count();
        println!(
            "cassette replay {}: {}/{} compared interactions match ({:.1}%), {excluded} excluded",
            api.label(),
            s.matched,
            s.compared,
            s.ratio() * 100.0,
        );
    }
    println!(
        "cassette replay: {cassettes} cassettes, polling loops collapsed, {} recorded 429s of the real rate limiter not replayed",
        total.rate_limited
    );
    for x in exclusions::EXCLUSIONS {
        let met: Vec<&(&exclusions::Exclusion, usize, bool)> = total
            .excluded
            .iter()
            .filter(|(y, _, _)| std::ptr::eq(x, *y))
            .collect();
        if met.is_empty() {
            continue;
        }
        let ids: Vec<String> = met
            .iter()
            .map(|(_, id, matched)| {
                if *matched {
                    format!("#{id} (matched this run)")
                } else {
                    format!("#{id}")
                }
            })
            .collect();
        println!(
            "excluded ({}): {} {}: {}",
            x.api.label(),
            x.cassette,
            ids.join(" "),
            x.reason
        );
    }
}
