//! The `link` construct end to end: a Condition's encounter reference
//! becomes an openEHR LINK on the diagnosis entry (meaning and type from
//! the mapping file, the target naming the Encounter), survives canonical
//! JSON and the template check, and comes back as the Condition's
//! `encounter` reference.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ehrgate_mappers::fhirconnect::canonical::CanonicalDefaults;
use ehrgate_mappers::fhirconnect::engine::Engine;
use ehrgate_mappers::fhirconnect::loader::{LoadLimits, MappingSet};
use ehrgate_mappers::fhirconnect::translators::{FhirToOpenEhr, OpenEhrFormat, OpenEhrToFhir};
use ehrgate_mappers::translation::Translator;
use serde_json::json;

const CONTEXT: &str = "grammar: FHIRConnect/v1.0.0
type: context
metadata:
  name: links.context
  version: 1
spec:
  system: FHIR
  version: R4
context:
  profile:
    url: Condition
  template:
    id: KDS_Diagnose
  archetypes:
    - EVALUATION.problem_diagnosis.v1
  start: EVALUATION.problem_diagnosis.v1
";

const MODEL: &str = "grammar: FHIRConnect/v1.0.0
type: model
metadata:
  name: EVALUATION.problem_diagnosis.v1
  version: 1
spec:
  system: FHIR
  version: R4
  fhirConfig:
    structureDefinition: http://hl7.org/fhir/StructureDefinition/Condition
  openEhrConfig:
    archetype: openEHR-EHR-EVALUATION.problem_diagnosis.v1
mappings:
  - name: code
    with:
      fhir: \"$resource.code\"
      openehr: \"$archetype/data[at0001]/items[at0002]\"
  - name: encounterLink
    with:
      fhir: \"$resource.encounter\"
      openehr: \"$archetype/links\"
    link:
      meaning: \"the case this composition relates to\"
      type: \"case\"
";

fn engine() -> Engine {
    let set = MappingSet::from_sources(
        [("links.context.yml", CONTEXT), ("model.yml", MODEL)],
        &LoadLimits::default(),
    )
    .unwrap();
    let opt = common::corpus().join("openehr/templates/KDS_Diagnose.opt");
    let meta = ehrgate_templates::parse_opt(&std::fs::read(opt).unwrap()).unwrap();
    Engine::new(set, Some(&meta)).unwrap()
}

#[test]
fn an_encounter_reference_becomes_a_link_and_comes_back() {
    let engine = engine();
    let condition = json!({
        "resourceType": "Condition",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "13420004"}]},
        "encounter": {"reference": "Encounter/enc-1"},
        "subject": {"reference": "Patient/p1"}
    });
    let t = FhirToOpenEhr {
        engine: &engine,
        format: OpenEhrFormat::Canonical,
        defaults: CanonicalDefaults {
            language: "de".into(),
            territory: "DE".into(),
            composer: "ehrgate".into(),
            time: "2024-01-01T00:00:00Z".into(),
        },
    }
    .translate(&condition)
    .unwrap_or_else(|e| panic!("{e}: {}", e.operation_outcome()));
    let entry = &t.output["content"][0];
    assert_eq!(
        entry["links"],
        json!([{
            "_type": "LINK",
            "meaning": {"_type": "DV_TEXT", "value": "the case this composition relates to"},
            "type": {"_type": "DV_TEXT", "value": "case"},
            "target": {"_type": "DV_EHR_URI", "value": "ehr:/Encounter/enc-1"}
        }])
    );
    assert!(
        !t.unmapped
            .iter()
            .any(|u| u.location.starts_with("Condition.encounter")),
        "{:?}",
        t.unmapped
    );
    let back = OpenEhrToFhir::new(&engine).translate(&t.output).unwrap();
    assert_eq!(
        back.output["encounter"],
        json!({"reference": "Encounter/enc-1"})
    );
    assert!(
        !back.unmapped.iter().any(|u| u.location.contains("links")),
        "{:?}",
        back.unmapped
    );
}

