//! Delivery to an openEHR backend through the FHIR facade's write path
//! (issue 8): the message becomes a FHIR transaction Bundle (v2 -> FHIR),
//! the entries the facade can store as compositions are kept, and the
//! facade runs the transaction (EHR resolution or creation from the
//! Patient entries, every composition checked before the first write,
//! writes undone if one fails).
//!
//! The v2 -> FHIR Bundle uses conditional `PUT`s for a FHIR server; here
//! each kept entry becomes a `POST` of its type, since the compositions
//! are new. Context entries (Encounter, Organization, Practitioner, the
//! MessageHeader ...) are left out and counted in the log: openEHR keeps
//! demographics and directories outside the CDR. A *clinical* entry the
//! backend has no template for (a Specimen no report names, say) refuses
//! the whole message instead: acknowledging it would lose clinical data
//! silently. The refusal is `AE` (see [`FeedError::NoTemplate`]): the
//! message is valid, but resending it unchanged cannot succeed until the
//! backend's templates cover it. A message with nothing but its patient
//! still makes sure the patient's EHR exists.
//!
//! [`FeedError::NoTemplate`]: super::error::FeedError::NoTemplate
//!
//! Two v2 shapes are carried over before the facade sees the Bundle:
//! - a Specimen (SPM) that a DiagnosticReport names in `specimen` goes
//!   into that report as a contained resource, since the laboratory report
//!   template holds the specimen inside the result (one report per
//!   composition); a Specimen no report names has no template of its own
//!   and refuses the message;
//! - an Observation that is `partOf` an Immunization (a VXU's order OBX:
//!   funding source, eligibility, the vaccine information statement and
//!   the dates it was published and presented) is, per the v2-to-FHIR IG,
//!   detail of the immunization (FHIR R4 `Immunization.fundingSource`,
//!   `programEligibility`, `education`), not a result: the shipped
//!   immunisation template has no element for it, so it refuses the message
//!   with that reason instead of being filed as a laboratory result.

use serde_json::{json, Value};

use super::error::FeedError;
use crate::facade::Facade;

/// Resource types that carry context kept outside an openEHR CDR, never
/// clinical content of their own.
const CONTEXT_TYPES: &[&str] = &[
    "MessageHeader",
    "Provenance",
    "Encounter",
    "EpisodeOfCare",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Location",
    "RelatedPerson",
    "Coverage",
    "Account",
    "Device",
];

/// What an Observation `partOf` an Immunization is refused as: the
/// immunization detail the shipped immunisation template cannot hold.
const IMMUNIZATION_DETAIL: &str = "Observation about an Immunization (funding, eligibility or vaccine information statement: FHIR Immunization.fundingSource/programEligibility/education)";

fn rt_of(e: &Value) -> &str {
    e.pointer("/resource/resourceType")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The `fullUrl`s of the entries of `resource_type`.
fn full_urls<'a>(entries: &'a [Value], resource_type: &str) -> Vec<&'a str> {
    entries
        .iter()
        .filter(|e| rt_of(e) == resource_type)
        .filter_map(|e| e.get("fullUrl").and_then(Value::as_str))
        .collect()
}

/// Whether any `Reference` in `refs` (an array) points at one of `urls`.
fn references_any(refs: Option<&Value>, urls: &[&str]) -> bool {
    refs.and_then(Value::as_array).is_some_and(|refs| {
        refs.iter().any(|r| {
            r.get("reference")
                .and_then(Value::as_str)
                .is_some_and(|u| urls.contains(&u))
        })
    })
}

