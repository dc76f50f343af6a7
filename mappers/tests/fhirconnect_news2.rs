//! NEWS2 (`mappings/openfhir/news2/`, eight models): the corpus FHIR Bundle
//! round-trips FHIR -> openEHR -> FHIR with every mapped element intact, and
//! the corpus FLAT composition (a separate instance, not the Bundle's
//! expected output: its values differ) round-trips FLAT -> FHIR -> FLAT.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ehrgate_mappers::fhirconnect::engine::Engine;
use ehrgate_mappers::fhirconnect::flat::to_flat;

fn engine() -> Engine {
    let c = common::corpus();
    common::engine(
        &c.join("mappings/openfhir/news2"),
        &c.join("openehr/templates/NEWS2 Encounter Parent.opt"),
    )
}

#[test]
fn bundle_maps_every_observation_to_its_archetype() {
    let engine = engine();
    let bundle = common::json("mappings/openfhir/news2/exampleBundle.json");
    let t = engine.fhir_to_instance(&bundle).unwrap();
    let flat = to_flat(&t.output, engine.index().unwrap());
    // One value per vital sign, at event 0 of its own archetype.
    let p = "news2_encounter_parent";
    assert_eq!(
        flat[&format!("{p}/blood_pressure/any_event:0/systolic|magnitude")],
        120
    );
    assert_eq!(
        flat[&format!("{p}/pulse_heart_beat/any_event:0/rate|magnitude")],
        95
    );
    // SpO2 is a DV_PROPORTION in the template: the % quantity becomes a
    // percent proportion; the pulse unit `{beats}/min` takes the template's
    // annotation-free `/min`.
    assert_eq!(
        flat[&format!("{p}/pulse_oximetry/any_event:0/spo|numerator")],
        93
    );
    assert_eq!(flat[&format!("{p}/pulse_oximetry/any_event:0/spo|type")], 2);
    assert_eq!(
        flat[&format!("{p}/pulse_heart_beat/any_event:0/rate|unit")],
        "/min"
    );
    assert_eq!(
        flat[&format!("{p}/respiration/any_event:0/rate|magnitude")],
        21
    );
    assert_eq!(
        flat[&format!("{p}/body_temperature/any_event:0/temperature|magnitude")],
        37.5
    );
    assert_eq!(
        flat[&format!("{p}/acvpu_scale/any_point_in_time_event:0/acvpu|code")],
        "at0007"
    );
    // Scores are ordinals in the template: the integer picks the ordinal.
    // (The NEWS2 event has no FLAT segment in the web template, as in the
    // corpus FLAT file.)
    let e = format!("{p}/national_early_warning_score_2_news2");
    assert_eq!(flat[&format!("{e}/pulse|code")], "at0012");
    assert_eq!(flat[&format!("{e}/pulse|ordinal")], 1);
    // Nothing unmapped is reported with a value in it.
    for u in &t.unmapped {
        assert!(
            !u.location.contains("120") && u.location.starts_with("Bundle"),
            "{u:?}"
        );
    }
}

#[test]
fn bundle_round_trips() {
    let engine = engine();
    let leaves = common::fhir_round_trip(
        &engine,
        &common::json("mappings/openfhir/news2/exampleBundle.json"),
    );
    // acvpu 1, blood pressure 3 (systolic, diastolic, location), body
    // temperature 1, pulse 1, SpO2 1, respiration 1, NEWS2 7 sub-scores +
    // total + event time = 9.
    assert_eq!(leaves, 17);
}

#[test]
fn flat_round_trips() {
    let (carried, _) = common::flat_round_trip(
        &engine(),
        "mappings/openfhir/news2/news2_encounter_parent_FLAT.json",
        // FHIR carries a NEWS2 sub-score as a number only; the respiration
        // rate score 3 is both `<=8` (at0021) and `>=25` (at0064), so the
        // way back picks the first (with a warning).
        &[
            "news2_encounter_parent/national_early_warning_score_2_news2/respiration_rate|code",
            "news2_encounter_parent/national_early_warning_score_2_news2/respiration_rate|value",
        ],
    );
    assert!(carried >= 10, "{carried}");
}

