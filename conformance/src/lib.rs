//! Shared helpers for the conformance suite: where the copied corpus lives
//! and how to list it, the FHIR R4 schema validator, and the reference
//! backends the gateway's end-to-end tests and the demo run against.
//!
//! The corpus under `conformance/corpus/` is a byte-identical copy of real
//! external data; `corpus/SOURCES.md` gives each file's origin and license.
//!
//! # Layout
//! - [`corpus_dir`], [`corpus_files`]: the corpus.
//! - [`fhir_schema`]: the official R4 JSON schema, compiled once.
//! - [`reference`]: in-memory openEHR (EHRbase-like) and FHIR R4 servers
//!   on real sockets, with stats for tests to assert on; binaries
//!   `ref-openehr` and `ref-fhir` run them standalone. No production path
//!   depends on them.

#![forbid(unsafe_code)]

pub mod fhir_schema;
pub mod reference;
pub mod stack;

use std::path::{Path, PathBuf};

/// The root of the bundled corpus.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// All files under `sub` (relative to the corpus root) whose name ends with
/// `suffix`, sorted so test output is stable.
pub fn corpus_files(sub: &str, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(&corpus_dir().join(sub), suffix, &mut out);
    out.sort();
    out
}

fn walk(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, suffix, out);
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(suffix))
        {
            out.push(path);
        }
    }
}
