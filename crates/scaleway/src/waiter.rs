//! Waiters: poll a resource until it reaches a target state, a terminal
//! state, or disappears.
//!
//! Polling is adaptive: the first GET is immediate, then the interval
//! starts at [`WaitOptions::initial_interval`] and grows by
//! [`WaitOptions::multiplier`] up to [`WaitOptions::max_interval`]. A wait
//! ends with
//!
//! * success when the target is reached ([`WaitTarget::Terminal`]: any
//!   non-transient state; [`WaitTarget::State`]/[`WaitTarget::OneOf`]: that
//!   state; [`WaitTarget::Gone`]: a 404, e.g. after `terminate`);
//! * [`WaitError::UnexpectedState`] as soon as a terminal state that is not
//!   the target is seen (after the optional [`WaitOptions::grace`], for
//!   APIs that answer an action before the state changes), with the
//!   states observed so far; for Block resources also at once on a failure
//!   (`error`, `locked`, a reference in `error`) that the target does not
//!   name, even with `Terminal`;
//! * [`WaitError::Vanished`] on a 404 when the target was not `Gone`;
//! * [`WaitError::Deadline`] when [`WaitOptions::timeout`] passes;
//! * [`Error::Cancelled`] when the client's or the options' cancellation
//!   token fires (dropping the future also stops it).
//!
//! Each poll is an ordinary call: rate-limited, retried and traced.
//! Transient states come from `fleet_core` (`is_transient()`, reference
//! section 8). A Block volume is waited for with its references: a target
//! is reached only once every reference is attached or detached (see
//! `waiter/block.rs`).

use std::fmt;
use std::future::Future;
use std::time::Duration;

use fleet_core::{
    Image, ImageState, Ip, IpState, PrivateNic, PrivateNicState, SecurityGroup, SecurityGroupState,
    Server, ServerAction, ServerActionRequest, ServerState, Snapshot, SnapshotState, Task, Volume,
    VolumeState, Zone,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::client::Client;
use crate::error::{Error, Result};

mod block;

/// What a waiter waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitTarget<S> {
    /// Any non-transient state.
    Terminal,
    /// This state.
    State(S),
    /// Any of these states.
    OneOf(Vec<S>),
    /// The resource is gone (GET answers 404).
    Gone,
}

impl<S: PartialEq> WaitTarget<S> {
    /// Whether the target names `state` itself (not just "terminal").
    fn names(&self, state: &S) -> bool {
        match self {
            WaitTarget::State(target) => target == state,
            WaitTarget::OneOf(targets) => targets.contains(state),
            WaitTarget::Terminal | WaitTarget::Gone => false,
        }
    }

    fn matches(&self, state: &S, transient: bool) -> bool {
        match self {
            WaitTarget::Terminal => !transient,
            WaitTarget::State(target) => target == state,
            WaitTarget::OneOf(targets) => targets.contains(state),
            WaitTarget::Gone => false,
        }
    }
}

impl<S: fmt::Debug> WaitTarget<S> {
    fn describe(&self) -> String {
        match self {
            WaitTarget::Terminal => "a terminal state".to_owned(),
            WaitTarget::State(s) => format!("{s:?}"),
            WaitTarget::OneOf(states) => format!("one of {states:?}"),
            WaitTarget::Gone => "deletion (404)".to_owned(),
        }
    }
}

/// Pacing, deadline and cancellation of a wait.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// Gives up after this long.
    pub timeout: Duration,
    /// Interval after the first poll.
    pub initial_interval: Duration,
    /// Growth factor of the interval (≥ 1).
    pub multiplier: f64,
    /// Longest interval.
    pub max_interval: Duration,
    /// A terminal non-target state seen within this time of the start does
    /// not fail the wait yet (zero: fail at once).
    pub grace: Duration,
    /// Stops the wait; the client's own token (if any) also does.
    pub cancel: Option<CancellationToken>,
}

