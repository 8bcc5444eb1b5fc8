//! `fleetctl call SERVICE/METHOD --data JSON`: any fleet.v1 method, request and
//! answer as Scaleway-style JSON, through prost-reflect dynamic messages over
//! `fleet_proto::descriptor_pool()` and a tonic codec for them.
//!
//! It gives complete coverage of the API without a typed command per method;
//! the typed commands stay the comfortable path for the common ones.

use std::str::FromStr as _;

use clap::Args;
use prost::Message as _;
use prost_reflect::{
    DeserializeOptions, DynamicMessage, MessageDescriptor, MethodDescriptor, ReflectMessage as _,
    SerializeOptions, Value as ReflectValue,
};
use serde_json::Value;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;

use crate::args::Source;
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::output::{self, Format};

#[derive(Args, Debug)]
pub struct CallArgs {
    /// Method as SERVICE/METHOD, e.g. Servers/GetServer or fleet.v1.Servers/GetServer
    #[arg(required_unless_present = "list")]
    pub method: Option<String>,
    /// Request as JSON (Scaleway field names), `@file` or `@-` for stdin
    #[arg(long, short = 'd', default_value = "{}")]
    pub data: String,
    /// List every callable method and exit
    #[arg(long)]
    pub list: bool,
}

pub async fn run(ctx: &Ctx, args: CallArgs) -> Result<(), CliError> {
    if args.list {
        return list_methods();
    }
    let Some(name) = args.method else {
        return Err(CliError::usage(
            "name a method, e.g. `fleetctl call Servers/GetServer`",
        ));
    };
    let method = find_method(&name)?;
    let mut request = request_from_json(&method.input(), Source::parse(&args.data).json()?)?;
    fill_request_id(&mut request);
    let path = PathAndQuery::from_str(&format!(
        "/{}/{}",
        method.parent_service().full_name(),
        method.name()
    ))
    .map_err(|err| CliError::Protocol(format!("bad method path: {err}")))?;
    let codec = DynamicCodec {
        output: method.output(),
    };
    let mut grpc = tonic::client::Grpc::new(ctx.gateway.channel());
    grpc.ready()
        .await
        .map_err(|err| tonic::Status::unavailable(format!("gateway not ready: {err}")))?;
    let output_desc = method.output();
    if method.is_server_streaming() {
        let mut stream = grpc
            .server_streaming(tonic::Request::new(request), path, codec)
            .await?
            .into_inner();
        while let Some(message) = stream.message().await? {
            print_dynamic(ctx, &message, &output_desc, true)?;
        }
        Ok(())
    } else if method.is_client_streaming() {
        Err(CliError::usage(format!(
            "{name} streams requests, which `call` does not support"
        )))
    } else {
        let response = grpc
            .unary(tonic::Request::new(request), path, codec)
            .await?
            .into_inner();
        print_dynamic(ctx, &response, &output_desc, false)
    }
}

/// Prints a dynamic answer; streamed JSON messages go one per line so they can be piped.
fn print_dynamic(
    ctx: &Ctx,
    message: &DynamicMessage,
    desc: &MessageDescriptor,
    streamed: bool,
) -> Result<(), CliError> {
    let value = dynamic_to_json(message)?;
    if streamed && ctx.printer.format == Format::Json {
        let mut line = value.to_string();
        line.push('\n');
        return output::write_stdout(line.as_bytes());
    }
    ctx.printer.value(&value, Some(desc))
}

/// The message as JSON with the same options as `fleet_proto::json`.
pub fn dynamic_to_json(message: &DynamicMessage) -> Result<Value, CliError> {
    let options = SerializeOptions::new()
        .use_proto_field_name(true)
        .stringify_64_bit_integers(false)
        .skip_default_fields(false);
    message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .map_err(|err| CliError::Protocol(err.to_string()))
}

/// Builds the request; unknown fields are refused so a typo does not silently drop a value.
fn request_from_json(desc: &MessageDescriptor, value: Value) -> Result<DynamicMessage, CliError> {
    DynamicMessage::deserialize_with_options(
        desc.clone(),
        value,
        &DeserializeOptions::new().deny_unknown_fields(true),
    )
    .map_err(|err| {
        CliError::usage(format!(
            "--data does not fit {}: {err} (see its fields with `-o json` on a similar command, or proto/fleet/v1)",
            desc.full_name()
        ))
    })
}

