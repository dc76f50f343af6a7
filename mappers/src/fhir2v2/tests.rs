//! Translator tests: one per rule of the module doc, on small inputs
//! written here (the corpus runs are in `conformance/tests/fhir_v2_*`).

use serde_json::{json, Value};

use super::*;
use crate::hl7v2::Message;

fn cfg() -> Config {
    Config {
        sending_facility: Endpoint::named("HOSP"),
        receiving_application: Endpoint::named("LAB"),
        fixed_time: Some("20240102030405+0000".into()),
        control_id_prefix: Some("T".into()),
        ..Config::default()
    }
}

fn run(cfg: Config, fhir: &Value, message: Option<MessageType>) -> Translation<Vec<u8>> {
    FhirToV2::new(cfg)
        .unwrap()
        .translate(Request { fhir, message })
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn get(m: &Message<'_>, path: &str) -> String {
    m.get(path)
        .unwrap()
        .map(|v| v.text().into_owned())
        .unwrap_or_default()
}

fn lab_bundle() -> Value {
    json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "id": "p",
            "identifier": [{"system": "urn:oid:1.2.3", "value": "MRN1",
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}}],
            "name": [{"family": "O|Brien^", "given": ["Ann", "Marie", "Jo"]}],
            "gender": "female", "birthDate": "1980-02-03"}},
        {"fullUrl": "urn:uuid:d", "resource": {"resourceType": "DiagnosticReport", "id": "d",
            "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "24323-8", "display": "Metabolic panel"}]},
            "subject": {"reference": "urn:uuid:p"},
            "identifier": [{"system": "urn:ehrgate:v2:local:LAB", "value": "F-1"}],
            "effectiveDateTime": "2024-01-01T08:30:00+01:00",
            "issued": "2024-01-01T10:00:00Z",
            "result": [{"reference": "urn:uuid:o1"}, {"reference": "urn:uuid:o2"}],
            "specimen": [{"reference": "urn:uuid:s"}],
            "conclusion": "Looks fine"}},
        {"fullUrl": "urn:uuid:o1", "resource": {"resourceType": "Observation", "id": "o1",
            "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}]},
            "subject": {"reference": "urn:uuid:p"},
            "valueQuantity": {"value": 6.3, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
            "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "H"}]}],
            "referenceRange": [{"low": {"value": 3.9}, "high": {"value": 5.5}}],
            "note": [{"text": "fasting"}],
            "method": {"text": "hexokinase"}}},
        {"fullUrl": "urn:uuid:o2", "resource": {"resourceType": "Observation", "id": "o2",
            "status": "preliminary", "code": {"text": "Comment"},
            "valueString": "line one\nline two"}},
        {"fullUrl": "urn:uuid:s", "resource": {"resourceType": "Specimen", "id": "s",
            "type": {"coding": [{"system": "http://snomed.info/sct", "code": "119297000", "display": "Blood"}]},
            "collection": {"collectedDateTime": "2024-01-01T08:00:00Z"}}},
        {"fullUrl": "urn:uuid:x", "resource": {"resourceType": "Flag", "id": "x", "status": "active"}}
    ]})
}

