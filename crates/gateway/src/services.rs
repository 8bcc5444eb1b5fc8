//! The tonic services of `fleet.v1`: every endpoint method delegates to [`Api::call`], which
//! is the same generic path for all of them (see [`crate::api`]). Written out per method
//! because tonic's generated (async_trait) traits need one function each; the Operations service is in
//! [`crate::ops_service`].

use std::sync::Arc;

use fleet_proto::v1;
use tonic::{Request, Response, Status};

use crate::api::Api;

/// One value implementing every `fleet.v1` endpoint service.
#[derive(Debug, Clone)]
pub struct FleetApi {
    pub api: Arc<Api>,
}

#[tonic::async_trait]
impl v1::images_server::Images for FleetApi {
    async fn list_images(
        &self,
        request: Request<v1::ListImagesRequest>,
    ) -> Result<Response<v1::ListImagesResponse>, Status> {
        self.api
            .call::<v1::ListImagesRequest, v1::ListImagesResponse>(
                "fleet.v1.Images/ListImages",
                request,
            )
            .await
    }
    async fn get_image(
        &self,
        request: Request<v1::GetImageRequest>,
    ) -> Result<Response<v1::Image>, Status> {
        self.api
            .call::<v1::GetImageRequest, v1::Image>("fleet.v1.Images/GetImage", request)
            .await
    }
    async fn create_image(
        &self,
        request: Request<v1::CreateImageRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::CreateImageRequest, v1::Operation>("fleet.v1.Images/CreateImage", request)
            .await
    }
    async fn update_image(
        &self,
        request: Request<v1::UpdateImageRequest>,
    ) -> Result<Response<v1::Image>, Status> {
        self.api
            .call::<v1::UpdateImageRequest, v1::Image>("fleet.v1.Images/UpdateImage", request)
            .await
    }
    async fn replace_image(
        &self,
        request: Request<v1::ReplaceImageRequest>,
    ) -> Result<Response<v1::Image>, Status> {
        self.api
            .call::<v1::ReplaceImageRequest, v1::Image>("fleet.v1.Images/ReplaceImage", request)
            .await
    }
    async fn delete_image(
        &self,
        request: Request<v1::DeleteImageRequest>,
    ) -> Result<Response<()>, Status> {
        self.api
            .call::<v1::DeleteImageRequest, ()>("fleet.v1.Images/DeleteImage", request)
            .await
    }
}

#[tonic::async_trait]
impl v1::ips_server::Ips for FleetApi {
    async fn list_ips(
        &self,
        request: Request<v1::ListIpsRequest>,
    ) -> Result<Response<v1::ListIpsResponse>, Status> {
        self.api
            .call::<v1::ListIpsRequest, v1::ListIpsResponse>("fleet.v1.Ips/ListIps", request)
            .await
    }
    async fn create_ip(
        &self,
        request: Request<v1::CreateIpRequest>,
    ) -> Result<Response<v1::Ip>, Status> {
        self.api
            .call::<v1::CreateIpRequest, v1::Ip>("fleet.v1.Ips/CreateIp", request)
            .await
    }
    async fn get_ip(&self, request: Request<v1::GetIpRequest>) -> Result<Response<v1::Ip>, Status> {
        self.api
            .call::<v1::GetIpRequest, v1::Ip>("fleet.v1.Ips/GetIp", request)
            .await
    }
    async fn update_ip(
        &self,
        request: Request<v1::UpdateIpRequest>,
    ) -> Result<Response<v1::Ip>, Status> {
        self.api
            .call::<v1::UpdateIpRequest, v1::Ip>("fleet.v1.Ips/UpdateIp", request)
            .await
    }
    async fn delete_ip(
        &self,
        request: Request<v1::DeleteIpRequest>,
    ) -> Result<Response<()>, Status> {
        self.api
            .call::<v1::DeleteIpRequest, ()>("fleet.v1.Ips/DeleteIp", request)
            .await
    }
    async fn release_ip_to_ipam(
        &self,
        request: Request<v1::ReleaseIpToIpamRequest>,
    ) -> Result<Response<()>, Status> {
        self.api
            .call::<v1::ReleaseIpToIpamRequest, ()>("fleet.v1.Ips/ReleaseIpToIpam", request)
            .await
    }
}

