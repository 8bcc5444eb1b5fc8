//! Effectively-once synchronous creates: a create that carries the caller's AIP-155
//! `request_id` makes at most one resource upstream, even when Scaleway acted and its answer
//! was lost (a reset or a timeout after the create), the gateway released the `request_id`
//! and the caller retried with the same one.
//!
//! The scheme is the one long-running creates use (`jobs/create.rs`: tag, then adopt by
//! tag), keyed by the request instead of a job:
//!
//! * **tagged creates** (IPs, security groups, placement groups, private NICs): the worker
//!   adds [`request_tag`] (`fleet-request=` + a digest of caller and request_id) to the
//!   create's `tags`, and first lists the collection with that tag (in the body's project when
//!   it names one). A listed resource is adopted: it is answered as the create would have been
//!   (the create's success status, `{"<resource>": …}`), and nothing is created.
//! * **security-group rules** carry no tags, so the worker does its best: before creating, it
//!   reads the group's rules and adopts an editable rule equal to the request (protocol,
//!   direction, action, IP range and ports, as the API normalises them) at the position the
//!   request puts it in (the requested position, or the last one when the request appends or
//!   names a position past the end). This can miss (another rule was inserted before it
//!   meanwhile, and a second rule is made) and can adopt a rule made by another request
//!   that asked for the very same rule at the same place, which changes no traffic.
//!
//! The lookup costs one list call per create with a `request_id`; a lookup that Scaleway
//! answers with an error is the call's answer (nothing is created), one that gets no answer
//! is `UNAVAILABLE` like any call. The tag stays on the resource, visible to the caller like
//! the `fleet-job=` tag of a job's resources; it matters only while the gateway honours the
//! `request_id`, so the caller may drop it afterwards.

use std::collections::BTreeMap;

use fleet_core::catalog::{ENDPOINTS, Method, Operation};
use fleet_core::{
    CreateSecurityGroupRuleRequest, ListSecurityGroupRulesResponse, SecurityGroupRule,
};
use fleet_proto::internal::InvokeResponse;
use fleet_scaleway::InvokeBody;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tonic::Status;

use super::{ZoneCallsService, bad_request};
use crate::jobs::create::{adopted, with_tag};
use crate::ownership::HeldZone;

/// Prefix of [`request_tag`].
pub const REQUEST_TAG_PREFIX: &str = "fleet-request=";

/// The tag of the resource a create with `request_id` from `caller` makes: a digest (128
/// bits, hex) of both, so neither the caller's name nor its request id is written upstream.
pub fn request_tag(caller: &str, request_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(caller.as_bytes());
    hasher.update([0]);
    hasher.update(request_id.as_bytes());
    let digest: String = hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{REQUEST_TAG_PREFIX}{digest}")
}

/// How a synchronous create is made once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Once {
    /// Tagged, adopted by tag; the answer's envelope key.
    Tagged(&'static str),
    /// An equal security-group rule at the same place is adopted.
    Rule,
}

/// The scheme of `operation`, when it is a synchronous create.
pub(super) fn scheme(operation: Operation) -> Option<Once> {
    Some(match operation {
        Operation::CreateIp => Once::Tagged("ip"),
        Operation::CreateSecurityGroup => Once::Tagged("security_group"),
        Operation::CreatePlacementGroup => Once::Tagged("placement_group"),
        Operation::CreatePrivateNic => Once::Tagged("private_nic"),
        Operation::CreateSecurityGroupRule => Once::Rule,
        _ => return None,
    })
}

/// The paginated list of the collection `create` posts to (same path, `GET`).
fn list_of(create: Operation) -> Option<Operation> {
    let path = create.endpoint().path;
    ENDPOINTS
        .iter()
        .find(|e| e.method == Method::Get && e.path == path && e.pagination.is_some())
        .map(|e| e.operation)
}

/// The caller's create, answered as if it had just been made.
fn adoption(create: Operation, envelope: &str, item: Value, attempts: u32) -> InvokeResponse {
    let body = Value::Object(Map::from_iter([(envelope.to_owned(), item)]));
    InvokeResponse {
        status: u32::from(create.endpoint().success_status),
        body: serde_json::to_vec(&body).unwrap_or_default(),
        content_type: "application/json".to_owned(),
        attempts,
        ..InvokeResponse::default()
    }
}

fn is_success(answer: &InvokeResponse) -> bool {
    (200..300).contains(&answer.status)
}

