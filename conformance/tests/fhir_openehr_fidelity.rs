//! What a client reads back is what it sent, or it was told (issue 25).
//!
//! One full R4 example per shipped resource type (taken from the corpus
//! and completed to the spec with the elements the template can hold, and
//! some it cannot) goes FHIR -> canonical composition -> FHIR through the
//! shipped mappings, the way the facade stores and reads it. Then, for
//! every primitive the example sent:
//! - not named in the report => it reads back FHIR-equal (same JSON value
//!   at the same path: same precision, same codings in the same order);
//! - named in the report => it does not read back equal ("nothing named
//!   that came back");
//! - status-like elements that do not come back equal are named as such
//!   (the facade refuses those whatever its policy);
//! - the elements each template holds are listed per case and must be
//!   stored; the ones it has no place for are listed and must be named.
//!
//! The read-back here is computed independently of the report
//! ([`FhirToOpenEhr::translate`] to canonical JSON, [`OpenEhrToFhir`]
//! back), so the report is checked against what a read really gives.
//! Pure: no HTTP, no backend.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use ehrgate_conformance::corpus_dir;
use ehrgate_mappers::fhir_validate;
use ehrgate_mappers::fhirconnect::canonical::CanonicalDefaults;
use ehrgate_mappers::fhirconnect::fidelity::{is_status_like, STATUS_LIKE_REASON};
use ehrgate_mappers::fhirconnect::patient_ref;
use ehrgate_mappers::fhirconnect::shipped::by_name;
use ehrgate_mappers::fhirconnect::translators::{FhirToOpenEhr, OpenEhrFormat, OpenEhrToFhir};
use ehrgate_mappers::translation::{Translator, Unmapped};
use serde_json::{json, Value};

fn read(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(corpus_dir().join(rel)).unwrap()).unwrap()
}

/// Every primitive of `v` by location (`Observation.code.coding[0].code`).
fn leaves(v: &Value, loc: &str, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if k != "resourceType" {
                    leaves(x, &format!("{loc}.{k}"), out);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                leaves(x, &format!("{loc}[{i}]"), out);
            }
        }
        Value::Null => {}
        p => {
            out.insert(loc.to_owned(), p.clone());
        }
    }
}

/// The resource of `rt` in a read-back (itself or a Bundle entry).
fn of_type(v: Value, rt: &str) -> Option<Value> {
    if v["resourceType"] == rt {
        return Some(v);
    }
    v["entry"]
        .as_array()?
        .iter()
        .map(|e| e["resource"].clone())
        .find(|r| r["resourceType"] == rt)
}

/// The exact report and the independently computed read-back.
fn round_trip(set: &str, resource: &Value) -> (Vec<Unmapped>, Value) {
    let engine = by_name(set).unwrap().engine().unwrap();
    let to_openehr = FhirToOpenEhr {
        engine: &engine,
        format: OpenEhrFormat::Canonical,
        defaults: CanonicalDefaults {
            language: "en".into(),
            territory: "GB".into(),
            composer: "ehrgate".into(),
            time: "2024-01-01T00:00:00Z".into(),
        },
    };
    let report = to_openehr
        .translate_exact(resource)
        .unwrap_or_else(|e| panic!("{set}: {e}: {}", e.operation_outcome()))
        .unmapped;
    let comp = to_openehr.translate(resource).unwrap().output;
    let back = OpenEhrToFhir::new(&engine).translate(&comp).unwrap().output;
    let rt = resource["resourceType"].as_str().unwrap();
    let back = of_type(back, rt).unwrap_or(Value::Null);
    (report, back)
}

