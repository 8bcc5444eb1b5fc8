//! Printing answers: JSON and YAML for scripts, tables for people.
//!
//! Every answer goes through one path: the proto message becomes Scaleway-style
//! JSON with `fleet_proto::json` (field names as in the Scaleway API, unset
//! nullable fields as `null`), then that value is printed as JSON, YAML or a
//! table. Tables are chosen by the message's full name ([`crate::table`]), so a
//! new response type prints something sensible without code here.

use std::io::Write as _;

use prost_reflect::MessageDescriptor;
use serde_json::Value;

use crate::error::CliError;
use crate::table;

/// Output format, `-o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people (lists) or key/value lines (one resource).
    Table,
    /// Pretty JSON, field names as in the Scaleway API.
    Json,
    /// YAML, same fields as JSON.
    Yaml,
}

/// The message as JSON with Scaleway field names and `null` for unset nullable fields.
pub fn to_value<M: prost::Message + prost::Name>(message: &M) -> Result<Value, CliError> {
    fleet_proto::json::try_to_json(message, fleet_proto::json::JsonOptions::scaleway_nulls())
        .map_err(|err| CliError::Protocol(err.to_string()))
}

/// The descriptor of `M` in the fleet descriptor pool.
pub fn descriptor_of<M: prost::Name>() -> Result<MessageDescriptor, CliError> {
    fleet_proto::json::descriptor::<M>().map_err(|err| CliError::Protocol(err.to_string()))
}

/// Prints answers in one format.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub format: Format,
}

impl Printer {
    /// Prints a typed message.
    pub fn message<M: prost::Message + prost::Name>(&self, message: &M) -> Result<(), CliError> {
        let value = to_value(message)?;
        let desc = descriptor_of::<M>()?;
        self.value(&value, Some(&desc))
    }

    /// Prints a JSON value of the message type `desc` (unknown: generic rendering).
    pub fn value(&self, value: &Value, desc: Option<&MessageDescriptor>) -> Result<(), CliError> {
        let text = match self.format {
            Format::Json => {
                let mut text = serde_json::to_string_pretty(value)
                    .map_err(|err| CliError::Protocol(err.to_string()))?;
                text.push('\n');
                text
            }
            Format::Yaml => {
                serde_yaml::to_string(value).map_err(|err| CliError::Protocol(err.to_string()))?
            }
            Format::Table => {
                if let Some(Value::Array(zones)) = value.get("unreachable")
                    && !zones.is_empty()
                {
                    let zones: Vec<&str> = zones.iter().filter_map(Value::as_str).collect();
                    note(&format!(
                        "warning: zones not listed (unreachable): {}",
                        zones.join(", ")
                    ));
                }
                table::render(value, desc)
            }
        };
        write_stdout(text.as_bytes())
    }
}

/// Writes to stdout; a closed pipe (`fleetctl … | head`) is not an error.
pub fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(CliError::Io(format!("cannot write to stdout: {err}"))),
    }
}

/// A line on stderr for people (progress, hints); never fails the command.
pub fn note(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}
