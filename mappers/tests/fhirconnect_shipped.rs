//! The shipped mapping sets (`templates/mappings/`): each loads, compiles
//! against its template and names it in its context; each round-trips the
//! corpus FHIR examples of its kind (FHIR -> openEHR -> FHIR -> openEHR with
//! identical compositions), maps at least the elements listed, and every
//! FHIR resource it produces parses with fhirbolt... (see the schema test
//! below for what is checked).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ehrgate_mappers::fhirconnect::check::check;
use ehrgate_mappers::fhirconnect::engine::EngineError;
use ehrgate_mappers::fhirconnect::flat::to_flat;
use ehrgate_mappers::fhirconnect::shipped::{by_name, find, SHIPPED};

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

/// Round-trips corpus files (paths under the corpus root) through the set
/// called `name`; every first composition passes the template check.
/// Returns the composition leaves per file.
fn round_trip_set(name: &str, files: &[&str]) -> Vec<usize> {
    let engine = by_name(name).unwrap().engine().unwrap();
    files
        .iter()
        .map(|f| {
            let r = common::json(f);
            let t = engine.fhir_to_instance(&r).unwrap();
            let issues = check(&t.output, engine.index().unwrap());
            assert!(issues.is_empty(), "{name} {f}: {issues:#?}");
            common::fhir_round_trip(&engine, &r)
        })
        .collect()
}

#[test]
fn body_weight_height_and_bmi_round_trip_by_their_vital_signs_loinc_codes() {
    let files = [
        "fhir/examples/Observation-body-height.json",
        "fhir/examples/Observation-body-length.json",
        "fhir/examples/Observation-bmi.json",
        "fhir/examples/Observation-example.json",
        "mappings/fhir-bridge/Observation/BodyWeight/create-body-weight_gramm.json",
        "mappings/fhir-bridge/Observation/BodyWeight/create-body-weight_pound.json",
        "mappings/fhir-bridge/Observation/BodyHeight/create-body-height_magnitude-min.json",
    ];
    // value and time each
    assert_eq!(round_trip_set("body_measurements", &files), vec![2; 7]);
    let engine = by_name("body_measurements").unwrap().engine().unwrap();
    let idx = engine.index().unwrap();
    let cases = [
        (
            "fhir/examples/Observation-body-height.json",
            "growth_chart/height_length/any_event:0/height_length",
            "[in_i]",
        ),
        (
            "fhir/examples/Observation-bmi.json",
            "growth_chart/body_mass_index/any_event:0/body_mass_index",
            "kg/m2",
        ),
        (
            "mappings/fhir-bridge/Observation/BodyWeight/create-body-weight_pound.json",
            "growth_chart/body_weight/any_event:0/weight",
            "[lb_av]",
        ),
    ];
    for (f, key, unit) in cases {
        let r = common::json(f);
        let flat = to_flat(&engine.fhir_to_instance(&r).unwrap().output, idx);
        assert_eq!(flat[&format!("{key}|unit")], unit, "{f}: {flat:#?}");
        assert_eq!(
            flat[&format!("{key}|magnitude")].as_f64(),
            r["valueQuantity"]["value"].as_f64(),
            "{f}"
        );
        // back: the LOINC code of the profile
        let back = engine
            .instance_to_fhir(&engine.fhir_to_instance(&r).unwrap().output)
            .unwrap()
            .output;
        let obs = &back["entry"][0]["resource"];
        assert_eq!(
            obs["code"]["coding"][0]["code"], r["code"]["coding"][0]["code"],
            "{f}"
        );
        assert_eq!(obs["valueQuantity"]["code"], unit);
    }
    // a heart rate is not a body measurement: nothing maps, which is an
    // error naming the resource rather than an empty composition
    let hr = common::json("fhir/examples/Observation-heart-rate.json");
    assert_eq!(
        engine.fhir_to_instance(&hr).unwrap_err(),
        EngineError::NothingMapped {
            resource: "Observation".into()
        }
    );
}