#[tonic::async_trait]
impl v1::placement_groups_server::PlacementGroups for FleetApi {
    async fn list_placement_groups(
        &self,
        request: Request<v1::ListPlacementGroupsRequest>,
    ) -> Result<Response<v1::ListPlacementGroupsResponse>, Status> {
        self.api
            .call::<v1::ListPlacementGroupsRequest, v1::ListPlacementGroupsResponse>(
                "fleet.v1.PlacementGroups/ListPlacementGroups",
                request,
            )
            .await
    }
    async fn create_placement_group(
        &self,
        request: Request<v1::CreatePlacementGroupRequest>,
    ) -> Result<Response<v1::PlacementGroup>, Status> {
        self.api
            .call::<v1::CreatePlacementGroupRequest, v1::PlacementGroup>(
                "fleet.v1.PlacementGroups/CreatePlacementGroup",
                request,
            )
            .await
    }
    async fn get_placement_group(
        &self,
        request: Request<v1::GetPlacementGroupRequest>,
    ) -> Result<Response<v1::PlacementGroup>, Status> {
        self.api
            .call::<v1::GetPlacementGroupRequest, v1::PlacementGroup>(
                "fleet.v1.PlacementGroups/GetPlacementGroup",
                request,
            )
            .await
    }
    async fn replace_placement_group(
        &self,
        request: Request<v1::ReplacePlacementGroupRequest>,
    ) -> Result<Response<v1::PlacementGroup>, Status> {
        self.api
            .call::<v1::ReplacePlacementGroupRequest, v1::PlacementGroup>(
                "fleet.v1.PlacementGroups/ReplacePlacementGroup",
                request,
            )
            .await
    }
    async fn update_placement_group(
        &self,
        request: Request<v1::UpdatePlacementGroupRequest>,
    ) -> Result<Response<v1::PlacementGroup>, Status> {
        self.api
            .call::<v1::UpdatePlacementGroupRequest, v1::PlacementGroup>(
                "fleet.v1.PlacementGroups/UpdatePlacementGroup",
                request,
            )
            .await
    }
    async fn delete_placement_group(
        &self,
        request: Request<v1::DeletePlacementGroupRequest>,
    ) -> Result<Response<()>, Status> {
        self.api
            .call::<v1::DeletePlacementGroupRequest, ()>(
                "fleet.v1.PlacementGroups/DeletePlacementGroup",
                request,
            )
            .await
    }
    async fn get_placement_group_servers(
        &self,
        request: Request<v1::GetPlacementGroupServersRequest>,
    ) -> Result<Response<v1::PlacementGroupServers>, Status> {
        self.api
            .call::<v1::GetPlacementGroupServersRequest, v1::PlacementGroupServers>(
                "fleet.v1.PlacementGroups/GetPlacementGroupServers",
                request,
            )
            .await
    }
    async fn set_placement_group_servers(
        &self,
        request: Request<v1::SetPlacementGroupServersRequest>,
    ) -> Result<Response<v1::PlacementGroupServers>, Status> {
        self.api
            .call::<v1::SetPlacementGroupServersRequest, v1::PlacementGroupServers>(
                "fleet.v1.PlacementGroups/SetPlacementGroupServers",
                request,
            )
            .await
    }
    async fn update_placement_group_servers(
        &self,
        request: Request<v1::UpdatePlacementGroupServersRequest>,
    ) -> Result<Response<v1::PlacementGroupServers>, Status> {
        self.api
            .call::<v1::UpdatePlacementGroupServersRequest, v1::PlacementGroupServers>(
                "fleet.v1.PlacementGroups/UpdatePlacementGroupServers",
                request,
            )
            .await
    }
}

