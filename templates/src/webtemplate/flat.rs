//! FLAT paths of a web template.
//!
//! A FLAT path is the chain of tree ids from the root, with `:N` after every
//! node that may occur more than once (`:0` for the first instance) and
//! `|suffix` for inputs that have one (`…/systolic|magnitude`). These are
//! the keys of EHRbase's FLAT (simSDT) format.

use super::{WebNode, WebTemplate};

/// One FLAT path with what it addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatPath {
    /// The FLAT key with `:0` for repeatable nodes, e.g.
    /// `vital_signs/blood_pressure:0/any_event:0/systolic|magnitude`.
    pub flat: String,
    /// The AQL path of the node.
    pub aql_path: String,
    /// The node's RM type.
    pub rm_type: String,
    /// The input suffix, `None` for the bare value.
    pub suffix: Option<String>,
}

/// Every FLAT path of `wt`, in tree order: one per input of each leaf, and
/// the bare path for leaves without inputs (e.g. `language`).
pub fn flat_paths(wt: &WebTemplate) -> Vec<FlatPath> {
    let mut out = Vec::new();
    collect(&wt.tree, "", &mut out);
    out
}

fn collect(node: &WebNode, prefix: &str, out: &mut Vec<FlatPath>) {
    let index = if node.is_multiple() { ":0" } else { "" };
    let path = if prefix.is_empty() {
        format!("{}{index}", node.id)
    } else {
        format!("{prefix}/{}{index}", node.id)
    };
    if node.children.is_empty() {
        if node.inputs.is_empty() {
            out.push(FlatPath {
                flat: path.clone(),
                aql_path: node.aql_path.clone(),
                rm_type: node.rm_type.clone(),
                suffix: None,
            });
        }
        for input in &node.inputs {
            let flat = match &input.suffix {
                Some(s) => format!("{path}|{s}"),
                None => path.clone(),
            };
            out.push(FlatPath {
                flat,
                aql_path: node.aql_path.clone(),
                rm_type: node.rm_type.clone(),
                suffix: input.suffix.clone(),
            });
        }
    }
    for child in &node.children {
        collect(child, &path, out);
    }
}

/// The node a FLAT key addresses, ignoring the `|attribute` suffix and
/// instance indexes (`:3`). `None` when no node has that id chain, or when
/// a segment is an RM extra the web template does not list (`_uid`,
/// `_end_time`, `_feeder_audit`, ...: segments starting with `_`).
pub fn resolve<'a>(wt: &'a WebTemplate, key: &str) -> Option<&'a WebNode> {
    let path = key.split('|').next()?;
    let mut segments = path.split('/').map(|s| s.split(':').next().unwrap_or(s));
    if segments.next()? != wt.tree.id {
        return None;
    }
    let mut node = &wt.tree;
    for segment in segments {
        if segment.starts_with('_') {
            return None;
        }
        node = node.children.iter().find(|c| c.id == segment)?;
    }
    Some(node)
}
