//! Block-migration bodies (local `b_ssd` volumes and snapshots to SBS).

use crate::wire::wire_structs;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

wire_structs! {
    /// `POST block-migration/plan`: exactly one of the two ids.
    body PlanBlockMigrationRequest {
        volume_id?: String,
        snapshot_id?: String,
    }

    /// `POST block-migration/apply`.
    body ApplyBlockMigrationRequest {
        volume_id?: String,
        snapshot_id?: String,
        /// From the plan.
        validation_key?: String,
    }

    /// `POST block-migration/check-organization-quotas`.
    body CheckBlockMigrationOrganizationQuotasRequest {
        organization?: String,
    }
}
