//! Caller authentication: bearer tokens checked against the configured callers.
//!
//! Only SHA-256 digests of tokens are kept in memory (a configured plain token is hashed at
//! load and dropped), and a presented token is compared against every caller's digest in
//! constant time, so neither timing nor a heap dump reveals a token. Tokens never reach logs,
//! errors or the database: the rest of the gateway only sees the [`Caller`].

use std::sync::Arc;

use fleet_proto::reasons::PROJECT_NOT_GRANTED;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tonic::Request;
use tonic::service::Interceptor;

use crate::errors::GatewayError;
use crate::limits::{CallerLimits, Limit, rate_limited_status};

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads only (Get, List, Wait, Watch).
    ReadOnly,
    /// Reads and mutations.
    Operator,
}

impl Role {
    /// The configured name (`operator`, `read_only`), as audit records show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ReadOnly => "read_only",
            Role::Operator => "operator",
        }
    }
}

/// The projects a caller may see and touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectScope {
    /// Every project (`["*"]`).
    All,
    /// Only these project ids.
    Only(Vec<String>),
}

impl ProjectScope {
    /// Whether `project` is granted.
    pub fn allows(&self, project: &str) -> bool {
        match self {
            ProjectScope::All => true,
            ProjectScope::Only(projects) => projects.iter().any(|p| p == project),
        }
    }

    /// The list handed to workers (`project_scope`): empty means unrestricted.
    pub fn as_list(&self) -> Vec<String> {
        match self {
            ProjectScope::All => Vec::new(),
            ProjectScope::Only(projects) => projects.clone(),
        }
    }
}

/// An authenticated caller, put into each request's extensions by [`AuthInterceptor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Caller id recorded on jobs, logs and spans.
    pub name: String,
    pub projects: ProjectScope,
    pub role: Role,
}

impl Caller {
    /// Refuses a read-only caller.
    pub fn require_operator(&self, method: &str) -> Result<(), GatewayError> {
        match self.role {
            Role::Operator => Ok(()),
            Role::ReadOnly => Err(GatewayError::denied(
                "READ_ONLY_CALLER",
                format!(
                    "caller {} is read-only and cannot call {method}; ask for an operator token",
                    self.name
                ),
            )),
        }
    }

    /// Refuses a project the caller was not granted.
    pub fn require_project(&self, project: &str) -> Result<(), GatewayError> {
        if self.projects.allows(project) {
            Ok(())
        } else {
            Err(GatewayError::denied(
                PROJECT_NOT_GRANTED,
                format!(
                    "caller {} may not use project {project}; use one of its granted projects",
                    self.name
                ),
            ))
        }
    }
}

/// One configured caller, as written in `FLEET_CALLERS` / `FLEET_CALLERS_FILE`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerConfig {
    pub name: String,
    /// Plain token (hashed at load).
    #[serde(default)]
    pub token: Option<String>,
    /// Hex SHA-256 of the token (preferred: the config then holds no secret).
    #[serde(default)]
    pub token_sha256: Option<String>,
    /// Project ids, or `["*"]` for every project.
    pub projects: Vec<String>,
    pub role: Role,
    /// Requests per second this caller may send (token bucket; 0 = unlimited). Default: the
    /// gateway's `FLEET_GATEWAY_CALLER_RATE`.
    #[serde(default)]
    pub rate_limit: Option<f64>,
    /// Requests this caller may send at once above its rate. Default: the gateway's
    /// `FLEET_GATEWAY_CALLER_BURST`.
    #[serde(default)]
    pub burst: Option<u32>,
}

impl std::fmt::Debug for CallerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallerConfig")
            .field("name", &self.name)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field(
                "token_sha256",
                &self.token_sha256.as_ref().map(|_| "[redacted]"),
            )
            .field("projects", &self.projects)
            .field("role", &self.role)
            .field("rate_limit", &self.rate_limit)
            .field("burst", &self.burst)
            .finish()
    }
}

/// Why the callers configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum CallersError {
    #[error("callers configuration is not valid json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("caller {0:?} needs exactly one of token or token_sha256")]
    Token(String),
    #[error("caller {0:?} has a token_sha256 that is not 64 hex digits")]
    Digest(String),
    #[error("caller {0:?} has no projects; use [\"*\"] for every project")]
    NoProjects(String),
    #[error("caller name {0:?} is empty or used twice")]
    Name(String),
    #[error("two callers share one token ({0:?})")]
    SharedToken(String),
    #[error("caller {0:?} has a rate_limit that is not a finite number >= 0 or a burst of 0")]
    Limit(String),
}

struct Entry {
    digest: [u8; 32],
    caller: Caller,
    rate_limit: Option<f64>,
    burst: Option<u32>,
}

/// The configured callers, by token digest.
#[derive(Clone, Default)]
pub struct Callers {
    entries: Arc<Vec<Entry>>,
}

impl std::fmt::Debug for Callers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| &e.caller.name))
            .finish()
    }
}

