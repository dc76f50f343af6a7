//! The R4 rules input validation checks beyond element types (which
//! [`crate::fhirconnect::fhir_schema`] holds): required elements and
//! required bindings. All data, generated from the official R4 JSON schema
//! (`mappers/data/gen_fhir_codes.py`, `gen_fhir_min1.py`) plus two tables
//! written by hand from the spec for what the schema does not express
//! (required primitives and choices, bindings of CodeableConcepts and of
//! codes whose value set the schema does not inline).

use std::collections::HashMap;
use std::sync::OnceLock;

/// `code` elements with a required binding whose codes the schema inlines.
const CODES: &str = include_str!("../../data/fhir_r4_codes.tsv");
/// Elements the schema lists as required, per owner type.
const MIN1: &str = include_str!("../../data/fhir_r4_min1.tsv");
/// Required primitives and choices, by hand from the spec.
const MIN1_PRIMITIVES: &str = include_str!("../../data/fhir_r4_min1_primitives.tsv");
/// Required bindings the schema does not carry, by hand from the spec.
const BINDINGS: &str = include_str!("../../data/fhir_r4_bindings.tsv");

/// A required binding of one element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// For a CodeableConcept or Coding: the code system whose coding must
    /// be present. `None` for a `code` element.
    pub system: Option<&'static str>,
    /// The codes the value set allows.
    pub codes: Vec<&'static str>,
}

/// The parsed tables.
#[derive(Debug, Default)]
pub struct Rules {
    bindings: HashMap<&'static str, HashMap<&'static str, Binding>>,
    required: HashMap<&'static str, Vec<&'static str>>,
}

/// The tables, parsed once.
pub fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(Rules::parse)
}

/// The data rows of a table: tab-separated columns, `#` comments skipped.
fn rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
}

// === impl Rules ===

impl Rules {
    fn parse() -> Self {
        let mut r = Rules::default();
        for cols in rows(CODES) {
            if let &[owner, property, codes] = cols.as_slice() {
                r.bindings.entry(owner).or_default().insert(
                    property,
                    Binding {
                        system: None,
                        codes: codes.split(',').collect(),
                    },
                );
            }
        }
        for cols in rows(BINDINGS) {
            if let &[owner, property, system, codes] = cols.as_slice() {
                r.bindings.entry(owner).or_default().insert(
                    property,
                    Binding {
                        system: (system != "-").then_some(system),
                        codes: codes.split(',').collect(),
                    },
                );
            }
        }
        for cols in rows(MIN1).chain(rows(MIN1_PRIMITIVES)) {
            if let &[owner, props] = cols.as_slice() {
                let list = r.required.entry(owner).or_default();
                for p in props.split(',') {
                    if !list.contains(&p) {
                        list.push(p);
                    }
                }
            }
        }
        r
    }

    /// The required binding of `owner.property`, if R4 binds it `required`.
    pub fn binding(&self, owner: &str, property: &str) -> Option<&Binding> {
        self.bindings.get(owner)?.get(property)
    }

    /// The required elements of `owner` (`medication[x]` for a required
    /// choice).
    pub fn required(&self, owner: &str) -> &[&'static str] {
        self.required.get(owner).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tables_hold_what_r4_requires() {
        let r = rules();
        let obs = r.binding("Observation", "status").unwrap();
        assert!(obs.system.is_none());
        assert!(obs.codes.contains(&"preliminary") && obs.codes.contains(&"final"));
        assert!(r
            .binding("Procedure", "status")
            .unwrap()
            .codes
            .contains(&"not-done"));
        let clinical = r.binding("Condition", "clinicalStatus").unwrap();
        assert_eq!(
            clinical.system,
            Some("http://terminology.hl7.org/CodeSystem/condition-clinical")
        );
        assert!(r.required("Observation").contains(&"status"));
        assert!(r.required("Observation").contains(&"code"));
        assert!(r.required("Observation_Component").contains(&"code"));
        assert!(r.required("MedicationStatement").contains(&"medication[x]"));
        assert!(r.required("MedicationStatement").contains(&"subject"));
        assert!(r.required("Coding").is_empty());
        // a preferred binding is not checked
        assert!(r.binding("Observation", "category").is_none());
    }

    #[test]
    fn every_row_of_the_hand_tables_has_its_columns() {
        for cols in rows(BINDINGS) {
            assert_eq!(cols.len(), 4, "{cols:?}");
            assert!(cols[3].split(',').all(|c| !c.is_empty() && c.trim() == c));
        }
        for cols in rows(MIN1_PRIMITIVES) {
            assert_eq!(cols.len(), 2, "{cols:?}");
        }
        // every hand-written element exists in the schema table
        let s = crate::fhirconnect::fhir_schema::schema();
        for cols in rows(BINDINGS) {
            assert!(s.element(cols[0], cols[1]).is_some(), "{cols:?}");
        }
        for cols in rows(MIN1_PRIMITIVES) {
            for p in cols[1].split(',') {
                let known = match p.strip_suffix("[x]") {
                    Some(base) => !s.choices(cols[0], base).is_empty(),
                    None => s.element(cols[0], p).is_some(),
                };
                assert!(known, "{}.{p}", cols[0]);
            }
        }
    }
}
