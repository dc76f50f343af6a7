//! The shipped `document` set (FHIR DocumentReference <->
//! `EHRN-ABDM-OPConsultRecord.v2.0`'s document attachment): the corpus
//! DocumentReference round-trips (FHIR -> openEHR -> FHIR -> openEHR with
//! identical compositions) and passes the template check; its name, type,
//! status and attachment come back as they went in; a document named only
//! by its type takes the type's text as its name.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ehrgate_mappers::fhirconnect::check::check;
use ehrgate_mappers::fhirconnect::flat::to_flat;
use ehrgate_mappers::fhirconnect::shipped::{by_name, find_for};
use serde_json::json;

/// Corpus DocumentReferences.
pub const FILES: &[&str] = &["fhir/examples/DocumentReference-example.json"];

const ENTRY: &str = "opconsultation/document_attachment";

#[test]
fn corpus_documents_round_trip_and_pass_the_template_check() {
    let engine = by_name("document").unwrap().engine().unwrap();
    let index = engine.index().unwrap();
    for f in FILES {
        let r = common::json(f);
        let t = engine.fhir_to_instance(&r).unwrap();
        let issues = check(&t.output, index);
        assert!(issues.is_empty(), "{f}: {issues:#?}");
        let back = engine.instance_to_fhir(&t.output).unwrap().output;
        if std::env::var_os("SHOW").is_some() {
            eprintln!(
                "{f}: {back:#}\n{:#?}\n{:#?}",
                to_flat(&t.output, index),
                t.unmapped
            );
        }
        // type, name, status, content, title, creation
        let leaves = common::fhir_round_trip(&engine, &r);
        assert!(leaves >= 6, "{f}: {leaves}");
        assert_eq!(back["resourceType"], "DocumentReference", "{f}");
        assert_eq!(back["description"], r["description"], "{f}");
        assert_eq!(back["docStatus"], r["docStatus"], "{f}");
        assert_eq!(back["status"], "current", "{f}");
        for k in ["system", "code"] {
            assert_eq!(
                back["type"]["coding"][0][k], r["type"]["coding"][0][k],
                "{f}"
            );
        }
        let (a, b) = (
            &r["content"][0]["attachment"],
            &back["content"][0]["attachment"],
        );
        for k in ["contentType", "url", "size", "title", "creation"] {
            assert_eq!(b[k], a[k], "{f} attachment.{k}");
        }
    }
}

#[test]
fn a_document_named_only_by_its_type_takes_the_type_as_name() {
    let engine = find_for("EHRN-ABDM-OPConsultRecord.v2.0", "DocumentReference")
        .unwrap()
        .engine()
        .unwrap();
    let idx = engine.index().unwrap();
    // the shape an ORU's OBX with an RP value becomes
    let r = json!({
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11529-5", "display": "Surgical pathology study"}]},
        "content": [{"attachment": {"contentType": "application/pdf", "url": "https://example.org/report.pdf"}}]
    });
    let t = engine.fhir_to_instance(&r).unwrap();
    assert!(check(&t.output, idx).is_empty());
    let flat = to_flat(&t.output, idx);
    if std::env::var_os("SHOW").is_some() {
        eprintln!("{flat:#?}\n{:#?}", t.warnings);
    }
    assert_eq!(
        flat[&format!("{ENTRY}/name|value")],
        "Surgical pathology study",
        "{flat:#?}"
    );
    assert_eq!(
        flat[&format!("{ENTRY}/media_file/content|mediatype")],
        "application/pdf"
    );
    // the name goes back as the description only when it was one
    let back = engine.instance_to_fhir(&t.output).unwrap().output;
    assert_eq!(
        back["content"][0]["attachment"]["url"],
        "https://example.org/report.pdf"
    );
    assert_eq!(back["type"]["coding"][0]["code"], "11529-5");
    assert_eq!(back["status"], "current");
}
