//! Calls by catalog operation with raw bodies: the entry point of callers
//! that forward requests they did not build (the worker's internal
//! `ZoneCalls` service, on behalf of the gateway).
//!
//! Why here and not in the worker: the forwarded call must go through the
//! same pipeline as the typed methods (per-zone rate limit, retries, the
//! caller header, cancellation, telemetry, endpoint counters), and that
//! pipeline is private to this crate. The request is checked against the
//! catalog entry (path parameters by name, whether a query or a body is
//! accepted, the JSON body parsed as the `fleet-core` request type) but
//! sent as given, and the answer comes back unchanged, error statuses
//! included, so that the gateway maps upstream errors with its own table.

use std::collections::BTreeMap;

use fleet_core::Zone;
use fleet_core::catalog::BodyKind;

use crate::client::{Body, Client, RawResponse};
use crate::endpoint::Operation;
use crate::error::{Error, Result};

/// A request body of [`Client::invoke`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeBody {
    /// The bytes, sent as they are.
    pub bytes: Vec<u8>,
    /// `application/json` or `text/plain` (parameters such as `charset`
    /// are ignored); empty means the endpoint's own body kind.
    pub content_type: String,
}

/// The upstream answer of [`Client::invoke`]: a success, or an HTTP error
/// the API gave for good (4xx other than 429, or a 5xx that is not
/// transient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body, unchanged.
    pub body: Vec<u8>,
    /// `Content-Type` of the response.
    pub content_type: Option<String>,
    /// `X-Total-Count` of list responses.
    pub total_count: Option<u64>,
    /// `x-request-id`, `location`, `link` and `retry-after`, when present
    /// (names lower-cased).
    pub headers: BTreeMap<String, String>,
    /// Attempts made (1 = no retry).
    pub attempts: u32,
}

impl InvokeResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl Client {
    /// Performs `operation` in `zone` with raw inputs, through the same
    /// rate limit, retry policy, caller header, cancellation and telemetry
    /// as the typed methods.
    ///
    /// `path_params` names every template parameter but `zone` (e.g.
    /// `server_id`, `key`); a `zone` entry is accepted only when it equals
    /// `zone`. `query` pairs are sent in order.
    ///
    /// Returns `Ok` with the upstream answer for 2xx and for HTTP errors
    /// that retrying cannot change (status >= 400, body unchanged). Returns
    /// `Err` when there is no definitive answer: [`Error::InvalidRequest`]
    /// for input the catalog entry rejects (nothing sent; the message
    /// starts with the input at fault: `path_params: `, `query: ` or
    /// `body: `), a retryable
    /// error ([`Error::retryable`]: 429, transient 5xx, timeouts, resets)
    /// once the retry budget is spent, [`Error::Cancelled`], or another
    /// transport failure.
    pub async fn invoke(
        &self,
        operation: Operation,
        zone: Zone,
        path_params: &BTreeMap<String, String>,
        query: &[(String, String)],
        body: Option<InvokeBody>,
    ) -> Result<InvokeResponse> {
        let endpoint = operation.endpoint();
        let params = ordered_params(operation, zone, path_params)?;
        let params: Vec<&str> = params.iter().map(String::as_str).collect();
        if endpoint.query.is_none() && !query.is_empty() {
            return Err(Error::InvalidRequest(format!(
                "query: {} takes no query parameters",
                operation.name()
            )));
        }
        let body = request_body(operation, body)?;
        match self
            .send_counted(operation, zone, &params, query.to_vec(), body)
            .await
        {
            Ok((response, attempts)) => Ok(to_invoke_response(response, attempts)),
            Err(failed) => match failed.response {
                Some(response) if !failed.error.retryable() => {
                    Ok(to_invoke_response(response, failed.attempts))
                }
                _ => Err(failed.error),
            },
        }
    }
}

fn to_invoke_response(response: RawResponse, attempts: u32) -> InvokeResponse {
    InvokeResponse {
        status: response.status,
        body: response.body,
        content_type: response.content_type,
        total_count: response.total_count,
        headers: response
            .headers
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
        attempts: attempts.max(1),
    }
}

/// The path parameter values in template order (the zone excluded).
fn ordered_params(
    operation: Operation,
    zone: Zone,
    path_params: &BTreeMap<String, String>,
) -> Result<Vec<String>> {
    let endpoint = operation.endpoint();
    let names: Vec<&str> = endpoint
        .param_names()
        .filter(|name| *name != "zone")
        .collect();
    for (name, value) in path_params {
        if name == "zone" {
            if value != zone.as_str() {
                return Err(Error::InvalidRequest(format!(
                    "path_params: zone {value:?} differs from the call's zone {zone}"
                )));
            }
        } else if !names.contains(&name.as_str()) {
            return Err(Error::InvalidRequest(format!(
                "path_params: {} has no path parameter {name:?}",
                operation.name()
            )));
        }
    }
    names
        .iter()
        .map(|name| match path_params.get(*name) {
            Some(value) if !value.is_empty() => Ok(value.clone()),
            _ => Err(Error::InvalidRequest(format!(
                "path_params: {} needs path parameter {name}",
                operation.name()
            ))),
        })
        .collect()
}