/// Mutating requests carry an idempotency key: a fresh one unless given.
fn fill_request_id(request: &mut DynamicMessage) {
    let Some(field) = request.descriptor().get_field_by_name("request_id") else {
        return;
    };
    let empty = request.get_field(&field).as_str().is_none_or(str::is_empty);
    if empty {
        request.set_field(
            &field,
            ReflectValue::String(uuid::Uuid::new_v4().to_string()),
        );
    }
}

/// `Servers/GetServer`, `fleet.v1.Servers/GetServer` or `fleet.v1.Servers.GetServer`.
fn find_method(name: &str) -> Result<MethodDescriptor, CliError> {
    let name = name.trim_start_matches('/');
    let (service, method) = name
        .rsplit_once('/')
        .or_else(|| name.rsplit_once('.'))
        .ok_or_else(|| CliError::usage(format!("{name:?} is not SERVICE/METHOD")))?;
    let pool = fleet_proto::descriptor_pool();
    let service = pool
        .services()
        .filter(|s| s.package_name() == "fleet.v1")
        .find(|s| s.full_name() == service || s.name() == service)
        .ok_or_else(|| {
            CliError::usage(format!(
                "no public service {service:?}; see `fleetctl call --list`"
            ))
        })?;
    service
        .methods()
        .find(|m| m.name() == method)
        .ok_or_else(|| {
            CliError::usage(format!(
                "{} has no method {method:?}; see `fleetctl call --list`",
                service.name()
            ))
        })
}

pub fn list_methods() -> Result<(), CliError> {
    let mut text = String::new();
    for service in fleet_proto::descriptor_pool()
        .services()
        .filter(|s| s.package_name() == "fleet.v1")
    {
        for method in service.methods() {
            let stream = if method.is_server_streaming() {
                "stream "
            } else {
                ""
            };
            text.push_str(&format!(
                "{}/{}({}) returns ({stream}{})\n",
                service.name(),
                method.name(),
                method.input().name(),
                method.output().name()
            ));
        }
    }
    output::write_stdout(text.as_bytes())
}

/// Encodes and decodes dynamic messages of a fixed output type.
#[derive(Debug, Clone)]
struct DynamicCodec {
    output: MessageDescriptor,
}

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicEncoder;
    type Decoder = DynamicDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        DynamicDecoder {
            output: self.output.clone(),
        }
    }
}

#[derive(Debug)]
struct DynamicEncoder;

impl Encoder for DynamicEncoder {
    type Item = DynamicMessage;
    type Error = tonic::Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        item.encode(dst)
            .map_err(|err| tonic::Status::internal(format!("cannot encode the request: {err}")))
    }
}

#[derive(Debug)]
struct DynamicDecoder {
    output: MessageDescriptor,
}

impl Decoder for DynamicDecoder {
    type Item = DynamicMessage;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        DynamicMessage::decode(self.output.clone(), src)
            .map(Some)
            .map_err(|err| tonic::Status::internal(format!("cannot decode the answer: {err}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn methods_resolve_by_short_and_full_names() {
        assert_eq!(
            find_method("Servers/GetServer").unwrap().full_name(),
            "fleet.v1.Servers.GetServer"
        );
        assert!(
            find_method("fleet.v1.Operations/WatchOperation")
                .unwrap()
                .is_server_streaming()
        );
        assert!(find_method("Servers/Nope").is_err());
        assert!(
            find_method("ZoneCalls/Invoke").is_err(),
            "internal API is not public"
        );
    }

    #[test]
    fn requests_refuse_unknown_fields_and_get_a_request_id() {
        let method = find_method("Servers/DeleteServer").unwrap();
        assert!(request_from_json(&method.input(), json!({"zone": "x", "nope": 1})).is_err());
        let mut request = request_from_json(
            &method.input(),
            json!({"zone": "fr-par-1", "server_id": "s"}),
        )
        .unwrap();
        fill_request_id(&mut request);
        let value = dynamic_to_json(&request).unwrap();
        assert!(uuid::Uuid::parse_str(value["request_id"].as_str().unwrap()).is_ok());
    }

    #[test]
    fn given_request_ids_are_kept() {
        let method = find_method("Servers/DeleteServer").unwrap();
        let mut request =
            request_from_json(&method.input(), json!({"request_id": "keep-me"})).unwrap();
        fill_request_id(&mut request);
        assert_eq!(dynamic_to_json(&request).unwrap()["request_id"], "keep-me");
    }
}
