//! Request handling: everything the gateway does to a public request before Postgres or a
//! worker sees it, as pure functions of the request JSON.
//!
//! * [`methods`]: the method table read from the descriptors ([`methods::MethodInfo`]);
//! * [`rules`]: the field rules (names, UUIDs, enumerations, required fields);
//! * [`convert`]: the public request → the fleet-core request a worker performs, and back;
//! * [`job`]: a long-running request → the job the worker runs;
//! * [`sources`]: the upstream lists a List request reads (zones × storage APIs);
//! * [`plan`] (here): what the call path will do with a checked request;
//! * [`offline`]: the same checks from wire bytes, for the fuzz target and property tests.

pub mod convert;
pub mod job;
pub mod methods;
pub mod offline;
pub mod rules;
pub mod sources;

use std::str::FromStr;

use fleet_core::Zone;
use fleet_core::catalog::Api;
use fleet_jobs::JobSpec;
use serde_json::Value;

use crate::errors::GatewayError;
use crate::paging::{Page, UPSTREAM_PAGE_SIZE};
use convert::{Prepared, prepare};
use methods::MethodInfo;

/// What the call path does with a request that passed [`rules::validate`] and [`plan`].
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Enqueue this job.
    LongRunning(Box<JobSpec>),
    /// Serve a page of a List method.
    List(ListPlan),
    /// One synchronous call to the zone's worker.
    Single(Prepared),
}

/// A List request's paging, the response field that holds its items and the upstream
/// lists it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPlan {
    pub page: Page,
    /// The repeated (or map) field of the response, its field number 1.
    pub collection: String,
    /// In the order their items are served.
    pub sources: Vec<sources::Source>,
}

/// The checks of a request that need no caller, no database and no worker, and what they
/// yield. [`crate::call`] runs it on every call after the field rules and the caller checks;
/// [`offline::check_request`] runs it on the fuzz target's bytes.
pub fn plan(info: &MethodInfo, request: &Value) -> Result<Plan, GatewayError> {
    if info.long_running {
        let prepared = prepare(info, request, None)?;
        return job::job_spec(info, request, &prepared)
            .map(|spec| Plan::LongRunning(Box::new(spec)));
    }
    if info.is_list() {
        let page = Page::of(&info.grpc_method, request)?;
        let collection = info
            .output
            .fields()
            .find(|f| f.number() == 1)
            .map(|f| f.name().to_owned())
            .ok_or_else(|| GatewayError::Internal("list response has no collection".into()))?;
        // The first upstream page, so a request that cannot be sent is refused before any
        // zone is asked (every zone's request differs only in its zone and page).
        let mut first = request.clone();
        if let Value::Object(map) = &mut first
            && map.get("zone").and_then(Value::as_str) == Some("all")
        {
            map.insert(
                "zone".into(),
                Value::String(Zone::ALL[0].as_str().to_owned()),
            );
        }
        let upstream_page = page.token.offset / UPSTREAM_PAGE_SIZE + 1;
        let sources = sources::sources(info, request)?;
        if sources.iter().any(|s| s.api == Api::Instance) {
            prepare(info, &first, Some((upstream_page, UPSTREAM_PAGE_SIZE)))?;
        }
        if sources.iter().any(|s| s.api == Api::Block) {
            sources::block_call(info, &first, upstream_page, UPSTREAM_PAGE_SIZE)?;
        }
        return Ok(Plan::List(ListPlan {
            page,
            collection,
            sources,
        }));
    }
    prepare(info, request, None).map(Plan::Single)
}

/// The request's `request_id`, when it has a non-empty one.
pub fn request_id(request: &Value) -> Option<String> {
    request
        .get("request_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Whether a zone name is known (for the Operations filters).
pub fn known_zone(zone: &str) -> bool {
    Zone::from_str(zone).is_ok()
}

/// The refusal of a request that decodes but has no JSON form (a non-finite number in a
/// `google.protobuf.Value`, an invalid well-known type): INVALID_ARGUMENT on `request`, since
/// the encoder does not say which field.
pub fn not_json(error: &str) -> GatewayError {
    GatewayError::invalid(
        "request",
        format!(
            "holds a value that has no JSON form: {}",
            crate::errors::clip(error, 200)
        ),
    )
}
