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

/// Where a patient reference a client sent points, seen from this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatientTarget<'a> {
    /// A patient of this server: `Patient/{id}`, or an absolute URL under
    /// one of this server's own bases.
    Local(&'a str),
    /// A patient on another server (an absolute URL under another base) or
    /// a Bundle-internal `urn:uuid:`/`urn:oid:` reference: never the local
    /// patient with the same id. It is kept as sent, or refused.
    Remote,
    /// Not a reference to a Patient (`Group/1`, `#contained`, malformed).
    NotAPatient,
}

/// Classifies `reference` (a `Reference.reference`) against `own_bases`,
/// the base URLs this server answers under (`https://ehr.example/fhir`,
/// with or without a trailing `/`). A version suffix (`/_history/2`) names
/// the same patient. `http://other.example/fhir/Patient/p9` is
/// [`PatientTarget::Remote`]: reading it as `Patient/p9` would attach the
/// data to a different, local patient.
pub fn patient_target<'a>(reference: &'a str, own_bases: &[&str]) -> PatientTarget<'a> {
    let reference = reference.split("/_history/").next().unwrap_or(reference);
    if reference.starts_with("urn:") {
        return PatientTarget::Remote;
    }
    let relative = if reference.contains("://") {
        let local = own_bases.iter().find_map(|b| {
            reference
                .strip_prefix(b.trim_end_matches('/'))
                .and_then(|r| r.strip_prefix('/'))
        });
        match local {
            Some(r) => r,
            None if reference.contains("/Patient/") => return PatientTarget::Remote,
            None => return PatientTarget::NotAPatient,
        }
    } else {
        reference
    };
    match relative.strip_prefix("Patient/") {
        Some(id)
            if (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') =>
        {
            PatientTarget::Local(id)
        }
        _ => PatientTarget::NotAPatient,
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
    fn absolute_references_to_other_servers_stay_remote() {
        let own = ["https://ehr.example/fhir/"];
        assert_eq!(
            patient_target("Patient/p9", &own),
            PatientTarget::Local("p9")
        );
        assert_eq!(
            patient_target("https://ehr.example/fhir/Patient/p9/_history/2", &own),
            PatientTarget::Local("p9")
        );
        assert_eq!(
            patient_target("http://other.example/fhir/Patient/p9", &own),
            PatientTarget::Remote
        );
        // a base that merely starts like ours is another server
        assert_eq!(
            patient_target("https://ehr.example/fhirx/Patient/p9", &own),
            PatientTarget::Remote
        );
        assert_eq!(
            patient_target("urn:uuid:8f7c1c1e-0000-4000-8000-000000000000", &own),
            PatientTarget::Remote
        );
        assert_eq!(patient_target("Group/g1", &own), PatientTarget::NotAPatient);
        assert_eq!(
            patient_target("Patient/a/b", &own),
            PatientTarget::NotAPatient
        );
        assert_eq!(patient_target("#p", &own), PatientTarget::NotAPatient);
        assert_eq!(
            patient_target("Patient/p 9", &[]),
            PatientTarget::NotAPatient
        );
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
