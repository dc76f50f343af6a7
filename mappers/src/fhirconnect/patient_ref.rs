//! The patient a produced FHIR resource is about.
//!
//! A composition does not carry its patient: the EHR it belongs to does,
//! and the caller (the FHIR facade, the CLI) knows which EHR it read. So the
//! openEHR -> FHIR direction takes the patient reference as a parameter and
//! fills it in here, after the mapping ran: `subject` where the resource
//! type has one (Observation, Condition, MedicationStatement,
//! DiagnosticReport), `patient` where that is its name (AllergyIntolerance).
//! A resource that already names a subject keeps it.

use serde_json::{json, Map, Value};

use super::fhir_schema::schema;
use crate::error::{Classified, Fault};

/// Largest accepted reference, in bytes; it comes from the caller and ends
/// up in every produced resource.
pub const MAX_REFERENCE_BYTES: usize = 512;

/// Why a patient reference was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatientRefError {
    /// Empty, too long, or with whitespace or control characters (a FHIR
    /// reference is a URL or `Type/id`).
    #[error("patient reference is not a FHIR reference")]
    Malformed,
}

impl Classified for PatientRefError {
    fn fault(&self) -> Fault {
        Fault::Client
    }

    fn code(&self) -> &'static str {
        "fhirconnect.bad-patient-reference"
    }
}

/// Checks `reference` before it is written anywhere.
pub fn validate(reference: &str) -> Result<(), PatientRefError> {
    let ok = !reference.is_empty()
        && reference.len() <= MAX_REFERENCE_BYTES
        && !reference
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(PatientRefError::Malformed)
    }
}

/// Sets the patient reference on `doc` (a resource, or every entry resource
/// of a Bundle).
pub fn apply(doc: &mut Value, reference: &str) {
    if doc.get("resourceType").and_then(Value::as_str) == Some("Bundle") {
        if let Some(entries) = doc.get_mut("entry").and_then(Value::as_array_mut) {
            for e in entries {
                if let Some(r) = e.get_mut("resource").and_then(Value::as_object_mut) {
                    apply_one(r, reference);
                }
            }
        }
        return;
    }
    if let Some(r) = doc.as_object_mut() {
        apply_one(r, reference);
    }
}

fn apply_one(resource: &mut Map<String, Value>, reference: &str) {
    let Some(rt) = resource.get("resourceType").and_then(Value::as_str) else {
        return;
    };
    let s = schema();
    let Some(property) = ["subject", "patient"].into_iter().find(|p| {
        s.element(rt, p)
            .is_some_and(|e| e.ty == "Reference" && !e.array)
    }) else {
        return;
    };
    resource
        .entry(property)
        .or_insert_with(|| json!({ "reference": reference }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_or_patient_by_resource_type() {
        let mut obs = json!({"resourceType": "Observation"});
        apply(&mut obs, "Patient/1");
        assert_eq!(obs["subject"]["reference"], "Patient/1");
        let mut allergy = json!({"resourceType": "AllergyIntolerance"});
        apply(&mut allergy, "Patient/1");
        assert_eq!(allergy["patient"]["reference"], "Patient/1");
        assert!(allergy.get("subject").is_none());
        let mut bundle = json!({"resourceType": "Bundle", "entry": [
            {"resource": {"resourceType": "Condition"}},
            {"resource": {"resourceType": "Observation", "subject": {"reference": "Group/9"}}}]});
        apply(&mut bundle, "Patient/1");
        assert_eq!(
            bundle["entry"][0]["resource"]["subject"]["reference"],
            "Patient/1"
        );
        assert_eq!(
            bundle["entry"][1]["resource"]["subject"]["reference"],
            "Group/9"
        );
        assert!(bundle.get("subject").is_none());
        // a type without a patient element is left alone
        let mut patient = json!({"resourceType": "Patient"});
        apply(&mut patient, "Patient/1");
        assert_eq!(patient, json!({"resourceType": "Patient"}));
    }

    #[test]
    fn malformed_references_are_refused() {
        assert!(validate("Patient/123").is_ok());
        assert!(validate("urn:uuid:8f7c1c1e-0000-4000-8000-000000000000").is_ok());
        for bad in [
            "",
            "Patient/ 1",
            "Patient/1\n",
            &"x".repeat(MAX_REFERENCE_BYTES + 1),
        ] {
            assert_eq!(validate(bad), Err(PatientRefError::Malformed), "{bad:?}");
        }
    }
}