/// Checks `body` against the endpoint's request body kind.
fn request_body(operation: Operation, body: Option<InvokeBody>) -> Result<Body> {
    let endpoint = operation.endpoint();
    let declared = body.as_ref().and_then(|b| media_type(&b.content_type));
    match endpoint.request.kind() {
        BodyKind::None => match body {
            Some(b) if !b.bytes.is_empty() => Err(Error::InvalidRequest(format!(
                "body: {} takes no request body",
                operation.name()
            ))),
            _ => Ok(Body::Empty),
        },
        BodyKind::TextPlain => {
            if declared.as_deref().is_some_and(|ct| ct != "text/plain") {
                return Err(Error::InvalidRequest(format!(
                    "body: {} takes a text/plain body",
                    operation.name()
                )));
            }
            Ok(Body::Text(body.map(|b| b.bytes).unwrap_or_default()))
        }
        BodyKind::Json => {
            if declared
                .as_deref()
                .is_some_and(|ct| ct != "application/json")
            {
                return Err(Error::InvalidRequest(format!(
                    "body: {} takes an application/json body",
                    operation.name()
                )));
            }
            // An absent body is the empty object, which the type check
            // below accepts only when no field is required.
            let bytes = match body {
                Some(b) if !b.bytes.is_empty() => b.bytes,
                _ => b"{}".to_vec(),
            };
            let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
                Error::InvalidRequest(format!("body: {} body is not json: {e}", operation.name()))
            })?;
            if let Some(ty) = endpoint.request.json_type() {
                ty.reencode(&value).map_err(|e| {
                    Error::InvalidRequest(format!(
                        "body: {} body is not a {}: {e}",
                        operation.name(),
                        ty.name
                    ))
                })?;
            }
            Ok(Body::Json(bytes))
        }
    }
}

/// The lower-cased media type of a `Content-Type` value, parameters
/// dropped; `None` when empty.
fn media_type(content_type: &str) -> Option<String> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    (!media.is_empty()).then_some(media)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn path_params_are_ordered_by_template_and_checked() {
        let op = Operation::GetServerUserData;
        let got = ordered_params(
            op,
            Zone::FrPar1,
            &params(&[("key", "cloud-init"), ("server_id", "s1")]),
        )
        .unwrap();
        assert_eq!(got, ["s1", "cloud-init"]);
        assert!(ordered_params(op, Zone::FrPar1, &params(&[("server_id", "s1")])).is_err());
        assert!(
            ordered_params(
                op,
                Zone::FrPar1,
                &params(&[("server_id", "s1"), ("key", "k"), ("extra", "x")])
            )
            .is_err()
        );
        assert!(
            ordered_params(
                Operation::ListServers,
                Zone::FrPar1,
                &params(&[("zone", "nl-ams-1")])
            )
            .is_err()
        );
        assert!(
            ordered_params(
                Operation::ListServers,
                Zone::FrPar1,
                &params(&[("zone", "fr-par-1")])
            )
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn bodies_are_checked_against_the_catalog() {
        let json = |s: &str| {
            Some(InvokeBody {
                bytes: s.as_bytes().to_vec(),
                content_type: "application/json; charset=utf-8".to_owned(),
            })
        };
        assert!(matches!(
            request_body(Operation::GetServer, json("{}")),
            Err(Error::InvalidRequest(_))
        ));
        assert!(matches!(
            request_body(Operation::GetServer, None),
            Ok(Body::Empty)
        ));
        assert!(matches!(
            request_body(Operation::UpdateServer, json("{\"name\": \"x\"}")),
            Ok(Body::Json(_))
        ));
        assert!(matches!(
            request_body(Operation::UpdateServer, json("{\"name\": 3}")),
            Err(Error::InvalidRequest(_))
        ));
        assert!(matches!(
            request_body(Operation::UpdateServer, json("not json")),
            Err(Error::InvalidRequest(_))
        ));
        let text = Some(InvokeBody {
            bytes: b"#cloud-config".to_vec(),
            content_type: "text/plain".to_owned(),
        });
        assert!(matches!(
            request_body(Operation::SetServerUserData, text),
            Ok(Body::Text(_))
        ));
        assert!(matches!(
            request_body(Operation::SetServerUserData, json("{}")),
            Err(Error::InvalidRequest(_))
        ));
    }
}
