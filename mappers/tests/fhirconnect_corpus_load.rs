//! Loads every FHIRconnect file of the corpus (`mappings/openfhir/`), one by
//! one and as the sets their context files define, and compares the outcome
//! (loaded, or refused with file, line and construct) with
//! `tests/expected/fhirconnect_load.txt`. The expected file is the honest
//! list of what this engine executes today; when support grows, the diff
//! shows exactly which files changed status.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use ehrgate_mappers::fhirconnect::loader::{load_file, LoadLimits, MappingSet};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/corpus/mappings/openfhir")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")) {
            out.push(p);
        }
    }
}

fn rel(p: &Path) -> String {
    p.strip_prefix(corpus())
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

#[test]
fn every_corpus_mapping_file_loads_or_names_its_unsupported_construct() {
    let mut files = Vec::new();
    yaml_files(&corpus(), &mut files);
    assert!(
        files.len() >= 40,
        "corpus mapping files missing: {}",
        files.len()
    );
    let limits = LoadLimits::default();
    let mut report = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let name = rel(f);
        match load_file(&name, &text, &limits) {
            Ok(_) => report.push(format!("file ok   {name}")),
            Err(e) => report.push(format!("file FAIL {e}")),
        }
    }
    // Sets: each directory holding a context file, with every file in it.
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .map(|f| f.parent().unwrap().to_path_buf())
        .collect();
    dirs.dedup();
    for d in dirs {
        let in_dir: Vec<(String, String)> = files
            .iter()
            .filter(|f| f.parent() == Some(d.as_path()))
            .map(|f| (rel(f), std::fs::read_to_string(f).unwrap()))
            .collect();
        if !in_dir.iter().any(|(n, _)| n.contains(".context.")) {
            continue;
        }
        let set = MappingSet::from_sources(
            in_dir.iter().map(|(n, t)| (n.as_str(), t.as_str())),
            &limits,
        );
        let dir = rel(&d);
        match set {
            Ok(s) => report.push(format!("set  ok   {dir} ({} models)", s.models.len())),
            Err(e) => report.push(format!("set  FAIL {dir}: {e}")),
        }
    }
    let actual = report.join("\n") + "\n";
    let expected_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expected/fhirconnect_load.txt");
    if std::env::var_os("UPDATE_EXPECTED").is_some() {
        std::fs::write(&expected_path, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    assert_eq!(
        actual,
        expected,
        "load report differs from {}",
        expected_path.display()
    );
}