impl Callers {
    /// Checks and indexes the configured callers.
    pub fn new(configs: &[CallerConfig]) -> Result<Callers, CallersError> {
        let mut entries: Vec<Entry> = Vec::with_capacity(configs.len());
        for config in configs {
            if config.name.is_empty() || entries.iter().any(|e| e.caller.name == config.name) {
                return Err(CallersError::Name(config.name.clone()));
            }
            let digest = match (&config.token, &config.token_sha256) {
                (Some(token), None) if !token.is_empty() => sha256(token.as_bytes()),
                (None, Some(hex)) => {
                    parse_hex(hex).ok_or_else(|| CallersError::Digest(config.name.clone()))?
                }
                _ => return Err(CallersError::Token(config.name.clone())),
            };
            if entries.iter().any(|e| e.digest == digest) {
                return Err(CallersError::SharedToken(config.name.clone()));
            }
            if config.projects.is_empty() {
                return Err(CallersError::NoProjects(config.name.clone()));
            }
            if config.rate_limit.is_some_and(|r| !r.is_finite() || r < 0.0)
                || config.burst == Some(0)
            {
                return Err(CallersError::Limit(config.name.clone()));
            }
            let projects = if config.projects.iter().any(|p| p == "*") {
                ProjectScope::All
            } else {
                ProjectScope::Only(config.projects.clone())
            };
            entries.push(Entry {
                digest,
                caller: Caller {
                    name: config.name.clone(),
                    projects,
                    role: config.role,
                },
                rate_limit: config.rate_limit,
                burst: config.burst,
            });
        }
        Ok(Callers {
            entries: Arc::new(entries),
        })
    }

    /// Parses the JSON list of callers.
    pub fn parse_json(json: &str) -> Result<Vec<CallerConfig>, CallersError> {
        Ok(serde_json::from_str(json)?)
    }

    /// The rate-limit buckets of every caller: its own `rate_limit` / `burst`, else `default`.
    pub fn limits(&self, default: Limit) -> CallerLimits {
        CallerLimits::new(self.entries.iter().map(|e| {
            (
                e.caller.name.clone(),
                Limit {
                    rate: e.rate_limit.unwrap_or(default.rate),
                    burst: e.burst.unwrap_or(default.burst),
                },
            )
        }))
    }

    /// Number of configured callers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no caller is configured (every call is then refused).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The caller presenting `authorization` (the metadata value).
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, GatewayError> {
        let Some(value) = authorization else {
            return Err(GatewayError::Unauthenticated(
                "missing bearer token: send metadata \"authorization: Bearer <token>\"".into(),
            ));
        };
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                GatewayError::Unauthenticated(
                    "malformed authorization metadata: expected \"Bearer <token>\"".into(),
                )
            })?;
        let digest = sha256(token.as_bytes());
        // Look at every entry whatever matches, so the time taken does not depend on which
        // caller (if any) the token belongs to.
        let mut found: Option<&Caller> = None;
        for entry in self.entries.iter() {
            if constant_time_eq(&entry.digest, &digest) {
                found = Some(&entry.caller);
            }
        }
        found
            .cloned()
            .ok_or_else(|| GatewayError::Unauthenticated("unknown bearer token".into()))
    }
}

/// Hex SHA-256 of a token, for writing `token_sha256` into a configuration.
pub fn token_sha256_hex(token: &str) -> String {
    sha256(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn parse_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    diff == 0
}

/// The tonic interceptor: authenticates, applies the caller's rate limit (when limits are
/// set) and stores the [`Caller`] in the request extensions.
#[derive(Clone, Debug)]
pub struct AuthInterceptor {
    callers: Callers,
    limits: Option<Arc<CallerLimits>>,
}

impl AuthInterceptor {
    pub fn new(callers: Callers) -> Self {
        AuthInterceptor {
            callers,
            limits: None,
        }
    }

    /// Also refuses calls over their caller's rate limit (RESOURCE_EXHAUSTED).
    pub fn with_limits(mut self, limits: Arc<CallerLimits>) -> Self {
        self.limits = Some(limits);
        self
    }
}

impl Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, tonic::Status> {
        let header = request
            .metadata()
            .get("authorization")
            .map(|v| v.to_str().unwrap_or(""));
        match self.callers.authenticate(header) {
            Ok(caller) => {
                if let Some(limits) = &self.limits
                    && let Err(wait) = limits.check(&caller.name)
                {
                    // Debug only: a flood must not turn into a flood of log lines.
                    tracing::debug!(caller = %caller.name, wait_ms = wait.as_millis() as u64, "call refused: caller over its rate limit");
                    return Err(rate_limited_status(
                        &caller.name,
                        limits.limit_of(&caller.name),
                        wait,
                    ));
                }
                request.extensions_mut().insert(caller);
                Ok(request)
            }
            Err(err) => {
                tracing::info!(error = %err, "call refused: not authenticated");
                Err(err.to_status())
            }
        }
    }
}