#[tonic::async_trait]
impl v1::private_nics_server::PrivateNics for FleetApi {
    async fn list_private_nics(
        &self,
        request: Request<v1::ListPrivateNicsRequest>,
    ) -> Result<Response<v1::ListPrivateNicsResponse>, Status> {
        self.api
            .call::<v1::ListPrivateNicsRequest, v1::ListPrivateNicsResponse>(
                "fleet.v1.PrivateNics/ListPrivateNics",
                request,
            )
            .await
    }
    async fn create_private_nic(
        &self,
        request: Request<v1::CreatePrivateNicRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::CreatePrivateNicRequest, v1::Operation>(
                "fleet.v1.PrivateNics/CreatePrivateNic",
                request,
            )
            .await
    }
    async fn get_private_nic(
        &self,
        request: Request<v1::GetPrivateNicRequest>,
    ) -> Result<Response<v1::PrivateNic>, Status> {
        self.api
            .call::<v1::GetPrivateNicRequest, v1::PrivateNic>(
                "fleet.v1.PrivateNics/GetPrivateNic",
                request,
            )
            .await
    }
    async fn update_private_nic(
        &self,
        request: Request<v1::UpdatePrivateNicRequest>,
    ) -> Result<Response<v1::PrivateNic>, Status> {
        self.api
            .call::<v1::UpdatePrivateNicRequest, v1::PrivateNic>(
                "fleet.v1.PrivateNics/UpdatePrivateNic",
                request,
            )
            .await
    }
    async fn delete_private_nic(
        &self,
        request: Request<v1::DeletePrivateNicRequest>,
    ) -> Result<Response<()>, Status> {
        self.api
            .call::<v1::DeletePrivateNicRequest, ()>(
                "fleet.v1.PrivateNics/DeletePrivateNic",
                request,
            )
            .await
    }
}

#[tonic::async_trait]
impl v1::products_server::Products for FleetApi {
    async fn list_server_types(
        &self,
        request: Request<v1::ListServerTypesRequest>,
    ) -> Result<Response<v1::ListServerTypesResponse>, Status> {
        self.api
            .call::<v1::ListServerTypesRequest, v1::ListServerTypesResponse>(
                "fleet.v1.Products/ListServerTypes",
                request,
            )
            .await
    }
    async fn get_server_types_availability(
        &self,
        request: Request<v1::GetServerTypesAvailabilityRequest>,
    ) -> Result<Response<v1::GetServerTypesAvailabilityResponse>, Status> {
        self.api
            .call::<v1::GetServerTypesAvailabilityRequest, v1::GetServerTypesAvailabilityResponse>(
                "fleet.v1.Products/GetServerTypesAvailability",
                request,
            )
            .await
    }
    async fn list_volume_types(
        &self,
        request: Request<v1::ListVolumeTypesRequest>,
    ) -> Result<Response<v1::ListVolumeTypesResponse>, Status> {
        self.api
            .call::<v1::ListVolumeTypesRequest, v1::ListVolumeTypesResponse>(
                "fleet.v1.Products/ListVolumeTypes",
                request,
            )
            .await
    }
}

#[tonic::async_trait]
impl v1::dashboards_server::Dashboards for FleetApi {
    async fn get_dashboard(
        &self,
        request: Request<v1::GetDashboardRequest>,
    ) -> Result<Response<v1::Dashboard>, Status> {
        self.api
            .call::<v1::GetDashboardRequest, v1::Dashboard>(
                "fleet.v1.Dashboards/GetDashboard",
                request,
            )
            .await
    }
}

