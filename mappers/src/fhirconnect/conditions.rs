//! Condition pieces shared by both directions: the values a condition
//! tests (`targetAttribute`, or several `targetAttributes` together) and
//! the `type` operator.
//!
//! `targetAttributes` lists several paths below `targetRoot`; the
//! specification asks for their values to be tested as one collection, so
//! `empty` holds only when none of them has a value and `one of` when any
//! of them holds a criterion. `type` holds when a tested node is of one of
//! the criteria types: a FHIR type (`Extension`, `CodeableConcept`; a
//! profile of a type counts as that type) or, on the openEHR side, an RM
//! type (`DV_CODED_TEXT`).

use super::compiled::Compiled;
use super::fhir_schema::same_type;
use super::fhirpath::{self, Node};
use super::instance::Instance;
use super::model::{Condition, Operator};
use super::openehr_path::InstancePath;

/// The FHIR nodes `cond` tests below one `targetRoot` node: those of
/// `targetAttribute` and every `targetAttributes` path, or the root itself
/// when it names none. `None` when a path was not compiled.
pub(crate) fn fhir_tested<'a>(
    cond: &Condition,
    compiled: &Compiled,
    root: &Node<'a>,
) -> Option<Vec<Node<'a>>> {
    // One `targetAttribute` (nearly every condition): its nodes as they
    // are, without gathering lists (conditions run per selected node).
    if let (Some(a), true) = (&cond.target_attribute, cond.target_attributes.is_empty()) {
        return Some(fhirpath::eval(compiled.fhir_path(a)?, root, root));
    }
    let attributes = attributes_of(cond);
    if attributes.is_empty() {
        return Some(vec![root.clone()]);
    }
    let mut out = Vec::new();
    for a in attributes {
        out.extend(fhirpath::eval(compiled.fhir_path(a)?, root, root));
    }
    Some(out)
}

/// `targetAttribute` and every `targetAttributes` path, in that order.
fn attributes_of(cond: &Condition) -> Vec<&str> {
    cond.target_attribute
        .iter()
        .map(String::as_str)
        .chain(cond.target_attributes.iter().map(String::as_str))
        .collect()
}

/// Whether `node`'s FHIR type is one of `criteria`. A node the schema does
/// not type is typed by its `resourceType`, and an element with a `url`
/// met under an `extension` member is an `Extension`.
pub(crate) fn fhir_type_is(node: &Node<'_>, criteria: &[&str]) -> bool {
    let ty = node
        .ty
        .or_else(|| node.value.get("resourceType").and_then(|v| v.as_str()))
        .or_else(|| {
            let last = node.loc.rsplit('.').next().unwrap_or("");
            let is_extension = last == "extension" || last.starts_with("extension[");
            (is_extension && node.value.get("url").is_some()).then_some("Extension")
        });
    ty.is_some_and(|t| criteria.iter().any(|c| same_type(t, c)))
}

/// The openEHR leaf paths `cond` tests below `root`: `targetAttribute` and
/// every `targetAttributes` path, each split into the node path and the
/// leaf field it names (`.../defining_code/code_string` -> `code`).
pub(crate) fn openehr_tested(
    cond: &Condition,
    root: &InstancePath,
) -> Vec<(InstancePath, &'static str)> {
    let attributes = attributes_of(cond);
    if attributes.is_empty() {
        return vec![(root.clone(), "")];
    }
    attributes
        .into_iter()
        .map(|a| {
            let (segs, field) = super::to_openehr::manual_field(a);
            let at = if segs.is_empty() {
                root.clone()
            } else {
                root.join(&segs)
            };
            (at, field)
        })
        .collect()
}

/// Evaluates an openEHR-side condition on `input` with `targetRoot` at
/// `root`. A tested path without a field (`items[...]`, a whole cluster)
/// has a value when any leaf lies at or below it.
pub(crate) fn openehr_holds(cond: &Condition, root: &InstancePath, input: &Instance) -> bool {
    let criteria: Vec<&str> = cond
        .criteria
        .as_ref()
        .map(|c| c.values())
        .unwrap_or_default();
    let mut any_value = false;
    let mut listed = false;
    let mut typed = false;
    for (at, field) in openehr_tested(cond, root) {
        if field.is_empty() {
            for (_, leaf) in input.below(&at) {
                any_value = true;
                let rm = leaf.rm_type.as_deref().unwrap_or("");
                typed |= criteria.contains(&rm);
                listed |= leaf
                    .fields
                    .get("")
                    .and_then(text)
                    .is_some_and(|v| criteria.contains(&v.as_str()));
            }
            continue;
        }
        let Some(leaf) = input.leaves.get(&at) else {
            continue;
        };
        if let Some(v) = leaf.fields.get(field).and_then(text) {
            any_value = true;
            listed |= criteria.contains(&v.as_str());
            typed |= leaf
                .rm_type
                .as_deref()
                .is_some_and(|rm| criteria.contains(&rm));
        }
    }
    match cond.operator {
        Operator::OneOf => listed,
        Operator::NotOf => !listed,
        Operator::Empty => !any_value,
        Operator::NotEmpty => any_value,
        Operator::Type => typed,
    }
}

