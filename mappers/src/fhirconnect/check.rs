//! The template check: a composition produced from FHIR is checked against
//! its template before it leaves (required nodes, occurrences, data types,
//! units, code lists). Each violation names the openEHR path and, when the
//! value came from FHIR, the FHIR location it came from; the gateway turns
//! them into OperationOutcome issues ([`operation_outcome`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{json, Value};

use super::instance::{Instance, Leaf};
use super::openehr_path::{aql_of, InstancePath, Seg};
use super::template_index::{NodeInfo, TemplateIndex};

/// One violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// Stable code (`template.unknown-path`, `template.data-type`,
    /// `template.code-not-allowed`, `template.unit-not-allowed`,
    /// `template.required`, `template.occurrences`).
    pub code: &'static str,
    /// The openEHR instance path (`/content[...]/.../items[at0004]`).
    pub openehr_path: String,
    /// The FHIR location the value came from, if known.
    pub fhir_path: Option<String>,
    /// What is wrong, without the value.
    pub message: String,
}

/// RM attributes that carry data without being template nodes.
const RM_ATTRIBUTES: &[&str] = &[
    "time",
    "origin",
    "width",
    "math_function",
    "start_time",
    "end_time",
    "_end_time",
    "setting",
    "language",
    "territory",
    "encoding",
    "category",
    "composer",
    "_uid",
    "_work_flow_id",
    "_guideline_id",
    "_health_care_facility",
    "location",
    "narrative",
    "expiry_time",
    "timing",
    "action_archetype_id",
    "ism_transition",
    "current_state",
    "careflow_step",
    "transition",
];

