//! What the engine needs to know about FHIR R4 elements: their type, whether
//! they repeat, and which JSON properties are variants of a choice element
//! (`value[x]` -> `valueQuantity`).
//!
//! The table is data (`mappers/data/fhir_r4_elements.tsv`), generated from
//! the official FHIR R4 JSON schema by `mappers/data/gen_fhir_elements.py`;
//! a test checks it against the schema in the corpus.

use std::collections::{HashMap, HashSet};

/// Lookups here run for every selected FHIR node; keys come from the
/// generated table and mapping files, so a fast seeded hash is enough.
type Fast = foldhash::fast::RandomState;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../../data/fhir_r4_elements.tsv");

/// One JSON property of a FHIR type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element {
    /// The JSON property name (`valueQuantity`).
    pub property: &'static str,
    /// Its FHIR type (`Quantity`, `Observation_Component`, `string`).
    pub ty: &'static str,
    /// It is a JSON array.
    pub array: bool,
    /// The choice element it is a variant of (`value`), if any.
    pub choice_base: Option<&'static str>,
}

/// The parsed table.
#[derive(Debug)]
pub struct Schema {
    by_property: HashMap<&'static str, HashMap<&'static str, Element, Fast>, Fast>,
    by_choice: HashMap<&'static str, HashMap<&'static str, Vec<Element>, Fast>, Fast>,
    owners: HashSet<&'static str, Fast>,
}

/// The table, parsed once.
pub fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::parse(TABLE))
}

impl Schema {
    fn parse(text: &'static str) -> Self {
        let mut by_property: HashMap<_, HashMap<_, _, Fast>, Fast> = HashMap::default();
        let mut by_choice: HashMap<_, HashMap<_, Vec<Element>, Fast>, Fast> = HashMap::default();
        let mut owners = HashSet::default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let mut cols = line.split('\t');
            let (Some(owner), Some(property), Some(ty), Some(array), Some(base)) = (
                cols.next(),
                cols.next(),
                cols.next(),
                cols.next(),
                cols.next(),
            ) else {
                continue;
            };
            let el = Element {
                property,
                ty,
                array: array == "1",
                choice_base: (base != "-").then_some(base),
            };
            owners.insert(owner);
            by_property.entry(owner).or_default().insert(property, el);
            if let Some(b) = el.choice_base {
                by_choice
                    .entry(owner)
                    .or_default()
                    .entry(b)
                    .or_default()
                    .push(el);
            }
        }
        Self {
            by_property,
            by_choice,
            owners,
        }
    }

    /// The element `owner.property`, if the schema has it.
    pub fn element(&self, owner: &str, property: &str) -> Option<Element> {
        self.by_property.get(owner)?.get(property).copied()
    }

    /// The variants of the choice element `owner.base[x]`.
    pub fn choices(&self, owner: &str, base: &str) -> &[Element] {
        self.by_choice
            .get(owner)
            .and_then(|m| m.get(base))
            .map_or(&[], Vec::as_slice)
    }

    /// Whether `ty` is a type the table describes (has properties).
    pub fn is_complex(&self, ty: &str) -> bool {
        self.owners.contains(ty)
    }
}

/// FHIRPath type names are written `DateTime`, `Quantity`; the schema uses
/// `dateTime`. Compared case-insensitively.
pub fn same_type(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_repeating_and_choice_elements() {
        let s = schema();
        let comp = s.element("Observation", "component").unwrap();
        assert!(comp.array);
        assert_eq!(comp.ty, "Observation_Component");
        assert!(!s.element("Observation", "code").unwrap().array);
        let values = s.choices("Observation_Component", "value");
        assert!(values
            .iter()
            .any(|e| e.property == "valueQuantity" && e.ty == "Quantity"));
        assert!(s.choices("MedicationStatement", "reason").is_empty());
        assert!(s.element("CodeableConcept", "coding").unwrap().array);
        assert!(same_type("DateTime", "dateTime"));
    }
}
