//! The action state machine: which actions a state allows, starting an
//! action, and applying its scheduled steps.

use std::time::{Instant, SystemTime};

use fleet_core::{
    ListServerActionsResponse, ServerAction, ServerActionRequest, ServerLocation, ServerState,
    TaskResponse,
};
use serde_json::Map;
use uuid::Uuid;

use super::{get, remove_server, shown_state};
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp};
use crate::state::{Ctx, Event, World, task};

/// A scheduled step of a server action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// `starting`, "provisioning node".
    Provisioning,
    /// → `running`.
    Running,
    /// → `stopped`.
    Stopped,
    /// → `stopped in place`.
    StoppedInPlace,
    /// Reboot: `stopping` → `starting`.
    RebootStarting,
    /// Terminate done: delete.
    Terminated,
}

const WHEN_STOPPED: &[ServerAction] = &[ServerAction::Poweron, ServerAction::Backup];
const WHEN_RUNNING: &[ServerAction] = &[
    ServerAction::Poweroff,
    ServerAction::Terminate,
    ServerAction::Reboot,
    ServerAction::StopInPlace,
    ServerAction::Backup,
];
const WHEN_TRANSIENT: &[ServerAction] = &[ServerAction::StopInPlace, ServerAction::Backup];
const WHEN_STOPPED_IN_PLACE: &[ServerAction] = &[
    ServerAction::Poweron,
    ServerAction::Poweroff,
    ServerAction::Terminate,
    ServerAction::Reboot,
    ServerAction::Backup,
];

/// Actions allowed in a state (as observed).
pub fn allowed_actions(state: &ServerState) -> &'static [ServerAction] {
    match state {
        ServerState::Stopped => WHEN_STOPPED,
        ServerState::Running => WHEN_RUNNING,
        ServerState::Starting | ServerState::Stopping => WHEN_TRANSIENT,
        ServerState::StoppedInPlace => WHEN_STOPPED_IN_PLACE,
        _ => &[],
    }
}

/// `GET servers/{id}/action`.
pub fn list(w: &World, ctx: &Ctx, id: Uuid) -> ApiResult<Resp> {
    let s = get(w, ctx, id)?;
    Ok(Resp::ok(ListServerActionsResponse {
        actions: allowed_actions(shown_state(w, s)).to_vec(),
        extra: Map::new(),
    }))
}

