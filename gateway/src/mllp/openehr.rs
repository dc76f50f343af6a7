//! Delivery to an openEHR backend through the FHIR facade's write path
//! (issue 8): the message becomes a FHIR transaction Bundle (v2 -> FHIR),
//! the entries the facade can store as compositions are kept, and the
//! facade runs the transaction (EHR resolution or creation from the
//! Patient entries, every composition checked before the first write,
//! writes undone if one fails).
//!
//! The v2 -> FHIR Bundle uses conditional `PUT`s for a FHIR server; here
//! each kept entry becomes a `POST` of its type, since the compositions
//! are new. Entries of types the backend has no template for (Encounter,
//! Organization, Practitioner ...) are left out and counted in the log:
//! openEHR keeps demographics and directories outside the CDR. A message
//! with nothing but its patient still makes sure the patient's EHR exists.

use serde_json::{json, Value};

use super::error::FeedError;
use crate::facade::Facade;

/// The Bundle for the facade: Patient entries and the served types, as
/// `POST`s. Returns it with the number of entries left out.
pub fn for_facade(bundle: &Value, facade: &Facade) -> (Value, usize) {
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut kept = Vec::with_capacity(entries.len());
    let mut skipped = 0;
    for e in entries {
        let rt = e
            .pointer("/resource/resourceType")
            .and_then(Value::as_str)
            .unwrap_or("");
        if rt == "Patient" {
            kept.push(e.clone());
        } else if !rt.is_empty() && !facade.settings().templates_of(rt).is_empty() {
            let mut e = e.clone();
            if let Some(obj) = e.as_object_mut() {
                obj.insert("request".into(), json!({"method": "POST", "url": rt}));
            }
            kept.push(e);
        } else {
            skipped += 1;
        }
    }
    (
        json!({"resourceType": "Bundle", "type": "transaction", "entry": kept}),
        skipped,
    )
}

/// Runs the transaction; the facade's error keeps its fault (a client
/// fault is `AE`, an unreachable or failing backend `AR`).
pub async fn deliver(
    facade: &Facade,
    backend: &str,
    tenant: &str,
    bundle: &Value,
) -> Result<(), FeedError> {
    let (bundle, skipped) = for_facade(bundle, facade);
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