#[test]
fn oru_from_a_bundle() {
    let t = run(cfg(), &lab_bundle(), None);
    let out = t.output;
    let m = Message::parse(&out).unwrap();
    let names: Vec<&str> = m.segments().map(|s| s.name()).collect();
    assert_eq!(
        names,
        ["MSH", "PID", "ORC", "OBR", "NTE", "OBX", "NTE", "OBX", "SPM"]
    );
    assert_eq!(get(&m, "ORC-1"), "RE");
    assert_eq!(get(&m, "ORC-3"), "F-1^LAB");
    assert_eq!(get(&m, "MSH-9"), "ORU^R01^ORU_R01");
    assert_eq!(get(&m, "MSH-10"), "T0000000000000000001");
    assert_eq!(get(&m, "MSH-12"), "2.5.1");
    assert_eq!(get(&m, "MSH-18"), "UNICODE UTF-8");
    assert_eq!(get(&m, "MSH-3"), "EHRGATE");
    assert_eq!(get(&m, "MSH-5"), "LAB");
    assert_eq!(get(&m, "PID-3"), "MRN1^^^&1.2.3&ISO^MR");
    assert_eq!(get(&m, "PID-5-1"), "O|Brien^");
    assert_eq!(get(&m, "PID-5-3"), "Marie Jo");
    assert_eq!(get(&m, "PID-8"), "F");
    assert_eq!(get(&m, "PID-7"), "19800203");
    assert_eq!(get(&m, "OBR-3"), "F-1^LAB");
    assert_eq!(get(&m, "OBR-4"), "24323-8^Metabolic panel^LN");
    assert_eq!(get(&m, "OBR-7"), "20240101083000+0100");
    assert_eq!(get(&m, "OBR-25"), "F");
    assert_eq!(get(&m, "NTE(1)-3"), "Looks fine");
    assert_eq!(get(&m, "OBX(1)-2"), "NM");
    assert_eq!(get(&m, "OBX(1)-3"), "2345-7^Glucose^LN");
    assert_eq!(get(&m, "OBX(1)-5"), "6.3");
    assert_eq!(get(&m, "OBX(1)-6"), "mmol/L^mmol/L^UCUM");
    assert_eq!(get(&m, "OBX(1)-7"), "3.9-5.5");
    assert_eq!(get(&m, "OBX(1)-8"), "H");
    assert_eq!(get(&m, "OBX(1)-11"), "F");
    assert_eq!(get(&m, "OBX(1)-17"), "^hexokinase");
    assert_eq!(get(&m, "NTE(2)-3"), "fasting");
    assert_eq!(get(&m, "OBX(2)-2"), "TX");
    assert_eq!(get(&m, "OBX(2)-5(2)"), "line two");
    assert_eq!(get(&m, "OBX(2)-11"), "P");
    assert_eq!(get(&m, "SPM-4"), "119297000^Blood^SCT");
    assert_eq!(get(&m, "SPM-17"), "20240101080000+0000");
    // the raw bytes escape the delimiters in data
    assert!(text(&out).contains("PID|1||MRN1^^^&1.2.3&ISO^MR||O\\F\\Brien\\S\\^Ann^Marie Jo"));
    let unmapped: Vec<(&str, &str)> = t
        .unmapped
        .iter()
        .map(|u| (u.location.as_str(), u.reason.as_str()))
        .collect();
    assert!(unmapped.contains(&(
        "Bundle.entry[5].resource",
        "no segment of ORU^R01 takes a Flag"
    )));
    assert!(!unmapped.contains(&("Bundle.entry[1].resource.issued", "no v2 field takes it")));
}

#[test]
fn missing_required_elements_name_the_fhir_path() {
    let mut b = lab_bundle();
    b["entry"][2]["resource"]
        .as_object_mut()
        .unwrap()
        .remove("code");
    let e = FhirToV2::new(cfg())
        .unwrap()
        .translate(Request {
            fhir: &b,
            message: None,
        })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Bundle.entry[2].resource.code: required for OBX-3 (ORU^R01), but absent"
    );
    let p = json!({"resourceType": "Patient", "identifier": [{"value": "1"}]});
    let e = FhirToV2::new(cfg())
        .unwrap()
        .translate(Request {
            fhir: &p,
            message: None,
        })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Patient.name: required for PID-5 (ADT^A31), but absent"
    );
    let e = FhirToV2::new(cfg())
        .unwrap()
        .translate(Request {
            fhir: &p,
            message: Some(MessageType::VxuV04),
        })
        .unwrap_err();
    assert!(e.to_string().contains("Patient.name"), "{e}");
}

#[test]
fn lengths_truncate_with_a_warning_or_refuse() {
    let mut b = lab_bundle();
    b["entry"][2]["resource"]["referenceRange"] = json!([{"text": "x".repeat(80)}]);
    let t = run(cfg(), &b, None);
    let m = Message::parse(&t.output).unwrap();
    assert_eq!(get(&m, "OBX(1)-7").len(), 60);
    assert!(t
        .warnings
        .iter()
        .any(|w| w.location == "Bundle.entry[2].resource.referenceRange"
            && w.message == "OBX-7: 80 characters cut to 60 (v2.5.1 field length)"));
    let refuse = Config {
        lengths: LengthPolicy::Refuse,
        ..cfg()
    };
    let e = FhirToV2::new(refuse)
        .unwrap()
        .translate(Request {
            fhir: &b,
            message: None,
        })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "OBX-7 (from Bundle.entry[2].resource.referenceRange): 80 characters, v2.5.1 allows 60 (length policy: refuse)"
    );
    // v2.7 has no field lengths: nothing is cut
    let v27 = Config {
        version: Version::V27,
        ..cfg()
    };
    let t = run(v27, &b, None);
    let m = Message::parse(&t.output).unwrap();
    assert_eq!(get(&m, "OBX(1)-7").len(), 80);
}

