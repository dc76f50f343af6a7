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
