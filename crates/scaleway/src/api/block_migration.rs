//! Migration of `b_ssd` volumes and snapshots to SBS.

use fleet_core::{
    ApplyBlockMigrationRequest, CheckBlockMigrationOrganizationQuotasRequest, MigrationPlan,
    PlanBlockMigrationRequest,
};

use super::client_methods;
use crate::client::Client;

impl Client {
    client_methods! {
        /// `POST /instance/v1/zones/{zone}/block-migration/plan`
        send plan_block_migration() PlanBlockMigrationRequest => MigrationPlan = PlanBlockMigration(MigrationPlan);
        /// `POST /instance/v1/zones/{zone}/block-migration/apply`
        empty apply_block_migration() ApplyBlockMigrationRequest = ApplyBlockMigration;
        /// `POST /instance/v1/zones/{zone}/block-migration/check-organization-quotas`
        empty check_block_migration_organization_quotas() CheckBlockMigrationOrganizationQuotasRequest = CheckBlockMigrationOrganizationQuotas;
    }
}
