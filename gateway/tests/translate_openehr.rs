//! `ehrgate translate` between FHIR and openEHR, run as a process: output,
//! exit codes and the stderr naming of template violations.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

fn corpus(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance/corpus")
        .join(rel)
}

fn ehrgate(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ehrgate"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn fhir_to_flat_and_back() {
    let hr = corpus("fhir/examples/Observation-heart-rate.json");
    let (code, out, err) = ehrgate(&[
        "translate",
        "--from",
        "fhir",
        "--to",
        "openehr",
        "--template",
        "EHRN Vital signs.v2",
        "--format",
        "flat",
        hr.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let flat: serde_json::Value = serde_json::from_str(&out).unwrap();
    let key = flat
        .as_object()
        .unwrap()
        .keys()
        .find(|k| k.ends_with("heart_rate|magnitude"))
        .unwrap()
        .clone();
    assert_eq!(flat[&key], 44);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("flat.json");
    std::fs::write(&f, &out).unwrap();
    let report = dir.path().join("report.json");
    let (code, out, err) = ehrgate(&[
        "translate",
        "--from",
        "openehr",
        "--to",
        "fhir",
        f.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let bundle: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(bundle["entry"][0]["resource"]["valueQuantity"]["value"], 44);
    let rep: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(rep[0]["ok"], true);
}

#[test]
fn usage_and_template_errors_have_their_exit_codes() {
    let hr = corpus("fhir/examples/Observation-heart-rate.json");
    let (code, _, err) = ehrgate(&[
        "translate",
        "--from",
        "fhir",
        "--to",
        "openehr",
        "--template",
        "nope",
        hr.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("EHRN Vital signs.v2"),
        "lists the shipped templates: {err}"
    );
    let (code, _, _) = ehrgate(&[
        "translate",
        "--from",
        "fhir",
        "--to",
        "openehr",
        hr.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    // Growth chart test data uses body-weight units its template forbids.
    let flat = corpus("mappings/openfhir/growth_chart/growth_chart_flat.json");
    let (code, fhir, err) = ehrgate(&[
        "translate",
        "--from",
        "openehr",
        "--to",
        "fhir",
        "--template",
        "Growth chart",
        flat.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("gc.json");
    std::fs::write(&f, fhir).unwrap();
    let (code, out, err) = ehrgate(&[
        "translate",
        "--from",
        "fhir",
        "--to",
        "openehr",
        "--template",
        "Growth chart",
        f.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("template.unit-not-allowed")
            && err.contains("Bundle.entry[1].resource.valueQuantity"),
        "{err}"
    );
    assert!(!err.contains("502"), "no values in errors: {err}");
}

#[test]
fn openehr_to_fhir_takes_the_patient_reference_and_refuses_a_bad_one() {
    let condition = corpus("fhir/examples/Condition-f001.json");
    let to_openehr = [
        "translate",
        "--from",
        "fhir",
        "--to",
        "openehr",
        "--template",
        "IDCR - Problem List.v1",
        condition.to_str().unwrap(),
    ];
    let (code, comp, err) = ehrgate(&to_openehr);
    assert_eq!(code, 0, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("comp.json");
    std::fs::write(&f, comp).unwrap();
    let back = |subject: &str| {
        ehrgate(&[
            "translate",
            "--from",
            "openehr",
            "--to",
            "fhir",
            "--subject",
            subject,
            f.to_str().unwrap(),
        ])
    };
    let (code, out, err) = back("Patient/123");
    assert_eq!(code, 0, "{err}");
    let c: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(c["subject"]["reference"], "Patient/123");
    // malformed references are usage errors
    for bad in ["Patient/ 1", ""] {
        let (code, out, err) = back(bad);
        assert_eq!(code, 2, "{bad:?}: {err}");
        assert!(out.is_empty());
        assert!(err.contains("--subject"), "{err}");
    }
    // the other direction has no use for it
    let mut args = to_openehr.to_vec();
    args.extend(["--subject", "Patient/123"]);
    let (code, _, err) = ehrgate(&args);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_body_weight_observation_finds_its_set_by_template_id() {
    // `Growth chart` is mapped by two sets; a single Observation takes the
    // vital-signs one (a Bundle the openFHIR one, above).
    let weight =
        corpus("mappings/fhir-bridge/Observation/BodyWeight/create-body-weight_gramm.json");
    let (code, out, err) = ehrgate(&[
        "translate",
        "--from",
        "fhir",
        "--to",
        "openehr",
        "--template",
        "Growth chart",
        "--format",
        "flat",
        weight.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let flat: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        flat.as_object()
            .unwrap()
            .keys()
            .any(|k| k.ends_with("body_weight/any_event:0/weight|magnitude")),
        "{flat:#}"
    );
}

/// The shipped blood-pressure set writes a body position and a
/// confounding factor whatever comes in: a heart rate without a code text
/// (nothing of which it takes) is refused with exit 1 naming the resource,
/// not written as a composition of those constants.
#[test]
fn a_resource_the_set_takes_nothing_from_fails() {
    let dir = tempfile::tempdir().unwrap();
    let hr = dir.path().join("hr.json");
    let obs = serde_json::json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "valueQuantity": {"value": 44, "unit": "/min"}
    });
    std::fs::write(&hr, obs.to_string()).unwrap();
    let (code, out, err) = ehrgate(&[
        "translate",
        "--from",
        "fhir",
        "--to",
        "openehr",
        "--template",
        "Blood Pressure",
        hr.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("nothing of the Observation maps to this template"),
        "{err}"
    );
}

/// `Growth chart` is mapped by two sets; going back to FHIR the
/// composition's content picks one (issue 25), never the list order: a
/// composition of one body weight is the single-Observation set's, and its
/// Observation keeps the LOINC code with its system.
#[test]
fn openehr_to_fhir_picks_the_set_by_the_composition_content() {
    let weight =
        corpus("mappings/fhir-bridge/Observation/BodyWeight/create-body-weight_gramm.json");
    let (code, comp, err) = ehrgate(&[
        "translate",
        "--from",
        "fhir",
        "--to",
        "openehr",
        "--template",
        "Growth chart",
        weight.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("weight.json");
    std::fs::write(&f, comp).unwrap();
    let (code, out, err) = ehrgate(&[
        "translate",
        "--from",
        "openehr",
        "--to",
        "fhir",
        "--template",
        "Growth chart",
        f.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let fhir: serde_json::Value = serde_json::from_str(&out).unwrap();
    // the set answers a Bundle of its Observations (here one)
    let obs = match fhir["resourceType"].as_str() {
        Some("Bundle") => fhir["entry"][0]["resource"].clone(),
        _ => fhir.clone(),
    };
    assert_eq!(obs["resourceType"], "Observation", "{fhir:#}");
    assert_eq!(
        obs["code"]["coding"][0]["system"], "http://loinc.org",
        "{fhir:#}"
    );
    assert_eq!(obs["code"]["coding"][0]["code"], "29463-7", "{fhir:#}");
    // The four-measurement openFHIR composition still reads as its Bundle.
    let full = corpus("mappings/openfhir/growth_chart/growth_chart_composition.json");
    let (code, out, err) = ehrgate(&[
        "translate",
        "--from",
        "openehr",
        "--to",
        "fhir",
        "--template",
        "Growth chart",
        full.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let fhir: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(fhir["resourceType"], "Bundle", "{fhir:#}");
}