/// The request's call, made at most once (see the module doc).
pub(super) struct OnceCall<'a> {
    pub held: &'a HeldZone,
    pub operation: Operation,
    pub scheme: Once,
    pub path_params: &'a BTreeMap<String, String>,
    pub query: &'a [(String, String)],
    pub body: Option<InvokeBody>,
    pub caller: &'a str,
    pub request_id: &'a str,
}

impl ZoneCallsService {
    pub(super) async fn create_once(&self, call: OnceCall<'_>) -> Result<InvokeResponse, Status> {
        let Some(body) = &call.body else {
            return Err(bad_request(
                "body",
                format!("{} needs a body", call.operation),
            ));
        };
        let json: Value = serde_json::from_slice(&body.bytes)
            .map_err(|e| bad_request("body", format!("not JSON: {e}")))?;
        match call.scheme {
            Once::Tagged(envelope) => self.tagged_once(&call, envelope, json).await,
            Once::Rule => self.rule_once(&call, json).await,
        }
    }

    async fn tagged_once(
        &self,
        call: &OnceCall<'_>,
        envelope: &str,
        mut json: Value,
    ) -> Result<InvokeResponse, Status> {
        let list = list_of(call.operation).ok_or_else(|| {
            Status::internal(format!(
                "{} has no list to look its tag up in",
                call.operation
            ))
        })?;
        let tag = request_tag(call.caller, call.request_id);
        let mut query = vec![("tags".to_owned(), tag.clone())];
        if let Some(project) = json.get("project").and_then(Value::as_str) {
            query.push(("project".to_owned(), project.to_owned()));
        }
        let found = self
            .call(call.held, list, call.path_params, &query, None)
            .await?;
        if !is_success(&found) {
            return Ok(found);
        }
        let key = list.endpoint().pagination.unwrap_or_default();
        let items = match serde_json::from_slice::<Value>(&found.body) {
            Ok(Value::Object(mut map)) => match map.remove(key) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        let id_of = |item: &Value| item.get("id").and_then(Value::as_str).map(str::to_owned);
        if let Some(id) = adopted(items.iter().filter_map(id_of).collect(), |id| id) {
            tracing::info!(zone = %call.held.zone, operation = %call.operation, id,
                "adopting the resource an earlier attempt of this request_id created");
            let item = items
                .into_iter()
                .find(|item| id_of(item).as_deref() == Some(id.as_str()))
                .unwrap_or_default();
            return Ok(adoption(call.operation, envelope, item, found.attempts));
        }
        let Value::Object(map) = &mut json else {
            return Err(bad_request("body", "not a JSON object"));
        };
        let tags: Option<Vec<String>> = match map.get("tags") {
            None | Some(Value::Null) => None,
            Some(tags) => Some(
                serde_json::from_value(tags.clone())
                    .map_err(|e| bad_request("body.tags", format!("not a list of tags: {e}")))?,
            ),
        };
        map.insert("tags".into(), Value::from(with_tag(&tags, tag)));
        let body = InvokeBody {
            bytes: serde_json::to_vec(&json).unwrap_or_default(),
            content_type: "application/json".to_owned(),
        };
        self.call(
            call.held,
            call.operation,
            call.path_params,
            call.query,
            Some(body),
        )
        .await
    }

    async fn rule_once(&self, call: &OnceCall<'_>, json: Value) -> Result<InvokeResponse, Status> {
        let wanted: CreateSecurityGroupRuleRequest = serde_json::from_value(json)
            .map_err(|e| bad_request("body", format!("not a rule: {e}")))?;
        let found = self
            .call(
                call.held,
                Operation::ListSecurityGroupRules,
                call.path_params,
                &[("per_page".to_owned(), "100".to_owned())],
                None,
            )
            .await?;
        if !is_success(&found) {
            return Ok(found);
        }
        // Scaleway does not page a group's rules in practice; should a group ever hold more
        // than a page, only its first page is looked at (a miss makes a second rule).
        let rules = serde_json::from_slice::<ListSecurityGroupRulesResponse>(&found.body)
            .map(|list| list.rules)
            .unwrap_or_default();
        if let Some(rule) = same_rule(&wanted, &rules) {
            tracing::info!(zone = %call.held.zone, id = rule.id,
                "adopting an equal security-group rule at the requested position");
            let item = serde_json::to_value(rule).unwrap_or_default();
            return Ok(adoption(call.operation, "rule", item, found.attempts));
        }
        self.call(
            call.held,
            call.operation,
            call.path_params,
            call.query,
            call.body.clone(),
        )
        .await
    }
}

/// The editable rule equal to `wanted` at the position it asks for (see the module doc).
fn same_rule<'r>(
    wanted: &CreateSecurityGroupRuleRequest,
    rules: &'r [SecurityGroupRule],
) -> Option<&'r SecurityGroupRule> {
    let editable: Vec<&SecurityGroupRule> = rules.iter().filter(|r| r.editable).collect();
    let last = u32::try_from(editable.len()).ok()?;
    let at = match wanted.position {
        Some(p) if (1..=last).contains(&p) => p,
        _ => last,
    };
    let rule = editable.into_iter().find(|r| r.position == at)?;
    let ports = |from: Option<u32>, to: Option<u32>| (from, to.filter(|to| Some(*to) != from));
    let equal = wanted.protocol.as_ref() == Some(&rule.protocol)
        && wanted.direction.as_ref() == Some(&rule.direction)
        && wanted.action.as_ref() == Some(&rule.action)
        && wanted.ip_range.as_deref().map(host_range) == Some(host_range(&rule.ip_range))
        && ports(wanted.dest_port_from, wanted.dest_port_to)
            == ports(rule.dest_port_from, rule.dest_port_to);
    equal.then_some(rule)
}

