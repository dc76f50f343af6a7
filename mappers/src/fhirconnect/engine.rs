//! The FHIRconnect engine: one mapping set (and, when known, its template's
//! index) compiled once, then used for any number of translations in both
//! directions.

use std::collections::HashSet;

use ehrgate_templates::TemplateMeta;
use serde_json::{json, Value};

use super::compiled::{CompileError, Compiled};
use super::fhir_write::{prune, Created};
use super::fhirpath::{push_index, Node, WRAPPED_AT};
use super::instance::Instance;
use super::loader::{short_archetype, MappingSet};
use super::openehr_path::{Bindings, InstancePath, Seg, SegNames};
use super::template_index::TemplateIndex;
use super::to_fhir::{RevRun, RevScope};
use super::to_openehr::{is_within, value_locations, Run, RunLimits, Scope};
use crate::error::{Classified, Fault};
use crate::translation::{Translation, Unmapped};

/// Why a translation could not run at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// A path of the mapping set does not parse.
    #[error("mapping set: {0}")]
    Compile(#[from] CompileError),
    /// The context's start model is missing (checked at load; kept for
    /// sets built by hand).
    #[error("mapping set has no start model")]
    NoStart,
    /// The input is not a FHIR resource (no `resourceType`).
    #[error("input is not a FHIR resource")]
    NotAResource,
    /// The input's resource type is not the one the mapping expects.
    #[error("mapping expects {expected}, input is {actual}")]
    WrongResource {
        /// What the context/start model maps.
        expected: String,
        /// What came in.
        actual: String,
    },
    /// The translation exceeded its step budget.
    #[error("translation exceeded its step limit")]
    Exhausted,
    /// A Bundle came in for a mapping of one resource type and holds
    /// several entries of that type: which one to translate is not said.
    #[error("the Bundle holds {count} {resource} entries; the mapping translates one")]
    SeveralEntries {
        /// The resource type the mapping maps.
        resource: String,
        /// How many entries of it the Bundle holds.
        count: usize,
    },
    /// The mapping used nothing of the input: what it would write are its
    /// constants alone, which say nothing about this resource.
    #[error("nothing of the {resource} maps to this template")]
    NothingMapped {
        /// The input's resource type.
        resource: String,
    },
}

impl Classified for EngineError {
    fn fault(&self) -> Fault {
        match self {
            EngineError::Compile(_) | EngineError::NoStart => Fault::Internal,
            _ => Fault::Client,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            EngineError::Compile(_) => "fhirconnect.compile",
            EngineError::NoStart => "fhirconnect.no-start",
            EngineError::NotAResource => "fhirconnect.not-a-resource",
            EngineError::WrongResource { .. } => "fhirconnect.wrong-resource",
            EngineError::Exhausted => "fhirconnect.limit",
            EngineError::NothingMapped { .. } => "fhirconnect.nothing-mapped",
            EngineError::SeveralEntries { .. } => "fhirconnect.several-entries",
        }
    }
}

/// A compiled mapping set.
#[derive(Debug)]
pub struct Engine {
    set: MappingSet,
    compiled: Compiled,
    /// Where `$archetype` of the start model is (see [`start_archetype`]).
    start: InstancePath,
    index: Option<TemplateIndex>,
    limits: RunLimits,
}

impl Engine {
    /// Compiles `set`; `template` (the context's template) enables data
    /// type hints, FLAT and canonical output.
    pub fn new(set: MappingSet, template: Option<&TemplateMeta>) -> Result<Self, EngineError> {
        // The engine owns `set` unchanged next to `compiled` (the set's
        // texts stay where they are when the struct moves).
        let mut compiled = Compiled::pinned(&set)?;
        if set.start_model().is_none() {
            return Err(EngineError::NoStart);
        }
        let start = start_archetype(&set, &mut compiled);
        Ok(Engine {
            set,
            compiled,
            start,
            index: template.map(TemplateIndex::new),
            limits: RunLimits::default(),
        })
    }

