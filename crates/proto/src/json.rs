//! Scaleway JSON ⇄ proto messages, through prost-reflect and the crate's descriptor pool.
//!
//! The resource messages of `fleet.v1` use Scaleway's JSON keys as field names,
//! so a Scaleway object (e.g. a fleet-core `Server` serialized with serde, or a
//! response body) converts into the proto message with [`from_json`], and a proto
//! message prints as the Scaleway object with [`to_json`].
//!
//! Mapping (proto3 JSON with these options):
//! * field names are the proto names (`commercial_type`, not `commercialType`);
//! * 64-bit integers are JSON numbers, as Scaleway sends sizes (`"size": 20000000000`);
//! * fields without presence (plain scalars, repeated, maps) are always written,
//!   defaults included (`"tags": []`, `"protected": false`, `"state_detail": ""`),
//!   because Scaleway always sends those keys;
//! * fields with presence (`optional` scalars, messages) are written only when set.
//!   Scaleway writes most of them as `null` when unset: [`JsonOptions::scaleway_nulls`]
//!   does the same. The default leaves them out, which is safe for request bodies
//!   where `null` means "clear" (PATCH);
//! * unknown keys are ignored on input (the API adds fields without notice).
//!
//! Normalisations of a round trip Scaleway JSON → proto → JSON, and nothing else:
//! 1. a `null` value and an absent key are the same (both are "unset");
//! 2. an empty list and an absent key are the same (repeated fields have no
//!    presence; e.g. the sbs_volume entries of `Server.volumes` omit `tags`);
//! 3. keys the protos do not model are dropped (the tests show none is dropped
//!    for the recorded servers, volumes, snapshots, rules, IPs and others);
//! 4. object key order is not kept (maps come out sorted).

use prost_reflect::{
    DeserializeOptions, DynamicMessage, Kind, MessageDescriptor, SerializeOptions,
};
use serde_json::Value;

use crate::descriptor_pool;

/// Why a conversion failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The message type is not in the crate's descriptor set.
    #[error("message type {0} is not in the fleet descriptor set")]
    UnknownMessage(String),
    /// The JSON does not fit the message (wrong type, bad number, …).
    #[error("json does not match {message}: {source}")]
    Json {
        /// Fully qualified message name.
        message: String,
        /// The parser's explanation.
        #[source]
        source: serde_json::Error,
    },
    /// The message could not be moved between its typed and dynamic forms.
    #[error("cannot transcode {message}: {source}")]
    Decode {
        /// Fully qualified message name.
        message: String,
        /// The decoder's explanation.
        #[source]
        source: prost::DecodeError,
    },
}

/// Output options of [`to_json_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonOptions {
    /// Write unset `optional` and message fields as `null`, as Scaleway does.
    pub emit_nulls: bool,
}

impl JsonOptions {
    /// Scaleway's own shape: unset nullable fields written as `null`.
    pub const fn scaleway_nulls() -> Self {
        JsonOptions { emit_nulls: true }
    }
}

/// The message as Scaleway-style JSON (unset nullable fields left out).
///
/// # Panics
///
/// If `M` is not a message of this crate's descriptor set (fleet, google.rpc or
/// well-known types); use [`try_to_json`] for foreign types.
pub fn to_json<M: prost::Message + prost::Name>(message: &M) -> Value {
    match try_to_json(message, JsonOptions::default()) {
        Ok(value) => value,
        Err(err) => panic!("to_json: {err}"),
    }
}

/// [`to_json`] with options.
///
/// # Panics
///
/// As [`to_json`].
pub fn to_json_with<M: prost::Message + prost::Name>(message: &M, options: JsonOptions) -> Value {
    match try_to_json(message, options) {
        Ok(value) => value,
        Err(err) => panic!("to_json_with: {err}"),
    }
}

/// The message as Scaleway-style JSON, or why it cannot be converted.
pub fn try_to_json<M: prost::Message + prost::Name>(
    message: &M,
    options: JsonOptions,
) -> Result<Value, Error> {
    let desc = descriptor::<M>()?;
    let dynamic = DynamicMessage::decode(desc.clone(), message.encode_to_vec().as_slice())
        .map_err(|source| Error::Decode {
            message: M::full_name(),
            source,
        })?;
    let mut value = dynamic
        .serialize_with_options(serde_json::value::Serializer, &serialize_options())
        .map_err(|source| Error::Json {
            message: M::full_name(),
            source,
        })?;
    if options.emit_nulls {
        insert_nulls(&desc, &mut value);
    }
    Ok(value)
}

/// The message from Scaleway-style JSON. `null` means unset; unknown keys are ignored.
pub fn from_json<M: prost::Message + prost::Name + Default>(value: Value) -> Result<M, Error> {
    let desc = descriptor::<M>()?;
    let dynamic = DynamicMessage::deserialize_with_options(
        desc,
        value,
        &DeserializeOptions::new().deny_unknown_fields(false),
    )
    .map_err(|source| Error::Json {
        message: M::full_name(),
        source,
    })?;
    dynamic.transcode_to::<M>().map_err(|source| Error::Decode {
        message: M::full_name(),
        source,
    })
}

/// The descriptor of `M` in the crate's pool.
pub fn descriptor<M: prost::Name>() -> Result<MessageDescriptor, Error> {
    let name = M::full_name();
    descriptor_pool()
        .get_message_by_name(&name)
        .ok_or(Error::UnknownMessage(name))
}

fn serialize_options() -> SerializeOptions {
    SerializeOptions::new()
        .use_proto_field_name(true)
        .stringify_64_bit_integers(false)
        .skip_default_fields(false)
}

/// Adds `"key": null` for every unset field with presence (not real oneof
/// members), recursively through messages, lists and map values. Well-known
/// types keep their own JSON form.
fn insert_nulls(desc: &MessageDescriptor, value: &mut Value) {
    if desc.full_name().starts_with("google.protobuf.") {
        return;
    }
    let Value::Object(object) = value else {
        return;
    };
    for field in desc.fields() {
        let in_real_oneof = field
            .containing_oneof()
            .is_some_and(|oneof| !oneof.is_synthetic());
        let name = field.name();
        match object.get_mut(name) {
            None => {
                if field.supports_presence() && !in_real_oneof {
                    object.insert(name.to_owned(), Value::Null);
                }
            }
            Some(child) => {
                if field.is_map() {
                    if let (Kind::Message(entry), Value::Object(map)) = (field.kind(), child)
                        && let Kind::Message(inner) = entry.map_entry_value_field().kind()
                    {
                        for v in map.values_mut() {
                            insert_nulls(&inner, v);
                        }
                    }
                } else if let Kind::Message(inner) = field.kind() {
                    match child {
                        Value::Array(items) => {
                            for item in items {
                                insert_nulls(&inner, item);
                            }
                        }
                        other => insert_nulls(&inner, other),
                    }
                }
            }
        }
    }
}
