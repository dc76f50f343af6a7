//! Canonical JSON compositions <-> [`Instance`].
//!
//! Writing builds the RM tree from the instance paths, with `_type`,
//! `archetype_node_id` and `name` from the template, and fills the RM
//! attributes a composition must carry (language, territory, category,
//! composer, context start time, entry language/encoding/subject, event
//! time) from [`CanonicalDefaults`] where the mapping did not set them.
//! Reading walks any canonical composition back into leaves.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::fhir_write::get;
use super::instance::{Instance, Leaf};
use super::openehr_path::{InstancePath, Seg, SegNames};
use super::template_index::{NodeInfo, TemplateIndex};
use crate::translation::Unmapped;

/// Values for RM attributes a composition needs and a mapping rarely sets.
#[derive(Debug, Clone)]
pub struct CanonicalDefaults {
    /// ISO 639-1 language of the composition and its entries.
    pub language: String,
    /// ISO 3166-1 territory.
    pub territory: String,
    /// Name of the composer (a system name, never a patient's).
    pub composer: String,
    /// Start time of the context and time of events without one (the
    /// caller passes "now"; this crate reads no clock).
    pub time: String,
}

/// RM attributes that hold lists.
const CONTAINERS: &[&str] = &[
    "content",
    "items",
    "events",
    "activities",
    "other_participations",
    "links",
];

/// RM attributes whose value is a CODE_PHRASE rather than a DV_*.
const CODE_PHRASES: &[&str] = &["language", "territory", "encoding", "math_function_code"];

/// The instance's leaves as a tree, borrowing the instance (keys and
/// leaves are not copied: building this is per translation).
#[derive(Debug, Default)]
struct Tree<'a> {
    leaf: Option<&'a Leaf>,
    children: BTreeMap<(&'a str, &'a str, usize), Tree<'a>>,
}

/// Writes `inst` as a canonical composition of the indexed template.
pub fn to_canonical(inst: &Instance, index: &TemplateIndex, defaults: &CanonicalDefaults) -> Value {
    let mut root = Tree::default();
    for (path, leaf) in &inst.leaves {
        let mut t = &mut root;
        for seg in &path.0 {
            t = t
                .children
                .entry((&*seg.attr, &*seg.node, seg.index))
                .or_default();
        }
        t.leaf = Some(leaf);
    }
    let mut obj = node_json(&root, "", index.node(""), index, defaults);
    if let Value::Object(o) = &mut obj {
        fill_composition(o, index, defaults);
    }
    obj
}

/// The canonical JSON of tree node `t` at `aql`, whose template node is
/// `info` (looked up once by the caller).
fn node_json(
    t: &Tree<'_>,
    aql: &str,
    info: Option<&NodeInfo>,
    index: &TemplateIndex,
    d: &CanonicalDefaults,
) -> Value {
    // Room for the node's own members and its children at once (the map
    // grew and rehashed per insert otherwise).
    let mut o = Map::with_capacity(5 + t.children.len());
    // Abstract RM types in templates get their usual concrete type.
    let rm_type = match info.map_or("CLUSTER", |i| i.rm_type.as_str()) {
        "EVENT" => "POINT_EVENT",
        "ITEM_STRUCTURE" => "ITEM_TREE",
        t => t,
    };
    o.insert("_type".into(), json!(rm_type));
    if let Some(i) = info {
        let name = i.name.clone().unwrap_or_else(|| i.node_id.clone());
        o.insert("name".into(), json!({"_type": "DV_TEXT", "value": name}));
        let node_id = i.archetype_id.clone().unwrap_or_else(|| i.node_id.clone());
        o.insert("archetype_node_id".into(), json!(node_id));
        if let Some(a) = &i.archetype_id {
            let mut details = json!({
                "archetype_id": {"value": a},
                "rm_version": "1.0.4"
            });
            if aql.is_empty() {
                details["template_id"] = json!({"value": index.template_id});
            }
            o.insert("archetype_details".into(), details);
        }
    }
    if let Some(leaf) = &t.leaf {
        o.insert("value".into(), dv_json(leaf));
    }
    for (&(attr, node, _), child) in &t.children {
        let mut child_aql = String::with_capacity(aql.len() + attr.len() + node.len() + 3);
        child_aql.push_str(aql);
        child_aql.push('/');
        child_aql.push_str(attr);
        if !node.is_empty() {
            child_aql.push('[');
            child_aql.push_str(node);
            child_aql.push(']');
        }
        let child_info = index.node(&child_aql);
        let link = child
            .leaf
            .filter(|l| l.rm_type.as_deref() == Some(super::links::LINK));
        let v = if let Some(leaf) = link {
            super::links::canonical_json(leaf)
        } else if node.is_empty() && child_info.is_none() {
            // A plain RM attribute (`time`, `context/start_time`).
            match &child.leaf {
                Some(leaf) if CODE_PHRASES.contains(&attr) => code_phrase(leaf),
                Some(leaf) => dv_json(leaf),
                None => {
                    let mut inner = node_json(child, &child_aql, None, index, d);
                    if let Value::Object(m) = &mut inner {
                        m.remove("_type");
                        if attr == "context" {
                            m.insert("_type".into(), json!("EVENT_CONTEXT"));
                        }
                    }
                    inner
                }
            }
        } else {
            node_json(child, &child_aql, child_info, index, d)
        };
        if CONTAINERS.contains(&attr) {
            let arr = o.entry(attr).or_insert_with(|| json!([]));
            if let Value::Array(a) = arr {
                a.push(v);
            }
        } else {
            o.insert(attr.to_owned(), v);
        }
    }
    fill_entry(&mut o, rm_type, d);
    Value::Object(o)
}

