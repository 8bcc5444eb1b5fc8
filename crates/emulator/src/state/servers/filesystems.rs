//! Attaching and detaching filesystems (at once on a stopped server,
//! settled by a scheduled event on a running one).

use fleet_core::AttachServerFileSystemRequest;
use uuid::Uuid;

use super::{get_mut, wrap};
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::{Req, Resp, uuid_arg};
use crate::state::{Ctx, Event, World};

/// `POST servers/{id}/attach-filesystem` (`attach`) or `detach-filesystem`.
pub fn change(w: &mut World, ctx: &Ctx, req: &Req, id: Uuid, attach: bool) -> ApiResult<Resp> {
    // Attach and detach bodies are the same shape.
    let body: AttachServerFileSystemRequest = req.decode()?;
    let fs = uuid_arg(body.filesystem_id.as_deref(), "filesystem_id")?
        .ok_or_else(|| Error::invalid(ArgDetail::required("filesystem_id")))?
        .to_string();
    let t = w.transition;
    let s = get_mut(w, ctx, id)?;
    // Recorded: on a stopped server (no hypervisor to tell) an attach or
    // detach takes effect at once; a running one goes through
    // `attaching`/`detaching`.
    let at_once = s.state == fleet_core::ServerState::Stopped;
    let present = s.filesystems.iter().any(|(f, _)| *f == fs);
    if attach {
        if present {
            return Err(Error::invalid(ArgDetail::constraint(
                "filesystem_id",
                "filesystem is already attached",
            )));
        }
        let state = if at_once { "available" } else { "attaching" };
        s.filesystems.push((fs.clone(), state.into()));
    } else {
        if !present {
            return Err(Error::invalid(ArgDetail::constraint(
                "filesystem_id",
                "filesystem is not attached to this server",
            )));
        }
        for (f, st) in &mut s.filesystems {
            if *f == fs {
                *st = "detaching".into();
            }
        }
        if at_once {
            s.filesystems.retain(|(f, _)| *f != fs);
        }
    }
    s.modified = ctx.now;
    let s = s.clone();
    if at_once {
        return Ok(Resp::ok(wrap(w, &s)));
    }
    w.schedule(
        ctx.instant,
        t,
        Event::Filesystem {
            server: id,
            filesystem: fs,
        },
    );
    Ok(Resp::ok(wrap(w, &s)))
}
