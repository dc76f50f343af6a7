//! Helpers shared by the FHIRconnect corpus tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use ehrgate_mappers::fhirconnect::engine::Engine;
use ehrgate_mappers::fhirconnect::loader::{LoadLimits, MappingSet};

/// The corpus root.
pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/corpus")
}

/// Reads a JSON file of the corpus.
pub fn json(rel: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(corpus().join(rel)).unwrap()).unwrap()
}

/// Loads every YAML file in `dir` as one set.
pub fn set_from_dir(dir: &Path) -> MappingSet {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    MappingSet::from_sources(
        files.iter().map(|(n, t)| (n.as_str(), t.as_str())),
        &LoadLimits::default(),
    )
    .unwrap()
}

/// An engine for a mapping directory and an OPT file.
pub fn engine(mapping_dir: &Path, opt: &Path) -> Engine {
    let meta = ehrgate_templates::parse_opt(&std::fs::read(opt).unwrap()).unwrap();
    Engine::new(set_from_dir(mapping_dir), Some(&meta)).unwrap()
}

/// FLAT -> FHIR -> FLAT: every FLAT value the mapping carries into FHIR
/// (not reported unmapped) must come back at the same key with the same
/// value, except the keys in `known_asymmetric` (mapping-file quirks, each
/// documented by the caller); a listed key that does round-trip fails too,
/// so the list cannot go stale. Returns (values carried, the FHIR output).
pub fn flat_round_trip(
    engine: &Engine,
    flat_rel: &str,
    known_asymmetric: &[&str],
) -> (usize, serde_json::Value) {
    use ehrgate_mappers::fhirconnect::flat::{from_flat, to_flat};
    let index = engine.index().unwrap();
    let flat = json(flat_rel);
    let flat = flat.as_object().unwrap();
    let (inst, _unknown) = from_flat(flat, index);
    let fhir = engine.instance_to_fhir(&inst).unwrap();
    let back = engine.fhir_to_instance(&fhir.output).unwrap();
    let flat_back = to_flat(&back.output, index);
    if std::env::var_os("SHOW").is_some() {
        eprintln!(
            "FHIR: {}",
            serde_json::to_string_pretty(&fhir.output).unwrap()
        );
        eprintln!(
            "FLAT back: {}",
            serde_json::to_string_pretty(&flat_back).unwrap()
        );
        eprintln!("warnings back: {:?}", back.warnings);
    }
    let unmapped: std::collections::HashSet<&str> =
        fhir.unmapped.iter().map(|u| u.location.as_str()).collect();
    let mut carried = 0;
    for (key, value) in flat {
        let (path, field) = key.split_once('|').unwrap_or((key.as_str(), ""));
        let Some(inst_path) = index.instance_path(path) else {
            continue;
        };
        let loc = if field.is_empty() {
            inst_path.to_string()
        } else {
            format!("{inst_path}|{field}")
        };
        if unmapped.contains(loc.as_str()) {
            continue;
        }
        carried += 1;
        let back = flat_back.get(key);
        let same = back == Some(value)
            || back
                .and_then(|b| b.as_f64())
                .is_some_and(|b| Some(b) == value.as_f64());
        let listed = known_asymmetric.contains(&key.as_str());
        assert!(
            same != listed,
            "{flat_rel}: {key}: {back:?} vs {value} (listed as asymmetric: {listed})"
        );
    }
    (carried, fhir.output)
}

/// FHIR -> openEHR -> FHIR -> openEHR: the two compositions are equal, so
/// every mapped element survived the trip. Returns the number of leaves.
pub fn fhir_round_trip(engine: &Engine, resource: &serde_json::Value) -> usize {
    let first = engine.fhir_to_instance(resource).unwrap();
    let fhir = engine.instance_to_fhir(&first.output).unwrap();
    let second = engine.fhir_to_instance(&fhir.output).unwrap();
    let a = &first.output.leaves;
    let b = &second.output.leaves;
    let mut diffs = Vec::new();
    for (p, l) in a {
        if b.get(p) != Some(l) {
            diffs.push(format!(
                "{p}: {:?} -> {:?}",
                l.fields,
                b.get(p).map(|x| &x.fields)
            ));
        }
    }
    for p in b.keys().filter(|p| !a.contains_key(*p)) {
        diffs.push(format!("{p}: new after round trip"));
    }
    assert!(
        diffs.is_empty(),
        "round trip changed mapped content: {diffs:#?}"
    );
    first.output.leaves.len()
}
