//! The tonic service layer: every `fleet.v1` endpoint service, generated from one method table
//! by [`endpoint_services!`], plus the server wiring ([`server`]) and the decode-error
//! remapping every public service is wrapped in ([`decode`]). The Operations service is in
//! [`crate::operations::service`].
//!
//! Every endpoint method is the same generic call ([`Api::call`]); the table below only gives
//! what the generated traits need (method, request and response types), and the gRPC method
//! name is built from the trait and function names, then looked up in the descriptors'
//! method table ([`crate::request::methods`]).

pub mod build;
pub mod decode;
pub mod server;

use std::sync::Arc;

use fleet_proto::v1;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use crate::auth::AuthInterceptor;
use crate::call::Api;

/// One value implementing every `fleet.v1` endpoint service.
#[derive(Debug, Clone)]
pub struct FleetApi {
    pub api: Arc<Api>,
}

/// `fleet.v1.{service}/{Method}` from the generated trait's name and the snake_case name tonic
/// gave the method (`list_server_types` → `ListServerTypes`).
pub fn grpc_method(service: &str, function: &str) -> String {
    let mut out = format!("fleet.v1.{service}/");
    for word in function.split('_') {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// A public service as the server adds it: the message size bounds, gzip both ways, the
/// decode-error remapping and the auth interceptor.
macro_rules! public_service {
    ($server:ty, $value:expr, $auth:expr, $max:expr) => {
        tonic::service::interceptor::InterceptedService::new(
            $crate::service::decode::DecodeAsInvalid(
                <$server>::new($value)
                    .max_decoding_message_size($max)
                    .max_encoding_message_size($max)
                    .accept_compressed(tonic::codec::CompressionEncoding::Gzip)
                    .send_compressed(tonic::codec::CompressionEncoding::Gzip),
            ),
            $auth.clone(),
        )
    };
}
pub(crate) use public_service;

/// Implements each listed generated service trait on [`FleetApi`] (every method a call of
/// [`Api::call`] with its gRPC method name) and writes [`add_endpoint_services`], which adds
/// them all to the server.
macro_rules! endpoint_services {
    ($(
        $module:ident::{$service:ident, $server:ident} {
            $( $method:ident($request:ident) -> $response:ty; )+
        }
    )+) => {
        $(
            #[tonic::async_trait]
            impl v1::$module::$service for FleetApi {
                $(
                    async fn $method(
                        &self,
                        request: Request<v1::$request>,
                    ) -> Result<Response<$response>, Status> {
                        static METHOD: std::sync::OnceLock<String> = std::sync::OnceLock::new();
                        let method = METHOD
                            .get_or_init(|| grpc_method(stringify!($service), stringify!($method)));
                        self.api.call::<v1::$request, $response>(method, request).await
                    }
                )+
            }
        )+

        /// Adds every endpoint service of `fleet` to `routes`, each as [`public_service!`].
        pub(crate) fn add_endpoint_services(
            routes: &mut RoutesBuilder,
            fleet: &FleetApi,
            auth: &AuthInterceptor,
            max_message_bytes: usize,
        ) {
            $(
                routes.add_service(public_service!(
                    v1::$module::$server<FleetApi>,
                    fleet.clone(),
                    auth,
                    max_message_bytes
                ));
            )+
        }

        /// `(service, function)` of every generated endpoint method, for the test that each
        /// names a method of the descriptors.
        #[cfg(test)]
        const GENERATED: &[(&str, &str)] = &[$($((stringify!($service), stringify!($method)),)+)+];
    };
}

endpoint_services! {
    images_server::{Images, ImagesServer} {
        list_images(ListImagesRequest) -> v1::ListImagesResponse;
        get_image(GetImageRequest) -> v1::Image;
        create_image(CreateImageRequest) -> v1::Operation;
        update_image(UpdateImageRequest) -> v1::Image;
        replace_image(ReplaceImageRequest) -> v1::Image;
        delete_image(DeleteImageRequest) -> ();
    }
    ips_server::{Ips, IpsServer} {
        list_ips(ListIpsRequest) -> v1::ListIpsResponse;
        create_ip(CreateIpRequest) -> v1::Ip;
        get_ip(GetIpRequest) -> v1::Ip;
        update_ip(UpdateIpRequest) -> v1::Ip;
        delete_ip(DeleteIpRequest) -> ();
        release_ip_to_ipam(ReleaseIpToIpamRequest) -> ();
    }
    placement_groups_server::{PlacementGroups, PlacementGroupsServer} {
        list_placement_groups(ListPlacementGroupsRequest) -> v1::ListPlacementGroupsResponse;
        create_placement_group(CreatePlacementGroupRequest) -> v1::PlacementGroup;
        get_placement_group(GetPlacementGroupRequest) -> v1::PlacementGroup;
        replace_placement_group(ReplacePlacementGroupRequest) -> v1::PlacementGroup;
        update_placement_group(UpdatePlacementGroupRequest) -> v1::PlacementGroup;
        delete_placement_group(DeletePlacementGroupRequest) -> ();
        get_placement_group_servers(GetPlacementGroupServersRequest) -> v1::PlacementGroupServers;
        set_placement_group_servers(SetPlacementGroupServersRequest) -> v1::PlacementGroupServers;
        update_placement_group_servers(UpdatePlacementGroupServersRequest) -> v1::PlacementGroupServers;
    }
    private_nics_server::{PrivateNics, PrivateNicsServer} {
        list_private_nics(ListPrivateNicsRequest) -> v1::ListPrivateNicsResponse;
        create_private_nic(CreatePrivateNicRequest) -> v1::Operation;
        get_private_nic(GetPrivateNicRequest) -> v1::PrivateNic;
        update_private_nic(UpdatePrivateNicRequest) -> v1::PrivateNic;
        delete_private_nic(DeletePrivateNicRequest) -> ();
    }
    products_server::{Products, ProductsServer} {
        list_server_types(ListServerTypesRequest) -> v1::ListServerTypesResponse;
        get_server_types_availability(GetServerTypesAvailabilityRequest) -> v1::GetServerTypesAvailabilityResponse;
        list_volume_types(ListVolumeTypesRequest) -> v1::ListVolumeTypesResponse;
    }
    dashboards_server::{Dashboards, DashboardsServer} {
        get_dashboard(GetDashboardRequest) -> v1::Dashboard;
    }
    security_groups_server::{SecurityGroups, SecurityGroupsServer} {
        list_security_groups(ListSecurityGroupsRequest) -> v1::ListSecurityGroupsResponse;
        create_security_group(CreateSecurityGroupRequest) -> v1::SecurityGroup;
        get_security_group(GetSecurityGroupRequest) -> v1::SecurityGroup;
        update_security_group(UpdateSecurityGroupRequest) -> v1::SecurityGroup;
        replace_security_group(ReplaceSecurityGroupRequest) -> v1::SecurityGroup;
        delete_security_group(DeleteSecurityGroupRequest) -> ();
        list_default_security_group_rules(ListDefaultSecurityGroupRulesRequest) -> v1::ListSecurityGroupRulesResponse;
        list_security_group_rules(ListSecurityGroupRulesRequest) -> v1::ListSecurityGroupRulesResponse;
        create_security_group_rule(CreateSecurityGroupRuleRequest) -> v1::SecurityGroupRule;
        set_security_group_rules(SetSecurityGroupRulesRequest) -> v1::SetSecurityGroupRulesResponse;
        get_security_group_rule(GetSecurityGroupRuleRequest) -> v1::SecurityGroupRule;
        update_security_group_rule(UpdateSecurityGroupRuleRequest) -> v1::SecurityGroupRule;
        replace_security_group_rule(ReplaceSecurityGroupRuleRequest) -> v1::SecurityGroupRule;
        delete_security_group_rule(DeleteSecurityGroupRuleRequest) -> ();
    }
    servers_server::{Servers, ServersServer} {
        list_servers(ListServersRequest) -> v1::ListServersResponse;
        get_server(GetServerRequest) -> v1::Server;
        create_server(CreateServerRequest) -> v1::Operation;
        update_server(UpdateServerRequest) -> v1::Server;
        replace_server(ReplaceServerRequest) -> v1::Server;
        delete_server(DeleteServerRequest) -> v1::Operation;
        get_server_compatible_types(GetServerCompatibleTypesRequest) -> v1::ServerCompatibleTypes;
        attach_server_volume(AttachServerVolumeRequest) -> v1::Operation;
        detach_server_volume(DetachServerVolumeRequest) -> v1::Operation;
        attach_server_file_system(AttachServerFileSystemRequest) -> v1::Operation;
        detach_server_file_system(DetachServerFileSystemRequest) -> v1::Operation;
    }
    server_actions_server::{ServerActions, ServerActionsServer} {
        list_server_actions(ListServerActionsRequest) -> v1::ListServerActionsResponse;
        server_action(ServerActionRequest) -> v1::Operation;
        power_on_server(ServerActionTarget) -> v1::Operation;
        power_off_server(ServerActionTarget) -> v1::Operation;
        stop_server_in_place(ServerActionTarget) -> v1::Operation;
        reboot_server(ServerActionTarget) -> v1::Operation;
        terminate_server(ServerActionTarget) -> v1::Operation;
        backup_server(BackupServerRequest) -> v1::Operation;
        enable_routed_ip(EnableRoutedIpRequest) -> v1::Operation;
    }
    user_data_server::{UserData, UserDataServer} {
        list_server_user_data(ListServerUserDataRequest) -> v1::ListServerUserDataResponse;
        get_server_user_data(GetServerUserDataRequest) -> v1::ServerUserData;
        set_server_user_data(SetServerUserDataRequest) -> ();
        delete_server_user_data(DeleteServerUserDataRequest) -> ();
    }
    snapshots_server::{Snapshots, SnapshotsServer} {
        list_snapshots(ListSnapshotsRequest) -> v1::ListSnapshotsResponse;
        get_snapshot(GetSnapshotRequest) -> v1::Snapshot;
        create_snapshot(CreateSnapshotRequest) -> v1::Operation;
        update_snapshot(UpdateSnapshotRequest) -> v1::Snapshot;
        replace_snapshot(ReplaceSnapshotRequest) -> v1::Snapshot;
        delete_snapshot(DeleteSnapshotRequest) -> ();
        export_snapshot(ExportSnapshotRequest) -> v1::Operation;
        import_snapshot(ImportSnapshotRequest) -> v1::Operation;
    }
    volumes_server::{Volumes, VolumesServer} {
        list_volumes(ListVolumesRequest) -> v1::ListVolumesResponse;
        get_volume(GetVolumeRequest) -> v1::Volume;
        create_volume(CreateVolumeRequest) -> v1::Operation;
        resize_volume(ResizeVolumeRequest) -> v1::Operation;
        update_volume(UpdateVolumeRequest) -> v1::Volume;
        delete_volume(DeleteVolumeRequest) -> ();
    }
    block_migration_server::{BlockMigration, BlockMigrationServer} {
        plan_block_migration(PlanBlockMigrationRequest) -> v1::MigrationPlan;
        apply_block_migration(ApplyBlockMigrationRequest) -> v1::Operation;
        check_block_migration_organization_quotas(CheckBlockMigrationOrganizationQuotasRequest) -> ();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::methods::methods;

    #[test]
    fn every_generated_method_is_an_endpoint_method_of_the_descriptors() {
        let table = methods();
        let mut names: Vec<String> = GENERATED
            .iter()
            .map(|(service, function)| grpc_method(service, function))
            .collect();
        for name in &names {
            assert!(
                table.contains_key(name),
                "{name} is not in the method table"
            );
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), table.len());
    }
}
