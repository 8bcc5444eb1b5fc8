//! Request and response values passed between the router and the resource
//! handlers, plus typed accessors for JSON bodies that turn every malformed
//! value into a precise `invalid_arguments` detail instead of a panic.

use bytes::Bytes;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::errors::{ApiError, ApiResult, ArgDetail};
use crate::util::parse_uuid;

/// An Instance API request, already split after `/instance/v1/zones/{zone}/`.
#[derive(Debug)]
pub struct Req {
    /// Upper-case HTTP method.
    pub method: String,
    /// API version segment (`v1`, or `v2alpha1` for the few newer routes).
    pub version: String,
    /// Path segments after the zone, trailing empty segment removed.
    pub segs: Vec<String>,
    /// Decoded query pairs in order.
    pub query: Vec<(String, String)>,
    /// Raw body bytes.
    pub body: Bytes,
}

impl Req {
    /// First value of a query parameter; empty values count as absent, as
    /// the SDKs send `name=` for unset filters.
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// A boolean query parameter.
    pub fn q_bool(&self, key: &str) -> ApiResult<Option<bool>> {
        match self.q(key) {
            None => Ok(None),
            Some("true") | Some("1") => Ok(Some(true)),
            Some("false") | Some("0") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid(ArgDetail::format(
                key,
                "not a valid boolean",
            ))),
        }
    }

    /// A comma-separated list query parameter (`tags`, `servers`, …).
    pub fn q_list(&self, key: &str) -> Vec<String> {
        self.q(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The body as a JSON object; an empty body is `{}` (Python sends `{}`,
    /// Go sends nothing for body-less POSTs).
    pub fn json(&self) -> ApiResult<Obj> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Obj(Map::new()));
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(m)) => Ok(Obj(m)),
            Ok(_) => Err(ApiError::invalid(ArgDetail::format(
                "body",
                "the request body must be a JSON object",
            ))),
            Err(e) => Err(ApiError::invalid(ArgDetail::format(
                "body",
                format!("invalid JSON: {e}"),
            ))),
        }
    }
}

/// A JSON object body with typed, validating getters.
#[derive(Debug, Clone, Default)]
pub struct Obj(pub Map<String, Value>);

impl Obj {
    /// Whether the key is present (even as `null`).
    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }
    /// Whether the key is present and explicitly `null`.
    pub fn is_null(&self, key: &str) -> bool {
        matches!(self.0.get(key), Some(Value::Null))
    }
    /// Raw value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }
    /// Optional string.
    pub fn str(&self, key: &str) -> ApiResult<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(type_err(key, "string")),
        }
    }
    /// Optional non-empty string (empty strings count as absent, like the
    /// Go SDK's omitempty zero values).
    pub fn str_ne(&self, key: &str) -> ApiResult<Option<String>> {
        Ok(self.str(key)?.filter(|s| !s.is_empty()))
    }
    /// Optional bool.
    pub fn bool(&self, key: &str) -> ApiResult<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(type_err(key, "boolean")),
        }
    }
    /// Optional unsigned integer.
    pub fn u64(&self, key: &str) -> ApiResult<Option<u64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| type_err(key, "unsigned integer")),
        }
    }
    /// Optional list of strings.
    pub fn str_list(&self, key: &str) -> ApiResult<Option<Vec<String>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| type_err(key, "list of strings"))
                })
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            Some(_) => Err(type_err(key, "list of strings")),
        }
    }
    /// Optional UUID.
    pub fn uuid(&self, key: &str) -> ApiResult<Option<Uuid>> {
        match self.str_ne(key)? {
            None => Ok(None),
            Some(s) => parse_uuid(&s)
                .map(Some)
                .ok_or_else(|| ApiError::invalid(ArgDetail::format(key, "not a valid UUID"))),
        }
    }
    /// Optional nested object.
    pub fn obj(&self, key: &str) -> ApiResult<Option<Obj>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(Obj(m.clone()))),
            Some(_) => Err(type_err(key, "object")),
        }
    }
    /// Optional string restricted to an enumeration.
    pub fn enum_str(&self, key: &str, allowed: &[&str]) -> ApiResult<Option<String>> {
        match self.str_ne(key)? {
            None => Ok(None),
            Some(s) if allowed.contains(&s.as_str()) => Ok(Some(s)),
            Some(s) => Err(ApiError::invalid(ArgDetail::constraint(
                key,
                format!("{s:?} is not one of {}", allowed.join(", ")),
            ))),
        }
    }
}

fn type_err(key: &str, want: &str) -> ApiError {
    ApiError::invalid(ArgDetail::format(key, format!("expected a {want}")))
}

/// A response body.
#[derive(Debug, Clone)]
pub enum Body {
    /// `application/json`.
    Json(Value),
    /// Raw bytes with `text/plain` (user data).
    Text(Vec<u8>),
    /// No body, with the given content type (204s still carry one).
    Empty(&'static str),
}

/// A response before it becomes HTTP.
#[derive(Debug, Clone)]
pub struct Resp {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: Body,
    /// Extra headers (`Location`, `X-Total-Count`, `Link`).
    pub headers: Vec<(&'static str, String)>,
}

impl Resp {
    /// 200 JSON.
    pub fn ok(v: Value) -> Self {
        Self {
            status: 200,
            body: Body::Json(v),
            headers: Vec::new(),
        }
    }
    /// 201 JSON with an optional `Location` (path relative to the zone root).
    pub fn created(v: Value, location: Option<String>) -> Self {
        Self {
            status: 201,
            body: Body::Json(v),
            headers: location.map(|l| ("location", l)).into_iter().collect(),
        }
    }
    /// 202 JSON.
    pub fn accepted(v: Value) -> Self {
        Self {
            status: 202,
            body: Body::Json(v),
            headers: Vec::new(),
        }
    }
    /// 204 with an empty body and a JSON content type (as observed).
    pub fn no_content() -> Self {
        Self {
            status: 204,
            body: Body::Empty("application/json"),
            headers: Vec::new(),
        }
    }
    /// Add a header.
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}
