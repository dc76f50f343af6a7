//! What of a FHIR resource a read gives back: the exact "not stored"
//! report.
//!
//! The engine's own report ([`Engine::fhir_to_instance`]) names what no
//! mapping *consumed*. That is not what a client needs to know: a consumed
//! element can still come back different (a status the reverse direction
//! writes as a template constant, a unit display rewritten from the UCUM
//! table), and an element no mapping consumed can come back equal (a
//! constant that happens to match). So here the resource goes the whole
//! way, FHIR -> composition (through canonical JSON, as it is stored) ->
//! FHIR, and every primitive the client sent is compared with the same
//! location of the read-back: equal (same JSON value, same precision as
//! written) or named. Nothing that reads back equal is named.
//!
//! Status-like elements (`status`, `clinicalStatus`, `verificationStatus`,
//! `intent`, `docStatus`) are named with [`STATUS_LIKE_REASON`]: a read
//! that says `final` for a `preliminary` value is a patient-safety defect,
//! so callers refuse such a write whatever their policy for other
//! elements ([`is_status_like`]).
//!
//! Bundles sent as a whole (a transaction for a Bundle-context set) keep
//! the engine's consumption report: their entries come back re-ordered and
//! renamed, so a per-location comparison would name everything.

use std::collections::HashMap;

use serde_json::Value;

use super::canonical::{from_canonical_with, to_canonical, CanonicalDefaults};
use super::engine::{Engine, EngineError};
use super::fhirpath::push_index;
use super::flat::{from_flat, to_flat};
use super::instance::Instance;
use super::translators::OpenEhrFormat;
use crate::translation::{Translation, Unmapped, Warning};

/// Elements whose value changes what the rest of the resource means; never
/// replaced silently.
pub const STATUS_LIKE: &[&str] = &[
    "status",
    "clinicalStatus",
    "verificationStatus",
    "intent",
    "docStatus",
];

/// Reason of an element no mapping takes.
pub const NOT_MAPPED_REASON: &str = "no mapping for element";
/// Reason of an element a mapping took that a read does not give back.
pub const NOT_READ_BACK_REASON: &str = "stored, but a read does not give it back";
/// Reason of an element that reads back as another value.
pub const CHANGED_REASON: &str = "a read gives back a different value";
/// Reason of a status-like element that does not read back equal.
pub const STATUS_LIKE_REASON: &str =
    "status-like element not stored as sent: a read would give back another status";

/// A forward translation with its exact report and the read-back it was
/// measured against.
#[derive(Debug, Clone)]
pub struct Exact {
    /// The composition leaves, with `unmapped` naming every element of the
    /// input that does not read back equal (FHIR paths, never values) and
    /// `warnings` the forward direction's doubts plus the elements the
    /// read-back adds (a mapping constant the client did not send).
    pub translation: Translation<Instance>,
    /// The resource as a read of the stored composition gives it (without
    /// what the caller keeps outside the composition: id, meta, patient).
    pub read_back: Value,
}

/// Whether `location` (`Observation.status`,
/// `Condition.clinicalStatus.coding[0].code`) is a status-like element of
/// its resource.
pub fn is_status_like(location: &str) -> bool {
    let mut parts = location.splitn(3, ['.', '[']);
    let _resource = parts.next();
    parts.next().is_some_and(|e| STATUS_LIKE.contains(&e))
}

/// [`Engine::fhir_to_instance`] with the exact report: the resource is
/// translated, stored as canonical JSON would store it, read back, and
/// compared element by element.
pub fn translate(engine: &Engine, resource: &Value) -> Result<Exact, EngineError> {
    translate_stored_as(engine, resource, OpenEhrFormat::Canonical)
}

/// [`translate`] for a composition stored as `format` (a backend written
/// FLAT is read back from FLAT, which holds less than canonical JSON for
/// some data values).
pub fn translate_stored_as(
    engine: &Engine,
    resource: &Value,
    format: OpenEhrFormat,
) -> Result<Exact, EngineError> {
    let mut t = engine.fhir_to_instance(resource)?;
    let rt = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("");
    let stored = stored_form(engine, &t.output, format);
    let back = engine.instance_to_fhir(&stored)?.output;
    if rt == "Bundle" {
        return Ok(Exact {
            translation: t,
            read_back: back,
        });
    }
    let Some(read_back) = unwrap_resource(back, rt) else {
        // The read-back holds no resource of the type (nothing of it was
        // stored where the reverse direction looks): every element is lost.
        let mut sent = Vec::new();
        primitives(resource, &mut rt.to_owned(), &mut sent);
        t.unmapped = sent
            .into_iter()
            .map(|(loc, _)| lost(&loc, &t.unmapped, false))
            .collect();
        return Ok(Exact {
            translation: t,
            read_back: Value::Null,
        });
    };
    let (unmapped, added) = compare(resource, &read_back, rt, &t.unmapped);
    t.unmapped = unmapped;
    t.warnings.extend(added.into_iter().map(|location| Warning {
        location,
        message:
            "a read gives back this element, which was not sent (a mapping constant)".to_owned(),
    }));
    Ok(Exact {
        translation: t,
        read_back,
    })
}

/// The leaves as a backend gives them back: written as `format` and read
/// from it (what the form cannot hold is lost here as it is in the
/// backend). Without a template the leaves themselves.
fn stored_form(engine: &Engine, inst: &Instance, format: OpenEhrFormat) -> Instance {
    let Some(index) = engine.index() else {
        return inst.clone();
    };
    if format == OpenEhrFormat::Flat {
        return from_flat(&to_flat(inst, index), index).0;
    }
    // Placeholders only: a mapping that leaves the event time empty gets
    // this one, which the input did not send and which is reported added.
    let defaults = CanonicalDefaults {
        language: "en".to_owned(),
        territory: "DE".to_owned(),
        composer: "ehrgate".to_owned(),
        time: "1970-01-01T00:00:00Z".to_owned(),
    };
    let canonical = to_canonical(inst, index, &defaults);
    from_canonical_with(&canonical, engine.names()).0
}

