//! Blood pressure, end to end with the openFHIR files as they are
//! (`mappings/openfhir/blood_pressure/`): the corpus FLAT composition ->
//! FHIR Bundle -> FLAT again. The corpus pairs this mapping with a FLAT
//! composition only (no FHIR input), so the golden comparison is: every
//! FLAT value the mapping carries into FHIR comes back at the same FLAT
//! path with the same value, and the FHIR side holds the expected values.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ehrgate_mappers::fhirconnect::flat::{from_flat, to_flat};
use serde_json::Value;

fn engine() -> ehrgate_mappers::fhirconnect::engine::Engine {
    let c = common::corpus();
    common::engine(
        &c.join("mappings/openfhir/blood_pressure"),
        &c.join("openehr/templates/Blood Pressure.opt"),
    )
}

#[test]
fn flat_to_fhir_to_flat_keeps_every_mapped_value() {
    let engine = engine();
    let index = engine.index().unwrap();
    let flat = common::json("mappings/openfhir/blood_pressure/blood-pressure_flat.json");
    let flat = flat.as_object().unwrap();
    let (inst, unknown) = from_flat(flat, index);
    if std::env::var_os("SHOW").is_some() {
        eprintln!("unknown FLAT keys: {unknown:#?}");
    }
    let fhir = engine.instance_to_fhir(&inst).unwrap();
    if std::env::var_os("SHOW").is_some() {
        eprintln!("{}", serde_json::to_string_pretty(&fhir.output).unwrap());
        eprintln!("unmapped: {:#?}", fhir.unmapped);
        eprintln!("warnings: {:#?}", fhir.warnings);
    }
    let back = engine.fhir_to_instance(&fhir.output).unwrap();
    let flat_back = to_flat(&back.output, index);
    if std::env::var_os("SHOW").is_some() {
        eprintln!("{}", serde_json::to_string_pretty(&flat_back).unwrap());
        eprintln!("unmapped back: {:#?}", back.unmapped);
    }
    // Every FLAT value the reverse carried into FHIR (not reported
    // unmapped) must come back at the same key with the same value.
    let unmapped: std::collections::HashSet<&str> =
        fhir.unmapped.iter().map(|u| u.location.as_str()).collect();
    let mut carried = 0;
    for (key, value) in flat {
        let (path, field) = key.split_once('|').unwrap_or((key.as_str(), ""));
        let inst_path = index.instance_path(path).unwrap();
        let loc = if field.is_empty() {
            inst_path.to_string()
        } else {
            format!("{inst_path}|{field}")
        };
        if unmapped.contains(loc.as_str()) {
            continue;
        }
        carried += 1;
        assert_eq!(flat_back.get(key), Some(value), "{key}");
    }
    // systolic, diastolic (magnitude + unit) x3, 2 interpretations,
    // 3 comments, location code/value/terminology.
    assert_eq!(carried, 12 + 2 + 3 + 3, "values carried into FHIR");
    let entries = fhir.output["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    let systolic: Vec<&Value> = entries
        .iter()
        .map(|e| {
            e["resource"]["component"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["code"]["coding"][0]["code"] == "8480-6")
                .map(|c| &c["valueQuantity"]["value"])
                .unwrap()
        })
        .collect();
    assert_eq!(
        systolic,
        [500.0, 600.0, 700.0]
            .map(Value::from)
            .iter()
            .collect::<Vec<_>>()
    );
}

/// The set writes a body position and a confounding factor whatever comes
/// in: an Observation none of whose elements it takes must not become a
/// composition of those constants, but a client error naming the resource.
#[test]
fn constants_alone_are_no_translation() {
    use ehrgate_mappers::error::{Classified, Fault};
    use ehrgate_mappers::fhirconnect::canonical::CanonicalDefaults;
    use ehrgate_mappers::fhirconnect::engine::EngineError;
    use ehrgate_mappers::fhirconnect::translators::{FhirToOpenEhr, OpenEhrFormat};
    use ehrgate_mappers::translation::Translator;
    let engine = engine();
    let heart_rate = serde_json::json!({
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "valueQuantity": {"value": 44, "unit": "/min"}
    });
    let err = engine.fhir_to_instance(&heart_rate).unwrap_err();
    assert_eq!(
        err,
        EngineError::NothingMapped {
            resource: "Observation".into()
        }
    );
    assert_eq!(err.fault(), Fault::Client);
    assert_eq!(err.code(), "fhirconnect.nothing-mapped");
    assert!(err.to_string().contains("Observation"), "{err}");
    let translator = FhirToOpenEhr {
        engine: &engine,
        format: OpenEhrFormat::Flat,
        defaults: CanonicalDefaults {
            language: "en".into(),
            territory: "DE".into(),
            composer: "ehrgate".into(),
            time: "2024-01-01T00:00:00Z".into(),
        },
    };
    let err = translator.translate(&heart_rate).unwrap_err();
    let outcome = err.operation_outcome();
    assert_eq!(
        outcome["issue"][0]["details"]["coding"][0]["code"],
        "fhirconnect.nothing-mapped"
    );
    // One value is enough to be a translation (the constants come along).
    let mut bp = heart_rate;
    bp["code"]["text"] = "Blood pressure".into();
    assert!(engine.fhir_to_instance(&bp).is_ok());
}

/// A preprocessor `openehrCondition` limits the model to the archetype
/// instances that meet it: going to FHIR, a blood pressure whose systolic
/// value fails the condition makes no Observation.
#[test]
fn a_preprocessor_openehr_condition_selects_the_instances() {
    use ehrgate_mappers::fhirconnect::engine::Engine;
    use ehrgate_mappers::fhirconnect::loader::{LoadLimits, MappingSet};
    let c = common::corpus();
    let dir = c.join("mappings/openfhir/blood_pressure");
    let meta = ehrgate_templates::parse_opt(
        &std::fs::read(c.join("openehr/templates/Blood Pressure.opt")).unwrap(),
    )
    .unwrap();
    let with_condition = |operator: &str| {
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("yml"))
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                let mut text = std::fs::read_to_string(&p).unwrap();
                if name == "blood-pressure.model.yml" {
                    let cond = format!(
                        "preprocessor:\n  openehrCondition:\n    targetRoot: \"$archetype/data[at0001]/events[at0006]/data[at0003]/items[at0004]\"\n    targetAttribute: \"magnitude\"\n    operator: \"{operator}\"\n"
                    );
                    text = text.replacen("preprocessor:\n", &cond, 1);
                }
                (name, text)
            })
            .collect();
        files.sort();
        let set = MappingSet::from_sources(
            files.iter().map(|(n, t)| (n.as_str(), t.as_str())),
            &LoadLimits::default(),
        )
        .unwrap();
        Engine::new(set, Some(&meta)).unwrap()
    };
    let flat = common::json("mappings/openfhir/blood_pressure/blood-pressure_flat.json");
    let observations = |engine: &Engine| {
        let (inst, _) = from_flat(flat.as_object().unwrap(), engine.index().unwrap());
        let out = engine.instance_to_fhir(&inst).unwrap().output;
        out["entry"].as_array().map_or(0, |e| {
            e.iter()
                .filter(|x| x["resource"]["resourceType"] == "Observation")
                .count()
        })
    };
    // Every event of the corpus composition has a systolic value: "not
    // empty" keeps each Observation, "empty" none.
    let all = observations(&engine());
    assert!(all >= 1);
    assert_eq!(observations(&with_condition("not empty")), all);
    assert_eq!(observations(&with_condition("empty")), 0);
}
