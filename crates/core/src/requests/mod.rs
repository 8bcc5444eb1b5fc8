//! Request bodies and query-string structs of every endpoint (reference
//! section 5).
//!
//! Body fields are `Option<T>` skipped when `None`, because what is
//! mandatory is the API's call, not the SDK's ("spec-required" fields such
//! as `protected` are routinely omitted), and an emulator must see what was
//! omitted to answer `invalid_arguments` like the real API. Fields where
//! `null` means something (PATCH `NullableStringValue`s, Go's `null` for
//! unset pointers) are [`Maybe<T>`](crate::Maybe). The full-replace PUT
//! bodies (`Set…Request`) send every field, `null`s included, so they use
//! plain fields. Every body keeps unknown keys in `extra`.
//!
//! Query structs serialize with any form encoder (e.g. `serde_urlencoded`);
//! list filters such as `tags` are one comma-joined parameter.

mod block_migration;
mod dashboard;
mod image;
mod ip;
mod placement_group;
mod private_nic;
mod product;
mod security_group;
mod server;
mod snapshot;
mod volume;

pub use block_migration::*;
pub use dashboard::*;
pub use image::*;
pub use ip::*;
pub use placement_group::*;
pub use private_nic::*;
pub use product::*;
pub use security_group::*;
pub use server::*;
pub use snapshot::*;
pub use volume::*;

use crate::wire::wire_structs;
use serde::{Deserialize, Serialize};

wire_structs! {
    /// `page` (1-based) and `per_page` (at most 100, default 50).
    #[derive(Eq)]
    query PaginationQuery {
        per_page?: u32,
        page?: i32,
    }
}

/// (De)serializes `Option<Vec<String>>` as one comma-joined string, the
/// API's encoding of list filters (`tags=a,b`).
pub(crate) mod comma_list {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        value: &Option<Vec<String>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(items) => serializer.serialize_str(&items.join(",")),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<String>>, D::Error> {
        let raw = Option::<String>::deserialize(deserializer)?;
        Ok(raw.map(|s| {
            s.split(',')
                .filter(|part| !part.is_empty())
                .map(str::to_owned)
                .collect()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_filters_are_comma_joined() {
        let query = ListServersQuery {
            tags: Some(vec!["a".into(), "b".into()]),
            page: Some(2),
            ..Default::default()
        };
        let value = serde_json::to_value(&query).unwrap();
        assert_eq!(value, json!({"page": 2, "tags": "a,b"}));
        let back: ListServersQuery = serde_json::from_value(value).unwrap();
        assert_eq!(back, query);
    }

    #[test]
    fn patch_null_clears_and_absent_keeps() {
        let clear: UpdateServerRequest =
            serde_json::from_value(json!({"placement_group": null})).unwrap();
        assert_eq!(clear.placement_group.as_patch(), Some(None));
        let keep: UpdateServerRequest = serde_json::from_value(json!({"name": "x"})).unwrap();
        assert!(keep.placement_group.is_absent());
        assert_eq!(serde_json::to_value(&keep).unwrap(), json!({"name": "x"}));
        let detach = UpdateIpRequest {
            server: crate::Maybe::Null,
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&detach).unwrap(),
            json!({"server": null})
        );
    }

    #[test]
    fn security_group_is_a_string_on_create_and_an_object_on_update() {
        let create: CreateServerRequest =
            serde_json::from_value(json!({"security_group": "sg"})).unwrap();
        assert_eq!(create.security_group.as_deref(), Some("sg"));
        let update: UpdateServerRequest =
            serde_json::from_value(json!({"security_group": {"id": "sg"}})).unwrap();
        assert_eq!(update.security_group.map(|t| t.id), Some("sg".to_owned()));
    }
}