/// Entries need language, encoding and subject; events need a time.
fn fill_entry(o: &mut Map<String, Value>, rm_type: &str, d: &CanonicalDefaults) {
    let entry = matches!(
        rm_type,
        "OBSERVATION" | "EVALUATION" | "INSTRUCTION" | "ACTION" | "ADMIN_ENTRY"
    );
    if entry {
        slot(o, "language", || phrase("ISO_639-1", &d.language));
        slot(o, "encoding", || phrase("IANA_character-sets", "UTF-8"));
        slot(o, "subject", || json!({"_type": "PARTY_SELF"}));
    }
    if matches!(
        rm_type,
        "POINT_EVENT" | "INTERVAL_EVENT" | "EVENT" | "HISTORY"
    ) {
        slot(
            o,
            "time",
            || json!({"_type": "DV_DATE_TIME", "value": d.time}),
        );
        if rm_type == "HISTORY" {
            if let Some(t) = o.remove("time") {
                o.insert("origin".into(), t);
            }
        }
    }
    if rm_type == "INTERVAL_EVENT" {
        slot(
            o,
            "width",
            || json!({"_type": "DV_DURATION", "value": "PT0S"}),
        );
        slot(o, "math_function", || {
            json!({"_type": "DV_CODED_TEXT", "value": "actual",
                   "defining_code": {"_type": "CODE_PHRASE", "terminology_id": {"_type": "TERMINOLOGY_ID", "value": "openehr"}, "code_string": "640"}})
        });
    }
}

fn fill_composition(o: &mut Map<String, Value>, index: &TemplateIndex, d: &CanonicalDefaults) {
    slot(o, "language", || phrase("ISO_639-1", &d.language));
    slot(o, "territory", || phrase("ISO_3166-1", &d.territory));
    slot(o, "category", || {
        json!({"_type": "DV_CODED_TEXT", "value": "event",
               "defining_code": {"_type": "CODE_PHRASE", "terminology_id": {"_type": "TERMINOLOGY_ID", "value": "openehr"}, "code_string": "433"}})
    });
    slot(
        o,
        "composer",
        || json!({"_type": "PARTY_IDENTIFIED", "name": d.composer}),
    );
    let ctx = o
        .entry("context")
        .or_insert_with(|| json!({"_type": "EVENT_CONTEXT"}));
    if let Value::Object(c) = ctx {
        slot(
            c,
            "start_time",
            || json!({"_type": "DV_DATE_TIME", "value": d.time}),
        );
        slot(c, "setting", || {
            json!({"_type": "DV_CODED_TEXT", "value": "other care",
                   "defining_code": {"_type": "CODE_PHRASE", "terminology_id": {"_type": "TERMINOLOGY_ID", "value": "openehr"}, "code_string": "238"}})
        });
    }
    if !o.contains_key("archetype_details") {
        o.insert(
            "archetype_details".into(),
            json!({"template_id": {"value": index.template_id}, "rm_version": "1.0.4"}),
        );
    }
}

/// `o.entry(key).or_insert_with(f)` without allocating the key when it is
/// present (the usual case for the defaults filled here).
fn slot<'m>(
    o: &'m mut Map<String, Value>,
    key: &str,
    f: impl FnOnce() -> Value,
) -> Option<&'m mut Value> {
    if !o.contains_key(key) {
        o.insert(key.to_owned(), f());
    }
    o.get_mut(key)
}

fn phrase(terminology: &str, code: &str) -> Value {
    json!({"_type": "CODE_PHRASE", "terminology_id": {"_type": "TERMINOLOGY_ID", "value": terminology}, "code_string": code})
}

fn code_phrase(leaf: &Leaf) -> Value {
    phrase(
        leaf.text("terminology").unwrap_or(""),
        leaf.text("code").unwrap_or(""),
    )
}

