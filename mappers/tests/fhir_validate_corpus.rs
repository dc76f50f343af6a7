//! R4 input validation over the official R4 examples of the corpus: valid
//! resources raise no problem (a validator that refuses the spec's own
//! examples would refuse real clients), and each kind of damage done to
//! one is found at its FHIR path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ehrgate_mappers::fhir_validate::{validate, ProblemKind};
use serde_json::json;

#[test]
fn every_official_example_is_valid() {
    let dir = common::corpus().join("fhir/examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() > 100, "{}", files.len());
    let mut failures = Vec::new();
    for f in &files {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let problems = validate(&v);
        if !problems.is_empty() {
            failures.push(format!("{}: {problems:?}", f.display()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn damage_to_an_example_is_found_where_it_is() {
    let mut obs = common::json("fhir/examples/Observation-heart-rate.json");
    obs["code"] = json!("Heart rate");
    obs["fooBar"] = json!(1);
    obs["valueQuantity"]["value"] = json!("44");
    obs["status"] = json!("draft");
    let got: Vec<(String, ProblemKind)> = validate(&obs)
        .into_iter()
        .map(|p| (p.path, p.kind))
        .collect();
    for (path, kind) in [
        (
            "Observation.code",
            ProblemKind::WrongType {
                expected: "CodeableConcept",
            },
        ),
        ("Observation.fooBar", ProblemKind::UnknownElement),
        (
            "Observation.valueQuantity.value",
            ProblemKind::WrongType { expected: "number" },
        ),
        ("Observation.status", ProblemKind::CodeNotAllowed),
    ] {
        assert!(
            got.contains(&(path.to_owned(), kind)),
            "{path} {kind:?} not in {got:?}"
        );
    }
    assert_eq!(got.len(), 4, "{got:?}");
}
