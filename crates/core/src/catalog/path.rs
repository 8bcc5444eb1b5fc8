//! Path templates: matching a concrete path (percent-decoded parameters)
//! and rendering one (percent-encoded), and the captured [`PathParams`].

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str};

use crate::zone::{UnknownZone, Zone};

/// Matches a normalized concrete path against a template.
pub(super) fn match_template(template: &'static str, path: &str) -> Option<PathParams> {
    let mut template = template.split('/');
    let mut segments = path.split('/');
    let mut params = Vec::new();
    loop {
        match (template.next(), segments.next()) {
            (None, None) => return Some(PathParams { params }),
            (Some(t), Some(s)) => match param_name(t) {
                Some(name) if !s.is_empty() => params.push((name, percent_decode(s))),
                Some(_) => return None,
                None if t == s => {}
                None => return None,
            },
            _ => return None,
        }
    }
}

pub(super) fn param_name(segment: &str) -> Option<&str> {
    segment.strip_prefix('{')?.strip_suffix('}')
}

pub(super) fn normalize_path(path: &str) -> &str {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    match path.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => trimmed,
        _ => path,
    }
}

/// The decoded segment; the raw text when the escapes do not form UTF-8.
fn percent_decode(segment: &str) -> String {
    percent_decode_str(segment)
        .decode_utf8()
        .map_or_else(|_| segment.to_owned(), Cow::into_owned)
}

/// What a rendered path segment escapes: everything but RFC 3986 `pchar`
/// (unreserved, sub-delims, `:` and `@`).
pub(super) const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// Path parameters captured by [`Endpoint::matches`], in template order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PathParams {
    params: Vec<(&'static str, String)>,
}

impl PathParams {
    /// The decoded value of a parameter, e.g. `get("server_id")`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `{zone}` parameter, parsed. Every catalog path has one; a
    /// missing one reads as the empty, unknown zone.
    pub fn zone(&self) -> Result<Zone, UnknownZone> {
        self.get("zone").unwrap_or("").parse()
    }

    /// `(name, value)` pairs in template order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.params.iter().map(|(n, v)| (*n, v.as_str()))
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }
}
