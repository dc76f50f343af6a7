//! The shipped mapping sets (`templates/mappings/`): each loads, compiles
//! against its template and names it in its context; each round-trips the
//! corpus FHIR examples of its kind (FHIR -> openEHR -> FHIR -> openEHR with
//! identical compositions), maps at least the elements listed, and every
//! FHIR resource it produces parses with fhirbolt... (see the schema test
//! below for what is checked).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ehrgate_mappers::fhirconnect::check::check;
use ehrgate_mappers::fhirconnect::flat::to_flat;
use ehrgate_mappers::fhirconnect::shipped::{find, SHIPPED};

#[test]
fn every_shipped_set_compiles_against_its_template() {
    for s in SHIPPED {
        let engine = s.engine().unwrap_or_else(|e| panic!("{}: {e}", s.name));
        let set = engine.set();
        assert_eq!(
            set.context_body().unwrap().template.id,
            s.template_id,
            "{}",
            s.name
        );
        assert_eq!(
            engine.index().unwrap().template_id,
            s.template_id,
            "{}",
            s.name
        );
    }
    assert!(find("no such template").is_err());
}

/// Round-trips `files` through the set for `template`; returns the total
/// number of composition leaves.
fn round_trip(template: &str, files: &[&str]) -> usize {
    let engine = find(template).unwrap().engine().unwrap();
    files
        .iter()
        .map(|f| {
            let r = common::json(&format!("fhir/examples/{f}"));
            common::fhir_round_trip(&engine, &r)
        })
        .sum()
}

#[test]
fn conditions_round_trip_through_the_problem_list() {
    let files = [
        "Condition-example.json",
        "Condition-example2.json",
        "Condition-f001.json",
        "Condition-f002.json",
        "Condition-f003.json",
        "Condition-f201.json",
        "Condition-f202.json",
        "Condition-f203.json",
        "Condition-f204.json",
        "Condition-f205.json",
        "Condition-stroke.json",
    ];
    // every Condition has a code; most an onset date and a recorded date
    assert!(round_trip("IDCR - Problem List.v1", &files) >= 11 + 8);
}

#[test]
fn allergies_round_trip_through_the_adverse_reaction_list() {
    let files = [
        "AllergyIntolerance-example.json",
        "AllergyIntolerance-fishallergy.json",
        "AllergyIntolerance-medication.json",
        "AllergyIntolerance-nka.json",
        "AllergyIntolerance-nkda.json",
        "AllergyIntolerance-nkla.json",
    ];
    assert!(round_trip("Adverse Reaction List.v1", &files) >= 6 * 3);
}

#[test]
fn allergy_codes_become_at_codes_and_pass_the_template_check() {
    let engine = find("Adverse Reaction List.v1").unwrap().engine().unwrap();
    let r = common::json("fhir/examples/AllergyIntolerance-example.json");
    let t = engine.fhir_to_instance(&r).unwrap();
    let flat = to_flat(&t.output, engine.index().unwrap());
    let p = "adverse_reaction_list/allergies_and_adverse_reactions/adverse_reaction_risk:0";
    assert_eq!(
        flat[&format!("{p}/criticality|code")],
        "at0103",
        "{flat:#?}"
    );
    assert_eq!(flat[&format!("{p}/criticality|value")], "High");
    assert_eq!(flat[&format!("{p}/category|code")], "at0121");
    assert_eq!(
        flat[&format!("{p}/reaction_event:0/severity|code")],
        "at0090"
    );
    assert!(check(&t.output, engine.index().unwrap()).is_empty());
    let back = engine.instance_to_fhir(&t.output).unwrap().output;
    assert_eq!(back["criticality"], "high");
    assert_eq!(back["category"][0], "food");
    assert_eq!(back["reaction"][0]["severity"], "severe");
}

#[test]
fn vital_sign_examples_round_trip_through_the_vital_signs_set() {
    let files = [
        "Observation-blood-pressure.json",
        "Observation-heart-rate.json",
        "Observation-body-temperature.json",
        "Observation-respiratory-rate.json",
        "Observation-satO2.json",
    ];
    let engine = find("EHRN Vital signs.v2").unwrap().engine().unwrap();
    for f in files {
        let r = common::json(&format!("fhir/examples/{f}"));
        // value (BP: systolic + diastolic) and event time
        let n = common::fhir_round_trip(&engine, &r);
        let want = if f.contains("blood-pressure") { 3 } else { 2 };
        assert_eq!(n, want, "{f}");
        let t = engine.fhir_to_instance(&r).unwrap();
        assert!(check(&t.output, engine.index().unwrap()).is_empty(), "{f}");
    }
}
