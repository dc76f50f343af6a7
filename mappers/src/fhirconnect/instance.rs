//! The engine's neutral form of a composition: data-value leaves keyed by
//! instance path. Canonical JSON and FLAT are both produced from it and
//! read into it, so the mapping engine is written once.

use std::collections::BTreeMap;
use std::ops::Bound;

use serde_json::Value;

use super::openehr_path::InstancePath;

/// One data value (a `DV_*` node or a plain RM attribute such as an event
/// `time`), with its fields named as FLAT suffixes: `""` for the value
/// itself (`DV_TEXT`, `DV_DATE_TIME`, `DV_COUNT`...), `magnitude`/`unit`
/// (`DV_QUANTITY`), `code`/`value`/`terminology` (`DV_CODED_TEXT`),
/// `id`/`issuer`/`assigner`/`type` (`DV_IDENTIFIER`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Leaf {
    /// The RM type (`DV_QUANTITY`), when known.
    pub rm_type: Option<String>,
    /// The fields.
    pub fields: BTreeMap<String, Value>,
}

impl Leaf {
    /// A leaf of `rm_type` with `fields`.
    pub fn new(rm_type: &str, fields: impl IntoIterator<Item = (&'static str, Value)>) -> Self {
        Leaf {
            rm_type: Some(rm_type.to_owned()),
            fields: fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        }
    }

    /// A field as text.
    pub fn text(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(Value::as_str)
    }
}

/// A composition as leaves by instance path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Instance {
    /// The leaves. Later writes to the same path overwrite earlier ones
    /// field by field (FHIRconnect's top-down rule).
    pub leaves: BTreeMap<InstancePath, Leaf>,
    /// Where each leaf came from in the FHIR input (a location such as
    /// `Observation.component[0].valueQuantity`), so template-check issues
    /// can name both sides. Empty for compositions read from openEHR.
    pub sources: BTreeMap<InstancePath, String>,
}

impl Instance {
    /// Writes `leaf` at `path`, merging fields into an existing leaf.
    pub fn put(&mut self, path: InstancePath, leaf: Leaf) {
        let slot = self.leaves.entry(path).or_default();
        if leaf.rm_type.is_some() {
            slot.rm_type = leaf.rm_type;
        }
        slot.fields.extend(leaf.fields);
    }

    /// Leaves at or below `prefix`.
    pub fn below<'a>(
        &'a self,
        prefix: &'a InstancePath,
    ) -> impl Iterator<Item = (&'a InstancePath, &'a Leaf)> + 'a {
        // Paths order lexicographically by segment, so the paths under
        // `prefix` are one contiguous run starting at `prefix` itself.
        self.leaves
            .range::<InstancePath, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(move |(p, _)| p.starts_with(prefix))
    }
}
