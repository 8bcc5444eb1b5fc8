//! The client: configuration, the shared connection pool, rate limiter and
//! instruments, and the one function that sends a request (`send`), which
//! applies the rate limit, the retry policy and telemetry to every call.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fleet_core::Zone;
use fleet_core::catalog::Api;
use fleet_core::error::ApiError;
use reqwest::header::{self, HeaderMap, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::Config;
use crate::endpoint::{Method, Operation, Usage, fill, method_idempotent, to_reqwest};
use crate::error::{Error, Result};
use crate::pagination::list_total;
use crate::ratelimit::{RateLimiter, ThrottleListener};
use crate::retry::parse_retry_after;
use crate::telemetry::Telemetry;

/// Name of the optional caller header.
pub const CALLER_HEADER: &str = "X-Fleet-Caller";

/// Most bytes of a non-JSON error body kept in [`Error::Status`].
const MAX_ERROR_BODY: usize = 512;

/// Per-call settings, carried by a [`Client`] clone (see
/// [`Client::with_options`], [`Client::idempotent`],
/// [`Client::with_cancel`], [`Client::with_caller`]).
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// The caller vouches that re-sending this request is harmless even
    /// when it is a `POST` (e.g. a create whose name/tag the caller looks
    /// up before creating again). Unlocks retries on 5xx, timeouts and
    /// resets for `POST`.
    pub idempotent: bool,
    /// Stops rate-limit waits, attempts and back-off sleeps; the call then
    /// returns [`Error::Cancelled`].
    pub cancel: Option<CancellationToken>,
    /// `X-Fleet-Caller` header value, overriding the config's.
    pub caller: Option<String>,
    /// Overrides [`crate::RetryPolicy::max_attempts`].
    pub max_attempts: Option<u32>,
    /// Overrides [`Config::request_timeout`] for each attempt.
    pub timeout: Option<Duration>,
}

/// Builds a [`Client`].
pub struct ClientBuilder {
    config: Config,
    on_throttle: Option<ThrottleListener>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("on_throttle", &self.on_throttle.is_some())
            .finish()
    }
}

impl ClientBuilder {
    /// Calls `listener(zone, retry_after)` on every 429, from any clone.
    pub fn on_throttle(
        mut self,
        listener: impl Fn(Zone, Option<Duration>) + Send + Sync + 'static,
    ) -> Self {
        self.on_throttle = Some(Arc::new(listener));
        self
    }

    /// Builds the client (connection pool, rate limiter, instruments).
    pub fn build(self) -> Result<Client> {
        let config = self.config;
        config
            .validate()
            .map_err(|e| Error::Config(e.to_string()))?;
        let base =
            reqwest::Url::parse(&config.api_url).map_err(|e| Error::Config(e.to_string()))?;
        let server_address = base.host_str().unwrap_or_default().to_owned();
        let server_port = base.port_or_known_default().unwrap_or(443);
        let mut auth = HeaderValue::from_str(config.secret_key.expose())
            .map_err(|_| Error::Config("SCW_SECRET_KEY is not a valid header value".to_owned()))?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .tcp_keepalive(config.tcp_keepalive)
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                Error::Config(format!("cannot build the http client: {}", e.without_url()))
            })?;
        let limiter = RateLimiter::new(config.rate_limit.clone(), self.on_throttle);
        let options = RequestOptions {
            caller: config.caller.clone(),
            ..RequestOptions::default()
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_path: base.path().trim_end_matches('/').to_owned(),
                base,
                auth,
                limiter,
                telemetry: Telemetry::new(server_address, server_port),
                usage: Usage::default(),
                config,
            }),
            options,
        })
    }
}

struct Inner {
    http: reqwest::Client,
    base: reqwest::Url,
    base_path: String,
    auth: HeaderValue,
    limiter: RateLimiter,
    telemetry: Telemetry,
    usage: Usage,
    config: Config,
}