/// The first resource of `resource_type` in `v` (itself, or the first
/// matching entry of a Bundle a Bundle-context set answers).
fn unwrap_resource(v: Value, resource_type: &str) -> Option<Value> {
    match v.get("resourceType").and_then(Value::as_str) {
        Some(t) if t == resource_type => Some(v),
        Some("Bundle") => {
            let Value::Object(mut o) = v else {
                return None;
            };
            let Some(Value::Array(entries)) = o.remove("entry") else {
                return None;
            };
            entries.into_iter().find_map(|mut e| {
                let r = e.get_mut("resource").map(Value::take)?;
                (r.get("resourceType").and_then(Value::as_str) == Some(resource_type)).then_some(r)
            })
        }
        _ => None,
    }
}

/// The elements of `sent` that do not read back equal (with why), and the
/// locations the read-back has that `sent` does not.
fn compare(
    sent: &Value,
    read_back: &Value,
    rt: &str,
    not_consumed: &[Unmapped],
) -> (Vec<Unmapped>, Vec<String>) {
    let mut sent_leaves = Vec::new();
    primitives(sent, &mut rt.to_owned(), &mut sent_leaves);
    let mut back_leaves = Vec::new();
    primitives(read_back, &mut rt.to_owned(), &mut back_leaves);
    let back: HashMap<&str, &Value> = back_leaves.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    let mut unmapped = Vec::new();
    for (loc, value) in &sent_leaves {
        match back.get(loc.as_str()) {
            Some(b) if *b == *value => {}
            Some(_) => unmapped.push(lost(loc, not_consumed, true)),
            None => unmapped.push(lost(loc, not_consumed, false)),
        }
    }
    let sent_locs: std::collections::HashSet<&str> =
        sent_leaves.iter().map(|(l, _)| l.as_str()).collect();
    let added = back_leaves
        .iter()
        .filter(|(l, _)| !sent_locs.contains(l.as_str()))
        .map(|(l, _)| l.clone())
        .collect();
    (unmapped, added)
}

/// The report entry for `loc`, which does not read back equal.
fn lost(loc: &str, not_consumed: &[Unmapped], changed: bool) -> Unmapped {
    let reason = if is_status_like(loc) {
        STATUS_LIKE_REASON
    } else if not_consumed.iter().any(|u| u.location == loc) {
        NOT_MAPPED_REASON
    } else if changed {
        CHANGED_REASON
    } else {
        NOT_READ_BACK_REASON
    };
    Unmapped {
        location: loc.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Every primitive below `value` with its location (`loc` is the buffer
/// holding the current node's location; `resourceType` is the resource's
/// kind, not an element).
fn primitives<'v>(value: &'v Value, loc: &mut String, out: &mut Vec<(String, &'v Value)>) {
    match value {
        Value::Object(o) => {
            for (k, v) in o {
                if k == "resourceType" {
                    continue;
                }
                let len = loc.len();
                loc.push('.');
                loc.push_str(k);
                primitives(v, loc, out);
                loc.truncate(len);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                let len = loc.len();
                push_index(loc, i);
                primitives(v, loc, out);
                loc.truncate(len);
            }
        }
        Value::Null => {}
        _ => out.push((loc.clone(), value)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn status_like_elements_are_told_apart_from_their_neighbours() {
        assert!(is_status_like("Observation.status"));
        assert!(is_status_like("Condition.clinicalStatus.coding[0].code"));
        assert!(is_status_like("DocumentReference.docStatus"));
        assert!(is_status_like("MedicationRequest.intent"));
        assert!(!is_status_like("Observation.statusReason"));
        assert!(!is_status_like("Observation.code.coding[0].code"));
        assert!(!is_status_like("Observation.component[0].status"));
    }

    #[test]
    fn comparison_names_lost_and_changed_elements_only() {
        let sent = json!({"resourceType": "Observation", "status": "preliminary",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}], "text": "HR"},
            "valueQuantity": {"value": 72, "unit": "beats/minute"}});
        let back = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "valueQuantity": {"value": 72, "unit": "/min", "code": "/min"}});
        let not_consumed = [Unmapped {
            location: "Observation.code.text".into(),
            reason: NOT_MAPPED_REASON.into(),
        }];
        let (lost, added) = compare(&sent, &back, "Observation", &not_consumed);
        let named: Vec<(&str, &str)> = lost
            .iter()
            .map(|u| (u.location.as_str(), u.reason.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                ("Observation.status", STATUS_LIKE_REASON),
                ("Observation.code.text", NOT_MAPPED_REASON),
                ("Observation.valueQuantity.unit", CHANGED_REASON),
            ]
        );
        assert_eq!(added, ["Observation.valueQuantity.code"]);
    }

    #[test]
    fn a_bundle_answer_is_unwrapped_to_the_sent_type() {
        let b = json!({"resourceType": "Bundle", "entry": [
            {"resource": {"resourceType": "Patient"}},
            {"resource": {"resourceType": "Observation", "status": "final"}}]});
        assert_eq!(
            unwrap_resource(b, "Observation").unwrap()["status"],
            "final"
        );
        assert!(unwrap_resource(json!({"resourceType": "Condition"}), "Observation").is_none());
    }
}
