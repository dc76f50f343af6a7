//! Descriptions and code labels for a built web template, from the
//! archetype term definitions of the template.

use std::collections::HashMap;

use super::{WebNode, WebTemplate};
use crate::meta::{TemplateMeta, TermDefinitions};

/// Fills [`WebNode::description`] and the labels of local codes.
pub(super) fn annotate(wt: &mut WebTemplate, meta: &TemplateMeta) {
    let terms: HashMap<&str, &TermDefinitions> = meta
        .root
        .walk()
        .filter_map(|n| Some((n.archetype_id.as_deref()?, n.terms.as_deref()?)))
        .collect();
    let language = meta.language.clone();
    walk(&mut wt.tree, None, &terms, &language);
}

fn walk(
    node: &mut WebNode,
    inherited: Option<&TermDefinitions>,
    terms: &HashMap<&str, &TermDefinitions>,
    language: &str,
) {
    let own = terms.get(node.node_id.as_str()).copied();
    let current = own.or(inherited);
    let code = if own.is_some() {
        "at0000"
    } else {
        node.node_id.as_str()
    };
    if let Some(t) = current {
        if !code.is_empty() {
            node.description = t
                .get(language, code)
                .map(|term| term.description.clone())
                .filter(|d| !d.is_empty());
        }
        for input in &mut node.inputs {
            for value in &mut input.list {
                if value.value.starts_with("at") {
                    value.label = t.get(language, &value.value).map(|term| term.text.clone());
                }
            }
        }
    }
    for child in &mut node.children {
        walk(child, current, terms, language);
    }
}
