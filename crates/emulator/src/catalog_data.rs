//! The static catalogue: instance types (specs, prices, volume constraints),
//! their per-zone availability, volume types, public images with their
//! labels, and the size of the SBS root a server gets from an image. The facts come from the recorded cassettes
//! (`scripts/extract_catalog.py` writes `data/*.json`); zones that were never
//! recorded reuse `fr-par-1`'s offer.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Zone whose recorded offer stands in for unrecorded zones.
const REFERENCE_ZONE: &str = "fr-par-1";

/// Errors loading the embedded data (only possible if a data file is corrupt).
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A data file is not the expected JSON.
    #[error("embedded catalogue file {file} is invalid: {reason}")]
    Invalid {
        /// Which file.
        file: &'static str,
        /// Why.
        reason: String,
    },
}

/// A public image label row: which image a label resolves to.
#[derive(Debug, Clone)]
pub struct LabelRow {
    /// e.g. `ubuntu_noble`.
    pub label: String,
    /// Zone.
    pub zone: String,
    /// `x86_64` or `arm64`.
    pub arch: String,
    /// `instance_sbs` or `instance_local`.
    pub kind: String,
    /// Image id.
    pub id: String,
    /// Commercial types the image supports.
    pub compatible: Vec<String>,
}

/// The loaded catalogue.
#[derive(Debug)]
pub struct Catalog {
    server_types: HashMap<String, Vec<(String, Value)>>,
    availability: HashMap<String, Map<String, Value>>,
    volume_types: Vec<(String, Value)>,
    images: HashMap<String, Value>,
    labels: Vec<LabelRow>,
    sbs_root_sizes: HashMap<String, u64>,
}

fn parse(file: &'static str, text: &str) -> Result<Value, CatalogError> {
    serde_json::from_str(text).map_err(|e| CatalogError::Invalid {
        file,
        reason: e.to_string(),
    })
}

fn obj(file: &'static str, v: Value) -> Result<Map<String, Value>, CatalogError> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(CatalogError::Invalid {
            file,
            reason: "expected an object".into(),
        }),
    }
}

