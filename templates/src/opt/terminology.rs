//! Archetype term definitions (`term_definitions` of a `C_ARCHETYPE_ROOT`).

use std::collections::BTreeMap;

use super::xml::Element;
use crate::meta::{Term, TermDefinitions};

/// Reads `term_definitions` and `constraint_definitions` of an archetype
/// root. OPT 1.4 writes them without a language: they are in `language`,
/// the template's language.
pub(super) fn read_terms(root: &Element, language: &str) -> TermDefinitions {
    let mut terms = BTreeMap::new();
    for def in root
        .children
        .iter()
        .filter(|c| c.name == "term_definitions" || c.name == "constraint_definitions")
    {
        let Some(code) = def.attr("code") else {
            continue;
        };
        let mut term = Term::default();
        for item in def.children_named("items") {
            let value = item.text.trim().to_string();
            match item.attr("id") {
                Some("text") => term.text = value,
                Some("description") => term.description = value,
                Some(other) => {
                    term.other.insert(other.to_string(), value);
                }
                None => {}
            }
        }
        terms.insert(code.to_string(), term);
    }
    let mut by_language = BTreeMap::new();
    by_language.insert(language.to_string(), terms);
    TermDefinitions { by_language }
}