impl Default for WaitOptions {
    /// 5 minutes (the SDKs' default), polls after 100 ms, ×1.5, capped at
    /// 5 s (the Go SDK's fixed interval), no grace.
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(300),
            initial_interval: Duration::from_millis(100),
            multiplier: 1.5,
            max_interval: Duration::from_secs(5),
            grace: Duration::ZERO,
            cancel: None,
        }
    }
}

impl WaitOptions {
    /// Default pacing with this timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        WaitOptions {
            timeout,
            ..WaitOptions::default()
        }
    }
}

/// A wait that did not reach its target.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WaitError {
    /// A terminal state other than the target was reached.
    #[error(
        "{resource} {id} reached {state:?} while waiting for {target}; states seen: {history:?}"
    )]
    UnexpectedState {
        /// e.g. `instance_server`.
        resource: &'static str,
        /// The resource id.
        id: String,
        /// What was awaited.
        target: String,
        /// The terminal state reached.
        state: String,
        /// Distinct consecutive states seen, oldest first.
        history: Vec<String>,
    },
    /// The resource answered 404 while the target was a state.
    #[error("{resource} {id} disappeared while waiting for {target}; states seen: {history:?}")]
    Vanished {
        /// e.g. `instance_server`.
        resource: &'static str,
        /// The resource id.
        id: String,
        /// What was awaited.
        target: String,
        /// Distinct consecutive states seen, oldest first.
        history: Vec<String>,
    },
    /// The timeout passed.
    #[error("{resource} {id} did not reach {target} within {timeout:?}; states seen: {history:?}")]
    Deadline {
        /// e.g. `instance_server`.
        resource: &'static str,
        /// The resource id.
        id: String,
        /// What was awaited.
        target: String,
        /// The timeout.
        timeout: Duration,
        /// Distinct consecutive states seen, oldest first.
        history: Vec<String>,
    },
}

impl WaitError {
    /// The states observed before the wait ended.
    pub fn history(&self) -> &[String] {
        match self {
            WaitError::UnexpectedState { history, .. }
            | WaitError::Vanished { history, .. }
            | WaitError::Deadline { history, .. } => history,
        }
    }

    /// Only a deadline is worth waiting again for.
    pub fn retryable(&self) -> bool {
        matches!(self, WaitError::Deadline { .. })
    }
}

impl From<WaitError> for Error {
    fn from(error: WaitError) -> Self {
        Error::Wait(Box::new(error))
    }
}

/// The end of a successful wait.
#[derive(Debug, Clone, PartialEq)]
pub struct Waited<T> {
    /// The resource as last seen; `None` when the target was
    /// [`WaitTarget::Gone`].
    pub resource: Option<T>,
    /// Distinct consecutive states seen, oldest first.
    pub history: Vec<String>,
    /// GETs made.
    pub polls: u32,
    /// Time spent.
    pub elapsed: Duration,
}

/// What holds a resource, as far as a waiter is concerned (a Block
/// volume's references to the servers that use it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holds {
    /// Nothing holds it, or every hold is settled (attached or detached).
    Settled,
    /// A hold is still changing (attaching, detaching, …): no target is
    /// reached yet.
    Changing,
    /// A hold failed (a reference in `error`): the wait fails.
    Failed,
}

/// How a waiter reads a polled resource.
pub(crate) trait Polled {
    /// The state a [`WaitTarget`] names.
    type State: PartialEq + fmt::Debug;

    /// The current state.
    fn state(&self) -> Self::State;

    /// Whether `state` is one something is still happening in.
    fn transient(state: &Self::State) -> bool;

    /// Whether `state` is a failure that ends the wait at once, even with
    /// [`WaitTarget::Terminal`], unless the target names it.
    fn failed(_state: &Self::State) -> bool {
        false
    }

    /// The holds on the resource.
    fn holds(&self) -> Holds {
        Holds::Settled
    }

    /// The resource as one entry of the state history.
    fn describe(&self) -> String;
}

