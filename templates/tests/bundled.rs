#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

//! The bundled templates: the embedded list matches `opt/`, every one parses,
//! has distinct ids and yields a web template.

use std::collections::BTreeSet;
use std::path::Path;

use ehrgate_templates::bundled::{BundledSource, BUNDLED};
use ehrgate_templates::store::{DirSource, DuplicatePolicy};
use ehrgate_templates::webtemplate::{build, flat_paths};
use ehrgate_templates::TemplateStore;

#[test]
fn embedded_list_matches_directory() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("opt");
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".opt"))
        .collect();
    let embedded: BTreeSet<String> = BUNDLED.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(on_disk, embedded);
    for (name, bytes) in BUNDLED {
        assert_eq!(std::fs::read(dir.join(name)).unwrap(), *bytes, "{name}");
    }
}

#[tokio::test]
async fn every_bundled_template_serves_and_has_flat_paths() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("opt");
    let from_dir = DirSource::open(&dir, DuplicatePolicy::Reject).unwrap();
    let bundled = BundledSource::new().unwrap();
    let ids = bundled.list().await.unwrap();
    assert_eq!(ids.len(), BUNDLED.len(), "ids are distinct");
    assert_eq!(ids, from_dir.list().await.unwrap());
    for summary in ids {
        let meta = bundled.get(&summary.template_id).await.unwrap();
        let web = build(&meta);
        let flat = flat_paths(&web);
        assert!(flat.len() > 10, "{}", summary.template_id);
        let unique: BTreeSet<&str> = flat.iter().map(|f| f.flat.as_str()).collect();
        assert_eq!(
            unique.len(),
            flat.len(),
            "{}: duplicate FLAT paths",
            summary.template_id
        );
    }
}

#[tokio::test]
async fn web_template_is_derived_once_per_meta() {
    let bundled = BundledSource::new().unwrap();
    let meta = bundled
        .get(&ehrgate_templates::TemplateId::new("KDS_Vitalstatus"))
        .await
        .unwrap();
    let first = meta.web_template();
    assert!(std::sync::Arc::ptr_eq(&first, &meta.web_template()));
    assert_eq!(*first, build(&meta));
}