    /// Sets the run limits.
    pub fn with_limits(mut self, limits: RunLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The template index, when a template was given.
    pub fn index(&self) -> Option<&TemplateIndex> {
        self.index.as_ref()
    }

    /// The mapping set.
    pub fn set(&self) -> &MappingSet {
        &self.set
    }

    /// What the context maps on the FHIR side (`Bundle`, a resource type,
    /// or a profile URL).
    fn profile(&self) -> &str {
        self.set
            .context_body()
            .map_or("", |c| c.profile.url.as_str())
    }

    /// The resource type the start model maps (from its structure
    /// definition URL).
    fn start_resource_type(&self) -> Option<String> {
        let start = self.set.start_model()?;
        let sd = &start.doc.spec.fhir_config.as_ref()?.structure_definition;
        Some(sd.rsplit('/').next().unwrap_or(sd).to_owned())
    }

    /// Where `$archetype` of the start model is.
    fn start_archetype(&self) -> InstancePath {
        self.start.clone()
    }

    /// The segment names of the set's openEHR paths: a composition read
    /// with them ([`super::canonical::from_canonical_with`]) shares them.
    pub fn names(&self) -> &SegNames {
        self.compiled.names()
    }

    /// FHIR -> openEHR leaves. A resource of which the mapping uses
    /// nothing (no value converted, no condition met, no constant
    /// matched) is [`EngineError::NothingMapped`], whatever constants the
    /// set would write.
    ///
    /// A Bundle for a mapping of one resource type (a transaction carrying
    /// a lab report with its Observations and Specimen) translates its one
    /// entry of that type, resolving references against the Bundle;
    /// entries nothing reached are reported unmapped.
    pub fn fhir_to_instance(&self, resource: &Value) -> Result<Translation<Instance>, EngineError> {
        let is_bundle = resource.get("resourceType").and_then(Value::as_str) == Some("Bundle");
        match self.start_resource_type() {
            Some(expected)
                if is_bundle
                    && self.profile() != "Bundle"
                    && expected != "Bundle"
                    && expected != "Resource" =>
            {
                self.bundle_entry(resource, &expected)
            }
            _ => self.fhir_to_instance_in(resource, None),
        }
    }

    /// The one entry of type `expected` of `bundle`, translated with the
    /// Bundle around it.
    fn bundle_entry(
        &self,
        bundle: &Value,
        expected: &str,
    ) -> Result<Translation<Instance>, EngineError> {
        let entries: &[Value] = bundle
            .get("entry")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let of_type: Vec<usize> = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.get("resource")
                    .and_then(|r| r.get("resourceType"))
                    .and_then(Value::as_str)
                    == Some(expected)
            })
            .map(|(i, _)| i)
            .collect();
        let at = match of_type.as_slice() {
            [one] => *one,
            [] => {
                return Err(EngineError::WrongResource {
                    expected: expected.to_owned(),
                    actual: "Bundle".to_owned(),
                })
            }
            several => {
                return Err(EngineError::SeveralEntries {
                    resource: expected.to_owned(),
                    count: several.len(),
                })
            }
        };
        let resource = &entries[at]["resource"];
        let mut t = self.fhir_to_instance_in(resource, Some(bundle))?;
        // Entries no reference reached carry nothing into the composition.
        let reached = |i: usize| {
            let loc = format!("Bundle.entry[{i}].resource");
            let within = |l: &str| is_within(l, &loc);
            t.output.sources.values().any(|s| within(s))
                || t.unmapped.iter().any(|u| within(&u.location))
                || t.warnings.iter().any(|w| within(&w.location))
        };
        let unreached: Vec<usize> = (0..entries.len())
            .filter(|&i| i != at && !reached(i))
            .collect();
        for i in unreached {
            t.unmapped.push(Unmapped {
                location: format!("Bundle.entry[{i}]"),
                reason: "entry not referenced by the translated resource".to_owned(),
            });
        }
        Ok(t)
    }

    /// [`Engine::fhir_to_instance`] for `resource` taken from an entry of
    /// `bundle`: its references to other entries of that Bundle (a lab
    /// report's analyte Observations, its Specimen) resolve to them
    /// ([`super::bundle_refs`]), and their elements the mapping did not
    /// use are reported unmapped at `Bundle.entry[i].resource...`. A
    /// Bundle input resolves against itself without this.
    pub fn fhir_to_instance_in(
        &self,
        resource: &Value,
        bundle: Option<&Value>,
    ) -> Result<Translation<Instance>, EngineError> {
        let Some(rt) = resource.get("resourceType").and_then(Value::as_str) else {
            return Err(EngineError::NotAResource);
        };
        let bundle_context = self.profile() == "Bundle";
        // A lone resource for a Bundle-context set is wrapped by reference
        // (`Node::bundle_of`), not copied into a new Bundle document.
        let empty = Value::Object(serde_json::Map::new());
        let wrap = bundle_context && rt != "Bundle";
        if !wrap {
            if let Some(expected) = self.start_resource_type() {
                if !bundle_context && expected != rt && expected != "Resource" {
                    return Err(EngineError::WrongResource {
                        expected,
                        actual: rt.to_owned(),
                    });
                }
            }
        }
        let prefix = wrap.then_some(WRAPPED_AT);
        let Some(start) = self.set.start_model() else {
            return Err(EngineError::NoStart);
        };
        let root = if wrap {
            Node::bundle_of(&empty, resource)
        } else {
            Node::resource(resource)
        };
        let archetype = self.start_archetype();
        let scope = Scope {
            resource: std::rc::Rc::new(root.clone()),
            fhir: root.clone(),
            oe: archetype.clone(),
            archetype: std::rc::Rc::new(archetype),
            bindings: Bindings::default(),
            depth: 0,
        };
        let mut run = Run {
            set: &self.set,
            compiled: &self.compiled,
            index: self.index.as_ref(),
            limits: self.limits,
            out: Instance::default(),
            consumed: Vec::new(),
            warnings: Vec::new(),
            steps: 0,
            exhausted: false,
            ambiguous_ordinal: std::cell::Cell::new(false),
            bundle: bundle.or((rt == "Bundle").then_some(resource)),
            reached: Vec::new(),
        };
        run.model(start, &scope);
        if run.exhausted {
            return Err(EngineError::Exhausted);
        }
        // Constants alone (a set writing a body position whatever comes
        // in) are not a translation of this resource.
        if run.consumed.is_empty() {
            return Err(EngineError::NothingMapped {
                resource: rt.to_owned(),
            });
        }
        // A location is mapped when it or one of its ancestors was
        // consumed: one walk over the input with one reused location
        // buffer, skipping consumed subtrees, allocates only for what is
        // reported (building every location first was a measured hot
        // spot).
        let mut consumed: HashSet<&str, foldhash::fast::RandomState> =
            HashSet::with_capacity_and_hasher(run.consumed.len(), Default::default());
        consumed.extend(run.consumed.iter().map(|c| &**c));
        let mut locs = Vec::new();
        let mut buf = String::with_capacity(128);
        match prefix {
            // The wrapper's own levels carry no data: covered when one of
            // them (or the resource) was consumed as a whole.
            Some(at) => {
                let covered = ["Bundle", "Bundle.entry", "Bundle.entry[0]"]
                    .into_iter()
                    .any(|l| consumed.contains(l));
                if !covered {
                    buf.push_str(at);
                    uncovered(resource, &mut buf, &consumed, &mut locs);
                }
            }
            None => {
                buf.push_str(&root.loc);
                uncovered(resource, &mut buf, &consumed, &mut locs);
            }
        }
        // Entries a reference reached, when they are not part of the input
        // itself (a Bundle input's entries were walked above).
        let reached_outside = if rt == "Bundle" {
            Vec::new()
        } else {
            std::mem::take(&mut run.reached)
        };
        let mut reached_locs = Vec::new();
        for (loc, value) in &reached_outside {
            buf.clear();
            buf.push_str(loc);
            uncovered(value, &mut buf, &consumed, &mut reached_locs);
        }
        debug_assert_eq!(locs, {
            let mut all = Vec::new();
            value_locations(resource, prefix.unwrap_or(&root.loc), &mut all);
            all.retain(|l| !run.consumed.iter().any(|c| is_within(l, c)));
            all
        });
        // Built without `format!`: every leaf's source is renamed (a
        // measured hot spot).
        let rename = |loc: &str| match prefix.and_then(|p| loc.strip_prefix(p)) {
            Some(rest) => {
                let mut s = String::with_capacity(rt.len() + rest.len());
                s.push_str(rt);
                s.push_str(rest);
                s
            }
            None => loc.to_owned(),
        };
        locs.extend(reached_locs);
        let unmapped = locs
            .into_iter()
            .map(|l| Unmapped {
                location: rename(&l),
                reason: "no mapping for element".to_owned(),
            })
            .collect();
        let mut warnings = run.warnings;
        for w in &mut warnings {
            w.location = rename(&w.location);
        }
        let mut out = run.out;
        if prefix.is_some() {
            for src in out.sources.values_mut() {
                *src = rename(src);
            }
        }
        Ok(Translation {
            output: out,
            unmapped,
            warnings,
        })
    }

    /// openEHR leaves -> FHIR (a Bundle when the context maps Bundles).
    pub fn instance_to_fhir(&self, input: &Instance) -> Result<Translation<Value>, EngineError> {
        let Some(start) = self.set.start_model() else {
            return Err(EngineError::NoStart);
        };
        let root_type = if self.profile() == "Bundle" {
            "Bundle".to_owned()
        } else {
            self.start_resource_type()
                .unwrap_or_else(|| "Resource".to_owned())
        };
        let mut doc = json!({ "resourceType": root_type });
        if root_type == "Bundle" {
            doc["type"] = json!("collection");
        }
        let root = Created {
            ptr: String::new(),
            ty: Some(root_type),
        };
        let archetype = self.start_archetype();
        let scope = RevScope {
            resource: std::rc::Rc::new(root.clone()),
            fhir: root,
            oe: archetype.clone(),
            archetype: std::rc::Rc::new(archetype),
            bindings: Bindings::default(),
            depth: 0,
        };
        let mut run = RevRun {
            set: &self.set,
            compiled: &self.compiled,
            index: self.index.as_ref(),
            limits: self.limits,
            input,
            doc,
            consumed: HashSet::new(),
            warnings: Vec::new(),
            steps: 0,
            exhausted: false,
            next_ref: 0,
            produces: Default::default(),
        };
        run.model(start, &scope);
        if run.exhausted {
            return Err(EngineError::Exhausted);
        }
        let mut doc = run.doc;
        super::contained_check::drop_incomplete(&mut doc, &mut run.warnings);
        prune(&mut doc);
        let unmapped = input
            .leaves
            .iter()
            .filter(|(p, _)| !run.consumed.contains(*p))
            .flat_map(|(p, leaf)| {
                leaf.fields.keys().map(move |f| Unmapped {
                    location: if f.is_empty() {
                        p.to_string()
                    } else {
                        format!("{p}|{f}")
                    },
                    reason: "no mapping for composition node".to_owned(),
                })
            })
            .collect();
        Ok(Translation {
            output: doc,
            unmapped,
            warnings: run.warnings,
        })
    }
}

