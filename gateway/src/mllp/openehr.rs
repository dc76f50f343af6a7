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
//! backend has no template for (a Procedure, say) refuses the whole
//! message instead: acknowledging it would lose clinical data silently, so
//! the sender keeps it (AR) until the backend's templates cover it. A
//! message with nothing but its patient still makes sure the patient's EHR
//! exists.

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

/// The Bundle for the facade: Patient entries and the served types, as
/// `POST`s, with the number of context entries left out; or the first
/// clinical resource type the backend cannot store.
pub fn for_facade(bundle: &Value, facade: &Facade) -> Result<(Value, usize), String> {
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    fn rt_of(e: &Value) -> &str {
        e.pointer("/resource/resourceType")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
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
