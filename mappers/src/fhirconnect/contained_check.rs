//! Contained resources the openEHR -> FHIR direction made but could not
//! complete.
//!
//! A `reference` method going back creates the referenced resource as a
//! contained one from what the composition holds; the KDS case
//! identification makes an Encounter of an identifier alone, which R4
//! refuses (`Encounter.class` is required). Such a resource is dropped
//! with a warning naming its location and the missing elements, and the
//! References to it lose their `#id` (keeping what else they carry, such
//! as an `identifier`; a Reference left empty goes too). The required
//! elements are data (`mappers/data/fhir_r4_required.tsv`, generated from
//! the R4 JSON schema by `gen_fhir_required.py`).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::translation::Warning;

const TABLE: &str = include_str!("../../data/fhir_r4_required.tsv");

/// Resource type -> the properties R4's schema requires.
fn required(resource_type: &str) -> &'static [&'static str] {
    static MAP: OnceLock<HashMap<&'static str, Vec<&'static str>>> = OnceLock::new();
    MAP.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .map(|(t, props)| (t, props.split(',').collect()))
            .collect()
    })
    .get(resource_type)
    .map_or(&[], Vec::as_slice)
}

/// Whether `resource` has `property` (a choice element `value[x]` is
/// listed by its base name in the schema only when it is not a choice,
/// so a plain member test is enough).
fn has(resource: &Value, property: &str) -> bool {
    resource.get(property).is_some_and(|v| !v.is_null())
}

/// Drops the incomplete contained resources of `resource` (and of every
/// Bundle entry's resource), warning at `loc`.
pub fn drop_incomplete(doc: &mut Value, warnings: &mut Vec<Warning>) {
    if doc.get("resourceType").and_then(Value::as_str) == Some("Bundle") {
        if let Some(entries) = doc.get_mut("entry").and_then(Value::as_array_mut) {
            for (i, e) in entries.iter_mut().enumerate() {
                // Only resources with contained ones get a location built.
                let with_contained = e.pointer("/resource/contained").is_some();
                if let Some(r) = e.get_mut("resource").filter(|_| with_contained) {
                    let ty = r
                        .get("resourceType")
                        .and_then(Value::as_str)
                        .unwrap_or("Resource")
                        .to_owned();
                    in_resource(r, &format!("Bundle.entry[{i}].resource({ty})"), warnings);
                }
            }
        }
        return;
    }
    if doc.get("contained").is_none() {
        return;
    }
    let ty = doc
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("Resource")
        .to_owned();
    in_resource(doc, &ty, warnings);
}

fn in_resource(resource: &mut Value, loc: &str, warnings: &mut Vec<Warning>) {
    let Some(list) = resource.get_mut("contained").and_then(Value::as_array_mut) else {
        return;
    };
    let mut dropped = Vec::new();
    list.retain(|c| {
        let ty = c.get("resourceType").and_then(Value::as_str).unwrap_or("");
        let missing: Vec<&str> = required(ty)
            .iter()
            .copied()
            .filter(|p| !has(c, p))
            .collect();
        if missing.is_empty() {
            return true;
        }
        if let Some(id) = c.get("id").and_then(Value::as_str) {
            dropped.push(format!("#{id}"));
        }
        warnings.push(Warning {
            location: format!("{loc}.contained({ty})"),
            message: format!(
                "contained {ty} lacks required {}; not written (the composition holds no value for it)",
                missing.join(", ")
            ),
        });
        false
    });
    if list.is_empty() {
        if let Some(o) = resource.as_object_mut() {
            o.remove("contained");
        }
    }
    if !dropped.is_empty() {
        unlink(resource, &dropped, 0);
    }
}

/// One member or item: a Reference to a dropped resource loses its
/// `reference` (and becomes null when nothing else is left); anything else
/// is searched further.
fn unlink_member(x: &mut Value, dropped: &[String], depth: usize) {
    let names_dropped = x
        .get("reference")
        .and_then(Value::as_str)
        .is_some_and(|r| dropped.iter().any(|d| d == r));
    if !names_dropped {
        unlink(x, dropped, depth + 1);
        return;
    }
    if let Some(r) = x.as_object_mut() {
        r.remove("reference");
        if r.is_empty() {
            *x = Value::Null;
        }
    }
}

/// Removes `reference` members naming a dropped resource; a Reference
/// left with nothing goes (as `null`, pruned by the caller's pass).
fn unlink(v: &mut Value, dropped: &[String], depth: usize) {
    if depth > 64 {
        return;
    }
    match v {
        Value::Object(o) => {
            for (_, x) in o.iter_mut() {
                unlink_member(x, dropped, depth);
            }
            o.retain(|_, x| !x.is_null());
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                unlink_member(x, dropped, depth);
            }
            a.retain(|x| !x.is_null());
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_encounter_without_class_is_dropped_and_its_reference_keeps_the_identifier() {
        let mut doc = json!({
            "resourceType": "DiagnosticReport",
            "contained": [
                {"resourceType": "Encounter", "id": "ref1", "identifier": [{"value": "x"}]},
                {"resourceType": "Specimen", "id": "ref2"}
            ],
            "encounter": {"reference": "#ref1", "identifier": {"value": "x"}},
            "specimen": [{"reference": "#ref2"}],
            "result": [{"reference": "#ref1"}]
        });
        let mut w = Vec::new();
        drop_incomplete(&mut doc, &mut w);
        assert_eq!(w.len(), 1);
        assert!(w[0].message.contains("class"), "{}", w[0].message);
        assert_eq!(doc["contained"].as_array().unwrap().len(), 1);
        assert_eq!(doc["encounter"], json!({"identifier": {"value": "x"}}));
        assert_eq!(doc["specimen"], json!([{"reference": "#ref2"}]));
        assert!(doc.get("result").unwrap().as_array().unwrap().is_empty());
    }

    #[test]
    fn complete_contained_resources_stay() {
        let mut doc = json!({
            "resourceType": "Bundle",
            "entry": [{"resource": {
                "resourceType": "DiagnosticReport",
                "contained": [{"resourceType": "Observation", "id": "a", "code": {"text": "t"}}],
                "result": [{"reference": "#a"}]
            }}]
        });
        let before = doc.clone();
        let mut w = Vec::new();
        drop_incomplete(&mut doc, &mut w);
        assert!(w.is_empty());
        assert_eq!(doc, before);
    }
}