#[test]
fn versions_change_structure_and_types() {
    let b = lab_bundle();
    let v23 = Config {
        version: Version::V23,
        ..cfg()
    };
    let t = run(v23, &b, None);
    let m = Message::parse(&t.output).unwrap();
    // MSH-9-3 is written from 2.4, SPM came with 2.5
    assert_eq!(get(&m, "MSH-9"), "ORU^R01");
    assert!(m.segment("SPM").is_none());
    assert!(t
        .unmapped
        .iter()
        .any(|u| u.location == "Bundle.entry[1].resource.specimen[0]"));
    let v26 = Config {
        version: Version::V26,
        ..cfg()
    };
    let t = run(v26, &b, None);
    let m = Message::parse(&t.output).unwrap();
    // a CWE from 2.6: the original text in CWE-9
    assert_eq!(get(&m, "OBX(2)-3"), "^^^^^^^^Comment");
    assert_eq!(get(&m, "MSH-12"), "2.6");
}

#[test]
fn charsets_follow_msh18() {
    let p = json!({"resourceType": "Patient", "id": "p", "name": [{"family": "Müller"}]});
    let latin = Config {
        charset: crate::hl7v2::Charset::Latin1,
        ..cfg()
    };
    let t = run(latin, &p, None);
    let m = Message::parse(&t.output).unwrap();
    assert_eq!(get(&m, "MSH-18"), "8859/1");
    assert_eq!(get(&m, "PID-5"), "Müller");
    assert!(t.output.windows(6).any(|w| w == b"M\xfcller"));
    let ascii = Config {
        charset: crate::hl7v2::Charset::Ascii,
        ..cfg()
    };
    let e = FhirToV2::new(ascii)
        .unwrap()
        .translate(Request {
            fhir: &p,
            message: None,
        })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "PID-5: text not representable in the message charset ASCII"
    );
}

