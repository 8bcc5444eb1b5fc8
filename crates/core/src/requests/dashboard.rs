//! Dashboard query.

use crate::wire::wire_structs;
use serde::{Deserialize, Serialize};

wire_structs! {
    /// Query of `GET dashboard`.
    #[derive(Eq)]
    query GetDashboardQuery {
        organization?: String,
        project?: String,
    }
}
