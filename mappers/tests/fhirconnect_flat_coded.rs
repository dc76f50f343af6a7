//! FLAT -> FHIR keeps coded texts: a DV_CODED_TEXT given as `|code`,
//! `|value` and `|terminology` keys (in any order) is read as one coded
//! value, so the FHIR resource gets the coding back (lab test name,
//! allergy manifestation), not just a text.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ehrgate_mappers::fhirconnect::flat::{from_flat, to_flat};
use ehrgate_mappers::fhirconnect::shipped::by_name;
use serde_json::{json, Map, Value};

/// FHIR -> instance -> FLAT -> instance -> FHIR through `set`.
fn via_flat(set: &str, file: &str) -> (Map<String, Value>, Value) {
    let engine = by_name(set).unwrap().engine().unwrap();
    let index = engine.index().unwrap();
    let r = common::json(file);
    let flat = to_flat(&engine.fhir_to_instance(&r).unwrap().output, index);
    let (inst, unknown) = from_flat(&flat, index);
    assert!(unknown.is_empty(), "{unknown:?}");
    (flat, engine.instance_to_fhir(&inst).unwrap().output)
}

#[test]
fn a_lab_test_name_read_from_flat_comes_back_coded() {
    let (flat, back) = via_flat("lab_observation", "fhir/examples/Observation-f001.json");
    let key = "vg_observationlab.v.1.1.0/laboratory_test_result/any_event:0/test_name";
    assert_eq!(flat[&format!("{key}|code")], "15074-8", "{flat:#?}");
    assert_eq!(back["code"]["coding"][0]["code"], "15074-8", "{back:#}");
    assert_eq!(back["code"]["coding"][0]["system"], "http://loinc.org");
}

#[test]
fn an_allergy_manifestation_read_from_flat_comes_back_coded() {
    let file = "fhir/examples/AllergyIntolerance-example.json";
    let r = common::json(file);
    let (_, back) = via_flat("adverse_reaction_list", file);
    let want = &r["reaction"][0]["manifestation"][0]["coding"][0];
    let got = &back["reaction"][0]["manifestation"][0]["coding"][0];
    assert_eq!(got["code"], want["code"], "{back:#}");
    assert_eq!(got["system"], want["system"]);
}

#[test]
fn the_key_order_does_not_decide_the_data_type() {
    let engine = by_name("lab_observation").unwrap().engine().unwrap();
    let index = engine.index().unwrap();
    let key = "vg_observationlab.v.1.1.0/laboratory_test_result/any_event:0/test_name";
    let keys = [
        (
            format!("{key}|value"),
            json!("Glucose [Moles/volume] in Blood"),
        ),
        (format!("{key}|code"), json!("15074-8")),
        (format!("{key}|terminology"), json!("LOINC")),
    ];
    // every rotation of the three keys reads as the same coded text
    for start in 0..keys.len() {
        let mut flat = Map::new();
        for i in 0..keys.len() {
            let (k, v) = &keys[(start + i) % keys.len()];
            flat.insert(k.clone(), v.clone());
        }
        let (inst, _) = from_flat(&flat, index);
        let leaf = inst.leaves.values().next().unwrap();
        assert_eq!(leaf.rm_type.as_deref(), Some("DV_CODED_TEXT"), "{start}");
        assert_eq!(leaf.text("code"), Some("15074-8"));
        let back = engine.instance_to_fhir(&inst).unwrap().output;
        assert_eq!(back["code"]["coding"][0]["system"], "http://loinc.org");
    }
    // a plain text stays a text
    let mut flat = Map::new();
    flat.insert(format!("{key}|value"), json!("free text name"));
    let (inst, _) = from_flat(&flat, index);
    let leaf = inst.leaves.values().next().unwrap();
    assert_ne!(leaf.rm_type.as_deref(), Some("DV_QUANTITY"));
}
