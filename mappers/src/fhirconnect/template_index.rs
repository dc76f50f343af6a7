//! A per-template lookup built once from [`TemplateMeta`]: AQL path ->
//! node facts (RM type, data-value type, multiplicity, FLAT id), and FLAT
//! path -> AQL path. Translating a resource then costs hash lookups only.
//!
//! FLAT tree ids come from the templates crate's web template (the node's
//! `id`); nodes absent from the web tree (structural containers such as
//! `HISTORY`/`ITEM_TREE`) have no FLAT segment. AQL paths are keyed without
//! name predicates (`[at0001,'Name']` -> `[at0001]`), as mapping files write
//! them; siblings that differ only by name share the first one's facts.

use std::collections::HashMap;

/// Node lookups run several times per translated value; a fast seeded hash.
type Fast = foldhash::fast::RandomState;

use ehrgate_templates::meta::{Node, Occurrences, TermDefinitions};
use ehrgate_templates::TemplateMeta;

use super::openehr_path::{InstancePath, Seg};

/// Facts about one template node.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    /// RM type (`ELEMENT`, `OBSERVATION`, `DV_QUANTITY`).
    pub rm_type: String,
    /// For `ELEMENT`s: the RM types its `value` may take.
    pub value_types: Vec<String>,
    /// More than one instance allowed (FLAT `:N`, canonical arrays).
    pub multiple: bool,
    /// `occurrences`.
    pub occurrences: Occurrences,
    /// The node's name in the template language.
    pub name: Option<String>,
    /// FLAT tree id, `None` for structural containers.
    pub flat_id: Option<String>,
    /// Archetype id for archetype roots.
    pub archetype_id: Option<String>,
    /// `node_id` (at-code), empty if none.
    pub node_id: String,
    /// AQL paths of the children every instance of this node must have
    /// (`occurrences.lower >= 1`, see [`required_in`]).
    pub required_children: Vec<String>,
    /// For coded nodes: (terminology, allowed codes).
    pub code_list: Option<(String, Vec<String>)>,
    /// For coded nodes bound to an external value set without a code list:
    /// the binding (`referenceSetUri`, e.g.
    /// `ValueSet/$expand?url=http://hl7.org/fhir/ValueSet/observation-status`).
    pub value_set: Option<String>,
    /// For quantities: allowed units (empty: any).
    pub units: Vec<String>,
    /// For local coded nodes: at-code -> term text.
    pub code_texts: Vec<(String, String)>,
    /// For ordinals: (value, at-code, term text).
    pub ordinals: Vec<(i64, String, String)>,
    /// Other template nodes with the same path once names are stripped
    /// (named siblings such as several `SECTION.adhoc.v1` under one parent,
    /// or alternatives of one archetype). This node's own facts are the
    /// first alternative's, which is what mapping uses; the template check
    /// accepts a value that fits any alternative and counts occurrences
    /// against all of them together, because without names it cannot tell
    /// which sibling an instance stands for.
    pub alternatives: Vec<NodeInfo>,
}

// === impl NodeInfo ===

impl NodeInfo {
    /// This node and its [`NodeInfo::alternatives`].
    pub fn all(&self) -> impl Iterator<Item = &NodeInfo> {
        std::iter::once(self).chain(self.alternatives.iter())
    }

    /// The largest number of instances the node and its alternatives allow
    /// together (`None`: unbounded).
    pub fn upper_together(&self) -> Option<u32> {
        self.all().try_fold(0u32, |sum, i| {
            i.occurrences.upper.map(|u| sum.saturating_add(u))
        })
    }

    /// Children required by the node and by every alternative: a child only
    /// one sibling requires cannot be asked of an instance that may be
    /// another sibling.
    pub fn required_by_all(&self) -> impl Iterator<Item = &String> {
        self.required_children.iter().filter(|r| {
            self.alternatives
                .iter()
                .all(|a| a.required_children.contains(r))
        })
    }
}

