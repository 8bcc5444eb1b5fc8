//! One resource as a writer reports it.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Kind;

/// What the inventory keeps of one resource, taken from the object fleet shows for it (the
/// Instance shape; for Block volumes and snapshots the unified one, with `api = "block"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub zone: String,
    pub kind: Kind,
    pub id: String,
    /// `instance` or `block`.
    pub api: String,
    pub project: String,
    pub name: String,
    pub state: String,
    pub commercial_type: Option<String>,
    pub volume_type: Option<String>,
    pub attached_to: Option<String>,
    pub tags: Vec<String>,
    pub body: Value,
    pub created_at: Option<OffsetDateTime>,
}

/// An object that cannot be an inventory row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} object has no string \"id\"")]
pub struct MissingId {
    pub kind: Kind,
}

impl Record {
    /// Reads the indexed fields of `body`, the object as fleet shows it for `kind`, and keeps
    /// the whole object beside them.
    pub fn from_body(zone: &str, kind: Kind, body: Value) -> Result<Record, MissingId> {
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
        let id = text("id").ok_or(MissingId { kind })?;
        let volume_type = match kind {
            Kind::Volume => text("volume_type"),
            Kind::Snapshot => text("volume_type"),
            _ => None,
        };
        let attached_to = match kind {
            Kind::Volume => body
                .get("server")
                .and_then(|server| server.get("id"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        };
        let tags = body
            .get("tags")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Record {
            zone: zone.to_owned(),
            kind,
            api: text("api").unwrap_or_else(|| "instance".to_owned()),
            project: text("project").unwrap_or_default(),
            name: text("name").unwrap_or_default(),
            state: text("state").unwrap_or_default(),
            commercial_type: (kind == Kind::Server)
                .then(|| text("commercial_type"))
                .flatten(),
            volume_type,
            attached_to,
            tags,
            created_at: text("creation_date")
                .and_then(|date| OffsetDateTime::parse(&date, &Rfc3339).ok()),
            id,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_server_keeps_its_type_tags_and_creation_date() {
        let body = json!({
            "id": "s-1", "name": "web-1", "project": "p-1", "state": "running",
            "commercial_type": "DEV1-S", "tags": ["web", "prod"],
            "creation_date": "2026-12-01T10:00:00.000000+00:00",
        });
        let record = Record::from_body("fr-par-1", Kind::Server, body.clone()).unwrap();
        assert_eq!(record.id, "s-1");
        assert_eq!(record.api, "instance");
        assert_eq!(record.commercial_type.as_deref(), Some("DEV1-S"));
        assert_eq!(record.tags, ["web", "prod"]);
        assert_eq!(
            record.created_at.map(|at| at.unix_timestamp()),
            Some(1_796_119_200)
        );
        assert_eq!(record.body, body);
    }

    #[test]
    fn a_block_volume_knows_its_api_and_server() {
        let body = json!({
            "id": "v-1", "api": "block", "volume_type": "sbs_volume", "state": "in_use",
            "server": {"id": "s-1", "name": "web-1"},
        });
        let record = Record::from_body("fr-par-1", Kind::Volume, body).unwrap();
        assert_eq!(record.api, "block");
        assert_eq!(record.volume_type.as_deref(), Some("sbs_volume"));
        assert_eq!(record.attached_to.as_deref(), Some("s-1"));
        assert_eq!(record.commercial_type, None);
    }

    #[test]
    fn a_detached_volume_has_no_server_and_no_id_is_refused() {
        let record = Record::from_body(
            "fr-par-1",
            Kind::Volume,
            json!({"id": "v-2", "server": null}),
        )
        .unwrap();
        assert_eq!(record.attached_to, None);
        assert_eq!(
            Record::from_body("fr-par-1", Kind::Ip, json!({"address": "1.2.3.4"})),
            Err(MissingId { kind: Kind::Ip })
        );
    }
}
