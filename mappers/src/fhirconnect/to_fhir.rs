//! openEHR -> FHIR: executes a mapping set over an [`Instance`] and builds
//! FHIR JSON.
//!
//! The mirror of [`super::to_openehr`]: a method finds the instances of its
//! openEHR path (each index of the path's last archetyped node that holds
//! data, others bound by the parents), creates its FHIR path once per
//! instance, and runs children, slots and references relative to it.
//! `manual` FHIR entries write constants; a `one of` condition with a single
//! criterion writes the criterion if nothing else did (the file's own
//! comment: "put those in the target resource"). An element is created only
//! if some data below it comes from the composition, so constants alone
//! never make a resource.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use serde_json::{json, Value};

use super::compiled::Compiled;
use super::datatypes::{dv_to_fhir, fhir_type_for_rm};
use super::fhir_write::{create, set, Created};
use super::fhirpath::{Path, Root, Step};
use super::instance::Instance;
use super::loader::{LoadedFile, MappingSet};
use super::model::{Condition, Direction, Mapping, Operator, WithType};
use super::openehr_path::{Anchor, Bindings, InstancePath};
use super::template_index::TemplateIndex;
use super::to_openehr::RunLimits;
use crate::translation::Warning;

/// Where a method runs (openEHR -> FHIR).
#[derive(Debug, Clone)]
pub(crate) struct RevScope {
    /// The resource being built: pointer and type. Shared: every scope
    /// below it holds it.
    pub resource: Rc<Created>,
    /// The element the parent created.
    pub fhir: Created,
    pub oe: InstancePath,
    /// Shared: only a slot changes it.
    pub archetype: Rc<InstancePath>,
    pub bindings: Bindings,
    pub depth: usize,
}

/// The state of one openEHR -> FHIR run.
pub(crate) struct RevRun<'s> {
    pub set: &'s MappingSet,
    pub compiled: &'s Compiled,
    #[allow(dead_code)]
    pub index: Option<&'s TemplateIndex>,
    pub limits: RunLimits,
    pub input: &'s Instance,
    pub doc: Value,
    pub consumed: HashSet<InstancePath>,
    pub warnings: Vec<Warning>,
    pub steps: usize,
    pub exhausted: bool,
    /// Counter for contained resource ids.
    pub next_ref: usize,
    /// [`RevRun::would_produce`] answers, with the bindings made for the
    /// method's children, by (method, parent bindings) and target.
    pub produces: RefCell<ProducesMemo>,
}

/// Memo of [`RevRun::would_produce`]: asking whether a method produces
/// walks everything below it, and the run then asks again for every child
/// on the way down (a measured quarter of a translation). Keys are the
/// method's address and the identity of the parent scope's bindings: the
/// run reuses the bindings the memo made, so a child's question finds the
/// answer its parent's walk already gave. The memo keeps those bindings
/// alive, so no identity is reused within a run.
pub(crate) type ProducesMemo =
    HashMap<(usize, usize), Vec<(InstancePath, bool, Bindings)>, foldhash::fast::RandomState>;

impl<'s> RevRun<'s> {
    /// Runs `model` in `scope`.
    pub fn model(&mut self, model: &'s LoadedFile, scope: &RevScope) {
        if scope.depth > self.limits.max_depth {
            self.warnings.push(Warning {
                location: scope.oe.to_string(),
                message: "slot nesting too deep; not mapped".to_owned(),
            });
            return;
        }
        if !self.has_data(&scope.archetype) || !self.model_allows(model, scope) {
            return;
        }
        for m in &model.doc.mappings {
            self.mapping(m, scope);
        }
        // Preprocessor conditions describe the resource: write them back.
        if let Some(pre) = &model.doc.preprocessor {
            for c in pre.fhir_condition.iter().chain(&pre.fhir_conditions) {
                self.write_criterion(c, &scope.resource);
            }
        }
    }

