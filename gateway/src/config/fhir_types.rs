//! The FHIR resource types the facade serves, which element carries each
//! one's patient and clinical date, and the shipped template per type.
//!
//! Kept as data in one place so the config check, the CapabilityStatement
//! and the request path agree on what is supported; it lives with the
//! config so the check imports nothing above it (the facade re-exports it
//! as `facade::types`).

/// Resource types the facade serves (those the shipped mappings cover).
pub const SUPPORTED: &[&str] = &[
    "Observation",
    "Condition",
    "AllergyIntolerance",
    "MedicationStatement",
    "DiagnosticReport",
    "Immunization",
    "Procedure",
    "DocumentReference",
];

/// Shipped template ids per resource type, tried in order, used when the
/// backend config names none for that type. A type listed in
/// [`SUPPORTED`] but absent here is served only when configured.
pub const DEFAULT_TEMPLATES: &[(&str, &[&str])] = &[
    // Vital signs first: its mapping takes only the vital-sign LOINC codes;
    // the laboratory mapping takes the other Observations.
    (
        "Observation",
        &["EHRN Vital signs.v2", "vg_ObservationLab.v.1.1.0"],
    ),
    ("Condition", &["IDCR - Problem List.v1"]),
    ("AllergyIntolerance", &["Adverse Reaction List.v1"]),
    ("MedicationStatement", &["IDCR - Medication List.v0"]),
    ("DiagnosticReport", &["vg_DiagnosticReportLab.v1.1.1"]),
    ("Immunization", &["IDCR - Immunisation summary.v0"]),
    ("Procedure", &["GECCO_Prozedur"]),
    ("DocumentReference", &["EHRN-ABDM-OPConsultRecord.v2.0"]),
];

/// The element holding the patient reference (`Reference(Patient)`).
pub fn subject_element(resource_type: &str) -> &'static str {
    match resource_type {
        "AllergyIntolerance" | "Immunization" => "patient",
        _ => "subject",
    }
}

/// Elements holding the clinical date, in order of preference; the first
/// present becomes the composition's `context/start_time`, which the
/// `date` search parameter compares.
pub fn date_elements(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "Observation" => &["effectiveDateTime", "effectiveInstant", "issued"],
        "DiagnosticReport" => &["effectiveDateTime", "issued"],
        "MedicationStatement" => &["effectiveDateTime", "dateAsserted"],
        "Condition" => &["onsetDateTime", "recordedDate"],
        "AllergyIntolerance" => &["recordedDate", "onsetDateTime"],
        "Immunization" => &["occurrenceDateTime", "recorded"],
        "Procedure" => &["performedDateTime"],
        "DocumentReference" => &["date"],
        _ => &[],
    }
}

/// Search parameters served for every type (besides `_count`, `_offset`).
pub const SEARCH_PARAMS: &[(&str, &str, &str)] = &[
    ("_id", "token", "The logical id"),
    ("patient", "reference", "The patient (an EHR by subject id)"),
    ("subject", "reference", "The patient (an EHR by subject id)"),
    ("code", "token", "The resource's code, system|code or code"),
    (
        "date",
        "date",
        "The clinical date (the composition's context start time); eq, ge, le, gt, lt",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_type_is_supported_and_shipped() {
        for (ty, ids) in DEFAULT_TEMPLATES {
            assert!(SUPPORTED.contains(ty), "{ty}");
            for id in *ids {
                assert!(
                    ehrgate_mappers::fhirconnect::shipped::find(id).is_ok(),
                    "{id}"
                );
            }
        }
        assert_eq!(subject_element("AllergyIntolerance"), "patient");
        assert_eq!(subject_element("Immunization"), "patient");
        assert_eq!(subject_element("Observation"), "subject");
    }
}
