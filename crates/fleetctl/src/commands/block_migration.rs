//! `block-migration`: moving b_ssd volumes and their snapshots to SBS.

use clap::{Args, Subcommand};
use fleet_proto::v1;

use super::{confirm, show, start};
use crate::args::{LongRunning, Zone};
use crate::ctx::Ctx;
use crate::error::CliError;

/// The volume or snapshot a block migration is about.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct MigrationTarget {
    /// Volume UUID (b_ssd) to migrate
    #[arg(long)]
    volume: Option<String>,
    /// Snapshot UUID to migrate
    #[arg(long)]
    snapshot: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum BlockMigrationCmd {
    /// What would migrate with the volume or snapshot, and the validation key to apply it
    Plan {
        #[command(flatten)]
        zone: Zone,
        #[command(flatten)]
        target: MigrationTarget,
    },
    /// Apply a plan (an operation)
    Apply {
        #[command(flatten)]
        zone: Zone,
        #[command(flatten)]
        target: MigrationTarget,
        /// validation_key from `block-migration plan`
        #[arg(long)]
        validation_key: String,
        #[command(flatten)]
        long: LongRunning,
    },
    /// Check the organization's quotas allow a migration
    CheckQuotas {
        #[command(flatten)]
        zone: Zone,
        #[arg(long)]
        organization: String,
    },
}

pub async fn run(ctx: &Ctx, cmd: BlockMigrationCmd) -> Result<(), CliError> {
    let mut client = ctx.gateway.block_migration();
    match cmd {
        BlockMigrationCmd::Plan { zone, target } => {
            let request = v1::PlanBlockMigrationRequest {
                zone: zone.zone,
                volume_id: target.volume,
                snapshot_id: target.snapshot,
            };
            show(ctx, client.plan_block_migration(request)).await
        }
        BlockMigrationCmd::Apply {
            zone,
            target,
            validation_key,
            long,
        } => {
            let request = v1::ApplyBlockMigrationRequest {
                zone: zone.zone,
                request_id: long.request_id(),
                volume_id: target.volume,
                snapshot_id: target.snapshot,
                validation_key,
            };
            start(ctx, client.apply_block_migration(request), &long).await
        }
        BlockMigrationCmd::CheckQuotas { zone, organization } => {
            let request = v1::CheckBlockMigrationOrganizationQuotasRequest {
                zone: zone.zone,
                organization,
            };
            let call = client.check_block_migration_organization_quotas(request);
            confirm(call, "quotas allow the migration").await
        }
    }
}
