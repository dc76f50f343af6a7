//! The compositions the facade writes, one pair per shipped mapping set
//! and FHIR example: each is the facade's canonical translation of an
//! official FHIR R4 example, posted as the facade posts it. EHRbase
//! validates against the full template (names, codes, cardinalities);
//! where it refuses what the reference backend accepts, the mapping or
//! the reference's template check is wrong (listed in `gaps.rs`).

use http::Method;

use super::fixtures::{canonical, new_ehr, shipped_opt};
use super::target::Kind;
use super::{text, Target};

/// Uploads a shipped template to EHRbase (the reference preloads them).
async fn ensure_template(t: &Target, template: &str) {
    if t.kind == Kind::Reference {
        return;
    }
    let a = t
        .call(
            Method::POST,
            "/definition/template/adl1.4",
            &[
                ("content-type", "application/xml"),
                ("accept", "application/xml"),
            ],
            shipped_opt(template),
        )
        .await;
    assert!(
        a.status == 201 || a.status == 409,
        "uploading `{template}`: {} {}",
        a.status,
        text(&a)
    );
}

/// Posts the translation of `example` by the set for `template`.
async fn write(t: &Target, example: &str, template: &str) {
    ensure_template(t, template).await;
    let ehr = new_ehr(t).await;
    let comp = canonical(template, example, "2024-03-01T10:00:00Z");
    let a = t
        .post_json(&format!("/ehr/{ehr}/composition"), &comp, &[])
        .await;
    assert!(
        a.status.is_success(),
        "{example} as `{template}`: {} {}",
        a.status,
        text(&a)
    );
}

pub async fn heart_rate(t: &Target) {
    write(t, "Observation-heart-rate.json", "EHRN Vital signs.v2").await;
}
pub async fn blood_pressure(t: &Target) {
    write(t, "Observation-blood-pressure.json", "Blood Pressure").await;
}
pub async fn lab_observation(t: &Target) {
    write(t, "Observation-f001.json", "vg_ObservationLab.v.1.1.0").await;
}
pub async fn condition(t: &Target) {
    write(t, "Condition-example.json", "IDCR - Problem List.v1").await;
}
pub async fn allergy(t: &Target) {
    write(
        t,
        "AllergyIntolerance-example.json",
        "Adverse Reaction List.v1",
    )
    .await;
}
pub async fn medication_statement(t: &Target) {
    write(
        t,
        "MedicationStatement-example004.json",
        "IDCR - Medication List.v0",
    )
    .await;
}
pub async fn diagnostic_report(t: &Target) {
    write(
        t,
        "DiagnosticReport-f201.json",
        "vg_DiagnosticReportLab.v1.1.1",
    )
    .await;
}
pub async fn procedure(t: &Target) {
    write(t, "Procedure-biopsy.json", "GECCO_Prozedur").await;
}
pub async fn immunization(t: &Target) {
    write(
        t,
        "Immunization-example.json",
        "IDCR - Immunisation summary.v0",
    )
    .await;
}
pub async fn document_reference(t: &Target) {
    write(
        t,
        "DocumentReference-example.json",
        "EHRN-ABDM-OPConsultRecord.v2.0",
    )
    .await;
}