#[test]
fn a_link_of_another_type_is_reported_not_used() {
    let engine = engine();
    let comp = {
        let mut c = FhirToOpenEhr {
            engine: &engine,
            format: OpenEhrFormat::Canonical,
            defaults: CanonicalDefaults {
                language: "de".into(),
                territory: "DE".into(),
                composer: "ehrgate".into(),
                time: "2024-01-01T00:00:00Z".into(),
            },
        }
        .translate(&json!({
            "resourceType": "Condition",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "13420004"}]},
            "encounter": {"reference": "Encounter/enc-1"}
        }))
        .unwrap()
        .output;
        c["content"][0]["links"][0]["type"]["value"] = json!("issue");
        c
    };
    let back = OpenEhrToFhir::new(&engine).translate(&comp).unwrap();
    assert!(back.output.get("encounter").is_none());
    assert!(
        back.unmapped.iter().any(|u| u.location.contains("links")),
        "{:?}",
        back.unmapped
    );
}

#[test]
fn links_travel_through_flat() {
    use ehrgate_mappers::fhirconnect::flat::{from_flat, to_flat};
    let engine = engine();
    let index = engine.index().unwrap();
    let condition = json!({
        "resourceType": "Condition",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "13420004"}]},
        "encounter": {"reference": "Encounter/enc-1"}
    });
    let inst = engine.fhir_to_instance(&condition).unwrap().output;
    let flat = to_flat(&inst, index);
    let link_keys: Vec<&String> = flat.keys().filter(|k| k.contains("/_link:0|")).collect();
    assert_eq!(link_keys.len(), 3, "{flat:?}");
    assert!(flat
        .iter()
        .any(|(k, v)| k.ends_with("/_link:0|target") && v == "ehr:/Encounter/enc-1"));
    let (back, unknown) = from_flat(&flat, index);
    assert!(unknown.is_empty(), "{unknown:?}");
    assert_eq!(back.leaves, inst.leaves);
    let fhir = engine.instance_to_fhir(&back).unwrap().output;
    assert_eq!(fhir["encounter"], json!({"reference": "Encounter/enc-1"}));
}

/// A referenced resource mapped with `reference:` whose methods link it:
/// resolved inside the input (contained), it has no composition of its
/// own, so no LINK is written and the translation says why.
#[test]
fn a_contained_link_target_is_reported() {
    let model = MODEL.replace(
        "  - name: encounterLink
    with:
      fhir: \"$resource.encounter\"
      openehr: \"$archetype/links\"
    link:",
        "  - name: encounterRef
    with:
      fhir: \"$resource.encounter\"
      openehr: \"$reference\"
    reference:
      resourceType: Encounter
      mappings:
        - name: encounterLink
          with:
            fhir: \"$fhirRoot\"
            openehr: \"$archetype/links\"
          link:",
    )
    .replace(
        "      meaning: \"the case this composition relates to\"\n      type: \"case\"\n",
        "            meaning: \"the case this composition relates to\"\n            type: \"case\"\n",
    );
    let set = MappingSet::from_sources(
        [
            ("links.context.yml", CONTEXT),
            ("model.yml", model.as_str()),
        ],
        &LoadLimits::default(),
    )
    .unwrap();
    let opt = common::corpus().join("openehr/templates/KDS_Diagnose.opt");
    let meta = ehrgate_templates::parse_opt(&std::fs::read(opt).unwrap()).unwrap();
    let engine = Engine::new(set, Some(&meta)).unwrap();
    let t = engine
        .fhir_to_instance(&json!({
            "resourceType": "Condition",
            "contained": [{"resourceType": "Encounter", "id": "e1", "status": "finished"}],
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "13420004"}]},
            "encounter": {"reference": "#e1"}
        }))
        .unwrap();
    assert!(!t
        .output
        .leaves
        .keys()
        .any(|p| p.to_string().contains("links")));
    assert!(
        t.warnings.iter().any(|w| w.message.contains("contained")),
        "{:?}",
        t.warnings
    );
}