/// The lookup tables of one template.
#[derive(Debug, Clone)]
pub struct TemplateIndex {
    /// The template id.
    pub template_id: String,
    /// FLAT tree id of the composition (first segment of every FLAT path).
    pub tree_id: String,
    nodes: HashMap<String, NodeInfo, Fast>,
    flat_to_aql: HashMap<String, String, Fast>,
    web_ids: HashMap<String, String, Fast>,
}

/// RM types that structure data but have no FLAT path segment of their own.
const STRUCTURAL: &[&str] = &[
    "HISTORY",
    "ITEM_TREE",
    "ITEM_LIST",
    "ITEM_SINGLE",
    "ITEM_TABLE",
];

impl TemplateIndex {
    /// Indexes `meta`.
    pub fn new(meta: &TemplateMeta) -> Self {
        let wt = ehrgate_templates::webtemplate::build(meta);
        let web_ids: HashMap<String, String, Fast> = wt
            .tree
            .walk()
            .skip(1)
            .map(|n| (strip_names(&n.aql_path), n.id.clone()))
            .collect();
        let tree_id = wt.tree.id;
        let mut idx = TemplateIndex {
            template_id: meta.template_id.to_string(),
            tree_id: tree_id.clone(),
            nodes: HashMap::default(),
            flat_to_aql: HashMap::default(),
            web_ids,
        };
        idx.add(&meta.root, &tree_id, true, None, &meta.language);
        idx
    }

    fn add(
        &mut self,
        node: &Node,
        parent_flat: &str,
        is_root: bool,
        terms: Option<&TermDefinitions>,
        language: &str,
    ) {
        let terms = node.terms.as_deref().or(terms);
        let aql = strip_names(&node.aql_path);
        let structural = STRUCTURAL.contains(&node.rm_type.as_str()) || node.is_data_value();
        let own_id = if is_root || structural {
            None
        } else {
            // Web templates fold an ELEMENT into its value node
            // (`.../items[at0004]/value`).
            self.web_ids
                .get(&aql)
                .or_else(|| self.web_ids.get(&format!("{aql}/value")))
                .cloned()
        };
        let flat = match &own_id {
            Some(id) => format!("{parent_flat}/{id}"),
            None => parent_flat.to_owned(),
        };
        if !node.is_data_value() {
            // the first alternative wins; a second with the same path keeps the first
            if own_id.is_some() {
                self.flat_to_aql
                    .entry(flat.clone())
                    .or_insert_with(|| aql.clone());
            }
            match self.nodes.entry(aql) {
                std::collections::hash_map::Entry::Occupied(mut first) => {
                    let alt = info(node, own_id, terms, language);
                    first.get_mut().alternatives.push(alt);
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(info(node, own_id, terms, language));
                }
            }
        }
        for attr in &node.attributes {
            for child in &attr.children {
                self.add(child, &flat, false, terms, language);
            }
        }
    }

    /// The composition's archetype id: the archetype of nodes that sit in
    /// no entry (`/context/other_context[at0001]/items[at0004]`).
    pub fn root_archetype(&self) -> Option<&str> {
        self.nodes.get("")?.archetype_id.as_deref()
    }