/// Checks `inst` against the template.
pub fn check(inst: &Instance, index: &TemplateIndex) -> Vec<Issue> {
    let mut issues = Vec::new();
    // Present nodes as borrowed segment runs (ordered like the paths
    // themselves): no path is copied unless it is reported.
    let mut present: BTreeSet<&[Seg]> = BTreeSet::new();
    for (path, leaf) in &inst.leaves {
        // Longest prefix first: once one is known, so are all shorter ones.
        for n in (1..=path.0.len()).rev() {
            if !present.insert(&path.0[..n]) {
                break;
            }
        }
        let source = inst.sources.get(path);
        let issue = |code, message: String| Issue {
            code,
            openehr_path: path.to_string(),
            fhir_path: source.cloned(),
            message,
        };
        if leaf.rm_type.as_deref() == Some(super::links::LINK) {
            if let Some((code, message)) = super::links::check_link(path, leaf, index) {
                issues.push(issue(code, message));
            }
            continue;
        }
        let aql = path.aql();
        let Some(info) = index.node(&aql) else {
            // RM attributes may nest (`ism_transition/careflow_step`):
            // the node that owns the chain must be known.
            let rm_tail = path
                .0
                .iter()
                .rev()
                .take_while(|s| s.node.is_empty() && RM_ATTRIBUTES.contains(&&*s.attr))
                .count();
            let owner = path.0.len() - rm_tail;
            let owner_known = owner == 0 || index.node(&aql_of(&path.0[..owner])).is_some();
            if !(rm_tail > 0 && owner_known) {
                issues.push(issue(
                    "template.unknown-path",
                    "path is not in the template".to_owned(),
                ));
            }
            continue;
        };
        let rm = leaf.rm_type.as_deref().unwrap_or("");
        // A value that fits any alternative of the node is accepted; when
        // none fits, the first alternative's problem is reported.
        let mut problems = info.all().map(|alt| value_problem(alt, rm, leaf));
        if let Some(Some((code, message))) = problems.next() {
            if problems.all(|p| p.is_some()) {
                issues.push(issue(code, message));
            }
        }
    }
    // Occurrences of repeated siblings.
    let mut counts: BTreeMap<(&[Seg], &str, &str), usize> = BTreeMap::new();
    for p in &present {
        if let Some((last, parent)) = p.split_last() {
            if !last.node.is_empty() {
                let c = counts.entry((parent, &last.attr, &last.node)).or_default();
                *c = (*c).max(last.index + 1);
            }
        }
    }
    for (&(parent, attr, node), n) in &counts {
        let step = format!("{attr}[{node}]");
        let aql = format!("{}/{step}", aql_of(parent));
        if let Some(upper) = index.node(&aql).and_then(NodeInfo::upper_together) {
            if *n > upper as usize {
                issues.push(Issue {
                    code: "template.occurrences",
                    openehr_path: format!("{}/{step}", InstancePath(parent.to_vec())),
                    fhir_path: None,
                    message: format!("{n} instances where the template allows at most {upper}"),
                });
            }
        }
    }
    // Required nodes under every present node, the composition root
    // included (an instance with no content still owes the template its
    // required entries and context). The AQL of each present path is
    // computed once; the paths under `p` are the contiguous run after it
    // in the ordered set.
    let root: &[Seg] = &[];
    present.insert(root);
    let aqls: BTreeMap<&[Seg], String> = present.iter().map(|p| (*p, aql_of(p))).collect();
    if inst.leaves.is_empty() {
        issues.push(Issue {
            code: "template.empty",
            openehr_path: "/".to_owned(),
            fhir_path: None,
            message: "composition carries no data".to_owned(),
        });
    }
    for (p, p_aql) in &aqls {
        let Some(info) = index.node(p_aql) else {
            continue;
        };
        let mut missing = Vec::new();
        if !info.required_children.is_empty() {
            let under: Vec<&str> = aqls
                .range::<&[Seg], _>((std::ops::Bound::Excluded(p), std::ops::Bound::Unbounded))
                .take_while(|(q, _)| q.starts_with(p))
                .map(|(_, q_aql)| &q_aql[p_aql.len()..])
                .collect();
            missing_required(index, info, p_aql.len(), &under, 0, &mut missing);
        }
        for rel in missing {
            issues.push(Issue {
                code: "template.required",
                openehr_path: format!("{}{rel}", InstancePath(p.to_vec())),
                fhir_path: None,
                message: "required node missing".to_owned(),
            });
        }
        // The RM makes an action's time and state mandatory; the template
        // tree does not list them as children.
        if info.rm_type == "ACTION" {
            for rel in [&["time"][..], &["ism_transition", "current_state"][..]] {
                let mut q = InstancePath(p.to_vec());
                for attr in rel {
                    q.0.push(super::openehr_path::Seg {
                        attr: (*attr).into(),
                        node: "".into(),
                        index: 0,
                    });
                }
                if !present.contains(q.0.as_slice()) {
                    issues.push(Issue {
                        code: "template.required",
                        openehr_path: q.to_string(),
                        fhir_path: None,
                        message: "required node missing".to_owned(),
                    });
                }
            }
        }
    }
    issues
}

/// Deepest chain of absent structural nodes followed for their required
/// children (HISTORY -> EVENT -> ITEM_TREE is three).
const MAX_ABSENT_DEPTH: usize = 8;

/// Pushes to `out` the paths (relative to the present node whose AQL is
/// `base` bytes long) of the required children of `info` that none of
/// `under` (the present paths below that node, relative to it) reaches.
/// A missing data node (ELEMENT, CLUSTER) or archetype root (an entry the
/// template requires) is reported itself; a missing structural node
/// (ITEM_TREE, HISTORY, EVENT, EVENT_CONTEXT...) is followed to the
/// required nodes it would have to hold, which are what a producer
/// forgot.
fn missing_required(
    index: &TemplateIndex,
    info: &NodeInfo,
    base: usize,
    under: &[&str],
    depth: usize,
    out: &mut Vec<String>,
) {
    for req in info.required_by_all() {
        let Some(rel) = req.get(base..) else {
            continue;
        };
        // `under` holds whole segments: `rel` is there when a present
        // path equals it or continues it with a new segment.
        let exists = under.iter().any(|q| {
            q.strip_prefix(rel)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        });
        if exists {
            continue;
        }
        let Some(child) = index.node(req) else {
            continue;
        };
        if matches!(child.rm_type.as_str(), "ELEMENT" | "CLUSTER") || child.archetype_id.is_some() {
            out.push(rel.to_owned());
        } else if depth < MAX_ABSENT_DEPTH {
            missing_required(index, child, base, under, depth + 1, out);
        }
    }
}

