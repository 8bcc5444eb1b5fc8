//! Reading answers and long-running operations in the end-to-end tests.

use fleet_proto::v1;

use super::Svc;

/// The answer of a call that must succeed.
pub fn must<T>(what: &str, result: Result<tonic::Response<T>, tonic::Status>) -> T {
    match result {
        Ok(r) => r.into_inner(),
        Err(s) => panic!("{what}: {:?} {}", s.code(), s.message()),
    }
}

/// Waits (WaitOperation, 5 s at a time, bounded) until operation `name` is done.
pub async fn wait_done(
    ops: &mut v1::operations_client::OperationsClient<Svc>,
    name: &str,
) -> v1::Operation {
    for _ in 0..60 {
        let op = must(
            "WaitOperation",
            ops.wait_operation(v1::WaitOperationRequest {
                name: name.into(),
                timeout: Some(prost_types::Duration {
                    seconds: 5,
                    nanos: 0,
                }),
            })
            .await,
        );
        if op.done {
            return op;
        }
    }
    panic!("{name} not done");
}

/// The response of a succeeded operation, of the type it is declared with.
pub fn unpack<M: prost::Message + prost::Name + Default>(op: &v1::Operation) -> M {
    match &op.result {
        Some(v1::operation::Result::Response(any)) => any.to_msg().expect("response type"),
        other => panic!("{} did not succeed: {other:?}", op.name),
    }
}

/// An operation's metadata.
pub fn metadata(op: &v1::Operation) -> v1::OperationMetadata {
    op.metadata
        .as_ref()
        .expect("metadata")
        .to_msg()
        .expect("metadata type")
}
