//! The `lab_report` set's specimen: a DiagnosticReport whose `specimen`
//! references a contained Specimen (how the openEHR feed hands over an
//! ORU's SPM) fills the laboratory result's specimen cluster, passes the
//! template check and comes back contained, for every corpus Specimen.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ehrgate_mappers::fhirconnect::check::check;
use ehrgate_mappers::fhirconnect::flat::to_flat;
use ehrgate_mappers::fhirconnect::shipped::by_name;
use serde_json::{json, Value};

/// Corpus Specimens.
pub const SPECIMENS: &[&str] = &[
    "fhir/examples/Specimen-101.json",
    "fhir/examples/Specimen-isolate.json",
    "fhir/examples/Specimen-sst.json",
];

/// Corpus DiagnosticReport-f201 with `specimen` contained and referenced.
pub fn report_with(specimen: &Value) -> Value {
    let mut r = common::json("fhir/examples/DiagnosticReport-f201.json");
    let mut s = specimen.clone();
    s["id"] = "spec".into();
    // a contained resource has no narrative of its own
    s.as_object_mut().unwrap().remove("text");
    r["contained"] = json!([s]);
    r["specimen"] = json!([{"reference": "#spec"}]);
    r
}

#[test]
fn contained_specimens_fill_the_specimen_cluster_and_round_trip() {
    let engine = by_name("lab_report").unwrap().engine().unwrap();
    let index = engine.index().unwrap();
    for f in SPECIMENS {
        let s = common::json(f);
        let r = report_with(&s);
        let t = engine.fhir_to_instance(&r).unwrap();
        let issues = check(&t.output, index);
        assert!(issues.is_empty(), "{f}: {issues:#?}");
        let flat = to_flat(&t.output, index);
        if std::env::var_os("SHOW").is_some() {
            eprintln!("{f}: {flat:#?}\n{:#?}", t.unmapped);
        }
        let cluster = "vg_diagnosticreportlab.v1.1.1/laboratory_test_result/any_event:0/specimen";
        assert!(
            flat.keys().any(|k| k.starts_with(cluster)),
            "{f}: {flat:#?}"
        );
        // the report's own leaves plus the specimen's, identical after a
        // round trip through FHIR
        common::fhir_round_trip(&engine, &r);
        let back = engine.instance_to_fhir(&t.output).unwrap().output;
        let reference = back["specimen"][0]["reference"].as_str().unwrap();
        let id = reference.strip_prefix('#').unwrap();
        let contained = back["contained"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        assert_eq!(contained["resourceType"], "Specimen", "{f}");
        if let Some(text) = s["type"]["text"].as_str() {
            assert_eq!(contained["type"]["text"], text, "{f}");
        }
        if let Some(received) = s["receivedTime"].as_str() {
            assert_eq!(contained["receivedTime"], received, "{f}");
        }
        if let Some(collected) = s["collection"]["collectedDateTime"].as_str() {
            assert_eq!(
                contained["collection"]["collectedDateTime"], collected,
                "{f}"
            );
        }
        assert_eq!(
            contained["identifier"][0]["value"], s["identifier"][0]["value"],
            "{f}"
        );
    }
}

#[test]
fn a_specimen_outside_the_report_is_reported_not_resolved() {
    let engine = by_name("lab_report").unwrap().engine().unwrap();
    let mut r = common::json("fhir/examples/DiagnosticReport-f201.json");
    r["specimen"] = json!([{"reference": "Specimen/101"}]);
    let t = engine.fhir_to_instance(&r).unwrap();
    assert!(t
        .warnings
        .iter()
        .any(|w| w.location.starts_with("DiagnosticReport.specimen[0]")));
    assert!(!t
        .output
        .leaves
        .keys()
        .any(|p| p.to_string().contains("CLUSTER.specimen")));
}

#[test]
fn a_second_specimen_fails_the_template_check() {
    // one specimen cluster per event: two are not stored as one
    let engine = by_name("lab_report").unwrap().engine().unwrap();
    let a = common::json(SPECIMENS[0]);
    let mut r = report_with(&a);
    let mut b = common::json(SPECIMENS[2]);
    b["id"] = "spec2".into();
    b.as_object_mut().unwrap().remove("text");
    r["contained"].as_array_mut().unwrap().push(b);
    r["specimen"]
        .as_array_mut()
        .unwrap()
        .push(json!({"reference": "#spec2"}));
    let t = engine.fhir_to_instance(&r).unwrap();
    let issues = check(&t.output, engine.index().unwrap());
    assert!(
        issues.iter().any(|i| i.code == "template.occurrences"),
        "{issues:#?}"
    );
}