/// Moves every Specimen entry a DiagnosticReport's `specimen` names into
/// that report's `contained` (the reference becomes `#specimenN`); returns
/// the entries left and how many Specimens were carried. A Specimen two
/// reports name is contained in each.
fn contain_specimens(entries: &[Value]) -> (Vec<Value>, usize) {
    let specimens: Vec<(&str, &Value)> = entries
        .iter()
        .filter(|e| rt_of(e) == "Specimen")
        .filter_map(|e| Some((e.get("fullUrl")?.as_str()?, e.get("resource")?)))
        .collect();
    if specimens.is_empty() {
        return (entries.to_vec(), 0);
    }
    let mut carried: Vec<&str> = Vec::new();
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        if rt_of(e) == "Specimen" {
            continue;
        }
        let mut e = e.clone();
        if rt_of(&e) == "DiagnosticReport" {
            if let Some(report) = e.get_mut("resource").and_then(Value::as_object_mut) {
                let mut contained = Vec::new();
                if let Some(refs) = report.get_mut("specimen").and_then(Value::as_array_mut) {
                    for r in refs.iter_mut() {
                        let Some(url) = r.get("reference").and_then(Value::as_str) else {
                            continue;
                        };
                        let Some((url, spec)) = specimens.iter().find(|(u, _)| *u == url) else {
                            continue;
                        };
                        let id = format!("specimen{}", contained.len() + 1);
                        let mut spec = (*spec).clone();
                        if let Some(o) = spec.as_object_mut() {
                            o.insert("id".into(), json!(id));
                        }
                        contained.push(spec);
                        r["reference"] = json!(format!("#{id}"));
                        if !carried.contains(url) {
                            carried.push(url);
                        }
                    }
                }
                if !contained.is_empty() {
                    report.insert("contained".into(), Value::Array(contained));
                }
            }
        }
        out.push(e);
    }
    // A Specimen no report names stays an entry of its own (and refuses
    // the message below: no template holds a lone specimen).
    for e in entries.iter().filter(|e| rt_of(e) == "Specimen") {
        let url = e.get("fullUrl").and_then(Value::as_str).unwrap_or("");
        if !carried.contains(&url) {
            out.push(e.clone());
        }
    }
    (out, carried.len())
}

/// The Bundle for the facade: Patient entries and the served types, as
/// `POST`s, with the number of context entries left out; or the first
/// clinical resource type the backend cannot store.
pub fn for_facade(bundle: &Value, facade: &Facade) -> Result<(Value, usize), String> {
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let immunizations = full_urls(entries, "Immunization");
    let (entries, _carried) = contain_specimens(entries);
    let entries = entries.as_slice();
    // A ServiceRequest beside results is the order those results answer
    // (the OBR of an ORU), held by the ordering system; on its own (ORM,
    // OML) it is the message's clinical content and must be storable.
    let has_results = entries
        .iter()
        .any(|e| matches!(rt_of(e), "Observation" | "DiagnosticReport"));
    let mut kept = Vec::with_capacity(entries.len());
    let mut skipped = 0;
    for e in entries {
        let rt = rt_of(e);
        if rt == "Patient" {
            kept.push(e.clone());
        } else if rt == "Observation"
            && references_any(e.pointer("/resource/partOf"), &immunizations)
        {
            return Err(IMMUNIZATION_DETAIL.to_string());
        } else if !rt.is_empty() && !facade.settings().templates_of(rt).is_empty() {
            let mut e = e.clone();
            if let Some(obj) = e.as_object_mut() {
                obj.insert("request".into(), json!({"method": "POST", "url": rt}));
            }
            kept.push(e);
        } else if CONTEXT_TYPES.contains(&rt) || (has_results && rt == "ServiceRequest") {
            skipped += 1;
        } else {
            return Err(if rt.is_empty() { "(untyped)" } else { rt }.to_string());
        }
    }
    Ok((
        json!({"resourceType": "Bundle", "type": "transaction", "entry": kept}),
        skipped,
    ))
}

/// Runs the transaction; the facade's error keeps its fault (a client
/// fault is `AE`, an unreachable or failing backend `AR`).
pub async fn deliver(
    facade: &Facade,
    backend: &str,
    tenant: &str,
    bundle: &Value,
) -> Result<(), FeedError> {
    let (bundle, skipped) =
        for_facade(bundle, facade).map_err(|resource_type| FeedError::NoTemplate {
            backend: backend.to_string(),
            resource_type,
        })?;
    tracing::debug!(target: "ehrgate::mllp", backend, skipped_entries = skipped, "openEHR delivery");
    facade
        .transaction(tenant, &bundle)
        .await
        .map(|_| ())
        .map_err(|e| FeedError::OpenEhr {
            backend: backend.to_string(),
            source: Box::new(e),
        })
}