    /// Whether the model's preprocessor `openehrCondition` holds for the
    /// archetype instance at `scope.archetype` (paths relative to it, as a
    /// method's condition is to its node): the file describes only such
    /// instances. FHIR -> openEHR has no openEHR data to test, so there it
    /// does not apply (as for a method's `openehrCondition`).
    fn model_allows(&self, model: &LoadedFile, scope: &RevScope) -> bool {
        match model
            .doc
            .preprocessor
            .as_ref()
            .and_then(|p| p.openehr_condition.as_ref())
        {
            Some(c) => self.method_condition_holds(c, &scope.archetype, scope),
            None => true,
        }
    }

    fn mapping(&mut self, m: &'s Mapping, scope: &RevScope) {
        if m.unidirectional == Some(Direction::FhirToOpenEhr)
            || !super::reverse_guards::type_allows(m, scope.fhir.ty.as_deref())
        {
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
        let (base, anchor) = self.target(with.and_then(|w| w.openehr.as_deref()), scope);
        if let Some(link) = &m.link {
            self.link(link, path, &base, scope);
            return;
        }
        let matches = self.instances(&base, anchor, scope);
        let manual_only = !m.manual.is_empty()
            && m.followed_by.is_none()
            && m.reference.is_none()
            && m.slot_archetype.is_none();
        for target in matches {
            if let Some(c) = &m.openehr_condition {
                if !self.method_condition_holds(c, &target, scope) {
                    continue;
                }
            }
            // Constants describe a resource that exists: a manual-only
            // method writes them wherever its openEHR node has data; any
            // other method needs data it carries itself.
            let (go, bindings) = if manual_only {
                let go = self.has_data(&target);
                // Nothing runs below a manual-only method: no binding.
                (go, go.then(|| scope.bindings.clone()))
            } else {
                self.would_produce(m, &target, scope)
            };
            let (true, Some(bindings)) = (go, bindings) else {
                continue;
            };
            let leaf = self.input.leaves.get(&target);
            let leaf_ty = match with.and_then(|w| w.kind) {
                _ if m.reference.is_some() => Some("Reference"),
                Some(WithType::Coding) => Some("Coding"),
                _ => leaf
                    .and_then(|l| l.rm_type.as_deref())
                    .map(fhir_type_for_rm),
            };
            let start = match path.root {
                Root::Resource => &scope.resource,
                Root::FhirRoot | Root::Relative => &scope.fhir,
            };
            // An element an earlier method wrote that meets this method's
            // own condition is written into, not appended to.
            let reused = super::reverse_reuse::existing(&self.doc, start, path, fhir_text, m);
            let Some(created) = reused.map(|r| vec![r]).or_else(|| {
                create(
                    &mut self.doc,
                    &start.ptr,
                    start.ty.as_deref(),
                    &path.steps,
                    leaf_ty,
                    true,
                )
            }) else {
                self.warnings.push(Warning {
                    location: target.to_string(),
                    message: format!("FHIR path `{fhir_text}` cannot be created"),
                });
                continue;
            };
            let element = created.last().cloned().unwrap_or_else(|| start.clone());
            // Only the fields not replaced are cloned (scopes are built for
            // every instance: a measured hot spot).
            // Only a method with children, a slot or a reference runs
            // anything in a child scope.
            let child = binds(m).then(|| RevScope {
                resource: scope.resource.clone(),
                fhir: element.clone(),
                oe: target.clone(),
                archetype: scope.archetype.clone(),
                bindings,
                depth: scope.depth,
            });
            let mut structural = false;
            if let (Some(r), Some(child)) = (&m.reference, &child) {
                structural = true;
                let res = self.referenced(&r.resource_type, &element, scope);
                let ref_scope = RevScope {
                    resource: Rc::new(res.clone()),
                    fhir: res,
                    oe: child.oe.clone(),
                    archetype: child.archetype.clone(),
                    bindings: child.bindings.clone(),
                    depth: scope.depth + 1,
                };
                for c in &r.mappings {
                    self.mapping(c, &ref_scope);
                }
            }
            if let (Some(slot), Some(child)) = (&m.slot_archetype, &child) {
                structural = true;
                if let Some(model) = self.set.model(slot) {
                    let slot_scope = RevScope {
                        resource: child.resource.clone(),
                        fhir: child.fhir.clone(),
                        oe: child.oe.clone(),
                        archetype: Rc::new(target.clone()),
                        bindings: child.bindings.clone(),
                        depth: scope.depth + 1,
                    };
                    self.model(model, &slot_scope);
                }
            }
            if let (Some(fb), Some(child)) = (&m.followed_by, &child) {
                structural = true;
                for c in &fb.mappings {
                    self.mapping(c, child);
                }
            }
            if !m.manual.is_empty() {
                structural = true;
                for man in &m.manual {
                    if let Some(c) = &man.openehr_condition {
                        if !self.openehr_condition_holds(c, &target) {
                            continue;
                        }
                        // The tested value is what the constants stand for.
                        self.consumed.insert(target.clone());
                    }
                    for e in &man.fhir {
                        self.write_constant(&e.path, &e.value, &element);
                    }
                }
            }
            let none = with.and_then(|w| w.kind) == Some(WithType::None);
            if !structural && !none {
                if let Some(leaf) = leaf {
                    let ty = element.ty.as_deref().or(leaf_ty).unwrap_or("string");
                    let leaf = fhir_code(&target, leaf, self.index);
                    let converted = match (leaf.rm_type.as_deref(), leaf.text("")) {
                        (Some("DV_DURATION"), Some(iso))
                            if matches!(ty, "Quantity" | "Age" | "Duration") =>
                        {
                            super::to_openehr::duration_to_quantity(iso)
                        }
                        _ => dv_to_fhir(&leaf, ty),
                    };
                    match converted {
                        Some(v) => {
                            set(&mut self.doc, &element.ptr, v);
                            self.consumed.insert(target.clone());
                        }
                        None => self.warnings.push(Warning {
                            location: target.to_string(),
                            message: "data value has no FHIR pairing here; not mapped".to_owned(),
                        }),
                    }
                }
            }
            // A filtering condition's criterion describes the element.
            for c in m.fhir_condition.iter().chain(&m.fhir_conditions) {
                if let Some(anchor) = self.condition_anchor(c, fhir_text, &created, start) {
                    self.write_criterion(c, &anchor);
                }
            }
        }
    }

    /// Whether a manual entry's `openehrCondition` holds at `target`: the
    /// tested value is the field its `targetAttribute` names
    /// (`defining_code/code_string` -> `code`) on the leaf below
    /// `$openehrRoot`. Other roots are not evaluated: the constants are
    /// not written, with a warning.
    fn openehr_condition_holds(&mut self, c: &Condition, target: &InstancePath) -> bool {
        if c.target_root != "$openehrRoot" {
            self.warnings.push(Warning {
                location: target.to_string(),
                message: "openehrCondition root other than $openehrRoot not supported".to_owned(),
            });
            return false;
        }
        super::conditions::openehr_holds(c, target, self.input)
    }

    /// Whether a method's `openehrCondition` holds for the instance
    /// `target` of its openEHR path: `targetRoot` resolves like a method
    /// path (`$archetype`, `$composition`, or relative to `target`).
    fn method_condition_holds(
        &self,
        c: &Condition,
        target: &InstancePath,
        scope: &RevScope,
    ) -> bool {
        let Some(mp) = self.compiled.openehr_path(&c.target_root) else {
            return false;
        };
        let mut root = match mp.anchor {
            Anchor::Archetype => scope.archetype.join(&mp.segs),
            Anchor::Composition => InstancePath(mp.segs.clone()),
            Anchor::Context | Anchor::Reference => target.join(&mp.segs),
        };
        scope.bindings.apply(&mut root);
        super::conditions::openehr_holds(c, &root, self.input)
    }

    /// Creates the resource a `reference` method maps: inline where the
    /// element holds a resource (`Bundle.entry.resource`), else contained
    /// in the current resource and referenced as `#refN`. A resource
    /// referenced from a contained one (a lab analyte's Specimen) is
    /// contained in the same host: FHIR R4 forbids contained resources
    /// inside contained ones (dom-2), and `#id` references resolve
    /// against the host.
    fn referenced(&mut self, resource_type: &str, element: &Created, scope: &RevScope) -> Created {
        if element.ty.as_deref() != Some("Reference") {
            set(
                &mut self.doc,
                &element.ptr,
                json!({ "resourceType": resource_type }),
            );
            return Created {
                ptr: element.ptr.clone(),
                ty: Some(resource_type.to_owned()),
            };
        }
        self.next_ref += 1;
        let id = format!("ref{}", self.next_ref);
        let (host_ptr, host_ty) = match scope.resource.ptr.find("/contained/") {
            Some(at) => {
                let host = &scope.resource.ptr[..at];
                let ty = self
                    .doc
                    .pointer(host)
                    .and_then(|r| r.get("resourceType"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                (host.to_owned(), ty)
            }
            None => (scope.resource.ptr.clone(), scope.resource.ty.clone()),
        };
        let contained = create(
            &mut self.doc,
            &host_ptr,
            host_ty.as_deref(),
            &[Step::Member("contained".to_owned())],
            None,
            true,
        )
        .and_then(|c| c.last().cloned());
        let Some(contained) = contained else {
            return element.clone();
        };
        set(
            &mut self.doc,
            &contained.ptr,
            json!({ "resourceType": resource_type, "id": id }),
        );
        set(
            &mut self.doc,
            &element.ptr,
            json!({ "reference": format!("#{id}") }),
        );
        Created {
            ptr: contained.ptr,
            ty: Some(resource_type.to_owned()),
        }
    }

    /// The element a condition's `targetRoot` names among the elements just
    /// created for the method's path, or the resource for `$resource`.
    fn condition_anchor(
        &self,
        c: &Condition,
        with_text: &str,
        created: &[Created],
        start: &Created,
    ) -> Option<Created> {
        let root = self.compiled.fhir_path(&c.target_root)?;
        let with = self.compiled.fhir_path(with_text)?;
        if root.root != with.root
            || root.steps.len() > with.steps.len()
            || with.steps[..root.steps.len()] != root.steps[..]
        {
            return None;
        }
        let members = root
            .steps
            .iter()
            .filter(|s| matches!(s, Step::Member(_)))
            .count();
        if members == 0 {
            return Some(start.clone());
        }
        created.get(members - 1).cloned()
    }

    /// Writes a single `one of` criterion at `targetAttribute` below
    /// `anchor`, unless a value is already there.
    fn write_criterion(&mut self, c: &Condition, anchor: &Created) {
        if c.operator != Operator::OneOf {
            return;
        }
        let Some(criteria) = &c.criteria else { return };
        let values = criteria.values();
        let ([value], Some(attr)) = (values.as_slice(), c.target_attribute.as_deref()) else {
            return;
        };
        let Some(p) = self.compiled.fhir_path(attr) else {
            return;
        };
        if self.present(anchor, p) {
            return;
        }
        self.write_constant(attr, value, anchor);
    }

    /// Whether the document already has a value at `path` below `anchor`.
    fn present(&self, anchor: &Created, path: &Path) -> bool {
        let Some(v) = self.doc.pointer(&anchor.ptr) else {
            return false;
        };
        let node = super::fhirpath::Node {
            value: v,
            ty: anchor.ty.as_deref(),
            loc: String::new(),
            wrapped: None,
        };
        !super::fhirpath::eval(path, &node, &node).is_empty()
    }

    fn write_constant(&mut self, path_text: &str, value: &str, at: &Created) {
        let Some(path) = self.compiled.fhir_path(path_text) else {
            return;
        };
        let target = if path.steps.is_empty() {
            Some(at.clone())
        } else {
            create(
                &mut self.doc,
                &at.ptr,
                at.ty.as_deref(),
                &path.steps,
                None,
                false,
            )
            .and_then(|c| c.last().cloned())
        };
        if let Some(t) = target {
            set(&mut self.doc, &t.ptr, Value::String(value.to_owned()));
        }
    }

    /// Resolves a method's openEHR path.
    pub(crate) fn target(&self, text: Option<&str>, scope: &RevScope) -> (InstancePath, Anchor) {
        let Some(mp) = text.and_then(|t| self.compiled.openehr_path(t)) else {
            return (scope.oe.clone(), Anchor::Reference);
        };
        let mut p = match mp.anchor {
            Anchor::Archetype => scope.archetype.join(&mp.segs),
            Anchor::Composition => InstancePath(mp.segs.clone()),
            Anchor::Context | Anchor::Reference => scope.oe.join(&mp.segs),
        };
        scope.bindings.apply(&mut p);
        (p, mp.anchor)
    }

    /// The instances of `base`: every index of its last archetyped segment
    /// that holds data, unless a parent bound that segment.
    fn instances(
        &self,
        base: &InstancePath,
        anchor: Anchor,
        scope: &RevScope,
    ) -> Vec<InstancePath> {
        if anchor == Anchor::Reference {
            return vec![base.clone()];
        }
        let Some(pos) = base.0.iter().rposition(|s| !s.node.is_empty()) else {
            return vec![base.clone()];
        };
        let bound = scope.bindings.iter().any(|b| {
            b.0.len() > pos
                && b.0[..=pos]
                    .iter()
                    .zip(&base.0[..=pos])
                    .all(|(x, y)| x.attr == y.attr && x.node == y.node)
        });
        if bound {
            return vec![base.clone()];
        }
        let mut indexes: Vec<usize> = Vec::new();
        for p in self.input.leaves.keys() {
            if p.0.len() <= pos {
                continue;
            }
            let same = p.0[..pos] == base.0[..pos]
                && p.0[pos].attr == base.0[pos].attr
                && p.0[pos].node == base.0[pos].node
                && p.0[pos + 1..]
                    .iter()
                    .zip(&base.0[pos + 1..])
                    .all(|(a, b)| a == b)
                && p.0.len() >= base.0.len();
            if same && !indexes.contains(&p.0[pos].index) {
                indexes.push(p.0[pos].index);
            }
        }
        indexes.sort_unstable();
        indexes
            .into_iter()
            .map(|i| {
                let mut p = base.clone();
                p.0[pos].index = i;
                p
            })
            .collect()
    }

    fn has_data(&self, prefix: &InstancePath) -> bool {
        self.input.below(prefix).next().is_some()
    }

    /// Whether running `m` at `target` would carry data from the
    /// composition into FHIR (constants alone do not count), and the
    /// bindings for `m`'s children there (`None` when there is no data
    /// below `target`). Memoized: see [`ProducesMemo`].
    fn would_produce(
        &self,
        m: &'s Mapping,
        target: &InstancePath,
        scope: &RevScope,
    ) -> (bool, Option<Bindings>) {
        if !self.has_data(target) {
            return (false, None);
        }
        if !binds(m) {
            // Nothing below to ask and nothing to bind: answered in place,
            // without a memo entry.
            return (
                self.produces_at_leaf(m, target),
                Some(scope.bindings.clone()),
            );
        }
        let key = (m as *const Mapping as usize, scope.bindings.id());
        if let Some(entries) = self.produces.borrow().get(&key) {
            if let Some((_, go, b)) = entries.iter().find(|(t, _, _)| t == target) {
                return (*go, Some(b.clone()));
            }
        }
        let bindings = scope.bindings.with(target.clone());
        let go = self.produces_at(m, target, scope, &bindings);
        self.produces.borrow_mut().entry(key).or_default().push((
            target.clone(),
            go,
            bindings.clone(),
        ));
        (go, Some(bindings))
    }

    /// [`RevRun::would_produce`] computed: a child, referenced or slot
    /// method below `target` produces, or `m` converts the leaf there.
    fn produces_at(
        &self,
        m: &'s Mapping,
        target: &InstancePath,
        scope: &RevScope,
        bindings: &Bindings,
    ) -> bool {
        // The FHIR side plays no part in the answer: no copy of it.
        let child = RevScope {
            resource: scope.resource.clone(),
            fhir: Created {
                ptr: String::new(),
                ty: None,
            },
            oe: target.clone(),
            archetype: scope.archetype.clone(),
            bindings: bindings.clone(),
            depth: scope.depth,
        };
        let mut structural = false;
        if let Some(fb) = &m.followed_by {
            structural = true;
            let conditional = m.fhir_condition.is_some() || !m.fhir_conditions.is_empty();
            let produces = |c: &'s Mapping| {
                !(conditional && super::reverse_guards::manual_only(c))
                    && self.child_produces(c, &child)
            };
            if fb.mappings.iter().any(produces) {
                return true;
            }
        }
        if let Some(r) = &m.reference {
            structural = true;
            // The run maps a reference's methods one level deeper.
            let ref_scope = RevScope {
                depth: scope.depth + 1,
                ..child.clone()
            };
            if !self.self_referential(r, &ref_scope)
                && r.mappings
                    .iter()
                    .any(|c| self.child_produces(c, &ref_scope))
            {
                return true;
            }
        }
        if let Some(slot) = &m.slot_archetype {
            structural = true;
            if let Some(model) = self.set.model(slot) {
                let slot_scope = RevScope {
                    archetype: Rc::new(target.clone()),
                    depth: scope.depth + 1,
                    ..child
                };
                if self.model_allows(model, &slot_scope)
                    && model
                        .doc
                        .mappings
                        .iter()
                        .any(|c| self.child_produces(c, &slot_scope))
                {
                    return true;
                }
            }
        }
        if !m.manual.is_empty() {
            // A manual-only method's FHIR constants describe an element
            // whose openEHR node has data (checked above), nested or not.
            let manual_only = m.followed_by.is_none()
                && m.reference.is_none()
                && m.slot_archetype.is_none()
                && m.manual.iter().any(|x| !x.fhir.is_empty());
            if manual_only {
                return true;
            }
            structural = true;
        }
        let none = m.with.as_ref().and_then(|w| w.kind) == Some(WithType::None);
        !structural && !none && self.input.leaves.contains_key(target)
    }

    /// [`RevRun::produces_at`] for a method without children, slot or
    /// reference: its FHIR constants describe an element whose node has
    /// data, or it converts the leaf at `target`.
    fn produces_at_leaf(&self, m: &Mapping, target: &InstancePath) -> bool {
        if !m.manual.is_empty() {
            return m.manual.iter().any(|x| !x.fhir.is_empty());
        }
        let none = m.with.as_ref().and_then(|w| w.kind) == Some(WithType::None);
        !none && self.input.leaves.contains_key(target)
    }

    /// Whether `m` run in `scope` produces at any of its instances.
    fn child_produces(&self, m: &'s Mapping, scope: &RevScope) -> bool {
        if m.unidirectional == Some(Direction::FhirToOpenEhr) || scope.depth > self.limits.max_depth
        {
            return false;
        }
        let (base, anchor) = self.target(m.with.as_ref().and_then(|w| w.openehr.as_deref()), scope);
        self.instances(&base, anchor, scope)
            .iter()
            .any(|t| self.would_produce(m, t, scope).0)
    }
}

/// Whether `m` runs anything below its node (children, a slot, a
/// reference), so its node is bound for deeper paths.
fn binds(m: &Mapping) -> bool {
    m.followed_by.is_some() || m.reference.is_some() || m.slot_archetype.is_some()
}

/// A local at-code the terminology table knows goes back to its FHIR code
/// and system.
fn fhir_code(
    target: &InstancePath,
    leaf: &super::instance::Leaf,
    index: Option<&TemplateIndex>,
) -> super::instance::Leaf {
    let mut out = leaf.clone();
    if leaf.rm_type.as_deref() != Some("DV_CODED_TEXT") || leaf.text("terminology") != Some("local")
    {
        return out;
    }
    let arch_node = match index {
        Some(i) => i.archetype_and_node(target),
        None => target.archetype_and_node(),
    };
    let (Some((arch, node)), Some(code)) = (arch_node, leaf.text("code")) else {
        return out;
    };
    if let Some(row) = super::at_codes::from_at_code(arch, node, code) {
        out.fields.insert("code".to_owned(), json!(row.code));
        out.fields
            .insert("terminology".to_owned(), json!(row.system));
    }
    out
}
