//! The migration parity check (issue 8, Must show): the same sequence of
//! FHIR calls through one canary route, once on the stable arm (openEHR via
//! the facade) and once on the canary arm (the FHIR server), gives
//! equivalent resources. Two tenants pinned to the two arms make the split
//! deterministic.
//!
//! "Equivalent" is what survives the openEHR round trip: every element the
//! facade answers must be in the FHIR server's resource with the same
//! value (ids, `meta` and narrative aside); the FHIR server may hold more
//! (display texts, narrative) that the templates do not store. Elements the
//! mappings do not carry are listed per type, so a regression in a mapping
//! shows as a difference here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod gateway;

use ehrgate_conformance::corpus_dir;
use ehrgate_conformance::fhir_schema::schema_errors;
use ehrgate_conformance::reference::fhir::{self, FhirConfig};
use ehrgate_conformance::reference::openehr::{self, OpenEhrConfig};
use gateway::{id_of_location, Gw};
use serde_json::{json, Value};

fn example(name: &str) -> Value {
    let p = corpus_dir()
        .join("fhir/examples")
        .join(format!("{name}.json"));
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn config(openehr_url: &str, fhir_url: &str) -> String {
    format!(
        r#"
[server]
reload_poll_ms = 0
[[listener]]
bind = "127.0.0.1:0"
[[backend]]
name = "legacy-openehr"
url = "{openehr_url}"
kind = "openehr"
[[backend]]
name = "new-fhir"
url = "{fhir_url}"
kind = "fhir"
[[tenant]]
id = "legacy"
[[tenant]]
id = "new"
[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "legacy-openehr"
canary = "new-fhir"
weight = 0
strip_prefix = true
[route.tenant_overrides]
legacy = {{ pin = "stable" }}
new = {{ pin = "canary" }}
"#
    )
}

/// Paths (in the facade's answer) where `a` is not contained in `b`.
fn not_contained(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                if path.is_empty() && ["id", "meta", "text"].contains(&k.as_str()) {
                    continue;
                }
                match y.get(k) {
                    Some(w) => not_contained(v, w, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k} (missing)")),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, v) in x.iter().enumerate() {
                let found = y.iter().any(|w| {
                    let mut o = Vec::new();
                    not_contained(v, w, "", &mut o);
                    o.is_empty()
                });
                if !found {
                    out.push(format!("{path}[{i}]"));
                }
            }
        }
        (Value::Number(x), Value::Number(y)) => {
            if x.as_f64() != y.as_f64() {
                out.push(format!("{path} ({x} vs {y})"));
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path} ({a} vs {b})")),
    }
}

/// Known differences of the shipped mappings (what a migration would see),
/// by example file and path. Anything else that differs fails the test.
const KNOWN: &[(&str, &str, &str)] = &[
    (
        "Observation-heart-rate",
        ".valueQuantity.unit",
        "DV_QUANTITY keeps the UCUM unit; the display text becomes the code",
    ),
    (
        "Observation-f001",
        ".valueQuantity.unit",
        "DV_QUANTITY keeps the UCUM unit; the display text becomes the code",
    ),
    (
        "Observation-f001",
        ".effectiveDateTime",
        "the laboratory mapping answers the event time as effectiveDateTime; the source had effectivePeriod",
    ),
    (
        "MedicationStatement-example004",
        ".status",
        "the medication-list mapping does not store the statement status",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_arms_give_equivalent_resources() {
    let local = "127.0.0.1:0".parse().unwrap();
    let ehr = openehr::spawn(OpenEhrConfig::with_shipped_templates(), local)
        .await
        .unwrap();
    let fhir = fhir::spawn(FhirConfig::default(), local).await.unwrap();
    let gw = Gw::start(&config(&ehr.base_url, &fhir.base_url)).await;
    let cases = [
        ("Observation", "Observation-heart-rate", "subject"),
        ("Observation", "Observation-blood-pressure", "subject"),
        ("Observation", "Observation-f001", "subject"),
        ("Condition", "Condition-example", "subject"),
        (
            "AllergyIntolerance",
            "AllergyIntolerance-example",
            "patient",
        ),
        (
            "MedicationStatement",
            "MedicationStatement-example004",
            "subject",
        ),
        ("DiagnosticReport", "DiagnosticReport-f201", "subject"),
    ];
    let mut report = Vec::new();
    for (i, (ty, file, el)) in cases.iter().enumerate() {
        let mut r = example(file);
        r.as_object_mut().unwrap().remove("id");
        r[*el] = json!({"reference": format!("Patient/parity-{i}")});
        let mut answers = Vec::new();
        for tenant in ["legacy", "new"] {
            let h = [("x-tenant-id", tenant)];
            let a = gw
                .call("POST", &format!("/fhir/{ty}"), &h, &r.to_string())
                .await;
            assert_eq!(a.status, 201, "{tenant} {file}: {}", a.body);
            assert_eq!(
                a.header("x-ehrgate-arm"),
                if tenant == "legacy" {
                    "stable"
                } else {
                    "canary"
                }
            );
            let loc = a.header("location").to_owned();
            let id = if tenant == "legacy" {
                id_of_location(&loc)
            } else {
                // The FHIR server's Location is its own (`.../Type/id/_history/n`).
                id_of_location(&loc)
            };
            let read = gw.call("GET", &format!("/fhir/{ty}/{id}"), &h, "").await;
            assert_eq!(read.status, 200, "{tenant} {file}: {}", read.body);
            let search = gw
                .call(
                    "GET",
                    &format!("/fhir/{ty}?patient=Patient/parity-{i}"),
                    &h,
                    "",
                )
                .await;
            assert_eq!(search.status, 200, "{tenant} {file}: {}", search.body);
            let b = search.json();
            assert_eq!(b["total"], 1, "{tenant} {file}: {b}");
            for v in [&read.json(), &b] {
                let errors = schema_errors(v, 3).unwrap();
                assert!(errors.is_empty(), "{tenant} {file}: {errors:?}");
            }
            answers.push(read.json());
        }
        let mut diff = Vec::new();
        not_contained(&answers[0], &answers[1], "", &mut diff);
        diff.retain(|d| {
            !KNOWN
                .iter()
                .any(|(f, p, _)| f == file && (d == p || d.starts_with(&format!("{p} "))))
        });
        if !diff.is_empty() {
            report.push(format!("{file}: {}", diff.join(", ")));
        }
        // The same patient reference on both sides.
        assert_eq!(answers[0][*el], answers[1][*el], "{file}");
        assert_eq!(answers[0]["resourceType"], answers[1]["resourceType"]);
    }
    assert!(
        report.is_empty(),
        "openEHR arm differs from the FHIR arm:\n{}",
        report.join("\n")
    );
}
