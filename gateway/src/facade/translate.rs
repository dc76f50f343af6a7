//! FHIR resource <-> composition for the facade: the mapping engine plus
//! what a REST facade adds around it.
//!
//! - Writing: the resource's clinical date becomes the composition's
//!   context start time (the `date` search compares it); a resource none
//!   of whose elements the mapping takes is "not mapped" (so the next
//!   configured template can try), never an empty composition; a
//!   composition that breaks the template never leaves.
//! - Reading: the engine answers a Bundle when the mapping's context is a
//!   Bundle; the facade unwraps the one resource of the asked type and puts
//!   back what openEHR keeps outside the composition (id, version, patient).

use ehrgate_fault::Classified;
use ehrgate_mappers::fhirconnect::canonical::{to_canonical, CanonicalDefaults};
use ehrgate_mappers::fhirconnect::check::check;
use ehrgate_mappers::fhirconnect::engine::EngineError;
use ehrgate_mappers::fhirconnect::flat::to_flat;
use ehrgate_mappers::fhirconnect::translators::{OpenEhrToFhir, TranslateError};
use ehrgate_mappers::translation::{Translator, Unmapped};
use serde_json::{json, Map, Value};

use super::catalog::Compiled;
use super::date::to_start_time;
use super::error::FacadeError;
use super::types::{date_elements, subject_element};
use crate::config::openehr::CompositionFormat;

/// Composer written on compositions: the system, never a person.
const COMPOSER: &str = "ehrgate";
/// Territory written when a mapping leaves it empty.
const TERRITORY: &str = "DE";

fn engine_error(e: &EngineError) -> FacadeError {
    FacadeError::Translation {
        code: e.code(),
        fault: e.fault(),
        reason: e.to_string(),
    }
}

/// A resource translated to a composition, with what of it the mapping
/// could not hold.
#[derive(Debug)]
pub struct Composed {
    /// The composition (canonical JSON or FLAT).
    pub composition: Value,
    /// Elements of the resource that carried a value and went nowhere
    /// (FHIR paths and reasons, never values).
    pub unmapped: Vec<Unmapped>,
}

/// The composition for `resource`; `Ok(None)` when the mapping takes
/// nothing from it.
pub fn to_composition(
    c: &Compiled,
    resource: &Value,
    format: CompositionFormat,
    now: &str,
) -> Result<Option<Composed>, FacadeError> {
    let index = c
        .engine
        .index()
        .ok_or_else(|| FacadeError::Internal("mapping compiled without template".into()))?;
    // The engine says when it used nothing of the resource (a set's
    // constants alone are no composition of it): not mapped here.
    let t = match c.engine.fhir_to_instance(resource) {
        Ok(t) => t,
        Err(EngineError::NothingMapped { .. }) => return Ok(None),
        Err(e) => return Err(engine_error(&e)),
    };
    if t.output.leaves.is_empty() {
        return Ok(None);
    }
    let issues = check(&t.output, index);
    if !issues.is_empty() {
        return Err(FacadeError::TemplateViolation {
            template: c.meta.template_id.as_str().to_owned(),
            issues,
        });
    }
    let rt = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("");
    let time = date_elements(rt)
        .iter()
        .find_map(|e| resource.get(*e).and_then(Value::as_str))
        .and_then(to_start_time)
        .unwrap_or_else(|| now.to_owned());
    let defaults = CanonicalDefaults {
        language: c.meta.language.clone(),
        territory: TERRITORY.to_owned(),
        composer: COMPOSER.to_owned(),
        time: time.clone(),
    };
    let composition = match format {
        CompositionFormat::Canonical => to_canonical(&t.output, index, &defaults),
        CompositionFormat::Flat => {
            let mut flat = Map::new();
            flat.insert("ctx/language".into(), json!(defaults.language));
            flat.insert("ctx/territory".into(), json!(defaults.territory));
            flat.insert("ctx/composer_name".into(), json!(defaults.composer));
            flat.insert("ctx/time".into(), json!(time));
            flat.extend(to_flat(&t.output, index));
            Value::Object(flat)
        }
    };
    let mut unmapped = t.unmapped;
    unmapped.retain(|u| !kept_by_facade(rt, &u.location));
    Ok(Some(Composed {
        composition,
        unmapped,
    }))
}

/// Elements the facade itself keeps, whatever the mapping does: the id and
/// meta it assigns, the narrative it regenerates, and the patient reference
/// that selects the EHR. Reporting them as "not stored" would be noise.
fn kept_by_facade(resource_type: &str, location: &str) -> bool {
    let Some(rest) = location
        .strip_prefix(resource_type)
        .and_then(|r| r.strip_prefix('.'))
    else {
        return false;
    };
    let element = rest.split(['.', '[']).next().unwrap_or("");
    match element {
        "id" | "meta" | "text" => true,
        e if e == subject_element(resource_type) => rest.strip_prefix(e) == Some(".reference"),
        _ => false,
    }
}

