//! FLAT (simSDT) compositions <-> [`Instance`].
//!
//! A FLAT key is `tree_id/node:N/node|field`; the template index turns the
//! path part into an instance path and back, the `|field` suffix is the
//! leaf field (no suffix: the plain value).

use serde_json::{Map, Value};

use super::instance::{Instance, Leaf};
use super::openehr_path::InstancePath;
use super::template_index::TemplateIndex;
use crate::translation::Unmapped;

/// Largest accepted number of FLAT entries.
pub const MAX_FLAT_ENTRIES: usize = 100_000;

/// Reads a FLAT composition. Keys the template does not know are returned
/// as unmapped (by key, never value).
pub fn from_flat(flat: &Map<String, Value>, index: &TemplateIndex) -> (Instance, Vec<Unmapped>) {
    let mut inst = Instance::default();
    let mut unmapped = Vec::new();
    for (key, value) in flat.iter().take(MAX_FLAT_ENTRIES) {
        let (path_part, field) = key.split_once('|').unwrap_or((key.as_str(), ""));
        let Some(path) = index.instance_path(path_part) else {
            unmapped.push(Unmapped {
                location: key.clone(),
                reason: "FLAT path not in template".to_owned(),
            });
            continue;
        };
        let rm = rm_type_for(index, &path, field);
        let mut leaf = Leaf {
            rm_type: rm,
            ..Leaf::default()
        };
        leaf.fields.insert(field.to_owned(), value.clone());
        inst.put(path, leaf);
    }
    if flat.len() > MAX_FLAT_ENTRIES {
        unmapped.push(Unmapped {
            location: "(FLAT)".to_owned(),
            reason: "too many entries; rest not read".to_owned(),
        });
    }
    (inst, unmapped)
}

/// The RM type of a leaf read from FLAT: the template's, else what the
/// field implies.
fn rm_type_for(index: &TemplateIndex, path: &InstancePath, field: &str) -> Option<String> {
    if let Some(n) = index.node(&path.aql()) {
        let coded = matches!(field, "code" | "terminology");
        if coded {
            if let Some(t) = n.value_types.iter().find(|t| *t == "DV_CODED_TEXT") {
                return Some(t.clone());
            }
        }
        if let Some(t) = n.value_types.first() {
            return Some(t.clone());
        }
    }
    let last = path.0.last().map(|s| s.attr.as_str()).unwrap_or("");
    Some(
        match (last, field) {
            (_, "magnitude" | "unit") => "DV_QUANTITY",
            (_, "code" | "terminology") => "DV_CODED_TEXT",
            ("time" | "start_time" | "end_time" | "_end_time" | "origin", _) => "DV_DATE_TIME",
            ("width", _) => "DV_DURATION",
            _ => "DV_TEXT",
        }
        .to_owned(),
    )
}

/// Writes an instance as FLAT.
pub fn to_flat(inst: &Instance, index: &TemplateIndex) -> Map<String, Value> {
    let mut out = Map::new();
    for (path, leaf) in &inst.leaves {
        let base = index.flat_path(path);
        for (field, v) in &leaf.fields {
            let key = if field.is_empty() {
                base.clone()
            } else {
                format!("{base}|{field}")
            };
            out.insert(key, v.clone());
        }
    }
    out
}