    /// The archetype and node id that key a node's terms: the nearest
    /// archetype on the path, else the composition's.
    pub fn archetype_and_node<'p>(&'p self, path: &'p InstancePath) -> Option<(&'p str, &'p str)> {
        path.archetype_and_node().or_else(|| {
            let node = &*path.0.last()?.node;
            Some((self.root_archetype()?, node))
        })
    }

    /// Facts about the node at `aql` (no indexes).
    pub fn node(&self, aql: &str) -> Option<&NodeInfo> {
        self.nodes.get(aql)
    }

    /// The FLAT path (with `:N`) of an instance path, e.g.
    /// `blood_pressure/blood_pressure/any_event:1/systolic`. Segments the
    /// template does not constrain (`time`, `context/start_time`) appear as
    /// their RM attribute name.
    pub fn flat_path(&self, path: &InstancePath) -> String {
        let mut out = self.tree_id.clone();
        let mut aql = String::new();
        for seg in &path.0 {
            aql.push('/');
            aql.push_str(&seg.attr);
            if !seg.node.is_empty() {
                aql.push('[');
                aql.push_str(&seg.node);
                aql.push(']');
            }
            match self.nodes.get(&aql) {
                Some(info) => {
                    if let Some(id) = &info.flat_id {
                        out.push('/');
                        out.push_str(id);
                        if info.multiple {
                            out.push(':');
                            out.push_str(&seg.index.to_string());
                        }
                    }
                }
                None => {
                    out.push('/');
                    out.push_str(&seg.attr);
                }
            }
        }
        out
    }

    /// The instance path of a FLAT path (without the `|attribute`), or
    /// `None` if the template has no such node.
    pub fn instance_path(&self, flat: &str) -> Option<InstancePath> {
        let mut parts: Vec<(&str, usize)> = Vec::new();
        for p in flat.split('/') {
            let (id, index) = match p.rsplit_once(':') {
                Some((id, n)) => (id, n.parse().ok()?),
                None => (p, 0),
            };
            parts.push((id, index));
        }
        let plain: Vec<&str> = parts.iter().map(|(id, _)| *id).collect();
        // The longest known prefix, then plain RM attributes.
        for known in (1..=plain.len()).rev() {
            let key = plain[..known].join("/");
            let aql = if known == 1 && key == self.tree_id {
                Some("")
            } else {
                self.flat_to_aql.get(&key).map(String::as_str)
            };
            let Some(aql) = aql else { continue };
            let mut path = self.aql_to_instance(aql, &parts[1..known])?;
            for (id, index) in &parts[known..] {
                path.0.push(Seg {
                    attr: (*id).into(),
                    node: "".into(),
                    index: *index,
                });
            }
            return Some(path);
        }
        None
    }

    /// Rebuilds the indexed instance path of `aql`, taking indexes from the
    /// FLAT segments of its non-structural nodes in order.
    fn aql_to_instance(&self, aql: &str, flat_parts: &[(&str, usize)]) -> Option<InstancePath> {
        let segs = super::openehr_path::parse_segs(aql).ok()?;
        let mut out = Vec::with_capacity(segs.len());
        let mut flat = flat_parts.iter();
        let mut prefix = String::new();
        for mut seg in segs {
            prefix.push('/');
            prefix.push_str(&seg.attr);
            if !seg.node.is_empty() {
                prefix.push('[');
                prefix.push_str(&seg.node);
                prefix.push(']');
            }
            let has_id = self.nodes.get(&prefix).is_some_and(|n| n.flat_id.is_some());
            if has_id {
                seg.index = flat.next().map_or(0, |(_, i)| *i);
            }
            out.push(seg);
        }
        Some(InstancePath(out))
    }

    /// All indexed nodes.
    pub fn nodes(&self) -> impl Iterator<Item = (&String, &NodeInfo)> {
        self.nodes.iter()
    }
}

fn info(
    node: &Node,
    flat_id: Option<String>,
    terms: Option<&TermDefinitions>,
    language: &str,
) -> NodeInfo {
    let value_types: Vec<String> = node
        .attribute("value")
        .map(|a| a.children.iter().map(|c| c.rm_type.clone()).collect())
        .unwrap_or_default();
    let mut code_list = None;
    let mut value_set = None;
    let mut units = Vec::new();
    let mut ordinals = Vec::new();
    let mut code_texts = Vec::new();
    for dv in node.attribute("value").iter().flat_map(|a| &a.children) {
        match &dv.constraint {
            Some(ehrgate_templates::meta::DvConstraint::CodedText(c)) if !c.codes.is_empty() => {
                code_list = Some((c.terminology.clone(), c.codes.clone()));
                for code in &c.codes {
                    if let Some(t) = terms.and_then(|t| t.get(language, code)) {
                        code_texts.push((code.clone(), t.text.clone()));
                    }
                }
            }
            Some(ehrgate_templates::meta::DvConstraint::CodedText(c)) => {
                value_set = c.reference_set_uri.clone();
            }
            Some(ehrgate_templates::meta::DvConstraint::Quantity(q)) => {
                units.extend(q.units.iter().map(|u| u.unit.clone()));
            }
            Some(ehrgate_templates::meta::DvConstraint::Ordinal(items)) => {
                for it in items {
                    let text = terms
                        .and_then(|t| t.get(language, &it.symbol.code))
                        .map_or_else(|| it.symbol.code.clone(), |t| t.text.clone());
                    ordinals.push((it.value, it.symbol.code.clone(), text));
                }
            }
            _ => {}
        }
    }
    let required_children = node
        .attributes
        .iter()
        .filter(|a| a.name != "value" && a.name != "name")
        .flat_map(required_in)
        .map(|c| strip_names(&c.aql_path))
        .collect();
    NodeInfo {
        rm_type: node.rm_type.clone(),
        value_types,
        multiple: node.occurrences.is_multiple(),
        occurrences: node.occurrences,
        name: node.name.clone(),
        flat_id,
        archetype_id: node.archetype_id.clone(),
        node_id: node.node_id.clone(),
        required_children,
        code_list,
        value_set,
        units,
        ordinals,
        code_texts,
        alternatives: Vec::new(),
    }
}

