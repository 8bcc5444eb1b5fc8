//! What every command shares: the gateway connection, the printer, paging of
//! List methods and the hand-off of long-running operations to [`crate::operations`].

use std::future::Future;
use std::time::Duration;

use fleet_proto::v1;
use serde_json::Value;

use crate::args::{LongRunning, Paging};
use crate::client::Gateway;
use crate::error::CliError;
use crate::output::{self, Format, Printer, descriptor_of, to_value};

/// The shared state of one command run.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub gateway: Gateway,
    pub printer: Printer,
    /// Deadline of each unary call (`--timeout`).
    pub call_timeout: Duration,
    /// Longest `--wait` / `operations wait|watch`; None waits for ever.
    pub wait_timeout: Option<Duration>,
}

/// A List request: its page token can be set.
pub trait PageRequest: Clone {
    fn set_page(&mut self, size: i32, token: String);
}

/// A List response: it may name a next page.
pub trait PageResponse: prost::Message + prost::Name + Default {
    fn next_page_token(&self) -> &str;
}

macro_rules! paged {
    ($($req:ident => $resp:ident),* $(,)?) => {$(
        impl PageRequest for v1::$req {
            fn set_page(&mut self, size: i32, token: String) {
                self.page_size = size;
                self.page_token = token;
            }
        }
        impl PageResponse for v1::$resp {
            fn next_page_token(&self) -> &str {
                &self.next_page_token
            }
        }
    )*};
}

paged!(
    ListServersRequest => ListServersResponse,
    ListServerActionsRequest => ListServerActionsResponse,
    ListServerUserDataRequest => ListServerUserDataResponse,
    ListImagesRequest => ListImagesResponse,
    ListSnapshotsRequest => ListSnapshotsResponse,
    ListVolumesRequest => ListVolumesResponse,
    ListSecurityGroupsRequest => ListSecurityGroupsResponse,
    ListSecurityGroupRulesRequest => ListSecurityGroupRulesResponse,
    ListPlacementGroupsRequest => ListPlacementGroupsResponse,
    ListIpsRequest => ListIpsResponse,
    ListPrivateNicsRequest => ListPrivateNicsResponse,
    ListServerTypesRequest => ListServerTypesResponse,
    GetServerTypesAvailabilityRequest => GetServerTypesAvailabilityResponse,
    ListVolumeTypesRequest => ListVolumeTypesResponse,
    ListOperationsRequest => ListOperationsResponse,
    ListAuditEventsRequest => ListAuditEventsResponse,
    ListBatchesRequest => ListBatchesResponse,
    ListPoliciesRequest => ListPoliciesResponse,
    ListPolicyRunsRequest => ListPolicyRunsResponse,
);

impl PageRequest for v1::ListDefaultSecurityGroupRulesRequest {
    fn set_page(&mut self, size: i32, token: String) {
        self.page_size = size;
        self.page_token = token;
    }
}

/// A server that keeps answering pages beyond this is looping.
const MAX_PAGES: usize = 100_000;

impl Ctx {
    /// Prints a typed answer.
    pub fn print<M: prost::Message + prost::Name>(&self, message: &M) -> Result<(), CliError> {
        self.printer.message(message)
    }

    /// Calls a List method for one page (or every page with `--all-pages`) and
    /// prints the items; with `--all-pages` the pages are merged into one answer.
    pub async fn list<Req, Resp, F, Fut>(
        &self,
        mut request: Req,
        paging: &Paging,
        mut call: F,
    ) -> Result<(), CliError>
    where
        Req: PageRequest,
        Resp: PageResponse,
        F: FnMut(Req) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let size = paging.page_size.unwrap_or(0);
        request.set_page(size, paging.page_token.clone().unwrap_or_default());
        let first = call(request.clone()).await?.into_inner();
        let desc = descriptor_of::<Resp>()?;
        let mut value = to_value(&first)?;
        let mut next = first.next_page_token().to_owned();
        if paging.all_pages {
            let field = items_field(&desc);
            let mut pages = 1;
            while !next.is_empty() {
                pages += 1;
                if pages > MAX_PAGES {
                    return Err(CliError::Protocol(format!(
                        "more than {MAX_PAGES} pages; the gateway keeps returning a next page token"
                    )));
                }
                request.set_page(size, next.clone());
                let page = call(request.clone()).await?.into_inner();
                if page.next_page_token() == next {
                    return Err(CliError::Protocol(
                        "the gateway returned the same page token twice".into(),
                    ));
                }
                next = page.next_page_token().to_owned();
                if let Some(field) = &field {
                    merge_page(&mut value, to_value(&page)?, field);
                }
            }
            if let Value::Object(map) = &mut value {
                map.insert("next_page_token".into(), Value::String(String::new()));
            }
        } else if !next.is_empty() && self.printer.format == Format::Table {
            output::note(&format!(
                "more results: add --page-token {next} for the next page, or --all-pages"
            ));
        }
        self.printer.value(&value, Some(&desc))
    }

    /// Prints a just-started operation, or waits for it with `--wait`.
    pub async fn operation(&self, op: v1::Operation, long: &LongRunning) -> Result<(), CliError> {
        if long.wait {
            let done = crate::operations::watch(self, &op.name, true).await?;
            crate::operations::print_result(self, done)
        } else {
            match self.printer.format {
                Format::Table => output::write_stdout(format!("{}\n", op.name).as_bytes())?,
                Format::Json | Format::Yaml => self.print(&op)?,
            }
            output::note(&format!(
                "started {name}; follow it with `fleetctl operations watch {name}`",
                name = op.name
            ));
            Ok(())
        }
    }
}

/// The field that holds the items of a List response.
fn items_field(desc: &prost_reflect::MessageDescriptor) -> Option<String> {
    desc.fields()
        .filter(|f| f.name() != "unreachable")
        .find(|f| f.is_list() || f.is_map())
        .map(|f| f.name().to_owned())
}

/// Appends the items (and unreachable zones) of `page` to `into`.
fn merge_page(into: &mut Value, page: Value, field: &str) {
    let Value::Object(mut page) = page else {
        return;
    };
    for key in [field, "unreachable"] {
        let Some(items) = page.remove(key) else {
            continue;
        };
        match (into.get_mut(key), items) {
            (Some(Value::Array(existing)), Value::Array(more)) => {
                for item in more {
                    if key != "unreachable" || !existing.contains(&item) {
                        existing.push(item);
                    }
                }
            }
            (Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more),
            (_, items) => {
                if let Value::Object(map) = into {
                    map.insert(key.to_owned(), items);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pages_merge_items_and_unreachable_zones() {
        let mut first = json!({"servers": [{"id": "1"}], "unreachable": ["a"], "total_size": 2});
        merge_page(
            &mut first,
            json!({"servers": [{"id": "2"}], "unreachable": ["a", "b"], "total_size": 2}),
            "servers",
        );
        assert_eq!(
            first,
            json!({"servers": [{"id": "1"}, {"id": "2"}], "unreachable": ["a", "b"], "total_size": 2})
        );
    }

    #[test]
    fn items_field_skips_unreachable() {
        let desc = descriptor_of::<v1::ListServersResponse>().unwrap();
        assert_eq!(items_field(&desc).as_deref(), Some("servers"));
        let desc = descriptor_of::<v1::ListServerTypesResponse>().unwrap();
        assert_eq!(items_field(&desc).as_deref(), Some("servers"));
    }
}
