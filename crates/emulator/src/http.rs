//! Request and response values passed between the router and the resource
//! handlers, plus typed accessors for JSON bodies that turn every malformed
//! value into a precise `invalid_arguments` detail instead of a panic.

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;

use fleet_core::{Method, PathParams};

use crate::errors::{ApiResult, ArgDetail, Error};
use crate::util::parse_uuid;

fn uuid_param(value: &str, arg: &str) -> ApiResult<Uuid> {
    parse_uuid(value).ok_or_else(|| Error::invalid(ArgDetail::format(arg, "not a valid UUID")))
}

/// The version of its API a request addressed: the Block API serves every
/// endpoint under `v1` and `v1alpha1`, whose bodies differ by a few keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Version {
    /// `/instance/v1/…`, `/block/v1/…` (and `/instance/v2alpha1/…`, a
    /// family of its own in the catalog).
    #[default]
    V1,
    /// `/block/v1alpha1/…`.
    V1Alpha1,
}

impl Version {
    /// The version a request path addresses.
    pub fn of_path(path: &str) -> Self {
        if path.starts_with(fleet_core::catalog::BLOCK_V1ALPHA1_PREFIX) {
            Version::V1Alpha1
        } else {
            Version::V1
        }
    }
}

/// An API request, already resolved to its catalog endpoint.
#[derive(Debug)]
pub struct Req {
    /// HTTP method.
    pub method: Method,
    /// The API version of the path.
    pub version: Version,
    /// Decoded path parameters of the endpoint's template (`zone` first).
    pub params: PathParams,
    /// Decoded query pairs in order.
    pub query: Vec<(String, String)>,
    /// Raw body bytes.
    pub body: Bytes,
}

