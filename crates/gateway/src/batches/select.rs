//! A batch's selection: the selector's offline checks and its resolution, once, at create,
//! through the gateway's own List path (`ListServers` or `ListVolumes`, every zone for
//! `zone = "all"`, the caller's project scope applied by the workers).
//!
//! Volume actions on a server selection act on each server's volumes: every one but scratch
//! (which has no snapshot), and for a block migration its `b_ssd` ones (the only type that
//! migrates).

use fleet_core::VolumeServerVolumeType;
use fleet_proto::v1;
use serde_json::{Value, json};

use super::{BatchAction, ChildTarget};
use crate::auth::Caller;
use crate::call::Api;
use crate::errors::GatewayError;
use crate::request::known_zone;

const LIST_SERVERS: &str = "fleet.v1.Servers/ListServers";
const LIST_VOLUMES: &str = "fleet.v1.Volumes/ListVolumes";

/// One child of a resolved selection.
#[derive(Debug, Clone)]
pub(crate) struct Selected {
    pub zone: String,
    pub target: ChildTarget,
    pub name: String,
    pub state: String,
    pub project: Option<String>,
}

fn selects_volumes(selector: &v1::BatchSelector) -> bool {
    selector.target == v1::BatchTarget::Volumes as i32
}

/// The selector's checks that need no caller and no database, given the action.
pub fn check_selector(
    selector: &v1::BatchSelector,
    action: &BatchAction,
) -> Result<(), GatewayError> {
    selector_zones(selector)?;
    if v1::BatchTarget::try_from(selector.target).is_err() {
        return Err(GatewayError::invalid(
            "selector.target",
            format!("must be SERVERS or VOLUMES; got {}", selector.target),
        ));
    }
    let (refused, what): (&[(&str, bool)], &str) = if selects_volumes(selector) {
        (
            &[
                ("state", !selector.state.is_empty()),
                ("commercial_type", !selector.commercial_type.is_empty()),
                ("server_ids", !selector.server_ids.is_empty()),
            ],
            "a volume selection",
        )
    } else {
        (
            &[
                ("volume_type", !selector.volume_type.is_empty()),
                ("volume_ids", !selector.volume_ids.is_empty()),
            ],
            "a server selection (set target VOLUMES)",
        )
    };
    if let Some((field, _)) = refused.iter().find(|(_, set)| *set) {
        return Err(GatewayError::invalid(
            format!("selector.{field}"),
            format!("does not apply to {what}"),
        ));
    }
    if selects_volumes(selector)
        && let BatchAction::Snapshot {
            root_only: true, ..
        } = action
    {
        return Err(GatewayError::invalid(
            "action.snapshot.root_volume_only",
            "applies to a server selection: a volume selection names its volumes",
        ));
    }
    if selects_volumes(selector) && !action.on_volumes() {
        return Err(GatewayError::invalid(
            "action",
            format!(
                "{} acts on servers; a volume selection takes snapshot or \
                 apply_block_migration",
                action.label()
            ),
        ));
    }
    Ok(())
}

/// The zones a selector names (`zone`, `"all"`, or `zones`), checked.
fn selector_zones(selector: &v1::BatchSelector) -> Result<Vec<&str>, GatewayError> {
    let zones: Vec<&str> = match (selector.zone.as_str(), selector.zones.as_slice()) {
        ("", []) => {
            return Err(GatewayError::invalid(
                "selector.zone",
                "required: a zone, \"all\", or zones",
            ));
        }
        ("", zones) => zones.iter().map(String::as_str).collect(),
        (zone, []) => vec![zone],
        (_, _) => {
            return Err(GatewayError::invalid(
                "selector.zones",
                "give zone or zones, not both",
            ));
        }
    };
    for (i, zone) in zones.iter().enumerate() {
        let all_alone = *zone == "all" && zones.len() == 1;
        if zones[..i].contains(zone) {
            return Err(GatewayError::invalid(
                format!("selector.zones[{i}]"),
                format!("zone {zone} is named twice"),
            ));
        }
        if !all_alone && !known_zone(zone) {
            let field = if selector.zones.is_empty() {
                "selector.zone".to_owned()
            } else {
                format!("selector.zones[{i}]")
            };
            return Err(GatewayError::invalid(
                field,
                format!("must be a zone or \"all\"; got {zone:?}"),
            ));
        }
    }
    Ok(zones)
}

/// The List request of one zone of a selector.
fn list_query(zone: &str, selector: &v1::BatchSelector) -> Value {
    let mut query = json!({ "zone": zone, "page_size": crate::paging::MAX_PAGE_SIZE });
    let volumes = selects_volumes(selector);
    let fields = [
        ("project", &selector.project),
        ("name", &selector.name_prefix),
        ("state", &selector.state),
        ("commercial_type", &selector.commercial_type),
        ("volume_type", &selector.volume_type),
    ];
    if let Value::Object(map) = &mut query {
        for (key, value) in fields {
            if !value.is_empty() {
                map.insert(key.into(), json!(value));
            }
        }
        if !selector.tags.is_empty() {
            map.insert("tags".into(), json!(selector.tags));
        }
        if !volumes && !selector.server_ids.is_empty() {
            map.insert("servers".into(), json!(selector.server_ids));
        }
    }
    query
}

