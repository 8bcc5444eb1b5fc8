//! `Maybe<T>`: a field that is absent, explicitly `null`, or holds a value.
//!
//! JSON distinguishes a missing key from `"key": null`, and the Instance API
//! gives the difference meaning: in PATCH bodies `{"placement_group": null}`
//! clears the reference while an absent key leaves it alone
//! (`NullableStringValue` in the SDK). Some responses also omit keys that
//! other responses of the same type send as `null`. `Option<T>` cannot keep
//! both apart, so such fields use `Maybe<T>` with
//! `#[serde(default, skip_serializing_if = "Maybe::is_absent")]`, which keeps
//! round trips byte-faithful.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Tri-state JSON field: absent key, explicit `null`, or a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Maybe<T> {
    /// The key is not in the object.
    #[default]
    Absent,
    /// The key is present with the value `null`.
    Null,
    /// The key is present with a value.
    Value(T),
}

impl<T> Maybe<T> {
    /// True when the key is missing; used by `skip_serializing_if`.
    pub const fn is_absent(&self) -> bool {
        matches!(self, Maybe::Absent)
    }

    /// True when the key is present and `null`.
    pub const fn is_null(&self) -> bool {
        matches!(self, Maybe::Null)
    }

    /// True when the key holds a value.
    pub const fn is_value(&self) -> bool {
        matches!(self, Maybe::Value(_))
    }

    /// The value, if any (absent and `null` both give `None`).
    pub const fn value(&self) -> Option<&T> {
        match self {
            Maybe::Value(v) => Some(v),
            _ => None,
        }
    }

    /// Mutable access to the value, if any.
    pub fn value_mut(&mut self) -> Option<&mut T> {
        match self {
            Maybe::Value(v) => Some(v),
            _ => None,
        }
    }

    /// Consumes the field and returns the value, if any.
    pub fn into_value(self) -> Option<T> {
        match self {
            Maybe::Value(v) => Some(v),
            _ => None,
        }
    }

    /// PATCH view: `None` = leave unchanged, `Some(None)` = clear,
    /// `Some(Some(v))` = set.
    pub fn into_patch(self) -> Option<Option<T>> {
        match self {
            Maybe::Absent => None,
            Maybe::Null => Some(None),
            Maybe::Value(v) => Some(Some(v)),
        }
    }

    /// Borrowing version of [`Maybe::into_patch`].
    pub const fn as_patch(&self) -> Option<Option<&T>> {
        match self {
            Maybe::Absent => None,
            Maybe::Null => Some(None),
            Maybe::Value(v) => Some(Some(v)),
        }
    }

    /// Borrows the inner value.
    pub const fn as_ref(&self) -> Maybe<&T> {
        match self {
            Maybe::Absent => Maybe::Absent,
            Maybe::Null => Maybe::Null,
            Maybe::Value(v) => Maybe::Value(v),
        }
    }

    /// Maps the inner value, keeping absent and `null` as they are.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Maybe<U> {
        match self {
            Maybe::Absent => Maybe::Absent,
            Maybe::Null => Maybe::Null,
            Maybe::Value(v) => Maybe::Value(f(v)),
        }
    }
}

impl<T> From<T> for Maybe<T> {
    fn from(value: T) -> Self {
        Maybe::Value(value)
    }
}

impl<T> From<Option<Option<T>>> for Maybe<T> {
    fn from(patch: Option<Option<T>>) -> Self {
        match patch {
            None => Maybe::Absent,
            Some(None) => Maybe::Null,
            Some(Some(v)) => Maybe::Value(v),
        }
    }
}

impl<T: Serialize> Serialize for Maybe<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Only reached when a field forgot `skip_serializing_if`; `null`
            // is the least surprising output then.
            Maybe::Absent | Maybe::Null => serializer.serialize_none(),
            Maybe::Value(v) => v.serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Maybe<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Absent keys never reach this: `#[serde(default)]` yields `Absent`.
        Ok(match Option::<T>::deserialize(deserializer)? {
            None => Maybe::Null,
            Some(v) => Maybe::Value(v),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Patch {
        #[serde(default, skip_serializing_if = "Maybe::is_absent")]
        placement_group: Maybe<String>,
    }

    #[test]
    fn keeps_absent_null_and_value_apart() {
        for body in [
            json!({}),
            json!({"placement_group": null}),
            json!({"placement_group": "pg"}),
        ] {
            let parsed: Patch = serde_json::from_value(body.clone()).unwrap();
            assert_eq!(serde_json::to_value(&parsed).unwrap(), body);
        }
        let absent: Patch = serde_json::from_value(json!({})).unwrap();
        assert!(absent.placement_group.is_absent());
        let null: Patch = serde_json::from_value(json!({"placement_group": null})).unwrap();
        assert_eq!(null.placement_group.as_patch(), Some(None));
        let set: Patch = serde_json::from_value(json!({"placement_group": "pg"})).unwrap();
        assert_eq!(set.placement_group.value().map(String::as_str), Some("pg"));
    }
}