/// Typed async client of the Instance and Block APIs. Cloning is cheap and shares the
/// connection pool, the per-zone rate limiter and the counters; the
/// per-call options ([`RequestOptions`]) belong to each clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    options: RequestOptions,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// A response, before decoding: a success, or (in [`Failed::response`])
/// the error response itself.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) total_count: Option<u64>,
    pub(crate) body: Vec<u8>,
    pub(crate) content_type: Option<String>,
    /// The headers of [`KEPT_HEADERS`] present in the response.
    pub(crate) headers: Vec<(&'static str, String)>,
}

/// Response headers a raw caller ([`Client::invoke`]) gets back.
pub(crate) const KEPT_HEADERS: [&str; 4] = ["x-request-id", "location", "link", "retry-after"];

/// A call that ended in an error, with the last error response when there
/// was one (raw callers return it unchanged) and the attempts made.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) error: Error,
    pub(crate) response: Option<RawResponse>,
    pub(crate) attempts: u32,
}

/// A request body.
pub(crate) enum Body {
    Empty,
    Json(Vec<u8>),
    Text(Vec<u8>),
}

impl Client {
    /// A builder for `config`.
    pub fn builder(config: Config) -> ClientBuilder {
        ClientBuilder {
            config,
            on_throttle: None,
        }
    }

    /// A client for `config` with no throttle listener.
    pub fn new(config: Config) -> Result<Self> {
        Self::builder(config).build()
    }

    /// A client configured from the environment ([`Config::from_env`]).
    pub fn from_env() -> Result<Self> {
        Self::new(Config::from_env().map_err(|e| Error::Config(e.to_string()))?)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The options this clone sends with.
    pub fn options(&self) -> &RequestOptions {
        &self.options
    }

    /// A clone sending with `options`.
    pub fn with_options(&self, options: RequestOptions) -> Self {
        Client {
            inner: self.inner.clone(),
            options,
        }
    }

    /// A clone whose requests carry `X-Fleet-Caller: caller` (e.g.
    /// `worker-a/epoch-3`), so the API side (the emulator's call log) can
    /// tell who called.
    pub fn with_caller(&self, caller: impl Into<String>) -> Self {
        let mut options = self.options.clone();
        options.caller = Some(caller.into());
        self.with_options(options)
    }

    /// A clone whose `POST`s count as idempotent (re-sent on 5xx, timeouts
    /// and resets). Use only when a duplicate is harmless or detected.
    pub fn idempotent(&self) -> Self {
        let mut options = self.options.clone();
        options.idempotent = true;
        self.with_options(options)
    }

    /// A clone whose calls stop when `cancel` fires.
    pub fn with_cancel(&self, cancel: CancellationToken) -> Self {
        let mut options = self.options.clone();
        options.cancel = Some(cancel);
        self.with_options(options)
    }

    /// The per-zone rate limiter shared by every clone.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }

    /// Spends one token of `zone`'s budget (e.g. before claiming a job),
    /// waiting for it; stops on this clone's cancellation token.
    pub async fn acquire(&self, zone: Zone) -> Result<()> {
        self.acquire_for(zone, None).await
    }

    /// [`Client::acquire`] for an attempt of a call of `api`.
    async fn acquire_for(&self, zone: Zone, api: Option<Api>) -> Result<()> {
        let limiter = &self.inner.limiter;
        match &self.options.cancel {
            Some(cancel) => limiter.acquire_cancellable_for(zone, api, cancel).await,
            None => {
                limiter.acquire_for(zone, api).await;
                Ok(())
            }
        }
    }

    /// 429s seen for `zone` by any clone.
    pub fn throttled(&self, zone: Zone) -> u64 {
        self.inner.limiter.throttled(zone)
    }

    /// Requests sent per endpoint by any clone (first attempts only).
    pub fn endpoint_usage(&self) -> BTreeMap<Operation, u64> {
        self.inner.usage.snapshot()
    }

    /// Sends a JSON request and decodes a JSON response.
    pub(crate) async fn call<Q, B, T>(
        &self,
        op: Operation,
        zone: Zone,
        params: &[&str],
        query: Option<&Q>,
        body: Option<&B>,
    ) -> Result<(T, Option<u64>)>
    where
        Q: Serialize + ?Sized,
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let body = match body {
            Some(body) => Body::Json(
                serde_json::to_vec(body).map_err(|e| Error::InvalidRequest(e.to_string()))?,
            ),
            None => Body::Empty,
        };
        let response = self
            .send(op, zone, params, query_pairs(query)?, body)
            .await?;
        let total = response.total_count;
        Ok((decode(op, &response)?, total))
    }

