//! FHIR -> openEHR: executes a mapping set over a FHIR resource and
//! produces an [`Instance`] (leaves by instance path).
//!
//! Semantics (FHIRconnect, as the openFHIR files use it):
//! - a method selects FHIR nodes with its `with.fhir` path (relative to the
//!   parent's node), filtered by its conditions; each selected node maps to
//!   the method's `with.openehr` path; when several nodes are selected, the
//!   N-th maps to the N-th instance of the path's last archetyped node;
//! - `followedBy` children run once per selected node, relative to it;
//!   `reference` runs its methods on a contained/bundled resource;
//!   `slotArchetype` runs another model with `$archetype` at the node;
//! - `manual` entries write constants on the openEHR side;
//! - a method with none of those converts the node's data type.
//!
//! Indexes chosen by a parent (the N-th Bundle entry -> the N-th event) are
//! kept for every deeper path through the same node ("bindings").

use std::rc::Rc;

use serde_json::Value;

use super::compiled::Compiled;
use super::datatypes::{fhir_to_dv, fit_to_template, Converted};
use super::fhirpath::{self, Node};
use super::instance::{Instance, Leaf};
use super::loader::{LoadedFile, MappingSet};
use super::model::{Condition, Direction, Manual, Mapping, Operator, WithType};
use super::openehr_path::{Anchor, Bindings, InstancePath, Seg};
use super::template_index::{NodeInfo, TemplateIndex};
use crate::translation::Warning;

/// Bounds on one translation.
#[derive(Debug, Clone, Copy)]
pub struct RunLimits {
    /// Most mapping-method executions per translation (guards against
    /// mapping sets whose slots recurse).
    pub max_steps: usize,
    /// Deepest slot/reference nesting.
    pub max_depth: usize,
    /// Most entries of the input Bundle looked at to resolve one
    /// reference ([`super::bundle_refs`]).
    pub max_bundle_entries: usize,
}

impl Default for RunLimits {
    fn default() -> Self {
        Self {
            max_steps: 100_000,
            max_depth: 16,
            max_bundle_entries: super::bundle_refs::MAX_ENTRIES,
        }
    }
}

/// Where a method runs.
#[derive(Debug, Clone)]
pub(crate) struct Scope<'a> {
    /// Shared: every scope below a resource holds it.
    pub resource: Rc<Node<'a>>,
    pub fhir: Node<'a>,
    pub oe: InstancePath,
    /// Shared: only a slot changes it.
    pub archetype: Rc<InstancePath>,
    pub bindings: Bindings,
    pub depth: usize,
}

/// The state of one FHIR -> openEHR run.
pub(crate) struct Run<'s> {
    pub set: &'s MappingSet,
    pub compiled: &'s Compiled,
    pub index: Option<&'s TemplateIndex>,
    pub limits: RunLimits,
    pub out: Instance,
    /// Locations of FHIR nodes whose values were used.
    pub consumed: Vec<String>,
    pub warnings: Vec<Warning>,
    pub steps: usize,
    pub exhausted: bool,
    /// Set when a number matched several ordinals (the first was taken).
    pub ambiguous_ordinal: std::cell::Cell<bool>,
    /// The Bundle the input came in, for references to its other entries
    /// ([`super::bundle_refs`]).
    pub bundle: Option<&'s Value>,
    /// Entries of [`Run::bundle`] a reference reached, by location (their
    /// unmapped elements are reported too).
    pub reached: Vec<(String, &'s Value)>,
}

impl<'s> Run<'s> {
    /// Runs `model` in `scope` if its preprocessor conditions hold.
    pub fn model(&mut self, model: &'s LoadedFile, scope: &Scope<'_>) {
        if scope.depth > self.limits.max_depth {
            self.warn(&scope.fhir.loc, "slot nesting too deep; not mapped");
            return;
        }
        if let Some(pre) = &model.doc.preprocessor {
            for cond in pre.fhir_condition.iter().chain(&pre.fhir_conditions) {
                if !self.gate(cond, scope) {
                    return;
                }
            }
        }
        for m in &model.doc.mappings {
            self.mapping(m, scope);
        }
    }

