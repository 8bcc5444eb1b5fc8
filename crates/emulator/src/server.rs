//! The HTTP layer: axum router (admin endpoints + the Instance and Block API catch-all),
//! served by hyper so injected connection resets can drop a connection
//! without answering. Order of a request: parse zone → faults → rate limit →
//! auth → body → world (settle transitions, dispatch) → headers → call log.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Body as AxumBody;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use axum::routing::get;
use bytes::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::Authenticator;
use crate::calllog::{CallLog, CallRecord};
use crate::errors::{ArgDetail, Error};
use crate::faults::{FaultInjector, Faults, Outcome};
use crate::http::{Body, Req, Resp, Version};
use crate::ratelimit::RateLimiter;
use crate::state::{Ctx, World, dispatch};
use crate::util::{SplitMix, mix};
use fleet_core::catalog::{self, Operation};

/// Largest accepted request body; beyond it the request gets a 400.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// State shared by every connection.
#[derive(Debug)]
pub struct Shared {
    /// Every resource.
    pub world: Mutex<World>,
    /// Token → tenant.
    pub auth: Authenticator,
    /// Injected faults.
    pub faults: FaultInjector,
    /// Per-zone rate limit.
    pub limiter: Option<RateLimiter>,
    /// Call log.
    pub calls: CallLog,
    /// Seed for request ids.
    pub seed: u64,
    /// Request counter (request ids).
    pub requests: AtomicU64,
    /// Flips to true on shutdown (wakes hung requests).
    pub shutdown: watch::Receiver<bool>,
}

/// Marker: drop the connection instead of answering.
#[derive(Debug, Clone, Copy)]
struct ResetConnection;

/// The axum router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/emulator/v1/health",
            get(|| async { json_response(200, &json!({"status": "ok"})) }),
        )
        .route(
            "/emulator/v1/faults",
            get(get_faults).put(put_faults).delete(delete_faults),
        )
        .route("/emulator/v1/calls", get(get_calls).delete(delete_calls))
        .fallback(instance)
        .with_state(shared)
}

fn json_response(status: u16, v: &Value) -> Response<AxumBody> {
    let body = serde_json::to_vec(v).unwrap_or_default();
    let mut r = Response::new(AxumBody::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

async fn get_faults(State(s): State<Arc<Shared>>) -> Response<AxumBody> {
    json_response(
        200,
        &serde_json::to_value(s.faults.get()).unwrap_or(Value::Null),
    )
}

async fn put_faults(State(s): State<Arc<Shared>>, body: Bytes) -> Response<AxumBody> {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) => {
            s.faults.set(f.clone());
            json_response(200, &serde_json::to_value(f).unwrap_or(Value::Null))
        }
        Err(e) => error_response(
            &Error::invalid(ArgDetail::format("body", format!("invalid faults: {e}"))),
            "",
        ),
    }
}

async fn delete_faults(State(s): State<Arc<Shared>>) -> Response<AxumBody> {
    s.faults.set(Faults::default());
    Response::builder()
        .status(204)
        .body(AxumBody::empty())
        .unwrap_or_default()
}

async fn get_calls(State(s): State<Arc<Shared>>) -> Response<AxumBody> {
    let calls: Vec<Value> = s
        .calls
        .snapshot()
        .into_iter()
        .map(|c| {
            json!({
                "at": crate::util::rfc3339(c.at),
                "method": c.method, "path": c.path, "zone": c.zone, "status": c.status, "caller": c.caller,
            })
        })
        .collect();
    json_response(200, &json!({ "calls": calls }))
}

async fn delete_calls(State(s): State<Arc<Shared>>) -> Response<AxumBody> {
    s.calls.clear();
    Response::builder()
        .status(204)
        .body(AxumBody::empty())
        .unwrap_or_default()
}

fn error_response(e: &Error, request_id: &str) -> Response<AxumBody> {
    e.to_response(request_id)
}

/// Query pairs, form-decoded (`+` is a space), in order.
fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

async fn instance(State(shared): State<Arc<Shared>>, req: Request) -> Response<AxumBody> {
    let at = SystemTime::now();
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let caller = header_str(req.headers(), "x-fleet-caller");
    let n = shared.requests.fetch_add(1, Ordering::Relaxed);
    let request_id = SplitMix::new(mix(shared.seed ^ 0xa5a5) ^ n)
        .uuid()
        .to_string();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let zone = match segs.as_slice() {
        ["instance", "v1" | "v2alpha1", "zones", z, ..]
        | ["block", "v1" | "v1alpha1", "zones", z, ..] => Some((*z).to_owned()),
        _ => None,
    };
    let mut resp = handle(&shared, req, &method, &path, zone.as_deref(), &request_id).await;
    // A lost answer: the request was served, then the connection goes without the answer.
    if resp.status().is_success() && shared.faults.lose_answer(&method, &path) {
        resp.extensions_mut().insert(ResetConnection);
    }
    let status = if resp.extensions().get::<ResetConnection>().is_some() {
        0
    } else {
        resp.status().as_u16()
    };
    shared.calls.push(CallRecord {
        at,
        method,
        path,
        query,
        zone,
        status,
        caller,
    });
    resp
}