#[tonic::async_trait]
impl v1::security_groups_server::SecurityGroups for FleetApi {
    async fn list_security_groups(
        &self,
        request: Request<v1::ListSecurityGroupsRequest>,
    ) -> Result<Response<v1::ListSecurityGroupsResponse>, Status> {
        self.api
            .call::<v1::ListSecurityGroupsRequest, v1::ListSecurityGroupsResponse>(
                "fleet.v1.SecurityGroups/ListSecurityGroups",
                request,
            )
            .await
    }
    async fn create_security_group(
        &self,
        request: Request<v1::CreateSecurityGroupRequest>,
    ) -> Result<Response<v1::SecurityGroup>, Status> {
        self.api
            .call::<v1::CreateSecurityGroupRequest, v1::SecurityGroup>(
                "fleet.v1.SecurityGroups/CreateSecurityGroup",
                request,
            )
            .await
    }
    async fn get_security_group(
        &self,
        request: Request<v1::GetSecurityGroupRequest>,
    ) -> Result<Response<v1::SecurityGroup>, Status> {
        self.api
            .call::<v1::GetSecurityGroupRequest, v1::SecurityGroup>(
                "fleet.v1.SecurityGroups/GetSecurityGroup",
                request,
            )
            .await
    }
    async fn update_security_group(
        &self,
        request: Request<v1::UpdateSecurityGroupRequest>,
    ) -> Result<Response<v1::SecurityGroup>, Status> {
        self.api
            .call::<v1::UpdateSecurityGroupRequest, v1::SecurityGroup>(
                "fleet.v1.SecurityGroups/UpdateSecurityGroup",
                request,
            )
            .await
    }
    async fn replace_security_group(
        &self,
        request: Request<v1::ReplaceSecurityGroupRequest>,
    ) -> Result<Response<v1::SecurityGroup>, Status> {
        self.api
            .call::<v1::ReplaceSecurityGroupRequest, v1::SecurityGroup>(
                "fleet.v1.SecurityGroups/ReplaceSecurityGroup",
                request,
            )
            .await
    }
    async fn delete_security_group(
        &self,
        request: Request<v1::DeleteSecurityGroupRequest>,
    ) -> Result<Response<()>, Status> {
        self.api
            .call::<v1::DeleteSecurityGroupRequest, ()>(
                "fleet.v1.SecurityGroups/DeleteSecurityGroup",
                request,
            )
            .await
    }
    async fn list_default_security_group_rules(
        &self,
        request: Request<v1::ListDefaultSecurityGroupRulesRequest>,
    ) -> Result<Response<v1::ListSecurityGroupRulesResponse>, Status> {
        self.api
            .call::<v1::ListDefaultSecurityGroupRulesRequest, v1::ListSecurityGroupRulesResponse>(
                "fleet.v1.SecurityGroups/ListDefaultSecurityGroupRules",
                request,
            )
            .await
    }
    async fn list_security_group_rules(
        &self,
        request: Request<v1::ListSecurityGroupRulesRequest>,
    ) -> Result<Response<v1::ListSecurityGroupRulesResponse>, Status> {
        self.api
            .call::<v1::ListSecurityGroupRulesRequest, v1::ListSecurityGroupRulesResponse>(
                "fleet.v1.SecurityGroups/ListSecurityGroupRules",
                request,
            )
            .await
    }
    async fn create_security_group_rule(
        &self,
        request: Request<v1::CreateSecurityGroupRuleRequest>,
    ) -> Result<Response<v1::SecurityGroupRule>, Status> {
        self.api
            .call::<v1::CreateSecurityGroupRuleRequest, v1::SecurityGroupRule>(
                "fleet.v1.SecurityGroups/CreateSecurityGroupRule",
                request,
            )
            .await
    }
    async fn set_security_group_rules(
        &self,
        request: Request<v1::SetSecurityGroupRulesRequest>,
    ) -> Result<Response<v1::SetSecurityGroupRulesResponse>, Status> {
        self.api
            .call::<v1::SetSecurityGroupRulesRequest, v1::SetSecurityGroupRulesResponse>(
                "fleet.v1.SecurityGroups/SetSecurityGroupRules",
                request,
            )
            .await
    }
    async fn get_security_group_rule(
        &self,
        request: Request<v1::GetSecurityGroupRuleRequest>,
    ) -> Result<Response<v1::SecurityGroupRule>, Status> {
        self.api
            .call::<v1::GetSecurityGroupRuleRequest, v1::SecurityGroupRule>(
                "fleet.v1.SecurityGroups/GetSecurityGroupRule",
                request,
            )
            .await
    }
    async fn update_security_group_rule(
        &self,
        request: Request<v1::UpdateSecurityGroupRuleRequest>,
    ) -> Result<Response<v1::SecurityGroupRule>, Status> {
        self.api
            .call::<v1::UpdateSecurityGroupRuleRequest, v1::SecurityGroupRule>(
                "fleet.v1.SecurityGroups/UpdateSecurityGroupRule",
                request,
            )
            .await
    }
    async fn replace_security_group_rule(
        &self,
        request: Request<v1::ReplaceSecurityGroupRuleRequest>,
    ) -> Result<Response<v1::SecurityGroupRule>, Status> {
        self.api
            .call::<v1::ReplaceSecurityGroupRuleRequest, v1::SecurityGroupRule>(
                "fleet.v1.SecurityGroups/ReplaceSecurityGroupRule",
                request,
            )
            .await
    }
    async fn delete_security_group_rule(
        &self,
        request: Request<v1::DeleteSecurityGroupRuleRequest>,
    ) -> Result<Response<()>, Status> {
        self.api
            .call::<v1::DeleteSecurityGroupRuleRequest, ()>(
                "fleet.v1.SecurityGroups/DeleteSecurityGroupRule",
                request,
            )
            .await
    }
}

