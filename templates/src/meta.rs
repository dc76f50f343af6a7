//! The parsed form of an operational template: what translators and
//! validators need, with nothing left to look up at request time.
//!
//! The tree mirrors the openEHR Archetype Object Model (AOM 1.4) as OPTs
//! serialise it: a [`Node`] (a `C_OBJECT`) has [`Attribute`]s (a
//! `C_ATTRIBUTE`), each with child nodes. Every node carries its AQL path and
//! its resolved name so that mappers can address nodes without walking
//! archetype terminologies. [`DvConstraint`] summarises the constraints of
//! `DV_*` nodes (units and magnitude ranges, code lists, patterns).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use crate::id::TemplateId;
use crate::webtemplate::{build, WebTemplate};

/// Everything ehrgate knows about one operational template.
#[derive(Debug, Clone)]
pub struct TemplateMeta {
    /// `template_id/value`, exactly as declared.
    pub template_id: TemplateId,
    /// `uid/value`, when present (a UUID in tool-generated OPTs).
    pub uid: Option<String>,
    /// `concept`.
    pub concept: String,
    /// The template's original language (`language/code_string`), e.g. `en`.
    pub language: String,
    /// Every language for which the template carries term definitions;
    /// the original language first.
    pub languages: Vec<String>,
    /// The root node (`definition`, a `COMPOSITION` archetype root).
    pub root: Node,
    /// Number of nodes in the tree (used as the cache weight).
    pub node_count: usize,
    /// Template-level constraints (`constraints/attributes` with a
    /// `differential_path`), e.g. default values set by the template.
    pub template_constraints: Vec<TemplateConstraint>,
    /// The web template, derived on first use and kept with the cached
    /// template (see [`TemplateMeta::web_template`]).
    pub(crate) web: OnceLock<Arc<WebTemplate>>,
}

/// One `C_OBJECT` of the definition.
#[derive(Debug, Clone)]
pub struct Node {
    /// The reference-model type (`rm_type_name`), e.g. `OBSERVATION`, `DV_QUANTITY`.
    pub rm_type: String,
    /// What kind of AOM object this is and its kind-specific data.
    pub kind: NodeKind,
    /// `node_id` (`at0004`), empty when the node has none.
    pub node_id: String,
    /// Set for archetype roots (`C_ARCHETYPE_ROOT`).
    pub archetype_id: Option<String>,
    /// The RM attribute under which this node sits (`""` for the root).
    pub rm_attribute: String,
    /// AQL path from the composition root, e.g.
    /// `/content[openEHR-EHR-OBSERVATION.blood_pressure.v2]/data[at0001]`.
    pub aql_path: String,
    /// `occurrences`.
    pub occurrences: Occurrences,
    /// The node's name in the template language: the template's name
    /// constraint (`name/value`) when it renames the node, else the term
    /// text of `node_id` in the enclosing archetype.
    pub name: Option<String>,
    /// When the template constrains the name to one of several coded terms
    /// (IPS: one `CLUSTER` named "Reported image" or "Comparison image"),
    /// their texts; each is a separate node in web templates and FLAT.
    pub name_choices: Vec<String>,
    /// Summary of `DV_*` constraints for data-value nodes.
    pub constraint: Option<DvConstraint>,
    /// `default_value` given by the template, when any.
    pub default_value: Option<DefaultValue>,
    /// Constrained attributes, in document order.
    pub attributes: Vec<Attribute>,
    /// Term definitions, set on archetype roots only.
    pub terms: Option<Arc<TermDefinitions>>,
}

/// AOM object kinds that appear in OPT 1.4 definitions.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// `C_COMPLEX_OBJECT`.
    Complex,
    /// `C_ARCHETYPE_ROOT`: a nested archetype.
    ArchetypeRoot,
    /// `ARCHETYPE_SLOT`: an open slot with include/exclude assertions.
    Slot(SlotConstraint),
    /// `C_PRIMITIVE_OBJECT`.
    Primitive(Primitive),
    /// `C_CODE_PHRASE` (and `C_CODE_REFERENCE`).
    CodePhrase(CodePhraseConstraint),
    /// `C_DV_QUANTITY`.
    DvQuantity(QuantityConstraint),
    /// `C_DV_ORDINAL`.
    DvOrdinal(Vec<OrdinalItem>),
    /// `CONSTRAINT_REF` (`ac` code bound to an external terminology).
    ConstraintRef(String),
    /// `ARCHETYPE_INTERNAL_REF` to another path of the same archetype.
    InternalRef(String),
    /// An object type this parser does not know; kept so nothing is lost.
    Other(String),
}

/// A constrained RM attribute (`C_SINGLE_ATTRIBUTE` / `C_MULTIPLE_ATTRIBUTE`).
#[derive(Debug, Clone)]
pub struct Attribute {
    /// `rm_attribute_name`.
    pub name: String,
    /// `existence`.
    pub existence: Occurrences,
    /// `cardinality`, only for container (multiple) attributes.
    pub cardinality: Option<Cardinality>,
    /// Alternative child objects.
    pub children: Vec<Node>,
}

