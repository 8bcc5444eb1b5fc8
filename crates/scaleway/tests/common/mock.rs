//! A local HTTP server answering what each test scripts, for the Block
//! API the emulator does not serve and for sequences (a volume going
//! `in_use [detaching]` → `available`) a test must control exactly.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// A request as the mock saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// Query pairs in order, percent-decoded.
    pub query: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    /// The value of query parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, value: Value) -> Self {
        Reply {
            status,
            body: value.to_string(),
            headers: vec![("content-type", "application/json".to_owned())],
        }
    }

    /// An answer without a body (204, or a bare 5xx).
    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            body: String::new(),
            headers: Vec::new(),
        }
    }

    /// The Block API's 404 for `resource` (`volume` or `snapshot`).
    pub fn not_found(resource: &str, id: &str) -> Self {
        Reply::json(
            404,
            json!({"message": "resource is not found", "resource": resource,
                   "resource_id": id, "type": "not_found"}),
        )
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// The running server.
pub struct Mock {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Mock {
    /// Serves every request with `handler`.
    pub async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Mock {
        let handler: Handler = Arc::new(handler);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let app = Router::new().fallback(move |request: Request| {
            let handler = handler.clone();
            let log = log.clone();
            async move {
                let seen = read(request).await;
                let reply = handler(&seen);
                log.lock().unwrap().push(seen);
                respond(reply)
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Mock { url, seen }
    }

    /// Answers `(method, path)` with its replies in turn, the last one
    /// repeating; anything else with the Block API's 404.
    pub async fn scripted(routes: Vec<(&'static str, String, Vec<Reply>)>) -> Mock {
        let routes: Mutex<BTreeMap<(String, String), VecDeque<Reply>>> = Mutex::new(
            routes
                .into_iter()
                .map(|(method, path, replies)| ((method.to_owned(), path), replies.into()))
                .collect(),
        );
        Mock::start(move |seen| {
            let mut routes = routes.lock().unwrap();
            match routes.get_mut(&(seen.method.clone(), seen.path.clone())) {
                Some(replies) if replies.len() > 1 => replies.pop_front().unwrap(),
                Some(replies) => replies.front().cloned().unwrap(),
                None => Reply::not_found("volume", &seen.path),
            }
        })
        .await
    }

    /// Every request so far, oldest first.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Requests of `method` to `path`.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.method == method && s.path == path)
            .count()
    }
}

async fn read(request: Request) -> Seen {
    let (parts, body) = request.into_parts();
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    let query = parts
        .uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect();
    Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query,
        body: to_bytes(body, 1 << 20).await.unwrap().to_vec(),
    }
}

fn respond(reply: Reply) -> Response<Body> {
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap();
    for (name, value) in reply.headers {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_str(&value).unwrap());
    }
    response
}

/// A Block volume in `status`, held by servers through references in
/// `references` (their statuses).
pub fn volume(id: &str, status: &str, references: &[&str]) -> Value {
    let references: Vec<Value> = references
        .iter()
        .enumerate()
        .map(|(i, status)| {
            json!({"id": format!("ref-{i}"), "product_resource_type": "instance_server",
                   "product_resource_id": "11111111-1111-4111-8111-111111111111",
                   "created_at": "2025-01-01T00:00:00.000000Z", "type": "exclusive",
                   "status": status})
        })
        .collect();
    json!({"id": id, "name": format!("vol-{id}"), "type": "sbs_5k", "size": 10_000_000_000u64,
           "project_id": "22222222-2222-4222-8222-222222222222",
           "created_at": "2025-01-01T00:00:00.000000Z", "updated_at": null,
           "references": references, "parent_snapshot_id": null, "status": status,
           "tags": [], "zone": "fr-par-1", "specs": {"perf_iops": 5000, "class": "sbs"},
           "last_detached_at": null})
}

/// A Block snapshot in `status`.
pub fn snapshot(id: &str, status: &str) -> Value {
    json!({"id": id, "name": format!("snap-{id}"), "parent_volume": null, "size": 10_000_000_000u64,
           "project_id": "22222222-2222-4222-8222-222222222222",
           "created_at": "2025-01-01T00:00:00.000000Z", "updated_at": null, "references": [],
           "status": status, "tags": [], "zone": "fr-par-1", "class": "sbs"})
}
