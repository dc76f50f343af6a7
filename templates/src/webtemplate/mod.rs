//! Web templates: the simplified tree EHRbase serves for a template
//! (`GET /definition/template/adl1.4/{id}` with `Accept: application/openehr.wt+json`)
//! and the FLAT paths derived from it.
//!
//! # Layout
//! - `tree_id`: node names -> tree ids, sibling de-duplication.
//! - `builder`: [`TemplateMeta`] -> [`WebTemplate`] (structural nodes
//!   flattened, elements collapsed into their value, RM attributes added).
//! - `rm`: which RM attributes web templates add per RM type, and the
//!   inputs (`|magnitude`, `|code`, ...) of each data type.
//! - `flat`: FLAT paths (`tree_id/path:0|suffix`).
//! - `json`: web template JSON out (and in, to compare with other producers).

mod builder;
mod flat;
mod json;
mod rm;
mod tree_id;

pub use builder::build;
pub use flat::{flat_paths, resolve, FlatPath};
pub use json::{from_json, to_json};
pub use tree_id::tree_id;

#[allow(unused_imports)] // named in docs
use crate::meta::TemplateMeta;

/// A web template.
#[derive(Debug, Clone, PartialEq)]
pub struct WebTemplate {
    /// The template id.
    pub template_id: String,
    /// Web template format version (`2.3`).
    pub version: String,
    /// The template's language.
    pub default_language: String,
    /// All languages.
    pub languages: Vec<String>,
    /// The root node (the composition).
    pub tree: WebNode,
}

/// One node of a web template.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WebNode {
    /// Tree id, unique among siblings; the FLAT path segment.
    pub id: String,
    /// Name in the default language.
    pub name: String,
    /// RM type, e.g. `DV_QUANTITY`, `OBSERVATION`, `DV_INTERVAL<DV_COUNT>`.
    pub rm_type: String,
    /// Archetype id or at-code; empty when none.
    pub node_id: String,
    /// Minimum occurrences.
    pub min: i64,
    /// Maximum occurrences, `-1` for unbounded.
    pub max: i64,
    /// AQL path from the composition.
    pub aql_path: String,
    /// Whether the node is an RM attribute the FLAT format fills from context
    /// (composer, language, time, ...).
    pub in_context: bool,
    /// Data inputs of leaf nodes.
    pub inputs: Vec<WebInput>,
    /// Child nodes.
    pub children: Vec<WebNode>,
}

/// One input of a leaf node: one FLAT attribute (`|magnitude`) or the bare
/// path when `suffix` is `None`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WebInput {
    /// FLAT attribute name, `None` for the value itself.
    pub suffix: Option<String>,
    /// Input type: `TEXT`, `CODED_TEXT`, `DECIMAL`, `INTEGER`, `DATE`, ...
    pub input_type: String,
    /// Terminology of coded inputs.
    pub terminology: Option<String>,
    /// Allowed values (codes or units).
    pub list: Vec<String>,
}

// === impl WebNode ===

impl WebNode {
    /// Whether FLAT paths through this node carry an index (`:0`).
    pub fn is_multiple(&self) -> bool {
        self.max != 1 && self.max != 0
    }

    /// Depth-first iterator over this node and its descendants.
    pub fn walk(&self) -> impl Iterator<Item = &WebNode> {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            let node = stack.pop()?;
            stack.extend(node.children.iter().rev());
            Some(node)
        })
    }
}