    /// Sends a request whose response has no body (204).
    pub(crate) async fn call_empty<B: Serialize + ?Sized>(
        &self,
        op: Operation,
        zone: Zone,
        params: &[&str],
        body: Option<&B>,
    ) -> Result<()> {
        let body = match body {
            Some(body) => Body::Json(
                serde_json::to_vec(body).map_err(|e| Error::InvalidRequest(e.to_string()))?,
            ),
            None => Body::Empty,
        };
        self.send(op, zone, params, Vec::new(), body)
            .await
            .map(drop)
    }

    /// Sends a request with a raw body and returns the raw response body.
    pub(crate) async fn call_raw(
        &self,
        op: Operation,
        zone: Zone,
        params: &[&str],
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>> {
        let body = body.map_or(Body::Empty, Body::Text);
        self.send(op, zone, params, Vec::new(), body)
            .await
            .map(|r| r.body)
    }

    /// The request pipeline: rate limit, attempt, classify, retry.
    pub(crate) async fn send(
        &self,
        op: Operation,
        zone: Zone,
        params: &[&str],
        query: Vec<(String, String)>,
        body: Body,
    ) -> Result<RawResponse> {
        self.send_counted(op, zone, params, query, body)
            .await
            .map(|(response, _)| response)
            .map_err(|failed| failed.error)
    }

    /// [`Client::send`], also returning the attempts made and, on failure,
    /// the last error response.
    pub(crate) async fn send_counted(
        &self,
        op: Operation,
        zone: Zone,
        params: &[&str],
        query: Vec<(String, String)>,
        body: Body,
    ) -> std::result::Result<(RawResponse, u32), Failed> {
        let unsent = |error: Error| Failed {
            error,
            response: None,
            attempts: 0,
        };
        let endpoint = op.endpoint();
        let path = fill(endpoint.path, zone.as_str(), params)
            .map_err(|e| unsent(Error::InvalidRequest(e)))?;
        let mut url = self.inner.base.clone();
        url.set_path(&format!("{}{}", self.inner.base_path, path));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter());
        }
        let caller = match &self.options.caller {
            Some(caller) => Some(HeaderValue::from_str(caller).map_err(|_| {
                unsent(Error::InvalidRequest(format!(
                    "{CALLER_HEADER} must be visible ascii"
                )))
            })?),
            None => None,
        };
        self.inner.usage.record(op);
        let policy = &self.inner.config.retry;
        let max_attempts = self
            .options
            .max_attempts
            .unwrap_or(policy.max_attempts)
            .max(1);
        let idempotent = method_idempotent(endpoint.method) || self.options.idempotent;
        let mut ambiguous = false;
        let mut attempt: u32 = 1;
        loop {
            if let Err(error) = self.acquire_for(zone, Some(endpoint.api())).await {
                return Err(Failed {
                    error,
                    response: None,
                    attempts: attempt - 1,
                });
            }
            let result = self
                .attempt(op, zone, &url, caller.as_ref(), &body, attempt)
                .await;
            let (error, response) = match result {
                Ok(response) => return Ok((response, attempt)),
                Err(failure) => failure,
            };
            if error.is_rate_limited() {
                self.inner
                    .limiter
                    .note_throttled(zone, endpoint.api(), error.retry_after());
            }
            // A DELETE whose earlier attempt may have gone through: its
            // 404 now means the resource is gone, which is what was asked.
            if endpoint.method == Method::Delete && ambiguous && error.is_not_found() {
                return Ok((
                    RawResponse {
                        status: 204,
                        total_count: None,
                        body: Vec::new(),
                        content_type: None,
                        headers: Vec::new(),
                    },
                    attempt,
                ));
            }
            ambiguous |= !error.not_processed();
            let retry_policy = crate::retry::RetryPolicy {
                max_attempts,
                ..policy.clone()
            };
            let Some(delay) = retry_policy.decide(attempt, &error, idempotent) else {
                return Err(Failed {
                    error,
                    response,
                    attempts: attempt,
                });
            };
            tracing::debug!(
                url.template = op.endpoint().path,
                http.request.method = op.endpoint().method.as_str(),
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "retrying scaleway call"
            );
            if let Err(error) = self.sleep(delay).await {
                return Err(Failed {
                    error,
                    response,
                    attempts: attempt,
                });
            }
            attempt += 1;
        }
    }

    /// Sleeps, stopping early on this clone's cancellation token.
    pub(crate) async fn sleep(&self, delay: Duration) -> Result<()> {
        match &self.options.cancel {
            Some(cancel) => tokio::select! {
                biased;
                () = cancel.cancelled() => Err(Error::Cancelled),
                () = tokio::time::sleep(delay) => Ok(()),
            },
            None => {
                tokio::time::sleep(delay).await;
                Ok(())
            }
        }
    }

    /// One HTTP attempt, in its own span. An error response comes back
    /// with its error.
    async fn attempt(
        &self,
        op: Operation,
        zone: Zone,
        url: &reqwest::Url,
        caller: Option<&HeaderValue>,
        body: &Body,
        attempt: u32,
    ) -> std::result::Result<RawResponse, (Error, Option<RawResponse>)> {
        let endpoint = op.endpoint();
        let telemetry = &self.inner.telemetry;
        let mut url_full = url.clone();
        url_full.set_query(None);
        let span = telemetry.span(endpoint, url_full.as_str(), attempt - 1, zone.as_str());
        let started = Instant::now();
        let timeout = self
            .options
            .timeout
            .unwrap_or(self.inner.config.request_timeout);
        let mut request = self
            .inner
            .http
            .request(to_reqwest(endpoint.method), url.clone())
            .timeout(timeout)
            .header("X-Auth-Token", self.inner.auth.clone());
        if let Some(caller) = caller {
            request = request.header(CALLER_HEADER, caller.clone());
        }
        request = match body {
            Body::Empty => request,
            Body::Json(bytes) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            Body::Text(bytes) => request
                .header(header::CONTENT_TYPE, "text/plain")
                .body(bytes.clone()),
        };
        let exchange = async {
            let response = request
                .send()
                .await
                .map_err(|e| (classify(e, op, started.elapsed()), None))?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let bytes = response
                .bytes()
                .await
                .map_err(|e| (classify(e, op, started.elapsed()), None))?;
            let raw = RawResponse {
                status,
                total_count: list_total(endpoint, header_str(&headers, "x-total-count"), &bytes),
                body: bytes.to_vec(),
                content_type: header_str(&headers, "content-type").map(str::to_owned),
                headers: KEPT_HEADERS
                    .iter()
                    .filter_map(|name| header_str(&headers, name).map(|v| (*name, v.to_owned())))
                    .collect(),
            };
            if (200..300).contains(&status) {
                Ok(raw)
            } else {
                Err((error_from_response(op, status, &headers, &bytes), Some(raw)))
            }
        }
        .instrument(span.clone());
        let result = match &self.options.cancel {
            Some(cancel) => tokio::select! {
                biased;
                () = cancel.cancelled() => Err((Error::Cancelled, None)),
                result = exchange => result,
            },
            None => exchange.await,
        };
        let (status, error_type) = match &result {
            Ok(response) => (Some(response.status), None),
            Err((error, _)) => (error.status(), Some(error.error_type())),
        };
        telemetry.finish(
            &span,
            endpoint,
            status,
            error_type.as_deref(),
            started.elapsed(),
        );
        result
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Builds the error of a non-2xx response.
fn error_from_response(op: Operation, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let retry_after =
        header_str(headers, "retry-after").and_then(|v| parse_retry_after(v, SystemTime::now()));
    let request_id = header_str(headers, "x-request-id").map(str::to_owned);
    let content_type = header_str(headers, "content-type").map(str::to_owned);
    let is_json = content_type.as_deref().is_some_and(|ct| {
        ct.trim_start()
            .to_ascii_lowercase()
            .starts_with("application/json")
    });
    if is_json
        && let Ok(serde_json::Value::Object(map)) =
            serde_json::from_slice::<serde_json::Value>(body)
    {
        return Error::Api {
            status,
            source: Box::new(ApiError::from_body(map)),
            request_id,
            retry_after,
            method: op.endpoint().method.as_str(),
            template: op.endpoint().path,
        };
    }
    let mut end = body.len().min(MAX_ERROR_BODY);
    while end > 0 && std::str::from_utf8(&body[..end]).is_err() && body.len() - end < 4 {
        end -= 1;
    }
    Error::Status {
        status,
        content_type,
        body: String::from_utf8_lossy(&body[..end]).into_owned(),
        request_id,
        retry_after,
        method: op.endpoint().method.as_str(),
        template: op.endpoint().path,
    }
}

/// Maps a `reqwest` failure to a variant (see [`Error`]); the URL is
/// dropped from the error.
fn classify(error: reqwest::Error, op: Operation, elapsed: Duration) -> Error {
    let method = op.endpoint().method.as_str();
    let template = op.endpoint().path;
    let error = error.without_url();
    if error.is_timeout() {
        Error::Timeout {
            elapsed,
            method,
            template,
        }
    } else if error.is_connect() {
        Error::Connect {
            source: error,
            method,
            template,
        }
    } else if error.is_builder() || error.is_redirect() || error.is_status() {
        Error::Transport {
            source: error,
            method,
            template,
        }
    } else {
        // Failed while sending or reading: the connection broke.
        Error::Reset {
            source: error,
            method,
            template,
        }
    }
}

/// Decodes a JSON body.
pub(crate) fn decode<T: DeserializeOwned>(op: Operation, response: &RawResponse) -> Result<T> {
    let body: &[u8] = if response.body.is_empty() {
        b"{}"
    } else {
        &response.body
    };
    serde_json::from_slice(body).map_err(|e| Error::Decode {
        status: response.status,
        reason: e.to_string(),
        method: op.endpoint().method.as_str(),
        template: op.endpoint().path,
    })
}

/// Flattens a query struct into `key=value` pairs (strings as they are,
/// numbers and booleans printed, `null`s skipped).
pub(crate) fn query_pairs<Q: Serialize + ?Sized>(
    query: Option<&Q>,
) -> Result<Vec<(String, String)>> {
    let Some(query) = query else {
        return Ok(Vec::new());
    };
    let value = serde_json::to_value(query).map_err(|e| Error::InvalidRequest(e.to_string()))?;
    let serde_json::Value::Object(map) = value else {
        return Err(Error::InvalidRequest(
            "a query must be an object".to_owned(),
        ));
    };
    let mut pairs = Vec::with_capacity(map.len());
    for (key, value) in map {
        let value = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s,
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(","),
            serde_json::Value::Object(_) => {
                return Err(Error::InvalidRequest(format!(
                    "query parameter {key} cannot be an object"
                )));
            }
        };
        pairs.push((key, value));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    //! Responses the emulator does not produce, from a scripted server.

    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::ratelimit::RateLimitConfig;
    use crate::retry::RetryPolicy;

    /// What the scripted server does with one request.
    enum Reply {
        /// Close the connection without answering.
        Drop,
        /// Answer this raw HTTP response.
        Raw(&'static str),
    }

    /// Serves one request per connection from `script`; returns the base
    /// URL and the request lines seen.
    async fn scripted(script: Vec<Reply>) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            for reply in script {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 16 * 1024];
                let mut read = 0;
                // Read the head, then the body of Content-Length bytes.
                loop {
                    let n = stream.read(&mut buf[read..]).await.unwrap();
                    read += n;
                    let text = String::from_utf8_lossy(&buf[..read]).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if read >= end + 4 + length || n == 0 {
                            log.lock()
                                .unwrap()
                                .push(text.lines().next().unwrap_or_default().to_owned());
                            break;
                        }
                    }
                }
                match reply {
                    Reply::Drop => drop(stream),
                    Reply::Raw(response) => {
                        stream.write_all(response.as_bytes()).await.unwrap();
                        stream.shutdown().await.ok();
                    }
                }
            }
        });
        (url, seen)
    }

    fn client(url: &str, attempts: u32) -> Client {
        let config = Config::new("6f1e0e4e-0000-4000-8000-000000000001")
            .with_api_url(url)
            .with_rate_limit(RateLimitConfig::unlimited())
            .with_retry(RetryPolicy {
                max_attempts: attempts,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
                max_retry_after: Duration::from_secs(2),
            });
        Client::new(config).unwrap()
    }

    const IP: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 24\r\nConnection: close\r\n\r\n{\"ip\": {\"id\": \"ip-1\"}}  ";

    #[tokio::test]
    async fn bare_429_is_a_status_error_and_is_retried() {
        let (url, seen) = scripted(vec![
            Reply::Raw("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            Reply::Raw(IP),
            Reply::Raw("HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
        ])
        .await;
        let ip = client(&url, 2).get_ip(Zone::FrPar1, "ip-1").await.unwrap();
        assert_eq!(ip.id, "ip-1");
        let err = client(&url, 1)
            .get_ip(Zone::FrPar1, "ip-1")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Status { status: 429, .. }), "{err:?}");
        assert!(err.retryable() && err.is_rate_limited());
        assert_eq!(seen.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn missing_user_data_is_a_bare_404() {
        let (url, _) = scripted(vec![Reply::Raw(
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )])
        .await;
        let err = client(&url, 3)
            .get_server_user_data(Zone::FrPar1, "srv", "nope")
            .await
            .unwrap_err();
        match &err {
            Error::Status {
                status,
                content_type,
                body,
                ..
            } => {
                assert_eq!(*status, 404);
                assert_eq!(content_type.as_deref(), Some("text/plain"));
                assert!(body.is_empty());
            }
            other => panic!("{other:?}"),
        }
        assert!(err.is_not_found() && !err.retryable());
    }

    #[tokio::test]
    async fn a_delete_whose_first_attempt_was_lost_succeeds_on_404() {
        let (url, seen) = scripted(vec![
            Reply::Drop,
            Reply::Raw("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 83\r\nConnection: close\r\n\r\n{\"type\": \"not_found\", \"message\": \"resource is not found\", \"resource\": \"instance_ip\"}"),
        ])
        .await;
        client(&url, 3)
            .delete_ip(Zone::FrPar1, "ip-1")
            .await
            .unwrap();
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_plain_post_is_not_resent_after_a_reset_but_an_idempotent_one_is() {
        let (url, seen) = scripted(vec![Reply::Drop, Reply::Drop, Reply::Raw(
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 24\r\nConnection: close\r\n\r\n{\"ip\": {\"id\": \"ip-2\"}}  ",
        )])
        .await;
        let plain = client(&url, 5);
        let err = plain
            .create_ip(Zone::FrPar1, &Default::default())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Reset { .. }), "{err:?}");
        assert!(
            err.retryable(),
            "the failure is transient, the method is what forbids a resend"
        );
        assert_eq!(seen.lock().unwrap().len(), 1);
        let ip = plain
            .idempotent()
            .create_ip(Zone::FrPar1, &Default::default())
            .await
            .unwrap();
        assert_eq!(ip.id, "ip-2");
        assert_eq!(seen.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_bad_body_is_a_decode_error() {
        let (url, _) = scripted(vec![Reply::Raw(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\nConnection: close\r\n\r\n{\"ip\": 1}",
        )])
        .await;
        let err = client(&url, 3)
            .get_ip(Zone::FrPar1, "ip-1")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");
        assert!(!err.retryable());
    }

    #[test]
    fn queries_flatten() {
        let query = fleet_core::ListServersQuery {
            tags: Some(vec!["a".into(), "b".into()]),
            per_page: Some(100),
            without_ip: Some(true),
            ..Default::default()
        };
        let pairs = query_pairs(Some(&query)).unwrap();
        assert!(pairs.contains(&("tags".to_owned(), "a,b".to_owned())));
        assert!(pairs.contains(&("per_page".to_owned(), "100".to_owned())));
        assert!(pairs.contains(&("without_ip".to_owned(), "true".to_owned())));
        assert_eq!(pairs.len(), 3);
    }
}
