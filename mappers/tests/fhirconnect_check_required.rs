//! The template check finds required nodes wherever the template asks for
//! them: in container attributes the template leaves at existence 0
//! (`items`: a lab result's protocol owes its test request details, a
//! procedure's context its status), behind required structural nodes the
//! composition does not have at all, under the composition root (an empty
//! composition). A single attribute at existence 0 (`protocol`, `state`)
//! may be absent with all it would hold, as EHRbase accepts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ehrgate_mappers::fhirconnect::check::{check, Issue};
use ehrgate_mappers::fhirconnect::instance::{Instance, Leaf};
use ehrgate_mappers::fhirconnect::openehr_path::{parse_segs, InstancePath};
use ehrgate_mappers::fhirconnect::template_index::TemplateIndex;
use serde_json::json;

fn index(opt: &str) -> TemplateIndex {
    let path = common::corpus().join("openehr/templates").join(opt);
    let meta = ehrgate_templates::parse_opt(&std::fs::read(path).unwrap()).unwrap();
    TemplateIndex::new(&meta)
}

fn coded(code: &str) -> Leaf {
    Leaf::new(
        "DV_CODED_TEXT",
        [
            ("code", json!(code)),
            ("value", json!("x")),
            ("terminology", json!("SNOMED-CT")),
        ],
    )
}

fn put(inst: &mut Instance, path: &str, leaf: Leaf) {
    inst.put(InstancePath(parse_segs(path).unwrap()), leaf);
}

fn required(issues: &[Issue]) -> Vec<&str> {
    issues
        .iter()
        .filter(|i| i.code == "template.required")
        .map(|i| i.openehr_path.as_str())
        .collect()
}

const LAB: &str = "content[openEHR-EHR-OBSERVATION.laboratory_test_result.v1]";

/// A lab result with its context, a test name, an analyte and a protocol
/// (its comment) without the test request details the template requires
/// there.
fn lab_without_protocol() -> Instance {
    let mut inst = Instance::default();
    put(
        &mut inst,
        "context/other_context[at0001]/items[at0004]",
        coded("final"),
    );
    put(
        &mut inst,
        "context/other_context[at0001]/items[at0005]",
        coded("26436-6"),
    );
    let event = format!("{LAB}/data[at0001]/events[at0002]");
    put(
        &mut inst,
        &format!("{event}/time"),
        Leaf::new("DV_DATE_TIME", [("", json!("2020-01-01T00:00:00Z"))]),
    );
    put(
        &mut inst,
        &format!("{event}/data[at0003]/items[at0005]"),
        coded("26436-6"),
    );
    let analyte =
        format!("{event}/data[at0003]/items[openEHR-EHR-CLUSTER.laboratory_test_analyte.v1]");
    put(
        &mut inst,
        &format!("{analyte}/items[at0024]"),
        coded("94500-6"),
    );
    put(
        &mut inst,
        &format!("{analyte}/items[at0001]"),
        Leaf::new("DV_TEXT", [("", json!("positive"))]),
    );
    put(
        &mut inst,
        &format!("{analyte}/items[at0005]"),
        coded("final"),
    );
    put(
        &mut inst,
        &format!("{LAB}/protocol[at0004]/items[at0121]"),
        Leaf::new("DV_TEXT", [("", json!("note"))]),
    );
    inst
}

#[test]
fn lab_protocol_without_test_request_details_is_refused() {
    let idx = index("GECCO_Laborbefund.opt");
    let issues = check(&lab_without_protocol(), &idx);
    assert_eq!(
        required(&issues),
        [format!("/{LAB}/protocol[at0004]/items[at0094]")],
        "{issues:#?}"
    );
}

#[test]
fn procedure_context_without_status_is_refused() {
    let idx = index("GECCO_Prozedur.opt");
    let mut inst = Instance::default();
    put(
        &mut inst,
        "context/other_context[at0001]/items[at0005]",
        coded("277132007"),
    );
    let absence = "content[openEHR-EHR-EVALUATION.absence.v2]/data[at0001]";
    put(
        &mut inst,
        &format!("{absence}/items[at0002]"),
        Leaf::new("DV_TEXT", [("", json!("Procedure"))]),
    );
    put(
        &mut inst,
        &format!("{absence}/items[at0005]"),
        Leaf::new("DV_TEXT", [("", json!("unknown"))]),
    );
    let issues = check(&inst, &idx);
    assert_eq!(
        required(&issues),
        ["/context/other_context[at0001]/items[at0004]"],
        "{issues:#?}"
    );
}

#[test]
fn an_empty_composition_is_refused() {
    let idx = index("GECCO_Laborbefund.opt");
    let issues = check(&Instance::default(), &idx);
    assert!(
        issues.iter().any(|i| i.code == "template.empty"),
        "{issues:#?}"
    );
    // What the root requires: the lab result entry (the context may be
    // absent: COMPOSITION.context is at existence 0).
    assert_eq!(required(&issues), [format!("/{LAB}")], "{issues:#?}");
}

#[test]
fn an_absent_protocol_owes_nothing() {
    let idx = index("GECCO_Laborbefund.opt");
    let mut inst = lab_without_protocol();
    inst.leaves
        .retain(|p, _| !p.to_string().contains("/protocol["));
    let issues = check(&inst, &idx);
    assert!(issues.is_empty(), "{issues:#?}");
}

#[test]
fn a_complete_lab_result_passes() {
    let idx = index("GECCO_Laborbefund.opt");
    let mut inst = lab_without_protocol();
    put(
        &mut inst,
        &format!("{LAB}/protocol[at0004]/items[at0094]/items[at0062]"),
        coded("26436-6"),
    );
    let issues = check(&inst, &idx);
    assert!(issues.is_empty(), "{issues:#?}");
}