/// The resource of `resource_type` a composition (canonical or FLAT,
/// detected) holds: the mappers' [`OpenEhrToFhir`] translator, then the
/// one resource of the asked type.
pub fn to_resource(
    c: &Compiled,
    composition: &Value,
    resource_type: &str,
) -> Result<Value, FacadeError> {
    let out = OpenEhrToFhir::new(&c.engine)
        .translate(composition)
        .map_err(|e| match e {
            TranslateError::Engine(e) => engine_error(&e),
            TranslateError::NotAComposition => FacadeError::BadBackendAnswer(
                "stored composition is neither canonical JSON nor FLAT".into(),
            ),
            TranslateError::NoTemplate => {
                FacadeError::Internal("mapping compiled without template".into())
            }
            other => FacadeError::Translation {
                code: other.code(),
                fault: other.fault(),
                reason: other.to_string(),
            },
        })?
        .output;
    unwrap(out, resource_type).ok_or_else(|| {
        FacadeError::BadBackendAnswer(format!(
            "the composition holds no {resource_type} under this mapping"
        ))
    })
}

/// The first resource of `resource_type` in `v` (itself, or a Bundle entry).
fn unwrap(v: Value, resource_type: &str) -> Option<Value> {
    match v.get("resourceType").and_then(Value::as_str) {
        Some(t) if t == resource_type => Some(v),
        Some("Bundle") => match v {
            Value::Object(mut o) => match o.remove("entry") {
                Some(Value::Array(entries)) => entries.into_iter().find_map(|mut e| {
                    let r = e.get_mut("resource").map(Value::take)?;
                    (r.get("resourceType").and_then(Value::as_str) == Some(resource_type))
                        .then_some(r)
                }),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// Puts id, version and patient on a resource read from openEHR. FHIR
/// orders `id` and `meta` first; the rest keeps the engine's order.
pub fn decorate(resource: Value, id: &str, version: u32, subject: Option<&str>) -> Value {
    let Value::Object(body) = resource else {
        return resource;
    };
    let rt = body
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut out = Map::new();
    out.insert("resourceType".into(), json!(rt));
    out.insert("id".into(), json!(id));
    out.insert("meta".into(), json!({ "versionId": version.to_string() }));
    for (k, v) in body {
        if k != "resourceType" && k != "id" && k != "meta" {
            out.insert(k, v);
        }
    }
    if let Some(s) = subject {
        let el = super::types::subject_element(&rt);
        out.insert(el.into(), json!({ "reference": format!("Patient/{s}") }));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_are_unwrapped_to_the_asked_type() {
        let b = json!({"resourceType": "Bundle", "entry": [
            {"resource": {"resourceType": "Patient"}},
            {"resource": {"resourceType": "Observation", "status": "final"}}]});
        assert_eq!(unwrap(b, "Observation").unwrap()["status"], "final");
        let r = json!({"resourceType": "Condition"});
        assert!(unwrap(r.clone(), "Condition").is_some());
        assert!(unwrap(r, "Observation").is_none());
    }

    #[test]
    fn the_facade_keeps_id_meta_narrative_and_the_patient_reference() {
        assert!(kept_by_facade("Observation", "Observation.id"));
        assert!(kept_by_facade("Observation", "Observation.meta.profile[0]"));
        assert!(kept_by_facade("Observation", "Observation.text.div"));
        assert!(kept_by_facade(
            "Observation",
            "Observation.subject.reference"
        ));
        assert!(kept_by_facade(
            "Immunization",
            "Immunization.patient.reference"
        ));
        assert!(!kept_by_facade("Immunization", "Immunization.lotNumber"));
        assert!(!kept_by_facade(
            "Observation",
            "Observation.subject.display"
        ));
        assert!(!kept_by_facade(
            "Observation",
            "Observation.identifier[0].value"
        ));
        assert!(!kept_by_facade(
            "Observation",
            "Bundle.entry[0].resource.id"
        ));
    }

    #[test]
    fn decoration_orders_id_and_meta_first() {
        let r = json!({"resourceType": "AllergyIntolerance", "code": {"text": "x"}});
        let d = decorate(r, "abc", 2, Some("p1"));
        let keys: Vec<&String> = d.as_object().unwrap().keys().collect();
        assert_eq!(keys[..3], ["resourceType", "id", "meta"]);
        assert_eq!(d["meta"]["versionId"], "2");
        assert_eq!(d["patient"]["reference"], "Patient/p1");
    }
}