#[tonic::async_trait]
impl v1::servers_server::Servers for FleetApi {
    async fn list_servers(
        &self,
        request: Request<v1::ListServersRequest>,
    ) -> Result<Response<v1::ListServersResponse>, Status> {
        self.api
            .call::<v1::ListServersRequest, v1::ListServersResponse>(
                "fleet.v1.Servers/ListServers",
                request,
            )
            .await
    }
    async fn get_server(
        &self,
        request: Request<v1::GetServerRequest>,
    ) -> Result<Response<v1::Server>, Status> {
        self.api
            .call::<v1::GetServerRequest, v1::Server>("fleet.v1.Servers/GetServer", request)
            .await
    }
    async fn create_server(
        &self,
        request: Request<v1::CreateServerRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::CreateServerRequest, v1::Operation>(
                "fleet.v1.Servers/CreateServer",
                request,
            )
            .await
    }
    async fn update_server(
        &self,
        request: Request<v1::UpdateServerRequest>,
    ) -> Result<Response<v1::Server>, Status> {
        self.api
            .call::<v1::UpdateServerRequest, v1::Server>("fleet.v1.Servers/UpdateServer", request)
            .await
    }
    async fn replace_server(
        &self,
        request: Request<v1::ReplaceServerRequest>,
    ) -> Result<Response<v1::Server>, Status> {
        self.api
            .call::<v1::ReplaceServerRequest, v1::Server>("fleet.v1.Servers/ReplaceServer", request)
            .await
    }
    async fn delete_server(
        &self,
        request: Request<v1::DeleteServerRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::DeleteServerRequest, v1::Operation>(
                "fleet.v1.Servers/DeleteServer",
                request,
            )
            .await
    }
    async fn get_server_compatible_types(
        &self,
        request: Request<v1::GetServerCompatibleTypesRequest>,
    ) -> Result<Response<v1::ServerCompatibleTypes>, Status> {
        self.api
            .call::<v1::GetServerCompatibleTypesRequest, v1::ServerCompatibleTypes>(
                "fleet.v1.Servers/GetServerCompatibleTypes",
                request,
            )
            .await
    }
    async fn attach_server_volume(
        &self,
        request: Request<v1::AttachServerVolumeRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::AttachServerVolumeRequest, v1::Operation>(
                "fleet.v1.Servers/AttachServerVolume",
                request,
            )
            .await
    }
    async fn detach_server_volume(
        &self,
        request: Request<v1::DetachServerVolumeRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::DetachServerVolumeRequest, v1::Operation>(
                "fleet.v1.Servers/DetachServerVolume",
                request,
            )
            .await
    }
    async fn attach_server_file_system(
        &self,
        request: Request<v1::AttachServerFileSystemRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::AttachServerFileSystemRequest, v1::Operation>(
                "fleet.v1.Servers/AttachServerFileSystem",
                request,
            )
            .await
    }
    async fn detach_server_file_system(
        &self,
        request: Request<v1::DetachServerFileSystemRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::DetachServerFileSystemRequest, v1::Operation>(
                "fleet.v1.Servers/DetachServerFileSystem",
                request,
            )
            .await
    }
}