/// A range as the API shows it: host ranges without their prefix (`8.8.8.8/32` → `8.8.8.8`).
fn host_range(range: &str) -> &str {
    match range.split_once('/') {
        Some((host, "32")) if !host.contains(':') => host,
        Some((host, "128")) if host.contains(':') => host,
        _ => range,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_tag_is_a_digest_of_caller_and_request_id() {
        let tag = request_tag("svc-a", "r-1");
        assert!(tag.starts_with(REQUEST_TAG_PREFIX), "{tag}");
        assert_eq!(tag.len(), REQUEST_TAG_PREFIX.len() + 32);
        assert!(!tag.contains("svc-a") && !tag.contains("r-1"));
        assert_eq!(tag, request_tag("svc-a", "r-1"));
        assert_ne!(tag, request_tag("svc-b", "r-1"));
        assert_ne!(tag, request_tag("svc-a", "r-2"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(request_tag("ab", "c"), request_tag("a", "bc"));
    }

    #[test]
    fn every_tagged_create_has_a_list_that_filters_by_tag() {
        for endpoint in ENDPOINTS {
            let Some(Once::Tagged(_)) = scheme(endpoint.operation) else {
                continue;
            };
            let list = list_of(endpoint.operation).expect("a list");
            let ty = list.endpoint().query.expect("a query");
            let probe = serde_json::json!({"tags": "x"});
            assert!(
                ty.reencode(&probe).is_ok_and(|v| v.get("tags").is_some()),
                "{list} takes no tags filter"
            );
        }
    }

    fn rule(position: u32, editable: bool, port: Option<u32>, range: &str) -> SecurityGroupRule {
        serde_json::from_value(serde_json::json!({
            "id": format!("r{position}{editable}"), "protocol": "TCP", "direction": "inbound",
            "action": "accept", "ip_range": range, "dest_port_from": port, "dest_port_to": null,
            "position": position, "editable": editable, "zone": "fr-par-1",
        }))
        .unwrap()
    }

    fn wanted(position: Option<u32>, port: u32, range: &str) -> CreateSecurityGroupRuleRequest {
        serde_json::from_value(serde_json::json!({
            "protocol": "TCP", "direction": "inbound", "action": "accept", "ip_range": range,
            "dest_port_from": port, "dest_port_to": port, "position": position,
        }))
        .unwrap()
    }

    #[test]
    fn an_equal_rule_is_adopted_only_at_the_requested_place() {
        let rules = [
            rule(1, false, Some(25), "0.0.0.0/0"),
            rule(1, true, Some(22), "8.8.8.8"),
            rule(2, true, Some(443), "0.0.0.0/0"),
        ];
        // Appending: the last editable rule, the host range and port range normalised.
        assert_eq!(
            same_rule(&wanted(None, 443, "0.0.0.0/0"), &rules).map(|r| r.id.as_str()),
            Some("r2true")
        );
        assert_eq!(
            same_rule(&wanted(Some(1), 22, "8.8.8.8/32"), &rules).map(|r| r.id.as_str()),
            Some("r1true")
        );
        // Past the end means appended, so the last rule.
        assert!(same_rule(&wanted(Some(9), 443, "0.0.0.0/0"), &rules).is_some());
        // Equal, but elsewhere; or at the place, but different; or only a default rule.
        assert!(same_rule(&wanted(None, 22, "8.8.8.8/32"), &rules).is_none());
        assert!(same_rule(&wanted(Some(2), 80, "0.0.0.0/0"), &rules).is_none());
        assert!(same_rule(&wanted(None, 25, "0.0.0.0/0"), &rules[..1]).is_none());
    }
}
