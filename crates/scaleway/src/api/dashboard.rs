//! The zone dashboard (resource counts).
//!
//! One method per catalog endpoint; each doc line gives the method and
//! path template. Lists also have a `…_all` variant streaming every item
//! of every page (see [`crate::pagination`]).

use fleet_core::{Dashboard, GetDashboardQuery, GetDashboardResponse, Zone};

use crate::client::Client;
use crate::endpoint::Operation;
use crate::error::Result;

impl Client {
    /// `GET /instance/v1/zones/{zone}/dashboard`
    pub async fn get_dashboard(&self, zone: Zone, query: &GetDashboardQuery) -> Result<Dashboard> {
        let (response, _) = self
            .call::<_, _, GetDashboardResponse>(
                Operation::GetDashboard,
                zone,
                &[],
                Some(query),
                None::<&()>,
            )
            .await?;
        Ok(response.dashboard)
    }
}