/// Implements [`Polled`] for Instance resources: a `state` field whose
/// type has `is_transient()`, no failure state, no holds.
macro_rules! polled_by_state {
    ($($resource:ty: $state:ty;)*) => {
        $(
            impl Polled for $resource {
                type State = $state;

                fn state(&self) -> $state {
                    self.state.clone()
                }

                fn transient(state: &$state) -> bool {
                    state.is_transient()
                }

                fn describe(&self) -> String {
                    self.state.as_str().to_owned()
                }
            }
        )*
    };
}

polled_by_state! {
    Server: ServerState;
    Volume: VolumeState;
    Snapshot: SnapshotState;
    Image: ImageState;
    Ip: IpState;
    PrivateNic: PrivateNicState;
    SecurityGroup: SecurityGroupState;
}

/// What one poll says about a wait.
enum Verdict {
    /// The target is reached.
    Reached,
    /// Poll again.
    Pending,
    /// A terminal state that is not the target, or a failure.
    Unexpected,
}

/// Judges the resource as polled `elapsed` into the wait.
fn judge<T: Polled>(
    item: &T,
    target: &WaitTarget<T::State>,
    options: &WaitOptions,
    elapsed: Duration,
) -> Verdict {
    let state = item.state();
    let holds = item.holds();
    if holds == Holds::Failed || (T::failed(&state) && !target.names(&state)) {
        return Verdict::Unexpected;
    }
    let transient = T::transient(&state) || holds == Holds::Changing;
    if holds == Holds::Settled && target.matches(&state, transient) {
        return Verdict::Reached;
    }
    if !transient && elapsed >= options.grace {
        return Verdict::Unexpected;
    }
    Verdict::Pending
}

/// The polling loop shared by every waiter.
pub(crate) async fn wait_for<T, F, Fut>(
    client: &Client,
    resource: &'static str,
    id: &str,
    target: &WaitTarget<T::State>,
    options: &WaitOptions,
    mut fetch: F,
) -> Result<Waited<T>>
where
    T: Polled,
    F: FnMut(Client) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let cancel = options.cancel.clone().unwrap_or_default();
    let started = Instant::now();
    let mut history: Vec<String> = Vec::new();
    let mut polls = 0u32;
    let mut interval = options.initial_interval;
    loop {
        polls += 1;
        let polled = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(Error::Cancelled),
            polled = tokio::time::timeout_at(started + options.timeout, fetch(client.clone())) => polled,
        };
        let deadline = |history: Vec<String>| -> Error {
            WaitError::Deadline {
                resource,
                id: id.to_owned(),
                target: target.describe(),
                timeout: options.timeout,
                history,
            }
            .into()
        };
        let Ok(polled) = polled else {
            return Err(deadline(history));
        };
        match polled {
            Ok(item) => {
                let name = item.describe();
                if history.last() != Some(&name) {
                    history.push(name.clone());
                }
                match judge(&item, target, options, started.elapsed()) {
                    Verdict::Reached => {
                        return Ok(Waited {
                            resource: Some(item),
                            history,
                            polls,
                            elapsed: started.elapsed(),
                        });
                    }
                    Verdict::Unexpected => {
                        return Err(WaitError::UnexpectedState {
                            resource,
                            id: id.to_owned(),
                            target: target.describe(),
                            state: name,
                            history,
                        }
                        .into());
                    }
                    Verdict::Pending => {}
                }
            }
            Err(error) if error.is_not_found() => {
                if matches!(target, WaitTarget::Gone) {
                    history.push("gone".to_owned());
                    return Ok(Waited {
                        resource: None,
                        history,
                        polls,
                        elapsed: started.elapsed(),
                    });
                }
                return Err(WaitError::Vanished {
                    resource,
                    id: id.to_owned(),
                    target: target.describe(),
                    history,
                }
                .into());
            }
            Err(error) => return Err(error),
        }
        let elapsed = started.elapsed();
        if elapsed >= options.timeout {
            return Err(deadline(history));
        }
        let sleep = interval.min(options.timeout - elapsed);
        tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(Error::Cancelled),
            slept = client.sleep(sleep) => slept?,
        }
        interval = interval
            .mul_f64(options.multiplier.max(1.0))
            .min(options.max_interval.max(options.initial_interval));
    }
}

