//! The shipped `immunization` set (FHIR Immunization <-> `IDCR -
//! Immunisation summary.v0`): every corpus Immunization round-trips
//! (FHIR -> openEHR -> FHIR -> openEHR with identical compositions), every
//! composition passes the template check, and the vaccine code, dose
//! number, time and status come back as they went in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ehrgate_mappers::fhirconnect::check::check;
use ehrgate_mappers::fhirconnect::flat::to_flat;
use ehrgate_mappers::fhirconnect::shipped::{by_name, find};

/// The corpus Immunizations with an occurrence date-time.
pub const FILES: &[&str] = &[
    "fhir/examples/Immunization-example.json",
    "fhir/examples/Immunization-notGiven.json",
    "fhir/examples/Immunization-protocol.json",
    "fhir/examples/Immunization-subpotent.json",
    "mappings/fhir-bridge/Immunization/create-immunization-for-patient-complete.json",
];

/// The corpus Immunizations without one, and why the template check
/// refuses them: the action's time is mandatory in openEHR and the FHIR
/// input gives none the composition can hold.
pub const REFUSED: &[(&str, &str)] = &[
    (
        "fhir/examples/Immunization-historical.json",
        "occurrenceString (`January 2012`) is free text, not a date-time",
    ),
    (
        "mappings/fhir-bridge/Immunization/create-immunization-for-patient-not-done.json",
        "occurrenceDateTime is absent (data-absent-reason `unknown`)",
    ),
];

#[test]
fn immunizations_without_a_time_are_refused_by_the_template_check() {
    let engine = by_name("immunization").unwrap().engine().unwrap();
    for (f, why) in REFUSED {
        let r = common::json(f);
        let t = engine.fhir_to_instance(&r).unwrap();
        let issues = check(&t.output, engine.index().unwrap());
        assert!(
            issues.iter().any(|i| i.code == "template.required"
                && i.openehr_path == "/content[openEHR-EHR-ACTION.immunisation_procedure.v1]/time"),
            "{f} ({why}): {issues:#?}"
        );
        // what it did carry is still mapped (vaccine, status)
        assert!(t.output.leaves.len() >= 3, "{f}");
    }
}

#[test]
fn corpus_immunizations_round_trip_and_pass_the_template_check() {
    let engine = by_name("immunization").unwrap().engine().unwrap();
    let index = engine.index().unwrap();
    for f in FILES {
        let r = common::json(f);
        let t = engine.fhir_to_instance(&r).unwrap();
        let issues = check(&t.output, index);
        assert!(issues.is_empty(), "{f}: {issues:#?}");
        let back = engine.instance_to_fhir(&t.output).unwrap().output;
        if std::env::var_os("SHOW").is_some() {
            eprintln!(
                "{f}: {:#?}\n{back:#}\n{:#?}",
                t.output
                    .leaves
                    .keys()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>(),
                t.warnings
            );
        }
        let leaves = common::fhir_round_trip(&engine, &r);
        // vaccine, status (step + state) and time at least (the time
        // where the resource has one)
        let want = 3 + usize::from(r["occurrenceDateTime"].is_string());
        assert!(leaves >= want, "{f}: {leaves}");
        assert_eq!(back["resourceType"], "Immunization", "{f}");
        assert_eq!(back["status"], r["status"], "{f}");
        for k in ["system", "code"] {
            assert_eq!(
                back["vaccineCode"]["coding"][0][k], r["vaccineCode"]["coding"][0][k],
                "{f}"
            );
        }
        assert_eq!(back["occurrenceDateTime"], r["occurrenceDateTime"], "{f}");
        // the template holds one dose number per action: the first
        let dose = &r["protocolApplied"][0]["doseNumberPositiveInt"];
        assert_eq!(
            &back["protocolApplied"][0]["doseNumberPositiveInt"], dose,
            "{f}"
        );
        if r["protocolApplied"][1].is_object() {
            assert!(back["protocolApplied"][1].is_null(), "{f}");
            assert!(t
                .warnings
                .iter()
                .any(|w| w.location == "Immunization.protocolApplied[1].doseNumberPositiveInt"));
        }
    }
}

#[test]
fn the_vaccine_keeps_its_code_and_the_status_becomes_the_pathway_step() {
    let engine = find("IDCR - Immunisation summary.v0")
        .unwrap()
        .engine()
        .unwrap();
    let idx = engine.index().unwrap();
    let r = common::json("fhir/examples/Immunization-protocol.json");
    let flat = to_flat(&engine.fhir_to_instance(&r).unwrap().output, idx);
    let p = "immunisation_summary/immunisation_procedure:0";
    assert_eq!(
        flat[&format!("{p}/immunisation_name|code")],
        "104",
        "{flat:#?}"
    );
    assert_eq!(flat[&format!("{p}/immunisation_name|terminology")], "CVX");
    assert_eq!(
        flat[&format!("{p}/series_number")],
        1,
        "the first dose number"
    );
    assert_eq!(
        flat[&format!("{p}/ism_transition/careflow_step|code")],
        "at0006"
    );
    assert_eq!(
        flat[&format!("{p}/ism_transition/current_state|code")],
        "245"
    );
    let r = common::json("fhir/examples/Immunization-notGiven.json");
    let flat = to_flat(&engine.fhir_to_instance(&r).unwrap().output, idx);
    assert_eq!(
        flat[&format!("{p}/ism_transition/careflow_step|code")],
        "at0010"
    );
    assert_eq!(
        flat[&format!("{p}/ism_transition/current_state|code")],
        "528"
    );
}

#[test]
fn an_entered_in_error_status_is_reported_unmapped() {
    // No pathway step stands for "entered in error": no step is written
    // and the status is reported, not silently turned into "given".
    let engine = by_name("immunization").unwrap().engine().unwrap();
    let mut r = common::json("fhir/examples/Immunization-example.json");
    r["status"] = "entered-in-error".into();
    let t = engine.fhir_to_instance(&r).unwrap();
    assert!(t
        .unmapped
        .iter()
        .any(|u| u.location == "Immunization.status"));
    assert!(!t
        .output
        .leaves
        .keys()
        .any(|p| p.to_string().contains("ism_transition")));
}