/// Checks the report of `resource` against its read-back; returns the
/// named locations.
fn check_exact(set: &str, what: &str, resource: &Value) -> (Vec<Unmapped>, Value) {
    let (report, back) = round_trip(set, resource);
    let rt = resource["resourceType"].as_str().unwrap();
    let mut sent = BTreeMap::new();
    leaves(resource, rt, &mut sent);
    let mut got = BTreeMap::new();
    leaves(&back, rt, &mut got);
    let named: Vec<&str> = report.iter().map(|u| u.location.as_str()).collect();
    let mut wrong = Vec::new();
    for (loc, value) in &sent {
        let equal = got.get(loc) == Some(value);
        let is_named = named.contains(&loc.as_str());
        if equal && is_named {
            wrong.push(format!("named but reads back equal: {loc}"));
        }
        if !equal && !is_named {
            wrong.push(format!(
                "not named but reads back {:?}: {loc}",
                got.get(loc)
            ));
        }
    }
    for u in &report {
        if !sent.contains_key(&u.location) {
            wrong.push(format!("named but not sent: {}", u.location));
        }
        if is_status_like(&u.location) && u.reason != STATUS_LIKE_REASON {
            wrong.push(format!("status-like without its reason: {}", u.location));
        }
    }
    assert!(
        wrong.is_empty(),
        "{set} {what}: {wrong:#?}\nread back: {back:#}"
    );
    (report, back)
}

/// One full example with what its template must store and what it must
/// name.
struct Case {
    set: &'static str,
    what: &'static str,
    resource: Value,
    /// Locations that must read back equal.
    stored: &'static [&'static str],
    /// Locations that must be named (no place in the template, or changed
    /// on the way).
    named: &'static [&'static str],
}

fn run(case: &Case) {
    let (report, back) = check_exact(case.set, case.what, &case.resource);
    let named: Vec<&str> = report.iter().map(|u| u.location.as_str()).collect();
    for s in case.stored {
        assert!(
            !named.contains(s),
            "{} {}: {s} must be stored: {report:#?}\nread back: {back:#}",
            case.set,
            case.what
        );
    }
    for n in case.named {
        assert!(
            named.contains(n),
            "{} {}: {n} must be named: {report:#?}\nread back: {back:#}",
            case.set,
            case.what
        );
    }
    // What a read gives back, with the patient the facade adds, is valid R4.
    let mut back = back;
    patient_ref::apply(&mut back, "Patient/example");
    let problems = fhir_validate::validate(&back);
    assert!(
        problems.is_empty(),
        "{} {}: read-back is not valid R4: {problems:#?}\n{back:#}",
        case.set,
        case.what
    );
}

fn heart_rate(status: &str) -> Value {
    let mut hr = read("fhir/examples/Observation-heart-rate.json");
    hr["status"] = json!(status);
    hr["code"]["coding"].as_array_mut().unwrap().push(
        json!({"system": "http://snomed.info/sct", "code": "364075005", "display": "Heart rate"}),
    );
    hr["effectiveDateTime"] = json!("2024-03-01T08:30:00+01:00");
    hr
}

#[test]
fn a_preliminary_vital_sign_is_never_read_back_final() {
    run(&Case {
        set: "vital_signs",
        what: "heart rate, preliminary",
        resource: heart_rate("preliminary"),
        stored: &[
            "Observation.code.coding[0].system",
            "Observation.code.coding[0].code",
            "Observation.effectiveDateTime",
            "Observation.valueQuantity.value",
            "Observation.valueQuantity.system",
            "Observation.valueQuantity.code",
            "Observation.category[0].coding[0].system",
            "Observation.category[0].coding[0].code",
        ],
        named: &[
            "Observation.status",
            "Observation.code.text",
            "Observation.code.coding[1].system",
            "Observation.code.coding[1].code",
            "Observation.valueQuantity.unit",
        ],
    });
    let (report, _) = round_trip("vital_signs", &heart_rate("preliminary"));
    let status = report.iter().find(|u| u.location == "Observation.status");
    assert_eq!(status.unwrap().reason, STATUS_LIKE_REASON);
}

#[test]
fn a_final_vital_sign_comes_back_final_and_is_not_named() {
    run(&Case {
        set: "vital_signs",
        what: "heart rate, final",
        resource: heart_rate("final"),
        stored: &["Observation.status", "Observation.code.coding[0].system"],
        named: &["Observation.code.text"],
    });
}

#[test]
fn an_effective_period_is_named_not_replaced() {
    let mut t = read("fhir/examples/Observation-body-temperature.json");
    let o = t.as_object_mut().unwrap();
    o.remove("effectiveDateTime");
    o.insert(
        "effectivePeriod".into(),
        json!({"start": "2024-03-01T08:00:00Z", "end": "2024-03-01T08:05:00Z"}),
    );
    run(&Case {
        set: "vital_signs",
        what: "body temperature over a period",
        resource: t,
        stored: &["Observation.valueQuantity.value"],
        named: &[
            "Observation.effectivePeriod.start",
            "Observation.effectivePeriod.end",
        ],
    });
}