fn text(item: &Value, key: &str) -> String {
    item.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Whether `item` carries every tag (whatever the upstream filter's semantics).
fn has_tags(item: &Value, tags: &[String]) -> bool {
    let carried: Vec<&str> = item
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    tags.iter().all(|t| carried.contains(&t.as_str()))
}

/// The children the selector names for `action`, in list order (zone by zone; a server's
/// volumes in slot order); refused when there is none.
pub(super) async fn resolve(
    api: &Api,
    caller: &Caller,
    selector: &v1::BatchSelector,
    action: &BatchAction,
) -> Result<Vec<Selected>, GatewayError> {
    let selected = resolve_all(api, caller, selector, action).await?;
    if selected.is_empty() {
        return Err(GatewayError::invalid(
            "selector",
            format!(
                "matches no {}: a batch needs at least one",
                if selects_volumes(selector) || action.on_volumes() {
                    "volume"
                } else {
                    "server"
                }
            ),
        ));
    }
    Ok(selected)
}

/// The children the selector names for `action` (see [`resolve`]), none included.
pub(crate) async fn resolve_all(
    api: &Api,
    caller: &Caller,
    selector: &v1::BatchSelector,
    action: &BatchAction,
) -> Result<Vec<Selected>, GatewayError> {
    let zones = selector_zones(selector)?;
    let volumes = selects_volumes(selector);
    let (method, ids, ids_field, noun) = if volumes {
        (LIST_VOLUMES, &selector.volume_ids, "volume_ids", "volume")
    } else {
        (LIST_SERVERS, &selector.server_ids, "server_ids", "server")
    };
    let mut items = Vec::new();
    for zone in &zones {
        items.extend(
            api.list_every(method, caller, list_query(zone, selector))
                .await?
                .into_iter()
                .map(|item| (*zone, item)),
        );
    }
    let matching: Vec<(&str, &Value)> = items
        .iter()
        .map(|(zone, item)| (*zone, item))
        // The upstream name filter matches anywhere in the name; the selector's is a prefix.
        .filter(|(_, item)| text(item, "name").starts_with(&selector.name_prefix))
        .filter(|(_, item)| has_tags(item, &selector.tags))
        .filter(|(_, item)| ids.is_empty() || ids.contains(&text(item, "id")))
        .collect();
    if let Some(missing) = ids
        .iter()
        .find(|id| !matching.iter().any(|(_, item)| text(item, "id") == **id))
    {
        return Err(GatewayError::invalid(
            format!("selector.{ids_field}"),
            format!(
                "no {noun} {missing} matches the selector in {}",
                zones.join(", ")
            ),
        ));
    }
    let mut selected = Vec::new();
    for (zone, item) in matching {
        let zone = Some(text(item, "zone"))
            .filter(|z| !z.is_empty())
            .unwrap_or_else(|| zone.to_owned());
        let project = Some(text(item, "project")).filter(|p| !p.is_empty());
        if volumes {
            let server = item.get("server").map(|s| text(s, "id"));
            selected.push(Selected {
                zone,
                target: ChildTarget::Volume {
                    id: text(item, "id"),
                    server: server.filter(|s| !s.is_empty()),
                },
                name: text(item, "name"),
                state: text(item, "state"),
                project,
            });
        } else if action.on_volumes() {
            selected.extend(server_volumes(item, action, &zone, project));
        } else {
            selected.push(Selected {
                zone,
                target: ChildTarget::Server(text(item, "id")),
                name: text(item, "name"),
                state: text(item, "state"),
                project,
            });
        }
    }
    Ok(selected)
}

/// The volumes of a listed server a volume action acts on, in slot order. A volume without a
/// name is named after its server and slot (`web-1-0`).
fn server_volumes(
    server: &Value,
    action: &BatchAction,
    zone: &str,
    project: Option<String>,
) -> Vec<Selected> {
    let server_id = text(server, "id");
    let server_name = text(server, "name");
    let mut slots: Vec<(u32, &Value)> = server
        .get("volumes")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(slot, v)| (slot.parse().unwrap_or(u32::MAX), v))
                .collect()
        })
        .unwrap_or_default();
    slots.sort_by_key(|(slot, _)| *slot);
    slots
        .into_iter()
        .filter(|(slot, v)| {
            let kind = VolumeServerVolumeType::from(text(v, "volume_type"));
            match action {
                // b_ssd is the only type a block migration moves to SBS.
                BatchAction::BlockMigration => kind == VolumeServerVolumeType::BSsd,
                BatchAction::Snapshot {
                    root_only: true, ..
                } => *slot == 0 && kind != VolumeServerVolumeType::Scratch,
                _ => kind != VolumeServerVolumeType::Scratch,
            }
        })
        .map(|(slot, v)| Selected {
            zone: zone.to_owned(),
            target: ChildTarget::Volume {
                id: text(v, "id"),
                server: Some(server_id.clone()),
            },
            name: Some(text(v, "name"))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("{server_name}-{slot}")),
            state: text(v, "state"),
            project: project.clone(),
        })
        .collect()
}
