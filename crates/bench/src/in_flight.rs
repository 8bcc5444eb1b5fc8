//! What was in flight upstream, read from the emulator's call log rather than from fleet's
//! own counters.
//!
//! A server's calls are those whose path names it (`…/servers/{id}`, `…/servers/{id}/action`)
//! or whose `servers=` query lists it (the zone watcher's `GET servers?servers=id1,…`). A
//! server is in flight from its first call to its last: for a reboot, from the action to the
//! read that saw it running again.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use crate::emulator_process::Call;

/// The calls of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerCalls {
    pub first: SystemTime,
    pub last: SystemTime,
    /// `POST …/servers/{id}/action` calls.
    pub actions: usize,
}

/// The server ids `call` names, in its path or its `servers=` query.
pub fn servers_named(call: &Call) -> Vec<String> {
    let mut ids = Vec::new();
    let mut segments = call.path.split('/');
    while let Some(segment) = segments.next() {
        if segment == "servers"
            && let Some(id) = segments.next()
            && !id.is_empty()
        {
            ids.push(id.to_owned());
        }
    }
    for pair in call.query.as_deref().unwrap_or_default().split('&') {
        if let Some(list) = pair.strip_prefix("servers=") {
            let list = list.replace("%2C", ",").replace("%2c", ",");
            ids.extend(
                list.split(',')
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned),
            );
        }
    }
    ids
}

fn is_action(call: &Call) -> bool {
    call.method == "POST" && call.path.ends_with("/action")
}

/// The calls of each server of `servers` in `calls`.
pub fn per_server(calls: &[Call], servers: &HashSet<String>) -> HashMap<String, ServerCalls> {
    let mut seen: HashMap<String, ServerCalls> = HashMap::new();
    for call in calls {
        for id in servers_named(call) {
            if !servers.contains(&id) {
                continue;
            }
            let actions = usize::from(is_action(call));
            seen.entry(id)
                .and_modify(|s| {
                    s.first = s.first.min(call.at);
                    s.last = s.last.max(call.at);
                    s.actions += actions;
                })
                .or_insert(ServerCalls {
                    first: call.at,
                    last: call.at,
                    actions,
                });
        }
    }
    seen
}

/// The largest number of servers in flight at once (first call to last call). An interval
/// that ends when another starts does not overlap it.
pub fn max_overlap<'a>(servers: impl IntoIterator<Item = &'a ServerCalls>) -> usize {
    fleet_emulator::calllog::max_overlap(servers.into_iter().map(|s| (s.first, s.last)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
    }

    fn call(ms: u64, method: &str, path: &str, query: Option<&str>) -> Call {
        Call {
            at: at(ms),
            method: method.into(),
            path: path.into(),
            query: query.map(str::to_owned),
            status: 200,
        }
    }

    const SERVERS: &str = "/instance/v1/zones/fr-par-1/servers";

    #[test]
    fn a_call_names_the_servers_of_its_path_and_of_its_servers_query() {
        let action = call(0, "POST", &format!("{SERVERS}/a/action"), None);
        assert_eq!(servers_named(&action), ["a"]);
        let list = call(
            0,
            "GET",
            SERVERS,
            Some("page=1&servers=a%2Cb,c&per_page=100"),
        );
        assert_eq!(servers_named(&list), ["a", "b", "c"]);
        let unfiltered = call(0, "GET", SERVERS, Some("tags=web&per_page=100"));
        assert!(servers_named(&unfiltered).is_empty());
    }

    #[test]
    fn each_server_is_in_flight_from_its_action_to_its_last_read() {
        let calls = [
            call(0, "POST", &format!("{SERVERS}/a/action"), None),
            call(10, "POST", &format!("{SERVERS}/b/action"), None),
            call(500, "GET", SERVERS, Some("servers=a%2Cb")),
            // a is running again: only b is read on.
            call(900, "GET", SERVERS, Some("servers=b")),
            // c starts when a's last read is over, b still in flight.
            call(900, "POST", &format!("{SERVERS}/c/action"), None),
            call(1500, "GET", SERVERS, Some("servers=c")),
            // Not in the batch.
            call(1600, "POST", &format!("{SERVERS}/z/action"), None),
        ];
        let batch: HashSet<String> = ["a", "b", "c"].map(String::from).into();
        let seen = per_server(&calls, &batch);
        assert_eq!(seen.len(), 3);
        assert_eq!(
            seen["a"],
            ServerCalls {
                first: at(0),
                last: at(500),
                actions: 1
            }
        );
        assert_eq!((seen["b"].first, seen["b"].last), (at(10), at(900)));
        assert_eq!(seen["c"].actions, 1);
        // a and b overlap; c starts the instant b's last read ends.
        assert_eq!(max_overlap(seen.values()), 2);
        let mut late = seen.clone();
        late.get_mut("b").unwrap().last = at(901);
        assert_eq!(max_overlap(late.values()), 2);
        late.get_mut("a").unwrap().last = at(950);
        assert_eq!(max_overlap(late.values()), 3);
    }
}