/// What a task pointed at, in the state its waiter ended in.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    /// A server action: the server in a terminal state, or `None` when it
    /// was terminated (404).
    Server(Option<Box<Server>>),
    /// A backup: the image it creates.
    Image(Box<Image>),
    /// A snapshot create or export: the snapshot.
    Snapshot(Box<Snapshot>),
    /// A volume.
    Volume(Box<Volume>),
    /// The task was already finished, or names nothing this client can
    /// poll (tasks are deprecated "fake tasks" and have no endpoint).
    Task(Box<Task>),
}

/// The expected end state of a server action, for
/// [`Client::server_action_and_wait`].
pub fn action_target(action: &ServerAction) -> WaitTarget<ServerState> {
    match action {
        ServerAction::Poweron | ServerAction::Reboot => WaitTarget::State(ServerState::Running),
        ServerAction::Poweroff => WaitTarget::State(ServerState::Stopped),
        ServerAction::StopInPlace => WaitTarget::State(ServerState::StoppedInPlace),
        ServerAction::Terminate => WaitTarget::Gone,
        _ => WaitTarget::Terminal,
    }
}

/// Declares one `wait_…` method per pollable resource: its path
/// parameters (the last one is the id errors name), the resource and
/// state types, the GET that polls it and the resource name errors carry.
/// The resource type says how it is read ([`Polled`]).
macro_rules! waiters {
    ($(
        $(#[$attr:meta])*
        $name:ident($($param:ident),+) -> $resource:ty [$state:ty] = $get:ident, $kind:expr;
    )*) => {
        impl $crate::client::Client {
            $(
                $(#[$attr])*
                pub async fn $name(
                    &self,
                    zone: ::fleet_core::Zone,
                    $($param: &str,)+
                    target: $crate::waiter::WaitTarget<$state>,
                    options: &$crate::waiter::WaitOptions,
                ) -> $crate::error::Result<$crate::waiter::Waited<$resource>> {
                    let id = [$($param),+].last().copied().unwrap_or_default();
                    $(let $param = $param.to_owned();)+
                    $crate::waiter::wait_for(self, $kind, id, &target, options, |client| {
                        $(let $param = $param.clone();)+
                        async move { client.$get(zone, $(&$param),+).await }
                    })
                    .await
                }
            )*
        }
    };
}
use waiters;

waiters! {
    /// Waits for a server (states: `starting`/`stopping` are transient).
    wait_server(server_id) -> Server[ServerState] = get_server, "instance_server";
    /// Waits for a volume.
    wait_volume(volume_id) -> Volume[VolumeState] = get_volume, "instance_volume";
    /// Waits for a snapshot.
    wait_snapshot(snapshot_id) -> Snapshot[SnapshotState] = get_snapshot, "instance_snapshot";
    /// Waits for an image.
    wait_image(image_id) -> Image[ImageState] = get_image, "instance_image";
    /// Waits for a flexible IP (by id or address).
    wait_ip(ip) -> Ip[IpState] = get_ip, "instance_ip";
    /// Waits for a private NIC of a server.
    wait_private_nic(server_id, private_nic_id) -> PrivateNic[PrivateNicState]
        = get_private_nic, "instance_private_nic";
    /// Waits for a security group (`syncing` after rule changes).
    wait_security_group(security_group_id) -> SecurityGroup[SecurityGroupState]
        = get_security_group, "instance_security_group";
}

impl Client {
    /// Performs `action` on a server and waits for the state it leads to
    /// (see [`action_target`]); returns the task and the wait.
    pub async fn server_action_and_wait(
        &self,
        zone: Zone,
        server_id: &str,
        action: ServerAction,
        options: &WaitOptions,
    ) -> Result<(Task, Waited<Server>)> {
        let target = action_target(&action);
        let request = ServerActionRequest {
            action: Some(action),
            ..ServerActionRequest::default()
        };
        let task = self.server_action(zone, server_id, &request).await?;
        let waited = self.wait_server(zone, server_id, target, options).await?;
        Ok((task, waited))
    }

    /// Waits for what a task stands for. Tasks are deprecated and have no
    /// endpoint, so the resource the task names is polled instead
    /// (`href_result`, else `href_from`: `/servers/{id}` → the server to a
    /// terminal state or 404, `/images/{id}` → the image, `snapshots/{id}`
    /// → the snapshot, `/volumes/{id}` → the volume, each to a terminal
    /// state). A task already `success`/`failure`, or naming nothing
    /// pollable (e.g. an S3 URL), is returned as it is.
    pub async fn wait_task(
        &self,
        zone: Zone,
        task: &Task,
        options: &WaitOptions,
    ) -> Result<TaskOutcome> {
        if task.status.is_known() && !task.status.is_transient() {
            return Ok(TaskOutcome::Task(Box::new(task.clone())));
        }
        let target = [task.href_result.as_str(), task.href_from.as_str()]
            .into_iter()
            .find_map(parse_href);
        match target {
            Some(("servers", id)) => {
                // A terminate ends in 404; any other action in a terminal state.
                let target = if task.description.contains("terminate") {
                    WaitTarget::Gone
                } else {
                    WaitTarget::Terminal
                };
                let waited = self.wait_server(zone, id, target, options).await?;
                Ok(TaskOutcome::Server(waited.resource.map(Box::new)))
            }
            Some(("images", id)) => {
                let waited = self
                    .wait_image(zone, id, WaitTarget::Terminal, options)
                    .await?;
                waited
                    .resource
                    .map(|r| TaskOutcome::Image(Box::new(r)))
                    .ok_or_else(|| Error::InvalidRequest("image vanished".to_owned()))
            }
            Some(("snapshots", id)) => {
                let waited = self
                    .wait_snapshot(zone, id, WaitTarget::Terminal, options)
                    .await?;
                waited
                    .resource
                    .map(|r| TaskOutcome::Snapshot(Box::new(r)))
                    .ok_or_else(|| Error::InvalidRequest("snapshot vanished".to_owned()))
            }
            Some(("volumes", id)) => {
                let waited = self
                    .wait_volume(zone, id, WaitTarget::Terminal, options)
                    .await?;
                waited
                    .resource
                    .map(|r| TaskOutcome::Volume(Box::new(r)))
                    .ok_or_else(|| Error::InvalidRequest("volume vanished".to_owned()))
            }
            _ => Ok(TaskOutcome::Task(Box::new(task.clone()))),
        }
    }
}

/// `"/servers/<id>"`, `"snapshots/<id>"`, `"/snapshots/<id>/export"` →
/// (`collection`, `id`); `None` for URLs and anything else.
fn parse_href(href: &str) -> Option<(&'static str, &str)> {
    if href.contains("://") {
        return None;
    }
    let mut parts = href.trim_start_matches('/').split('/');
    let collection = parts.next()?;
    let id = parts.next().filter(|id| !id.is_empty())?;
    ["servers", "images", "snapshots", "volumes"]
        .into_iter()
        .find(|c| *c == collection)
        .map(|c| (c, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs() {
        assert_eq!(parse_href("/servers/abc"), Some(("servers", "abc")));
        assert_eq!(parse_href("snapshots/abc"), Some(("snapshots", "abc")));
        assert_eq!(
            parse_href("/snapshots/abc/export"),
            Some(("snapshots", "abc"))
        );
        assert_eq!(parse_href("https://s3.fr-par.scw.cloud/b/k"), None);
        assert_eq!(parse_href(""), None);
        assert_eq!(parse_href("/servers/"), None);
    }

    #[test]
    fn targets_match() {
        assert!(WaitTarget::Terminal.matches(&ServerState::Running, false));
        assert!(!WaitTarget::Terminal.matches(&ServerState::Starting, true));
        assert!(WaitTarget::State(ServerState::Stopped).matches(&ServerState::Stopped, false));
        assert!(!WaitTarget::<ServerState>::Gone.matches(&ServerState::Stopped, false));
        assert_eq!(action_target(&ServerAction::Terminate), WaitTarget::Gone);
    }
}