#[test]
fn a_preliminary_lab_result_round_trips_as_preliminary() {
    let mut glucose = read("fhir/examples/Observation-f001.json");
    glucose["status"] = json!("preliminary");
    run(&Case {
        set: "lab_observation",
        what: "glucose, preliminary",
        resource: glucose,
        stored: &["Observation.status", "Observation.valueQuantity.value"],
        named: &[],
    });
}

#[test]
fn a_condition_keeps_what_the_problem_list_holds_and_names_the_rest() {
    let mut c = read("fhir/examples/Condition-f201.json");
    c["note"] = json!([{"text": "Follow up in two weeks"}]);
    run(&Case {
        set: "problem_list",
        what: "Condition f201",
        resource: c,
        stored: &[
            "Condition.code.coding[0].system",
            "Condition.code.coding[0].code",
            "Condition.onsetDateTime",
            "Condition.recordedDate",
            "Condition.note[0].text",
        ],
        named: &[
            "Condition.clinicalStatus.coding[0].code",
            "Condition.verificationStatus.coding[0].code",
            "Condition.category[0].coding[0].code",
            "Condition.severity.coding[0].code",
        ],
    });
}

#[test]
fn an_allergy_keeps_what_the_adverse_reaction_list_holds_and_names_the_rest() {
    run(&Case {
        set: "adverse_reaction_list",
        what: "AllergyIntolerance example",
        resource: read("fhir/examples/AllergyIntolerance-example.json"),
        stored: &[
            "AllergyIntolerance.code.coding[0].code",
            "AllergyIntolerance.criticality",
            "AllergyIntolerance.category[0]",
            "AllergyIntolerance.lastOccurrence",
            "AllergyIntolerance.reaction[0].onset",
            "AllergyIntolerance.reaction[0].severity",
        ],
        named: &[
            "AllergyIntolerance.clinicalStatus.coding[0].code",
            "AllergyIntolerance.type",
            "AllergyIntolerance.onsetDateTime",
        ],
    });
}

#[test]
fn a_medication_statement_names_its_status_period_and_dose() {
    let ms = json!({
        "resourceType": "MedicationStatement",
        "status": "active",
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1049502", "display": "Acetaminophen 325 MG Oral Tablet"}]},
        "subject": {"reference": "Patient/example"},
        "effectivePeriod": {"start": "2024-01-01T00:00:00Z", "end": "2024-02-01T00:00:00Z"},
        "dateAsserted": "2024-01-02",
        "reasonCode": [{"text": "Headache"}],
        "dosage": [{
            "text": "one tablet every six hours",
            "patientInstruction": "with water",
            "timing": {"repeat": {"frequency": 1, "period": 6, "periodUnit": "h"}},
            "route": {"coding": [{"system": "http://snomed.info/sct", "code": "26643006", "display": "Oral route"}]},
            "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet", "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", "code": "TAB"}}]
        }]
    });
    run(&Case {
        set: "medication_list",
        what: "MedicationStatement written to the spec",
        resource: ms,
        stored: &[
            "MedicationStatement.dosage[0].text",
            "MedicationStatement.reasonCode[0].text",
        ],
        named: &[
            "MedicationStatement.status",
            "MedicationStatement.effectivePeriod.start",
            "MedicationStatement.dateAsserted",
            "MedicationStatement.dosage[0].timing.repeat.frequency",
            "MedicationStatement.dosage[0].doseAndRate[0].doseQuantity.value",
        ],
    });
}

#[test]
fn an_immunization_names_lot_site_route_and_dose() {
    run(&Case {
        set: "immunization",
        what: "Immunization example",
        resource: read("fhir/examples/Immunization-example.json"),
        stored: &[
            "Immunization.status",
            "Immunization.occurrenceDateTime",
            "Immunization.note[0].text",
        ],
        named: &[
            "Immunization.lotNumber",
            "Immunization.primarySource",
            "Immunization.site.coding[0].code",
            "Immunization.route.coding[0].code",
            "Immunization.doseQuantity.value",
        ],
    });
}