impl Catalog {
    /// Parse the embedded data files.
    pub fn load() -> Result<Self, CatalogError> {
        let types = obj(
            "server_types.json",
            parse(
                "server_types.json",
                include_str!("../data/server_types.json"),
            )?,
        )?;
        let mut server_types = HashMap::new();
        for (zone, m) in types {
            let m = obj("server_types.json", m)?;
            server_types.insert(zone, m.into_iter().collect::<Vec<_>>());
        }
        let avail = obj(
            "availability.json",
            parse(
                "availability.json",
                include_str!("../data/availability.json"),
            )?,
        )?;
        let mut availability = HashMap::new();
        for (zone, m) in avail {
            availability.insert(zone, obj("availability.json", m)?);
        }
        let vt = obj(
            "volume_types.json",
            parse(
                "volume_types.json",
                include_str!("../data/volume_types.json"),
            )?,
        )?;
        let volume_types = vt
            .get(REFERENCE_ZONE)
            .and_then(Value::as_object)
            .map(|m| m.clone().into_iter().collect())
            .unwrap_or_default();
        let imgs = obj(
            "images.json",
            parse("images.json", include_str!("../data/images.json"))?,
        )?;
        let mut images = HashMap::new();
        for im in imgs
            .get("images")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(id) = im.get("id").and_then(Value::as_str) {
                images.insert(id.to_owned(), im.clone());
            }
        }
        let s = |v: &Value, k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let labels = imgs
            .get("labels")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|r| LabelRow {
                label: s(r, "label"),
                zone: s(r, "zone"),
                arch: s(r, "arch"),
                kind: s(r, "type"),
                id: s(r, "id"),
                compatible: r
                    .get("compatible_commercial_types")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            })
            .collect();
        let sbs_root_sizes = obj(
            "sbs_root_sizes.json",
            parse(
                "sbs_root_sizes.json",
                include_str!("../data/sbs_root_sizes.json"),
            )?,
        )?
        .into_iter()
        .filter_map(|(name, size)| Some((name, size.as_u64()?)))
        .collect();
        Ok(Self {
            server_types,
            availability,
            volume_types,
            images,
            labels,
            sbs_root_sizes,
        })
    }

    /// The size of the SBS root a server made from the public image `name`
    /// gets when no size is asked (the image's snapshot size, which the
    /// Instance API shows as 0): recorded for a few images (Windows 25 GB,
    /// GPU OS 20 GB), `None` for the others.
    pub fn sbs_root_size(&self, image_name: &str) -> Option<u64> {
        self.sbs_root_sizes.get(image_name).copied()
    }

    /// Instance types offered in a zone, sorted by name.
    pub fn server_types(&self, zone: &str) -> &[(String, Value)] {
        self.server_types
            .get(zone)
            .or_else(|| self.server_types.get(REFERENCE_ZONE))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// One instance type; types recorded only in the reference zone are
    /// accepted everywhere (recordings of other zones are partial).
    pub fn server_type(&self, zone: &str, name: &str) -> Option<&Value> {
        let find = |z: &str| {
            self.server_types(z)
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v)
        };
        find(zone).or_else(|| find(REFERENCE_ZONE))
    }

    /// Availability of every type of the zone (`available` unless recorded otherwise).
    pub fn availability(&self, zone: &str) -> Vec<(String, Value)> {
        let recorded = self.availability.get(zone);
        self.server_types(zone)
            .iter()
            .map(|(name, _)| {
                let v = recorded
                    .and_then(|m| m.get(name))
                    .cloned()
                    .unwrap_or_else(|| serde_json::json!({"availability": "available"}));
                (name.clone(), v)
            })
            .collect()
    }

    /// Volume types (`l_ssd`, `scratch`).
    pub fn volume_types(&self) -> &[(String, Value)] {
        &self.volume_types
    }

    /// `(min, max)` size constraint of a volume type.
    pub fn volume_type_bounds(&self, kind: &str) -> Option<(u64, u64)> {
        let v = self
            .volume_types
            .iter()
            .find(|(n, _)| n == kind)?
            .1
            .get("constraints")?;
        Some((v.get("min")?.as_u64()?, v.get("max")?.as_u64()?))
    }

    /// A public image by id in a zone.
    pub fn public_image(&self, zone: &str, id: &str) -> Option<&Value> {
        self.images
            .get(id)
            .filter(|im| im.get("zone").and_then(Value::as_str) == Some(zone))
    }

    /// Public images of a zone.
    pub fn public_images(&self, zone: &str) -> Vec<&Value> {
        let mut v: Vec<&Value> = self
            .images
            .values()
            .filter(|im| im.get("zone").and_then(Value::as_str) == Some(zone))
            .collect();
        v.sort_by_key(|im| {
            im.get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        });
        v
    }

    /// Resolve a label (`ubuntu_noble`) for a zone and commercial type:
    /// prefer an SBS image when the type supports block storage, else the
    /// local one; the arch must match the type's.
    pub fn resolve_label(&self, zone: &str, label: &str, commercial_type: &str) -> Option<&Value> {
        let ty = self.server_type(zone, commercial_type);
        let arch = ty
            .and_then(|t| t.get("arch"))
            .and_then(Value::as_str)
            .unwrap_or("x86_64");
        let block = ty
            .and_then(|t| t.pointer("/capabilities/block_storage"))
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let order: [&str; 2] = if block {
            ["instance_sbs", "instance_local"]
        } else {
            ["instance_local", "instance_sbs"]
        };
        order.iter().find_map(|kind| {
            self.labels
                .iter()
                .find(|r| r.zone == zone && r.label == label && r.arch == arch && r.kind == *kind)
                .and_then(|r| self.images.get(&r.id))
        })
    }

    /// Every label row (for tests and docs).
    pub fn labels(&self) -> &[LabelRow] {
        &self.labels
    }
}