    fn mapping(&mut self, m: &'s Mapping, scope: &Scope<'_>) {
        if m.unidirectional == Some(Direction::OpenEhrToFhir) {
            return;
        }
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            self.exhausted = true;
            return;
        }
        let with = m.with.as_ref();
        let fhir_text = with.and_then(|w| w.fhir.as_deref()).unwrap_or("$fhirRoot");
        let Some(path) = self.compiled.fhir_path(fhir_text) else {
            return;
        };
        let mut nodes = fhirpath::eval(path, &scope.resource, &scope.fhir);
        for cond in m.fhir_condition.iter().chain(&m.fhir_conditions) {
            nodes = self.filter(cond, nodes, scope);
            if nodes.is_empty() {
                return;
            }
        }
        let base = self.target(with.and_then(|w| w.openehr.as_deref()), scope);
        if let Some(link) = &m.link {
            self.link(link, &nodes, &base);
            return;
        }
        let count = nodes.len();
        let many = count > 1;
        let mut base = base;
        // Only a method with children, a slot or a reference binds its
        // target for deeper paths (a leaf method's binding was built and
        // dropped unused, per selected node).
        let binds = m.reference.is_some() || m.slot_archetype.is_some() || m.followed_by.is_some();
        // The N-th node that produces data maps to the N-th instance: nodes
        // a slot's preprocessor rejects do not leave gaps.
        let mut next = 0;
        for (i, node) in nodes.into_iter().enumerate() {
            // The last node takes the base path itself (no copy).
            let mut target = if i + 1 == count {
                std::mem::take(&mut base)
            } else {
                base.clone()
            };
            if many {
                target.set_last_index(next);
            }
            let before = self.out.below(&target).count();
            let bindings = if binds {
                scope.bindings.with(target.clone())
            } else {
                scope.bindings.clone()
            };
            // The node and the target move into the child scope (no copy
            // of either per node).
            let child_scope = Scope {
                resource: scope.resource.clone(),
                fhir: node,
                oe: target,
                archetype: scope.archetype.clone(),
                bindings,
                depth: scope.depth,
            };
            let target = &child_scope.oe;
            let node = &child_scope.fhir;
            let mut structural = false;
            if let Some(r) = &m.reference {
                structural = true;
                self.reference(&r.mappings, node, &child_scope);
            }
            if let Some(slot) = &m.slot_archetype {
                structural = true;
                match self.set.model(slot) {
                    Some(model) => {
                        let slot_scope = Scope {
                            archetype: Rc::new(target.clone()),
                            depth: scope.depth + 1,
                            ..child_scope.clone()
                        };
                        self.model(model, &slot_scope);
                    }
                    None => self.warn(&node.loc, "slot archetype without model"),
                }
            }
            if !m.manual.is_empty() {
                structural = true;
                self.manual(&m.manual, node, target, scope);
            }
            if let Some(fb) = &m.followed_by {
                structural = true;
                for c in &fb.mappings {
                    self.mapping(c, &child_scope);
                }
            }
            let none = with.and_then(|w| w.kind) == Some(WithType::None);
            if !structural && !none {
                self.convert(node, target.clone(), with.and_then(|w| w.kind));
            }
            if self.out.below(target).count() > before {
                next += 1;
            }
        }
    }

    /// Resolves a method's openEHR path in `scope`.
    fn target(&self, text: Option<&str>, scope: &Scope<'_>) -> InstancePath {
        let Some(mp) = text.and_then(|t| self.compiled.openehr_path(t)) else {
            return scope.oe.clone();
        };
        let mut p = match mp.anchor {
            Anchor::Archetype => scope.archetype.join(&mp.segs),
            Anchor::Composition => InstancePath(mp.segs.clone()),
            Anchor::Context | Anchor::Reference => scope.oe.join(&mp.segs),
        };
        scope.bindings.apply(&mut p);
        p
    }

    fn reference(&mut self, mappings: &'s [Mapping], node: &Node<'_>, scope: &Scope<'_>) {
        let resource = if node.value.get("resourceType").is_some() {
            Node {
                value: node.value,
                ty: node.ty,
                loc: node.loc.clone(),
                wrapped: None,
            }
        } else if let Some(found) = contained(&scope.resource, node) {
            self.consumed.push(format!("{}.reference", node.loc));
            found
        } else {
            // Another entry of the Bundle the input came in; anything else
            // is not resolvable without I/O.
            match super::bundle_refs::resolve(
                self.bundle,
                node.value,
                self.limits.max_bundle_entries,
            ) {
                Ok(found) => {
                    self.consumed.push(format!("{}.reference", node.loc));
                    if !self.reached.iter().any(|(l, _)| *l == found.loc) {
                        self.reached.push((found.loc.clone(), found.value));
                    }
                    found
                }
                Err(why) => {
                    self.warn(&node.loc, why.message());
                    return;
                }
            }
        };
        let ref_scope = Scope {
            resource: Rc::new(resource.clone()),
            fhir: resource,
            oe: scope.oe.clone(),
            archetype: scope.archetype.clone(),
            bindings: scope.bindings.clone(),
            depth: scope.depth + 1,
        };
        for m in mappings {
            self.mapping(m, &ref_scope);
        }
    }

    fn manual(
        &mut self,
        manual: &[Manual],
        node: &Node<'_>,
        target: &InstancePath,
        scope: &Scope<'_>,
    ) {
        for man in manual {
            if let Some(c) = &man.fhir_condition {
                if !self.gate(c, scope) {
                    continue;
                }
            }
            if !man.openehr.is_empty() {
                let mut leaf = Leaf::default();
                let mut at = target.clone();
                for e in &man.openehr {
                    let (segs, field) = manual_field(&e.path);
                    if !segs.is_empty() {
                        at = target.join(&segs);
                    }
                    leaf.fields
                        .insert(field.to_owned(), Value::String(e.value.clone()));
                }
                leaf.rm_type = Some(self.rm_type_of(&at, &leaf));
                self.out.sources.insert(at.clone(), node.loc.clone());
                self.out.put(at, leaf);
            }
            // FHIR constants: the input values they stand for are used.
            for e in &man.fhir {
                if let Some(p) = self.compiled.fhir_path(&e.path) {
                    for n in fhirpath::eval(p, &scope.resource, node) {
                        if n.as_text().as_deref() == Some(e.value.as_str()) {
                            self.consumed.push(n.loc);
                        }
                    }
                }
            }
        }
    }

    /// The RM type for a leaf written at `at`: the template's, else guessed
    /// from the fields.
    fn rm_type_of(&self, at: &InstancePath, leaf: &Leaf) -> String {
        if let Some(t) = self
            .index
            .and_then(|i| i.node(&at.aql()))
            .and_then(|n| n.value_types.first())
        {
            return t.clone();
        }
        if leaf.fields.contains_key("code") {
            "DV_CODED_TEXT".to_owned()
        } else {
            "DV_TEXT".to_owned()
        }
    }

    fn convert(&mut self, node: &Node<'_>, target: InstancePath, kind: Option<WithType>) {
        // The template node is looked up once and borrowed (its type and
        // unit lists were copied per value before).
        let index = self.index;
        let info = index.and_then(|i| i.node(&target.aql()));
        // A value beyond what the template allows at the node (a second
        // dose number where one fits) stays in the input: it is reported
        // unmapped instead of making the composition fail the check.
        let index = target.0.last().map_or(0, |s| s.index);
        if let Some(upper) = info.and_then(|n| n.occurrences.upper) {
            if index >= upper as usize {
                self.warn(
                    &node.loc,
                    "the template allows no more values here; not mapped",
                );
                return;
            }
        }
        let hint_types: &[String] = info.map_or(&[], |n| &n.value_types);
        let units: &[String] = info.map_or(&[], |n| &n.units);
        let ty = match kind {
            Some(WithType::Coding) => Some("Coding"),
            _ => node.ty,
        };
        match fhir_to_dv(node.value, ty, hint_types.first().map(String::as_str)) {
            Converted::Leaf(leaf) => {
                let mut leaf = fit_to_template(leaf, hint_types, units);
                if hint_types.iter().any(|t| t == "DV_DURATION") {
                    if let Some(d) = quantity_to_duration(&leaf) {
                        leaf = d;
                    }
                }
                if hint_types.iter().any(|t| t == "DV_ORDINAL") {
                    if let Some(o) = info.and_then(|i| self.ordinal(i, &leaf)) {
                        leaf = o;
                    }
                    if self.ambiguous_ordinal.replace(false) {
                        self.warn(
                            &node.loc,
                            "value matches several ordinals; the first was taken",
                        );
                    }
                }
                // DV_TEXT is the parent of DV_CODED_TEXT: a coded value
                // fits a text node.
                if let (Some(rm), false) = (&leaf.rm_type, hint_types.is_empty()) {
                    let fits = hint_types.iter().any(|t| t == rm)
                        || (rm == "DV_CODED_TEXT" && hint_types.iter().any(|t| t == "DV_TEXT"));
                    if !fits {
                        self.warn(&node.loc, "data type differs from the template's");
                    }
                }
                if leaf.rm_type.is_none() {
                    leaf.rm_type = hint_types.first().cloned();
                }
                if let Some(coded) = info.and_then(|i| self.local_code(i, &target, &leaf)) {
                    leaf = coded;
                }
                if let Some(info) = info {
                    super::datatypes::code_from_binding(&mut leaf, info);
                }
                self.consumed.push(node.loc.clone());
                self.out.sources.insert(target.clone(), node.loc.clone());
                self.out.put(target, leaf);
            }
            Converted::Unsupported => {
                self.warn(
                    &node.loc,
                    "FHIR data type has no openEHR pairing here; not mapped",
                );
            }
        }
    }

    /// A FHIR code aimed at a node with a local code list becomes the
    /// at-code the terminology table gives for it.
    fn local_code(&self, info: &NodeInfo, target: &InstancePath, leaf: &Leaf) -> Option<Leaf> {
        let (terminology, codes) = info.code_list.as_ref()?;
        if terminology != "local" {
            return None;
        }
        let code = leaf
            .text("code")
            .or_else(|| leaf.text("value"))
            .or_else(|| leaf.text(""))?;
        if codes.iter().any(|c| c == code) {
            return None;
        }
        let (arch, node) = self.index?.archetype_and_node(target)?;
        let Some(row) = super::at_codes::to_at_code(arch, node, code) else {
            // No at-code for it (e.g. Observation.status `unknown` against
            // the lab analyte's result status): a code without a terminology
            // of its own outside the local list is invalid, but a node that
            // also allows DV_TEXT
            // (the archetype's "other terms via the text choice") takes
            // the term as plain text.
            let term = leaf.text("terminology").unwrap_or("");
            let unbound = term.is_empty() || term == "local";
            if unbound && info.value_types.iter().any(|t| t == "DV_TEXT") {
                let text = leaf.text("value").or_else(|| leaf.text("")).unwrap_or(code);
                return Some(Leaf::new("DV_TEXT", [("", Value::String(text.to_owned()))]));
            }
            return None;
        };
        let text = info
            .code_texts
            .iter()
            .find(|(c, _)| c == row.at_code)
            .map_or(row.at_code, |(_, t)| t.as_str());
        Some(Leaf::new(
            "DV_CODED_TEXT",
            [
                ("code", Value::String(row.at_code.to_owned())),
                ("terminology", Value::String("local".to_owned())),
                ("value", Value::String(text.to_owned())),
            ],
        ))
    }

    /// A number aimed at a `DV_ORDINAL` node becomes the template's ordinal
    /// with that value (FHIR carries scores as integers or quantities).
    fn ordinal(&self, info: &NodeInfo, leaf: &Leaf) -> Option<Leaf> {
        let n = leaf
            .fields
            .get("magnitude")
            .or_else(|| leaf.fields.get(""))?
            .as_f64()?;
        let mut same = info.ordinals.iter().filter(|(v, _, _)| *v as f64 == n);
        let (value, code, text) = same.next()?;
        if same.next().is_some() {
            self.ambiguous_ordinal.set(true);
        }
        Some(Leaf::new(
            "DV_ORDINAL",
            [
                ("ordinal", Value::from(*value)),
                ("code", Value::String(code.clone())),
                ("value", Value::String(text.clone())),
                ("terminology", Value::String("local".to_owned())),
            ],
        ))
    }

    /// A condition that does not filter the selected nodes: true if any
    /// node at `targetRoot` meets it.
    fn gate(&mut self, cond: &Condition, scope: &Scope<'_>) -> bool {
        let Some(root) = self.compiled.fhir_path(&cond.target_root) else {
            return false;
        };
        let roots = fhirpath::eval(root, &scope.resource, &scope.fhir);
        match cond.operator {
            Operator::Empty | Operator::NotEmpty => {
                roots.iter().all(|r| self.test(cond, r))
                    || (roots.is_empty() && cond.operator == Operator::Empty)
            }
            _ => roots.iter().any(|r| self.test(cond, r)),
        }
    }

    /// Keeps the nodes under a `targetRoot` node that meets the condition;
    /// when the method's path does not run through `targetRoot`, the
    /// condition is a gate for all of them.
    fn filter<'a>(
        &mut self,
        cond: &Condition,
        nodes: Vec<Node<'a>>,
        scope: &Scope<'a>,
    ) -> Vec<Node<'a>> {
        let Some(root) = self.compiled.fhir_path(&cond.target_root) else {
            return Vec::new();
        };
        let roots = fhirpath::eval(root, &scope.resource, &scope.fhir);
        let passing: Vec<String> = roots
            .iter()
            .filter(|r| self.test(cond, r))
            .map(|r| r.loc.clone())
            .collect();
        let under_roots = nodes
            .iter()
            .all(|n| roots.iter().any(|r| is_within(&n.loc, &r.loc)));
        if !under_roots {
            return if passing.is_empty() {
                Vec::new()
            } else {
                nodes
            };
        }
        nodes
            .into_iter()
            .filter(|n| passing.iter().any(|p| is_within(&n.loc, p)))
            .collect()
    }

    /// Tests one `targetRoot` node; values tested and matched are used.
    fn test(&mut self, cond: &Condition, root: &Node<'_>) -> bool {
        let Some(values) = super::conditions::fhir_tested(cond, self.compiled, root) else {
            return false;
        };
        let criteria: Vec<&str> = cond
            .criteria
            .as_ref()
            .map(|c| c.values())
            .unwrap_or_default();
        let matching: Vec<&Node<'_>> = values
            .iter()
            .filter(|v| text_in(v.value, &criteria))
            .collect();
        let ok = match cond.operator {
            Operator::OneOf => !matching.is_empty(),
            Operator::NotOf => matching.is_empty(),
            Operator::Empty => values.is_empty(),
            Operator::NotEmpty => !values.is_empty(),
            Operator::Type => values
                .iter()
                .any(|v| super::conditions::fhir_type_is(v, &criteria)),
        };
        if ok && cond.operator == Operator::OneOf {
            self.consumed.extend(matching.iter().map(|n| n.loc.clone()));
        }
        ok
    }

    pub(crate) fn warn(&mut self, location: &str, message: &str) {
        self.warnings.push(Warning {
            location: location.to_owned(),
            message: message.to_owned(),
        });
    }
}