#[test]
fn a_procedure_names_its_outcome() {
    let mut p = read("fhir/examples/Procedure-biopsy.json");
    p["outcome"] = json!({"coding": [{"system": "http://snomed.info/sct", "code": "385669000", "display": "Successful"}]});
    run(&Case {
        set: "procedure",
        what: "Procedure biopsy with an outcome",
        resource: p,
        stored: &["Procedure.status", "Procedure.code.coding[0].code"],
        named: &["Procedure.outcome.coding[0].code"],
    });
}

#[test]
fn a_document_reference_names_what_the_record_cannot_hold() {
    run(&Case {
        set: "document",
        what: "DocumentReference example",
        resource: read("fhir/examples/DocumentReference-example.json"),
        stored: &["DocumentReference.status", "DocumentReference.docStatus"],
        named: &["DocumentReference.masterIdentifier.value"],
    });
}

#[test]
fn a_lab_report_names_what_the_template_cannot_hold() {
    run(&Case {
        set: "lab_report",
        what: "DiagnosticReport f201",
        resource: read("fhir/examples/DiagnosticReport-f201.json"),
        stored: &["DiagnosticReport.status"],
        named: &[],
    });
}

/// The report is exact for every corpus example each set takes (the
/// files the R4-validity test uses): nothing lost unnamed, nothing named
/// that came back.
#[test]
fn the_report_is_exact_for_every_corpus_example() {
    const FILES: &[(&str, &[&str])] = &[
        (
            "problem_list",
            &[
                "Condition-example.json",
                "Condition-example2.json",
                "Condition-f001.json",
                "Condition-f002.json",
                "Condition-f003.json",
                "Condition-f202.json",
                "Condition-f203.json",
                "Condition-f204.json",
                "Condition-f205.json",
                "Condition-stroke.json",
            ],
        ),
        (
            "adverse_reaction_list",
            &[
                "AllergyIntolerance-fishallergy.json",
                "AllergyIntolerance-medication.json",
                "AllergyIntolerance-nka.json",
                "AllergyIntolerance-nkda.json",
                "AllergyIntolerance-nkla.json",
            ],
        ),
        (
            "vital_signs",
            &[
                "Observation-blood-pressure.json",
                "Observation-heart-rate.json",
                "Observation-body-temperature.json",
                "Observation-respiratory-rate.json",
                "Observation-satO2.json",
            ],
        ),
        (
            "body_measurements",
            &[
                "Observation-body-height.json",
                "Observation-bmi.json",
                "Observation-example.json",
            ],
        ),
        (
            "medication_list",
            &[
                "MedicationStatement-example001.json",
                "MedicationStatement-example002.json",
                "MedicationStatement-example003.json",
                "MedicationStatement-example004.json",
                "MedicationStatement-example005.json",
                "MedicationStatement-example006.json",
                "MedicationStatement-example007.json",
            ],
        ),
        (
            "lab_observation",
            &[
                "Observation-f001.json",
                "Observation-f002.json",
                "Observation-f003.json",
                "Observation-f004.json",
                "Observation-f005.json",
                "Observation-f203.json",
                "Observation-f204.json",
                "Observation-f206.json",
                "Observation-bloodgroup.json",
                "Observation-rhstatus.json",
                "Observation-unsat.json",
            ],
        ),
        (
            "lab_report",
            &[
                "DiagnosticReport-102.json",
                "DiagnosticReport-example-pgx.json",
                "DiagnosticReport-pap.json",
                "DiagnosticReport-ultrasound.json",
            ],
        ),
        (
            "immunization",
            &[
                "Immunization-notGiven.json",
                "Immunization-protocol.json",
                "Immunization-subpotent.json",
            ],
        ),
    ];
    let mut checked = 0;
    for (set, files) in FILES {
        for f in *files {
            check_exact(set, f, &read(&format!("fhir/examples/{f}")));
            checked += 1;
        }
    }
    assert_eq!(checked, FILES.iter().map(|(_, f)| f.len()).sum::<usize>());
}
