//! The Scaleway secret key, in a type that never prints.
//!
//! `Debug` and `Display` both write `[redacted]`, so the key cannot leak
//! through a log line, a span field or an error message by accident. The
//! only way to the value is [`SecretKey::expose`], used in one place: the
//! `X-Auth-Token` header, which is marked sensitive so that `reqwest`/`http`
//! do not print it either.

use std::fmt;

/// The text every redacted value prints as.
pub const REDACTED: &str = "[redacted]";

/// A Scaleway API secret key (`SCW_SECRET_KEY`, a UUID).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        SecretKey(key.into())
    }

    /// The key itself. Only for building the `X-Auth-Token` header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no key was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for SecretKey {
    fn from(key: String) -> Self {
        SecretKey(key)
    }
}

impl From<&str> for SecretKey {
    fn from(key: &str) -> Self {
        SecretKey(key.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_key() {
        let key = SecretKey::new("11111111-2222-3333-4444-555555555555");
        assert_eq!(format!("{key}"), REDACTED);
        assert_eq!(format!("{key:?}"), REDACTED);
        assert_eq!(format!("{key:#?}"), REDACTED);
        assert_eq!(key.expose(), "11111111-2222-3333-4444-555555555555");
    }
}