/// The children of `attr` an instance of its parent must have. In a
/// container attribute (`items`, `content`, `events`) every child whose
/// `occurrences` lower bound is at least 1, whatever the attribute's
/// `existence` (templates leave `items` at existence 0 and require an
/// ELEMENT through its occurrences; EHRbase's web template gives it
/// `min: 1`). A single attribute (`protocol`, `other_context`, `state`)
/// at existence 0 may be absent, so nothing in it is required; at
/// existence 1 its one alternative is (of several, such as an ACTION's
/// `ism_transition` per careflow step, none on its own).
fn required_in(attr: &ehrgate_templates::meta::Attribute) -> impl Iterator<Item = &Node> {
    let nodes = attr
        .children
        .iter()
        .filter(|c| !c.is_data_value() && !c.aql_path.is_empty());
    let single = attr.cardinality.is_none();
    let applies = !single || (attr.existence.lower >= 1 && nodes.clone().count() == 1);
    nodes.filter(move |c| applies && c.occurrences.lower >= 1)
}

/// An AQL path without name predicates: `[at0001,'Name']` -> `[at0001]`.
pub fn strip_names(aql: &str) -> String {
    let mut out = String::with_capacity(aql.len());
    let mut in_bracket = false;
    let mut skipping = false;
    let mut in_quote = false;
    for c in aql.chars() {
        match c {
            '\'' if skipping => in_quote = !in_quote,
            ']' if !in_quote => {
                in_bracket = false;
                skipping = false;
                out.push(c);
            }
            ',' if in_bracket && !in_quote => skipping = true,
            '[' if !in_quote && !skipping => {
                in_bracket = true;
                out.push(c);
            }
            _ if skipping => {}
            _ => out.push(c),
        }
    }
    out
}

/// A FLAT tree id from a node name (kept for nodes the web template does
/// not name; the web template's ids are used otherwise).
pub fn flat_id(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_underscore = true;
    for c in name.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'ä' => 'a',
            'ö' => 'o',
            'ü' => 'u',
            'ß' => 's',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
            last_underscore = false;
        } else if !last_underscore {
            out.push('_');
            last_underscore = true;
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'a');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_predicates_are_dropped() {
        assert_eq!(
            strip_names("/content[openEHR-EHR-EVALUATION.problem_diagnosis.v1,'Vorliegende Diagnose']/data[at0001]"),
            "/content[openEHR-EHR-EVALUATION.problem_diagnosis.v1]/data[at0001]"
        );
        assert_eq!(strip_names("/items[at0001,'a, b]']/x"), "/items[at0001]/x");
    }

    #[test]
    fn flat_ids_follow_the_corpus_spelling() {
        assert_eq!(flat_id("Blood pressure"), "blood_pressure");
        assert_eq!(flat_id("24 hour average"), "a24_hour_average");
        assert_eq!(
            flat_id("Location of measurement"),
            "location_of_measurement"
        );
        assert_eq!(flat_id("Any event"), "any_event");
    }
}