/// A data value as canonical JSON.
fn dv_json(leaf: &Leaf) -> Value {
    let rm = leaf.rm_type.as_deref().unwrap_or("DV_TEXT");
    let f = |k: &str| leaf.fields.get(k).cloned().unwrap_or(Value::Null);
    let coded = |leaf: &Leaf| {
        json!({"_type": "DV_CODED_TEXT", "value": leaf.fields.get("value").cloned().unwrap_or_else(|| f("code")),
               "defining_code": phrase(leaf.text("terminology").unwrap_or("local"), leaf.text("code").unwrap_or(""))})
    };
    let mut v = match rm {
        "DV_QUANTITY" => {
            let mut q = json!({"_type": "DV_QUANTITY", "magnitude": f("magnitude")});
            if let Some(u) = leaf.fields.get("unit") {
                q["units"] = u.clone();
            }
            q
        }
        "DV_CODED_TEXT" => coded(leaf),
        "DV_ORDINAL" => {
            json!({"_type": "DV_ORDINAL", "value": f("ordinal"), "symbol": coded(leaf)})
        }
        "DV_COUNT" => json!({"_type": "DV_COUNT", "magnitude": f("")}),
        "DV_PROPORTION" => json!({"_type": "DV_PROPORTION", "numerator": f("numerator"),
                                  "denominator": f("denominator"), "type": f("type")}),
        "DV_IDENTIFIER" => {
            let mut o = Map::new();
            o.insert("_type".into(), json!("DV_IDENTIFIER"));
            for k in ["id", "issuer", "assigner", "type"] {
                if let Some(x) = leaf.fields.get(k) {
                    o.insert(k.into(), x.clone());
                }
            }
            Value::Object(o)
        }
        "DV_MULTIMEDIA" => {
            // The RM requires the size; a reference by URL (no inline
            // data) given without one is written as 0.
            let mut m = json!({"_type": "DV_MULTIMEDIA",
                               "media_type": phrase("IANA_media-types", leaf.text("mediatype").unwrap_or("")),
                               "size": leaf.fields.get("size").cloned().unwrap_or(json!(0))});
            if let Some(u) = leaf.fields.get("") {
                m["uri"] = json!({"_type": "DV_URI", "value": u});
            }
            if let Some(d) = leaf.fields.get("data") {
                m["data"] = d.clone();
            }
            m
        }
        "CODE_PHRASE" => code_phrase(leaf),
        other => json!({"_type": other, "value": f("")}),
    };
    if let Value::Object(o) = &mut v {
        o.retain(|_, x| !x.is_null());
    }
    v
}

// === reading ===

/// Reads a canonical composition into leaves. Nodes the reader cannot
/// place are returned as unmapped (location only).
pub fn from_canonical(comp: &Value) -> (Instance, Vec<Unmapped>) {
    from_canonical_with(comp, &SegNames::default())
}

/// [`from_canonical`] taking segment names from `names` (an engine's,
/// [`super::engine::Engine::names`]): the paths share the mapping set's
/// names, so the engine compares them by pointer.
pub fn from_canonical_with(comp: &Value, names: &SegNames) -> (Instance, Vec<Unmapped>) {
    let mut inst = Instance::default();
    let mut unmapped = Vec::new();
    let mut r = Reader {
        inst: &mut inst,
        unmapped: &mut unmapped,
        names,
    };
    r.node(comp, &mut InstancePath::default(), 0);
    (inst, unmapped)
}

/// What [`read_node`] writes to and names segments with.
struct Reader<'r> {
    inst: &'r mut Instance,
    unmapped: &'r mut Vec<Unmapped>,
    names: &'r SegNames,
}

impl Reader<'_> {
    fn node(&mut self, v: &Value, path: &mut InstancePath, depth: usize) {
        read_node(v, path, self, depth);
    }
}

/// Attributes that describe a node rather than hold data.
const META: &[&str] = &[
    "_type",
    "name",
    "archetype_node_id",
    "archetype_details",
    "uid",
    "subject",
    "feeder_audit",
    "provider",
    "other_participations",
    "composer",
    "health_care_facility",
    "participations",
    "work_flow_id",
    "guideline_id",
];

const MAX_DEPTH: usize = 64;