#[test]
fn medication_statements_round_trip_through_the_medication_list() {
    let coded = [
        "fhir/examples/MedicationStatement-example003.json",
        "fhir/examples/MedicationStatement-example004.json",
        "fhir/examples/MedicationStatement-example005.json",
        "fhir/examples/MedicationStatement-example006.json",
    ];
    let leaves = round_trip_set("medication_list", &coded);
    // medication + start date at least; 003/004/006 also route and directions
    assert!(leaves.iter().all(|n| *n >= 2), "{leaves:?}");
    assert!(leaves.iter().sum::<usize>() >= 2 * 4 + 3 * 2, "{leaves:?}");
    let engine = by_name("medication_list").unwrap().engine().unwrap();
    let r = common::json("fhir/examples/MedicationStatement-example004.json");
    let t = engine.fhir_to_instance(&r).unwrap();
    let flat = to_flat(&t.output, engine.index().unwrap());
    let p = "current_medication_list/medication_and_medical_devices:0/current_medication:0/medication_order:0/order:0";
    assert_eq!(
        flat[&format!("{p}/medication_item|code")],
        "27658006",
        "{flat:#?}"
    );
    assert_eq!(
        flat[&format!("{p}/medication_item|terminology")],
        "SNOMED-CT"
    );
    assert_eq!(flat[&format!("{p}/route:0|code")], "260548002");
    assert_eq!(flat[&format!("{p}/clinical_indication:0|code")], "65363002");
    let back = engine.instance_to_fhir(&t.output).unwrap().output;
    assert_eq!(
        back["medicationCodeableConcept"],
        r["medicationCodeableConcept"]
    );
    assert_eq!(back["dosage"][0]["text"], r["dosage"][0]["text"]);
    // text and route are one Dosage, as in the input
    assert_eq!(back["dosage"].as_array().unwrap().len(), 1, "{back:#}");
    assert_eq!(
        back["dosage"][0]["route"]["coding"][0]["code"],
        r["dosage"][0]["route"]["coding"][0]["code"]
    );
    assert_eq!(back["effectiveDateTime"], r["effectiveDateTime"]);
    // FHIR requires a status; the list has none, so it comes back unknown
    assert_eq!(back["status"], "unknown");
}

#[test]
fn a_contained_medication_is_resolved_and_comes_back_as_a_codeable_concept() {
    // medicationReference `#med...` names a contained Medication: its code
    // is the medication item; the way back writes medicationCodeableConcept.
    let engine = by_name("medication_list").unwrap().engine().unwrap();
    let idx = engine.index().unwrap();
    let p = "current_medication_list/medication_and_medical_devices:0/current_medication:0/medication_order:0/order:0";
    for f in ["001", "002", "007"] {
        let r = common::json(&format!(
            "fhir/examples/MedicationStatement-example{f}.json"
        ));
        let t = engine.fhir_to_instance(&r).unwrap();
        assert!(check(&t.output, idx).is_empty(), "{f}");
        let coding = &r["contained"][0]["code"]["coding"][0];
        let flat = to_flat(&t.output, idx);
        assert_eq!(
            flat[&format!("{p}/medication_item|code")],
            coding["code"],
            "{f}"
        );
        // the reference itself was used; the Medication's form is not kept
        let unmapped: Vec<&str> = t.unmapped.iter().map(|u| u.location.as_str()).collect();
        assert!(!unmapped.contains(&"MedicationStatement.medicationReference.reference"));
        assert!(unmapped.contains(&"MedicationStatement.contained[0].form.coding[0].code"));
        let back = engine.instance_to_fhir(&t.output).unwrap().output;
        assert_eq!(
            back["medicationCodeableConcept"]["coding"][0]["code"],
            coding["code"]
        );
        assert_eq!(
            back["medicationCodeableConcept"]["coding"][0]["system"],
            coding["system"]
        );
        assert!(back.get("medicationReference").is_none() && back.get("contained").is_none());
        // and round-trips from there
        assert!(common::fhir_round_trip(&engine, &r) >= 1, "{f}");
    }
    // a reference outside the resource is not guessed: with nothing else
    // mapped, the translation fails naming the resource
    let mut r = common::json("fhir/examples/MedicationStatement-example007.json");
    r["medicationReference"]["reference"] = "Medication/elsewhere".into();
    assert_eq!(
        engine.fhir_to_instance(&r).unwrap_err(),
        EngineError::NothingMapped {
            resource: "MedicationStatement".into()
        }
    );
}