fn text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhirconnect::instance::Leaf;
    use crate::fhirconnect::openehr_path::MappingPath;
    use serde_json::json;

    fn cond(yaml: &str) -> Condition {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn path(text: &str) -> InstancePath {
        InstancePath(MappingPath::parse(text).unwrap().segs)
    }

    #[test]
    fn fhir_type_of_extensions_and_typed_nodes() {
        let ext = json!({"url": "http://x", "valueCoding": {"code": "B"}});
        let node = Node {
            value: &ext,
            ty: None,
            loc: "Condition.code.coding[0].extension[1]".into(),
            wrapped: None,
        };
        assert!(fhir_type_is(&node, &["Extension"]));
        assert!(!fhir_type_is(&node, &["CodeableConcept"]));
        let cc = json!({"coding": []});
        let node = Node {
            value: &cc,
            ty: Some("CodeableConcept"),
            loc: "Condition.bodySite[0]".into(),
            wrapped: None,
        };
        assert!(fhir_type_is(&node, &["Extension", "codeableconcept"]));
        let res = json!({"resourceType": "Encounter"});
        assert!(fhir_type_is(&Node::resource(&res), &["Encounter"]));
    }

    #[test]
    fn target_attributes_are_tested_together() {
        let mut compiled = Compiled::default();
        let set_free = cond("targetRoot: \"$resource\"\ntargetAttributes:\n  - \"code.text\"\n  - \"note.text\"\noperator: \"one of\"\ncriteria: \"b\"\n");
        assert_eq!(set_free.target_attributes.len(), 2);
        // Paths not compiled: nothing can be tested.
        let r =
            json!({"resourceType": "Condition", "code": {"text": "a"}, "note": [{"text": "b"}]});
        let root = Node::resource(&r);
        assert!(fhir_tested(&set_free, &compiled, &root).is_none());
        compiled = {
            // Compile through a throwaway set-less path: the public API
            // compiles whole sets, so parse the two paths by hand.
            let mut c = Compiled::default();
            c.test_compile(&["code.text", "note.text"]);
            c
        };
        let values = fhir_tested(&set_free, &compiled, &root).unwrap();
        let texts: Vec<String> = values.iter().filter_map(Node::as_text).collect();
        assert_eq!(texts, ["a", "b"]);
    }

    #[test]
    fn openehr_conditions_over_several_attributes_and_types() {
        let mut inst = Instance::default();
        let root = path("$archetype/data[at0001]");
        inst.put(
            root.join(&path("items[at0077]").0),
            Leaf::new("DV_DATE_TIME", [("", json!("2024-02-21"))]),
        );
        let empty = cond("targetRoot: \"$archetype/data[at0001]\"\ntargetAttributes:\n  - \"items[openEHR-EHR-CLUSTER.lebensphase.v0]/items[at0001]\"\n  - \"items[openEHR-EHR-CLUSTER.lebensphase.v0]/items[at0002]\"\noperator: \"empty\"\n");
        assert!(openehr_holds(&empty, &root, &inst));
        inst.put(
            root.join(&path("items[openEHR-EHR-CLUSTER.lebensphase.v0]/items[at0002]").0),
            Leaf::new(
                "DV_CODED_TEXT",
                [("code", json!("x")), ("value", json!("Ende"))],
            ),
        );
        assert!(!openehr_holds(&empty, &root, &inst));
        let typed = cond("targetRoot: \"$archetype\"\ntargetAttribute: \"items[at0077]\"\noperator: \"type\"\ncriteria: \"DV_DATE_TIME\"\n");
        assert!(openehr_holds(&typed, &root, &inst));
        let other = cond("targetRoot: \"$archetype\"\ntargetAttribute: \"items[at0077]\"\noperator: \"type\"\ncriteria: \"DV_CODED_TEXT\"\n");
        assert!(!openehr_holds(&other, &root, &inst));
        let code = cond("targetRoot: \"$archetype\"\ntargetAttribute: \"items[openEHR-EHR-CLUSTER.lebensphase.v0]/items[at0002]/defining_code/code_string\"\noperator: \"one of\"\ncriteria: \"x\"\n");
        assert!(openehr_holds(&code, &root, &inst));
    }
}