/// Where `$archetype` of the start model is: the composition root for a
/// COMPOSITION archetype, else its `content` entry (names shared with the
/// set's paths).
fn start_archetype(set: &MappingSet, compiled: &mut Compiled) -> InstancePath {
    let Some(start) = set.start_model() else {
        return InstancePath::default();
    };
    let arch = start
        .doc
        .spec
        .open_ehr_config
        .as_ref()
        .map_or("", |c| c.archetype.as_str());
    if short_archetype(arch).starts_with("COMPOSITION.") {
        InstancePath::default()
    } else {
        InstancePath(vec![Seg {
            attr: compiled.intern("content"),
            node: compiled.intern(arch),
            index: 0,
        }])
    }
}

/// Pushes to `out` every location below `loc` (the buffer holding the
/// current node's location) that carries a primitive value and is not
/// covered by a consumed location (itself or an ancestor).
fn uncovered(
    value: &Value,
    loc: &mut String,
    consumed: &HashSet<&str, foldhash::fast::RandomState>,
    out: &mut Vec<String>,
) {
    if consumed.contains(loc.as_str()) {
        return;
    }
    match value {
        Value::Object(o) => {
            for (k, v) in o {
                if k == "resourceType" {
                    continue;
                }
                let len = loc.len();
                loc.push('.');
                loc.push_str(k);
                uncovered(v, loc, consumed, out);
                loc.truncate(len);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                let len = loc.len();
                push_index(loc, i);
                uncovered(v, loc, consumed, out);
                loc.truncate(len);
            }
        }
        Value::Null => {}
        _ => out.push(loc.clone()),
    }
}