#[test]
fn adt_vxu_orders_and_problems() {
    let b = json!({"resourceType": "Bundle", "entry": [
        {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "id": "p",
            "identifier": [{"value": "9"}], "name": [{"family": "Doe", "given": ["J"]}],
            "telecom": [{"system": "phone", "value": "555-1234", "use": "home"},
                        {"system": "email", "value": "j@x.org"}],
            "address": [{"line": ["1 Main St"], "city": "Town", "postalCode": "123", "use": "home"}]}},
        {"fullUrl": "urn:uuid:e", "resource": {"resourceType": "Encounter", "id": "e", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": "urn:uuid:p"},
            "period": {"start": "2024-01-01T10:00:00Z", "end": "2024-01-03T10:00:00Z"},
            "diagnosis": [{"condition": {"reference": "urn:uuid:c"},
                "use": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0052", "code": "F"}]}}]}},
        {"fullUrl": "urn:uuid:c", "resource": {"resourceType": "Condition", "id": "c",
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J18.9"}]},
            "subject": {"reference": "urn:uuid:p"}}},
        {"fullUrl": "urn:uuid:a", "resource": {"resourceType": "AllergyIntolerance", "id": "a",
            "category": ["food"], "criticality": "high",
            "code": {"text": "peanut"}, "patient": {"reference": "urn:uuid:p"},
            "reaction": [{"manifestation": [{"text": "hives"}]}]}}
    ]});
    let t = run(cfg(), &b, None);
    let m = Message::parse(&t.output).unwrap();
    let names: Vec<&str> = m.segments().map(|s| s.name()).collect();
    assert_eq!(names, ["MSH", "EVN", "PID", "PV1", "AL1", "DG1"]);
    assert_eq!(get(&m, "MSH-9"), "ADT^A03^ADT_A03");
    assert_eq!(get(&m, "PV1-2"), "I");
    assert_eq!(get(&m, "PV1-45"), "20240103100000+0000");
    assert_eq!(get(&m, "PID-13(1)"), "555-1234^PRN^PH^^^^^^^^^555-1234");
    assert_eq!(get(&m, "PID-13(2)"), "^^Internet^j@x.org");
    assert_eq!(get(&m, "PID-11"), "1 Main St^^Town^^123^^H");
    assert_eq!(get(&m, "DG1-3"), "J18.9^^I10");
    assert_eq!(get(&m, "DG1-6"), "F");
    assert_eq!(get(&m, "AL1-2"), "FA^^HL70127");
    assert_eq!(get(&m, "AL1-3"), "^peanut");
    assert_eq!(get(&m, "AL1-4"), "SV^^HL70128");
    assert_eq!(get(&m, "AL1-5"), "hives");

    let im = json!({"resourceType": "Bundle", "entry": [
        {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "id": "p",
            "identifier": [{"value": "9"}], "name": [{"family": "Doe"}]}},
        {"fullUrl": "urn:uuid:i", "resource": {"resourceType": "Immunization", "id": "i", "status": "completed",
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "08", "display": "Hep B"}]},
            "patient": {"reference": "urn:uuid:p"}, "occurrenceDateTime": "2024-03-01",
            "primarySource": true, "lotNumber": "L1",
            "route": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0162", "code": "IM"}]},
            "protocolApplied": [{"doseNumberPositiveInt": 2}]}}
    ]});
    let t = run(cfg(), &im, None);
    let m = Message::parse(&t.output).unwrap();
    let names: Vec<&str> = m.segments().map(|s| s.name()).collect();
    assert_eq!(names, ["MSH", "PID", "ORC", "RXA", "RXR", "OBX"]);
    assert_eq!(get(&m, "RXA-3"), "20240301");
    assert_eq!(get(&m, "RXA-5"), "08^Hep B^CVX");
    assert_eq!(get(&m, "RXA-6"), "999");
    assert_eq!(get(&m, "RXA-9"), "00^New immunization record^NIP001");
    assert_eq!(get(&m, "RXA-15"), "L1");
    assert_eq!(get(&m, "RXA-20"), "CP");
    assert_eq!(get(&m, "RXR-1"), "IM^^HL70162");
    assert_eq!(get(&m, "OBX-3"), "30973-2^Dose number in series^LN");
    assert_eq!(get(&m, "OBX-5"), "2");

    let sr = json!({"resourceType": "ServiceRequest", "id": "s", "status": "active", "intent": "order",
        "priority": "stat",
        "identifier": [{"system": "urn:ehrgate:v2:local:EHR", "value": "P-1",
            "type": {"coding": [{"code": "PLAC"}]}}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "24323-8"}]},
        "subject": {"display": "somebody"}});
    let t = run(cfg(), &sr, None);
    let m = Message::parse(&t.output).unwrap();
    assert_eq!(get(&m, "MSH-9"), "ORM^O01^ORM_O01");
    assert_eq!(get(&m, "ORC-1"), "NW");
    assert_eq!(get(&m, "ORC-2"), "P-1^EHR");
    assert_eq!(get(&m, "ORC-5"), "IP");
    assert_eq!(get(&m, "ORC-7"), "^^^^^S");
    assert_eq!(get(&m, "OBR-4"), "24323-8^^LN");
    let t = run(cfg(), &sr, Some(MessageType::OmlO21));
    let m = Message::parse(&t.output).unwrap();
    assert_eq!(get(&m, "TQ1-9"), "S^^HL70485");

    let problem = json!({"resourceType": "Bundle", "entry": [
        {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "id": "p",
            "identifier": [{"value": "9"}], "name": [{"family": "Doe"}]}},
        {"fullUrl": "urn:uuid:c", "resource": {"resourceType": "Condition", "id": "c",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]}],
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "code": {"text": "asthma"}, "subject": {"reference": "urn:uuid:p"}}}
    ]});
    let t = run(cfg(), &problem, None);
    let m = Message::parse(&t.output).unwrap();
    assert_eq!(get(&m, "MSH-9"), "PPR^PC1^PPR_PC1");
    assert_eq!(get(&m, "PRB-1"), "AD");
    assert_eq!(get(&m, "PRB-3"), "^asthma");
    assert_eq!(get(&m, "PRB-4"), "c");
    assert_eq!(get(&m, "PRB-14"), "active");
}

#[test]
fn control_ids_are_unique_per_translator() {
    let t = FhirToV2::new(Config {
        control_id_prefix: None,
        ..cfg()
    })
    .unwrap();
    let p = json!({"resourceType": "Patient", "id": "p", "name": [{"family": "X"}]});
    let mut seen = std::collections::HashSet::new();
    for _ in 0..100 {
        let out = t
            .translate(Request {
                fhir: &p,
                message: None,
            })
            .unwrap()
            .output;
        let m = Message::parse(&out).unwrap();
        assert!(seen.insert(m.control_id().unwrap()));
    }
}

#[test]
fn unsupported_and_unknown_inputs() {
    assert_eq!(
        "oru^r01".parse::<MessageType>().unwrap(),
        MessageType::OruR01
    );
    assert!("QRY^Q01".parse::<MessageType>().is_err());
    let sr = json!({"resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "code": {"text": "x"}, "subject": {"display": "y"}});
    let v28 = Config {
        version: Version::V28,
        ..cfg()
    };
    let e = FhirToV2::new(v28)
        .unwrap()
        .translate(Request {
            fhir: &sr,
            message: Some(MessageType::OrmO01),
        })
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("message type ORM^O01 in v2.8 is not written"),
        "{e}"
    );
    let e = FhirToV2::new(cfg())
        .unwrap()
        .translate(Request {
            fhir: &json!({"resourceType": "Flag"}),
            message: None,
        })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "no v2 message is made from Flag; name one with the message option"
    );
}