#[test]
fn canonical_output_reads_back_to_the_same_leaves() {
    use ehrgate_mappers::fhirconnect::canonical::{
        from_canonical, to_canonical, CanonicalDefaults,
    };
    let engine = engine();
    let t = engine
        .fhir_to_instance(&common::json("mappings/openfhir/news2/exampleBundle.json"))
        .unwrap();
    let defaults = CanonicalDefaults {
        language: "en".into(),
        territory: "GB".into(),
        composer: "ehrgate".into(),
        time: "2024-01-01T00:00:00Z".into(),
    };
    let comp = to_canonical(&t.output, engine.index().unwrap(), &defaults);
    if std::env::var_os("SHOW").is_some() {
        eprintln!("{}", serde_json::to_string_pretty(&comp).unwrap());
    }
    assert_eq!(comp["_type"], "COMPOSITION");
    assert_eq!(
        comp["archetype_details"]["template_id"]["value"],
        "NEWS2 Encounter Parent"
    );
    let (back, unmapped) = from_canonical(&comp);
    assert!(unmapped.is_empty(), "{unmapped:?}");
    for (p, leaf) in &t.output.leaves {
        assert_eq!(
            back.leaves.get(p).map(|l| &l.fields),
            Some(&leaf.fields),
            "{p}"
        );
    }
}

#[test]
fn template_check_passes_the_mapped_bundle_and_names_both_paths_on_violations() {
    use ehrgate_mappers::fhirconnect::check::{check, operation_outcome};
    use ehrgate_mappers::fhirconnect::instance::Leaf;
    let engine = engine();
    let index = engine.index().unwrap();
    let mut bundle = common::json("mappings/openfhir/news2/exampleBundle.json");
    let t = engine.fhir_to_instance(&bundle).unwrap();
    let issues = check(&t.output, index);
    assert!(issues.is_empty(), "{issues:#?}");

    // A unit the template does not allow, coming from FHIR.
    let bp = bundle["entry"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["resource"]["code"]["coding"][0]["code"] == "75367002")
        .unwrap();
    bp["resource"]["component"][0]["valueQuantity"]["code"] = serde_json::json!("kg");
    let t = engine.fhir_to_instance(&bundle).unwrap();
    let issues = check(&t.output, index);
    assert_eq!(issues.len(), 1, "{issues:#?}");
    assert_eq!(issues[0].code, "template.unit-not-allowed");
    assert_eq!(
        issues[0].openehr_path,
        "/content[openEHR-EHR-OBSERVATION.blood_pressure.v2]/data[at0001]/events[at0006]/data[at0003]/items[at0004]"
    );
    assert!(
        issues[0]
            .fhir_path
            .as_deref()
            .unwrap()
            .ends_with(".component[0].valueQuantity"),
        "{issues:?}"
    );
    let oo = operation_outcome(&issues);
    assert_eq!(oo["issue"][0]["code"], "code-invalid");
    assert!(oo["issue"][0]["expression"][0]
        .as_str()
        .unwrap()
        .starts_with("Bundle.entry["));

    // Unknown paths and data types are caught too.
    let mut inst = t.output;
    let first = inst.leaves.keys().next().unwrap().clone();
    let mut bogus = first.clone();
    bogus.0.last_mut().unwrap().node = "at9999".into();
    inst.put(bogus, Leaf::new("DV_TEXT", [("", serde_json::json!("x"))]));
    inst.leaves.get_mut(&first).unwrap().rm_type = Some("DV_BOOLEAN".into());
    let codes: Vec<&str> = check(&inst, index).iter().map(|i| i.code).collect();
    assert!(
        codes.contains(&"template.unknown-path") && codes.contains(&"template.data-type"),
        "{codes:?}"
    );
}