/// Whether `value` as text (numbers and booleans in their JSON spelling,
/// as [`Node::as_text`]) is one of `criteria`; a string is compared in
/// place (conditions test every selected code: no copy per value).
fn text_in(value: &Value, criteria: &[&str]) -> bool {
    match value {
        Value::String(s) => criteria.contains(&s.as_str()),
        Value::Number(_) | Value::Bool(_) => {
            let t = value.to_string();
            criteria.contains(&t.as_str())
        }
        _ => false,
    }
}

/// The contained resource a `#id` Reference points to.
fn contained<'a>(resource: &Node<'a>, reference: &Node<'a>) -> Option<Node<'a>> {
    let id = reference
        .value
        .get("reference")?
        .as_str()?
        .strip_prefix('#')?;
    let list = resource.value.get("contained")?.as_array()?;
    let (i, r) = list
        .iter()
        .enumerate()
        .find(|(_, r)| r.get("id").and_then(Value::as_str) == Some(id))?;
    Some(Node {
        value: r,
        ty: r.get("resourceType").and_then(Value::as_str),
        loc: format!("{}.contained[{i}]", resource.loc),
        wrapped: None,
    })
}

/// Whether location `loc` is `root` or below it.
pub(crate) fn is_within(loc: &str, root: &str) -> bool {
    loc.strip_prefix(root)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// ISO 8601 designators of the UCUM time units a FHIR `Age` or `Duration`
/// uses, and whether they belong after the `T`.
const DURATION_UNITS: &[(&str, char, bool)] = &[
    ("a", 'Y', false),
    ("mo", 'M', false),
    ("wk", 'W', false),
    ("d", 'D', false),
    ("h", 'H', true),
    ("min", 'M', true),
    ("s", 'S', true),
];

/// A whole-number quantity in a UCUM time unit (an `Age` of 67 `a`) as a
/// `DV_DURATION` (`P67Y`), for a node that takes a duration.
pub(crate) fn quantity_to_duration(leaf: &Leaf) -> Option<Leaf> {
    if leaf.rm_type.as_deref() != Some("DV_QUANTITY") {
        return None;
    }
    let n = leaf.fields.get("magnitude")?.as_f64()?;
    if n.fract() != 0.0 || n < 0.0 {
        return None;
    }
    let unit = leaf.text("unit")?;
    let (_, designator, time) = DURATION_UNITS.iter().find(|(u, _, _)| *u == unit)?;
    let t = if *time { "T" } else { "" };
    Some(Leaf::new(
        "DV_DURATION",
        [("", Value::String(format!("P{t}{}{designator}", n as u64)))],
    ))
}

/// The reverse of [`quantity_to_duration`]: a one-unit ISO 8601 duration
/// (`P67Y`, `PT30M`) as a UCUM quantity; `None` for compound durations.
pub(crate) fn duration_to_quantity(iso: &str) -> Option<Value> {
    let rest = iso.strip_prefix('P')?;
    let (time, rest) = match rest.strip_prefix('T') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let designator = rest.chars().last()?;
    let n: u64 = rest[..rest.len() - designator.len_utf8()].parse().ok()?;
    let (unit, _, _) = DURATION_UNITS
        .iter()
        .find(|(_, d, t)| *d == designator && *t == time)?;
    Some(serde_json::json!({
        "value": n,
        "unit": unit,
        "system": "http://unitsofmeasure.org",
        "code": unit,
    }))
}

/// Splits a manual entry's openEHR path into a sub-path and the leaf field
/// it sets (`defining_code` -> `code`, `terminology_id` -> `terminology`,
/// `$openehrRoot` -> the plain value).
pub(crate) fn manual_field(path: &str) -> (Vec<Seg>, &'static str) {
    if path.starts_with("$openehrRoot") || path.starts_with("$openEhrRoot") {
        return (Vec::new(), "");
    }
    let mut parts: Vec<&str> = path.split('/').collect();
    // Trailing RM attributes name the field; the deepest one wins
    // (`value/defining_code/code_string` -> `code`).
    let mut field = None;
    while let Some(last) = parts.last() {
        let f = match *last {
            "value" => "value",
            "defining_code" | "code_string" => "code",
            "terminology_id" => "terminology",
            "magnitude" => "magnitude",
            "units" | "unit" => "unit",
            "id" => "id",
            "issuer" => "issuer",
            _ => break,
        };
        field.get_or_insert(f);
        parts.pop();
    }
    let field = field.unwrap_or("");
    let rest = parts.join("/");
    let segs = super::openehr_path::parse_segs(&rest).unwrap_or_default();
    (segs, field)
}

/// Every location in `value` that carries a primitive value, below `loc`.
pub(crate) fn value_locations(value: &Value, loc: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(o) => {
            for (k, v) in o {
                if k == "resourceType" {
                    continue;
                }
                value_locations(v, &super::fhirpath::child_loc(loc, k, None), out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                let mut l = String::with_capacity(loc.len() + 8);
                l.push_str(loc);
                super::fhirpath::push_index(&mut l, i);
                value_locations(v, &l, out);
            }
        }
        Value::Null => {}
        _ => out.push(loc.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_quantities_and_durations_map_both_ways() {
        let q = |n: f64, u: &str| {
            Leaf::new(
                "DV_QUANTITY",
                [
                    ("magnitude", serde_json::json!(n)),
                    ("unit", serde_json::json!(u)),
                ],
            )
        };
        let d = quantity_to_duration(&q(67.0, "a")).unwrap();
        assert_eq!(d.text(""), Some("P67Y"));
        assert_eq!(
            quantity_to_duration(&q(30.0, "min")).unwrap().text(""),
            Some("PT30M")
        );
        assert_eq!(
            quantity_to_duration(&q(2.0, "mo")).unwrap().text(""),
            Some("P2M")
        );
        assert!(quantity_to_duration(&q(1.5, "a")).is_none());
        assert!(quantity_to_duration(&q(3.0, "kg")).is_none());
        assert_eq!(duration_to_quantity("P67Y").unwrap()["code"], "a");
        assert_eq!(duration_to_quantity("PT30M").unwrap()["code"], "min");
        assert_eq!(duration_to_quantity("P2M").unwrap()["code"], "mo");
        assert_eq!(duration_to_quantity("P2M").unwrap()["value"], 2);
        assert!(duration_to_quantity("P1Y2M").is_none());
        assert!(duration_to_quantity("67").is_none());
    }

    #[test]
    fn manual_paths_name_their_field() {
        assert_eq!(manual_field("terminology_id").1, "terminology");
        assert_eq!(manual_field("defining_code").1, "code");
        assert_eq!(manual_field("$openehrRoot").1, "");
        let (segs, f) = manual_field("items[at0005]/value/defining_code/code_string");
        assert_eq!(f, "code");
        assert_eq!(segs.len(), 1);
    }

    #[test]
    fn within_respects_boundaries() {
        assert!(is_within(
            "Observation.component[1].code",
            "Observation.component[1]"
        ));
        assert!(!is_within(
            "Observation.component[10]",
            "Observation.component[1]"
        ));
        assert!(is_within("Observation.code", "Observation.code"));
    }
}
