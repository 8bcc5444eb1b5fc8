//! The zone dashboard (resource counts).

use fleet_core::{Dashboard, GetDashboardQuery, GetDashboardResponse};

use super::client_methods;
use crate::client::Client;

impl Client {
    client_methods! {
        /// `GET /instance/v1/zones/{zone}/dashboard`
        query get_dashboard() GetDashboardQuery => Dashboard = GetDashboard(GetDashboardResponse).dashboard;
    }
}
