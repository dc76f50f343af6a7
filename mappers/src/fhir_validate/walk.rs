//! One walk over a resource's JSON, checking each property against the R4
//! element table: known, of its type, single or repeating as R4 says, with
//! its type's required elements and required bindings.

use serde_json::{Map, Value};

use super::primitive::{self, Bad};
use super::rules::rules;
use super::{Limits, Problem, ProblemKind};
use crate::fhirconnect::fhir_schema::{schema, Element};

/// The walk's state: where it is, what it found.
pub(super) struct Walk {
    limits: Limits,
    pub(super) problems: Vec<Problem>,
    /// Set once the problem budget is spent.
    pub(super) full: bool,
}

// === impl Walk ===

impl Walk {
    pub(super) fn new(limits: Limits) -> Self {
        Walk {
            limits,
            problems: Vec::new(),
            full: false,
        }
    }

    fn report(&mut self, path: &str, kind: ProblemKind) {
        if self.full {
            return;
        }
        if self.problems.len() >= self.limits.max_problems {
            self.full = true;
            self.problems.push(Problem {
                path: path.to_owned(),
                kind: ProblemKind::TooManyProblems,
            });
            return;
        }
        self.problems.push(Problem {
            path: path.to_owned(),
            kind,
        });
    }

    /// A resource (top level, `contained`, a Bundle entry's `resource`).
    pub(super) fn resource(&mut self, v: &Value, path: &str, depth: usize) {
        let Some(o) = v.as_object() else {
            self.report(path, ProblemKind::NotAResource);
            return;
        };
        let Some(rt) = o.get("resourceType").and_then(Value::as_str) else {
            self.report(path, ProblemKind::NotAResource);
            return;
        };
        // Resource types, and only they, have `meta` (data types and
        // backbone elements have `id` and `extension` alone).
        if schema().element(rt, "meta").is_none() || rt.contains('_') {
            self.report(path, ProblemKind::UnknownResourceType);
            return;
        }
        // A top-level resource's path is its type; a nested one keeps the
        // location it was found at.
        let here = if path.is_empty() { rt } else { path };
        self.object(o, rt, here, depth);
    }

    /// An object of FHIR type `owner` at `path`.
    fn object(&mut self, o: &Map<String, Value>, owner: &str, path: &str, depth: usize) {
        if depth > self.limits.max_depth {
            self.report(path, ProblemKind::TooDeep);
            return;
        }
        let is_resource = o.contains_key("resourceType");
        if o.is_empty() || (is_resource && o.len() == 1 && path.contains('.')) {
            self.report(path, ProblemKind::Empty);
            return;
        }
        let s = schema();
        for (k, v) in o {
            if self.full {
                return;
            }
            if k == "resourceType" && is_resource {
                continue;
            }
            let at = format!("{path}.{k}");
            if let Some(base) = k.strip_prefix('_') {
                match s.element(owner, base) {
                    Some(el) if primitive::is_primitive(el.ty) => {
                        self.primitive_extension(v, el, &at, depth);
                    }
                    _ => self.report(&at, ProblemKind::UnknownElement),
                }
                continue;
            }
            let Some(el) = s.element(owner, k) else {
                self.report(&at, ProblemKind::UnknownElement);
                continue;
            };
            let has_extension = o.contains_key(&format!("_{k}"));
            self.property(v, el, &at, has_extension, depth);
        }
        self.choices(o, owner, path);
        self.required(o, owner, path);
        self.bindings(o, owner, path);
    }

    /// One property's value, single or repeating as `el` says.
    fn property(&mut self, v: &Value, el: Element, at: &str, has_extension: bool, depth: usize) {
        match (v, el.array) {
            (Value::Array(items), true) => {
                if items.is_empty() {
                    self.report(at, ProblemKind::Empty);
                }
                for (i, item) in items.iter().enumerate() {
                    let item_at = format!("{at}[{i}]");
                    if item.is_null() && has_extension {
                        // A repeating primitive whose value this index
                        // leaves to its `_name` extension.
                        continue;
                    }
                    self.value(item, el.ty, &item_at, depth + 1);
                }
            }
            (Value::Array(_), false) => self.report(at, ProblemKind::ExpectedSingle),
            (_, true) => self.report(at, ProblemKind::ExpectedArray),
            (_, false) => self.value(v, el.ty, at, depth + 1),
        }
    }

