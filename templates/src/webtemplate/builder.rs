//! [`TemplateMeta`] -> [`WebTemplate`].
//!
//! Rules (those of EHRbase/Better web templates, checked against the corpus
//! web templates):
//! - structures (`HISTORY`, `ITEM_TREE`, `ITEM_LIST`, ...) are flattened:
//!   their children move up to the enclosing node;
//! - an `EVENT` that is the only event of its attribute and occurs at most
//!   once is flattened too;
//! - an `ELEMENT` with one value type becomes a leaf of that type with the
//!   element's id; with several it keeps its id and gets one child per type
//!   (`quantity_value`, `interval_of_quantity_value`, ...); a choice of
//!   exactly `DV_TEXT` and `DV_CODED_TEXT` becomes one node with an `|other`
//!   input: a coded text when there is a local code list, else a text; an unconstrained value offers every data type;
//! - slots and primitive constraints are not nodes; the `name` attribute is
//!   not a node;
//! - RM attributes FLAT fills from context are added where the template does
//!   not constrain them (see `rm`), and `ACTION/ism_transition` is one node
//!   with `careflow_step`, `current_state` and `transition`;
//! - a node whose name the template constrains to several coded terms
//!   becomes one node per term, with the name in its AQL predicate;
//! - sibling ids are made unique by appending `2`, `3`, ...

use super::rm::{
    added_attributes, attribute_node, choice_id, inputs, is_event, is_invisible, is_structure,
    ism_children, ANY_VALUE_TYPES,
};
use super::tree_id::{make_unique, tree_id};
use super::{WebInput, WebNode, WebTemplate};
use crate::meta::{Attribute, DvConstraint, Node, TemplateMeta};

/// Derives the web template of `meta`.
pub fn build(meta: &TemplateMeta) -> WebTemplate {
    let mut tree = complex(&meta.root, false)
        .into_iter()
        .next()
        .unwrap_or_default();
    tree.node_id = meta.root.archetype_id.clone().unwrap_or_default();
    WebTemplate {
        template_id: meta.template_id.to_string(),
        version: "2.3".into(),
        default_language: meta.language.clone(),
        languages: meta.languages.clone(),
        tree,
    }
}

fn display_name(node: &Node) -> String {
    node.name
        .clone()
        .unwrap_or_else(|| node.rm_attribute.clone())
}

fn base(node: &Node) -> WebNode {
    let name = display_name(node);
    WebNode {
        id: tree_id(&name),
        name,
        rm_type: node.rm_type.clone(),
        node_id: node
            .archetype_id
            .clone()
            .unwrap_or_else(|| node.node_id.clone()),
        min: i64::from(node.occurrences.lower),
        max: node.occurrences.max_web(),
        aql_path: node.aql_path.clone(),
        ..WebNode::default()
    }
}

/// One template node -> zero, one or (when flattened) several web nodes.
fn convert(node: &Node, attr: &Attribute) -> Vec<WebNode> {
    if is_invisible(node) {
        return Vec::new();
    }
    if node.rm_type == "ELEMENT" {
        return vec![element(node)];
    }
    if node.is_data_value() {
        return vec![leaf(node, base(node))];
    }
    let single_event = is_event(&node.rm_type)
        && node.occurrences.upper == Some(1)
        && attr
            .children
            .iter()
            .filter(|c| is_event(&c.rm_type))
            .count()
            == 1;
    complex(node, single_event)
}

fn complex(node: &Node, flatten: bool) -> Vec<WebNode> {
    let mut children = Vec::new();
    for attr in &node.attributes {
        if attr.name == "name" {
            continue;
        }
        if node.rm_type == "ACTION" && attr.name == "ism_transition" {
            children.push(ism_transition(node, attr));
            continue;
        }
        for child in &attr.children {
            let converted = convert(child, attr);
            if child.name_choices.is_empty() {
                children.extend(converted);
            } else {
                for name in &child.name_choices {
                    children.extend(converted.iter().map(|w| named_copy(w, child, name)));
                }
            }
        }
    }
    for added in added_attributes(&node.rm_type) {
        let path = format!("{}/{}", node.aql_path, added.0);
        if let Some(existing) = children.iter_mut().find(|c| c.aql_path == path) {
            existing.in_context = added.3;
        } else if node.rm_type == "ACTION" && added.0 == "ism_transition" {
            // handled above when constrained
        } else {
            children.push(attribute_node(&node.aql_path, added));
        }
    }
    if node.rm_type == "ACTION" && !children.iter().any(|c| c.id == "ism_transition") {
        children.push(ism_node(node, None));
    }
    if node.rm_type == "COMPOSITION" && !children.iter().any(|c| c.rm_type == "EVENT_CONTEXT") {
        let mut context = attribute_node(&node.aql_path, ("context", "EVENT_CONTEXT", 0, false));
        context.children = added_attributes("EVENT_CONTEXT")
            .into_iter()
            .map(|a| attribute_node(&context.aql_path, a))
            .collect();
        children.push(context);
    }
    if is_structure(&node.rm_type) || flatten {
        return children;
    }
    let mut web = base(node);
    web.children = children;
    unique_ids(&mut web.children);
    vec![web]
}

