//! The KDS openFHIR sets that load (with ehrgate's base models,
//! `templates/mappings/fhirconnect-base/`) produce valid output both ways:
//! - every composition made from a corpus FHIR input passes the template
//!   check against the KDS OPT (the FHIR -> openEHR translator refuses a
//!   composition that does not, so a refusal fails here);
//! - every FHIR resource made from a corpus composition (the expected
//!   `toOpenEHR/output` ones) and from ehrgate's own compositions passes
//!   the official R4 JSON schema and strict fhirbolt parsing.
//!
//! Which sets load and what their pairs give is the golden report of
//! `mappers/tests/fhirconnect_kds.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::fhir_check::{fhirbolt_strict, schema_errors};
use ehrgate_conformance::corpus_dir;
use ehrgate_mappers::fhirconnect::canonical::CanonicalDefaults;
use ehrgate_mappers::fhirconnect::engine::Engine;
use ehrgate_mappers::fhirconnect::loader::{LoadLimits, MappingSet};
use ehrgate_mappers::fhirconnect::translators::{FhirToOpenEhr, OpenEhrFormat, OpenEhrToFhir};
use ehrgate_mappers::translation::Translator;
use serde_json::Value;

const KDS: &str = "mappings/openfhir/kds";
const PROJECT: &str = "mappings/openfhir/kds/core/projects/org.highmed/KDS";
const PATIENT: &str = "Patient/example";

const MODULES: &[(&str, &str)] = &[
    ("diagnose", "KDS_Diagnose.opt"),
    ("fall", "KDS_Fall_einfach.opt"),
    ("laborbericht", "KDS_Laborbericht.opt"),
    ("person", "KDS_Person.opt"),
    ("vitalstatus", "KDS_Vitalstatus.opt"),
];

fn files_in(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.contains(&e))
        })
        .collect();
    v.sort();
    v
}

fn named_texts(dir: &Path) -> Vec<(String, String)> {
    files_in(dir, &["yml", "yaml"])
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The engine for a module, or `None` when the set is refused.
fn engine(module: &str, opt: &str) -> Option<Engine> {
    let c = corpus_dir();
    let own = named_texts(&c.join(PROJECT).join(module));
    let base = named_texts(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/mappings/fhirconnect-base"),
    );
    let library: Vec<(&str, &str)> = base.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let set = MappingSet::from_sources_with_base(
        own.iter().map(|(n, t)| (n.as_str(), t.as_str())),
        &[&library],
        &LoadLimits::default(),
    )
    .ok()?;
    let meta = ehrgate_templates::parse_opt(
        &std::fs::read(c.join("openehr/templates").join(opt)).unwrap(),
    )
    .unwrap();
    Some(Engine::new(set, Some(&meta)).unwrap())
}

/// The resources of the start model's type in a Bundle input.
fn resources_of(input: &Value, engine: &Engine) -> Vec<Value> {
    let start = engine.set().start_model().unwrap();
    let sd = &start
        .doc
        .spec
        .fhir_config
        .as_ref()
        .unwrap()
        .structure_definition;
    let rt = sd.rsplit('/').next().unwrap();
    if input["resourceType"] != "Bundle" {
        return vec![input.clone()];
    }
    input["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"].clone())
        .filter(|r| r["resourceType"] == rt)
        .collect()
}

fn valid(fhir: &Value, what: &str, failures: &mut Vec<String>) {
    let errors = schema_errors(fhir, 5).unwrap();
    if !errors.is_empty() {
        failures.push(format!("{what}: schema: {errors:?}"));
    }
    if let Err(e) = fhirbolt_strict(&fhir.to_string()) {
        failures.push(format!("{what}: fhirbolt: {e}"));
    }
}

#[test]
fn loaded_kds_sets_produce_checked_compositions_and_valid_fhir() {
    let c = corpus_dir();
    let defaults = CanonicalDefaults {
        language: "de".into(),
        territory: "DE".into(),
        composer: "ehrgate".into(),
        time: "2024-01-01T00:00:00Z".into(),
    };
    let mut failures = Vec::new();
    let mut loaded = 0;
    let mut resources = 0;
    for (module, opt) in MODULES {
        let Some(engine) = engine(module, opt) else {
            continue;
        };
        loaded += 1;
        let to_fhir = OpenEhrToFhir::new(&engine).with_subject(PATIENT);
        for input in files_in(&c.join(KDS).join(module).join("toOpenEHR/input"), &["json"]) {
            let name = input.file_name().unwrap().to_string_lossy().into_owned();
            let bundle = read(&input);
            for resource in resources_of(&bundle, &engine) {
                // References to other entries (a lab report's analytes)
                // resolve within the input Bundle.
                let comp = FhirToOpenEhr {
                    engine: &engine,
                    format: OpenEhrFormat::Canonical,
                    defaults: defaults.clone(),
                }
                .translate_in(&resource, Some(&bundle));
                match comp {
                    Ok(t) => match to_fhir.translate(&t.output) {
                        Ok(f) => {
                            resources += 1;
                            valid(&f.output, &format!("{module}/{name} (ours)"), &mut failures);
                        }
                        Err(e) => failures.push(format!("{module}/{name}: back to FHIR: {e}")),
                    },
                    Err(e) => {
                        failures.push(format!("{module}/{name}: {e}: {}", e.operation_outcome()));
                    }
                }
            }
        }
        for comp in files_in(
            &c.join(KDS).join(module).join("toOpenEHR/output"),
            &["json"],
        ) {
            let name = comp.file_name().unwrap().to_string_lossy().into_owned();
            match to_fhir.translate(&read(&comp)) {
                Ok(f) => {
                    resources += 1;
                    valid(&f.output, &format!("{module}/{name}"), &mut failures);
                }
                Err(e) => failures.push(format!("{module}/{name}: {e}")),
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // vitalstatus, diagnose and laborbericht load: their inputs and
    // expected compositions.
    assert!(
        loaded >= 3 && resources >= 10,
        "{loaded} sets, {resources} resources"
    );
}