async fn handle(
    shared: &Shared,
    req: Request,
    method: &str,
    path: &str,
    zone: Option<&str>,
    request_id: &str,
) -> Response<AxumBody> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let zone = match (segs.as_slice(), zone) {
        // `zone` is only set for the served families and versions.
        (["instance" | "block", _, "zones", ..], Some(z)) => z,
        _ => return error_response(&Error::unknown_route(), request_id),
    };
    if let Err(unknown) = zone.parse::<fleet_core::Zone>() {
        let e = Error::invalid(ArgDetail::constraint("zone", unknown.to_string()));
        return error_response(&e, request_id);
    }
    // Faults first: they model the network and the gateway in front of the API.
    let (latency, outcome) = shared.faults.decide(Some(zone));
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match outcome {
        Outcome::Pass => {}
        Outcome::Reset => {
            let mut r = Response::new(AxumBody::empty());
            r.extensions_mut().insert(ResetConnection);
            return r;
        }
        Outcome::Hang(d) => {
            let mut rx = shared.shutdown.clone();
            tokio::select! {
                _ = tokio::time::sleep(d) => {}
                _ = rx.wait_for(|v| *v) => {}
            }
            return error_response(&Error::internal(504), request_id);
        }
        Outcome::TooManyRequests(retry) => {
            let e = Error::too_many_requests(0, retry.unwrap_or(1), retry);
            return error_response(&e, request_id);
        }
        Outcome::ServerError(status) => {
            return error_response(&Error::internal(status), request_id);
        }
    }
    if let Some(l) = &shared.limiter
        && let Err(wait) = l.check(zone)
    {
        let e = Error::too_many_requests(u64::from(l.limit().burst), wait, Some(wait));
        return error_response(&e, request_id);
    }
    let token = header_str(req.headers(), "x-auth-token");
    let tenant = match shared.auth.authenticate(token.as_deref()) {
        Ok(t) => t,
        Err(e) => return error_response(&e, request_id),
    };
    let host = header_str(req.headers(), "host").unwrap_or_else(|| "localhost".into());
    let query = parse_query(req.uri().query());
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            let e = Error::invalid(ArgDetail::constraint(
                "body",
                format!("request body exceeds {MAX_BODY_BYTES} bytes or could not be read"),
            ));
            return error_response(&e, request_id);
        }
    };
    let ctx = Ctx {
        tenant,
        zone: zone.to_owned(),
        now: SystemTime::now(),
        instant: Instant::now(),
    };
    let result = route(method, path, query, body).and_then(|(op, req)| {
        let mut w = shared.world.lock().unwrap_or_else(|p| p.into_inner());
        w.settle(ctx.instant, ctx.now);
        dispatch(&mut w, &ctx, op, &req)
    });
    match result {
        Ok(r) => render(
            r,
            request_id,
            &format!("http://{host}/instance/v1/zones/{zone}"),
        ),
        Err(e) => error_response(&e, request_id),
    }
}

/// Resolve a path: a catalog endpoint of any family, 405 for a catalog
/// path served with other methods, or 404.
fn route(
    method: &str,
    path: &str,
    query: Vec<(String, String)>,
    body: Bytes,
) -> Result<(Operation, Req), Error> {
    match catalog::find(method, path) {
        Some((endpoint, params)) => Ok((
            endpoint.operation,
            Req {
                method: endpoint.method,
                version: Version::of_path(path),
                params,
                query,
                body,
            },
        )),
        None if !catalog::allowed_methods(path).is_empty() => Err(Error::method_not_allowed()),
        None => Err(Error::unknown_route()),
    }
}

fn render(r: Resp, request_id: &str, zone_root: &str) -> Response<AxumBody> {
    let (ct, body): (&str, Vec<u8>) = match r.body {
        Body::Json(v) => (
            "application/json",
            serde_json::to_vec(&v).unwrap_or_default(),
        ),
        Body::Text(t) => ("text/plain", t),
        Body::Empty(ct) => (ct, Vec::new()),
    };
    let mut resp = Response::new(AxumBody::from(body));
    *resp.status_mut() =
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    h.insert(
        header::SERVER,
        HeaderValue::from_static("Scaleway API Gateway (emulator)"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-request-id", v);
    }
    for (name, value) in r.headers {
        let value = if name == "location" {
            format!("{zone_root}{value}")
        } else {
            value
        };
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    resp
}

/// Accept connections until `shutdown` flips; each connection is served by
/// hyper and dropped at shutdown.
pub async fn serve(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.wait_for(|v| *v) => break,
        };
        let Ok((stream, _peer)) = accepted else {
            // Transient accept errors (e.g. too many open files): back off briefly.
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let mut router = router.clone();
                    async move {
                        let resp =
                            match tower_service::Service::call(&mut router, req.map(AxumBody::new))
                                .await
                            {
                                Ok(r) => r,
                                Err(e) => match e {},
                            };
                        if resp.extensions().get::<ResetConnection>().is_some() {
                            return Err(ResetError);
                        }
                        Ok::<_, ResetError>(resp)
                    }
                });
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                _ = conn => {}
                _ = stop.wait_for(|v| *v) => {}
            }
        });
    }
}

/// Error returned to hyper to abort a connection (injected reset).
#[derive(Debug)]
struct ResetError;

impl std::fmt::Display for ResetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected connection reset")
    }
}

impl std::error::Error for ResetError {}

/// Bind helper.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
