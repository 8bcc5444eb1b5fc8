//! The `backup` action: an image of the server's volumes, each snapshotted:
//! Instance volumes into Instance snapshots (`snapshotting` → `available`),
//! Block volumes into Block snapshots the image links at once (recorded:
//! `in_use`, and the image `available` at once when all are Block).

use std::collections::BTreeMap;

use fleet_core::ServerActionRequest;
use uuid::Uuid;

use super::Server;
use crate::errors::{ApiResult, ArgDetail, Error};
use crate::http::non_empty;
use crate::state::{Ctx, Event, Image, Snapshot, World, block, visible};
use crate::util::{backup_stamp, parse_uuid};

/// The backup type of a Block volume's snapshot.
const SBS_SNAPSHOT: &str = "sbs_snapshot";

/// `backup`: an image of the server's (non-scratch) volumes, each snapshotted.
pub(super) fn backup(
    w: &mut World,
    ctx: &Ctx,
    body: &ServerActionRequest,
    s: &Server,
) -> ApiResult<Uuid> {
    let name = non_empty(body.name.clone())
        .unwrap_or_else(|| format!("image_{}_{}", s.name, backup_stamp(ctx.now)));
    let selected: Option<Vec<(Uuid, Option<String>)>> = match &body.volumes {
        None => None,
        Some(o) => {
            let mut v = Vec::new();
            for (k, t) in o {
                let vid = parse_uuid(k).ok_or_else(|| {
                    Error::invalid(ArgDetail::format(
                        "volumes",
                        format!("{k:?} is not a volume UUID"),
                    ))
                })?;
                if !s.volumes.values().any(|x| *x == vid) {
                    return Err(Error::invalid(ArgDetail::constraint(
                        "volumes",
                        format!("volume {vid} is not attached to the server"),
                    )));
                }
                let vt = t
                    .volume_type
                    .as_ref()
                    .map(ToString::to_string)
                    .filter(|t| !t.is_empty());
                let block = w.block_volumes.contains_key(&vid);
                if vt.as_deref().is_some_and(|t| (t == SBS_SNAPSHOT) != block) {
                    return Err(Error::invalid(ArgDetail::constraint(
                        "volumes",
                        format!(
                            "volume {vid}: {SBS_SNAPSHOT} is the snapshot type of sbs_volume \
                             volumes, and only theirs"
                        ),
                    )));
                }
                v.push((vid, vt));
            }
            Some(v)
        }
    };
    let count = w.images.values().filter(|i| visible(ctx, &i.owner)).count();
    w.check_quota(ctx, "instance_images", count, w.quotas.images)?;
    let image_id = w.new_id();
    let t = w.transition;
    let mut root: Option<Uuid> = None;
    let mut extra: BTreeMap<String, Uuid> = BTreeMap::new();
    let mut n = 0u32;
    let mut local = false;
    for (_, vid) in s.volumes.iter() {
        let override_type = match &selected {
            Some(sel) => match sel.iter().find(|(id, _)| id == vid) {
                Some((_, t)) => t.clone(),
                None => continue,
            },
            None => None,
        };
        let snap_name = format!("{name}_snap_{n}");
        let sid = if w.block_volumes.contains_key(vid) {
            block::snapshots::create_for_backup(w, ctx, *vid, snap_name, image_id)
        } else {
            let sid = snapshot_local(w, ctx, s, *vid, snap_name, override_type);
            local |= sid.is_some();
            sid
        };
        let Some(sid) = sid else {
            continue;
        };
        n += 1;
        if root.is_none() {
            root = Some(sid);
        } else {
            extra.insert(extra.len().saturating_add(1).to_string(), sid);
        }
    }
    let Some(root) = root else {
        return Err(Error::precondition(
            "server has no volume that can be backed up",
        ));
    };
    let seq = w.next_seq();
    w.images.insert(
        image_id,
        Image {
            id: image_id,
            owner: s.owner.clone(),
            name,
            arch: s.arch.clone(),
            root,
            extra,
            public: false,
            from_server: s.id.to_string(),
            state: if local { "creating" } else { "available" }.into(),
            tags: Vec::new(),
            created: ctx.now,
            modified: ctx.now,
            seq,
        },
    );
    if local {
        w.schedule(ctx.instant, t, Event::ImageAvailable(image_id));
    }
    Ok(image_id)
}

/// The Instance snapshot of a (non-scratch) Instance volume for a backup,
/// `snapshotting` with its volume for a transition.
fn snapshot_local(
    w: &mut World,
    ctx: &Ctx,
    s: &Server,
    vid: Uuid,
    name: String,
    override_type: Option<String>,
) -> Option<Uuid> {
    let v = w.volumes.get(&vid).filter(|v| v.kind != "scratch")?.clone();
    let t = w.transition;
    let sid = w.new_id();
    let seq = w.next_seq();
    w.snapshots.insert(
        sid,
        Snapshot {
            id: sid,
            owner: s.owner.clone(),
            name,
            volume_type: override_type.unwrap_or_else(|| v.kind.clone()),
            size: v.size,
            state: "snapshotting".into(),
            base_volume: Some((v.id, v.name.clone())),
            tags: Vec::new(),
            created: ctx.now,
            modified: ctx.now,
            seq,
            error: None,
        },
    );
    w.schedule(ctx.instant, t, Event::SnapshotAvailable(sid));
    if let Some(vm) = w.volumes.get_mut(&vid) {
        vm.state = "snapshotting".into();
        vm.modified = ctx.now;
    }
    w.schedule(ctx.instant, t, Event::VolumeAvailable(vid));
    Some(sid)
}
