//! Request bodies that do not decode are the caller's error: [`DecodeAsInvalid`] wraps each
//! public service so they are answered INVALID_ARGUMENT naming the field, not INTERNAL.

/// Answers a request body that does not decode as its method's request message (invalid
/// UTF-8 in a string, a truncated field, a wrong wire type) with INVALID_ARGUMENT naming the
/// field, instead of the INTERNAL that tonic's codec gives decode errors: the caller sent bad
/// input, the gateway is fine (promise 6). Everything else passes through untouched.
#[derive(Debug, Clone)]
pub struct DecodeAsInvalid<S>(pub S);

impl<S: tonic::server::NamedService> tonic::server::NamedService for DecodeAsInvalid<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> tonic::codegen::Service<tonic::codegen::http::Request<B>> for DecodeAsInvalid<S>
where
    S: tonic::codegen::Service<
            tonic::codegen::http::Request<B>,
            Response = tonic::codegen::http::Response<tonic::body::Body>,
        >,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: tonic::codegen::http::Request<B>) -> Self::Future {
        let method = request.uri().path().trim_start_matches('/').to_owned();
        let future = self.0.call(request);
        Box::pin(async move {
            let response = future.await?;
            Ok(remap_decode_error(&method, response))
        })
    }
}

/// Tonic's prost codec reports undecodable bodies as `INTERNAL "failed to decode Protobuf
/// message: …"` in a trailers-only response.
const DECODE_FAILURE: &str = "failed to decode Protobuf message";

fn remap_decode_error(
    method: &str,
    response: tonic::codegen::http::Response<tonic::body::Body>,
) -> tonic::codegen::http::Response<tonic::body::Body> {
    let headers = response.headers();
    let internal = headers
        .get("grpc-status")
        .is_some_and(|v| v.as_bytes() == b"13");
    if !internal {
        return response;
    }
    let message = headers
        .get("grpc-message")
        .map(|v| percent_decode(v.as_bytes()))
        .unwrap_or_default();
    if !message.starts_with(DECODE_FAILURE) {
        return response;
    }
    let Some(input) = crate::request::offline::input_of(method) else {
        return response;
    };
    tracing::debug!(method, "call refused: request body does not decode");
    crate::request::offline::decode_failure(&input, &message).into_http()
}

/// tonic percent-encodes `grpc-message` (gRPC over HTTP/2); invalid escapes stay as they are.
fn percent_decode(raw: &[u8]) -> String {
    percent_encoding::percent_decode(raw)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_of_grpc_messages() {
        assert_eq!(
            percent_decode(b"failed%20to%20decode%20Protobuf%20message"),
            DECODE_FAILURE
        );
        assert_eq!(percent_decode(b"100%"), "100%");
        assert_eq!(percent_decode(b"%zz"), "%zz");
    }
}