#[tonic::async_trait]
impl v1::server_actions_server::ServerActions for FleetApi {
    async fn list_server_actions(
        &self,
        request: Request<v1::ListServerActionsRequest>,
    ) -> Result<Response<v1::ListServerActionsResponse>, Status> {
        self.api
            .call::<v1::ListServerActionsRequest, v1::ListServerActionsResponse>(
                "fleet.v1.ServerActions/ListServerActions",
                request,
            )
            .await
    }
    async fn server_action(
        &self,
        request: Request<v1::ServerActionRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::ServerActionRequest, v1::Operation>(
                "fleet.v1.ServerActions/ServerAction",
                request,
            )
            .await
    }
    async fn power_on_server(
        &self,
        request: Request<v1::ServerActionTarget>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::ServerActionTarget, v1::Operation>(
                "fleet.v1.ServerActions/PowerOnServer",
                request,
            )
            .await
    }
    async fn power_off_server(
        &self,
        request: Request<v1::ServerActionTarget>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::ServerActionTarget, v1::Operation>(
                "fleet.v1.ServerActions/PowerOffServer",
                request,
            )
            .await
    }
    async fn stop_server_in_place(
        &self,
        request: Request<v1::ServerActionTarget>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::ServerActionTarget, v1::Operation>(
                "fleet.v1.ServerActions/StopServerInPlace",
                request,
            )
            .await
    }
    async fn reboot_server(
        &self,
        request: Request<v1::ServerActionTarget>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::ServerActionTarget, v1::Operation>(
                "fleet.v1.ServerActions/RebootServer",
                request,
            )
            .await
    }
    async fn terminate_server(
        &self,
        request: Request<v1::ServerActionTarget>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::ServerActionTarget, v1::Operation>(
                "fleet.v1.ServerActions/TerminateServer",
                request,
            )
            .await
    }
    async fn backup_server(
        &self,
        request: Request<v1::BackupServerRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::BackupServerRequest, v1::Operation>(
                "fleet.v1.ServerActions/BackupServer",
                request,
            )
            .await
    }
    async fn enable_routed_ip(
        &self,
        request: Request<v1::EnableRoutedIpRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::EnableRoutedIpRequest, v1::Operation>(
                "fleet.v1.ServerActions/EnableRoutedIp",
                request,
            )
            .await
    }
}

#[tonic::async_trait]
impl v1::user_data_server::UserData for FleetApi {
    async fn list_server_user_data(
        &self,
        request: Request<v1::ListServerUserDataRequest>,
    ) -> Result<Response<v1::ListServerUserDataResponse>, Status> {
        self.api
            .call::<v1::ListServerUserDataRequest, v1::ListServerUserDataResponse>(
                "fleet.v1.UserData/ListServerUserData",
                request,
            )
            .await
    }
    async fn get_server_user_data(
        &self,
        request: Request<v1::GetServerUserDataRequest>,
    ) -> Result<Response<v1::ServerUserData>, Status> {
        self.api
            .call::<v1::GetServerUserDataRequest, v1::ServerUserData>(
                "fleet.v1.UserData/GetServerUserData",
                request,
            )
            .await
    }
    async fn set_server_user_data(
        &self,
        request: Request<v1::SetServerUserDataRequest>,
    ) -> Result<Response<()>, Status> {
        self.api
            .call::<v1::SetServerUserDataRequest, ()>(
                "fleet.v1.UserData/SetServerUserData",
                request,
            )
            .await
    }
    async fn delete_server_user_data(
        &self,
        request: Request<v1::DeleteServerUserDataRequest>,
    ) -> Result<Response<()>, Status> {
        self.api
            .call::<v1::DeleteServerUserDataRequest, ()>(
                "fleet.v1.UserData/DeleteServerUserData",
                request,
            )
            .await
    }
}

