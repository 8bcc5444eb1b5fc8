//! Flexible IPs (`{ip}` is an id or an address).
//!
//! One method per catalog endpoint; each doc line gives the method and
//! path template. Lists also have a `…_all` variant streaming every item
//! of every page (see [`crate::pagination`]).

use fleet_core::{
    CreateIpRequest, CreateIpResponse, GetIpResponse, Ip, ListIpsQuery, ListIpsResponse,
    ReleaseIpToIpamRequest, UpdateIpRequest, UpdateIpResponse, Zone,
};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::client::Client;
use crate::endpoint::Operation;
use crate::error::Result;
use crate::pagination::{Page, PageRequest, paginate};

impl Client {
    /// `GET /instance/v1/zones/{zone}/ips`
    ///
    /// One page; `query.page`/`query.per_page` choose it.
    pub async fn list_ips(&self, zone: Zone, query: &ListIpsQuery) -> Result<Page<Ip>> {
        let (response, total_count) = self
            .call::<_, _, ListIpsResponse>(Operation::ListIps, zone, &[], Some(query), None::<&()>)
            .await?;
        Ok(Page {
            items: response.ips,
            total_count,
        })
    }

    /// Every item of [`Client::list_ips`], page after page (`per_page = 100`).
    pub fn list_ips_all(&self, zone: Zone, query: ListIpsQuery) -> BoxStream<'static, Result<Ip>> {
        let client = self.clone();
        paginate(move |at: PageRequest| {
            let client = client.clone();
            let mut query = query.clone();
            query.page = Some(at.page);
            query.per_page = Some(at.per_page);
            async move { client.list_ips(zone, &query).await }
        })
        .boxed()
    }

    /// `POST /instance/v1/zones/{zone}/ips`
    pub async fn create_ip(&self, zone: Zone, request: &CreateIpRequest) -> Result<Ip> {
        let (response, _) = self
            .call::<_, _, CreateIpResponse>(
                Operation::CreateIp,
                zone,
                &[],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.ip)
    }

    /// `GET /instance/v1/zones/{zone}/ips/{ip}`
    pub async fn get_ip(&self, zone: Zone, ip: &str) -> Result<Ip> {
        let (response, _) = self
            .call::<_, _, GetIpResponse>(Operation::GetIp, zone, &[ip], None::<&()>, None::<&()>)
            .await?;
        Ok(response.ip)
    }

    /// `PATCH /instance/v1/zones/{zone}/ips/{ip}`
    pub async fn update_ip(&self, zone: Zone, ip: &str, request: &UpdateIpRequest) -> Result<Ip> {
        let (response, _) = self
            .call::<_, _, UpdateIpResponse>(
                Operation::UpdateIp,
                zone,
                &[ip],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.ip)
    }

    /// `DELETE /instance/v1/zones/{zone}/ips/{ip}`
    pub async fn delete_ip(&self, zone: Zone, ip: &str) -> Result<()> {
        self.call_empty(Operation::DeleteIp, zone, &[ip], None::<&()>)
            .await
    }

    /// `POST /instance/v1/zones/{zone}/ips/{ip_id}/release-to-ipam`
    pub async fn release_ip_to_ipam(
        &self,
        zone: Zone,
        ip_id: &str,
        request: &ReleaseIpToIpamRequest,
    ) -> Result<()> {
        self.call_empty(Operation::ReleaseIpToIpam, zone, &[ip_id], Some(request))
            .await
    }
}
