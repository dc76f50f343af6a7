//! openEHR -> FHIR: when a method adds to an element that already exists.
//!
//! A method whose `fhirCondition` selects its own element by an attribute
//! (`with.fhir: coding`, `targetRoot: coding`, `targetAttribute: system`,
//! `one of` the ICD-10-GM system) describes *that* element going to
//! openEHR. Going back, when an earlier method already wrote an element
//! meeting the condition (the diagnosis Coding with the ICD-10-GM system),
//! the method writes into it instead of appending a second element that
//! holds only its constants and extensions (the KDS diagnose
//! `icd10ProblemDiagnose` extension appended to `problemDiagnose` did so:
//! a Coding with a system and no code).

use serde_json::Value;

use super::fhir_schema::schema;
use super::fhir_write::Created;
use super::fhirpath::{Path, Step};
use super::model::{Mapping, Operator};

/// The existing element below `start` that method `m` (its FHIR path
/// `path`, written `with_text`) should write into, if any: `path` is one
/// member step and a `one of` condition on that same element names an
/// attribute whose value in the element is one of its criteria.
pub(crate) fn existing(
    doc: &Value,
    start: &Created,
    path: &Path,
    with_text: &str,
    m: &Mapping,
) -> Option<Created> {
    let [Step::Member(name)] = path.steps.as_slice() else {
        return None;
    };
    let cond = m
        .fhir_condition
        .iter()
        .chain(&m.fhir_conditions)
        .find(|c| c.operator == Operator::OneOf && c.target_root.trim() == with_text.trim())?;
    let attribute = cond.target_attribute.as_deref()?;
    let criteria = cond.criteria.as_ref()?.values();
    let list = doc.pointer(&start.ptr)?.get(name.as_str())?.as_array()?;
    let i = list.iter().position(|el| {
        let mut v = Some(el);
        for part in attribute.split('.') {
            v = v.and_then(|x| x.get(part));
        }
        v.and_then(Value::as_str)
            .is_some_and(|s| criteria.contains(&s))
    })?;
    let ty = start
        .ty
        .as_deref()
        .and_then(|t| schema().element(t, name))
        .map(|el| el.ty.to_owned());
    Some(Created {
        ptr: format!("{}/{name}/{i}", start.ptr),
        ty,
    })
}
