//! List envelopes of the Block API. Unlike the Instance lists, the total is
//! in the body (`total_count`); no `X-Total-Count` header was recorded.
//! Single objects are answered bare (a `Volume`, not `{"volume": …}`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::block::resources::{Snapshot, Volume, VolumeTypeInfo};

/// One page of a Block list: its items and the total over all pages.
pub trait ListPage {
    /// The listed resource.
    type Item;

    /// The JSON key of the items, as the catalog's `pagination` gives it.
    const ITEMS_KEY: &'static str;

    /// Number of items over all pages.
    fn total_count(&self) -> u64;

    /// The items of this page.
    fn into_items(self) -> Vec<Self::Item>;
}

/// Declares a list envelope `{"<key>": [Item], "total_count": n}`.
macro_rules! list_page {
    ($(#[$meta:meta])* $name:ident { $key:ident: $item:ty }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        #[serde(default)]
        pub struct $name {
            pub $key: Vec<$item>,
            pub total_count: u64,
            /// Keys this crate does not model, written back unchanged.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }

        impl ListPage for $name {
            type Item = $item;
            const ITEMS_KEY: &'static str = stringify!($key);

            fn total_count(&self) -> u64 {
                self.total_count
            }

            fn into_items(self) -> Vec<$item> {
                self.$key
            }
        }
    };
}

list_page! {
    /// `{"volume_types": [VolumeTypeInfo], "total_count": n}`.
    ListVolumeTypesResponse { volume_types: VolumeTypeInfo }
}
list_page! {
    /// `{"volumes": [Volume], "total_count": n}`.
    ListVolumesResponse { volumes: Volume }
}
list_page! {
    /// `{"snapshots": [Snapshot], "total_count": n}`.
    ListSnapshotsResponse { snapshots: Snapshot }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_total_is_in_the_body() {
        let body = json!({"total_count": 3, "volumes": [{"id": "a"}]});
        let page: ListVolumesResponse = serde_json::from_value(body).unwrap();
        assert_eq!(page.total_count(), 3);
        assert_eq!(ListVolumesResponse::ITEMS_KEY, "volumes");
        assert_eq!(page.into_items()[0].id, "a");
        let empty: ListSnapshotsResponse =
            serde_json::from_value(json!({"snapshots": [], "total_count": 0})).unwrap();
        assert_eq!(
            serde_json::to_value(&empty).unwrap(),
            json!({"snapshots": [], "total_count": 0})
        );
    }
}
