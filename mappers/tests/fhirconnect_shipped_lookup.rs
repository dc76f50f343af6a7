//! Two shipped sets map the `Growth chart` template (`growth_chart` takes
//! Bundles, `body_measurements` single vital-signs Observations):
//! `find_for(template, resource type)` answers the one that maps the
//! resource, so a body weight Observation finds its mapping by template id.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;

use ehrgate_mappers::error::Classified;
use ehrgate_mappers::fhirconnect::shipped::{by_name, find, find_for, ShippedError, SHIPPED};

#[test]
fn the_resource_type_picks_between_sets_of_one_template() {
    assert_eq!(
        find_for("Growth chart", "Observation").unwrap().name,
        "body_measurements"
    );
    assert_eq!(
        find_for("Growth chart", "Bundle").unwrap().name,
        "growth_chart"
    );
    // find keeps its answer for callers without a resource at hand
    assert_eq!(find("Growth chart").unwrap().name, "growth_chart");
    let set = find_for("Growth chart", "Observation").unwrap();
    let engine = set.engine().unwrap();
    let weight =
        common::json("mappings/fhir-bridge/Observation/BodyWeight/create-body-weight_gramm.json");
    assert!(!engine
        .fhir_to_instance(&weight)
        .unwrap()
        .output
        .leaves
        .is_empty());
    // the other sets answer for their own types
    assert_eq!(
        find_for("IDCR - Problem List.v1", "Condition")
            .unwrap()
            .name,
        "problem_list"
    );
    assert_eq!(
        find_for("IDCR - Immunisation summary.v0", "Immunization")
            .unwrap()
            .name,
        "immunization"
    );
}

#[test]
fn every_template_and_input_type_names_one_set() {
    let mut seen = HashSet::new();
    for s in SHIPPED {
        assert!(!s.inputs.is_empty(), "{}", s.name);
        for t in s.inputs {
            assert!(
                seen.insert((s.template_id, *t)),
                "{} {t} twice",
                s.template_id
            );
            assert_eq!(find_for(s.template_id, t).unwrap().name, s.name);
        }
    }
}

#[test]
fn unknown_names_templates_and_types_are_told_apart() {
    let e = find_for("Growth chart", "Condition").unwrap_err();
    assert!(matches!(e, ShippedError::NotForResource { .. }), "{e}");
    assert_eq!(e.code(), "fhirconnect.no-mapping-for-resource-type");
    assert!(e.to_string().contains("Growth chart") && e.to_string().contains("Condition"));
    let e = find_for("no such template", "Observation").unwrap_err();
    assert_eq!(e, ShippedError::Unknown("no such template".into()));
    assert!(e.to_string().contains("template `no such template`"));
    let e = by_name("no_such_set").unwrap_err();
    assert_eq!(e, ShippedError::UnknownSet("no_such_set".into()));
    assert!(e.to_string().contains("set named `no_such_set`"), "{e}");
    assert_eq!(e.code(), "fhirconnect.no-mapping-set");
}

/// Going back to FHIR, the composition's content picks between the two
/// `Growth chart` sets (issue 25), whatever their order in the list.
#[test]
fn the_composition_content_picks_between_sets_of_one_template() {
    use ehrgate_mappers::fhirconnect::canonical::{to_canonical, CanonicalDefaults};
    use ehrgate_mappers::fhirconnect::shipped::for_composition;
    let single = find_for("Growth chart", "Observation")
        .unwrap()
        .engine()
        .unwrap();
    let weight =
        common::json("mappings/fhir-bridge/Observation/BodyWeight/create-body-weight_gramm.json");
    let inst = single.fhir_to_instance(&weight).unwrap().output;
    let defaults = CanonicalDefaults {
        language: "en".into(),
        territory: "DE".into(),
        composer: "ehrgate".into(),
        time: "2024-01-01T00:00:00Z".into(),
    };
    let comp = to_canonical(&inst, single.index().unwrap(), &defaults);
    assert_eq!(
        for_composition("Growth chart", &comp).unwrap().name,
        "body_measurements"
    );
    // The openFHIR test composition (weight, height, BMI, head
    // circumference): the LOINC set reads nine Observations of it, the
    // openFHIR set three, so the LOINC set is its better reader ...
    let full = common::json("mappings/openfhir/growth_chart/growth_chart_composition.json");
    assert_eq!(
        for_composition("Growth chart", &full).unwrap().name,
        "body_measurements"
    );
    // ... and a head circumference alone only the openFHIR set reads.
    let mut head = full.clone();
    head["content"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["archetype_node_id"] == "openEHR-EHR-OBSERVATION.head_circumference.v1");
    assert_eq!(
        for_composition("Growth chart", &head).unwrap().name,
        "growth_chart"
    );
    // one set for the template: that one, whatever the composition
    assert_eq!(
        for_composition("IDCR - Problem List.v1", &full)
            .unwrap()
            .name,
        "problem_list"
    );
    assert!(matches!(
        for_composition("No such template", &full),
        Err(ShippedError::Unknown(_))
    ));
}

/// Going to openEHR, a set that reads nothing of the resource gives way to
/// a set of the same template that does (issue 25): a Bundle of LOINC
/// body weights is `body_measurements`'s, though `find_for(.., "Bundle")`
/// names the openFHIR `growth_chart` set (which selects by its own
/// category codes).
#[test]
fn the_resource_content_picks_when_the_typed_set_reads_nothing() {
    use ehrgate_mappers::fhirconnect::shipped::for_resource;
    let weight =
        common::json("mappings/fhir-bridge/Observation/BodyWeight/create-body-weight_gramm.json");
    let bundle = serde_json::json!({"resourceType": "Bundle", "type": "collection",
        "entry": [{"resource": weight}]});
    assert_eq!(
        find_for("Growth chart", "Bundle").unwrap().name,
        "growth_chart"
    );
    assert_eq!(
        for_resource("Growth chart", &bundle).unwrap().name,
        "body_measurements"
    );
    assert_eq!(
        for_resource("Growth chart", &weight).unwrap().name,
        "body_measurements"
    );
    let condition = common::json("fhir/examples/Condition-f201.json");
    assert_eq!(
        for_resource("IDCR - Problem List.v1", &condition)
            .unwrap()
            .name,
        "problem_list"
    );
    // a type no set of the template takes keeps find_for's answer
    assert!(matches!(
        for_resource("Growth chart", &condition),
        Err(ShippedError::NotForResource { .. })
    ));
}