/// Reads the node `v` at `path`; `path` is one buffer extended and
/// shortened on the way down and up (copied only for a leaf), not a new
/// path per node.
fn read_node(v: &Value, path: &mut InstancePath, r: &mut Reader<'_>, depth: usize) {
    let Value::Object(o) = v else { return };
    if depth > MAX_DEPTH {
        r.unmapped.push(Unmapped {
            location: path.to_string(),
            reason: "nesting too deep".to_owned(),
        });
        return;
    }
    for (attr, child) in o {
        if META.contains(&attr.as_str()) {
            continue;
        }
        let items: &[Value] = match child {
            Value::Array(a) => a,
            other => std::slice::from_ref(other),
        };
        // Siblings seen per node id (few: a short list, not a map).
        let mut seen: Vec<(&str, usize)> = Vec::new();
        for item in items {
            let ty = get(item, "_type").and_then(Value::as_str).unwrap_or("");
            let node = get(item, "archetype_node_id")
                .and_then(Value::as_str)
                .unwrap_or("");
            if ty == super::links::LINK {
                let index = seen.iter().filter(|(n, _)| *n == ty).count();
                seen.push((ty, index));
                let seg = Seg {
                    index,
                    ..plain(attr, r.names)
                };
                r.inst
                    .put(path.join(&[seg]), super::links::leaf_from_canonical(item));
                continue;
            }
            if attr == "value"
                && path.0.last().is_some()
                && (ty.starts_with("DV_") || ty == "CODE_PHRASE")
            {
                if let Some(l) = leaf_of(item) {
                    r.inst.put(path.clone(), l);
                }
                continue;
            }
            if node.is_empty() && (ty.starts_with("DV_") || ty == "CODE_PHRASE") {
                if let Some(l) = leaf_of(item) {
                    r.inst.put(path.join(&[plain(attr, r.names)]), l);
                }
                continue;
            }
            let index = match seen.iter_mut().find(|(n, _)| *n == node) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    seen.push((node, 0));
                    0
                }
            };
            path.0.push(Seg {
                attr: r.names.get(attr),
                node: r.names.get(node),
                index,
            });
            read_node(item, path, r, depth + 1);
            path.0.pop();
        }
    }
}

fn plain(attr: &str, names: &SegNames) -> Seg {
    Seg {
        attr: names.get(attr),
        node: names.get(""),
        index: 0,
    }
}

fn leaf_of(dv: &Value) -> Option<Leaf> {
    let ty = get(dv, "_type")?.as_str()?;
    let g = |k: &str| get(dv, k).cloned();
    let phrase = |p: &Value| {
        (
            get(p, "terminology_id")
                .and_then(|t| get(t, "value"))
                .cloned(),
            get(p, "code_string").cloned(),
        )
    };
    let mut fields: Vec<(&'static str, Value)> = Vec::new();
    match ty {
        "DV_QUANTITY" => {
            fields.extend(g("magnitude").map(|x| ("magnitude", x)));
            fields.extend(g("units").map(|x| ("unit", x)));
        }
        "DV_CODED_TEXT" => {
            fields.extend(g("value").map(|x| ("value", x)));
            if let Some(dc) = get(dv, "defining_code") {
                let (t, c) = phrase(dc);
                fields.extend(t.map(|x| ("terminology", x)));
                fields.extend(c.map(|x| ("code", x)));
            }
        }
        "CODE_PHRASE" => {
            let (t, c) = phrase(dv);
            fields.extend(t.map(|x| ("terminology", x)));
            fields.extend(c.map(|x| ("code", x)));
        }
        "DV_ORDINAL" => {
            fields.extend(g("value").map(|x| ("ordinal", x)));
            if let Some(s) = get(dv, "symbol") {
                fields.extend(get(s, "value").cloned().map(|x| ("value", x)));
                if let Some(dc) = get(s, "defining_code") {
                    let (t, c) = phrase(dc);
                    fields.extend(t.map(|x| ("terminology", x)));
                    fields.extend(c.map(|x| ("code", x)));
                }
            }
        }
        "DV_COUNT" => fields.extend(g("magnitude").map(|x| ("", x))),
        "DV_PROPORTION" => {
            for k in ["numerator", "denominator", "type"] {
                if let Some(x) = g(k) {
                    fields.push((k, x));
                }
            }
        }
        "DV_IDENTIFIER" => {
            for k in ["id", "issuer", "assigner", "type"] {
                if let Some(x) = g(k) {
                    fields.push((k, x));
                }
            }
        }
        "DV_MULTIMEDIA" => {
            if let Some(mt) = get(dv, "media_type") {
                fields.extend(phrase(mt).1.map(|x| ("mediatype", x)));
            }
            fields.extend(
                get(dv, "uri")
                    .and_then(|u| get(u, "value"))
                    .cloned()
                    .map(|x| ("", x)),
            );
            fields.extend(g("data").map(|x| ("data", x)));
            fields.extend(g("size").map(|x| ("size", x)));
        }
        _ => fields.extend(g("value").map(|x| ("", x))),
    }
    Some(Leaf::new(ty, fields))
}