impl Req {
    /// A path parameter by name (`""` when the template has none).
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).unwrap_or_default()
    }

    /// The first parameter after the zone: the resource the path names.
    pub fn first_id(&self) -> Option<&str> {
        self.params.iter().nth(1).map(|(_, v)| v)
    }

    /// The resource id of the path (its first parameter after the zone);
    /// a malformed id is a 400 on `arg`. Templates name it `id` on some
    /// PUTs, the API's errors always use the resource's name.
    pub fn id(&self, arg: &str) -> ApiResult<Uuid> {
        uuid_param(self.first_id().unwrap_or_default(), arg)
    }

    /// A UUID path parameter by name; a malformed one is a 400 on it.
    pub fn path_id(&self, name: &str) -> ApiResult<Uuid> {
        uuid_param(self.param(name), name)
    }

    /// First value of a query parameter; empty values count as absent, as
    /// the SDKs send `name=` for unset filters.
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// A boolean query parameter. The official Python SDK writes Python's
    /// `True`/`False` into the query (`public=False`), the Go SDK
    /// `true`/`false`: both spellings are booleans.
    pub fn q_bool(&self, key: &str) -> ApiResult<Option<bool>> {
        match self.q(key) {
            None => Ok(None),
            Some("true" | "True" | "1") => Ok(Some(true)),
            Some("false" | "False" | "0") => Ok(Some(false)),
            Some(_) => Err(Error::invalid(ArgDetail::format(
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

    /// Every value of a list query parameter, repeated (`ids=a&ids=b`, as
    /// the Go SDK sends slices) or comma-separated.
    pub fn q_all(&self, key: &str) -> Vec<String> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The body decoded into a fleet-core request type.
    pub fn decode<T: DeserializeOwned>(&self) -> ApiResult<T> {
        decode(self.json()?.0)
    }

    /// The body as a JSON object; an empty body is `{}` (Python sends `{}`,
    /// Go sends nothing for body-less POSTs).
    pub fn json(&self) -> ApiResult<Obj> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Obj(Map::new()));
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(m)) => Ok(Obj(m)),
            Ok(_) => Err(Error::invalid(ArgDetail::format(
                "body",
                "the request body must be a JSON object",
            ))),
            Err(e) => Err(Error::invalid(ArgDetail::format(
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
                .ok_or_else(|| Error::invalid(ArgDetail::format(key, "not a valid UUID"))),
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
            Some(s) => Err(Error::invalid(ArgDetail::constraint(
                key,
                format!("{s:?} is not one of {}", allowed.join(", ")),
            ))),
        }
    }
}

/// Decode a JSON object into a fleet-core request type. A value of the
/// wrong shape is a 400 naming the innermost offending argument (e.g.
/// `volumes.0.size`), found by decoding the keys one at a time: every core
/// request field is optional, so a lone key only fails on its own fault.
pub fn decode<T: DeserializeOwned>(body: Map<String, Value>) -> ApiResult<T> {
    let doc = Value::Object(body);
    match serde_json::from_value::<T>(doc.clone()) {
        Ok(t) => Ok(t),
        Err(e) => {
            let fits = |v: Value| serde_json::from_value::<T>(v).is_ok();
            let path = locate(&fits, &|v| v, &doc, String::new());
            let name = if path.is_empty() { "body" } else { &path };
            Err(Error::invalid(ArgDetail::format(name, e.to_string())))
        }
    }
}

fn locate(
    fits: &dyn Fn(Value) -> bool,
    wrap: &dyn Fn(Value) -> Value,
    v: &Value,
    path: String,
) -> String {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_owned()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let one = |inner: Value| {
                    let mut o = Map::new();
                    o.insert(k.clone(), inner);
                    wrap(Value::Object(o))
                };
                if !fits(one(x.clone())) {
                    return locate(fits, &one, x, join(k));
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let one = |inner: Value| wrap(Value::Array(vec![inner]));
                if !fits(one(x.clone())) {
                    return locate(fits, &one, x, join(&i.to_string()));
                }
            }
        }
        _ => {}
    }
    path
}

/// An optional string argument where `""` means absent (the Go SDK's
/// omitempty zero value).
pub fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

/// An optional UUID argument (`""` is absent).
pub fn uuid_arg(v: Option<&str>, name: &str) -> ApiResult<Option<Uuid>> {
    match v.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse_uuid(s)
            .map(Some)
            .ok_or_else(|| Error::invalid(ArgDetail::format(name, "not a valid UUID"))),
    }
}

/// A core enum argument restricted to the values the emulator serves;
/// core keeps unknown strings (`Other`), the API refuses them. `""` is
/// absent.
pub fn one_of<E: std::fmt::Display>(
    name: &str,
    v: Option<E>,
    allowed: &[&str],
) -> ApiResult<Option<E>> {
    let Some(e) = v else { return Ok(None) };
    let s = e.to_string();
    if s.is_empty() {
        Ok(None)
    } else if allowed.contains(&s.as_str()) {
        Ok(Some(e))
    } else {
        Err(Error::invalid(ArgDetail::constraint(
            name,
            format!("{s:?} is not one of {}", allowed.join(", ")),
        )))
    }
}

fn type_err(key: &str, want: &str) -> Error {
    Error::invalid(ArgDetail::format(key, format!("expected a {want}")))
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
    pub fn ok(body: impl Serialize) -> Self {
        Self::json(200, &body)
    }
    /// 201 JSON with an optional `Location` (path relative to the zone root).
    pub fn created(body: impl Serialize, location: Option<String>) -> Self {
        let mut r = Self::json(201, &body);
        r.headers.extend(location.map(|l| ("location", l)));
        r
    }
    /// 202 JSON.
    pub fn accepted(body: impl Serialize) -> Self {
        Self::json(202, &body)
    }
    /// JSON of a core response type. Those serialize infallibly (plain
    /// structs, string-keyed maps), so the `null` fallback is unreachable
    /// in practice and only keeps handlers free of panics.
    fn json(status: u16, body: &impl Serialize) -> Self {
        Self {
            status,
            body: Body::Json(serde_json::to_value(body).unwrap_or(Value::Null)),
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