    /// A value of FHIR type `ty`.
    fn value(&mut self, v: &Value, ty: &'static str, at: &str, depth: usize) {
        if ty == "ResourceList" {
            self.resource(v, at, depth + 1);
            return;
        }
        if primitive::is_primitive(ty) {
            match primitive::check(ty, v) {
                Ok(()) => {}
                Err(Bad::Kind(expected)) => self.report(at, ProblemKind::WrongType { expected }),
                Err(Bad::Form) => self.report(at, ProblemKind::BadValue { ty }),
            }
            return;
        }
        match v.as_object() {
            Some(o) => self.object(o, ty, at, depth),
            None => self.report(at, ProblemKind::WrongType { expected: ty }),
        }
    }

    /// `_name`: the id and extensions of a primitive (one object, or an
    /// array aligned with the values, `null` where an index has none).
    fn primitive_extension(&mut self, v: &Value, el: Element, at: &str, depth: usize) {
        match (v, el.array) {
            (Value::Array(items), true) => {
                for (i, item) in items.iter().enumerate() {
                    if !item.is_null() {
                        self.value(item, "Element", &format!("{at}[{i}]"), depth + 1);
                    }
                }
            }
            (Value::Array(_), false) => self.report(at, ProblemKind::ExpectedSingle),
            (_, true) => self.report(at, ProblemKind::ExpectedArray),
            (_, false) => self.value(v, "Element", at, depth + 1),
        }
    }

    /// At most one variant of each choice element (`value[x]`).
    fn choices(&mut self, o: &Map<String, Value>, owner: &str, path: &str) {
        let s = schema();
        let mut seen: Vec<&str> = Vec::new();
        for k in o.keys() {
            let Some(base) = s.element(owner, k).and_then(|e| e.choice_base) else {
                continue;
            };
            if seen.contains(&base) {
                self.report(&format!("{path}.{base}[x]"), ProblemKind::SeveralChoices);
            } else {
                seen.push(base);
            }
        }
    }

    /// The required elements of `owner`.
    fn required(&mut self, o: &Map<String, Value>, owner: &str, path: &str) {
        let s = schema();
        for req in rules().required(owner) {
            let present = match req.strip_suffix("[x]") {
                Some(base) => s.choices(owner, base).iter().any(|c| {
                    o.contains_key(c.property) || o.contains_key(&format!("_{}", c.property))
                }),
                None => o.contains_key(*req) || o.contains_key(&format!("_{req}")),
            };
            if !present {
                self.report(&format!("{path}.{req}"), ProblemKind::Missing);
            }
        }
    }

    /// Required bindings of `owner`'s properties.
    fn bindings(&mut self, o: &Map<String, Value>, owner: &str, path: &str) {
        let r = rules();
        for (k, v) in o {
            let Some(b) = r.binding(owner, k) else {
                continue;
            };
            let values: Vec<(String, &Value)> = match v {
                Value::Array(a) => a
                    .iter()
                    .enumerate()
                    .map(|(i, x)| (format!("{path}.{k}[{i}]"), x))
                    .collect(),
                x => vec![(format!("{path}.{k}"), x)],
            };
            for (at, x) in values {
                match b.system {
                    None => {
                        if let Some(code) = x.as_str() {
                            if !b.codes.contains(&code) {
                                self.report(&at, ProblemKind::CodeNotAllowed);
                            }
                        }
                    }
                    Some(system) => self.concept_binding(x, system, &b.codes, &at),
                }
            }
        }
    }

    /// A CodeableConcept bound `required` to codes of `system`: one of its
    /// codings is of that system, and each coding of it has an allowed code.
    fn concept_binding(&mut self, v: &Value, system: &str, codes: &[&str], at: &str) {
        let Some(o) = v.as_object() else {
            return; // the type problem is reported already
        };
        let codings = o.get("coding").and_then(Value::as_array);
        let mut from_system = 0usize;
        for (i, c) in codings.into_iter().flatten().enumerate() {
            if c.get("system").and_then(Value::as_str) != Some(system) {
                continue;
            }
            from_system += 1;
            let code = c.get("code").and_then(Value::as_str);
            if !code.is_some_and(|c| codes.contains(&c)) {
                self.report(
                    &format!("{at}.coding[{i}].code"),
                    ProblemKind::CodeNotAllowed,
                );
            }
        }
        if from_system == 0 {
            self.report(at, ProblemKind::NoCodingFromValueSet);
        }
    }
}
