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

/// The FLAT suffix of an open coded list's free text.
const OTHER: &str = "other";

/// Largest accepted number of FLAT entries.
pub const MAX_FLAT_ENTRIES: usize = 100_000;

/// Reads a FLAT composition. Keys the template does not know are returned
/// as unmapped (by key, never value).
///
/// A data value spreads over several keys (`…/test_name|code`, `|value`,
/// `|terminology`): the fields are gathered per path first and the RM type
/// is decided once from all of them, so a coded text stays coded whatever
/// the key order.
pub fn from_flat(flat: &Map<String, Value>, index: &TemplateIndex) -> (Instance, Vec<Unmapped>) {
    let mut inst = Instance::default();
    let mut unmapped = Vec::new();
    for (key, value) in flat.iter().take(MAX_FLAT_ENTRIES) {
        let (path_part, field) = key.split_once('|').unwrap_or((key.as_str(), ""));
        if let Some(path) = super::links::flat_instance_path(index, path_part) {
            let mut leaf = Leaf::new(super::links::LINK, []);
            leaf.fields.insert(field.to_owned(), value.clone());
            inst.put(path, leaf);
            continue;
        }
        let Some(path) = index.instance_path(path_part) else {
            unmapped.push(Unmapped {
                location: key.clone(),
                reason: "FLAT path not in template".to_owned(),
            });
            continue;
        };
        let mut leaf = Leaf::default();
        leaf.fields.insert(field.to_owned(), value.clone());
        inst.put(path, leaf);
    }
    for (path, leaf) in inst.leaves.iter_mut() {
        if leaf.rm_type.as_deref() == Some(super::links::LINK) {
            continue;
        }
        // `|other` is the text of an open coded list (a term outside the
        // list): a DV_TEXT, the coded text's parent type, not a code.
        if let Some(other) = leaf.fields.remove(OTHER) {
            leaf.fields.clear();
            leaf.fields.insert(String::new(), other);
            leaf.rm_type = Some("DV_TEXT".to_owned());
            continue;
        }
        leaf.rm_type = Some(rm_type_for(index, path, leaf).to_owned());
    }
    if flat.len() > MAX_FLAT_ENTRIES {
        unmapped.push(Unmapped {
            location: "(FLAT)".to_owned(),
            reason: "too many entries; rest not read".to_owned(),
        });
    }
    (inst, unmapped)
}

/// The RM type of a leaf read from FLAT: what its fields imply, among the
/// types the template allows at the node (a code in a node that takes a
/// `DV_TEXT` is a `DV_CODED_TEXT`, its subtype); the template's first type
/// for a plain value.
fn rm_type_for<'a>(index: &'a TemplateIndex, path: &InstancePath, leaf: &Leaf) -> &'a str {
    let has = |f: &str| leaf.fields.contains_key(f);
    let implied = if has("ordinal") {
        Some("DV_ORDINAL")
    } else if has("code") || has("terminology") {
        Some("DV_CODED_TEXT")
    } else if has("magnitude") || has("unit") {
        Some("DV_QUANTITY")
    } else if has("numerator") || has("denominator") {
        Some("DV_PROPORTION")
    } else if has("id") {
        Some("DV_IDENTIFIER")
    } else if has("mediatype") {
        Some("DV_MULTIMEDIA")
    } else {
        None
    };
    if let Some(n) = index.node(&path.aql()) {
        let allows = |t: &str| n.value_types.iter().any(|v| v == t);
        match implied {
            Some("DV_CODED_TEXT") if allows("DV_CODED_TEXT") || allows("DV_TEXT") => {
                return "DV_CODED_TEXT"
            }
            Some(t) if allows(t) => return t,
            _ => {}
        }
        if let Some(t) = n.value_types.first() {
            return t;
        }
    }
    if let Some(t) = implied {
        return t;
    }
    let last = path.0.last().map(|s| &*s.attr).unwrap_or("");
    match last {
        "time" | "start_time" | "end_time" | "_end_time" | "origin" => "DV_DATE_TIME",
        "width" => "DV_DURATION",
        _ => "DV_TEXT",
    }
}

/// Whether `leaf` is plain text at a node whose first data type is a coded
/// text that also takes DV_TEXT (an open list): FLAT writes such text as
/// `|other`, since a plain value there reads as the coded text.
fn is_open_list_text(index: &TemplateIndex, path: &InstancePath, leaf: &Leaf) -> bool {
    if leaf.rm_type.as_deref() != Some("DV_TEXT") {
        return false;
    }
    index.node(&path.aql()).is_some_and(|n| {
        n.value_types.first().map(String::as_str) == Some("DV_CODED_TEXT")
            && n.value_types.iter().any(|t| t == "DV_TEXT")
    })
}

/// Writes an instance as FLAT.
pub fn to_flat(inst: &Instance, index: &TemplateIndex) -> Map<String, Value> {
    let mut out = Map::new();
    for (path, leaf) in &inst.leaves {
        let base =
            super::links::flat_base(index, path, leaf).unwrap_or_else(|| index.flat_path(path));
        let other = is_open_list_text(index, path, leaf);
        for (field, v) in &leaf.fields {
            let key = if other && field.is_empty() {
                format!("{base}|{OTHER}")
            } else if field.is_empty() {
                base.clone()
            } else {
                format!("{base}|{field}")
            };
            out.insert(key, v.clone());
        }
    }
    out
}