#[tonic::async_trait]
impl v1::snapshots_server::Snapshots for FleetApi {
    async fn list_snapshots(
        &self,
        request: Request<v1::ListSnapshotsRequest>,
    ) -> Result<Response<v1::ListSnapshotsResponse>, Status> {
        self.api
            .call::<v1::ListSnapshotsRequest, v1::ListSnapshotsResponse>(
                "fleet.v1.Snapshots/ListSnapshots",
                request,
            )
            .await
    }
    async fn get_snapshot(
        &self,
        request: Request<v1::GetSnapshotRequest>,
    ) -> Result<Response<v1::Snapshot>, Status> {
        self.api
            .call::<v1::GetSnapshotRequest, v1::Snapshot>("fleet.v1.Snapshots/GetSnapshot", request)
            .await
    }
    async fn create_snapshot(
        &self,
        request: Request<v1::CreateSnapshotRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::CreateSnapshotRequest, v1::Operation>(
                "fleet.v1.Snapshots/CreateSnapshot",
                request,
            )
            .await
    }
    async fn update_snapshot(
        &self,
        request: Request<v1::UpdateSnapshotRequest>,
    ) -> Result<Response<v1::Snapshot>, Status> {
        self.api
            .call::<v1::UpdateSnapshotRequest, v1::Snapshot>(
                "fleet.v1.Snapshots/UpdateSnapshot",
                request,
            )
            .await
    }
    async fn replace_snapshot(
        &self,
        request: Request<v1::ReplaceSnapshotRequest>,
    ) -> Result<Response<v1::Snapshot>, Status> {
        self.api
            .call::<v1::ReplaceSnapshotRequest, v1::Snapshot>(
                "fleet.v1.Snapshots/ReplaceSnapshot",
                request,
            )
            .await
    }
    async fn delete_snapshot(
        &self,
        request: Request<v1::DeleteSnapshotRequest>,
    ) -> Result<Response<()>, Status> {
        self.api
            .call::<v1::DeleteSnapshotRequest, ()>("fleet.v1.Snapshots/DeleteSnapshot", request)
            .await
    }
    async fn export_snapshot(
        &self,
        request: Request<v1::ExportSnapshotRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::ExportSnapshotRequest, v1::Operation>(
                "fleet.v1.Snapshots/ExportSnapshot",
                request,
            )
            .await
    }
}

#[tonic::async_trait]
impl v1::volumes_server::Volumes for FleetApi {
    async fn list_volumes(
        &self,
        request: Request<v1::ListVolumesRequest>,
    ) -> Result<Response<v1::ListVolumesResponse>, Status> {
        self.api
            .call::<v1::ListVolumesRequest, v1::ListVolumesResponse>(
                "fleet.v1.Volumes/ListVolumes",
                request,
            )
            .await
    }
    async fn get_volume(
        &self,
        request: Request<v1::GetVolumeRequest>,
    ) -> Result<Response<v1::Volume>, Status> {
        self.api
            .call::<v1::GetVolumeRequest, v1::Volume>("fleet.v1.Volumes/GetVolume", request)
            .await
    }
    async fn create_volume(
        &self,
        request: Request<v1::CreateVolumeRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::CreateVolumeRequest, v1::Operation>(
                "fleet.v1.Volumes/CreateVolume",
                request,
            )
            .await
    }
    async fn update_volume(
        &self,
        request: Request<v1::UpdateVolumeRequest>,
    ) -> Result<Response<v1::Volume>, Status> {
        self.api
            .call::<v1::UpdateVolumeRequest, v1::Volume>("fleet.v1.Volumes/UpdateVolume", request)
            .await
    }
    async fn delete_volume(
        &self,
        request: Request<v1::DeleteVolumeRequest>,
    ) -> Result<Response<()>, Status> {
        self.api
            .call::<v1::DeleteVolumeRequest, ()>("fleet.v1.Volumes/DeleteVolume", request)
            .await
    }
}

#[tonic::async_trait]
impl v1::block_migration_server::BlockMigration for FleetApi {
    async fn plan_block_migration(
        &self,
        request: Request<v1::PlanBlockMigrationRequest>,
    ) -> Result<Response<v1::MigrationPlan>, Status> {
        self.api
            .call::<v1::PlanBlockMigrationRequest, v1::MigrationPlan>(
                "fleet.v1.BlockMigration/PlanBlockMigration",
                request,
            )
            .await
    }
    async fn apply_block_migration(
        &self,
        request: Request<v1::ApplyBlockMigrationRequest>,
    ) -> Result<Response<v1::Operation>, Status> {
        self.api
            .call::<v1::ApplyBlockMigrationRequest, v1::Operation>(
                "fleet.v1.BlockMigration/ApplyBlockMigration",
                request,
            )
            .await
    }
    async fn check_block_migration_organization_quotas(
        &self,
        request: Request<v1::CheckBlockMigrationOrganizationQuotasRequest>,
    ) -> Result<Response<()>, Status> {
        self.api
            .call::<v1::CheckBlockMigrationOrganizationQuotasRequest, ()>(
                "fleet.v1.BlockMigration/CheckBlockMigrationOrganizationQuotas",
                request,
            )
            .await
    }
}
