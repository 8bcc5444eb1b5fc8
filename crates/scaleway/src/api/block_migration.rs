//! Migration of `b_ssd` volumes and snapshots to SBS.
//!
//! One method per catalog endpoint; each doc line gives the method and
//! path template. Lists also have a `…_all` variant streaming every item
//! of every page (see [`crate::pagination`]).

use fleet_core::{
    ApplyBlockMigrationRequest, CheckBlockMigrationOrganizationQuotasRequest, MigrationPlan,
    PlanBlockMigrationRequest, Zone,
};

use crate::client::Client;
use crate::endpoint::Operation;
use crate::error::Result;

impl Client {
    /// `POST /instance/v1/zones/{zone}/block-migration/plan`
    pub async fn plan_block_migration(
        &self,
        zone: Zone,
        request: &PlanBlockMigrationRequest,
    ) -> Result<MigrationPlan> {
        let (response, _) = self
            .call::<_, _, MigrationPlan>(
                Operation::PlanBlockMigration,
                zone,
                &[],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response)
    }

    /// `POST /instance/v1/zones/{zone}/block-migration/apply`
    pub async fn apply_block_migration(
        &self,
        zone: Zone,
        request: &ApplyBlockMigrationRequest,
    ) -> Result<()> {
        self.call_empty(Operation::ApplyBlockMigration, zone, &[], Some(request))
            .await
    }

    /// `POST /instance/v1/zones/{zone}/block-migration/check-organization-quotas`
    pub async fn check_block_migration_organization_quotas(
        &self,
        zone: Zone,
        request: &CheckBlockMigrationOrganizationQuotasRequest,
    ) -> Result<()> {
        self.call_empty(
            Operation::CheckBlockMigrationOrganizationQuotas,
            zone,
            &[],
            Some(request),
        )
        .await
    }
}
