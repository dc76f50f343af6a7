//! openEHR -> FHIR: when a method must not create its FHIR element even
//! though the composition has data below its openEHR node.
//!
//! - A method with a filtering `fhirCondition` describes an element that
//!   exists only when the condition held on the FHIR side; going back, only
//!   data the composition carries for it can show that, so its constants
//!   (manual-only children such as an extension `url`) do not count.
//! - A `reference` whose methods all map, as a slot, the very archetype
//!   node being mapped (the KDS `primärdiagnose`: a related Condition
//!   mapped with the problem/diagnosis model at `$archetype`) would copy the
//!   resource being built into a second one: it is not created.
//! - A `type` condition on `$fhirRoot` names the type of the element the
//!   method writes into; going back, a method whose element is known to
//!   be of another type (the anatomical-location slot run once for a
//!   `bodySite` CodeableConcept and once for a laterality Extension) does
//!   not run there.

use super::fhir_schema::same_type;
use super::model::{Mapping, Operator, Reference};
use super::openehr_path::Anchor;
use super::to_fhir::{RevRun, RevScope};

/// A method with constants only (no data of its own, no children).
pub(crate) fn manual_only(m: &Mapping) -> bool {
    !m.manual.is_empty()
        && m.followed_by.is_none()
        && m.reference.is_none()
        && m.slot_archetype.is_none()
}

impl RevRun<'_> {
    /// Whether every method of `r` maps, as a slot, the archetype node
    /// `scope` is mapping.
    pub(crate) fn self_referential(&self, r: &Reference, scope: &RevScope) -> bool {
        !r.mappings.is_empty()
            && r.mappings.iter().all(|c| {
                let text = c.with.as_ref().and_then(|w| w.openehr.as_deref());
                let (target, anchor) = self.target(text, scope);
                c.slot_archetype.is_some()
                    && anchor == Anchor::Archetype
                    && target == *scope.archetype
            })
    }
}

/// Whether `m`'s `type` conditions on `$fhirRoot` allow running with the
/// parent element of type `ty` (unknown types allow).
pub(crate) fn type_allows(m: &Mapping, ty: Option<&str>) -> bool {
    let Some(ty) = ty else { return true };
    m.fhir_condition
        .iter()
        .chain(&m.fhir_conditions)
        .filter(|c| c.operator == Operator::Type && c.target_root == "$fhirRoot")
        .all(|c| {
            c.criteria
                .as_ref()
                .is_some_and(|cr| cr.values().iter().any(|v| same_type(v, ty)))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(yaml: &str) -> Mapping {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn type_conditions_on_the_parent_element_guard_methods() {
        let m = method("name: lat\nwith:\n  fhir: \"$fhirRoot.value.as(Coding)\"\n  openehr: \"items[at0002]\"\nfhirCondition:\n  targetRoot: \"$fhirRoot\"\n  operator: \"type\"\n  criteria: \"Extension\"\n");
        assert!(type_allows(&m, Some("Extension")));
        assert!(!type_allows(&m, Some("CodeableConcept")));
        assert!(type_allows(&m, None));
        let plain = method("name: p\nwith:\n  fhir: \"code\"\n");
        assert!(type_allows(&plain, Some("CodeableConcept")));
    }

    #[test]
    fn constants_only_methods() {
        let m = method("name: url\nwith:\n  fhir: \"$fhirRoot\"\nmanual:\n  - name: u\n    fhir:\n      - path: \"url\"\n        value: \"http://x\"\n");
        assert!(manual_only(&m));
        let parent = method("name: p\nwith:\n  fhir: \"extension\"\nfollowedBy:\n  mappings:\n    - name: c\n      with:\n        fhir: \"value\"\nmanual:\n  - name: u\n    fhir:\n      - path: \"url\"\n        value: \"http://x\"\n");
        assert!(!manual_only(&parent));
    }
}