/// An occurrences / existence interval; `upper: None` is unbounded (`*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrences {
    /// Lower bound (inclusive).
    pub lower: u32,
    /// Upper bound (inclusive); `None` means unbounded.
    pub upper: Option<u32>,
}

/// Cardinality of a container attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cardinality {
    /// Number of members allowed.
    pub interval: Occurrences,
    /// `is_ordered`.
    pub is_ordered: bool,
    /// `is_unique`.
    pub is_unique: bool,
}

/// A generic bounded interval (`lower`/`upper` absent means unbounded).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Interval<T> {
    /// Lower bound, `None` when unbounded.
    pub lower: Option<T>,
    /// Upper bound, `None` when unbounded.
    pub upper: Option<T>,
    /// Whether `lower` itself is allowed.
    pub lower_included: bool,
    /// Whether `upper` itself is allowed.
    pub upper_included: bool,
}

/// `C_PRIMITIVE_OBJECT` items.
#[derive(Debug, Clone, PartialEq)]
pub enum Primitive {
    /// `C_STRING`: allowed values or a regex pattern.
    String {
        /// Allowed values (empty: any).
        list: Vec<String>,
        /// Regular expression, when given.
        pattern: Option<String>,
        /// `assumed_value`.
        assumed: Option<String>,
    },
    /// `C_INTEGER`.
    Integer {
        /// Allowed values (empty: any).
        list: Vec<i64>,
        /// Allowed range.
        range: Option<Interval<i64>>,
        /// `assumed_value`.
        assumed: Option<i64>,
    },
    /// `C_REAL`.
    Real {
        /// Allowed values (empty: any).
        list: Vec<f64>,
        /// Allowed range.
        range: Option<Interval<f64>>,
    },
    /// `C_BOOLEAN`.
    Boolean {
        /// `true_valid`.
        true_valid: bool,
        /// `false_valid`.
        false_valid: bool,
        /// `assumed_value`.
        assumed: Option<bool>,
    },
    /// `C_DATE`, `C_TIME`, `C_DATE_TIME` (`kind` names which), with an
    /// optional ISO 8601 validity pattern such as `yyyy-mm-ddTHH:MM:SS`.
    Temporal {
        /// `DATE`, `TIME` or `DATE_TIME`.
        kind: String,
        /// `pattern`.
        pattern: Option<String>,
    },
    /// `C_DURATION`: pattern like `PYMWD` and/or a range of ISO durations.
    Duration {
        /// `pattern`.
        pattern: Option<String>,
        /// Range of durations as ISO 8601 strings.
        range: Option<Interval<String>>,
    },
    /// Any other primitive (`kind` is the xsi:type).
    Other(String),
}

/// An `ARCHETYPE_SLOT`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SlotConstraint {
    /// Archetype-id patterns from `includes` assertions.
    pub includes: Vec<String>,
    /// Archetype-id patterns from `excludes` assertions.
    pub excludes: Vec<String>,
}

/// `C_CODE_PHRASE`: a terminology and the allowed codes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CodePhraseConstraint {
    /// `terminology_id/value` (`local`, `openehr`, `SNOMED-CT`, ...).
    pub terminology: String,
    /// `code_list` (empty: any code of the terminology).
    pub codes: Vec<String>,
    /// `referenceSetUri` of a `C_CODE_REFERENCE`, e.g. `terminology://fhir.hl7.org/ValueSet/...`.
    pub reference_set_uri: Option<String>,
}

/// `C_DV_QUANTITY`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuantityConstraint {
    /// `property` (openEHR code of the physical property, e.g. `125` pressure).
    pub property: Option<CodePhrase>,
    /// Allowed units with their magnitude and precision ranges (empty: any unit).
    pub units: Vec<QuantityUnit>,
}

/// One allowed unit of a `DV_QUANTITY`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuantityUnit {
    /// UCUM unit string, e.g. `mm[Hg]`.
    pub unit: String,
    /// Allowed magnitude range.
    pub magnitude: Option<Interval<f64>>,
    /// Allowed number of decimal places.
    pub precision: Option<Interval<i64>>,
}

/// A coded term reference.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CodePhrase {
    /// Terminology id.
    pub terminology: String,
    /// Code.
    pub code: String,
}

/// One allowed value of a `DV_ORDINAL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdinalItem {
    /// The ordinal number.
    pub value: i64,
    /// Its symbol's code.
    pub symbol: CodePhrase,
}

