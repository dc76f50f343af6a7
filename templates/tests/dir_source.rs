#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

//! Directory source over corpus files: ids kept exactly, file names that
//! differ from ids, BOMs, no XML declaration, duplicate-id policy.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ehrgate_fault::{Classified, Fault};
use ehrgate_templates::store::{DirSource, DuplicatePolicy};
use ehrgate_templates::{TemplateError, TemplateId, TemplateStore};

fn corpus_templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/corpus/openehr/templates")
}

/// A temp dir holding copies of the named corpus files.
fn dir_with(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        std::fs::copy(corpus_templates().join(f), dir.path().join(f)).unwrap();
    }
    dir
}

fn set_mtime(path: &Path, secs_after_epoch: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs_after_epoch))
        .unwrap();
}

#[tokio::test]
async fn edge_case_ids_are_served_by_declared_id() {
    let dir = dir_with(&[
        "IDCR - Laboratory Order.v0.opt",
        "Generic Laboratory Test Report.v0.opt",
        "IDCR - Adverse Reaction List.v1.opt",
        "corona_anamnese.opt",
        "Koerpergroesse.opt",
        "stationärer_versorgungsfall.opt",
        "Test versioned v1.opt",
        "Test versioned v2.opt",
    ]);
    let source = DirSource::open(dir.path(), DuplicatePolicy::Reject).unwrap();
    assert_eq!(source.len(), 8);
    for id in [
        "IDCR  - Laboratory Order.v0",
        "Adverse Reaction List.v1",
        "Corona_Anamnese",
        "Körpergröße",
        "test_versioned.en.v1",
        "test_versioned.en.v2",
    ] {
        let meta = source.get(&TemplateId::new(id)).await.unwrap();
        assert_eq!(meta.template_id.as_str(), id);
    }
    // The UUID id is whatever the file declares; it round-trips.
    let ids = source.list().await.unwrap();
    assert!(ids.iter().any(|s| s.template_id.as_str().len() == 36
        && s.template_id.as_str().chars().filter(|c| *c == '-').count() == 4));
    // File name is not an id; normalised spellings are other ids.
    for missing in [
        "IDCR - Adverse Reaction List.v1",
        "IDCR - Laboratory Order.v0",
        "Ko\u{308}rpergro\u{308}ße",
        "körpergröße",
    ] {
        let err = source.get(&TemplateId::new(missing)).await.unwrap_err();
        assert!(
            matches!(err, TemplateError::NotFound(_)),
            "{missing}: {err}"
        );
        assert_eq!(err.fault(), Fault::Client);
    }
}

#[tokio::test]
async fn boms_are_accepted() {
    let corpus = corpus_templates();
    let mut bom_files = Vec::new();
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "opt")
            && std::fs::read(&path).unwrap().starts_with(b"\xEF\xBB\xBF")
        {
            bom_files.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert_eq!(bom_files.len(), 3, "{bom_files:?}");
    let names: Vec<&str> = bom_files.iter().map(String::as_str).collect();
    let dir = dir_with(&names);
    let source = DirSource::open(dir.path(), DuplicatePolicy::Reject).unwrap();
    for summary in source.list().await.unwrap() {
        source.get(&summary.template_id).await.unwrap();
    }
}

#[test]
fn different_content_under_one_id_is_rejected_naming_both_files() {
    for pair in [
        ["cache.opt", "cache_updated.opt"],
        ["GECCO_Diagnose.opt", "fhir-bridge__GECCO_Diagnose.opt"],
        ["single_event.opt", "Koerpergroesse.opt"],
    ] {
        let dir = dir_with(&pair);
        let err = DirSource::open(dir.path(), DuplicatePolicy::Reject).unwrap_err();
        let TemplateError::DuplicateId { first, second, .. } = &err else {
            panic!("{pair:?}: {err}");
        };
        let mut named = [first.file_name().unwrap(), second.file_name().unwrap()];
        named.sort();
        let mut expected = pair.map(std::ffi::OsStr::new);
        expected.sort();
        assert_eq!(named, expected);
        assert_eq!(
            (err.fault(), err.code()),
            (Fault::Internal, "template.duplicate-id")
        );
    }
}

#[tokio::test]
async fn newest_wins_policy_serves_the_newer_file() {
    let dir = dir_with(&["cache.opt", "cache_updated.opt"]);
    set_mtime(&dir.path().join("cache.opt"), 2_000_000_000);
    set_mtime(&dir.path().join("cache_updated.opt"), 1_000_000_000);
    let source = DirSource::open(dir.path(), DuplicatePolicy::NewestWins).unwrap();
    let id = TemplateId::new("cache_test.v1");
    assert_eq!(
        source.path_of(&id).unwrap().file_name().unwrap(),
        "cache.opt"
    );

    set_mtime(&dir.path().join("cache_updated.opt"), 2_100_000_000);
    let source = DirSource::open(dir.path(), DuplicatePolicy::NewestWins).unwrap();
    assert_eq!(
        source.path_of(&id).unwrap().file_name().unwrap(),
        "cache_updated.opt"
    );
    // The two contents really differ in what they serve.
    let updated = source.get(&id).await.unwrap();
    let old = DirSource::open(dir_with(&["cache.opt"]).path(), DuplicatePolicy::Reject)
        .unwrap()
        .get(&id)
        .await
        .unwrap();
    assert_eq!(
        (old.concept.as_str(), updated.concept.as_str()),
        ("Minimal admin", "Minimal evaluation")
    );
}

#[test]
fn identical_duplicates_are_one_template() {
    let dir = dir_with(&["cache.opt"]);
    std::fs::copy(
        dir.path().join("cache.opt"),
        dir.path().join("copy of cache.opt"),
    )
    .unwrap();
    let source = DirSource::open(dir.path(), DuplicatePolicy::Reject).unwrap();
    assert_eq!(source.len(), 1);
}

#[test]
fn a_broken_file_fails_opening_with_its_name() {
    let dir = dir_with(&["cache.opt"]);
    std::fs::write(dir.path().join("broken.opt"), b"<template><template_id>").unwrap();
    let err = DirSource::open(dir.path(), DuplicatePolicy::Reject).unwrap_err();
    assert!(err.to_string().contains("broken.opt"), "{err}");
    assert_eq!(err.fault(), Fault::Internal);
}

#[tokio::test]
async fn a_file_changed_to_another_id_is_an_id_mismatch() {
    let dir = dir_with(&["cache.opt"]);
    let source = DirSource::open(dir.path(), DuplicatePolicy::Reject).unwrap();
    std::fs::copy(
        corpus_templates().join("minimal_evaluation.opt"),
        dir.path().join("cache.opt"),
    )
    .unwrap();
    let err = source
        .get(&TemplateId::new("cache_test.v1"))
        .await
        .unwrap_err();
    assert!(matches!(err, TemplateError::IdMismatch { .. }), "{err}");
}