/// `POST servers/{id}/action`: start the action's state machine.
pub fn action(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid) -> ApiResult<Resp> {
    let body: ServerActionRequest = req.decode()?;
    let act = match body.action.clone() {
        None => ServerAction::Poweron,
        Some(ServerAction::Other(o)) if o.is_empty() => ServerAction::Poweron,
        Some(ServerAction::Other(o)) => {
            return Err(Error::invalid(ArgDetail::constraint(
                "action",
                format!("{o:?} is not a valid action"),
            )));
        }
        Some(a) => a,
    };
    let s = get(w, ctx, id)?.clone();
    let allowed = allowed_actions(&s.state).contains(&act) || act == ServerAction::EnableRoutedIp;
    if !allowed {
        if s.state.is_transient() {
            return Err(Error::transient_state(
                "instance_server",
                id.to_string(),
                s.state.as_str(),
            ));
        }
        let want = if act == ServerAction::Poweron {
            "stopped"
        } else {
            "running"
        };
        return Err(Error::precondition(format!("server should be {want}")));
    }
    let href_from = format!("/servers/{id}/action");
    let mut href_result = format!("/servers/{id}");
    let t = w.transition;
    let generation = s.generation + 1;
    let now = ctx.instant;
    let set = |w: &mut World, state: ServerState, detail: &str| {
        if let Some(s) = w.servers.get_mut(&id) {
            s.state = state;
            s.state_detail = detail.into();
            s.generation = generation;
            s.modified = ctx.now;
        }
    };
    let ev = |step| Event::Server {
        id,
        generation,
        step,
    };
    if act == ServerAction::Poweron
        && w.out_of_stock
            .contains(&(s.owner.zone.clone(), s.commercial_type.clone()))
    {
        return Err(Error::out_of_stock(&s.commercial_type));
    }
    match act {
        ServerAction::Poweron => {
            let detail = if s.state == ServerState::StoppedInPlace {
                "stopped in place"
            } else {
                "allocating node"
            };
            set(w, ServerState::Starting, detail);
            w.schedule(now, t / 2, ev(Step::Provisioning));
            w.schedule(now, t, ev(Step::Running));
        }
        ServerAction::Poweroff => {
            set(w, ServerState::Stopping, "stopping");
            w.schedule(now, t, ev(Step::Stopped));
        }
        ServerAction::StopInPlace => {
            set(w, ServerState::Stopping, "stopping in place");
            w.schedule(now, t, ev(Step::StoppedInPlace));
        }
        ServerAction::Reboot => {
            set(w, ServerState::Stopping, "rebooting");
            w.schedule(now, t / 2, ev(Step::RebootStarting));
            w.schedule(now, t, ev(Step::Running));
        }
        ServerAction::Terminate => {
            set(w, ServerState::Stopping, "terminating");
            for vid in s.volumes.values() {
                if let Some(v) = w.volumes.get_mut(vid)
                    && matches!(v.kind.as_str(), "l_ssd" | "scratch")
                {
                    v.state = "deleting".into();
                }
            }
            w.schedule(now, t, ev(Step::Terminated));
        }
        ServerAction::Backup => {
            let image_id = super::backup::backup(w, ctx, &body, &s)?;
            href_result = format!("/images/{image_id}");
        }
        ServerAction::EnableRoutedIp => {
            if s.routed_ip_enabled {
                return Err(Error::precondition("server is already using routed IPs"));
            }
            if let Some(s) = w.servers.get_mut(&id) {
                s.routed_ip_enabled = true;
                s.enable_ipv6 = false;
                s.modified = ctx.now;
            }
        }
        ServerAction::Other(_) => {}
    }
    let task = task(ctx, Uuid::nil(), "fake task", &href_from, &href_result);
    Ok(Resp::accepted(TaskResponse {
        task,
        extra: Map::new(),
    })
    .with_header("location", format!("/tasks/{}", Uuid::nil())))
}

/// The address of the `n`th dynamic IP.
pub(super) fn dynamic_address(n: u32) -> String {
    format!("51.15.{}.{}", (n >> 8) % 250 + 1, (n % 250) + 1)
}

/// Apply a scheduled server step.
pub fn apply_step(
    w: &mut World,
    id: Uuid,
    generation: u64,
    step: Step,
    now: Instant,
    wall: SystemTime,
) {
    let dyn_ip = {
        let n = w.next_counter();
        let r = w.random();
        (w.new_id(), dynamic_address(n), r)
    };
    let Some(s) = w.servers.get_mut(&id) else {
        return;
    };
    if s.generation != generation {
        return;
    }
    s.modified = wall;
    match step {
        Step::Provisioning => {
            if s.state_detail == "allocating node" {
                s.state_detail = "provisioning node".into();
            }
        }
        Step::RebootStarting => {
            s.state = ServerState::Starting;
            s.state_detail = "rebooting".into();
        }
        Step::Running => {
            s.state = ServerState::Running;
            s.state_detail = "booting kernel".into();
            let r = dyn_ip.2;
            s.location = Some(ServerLocation {
                zone_id: s.owner.zone.replace('-', "").chars().take(6).collect(),
                platform_id: format!("{}", 10 + r % 20),
                cluster_id: format!("{}", 1 + (r >> 8) % 100),
                hypervisor_id: format!("{}", 100 + (r >> 16) % 900),
                node_id: format!("{}", 1 + (r >> 24) % 60),
                extra: Map::new(),
            });
            if s.dynamic_ip_required && s.public_ips.is_empty() && s.dynamic_ip.is_none() {
                s.dynamic_ip = Some((dyn_ip.0, dyn_ip.1));
            }
        }
        Step::Stopped => {
            s.state = ServerState::Stopped;
            s.state_detail = String::new();
            s.location = None;
            s.dynamic_ip = None;
        }
        Step::StoppedInPlace => {
            s.state = ServerState::StoppedInPlace;
            s.state_detail = "stopped in place".into();
        }
        Step::Terminated => remove_server(w, id, true, now, wall),
    }
    if matches!(step, Step::Running | Step::Stopped) {
        crate::state::ips::settle_pending(w, id);
    }
}