/// A copy of `web` (built from `node`) for one of the node's allowed names:
/// new name and id, and the name predicate in its own and all descendants'
/// AQL paths.
fn named_copy(web: &WebNode, node: &Node, name: &str) -> WebNode {
    let escaped = name.replace('\\', "\\\\").replace('\'', "\\'");
    let named_path = match node.aql_path.strip_suffix(']') {
        Some(open) => format!("{open},'{escaped}']"),
        None => node.aql_path.clone(),
    };
    let mut copy = web.clone();
    copy.name = name.to_string();
    copy.id = tree_id(name);
    rewrite_paths(&mut copy, &node.aql_path, &named_path);
    copy
}

fn rewrite_paths(web: &mut WebNode, from: &str, to: &str) {
    if let Some(rest) = web.aql_path.strip_prefix(from) {
        web.aql_path = format!("{to}{rest}");
    }
    for child in &mut web.children {
        rewrite_paths(child, from, to);
    }
}

fn unique_ids(children: &mut [WebNode]) {
    let mut ids: Vec<String> = children.iter().map(|c| c.id.clone()).collect();
    make_unique(&mut ids);
    for (child, id) in children.iter_mut().zip(ids) {
        child.id = id;
    }
}

fn element(node: &Node) -> WebNode {
    let values: Vec<&Node> = node
        .attribute("value")
        .map(|a| a.children.iter().filter(|c| !is_invisible(c)).collect())
        .unwrap_or_default();
    let mut web = base(node);
    let value_path = format!("{}/value", node.aql_path);
    match values.as_slice() {
        [] => {
            web.children = ANY_VALUE_TYPES
                .iter()
                .map(|rm| WebNode {
                    id: choice_id(rm),
                    name: web.name.clone(),
                    rm_type: (*rm).to_string(),
                    node_id: web.node_id.clone(),
                    min: 0,
                    max: 1,
                    aql_path: value_path.clone(),
                    inputs: inputs(rm, None),
                    ..WebNode::default()
                })
                .collect();
            web
        }
        [value] => {
            let mut template = base(value);
            template.id = web.id;
            template.name = web.name;
            template.node_id = web.node_id;
            template.min = web.min;
            template.max = web.max;
            leaf(value, template)
        }
        many => {
            let types: Vec<&str> = many.iter().map(|v| v.rm_type.as_str()).collect();
            if types.len() == 2 && types.contains(&"DV_TEXT") && types.contains(&"DV_CODED_TEXT") {
                let coded = many.iter().find(|v| v.rm_type == "DV_CODED_TEXT");
                let code_inputs: Vec<WebInput> = coded
                    .map(|c| inputs("DV_CODED_TEXT", Some(c)))
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|i| i.input_type == "CODED_TEXT")
                    .collect();
                web.aql_path = value_path;
                if code_inputs.is_empty() {
                    // No code list to pick from: free text, with `|other`.
                    web.rm_type = "DV_TEXT".into();
                    web.inputs = inputs("DV_TEXT", None);
                } else {
                    web.rm_type = "DV_CODED_TEXT".into();
                    web.inputs = code_inputs;
                }
                web.inputs.push(WebInput {
                    suffix: Some("other".into()),
                    input_type: "TEXT".into(),
                    ..WebInput::default()
                });
                return web;
            }
            web.children = many
                .iter()
                .map(|v| {
                    let mut template = base(v);
                    template.id = choice_id(&v.rm_type);
                    template.name = web.name.clone();
                    template.node_id = web.node_id.clone();
                    leaf(v, template)
                })
                .collect();
            web
        }
    }
}

/// A data-value node: inputs, and `upper`/`lower` children for intervals.
fn leaf(node: &Node, mut web: WebNode) -> WebNode {
    if node.rm_type.starts_with("DV_INTERVAL<") {
        web.children = added_attributes(&node.rm_type)
            .into_iter()
            .map(|(name, rm_type, min, ctx)| {
                let constrained = node
                    .attribute(name)
                    .and_then(|a| a.children.iter().find(|c| !is_invisible(c)));
                match constrained {
                    Some(c) => {
                        let mut w = base(c);
                        w.id = name.to_string();
                        w.name = name.to_string();
                        leaf(c, w)
                    }
                    None => attribute_node(&node.aql_path, (name, rm_type, min, ctx)),
                }
            })
            .collect();
    } else {
        web.inputs = inputs(&node.rm_type, Some(node));
    }
    web
}

fn ism_transition(action: &Node, attr: &Attribute) -> WebNode {
    let codes: Vec<String> = attr
        .children
        .iter()
        .filter_map(|t| t.attribute("careflow_step")?.children.first())
        .filter_map(|step| match &step.constraint {
            Some(DvConstraint::CodedText(c)) => Some(c.codes.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    ism_node(action, Some(codes))
}

fn ism_node(action: &Node, codes: Option<Vec<String>>) -> WebNode {
    let path = format!("{}/ism_transition", action.aql_path);
    WebNode {
        id: "ism_transition".into(),
        name: "ism_transition".into(),
        rm_type: "ISM_TRANSITION".into(),
        min: 1,
        max: 1,
        in_context: true,
        children: ism_children(&path, codes),
        aql_path: path,
        ..WebNode::default()
    }
}
