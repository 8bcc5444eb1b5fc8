//! The tests' HTTP client: reqwest, with each response read whole into its
//! status, lower-cased headers and body bytes, so tests assert on exact
//! values.

#![allow(dead_code)] // each test binary uses its own part

use std::net::SocketAddr;

/// A response as bytes.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// First value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Body parsed as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A client that keeps its connection alive between requests.
#[derive(Debug, Clone)]
pub struct Conn {
    client: reqwest::Client,
    base: String,
}

impl Conn {
    /// A client for the emulator at `addr`.
    pub async fn connect(addr: SocketAddr) -> reqwest::Result<Self> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .build()?;
        Ok(Self {
            client,
            base: format!("http://{addr}"),
        })
    }

    /// Send one request (`path` may carry a query) and read its response.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> reqwest::Result<RawResponse> {
        // Methods are the tests' own literals, all valid tokens.
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .body(body.to_vec());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response.bytes().await?.to_vec();
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }
}

thread_local! {
    /// Building a client is slow (TLS set-up) next to the emulator's
    /// transitions, so each test thread builds one; it keeps no idle
    /// connection, so every `request` opens its own.
    static FRESH: reqwest::Client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(0)
        .build()
        .expect("an HTTP client");
}

/// One request on a fresh connection.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> reqwest::Result<RawResponse> {
    let client = FRESH.with(reqwest::Client::clone);
    Conn {
        client,
        base: format!("http://{addr}"),
    }
    .send(method, path, headers, body)
    .await
}

/// A tenant's JSON client for the emulator at `addr`.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Emulator address.
    pub addr: SocketAddr,
    /// `X-Auth-Token` (also the tenant's organization and default project).
    pub token: String,
}

impl Tenant {
    /// A client for `token`.
    pub fn new(addr: SocketAddr, token: &str) -> Self {
        Self {
            addr,
            token: token.to_owned(),
        }
    }

    /// One JSON call (`path` from the root, e.g. `/block/v1/zones/…`).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> RawResponse {
        let b = body.map(|v| v.to_string()).unwrap_or_default();
        let h = [
            ("content-type", "application/json"),
            ("x-auth-token", self.token.as_str()),
        ];
        match request(self.addr, method, path, &h, b.as_bytes()).await {
            Ok(r) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }

    /// GET `path` until `done` holds for its JSON (bounded: the tests'
    /// transitions are tens of milliseconds), and return that JSON.
    pub async fn wait_for(
        &self,
        path: &str,
        what: &str,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        for _ in 0..400 {
            let v = self.call("GET", path, None).await.json();
            if done(&v) {
                return v;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("{path} never reached {what}");
    }
}