#[test]
fn lab_observations_round_trip_with_status_codes_as_at_codes() {
    let files: Vec<String> = [
        "f001",
        "f002",
        "f003",
        "f004",
        "f005",
        "f203",
        "f204",
        "f206",
        "bloodgroup",
        "rhstatus",
        "unsat",
    ]
    .iter()
    .map(|s| format!("fhir/examples/Observation-{s}.json"))
    .collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let leaves = round_trip_set("lab_observation", &files);
    // test name and result status everywhere, a result in all but `unsat`
    assert!(leaves.iter().all(|n| *n >= 2), "{leaves:?}");
    let engine = by_name("lab_observation").unwrap().engine().unwrap();
    let idx = engine.index().unwrap();
    let r = common::json("fhir/examples/Observation-f001.json");
    let t = engine.fhir_to_instance(&r).unwrap();
    let flat = to_flat(&t.output, idx);
    let p = "vg_observationlab.v.1.1.0/laboratory_test_result/any_event:0";
    let a = format!("{p}/laboratory_analyte_result:0");
    assert_eq!(flat[&format!("{p}/test_name|code")], "15074-8", "{flat:#?}");
    assert_eq!(flat[&format!("{a}/analyte_result:0|magnitude")], 6.3);
    assert_eq!(flat[&format!("{a}/analyte_result:0|unit")], "mmol/L");
    assert_eq!(flat[&format!("{a}/result_status:0|code")], "at0018");
    let back = engine.instance_to_fhir(&t.output).unwrap().output;
    assert_eq!(back["status"], "final");
    assert_eq!(back["code"]["coding"][0]["code"], "15074-8");
    assert_eq!(back["valueQuantity"]["value"], 6.3);
    assert_eq!(back["issued"], r["issued"]);
    // a coded result stays coded
    let r = common::json("fhir/examples/Observation-f206.json");
    let back = engine
        .instance_to_fhir(&engine.fhir_to_instance(&r).unwrap().output)
        .unwrap()
        .output;
    assert_eq!(
        back["valueCodeableConcept"]["coding"],
        r["valueCodeableConcept"]["coding"]
    );
}

/// A status with no at-code (`unknown`) against the analyte's result status,
/// whose template allows coded local terms or text: stored as text (the
/// archetype's "other terms via the text choice"), which the template check
/// accepts, instead of a coded text outside the local list, which it (and
/// EHRbase) refuses.
#[test]
fn lab_observation_status_without_an_at_code_is_kept_as_text() {
    let engine = by_name("lab_observation").unwrap().engine().unwrap();
    let idx = engine.index().unwrap();
    let mut r = common::json("fhir/examples/Observation-f001.json");
    r["status"] = "unknown".into();
    let t = engine.fhir_to_instance(&r).unwrap();
    let issues = check(&t.output, idx);
    assert!(issues.is_empty(), "{issues:?}");
    let flat = to_flat(&t.output, idx);
    let a =
        "vg_observationlab.v.1.1.0/laboratory_test_result/any_event:0/laboratory_analyte_result:0";
    // FLAT writes text in an open coded list as `|other` (EHRbase's
    // spelling; a plain value there would read back as the coded text).
    assert_eq!(
        flat[&format!("{a}/result_status:0|other")],
        "unknown",
        "{flat:#?}"
    );
    assert!(!flat.contains_key(&format!("{a}/result_status:0|code")));
    assert!(!flat.contains_key(&format!("{a}/result_status:0")));
}

#[test]
fn diagnostic_reports_round_trip_through_the_lab_report() {
    let files: Vec<String> = ["102", "example-pgx", "f201", "pap", "ultrasound"]
        .iter()
        .map(|s| format!("fhir/examples/DiagnosticReport-{s}.json"))
        .collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let leaves = round_trip_set("lab_report", &files);
    // name, status, issued, time in every one
    assert!(leaves.iter().all(|n| *n >= 4), "{leaves:?}");
    let engine = by_name("lab_report").unwrap().engine().unwrap();
    let r = common::json("fhir/examples/DiagnosticReport-f201.json");
    let t = engine.fhir_to_instance(&r).unwrap();
    let back = engine.instance_to_fhir(&t.output).unwrap().output;
    for k in [
        "status",
        "issued",
        "effectiveDateTime",
        "conclusion",
        "conclusionCode",
    ] {
        assert_eq!(back[k], r[k], "{k}");
    }
    assert_eq!(back["code"]["coding"], r["code"]["coding"]);
    // result references are reported, not silently dropped
    let r = common::json("fhir/examples/DiagnosticReport-102.json");
    let t = engine.fhir_to_instance(&r).unwrap();
    assert!(t
        .unmapped
        .iter()
        .any(|u| u.location == "DiagnosticReport.result[0].reference"));
}
