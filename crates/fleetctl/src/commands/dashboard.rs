//! `dashboard`: the resource counts of a zone.

use clap::Args;
use fleet_proto::v1;

use super::show;
use crate::args::Zone;
use crate::ctx::Ctx;
use crate::error::CliError;

#[derive(Args, Debug)]
pub struct DashboardArgs {
    #[command(flatten)]
    zone: Zone,
    #[arg(long)]
    project: Option<String>,
    #[arg(long)]
    organization: Option<String>,
}

pub async fn run(ctx: &Ctx, args: DashboardArgs) -> Result<(), CliError> {
    let request = v1::GetDashboardRequest {
        zone: args.zone.zone,
        project: args.project,
        organization: args.organization,
    };
    show(ctx, ctx.gateway.dashboards().get_dashboard(request)).await
}