/// What is wrong with a leaf's value against one template node, if
/// anything: its data type, code list, ordinal or unit.
fn value_problem(info: &NodeInfo, rm: &str, leaf: &Leaf) -> Option<(&'static str, String)> {
    if !info.value_types.is_empty() {
        let fits = info.value_types.iter().any(|t| same_data_type(t, rm))
            || (rm == "DV_CODED_TEXT" && info.value_types.iter().any(|t| t == "DV_TEXT"));
        if !fits {
            return Some((
                "template.data-type",
                format!(
                    "{rm} where the template allows {}",
                    info.value_types.join(", ")
                ),
            ));
        }
    }
    if let (Some((terminology, codes)), Some(code)) = (&info.code_list, leaf.text("code")) {
        let term = leaf.text("terminology").unwrap_or("");
        if rm == "DV_CODED_TEXT"
            && (terminology.as_str() == term || terminology == "local" && term.is_empty())
            && !codes.iter().any(|c| c == code)
        {
            return Some((
                "template.code-not-allowed",
                format!("code not in the template's {terminology} list"),
            ));
        }
    }
    if rm == "DV_ORDINAL" && !info.ordinals.is_empty() {
        if let Some(code) = leaf.text("code") {
            if !info.ordinals.iter().any(|(_, c, _)| c == code) {
                return Some((
                    "template.code-not-allowed",
                    "ordinal not in the template".to_owned(),
                ));
            }
        }
    }
    if rm == "DV_QUANTITY" && !info.units.is_empty() {
        match leaf.text("unit") {
            Some(u) if info.units.iter().any(|x| x == u) => {}
            _ => {
                return Some((
                    "template.unit-not-allowed",
                    format!(
                        "unit not allowed; the template allows {}",
                        info.units.join(", ")
                    ),
                ))
            }
        }
    }
    None
}

/// Whether a composition's RM type is the template's: a generic type in
/// the template (`DV_INTERVAL<DV_QUANTITY>`) is written without its
/// parameter in canonical JSON (`_type: DV_INTERVAL`).
fn same_data_type(template: &str, rm: &str) -> bool {
    template == rm || template.split_once('<').is_some_and(|(base, _)| base == rm)
}

/// The issues as a FHIR OperationOutcome: `expression` holds the FHIR
/// location, `location`-free `details.text` the openEHR path.
pub fn operation_outcome(issues: &[Issue]) -> Value {
    let issue: Vec<Value> = issues
        .iter()
        .map(|i| {
            let mut o = json!({
                "severity": "error",
                "code": match i.code {
                    "template.required" => "required",
                    "template.code-not-allowed" | "template.unit-not-allowed" => "code-invalid",
                    _ => "structure",
                },
                "details": {
                    "coding": [{"system": "urn:ehrgate:issue", "code": i.code}],
                    "text": format!("openEHR path {}", i.openehr_path)
                },
                "diagnostics": i.message,
            });
            if let Some(f) = &i.fhir_path {
                o["expression"] = json!([f]);
            }
            o
        })
        .collect();
    json!({"resourceType": "OperationOutcome", "issue": issue})
}

#[cfg(test)]
mod data_type_tests {
    use super::same_data_type;

    #[test]
    fn generic_template_types_match_their_canonical_base() {
        assert!(same_data_type("DV_INTERVAL<DV_QUANTITY>", "DV_INTERVAL"));
        assert!(same_data_type("DV_INTERVAL<DV_COUNT>", "DV_INTERVAL"));
        assert!(same_data_type("DV_QUANTITY", "DV_QUANTITY"));
        assert!(!same_data_type("DV_INTERVAL<DV_QUANTITY>", "DV_QUANTITY"));
        assert!(!same_data_type("DV_QUANTITY", "DV_INTERVAL"));
        assert!(!same_data_type("DV_TEXT", "DV_TEXT<"));
    }
}