/// Summary of the constraints on a `DV_*` node, derived from its attributes.
#[derive(Debug, Clone, PartialEq)]
pub enum DvConstraint {
    /// `DV_QUANTITY`: units, magnitude and precision ranges.
    Quantity(QuantityConstraint),
    /// `DV_CODED_TEXT`: terminology and allowed codes (`defining_code`).
    CodedText(CodePhraseConstraint),
    /// `DV_TEXT`: allowed values or pattern of `value`.
    Text {
        /// Allowed values (empty: free text).
        list: Vec<String>,
        /// Regex pattern, when given.
        pattern: Option<String>,
    },
    /// `DV_ORDINAL`: allowed values.
    Ordinal(Vec<OrdinalItem>),
    /// `DV_COUNT`: range of `magnitude`.
    Count(Option<Interval<i64>>),
    /// `DV_BOOLEAN`.
    Boolean {
        /// `true` allowed.
        true_valid: bool,
        /// `false` allowed.
        false_valid: bool,
    },
    /// `DV_DATE`, `DV_TIME`, `DV_DATE_TIME`: validity pattern of `value`.
    Temporal(Option<String>),
    /// `DV_DURATION`: pattern and range of `value`.
    Duration {
        /// Allowed fields pattern, e.g. `PYMWD`.
        pattern: Option<String>,
        /// Range as ISO 8601 durations.
        range: Option<Interval<String>>,
    },
    /// `DV_PROPORTION`: allowed proportion kinds (`type` codes 0..4).
    Proportion {
        /// Allowed `type` values.
        kinds: Vec<i64>,
    },
    /// Any other data value whose attributes carry primitive constraints:
    /// `(attribute, constraint)` pairs, e.g. `DV_IDENTIFIER` `id` patterns.
    Other(Vec<(String, Primitive)>),
}

/// A template-given default value (`default_value` element).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DefaultValue {
    /// The xsi:type of the default, e.g. `DV_CODED_TEXT`.
    pub rm_type: String,
    /// Leaf values as `(slash path, text)`, e.g. `("value", "Confirmed")`,
    /// `("defining_code/code_string", "at0065")`.
    pub fields: Vec<(String, String)>,
}

/// A template-level constraint on a path (`constraints/attributes`).
#[derive(Debug, Clone)]
pub struct TemplateConstraint {
    /// The archetype path it applies to (`differential_path`).
    pub differential_path: String,
    /// The constrained attribute.
    pub attribute: Attribute,
}

/// One term of an archetype's terminology.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Term {
    /// `text`.
    pub text: String,
    /// `description`.
    pub description: String,
    /// Any other items (`comment`, ...), by id.
    pub other: BTreeMap<String, String>,
}

/// An archetype's term definitions: language -> code -> term.
///
/// OPT 1.4 files carry the terms of the template language only; the map is
/// keyed by language so translations can be added without changing the API.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TermDefinitions {
    /// language -> code (`at0004`, `ac0001`) -> term.
    pub by_language: BTreeMap<String, BTreeMap<String, Term>>,
}

// === impl Occurrences ===

impl Occurrences {
    /// `1..1`, the AOM default when an OPT omits occurrences.
    pub const ONE: Occurrences = Occurrences {
        lower: 1,
        upper: Some(1),
    };

    /// Whether more than one instance is allowed (FLAT paths then carry `:N`).
    pub fn is_multiple(&self) -> bool {
        self.upper != Some(1) && self.upper != Some(0)
    }

    /// The web-template `max` value: `-1` for unbounded.
    pub fn max_web(&self) -> i64 {
        self.upper.map_or(-1, i64::from)
    }
}

// === impl TermDefinitions ===

impl TermDefinitions {
    /// The term for `code` in `language`.
    pub fn get(&self, language: &str, code: &str) -> Option<&Term> {
        self.by_language.get(language)?.get(code)
    }
}

// === impl Node ===

impl Node {
    /// The attribute named `name`, when constrained.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Depth-first iterator over this node and all nodes below it.
    pub fn walk(&self) -> impl Iterator<Item = &Node> {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            let node = stack.pop()?;
            for attr in node.attributes.iter().rev() {
                for child in attr.children.iter().rev() {
                    stack.push(child);
                }
            }
            Some(node)
        })
    }

    /// Whether this node is a `DV_*` data value (or `DV_INTERVAL<...>`).
    pub fn is_data_value(&self) -> bool {
        self.rm_type.starts_with("DV_")
    }
}

// === impl TemplateMeta ===

impl TemplateMeta {
    /// The first node whose AQL path is exactly `path`.
    pub fn node_by_path(&self, path: &str) -> Option<&Node> {
        self.root.walk().find(|n| n.aql_path == path)
    }

    /// The web template (tree ids, FLAT paths) of this template, derived
    /// once and shared: with a cached `Arc<TemplateMeta>` mappers pay for it
    /// once per load, not per request.
    pub fn web_template(&self) -> Arc<WebTemplate> {
        Arc::clone(self.web.get_or_init(|| Arc::new(build(self))))
    }

    /// The term definitions of `archetype_id`.
    pub fn terms_of(&self, archetype_id: &str) -> Option<&Arc<TermDefinitions>> {
        self.root
            .walk()
            .find(|n| n.archetype_id.as_deref() == Some(archetype_id))
            .and_then(|n| n.terms.as_ref())
    }
}
