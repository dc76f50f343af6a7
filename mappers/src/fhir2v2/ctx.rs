//! Translation state: the input, the settings, which FHIR elements a v2
//! field took, and the report.
//!
//! Segment maps read elements through [`Ctx::get`], which marks them used.
//! After the message is built, every top-level element of a resource in
//! the message that no map read, and every resource no segment took, goes
//! to the unmapped report: the same `Translation` shape the v2 -> FHIR
//! direction returns, with FHIR paths as locations. Deeper losses (a third
//! coding, a second given name past what XPN holds) are reported by the
//! data type maps themselves.

use serde_json::Value;

use crate::translation::{Unmapped, Warning};

use super::config::{Config, Version};
use super::error::FhirV2Error;
use super::input::Resources;

/// Elements that are no clinical content (identity of the resource
/// itself, bookkeeping) and are never reported.
const SILENT: &[&str] = &["resourceType", "id", "meta", "contained"];

/// The state of one translation.
#[derive(Debug)]
pub struct Ctx<'a, 'c> {
    /// The input.
    pub res: &'c Resources<'a>,
    /// The settings.
    pub cfg: &'c Config,
    /// The message type being written (`ORU^R01`).
    pub message: &'static str,
    used: Vec<Vec<&'a str>>,
    included: Vec<bool>,
    /// What no field took.
    pub unmapped: Vec<Unmapped>,
    /// What was written with doubts.
    pub warnings: Vec<Warning>,
}

// === impl Ctx ===

impl<'a, 'c> Ctx<'a, 'c> {
    /// A context for writing `message` from `res`.
    pub fn new(res: &'c Resources<'a>, cfg: &'c Config, message: &'static str) -> Self {
        let n = res.list.len();
        Self {
            res,
            cfg,
            message,
            used: vec![Vec::new(); n],
            included: vec![false; n],
            unmapped: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The version being written.
    pub fn version(&self) -> Version {
        self.cfg.version
    }

    /// Marks resource `i` as part of the message.
    pub fn include(&mut self, i: usize) {
        self.included[i] = true;
    }

    /// True when resource `i` is already part of the message.
    pub fn is_included(&self, i: usize) -> bool {
        self.included[i]
    }

    /// Element `key` of resource `i`, marked used.
    pub fn get(&mut self, i: usize, key: &str) -> Option<&'a Value> {
        self.included[i] = true;
        let value: &'a Value = self.res.list[i].value;
        let (k, v) = value.as_object()?.get_key_value(key)?;
        if !self.used[i].contains(&k.as_str()) {
            self.used[i].push(k.as_str());
        }
        Some(v)
    }

    /// The first of `keys` resource `i` has (a choice type `value[x]`),
    /// with the key, marked used.
    pub fn choice(&mut self, i: usize, keys: &[&'static str]) -> Option<(&'static str, &'a Value)> {
        keys.iter().find_map(|k| self.get(i, k).map(|v| (*k, v)))
    }

    /// Element `key` of resource `i` as text.
    pub fn str(&mut self, i: usize, key: &str) -> Option<&'a str> {
        self.get(i, key).and_then(Value::as_str)
    }

    /// Element `key` of resource `i` as a list (an absent element is an
    /// empty list, a single value a list of one).
    pub fn arr(&mut self, i: usize, key: &str) -> &'a [Value] {
        match self.get(i, key) {
            Some(Value::Array(a)) => a.as_slice(),
            Some(v) => std::slice::from_ref(v),
            None => &[],
        }
    }

    /// Element `key` of resource `i`, required for v2 `field`.
    pub fn require(
        &mut self,
        i: usize,
        key: &str,
        field: &'static str,
    ) -> Result<&'a Value, FhirV2Error> {
        match self.get(i, key) {
            Some(v) if !is_empty(v) => Ok(v),
            _ => Err(FhirV2Error::MissingElement {
                path: self.path(i, key),
                field,
                message: self.message.to_owned(),
            }),
        }
    }

    /// The FHIR path of element `key` of resource `i`.
    pub fn path(&self, i: usize, key: &str) -> String {
        format!("{}.{key}", self.res.list[i].path)
    }

    /// The resource type of `i`.
    pub fn kind(&self, i: usize) -> &'a str {
        self.res.list[i].kind
    }

    /// The resource a Reference element of `i` points at, when it is in
    /// the input.
    pub fn resolve(&self, i: usize, reference: &Value) -> Option<usize> {
        self.res.resolve(i, reference)
    }

    /// Records a doubt at `location`.
    pub fn warn(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Warning {
            location: location.into(),
            message: message.into(),
        });
    }

    /// Records an element no field took.
    pub fn not_mapped(&mut self, location: impl Into<String>, reason: impl Into<String>) {
        self.unmapped.push(Unmapped {
            location: location.into(),
            reason: reason.into(),
        });
    }

    /// Adds the leftovers: resources no segment took and unread elements
    /// of those that are in the message.
    pub fn finish(&mut self) {
        let mut items = Vec::new();
        for (i, r) in self.res.list.iter().enumerate() {
            if !self.included[i] {
                items.push(Unmapped {
                    location: r.path.clone(),
                    reason: format!("no segment of {} takes a {}", self.message, r.kind),
                });
                continue;
            }
            let Some(obj) = r.value.as_object() else {
                continue;
            };
            for (k, v) in obj {
                if SILENT.contains(&k.as_str()) || self.used[i].contains(&k.as_str()) {
                    continue;
                }
                if is_empty(v) {
                    continue;
                }
                let reason = if k == "text" {
                    "narrative: v2 carries the structured elements only"
                } else if k.starts_with('_') {
                    "primitive extension: no v2 field takes it"
                } else {
                    "no v2 field takes it"
                };
                items.push(Unmapped {
                    location: format!("{}.{k}", r.path),
                    reason: reason.to_owned(),
                });
            }
        }
        self.unmapped.extend(items);
    }
}

/// True for null, `""`, `[]` and `{}`.
pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// `v[key]` as text.
pub fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `v[key]` as a list (absent: empty; one value: a list of one).
pub fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    match v.get(key) {
        Some(Value::Array(a)) => a.as_slice(),
        Some(x) => std::slice::from_ref(x),
        None => &[],
    }
}