/// The caller of a request that went through [`AuthInterceptor`].
pub fn caller_of<T>(request: &Request<T>) -> Result<Caller, GatewayError> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| GatewayError::Unauthenticated("request was not authenticated".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn callers() -> Callers {
        let json = format!(
            r#"[{{"name":"ops","token":"s3cret","projects":["*"],"role":"operator"}},
               {{"name":"viewer","token_sha256":"{}","projects":["p1"],"role":"read_only"}}]"#,
            token_sha256_hex("look")
        );
        Callers::new(&Callers::parse_json(&json).unwrap()).unwrap()
    }

    #[test]
    fn tokens_authenticate_their_caller() {
        let c = callers();
        assert_eq!(c.authenticate(Some("Bearer s3cret")).unwrap().name, "ops");
        let viewer = c.authenticate(Some("Bearer look")).unwrap();
        assert_eq!(viewer.role, Role::ReadOnly);
        assert!(viewer.require_operator("x").is_err());
        assert!(viewer.require_project("p1").is_ok());
        assert!(viewer.require_project("p2").is_err());
        for bad in [
            None,
            Some(""),
            Some("Bearer "),
            Some("Basic s3cret"),
            Some("Bearer nope"),
        ] {
            let err = c.authenticate(bad).unwrap_err();
            assert_eq!(err.to_status().code(), tonic::Code::Unauthenticated);
            assert!(!err.to_string().contains("s3cret"));
        }
    }

    #[test]
    fn bad_configurations_are_refused() {
        let bad = [
            r#"[{"name":"a","projects":["*"],"role":"operator"}]"#,
            r#"[{"name":"a","token":"t","token_sha256":"00","projects":["*"],"role":"operator"}]"#,
            r#"[{"name":"a","token_sha256":"zz","projects":["*"],"role":"operator"}]"#,
            r#"[{"name":"a","token":"t","projects":[],"role":"operator"}]"#,
            r#"[{"name":"a","token":"t","projects":["*"],"role":"admin"}]"#,
            r#"[{"name":"a","token":"t","projects":["*"],"role":"operator"},{"name":"a","token":"u","projects":["*"],"role":"operator"}]"#,
            r#"[{"name":"a","token":"t","projects":["*"],"role":"operator"},{"name":"b","token":"t","projects":["*"],"role":"operator"}]"#,
            r#"[{"name":"a","token":"t","projects":["*"],"role":"operator","rate_limit":-1}]"#,
            r#"[{"name":"a","token":"t","projects":["*"],"role":"operator","burst":0}]"#,
            r#"[{"name":"a","token":"t","projects":["*"],"role":"operator","rate_limit":"fast"}]"#,
        ];
        for json in bad {
            let parsed = Callers::parse_json(json);
            assert!(
                parsed.is_err() || Callers::new(&parsed.unwrap()).is_err(),
                "{json}"
            );
        }
    }

    #[test]
    fn callers_get_their_own_limits_or_the_default() {
        let configs = Callers::parse_json(
            r#"[{"name":"a","token":"t1","projects":["*"],"role":"operator","rate_limit":5,"burst":7},
               {"name":"b","token":"t2","projects":["*"],"role":"operator"}]"#,
        )
        .unwrap();
        let callers = Callers::new(&configs).unwrap();
        let limits = callers.limits(Limit {
            rate: 100.0,
            burst: 10,
        });
        assert_eq!(
            limits.limit_of("a"),
            Some(Limit {
                rate: 5.0,
                burst: 7
            })
        );
        assert_eq!(
            limits.limit_of("b"),
            Some(Limit {
                rate: 100.0,
                burst: 10
            })
        );
    }

    #[test]
    fn the_interceptor_refuses_a_caller_over_its_limit() {
        let configs = Callers::parse_json(
            r#"[{"name":"a","token":"t1","projects":["*"],"role":"operator","rate_limit":0.001,"burst":2},
               {"name":"b","token":"t2","projects":["*"],"role":"operator"}]"#,
        )
        .unwrap();
        let callers = Callers::new(&configs).unwrap();
        let limits = Arc::new(callers.limits(Limit::default()));
        let mut interceptor = AuthInterceptor::new(callers).with_limits(limits);
        let request = |token: &str| {
            let mut r = Request::new(());
            r.metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
            r
        };
        interceptor.call(request("t1")).unwrap();
        interceptor.call(request("t1")).unwrap();
        let refused = interceptor.call(request("t1")).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(!refused.message().contains("t1"));
        // Another caller is unaffected, and an unknown token is still UNAUTHENTICATED.
        interceptor.call(request("t2")).unwrap();
        assert_eq!(
            interceptor.call(request("nope")).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
    }

    #[test]
    fn debug_output_hides_tokens() {
        let configs = Callers::parse_json(
            r#"[{"name":"a","token":"hunter2","projects":["*"],"role":"operator"}]"#,
        )
        .unwrap();
        assert!(!format!("{configs:?}").contains("hunter2"));
        assert!(!format!("{:?}", Callers::new(&configs).unwrap()).contains("hunter2"));
    }
}
