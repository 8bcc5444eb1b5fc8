//! Flexible IPs (`{ip}` is an id or an address).

use fleet_core::{
    CreateIpRequest, CreateIpResponse, GetIpResponse, Ip, ListIpsQuery, ListIpsResponse,
    ReleaseIpToIpamRequest, UpdateIpRequest, UpdateIpResponse,
};

use super::client_methods;
use crate::client::Client;

impl Client {
    client_methods! {
        /// `GET /instance/v1/zones/{zone}/ips`
        list list_ips / list_ips_all() ListIpsQuery => Ip = ListIps(ListIpsResponse).ips;
        /// `POST /instance/v1/zones/{zone}/ips`
        send create_ip() CreateIpRequest => Ip = CreateIp(CreateIpResponse).ip;
        /// `GET /instance/v1/zones/{zone}/ips/{ip}`
        get get_ip(ip) => Ip = GetIp(GetIpResponse).ip;
        /// `PATCH /instance/v1/zones/{zone}/ips/{ip}`
        send update_ip(ip) UpdateIpRequest => Ip = UpdateIp(UpdateIpResponse).ip;
        /// `DELETE /instance/v1/zones/{zone}/ips/{ip}`
        empty delete_ip(ip) = DeleteIp;
        /// `POST /instance/v1/zones/{zone}/ips/{ip_id}/release-to-ipam`
        empty release_ip_to_ipam(ip_id) ReleaseIpToIpamRequest = ReleaseIpToIpam;
    }
}
