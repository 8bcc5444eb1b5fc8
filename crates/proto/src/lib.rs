//! The fleet gRPC API, compiled from the workspace's `proto/` directory.
//!
//! * [`fleet::v1`] (alias [`v1`]): the public API of the gateway, one service per
//!   Scaleway resource family plus [`v1::operations_server`] for long-running operations
//!   and [`v1::audit_server`] for the audit log.
//! * [`fleet::internal::v1`] (alias [`internal`]): `ZoneCalls`, the gateway → worker call.
//! * [`FILE_DESCRIPTOR_SET`]: every file (imports included) for server reflection and
//!   for [`json`], the Scaleway-JSON ⇄ proto bridge.
//! * [`endpoints`]: which gRPC method stands for each of the 76 Instance endpoints and
//!   the 2 Block Storage endpoints with a method of their own.
//! * [`reasons`]: the `ErrorInfo` reasons the worker and the gateway exchange.
//!
//! `google.rpc.*` types are `tonic_types::pb`, well-known types are `prost_types`.

pub mod endpoints;
pub mod json;
pub mod reasons;

/// Generated code, nested as the proto packages.
pub mod fleet {
    /// Package `fleet.v1`: the public API.
    #[allow(
        clippy::all,
        clippy::pedantic,
        missing_docs,
        rust_2018_idioms,
        unused_qualifications
    )]
    pub mod v1 {
        tonic::include_proto!("fleet.v1");
    }

    /// Package `fleet.internal.*`.
    pub mod internal {
        /// Package `fleet.internal.v1`: gateway → worker calls.
        #[allow(
            clippy::all,
            clippy::pedantic,
            missing_docs,
            rust_2018_idioms,
            unused_qualifications
        )]
        pub mod v1 {
            tonic::include_proto!("fleet.internal.v1");
        }
    }
}

pub use fleet::internal::v1 as internal;
pub use fleet::v1;

impl v1::BatchAction {
    /// A batch action that runs one server power action on each child.
    pub fn power(action: v1::BatchPowerAction) -> Self {
        Self {
            action: Some(v1::batch_action::Action::Power(action as i32)),
        }
    }
}

/// Encoded `google.protobuf.FileDescriptorSet` of every fleet proto and its imports
/// (google.protobuf, google.rpc), with source info. Register it with
/// tonic-reflection; [`descriptor_pool`] decodes it once.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("fleet_descriptor");

/// The decoded descriptor pool of [`FILE_DESCRIPTOR_SET`], built on first use.
pub fn descriptor_pool() -> &'static prost_reflect::DescriptorPool {
    static POOL: std::sync::OnceLock<prost_reflect::DescriptorPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        // The set is produced by our build script from protos protox just
        // validated, so decoding it cannot fail at run time.
        #[allow(clippy::expect_used)]
        prost_reflect::DescriptorPool::decode(FILE_DESCRIPTOR_SET)
            .expect("the compiled descriptor set is valid")
    })
}

/// The public services of fleet's own, which stand for no Scaleway endpoint.
pub const OWN_SERVICES: &[&str] = &[
    "fleet.v1.Operations",
    "fleet.v1.Audit",
    "fleet.v1.Batches",
    "fleet.v1.Policies",
];

/// Fully qualified names of every service in the descriptor set.
pub const SERVICES: &[&str] = &[
    "fleet.v1.Products",
    "fleet.v1.Servers",
    "fleet.v1.ServerActions",
    "fleet.v1.UserData",
    "fleet.v1.Images",
    "fleet.v1.Snapshots",
    "fleet.v1.Volumes",
    "fleet.v1.BlockMigration",
    "fleet.v1.SecurityGroups",
    "fleet.v1.PlacementGroups",
    "fleet.v1.Ips",
    "fleet.v1.PrivateNics",
    "fleet.v1.Dashboards",
    "fleet.v1.Operations",
    "fleet.v1.Audit",
    "fleet.v1.Batches",
    "fleet.v1.Policies",
    "fleet.internal.v1.ZoneCalls",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_is_in_the_descriptor_set() {
        let pool = descriptor_pool();
        let mut found: Vec<String> = pool.services().map(|s| s.full_name().to_owned()).collect();
        found.sort();
        let mut expected: Vec<String> = SERVICES.iter().map(|s| (*s).to_owned()).collect();
        expected.sort();
        assert_eq!(found, expected);
    }

    #[test]
    fn google_rpc_status_is_imported_under_its_canonical_path() {
        let pool = descriptor_pool();
        let status = pool
            .get_message_by_name("google.rpc.Status")
            .expect("google.rpc.Status");
        assert_eq!(status.parent_file().name(), "google/rpc/status.proto");
        let error = pool
            .get_message_by_name("fleet.v1.Operation")
            .and_then(|m| m.get_field_by_name("error"))
            .expect("Operation.error");
        assert_eq!(
            error.kind().as_message().map(|m| m.full_name().to_owned()),
            Some("google.rpc.Status".to_owned())
        );
    }

    #[test]
    fn operation_packs_typed_any_with_the_google_type_url() {
        use prost::Name as _;
        let metadata = v1::OperationMetadata {
            kind: "server_action.poweron".into(),
            ..Default::default()
        };
        let any = prost_types::Any::from_msg(&metadata).expect("pack");
        assert_eq!(
            any.type_url,
            "type.googleapis.com/fleet.v1.OperationMetadata"
        );
        assert_eq!(v1::Server::full_name(), "fleet.v1.Server");
        let op = v1::Operation {
            name: "operations/1".into(),
            metadata: Some(any),
            done: true,
            result: Some(v1::operation::Result::Error(tonic_types::pb::Status {
                code: 1,
                message: "cancelled".into(),
                details: vec![],
            })),
        };
        let back: v1::OperationMetadata = op
            .metadata
            .as_ref()
            .expect("metadata")
            .to_msg()
            .expect("unpack");
        assert_eq!(back, metadata);
    }
}
