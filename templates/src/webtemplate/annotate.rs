//! Labels of local codes in a built web template, from the archetype term
//! definitions of the template (descriptions come with the nodes).

use std::collections::HashMap;

use super::{WebNode, WebTemplate};
use crate::meta::{TemplateMeta, TermDefinitions};

/// Fills the labels of local codes.
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
    if let Some(t) = current {
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
