#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

//! Every corpus OPT parses and yields the `template_id` that `MANIFEST.tsv`
//! records for it; spot checks of the parsed model on known templates.

use std::path::{Path, PathBuf};

use ehrgate_templates::meta::{DvConstraint, NodeKind};
use ehrgate_templates::{parse_opt, TemplateMeta};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// `(relative path, template_id)` rows of MANIFEST.tsv for top-level OPTs.
fn manifest_opts() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(corpus().join("MANIFEST.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let path = cols[0];
            let in_templates = path
                .strip_prefix("openehr/templates/")
                .is_some_and(|rest| !rest.contains('/'));
            (in_templates && path.ends_with(".opt"))
                .then(|| (path.to_string(), cols[3].to_string()))
        })
        .collect()
}

fn load(name: &str) -> TemplateMeta {
    let bytes = std::fs::read(corpus().join("openehr/templates").join(name)).unwrap();
    parse_opt(&bytes).unwrap()
}

#[test]
fn every_corpus_opt_parses_with_manifest_id() {
    let rows = manifest_opts();
    assert_eq!(rows.len(), 70, "MANIFEST lists 70 OPTs");
    let mut failures = Vec::new();
    for (path, expected) in &rows {
        let bytes = std::fs::read(corpus().join(path)).unwrap();
        match parse_opt(&bytes) {
            Ok(meta) if meta.template_id.as_str() == expected => {
                assert!(meta.node_count > 1, "{path}: empty tree");
                assert_eq!(meta.root.rm_type, "COMPOSITION", "{path}");
            }
            Ok(meta) => failures.push(format!("{path}: got {:?}", meta.template_id)),
            Err(e) => failures.push(format!("{path}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn edge_case_ids_are_kept_exactly() {
    assert_eq!(
        load("IDCR - Laboratory Order.v0.opt").template_id.as_str(),
        "IDCR  - Laboratory Order.v0"
    );
    assert_eq!(load("single_event.opt").template_id.as_str(), "Körpergröße");
    assert_eq!(
        load("Koerpergroesse.opt").template_id.as_str(),
        "Körpergröße"
    );
    assert_eq!(
        load("IDCR - Adverse Reaction List.v1.opt")
            .template_id
            .as_str(),
        "Adverse Reaction List.v1"
    );
    // No XML declaration.
    assert_eq!(
        load("corona_anamnese.opt").template_id.as_str(),
        "Corona_Anamnese"
    );
}

#[test]
fn blood_pressure_model() {
    let meta = load("Blood Pressure.opt");
    assert_eq!(meta.language, "en");
    assert_eq!(
        meta.uid.as_deref(),
        Some("f1427eb7-23ab-4c2d-8af6-89776ef3bebc")
    );
    let systolic = meta
        .root
        .walk()
        .find(|n| n.name.as_deref() == Some("Systolic"))
        .unwrap();
    assert_eq!(
        systolic.aql_path,
        "/content[openEHR-EHR-OBSERVATION.blood_pressure.v2]/data[at0001]/events[at0006]/data[at0003]/items[at0004]"
    );
    let value = &systolic.attribute("value").unwrap().children[0];
    assert_eq!(value.rm_type, "DV_QUANTITY");
    let Some(DvConstraint::Quantity(q)) = &value.constraint else {
        panic!("no quantity constraint: {:?}", value.constraint);
    };
    assert_eq!(q.units[0].unit, "mm[Hg]");
    let magnitude = q.units[0].magnitude.as_ref().unwrap();
    assert_eq!(
        (magnitude.lower, magnitude.upper),
        (Some(0.0), Some(1000.0))
    );
    assert!(!magnitude.upper_included);
    let obs = meta
        .node_by_path("/content[openEHR-EHR-OBSERVATION.blood_pressure.v2]")
        .unwrap();
    assert_eq!(obs.kind, NodeKind::ArchetypeRoot);
    assert_eq!(
        meta.terms_of("openEHR-EHR-OBSERVATION.blood_pressure.v2")
            .unwrap()
            .get("en", "at0005")
            .unwrap()
            .text,
        "Diastolic"
    );
}

#[test]
fn ordinal_and_coded_text_constraints() {
    let meta = load("NEWS2 Encounter Parent.opt");
    let ordinal = meta
        .root
        .walk()
        .find_map(|n| match &n.constraint {
            Some(DvConstraint::Ordinal(items)) => Some(items.clone()),
            _ => None,
        })
        .unwrap();
    assert!(ordinal.len() >= 2);
    assert!(ordinal.iter().all(|o| o.symbol.terminology == "local"));
    let category = &meta.root.attribute("category").unwrap().children[0];
    let Some(DvConstraint::CodedText(c)) = &category.constraint else {
        panic!("category not coded");
    };
    assert_eq!(
        (c.terminology.as_str(), c.codes.as_slice()),
        ("openehr", &["433".to_string()][..])
    );
}

#[test]
fn uuid_template_id_is_kept() {
    let meta = load("Generic Laboratory Test Report.v0.opt");
    let expected = manifest_opts()
        .into_iter()
        .find(|(p, _)| p.ends_with("Generic Laboratory Test Report.v0.opt"))
        .unwrap()
        .1;
    assert_eq!(meta.template_id.as_str(), expected);
    assert_eq!(expected.len(), 36);
    assert_eq!(expected.matches('-').count(), 4);
}

/// Loading the whole corpus directory through the cache: duplicates are
/// refused by default (naming both files); with newest-wins there is one
/// entry per distinct template id (67) and every one loads.
#[tokio::test]
async fn whole_corpus_through_the_cache() {
    use ehrgate_templates::store::{CacheConfig, CachedStore, DirSource, DuplicatePolicy};
    use std::collections::BTreeSet;
    use std::sync::Arc;

    let dir = corpus().join("openehr/templates");
    let err = DirSource::open(&dir, DuplicatePolicy::Reject).unwrap_err();
    assert_eq!(
        ehrgate_fault::Classified::code(&err),
        "template.duplicate-id"
    );

    let distinct: BTreeSet<String> = manifest_opts().into_iter().map(|(_, id)| id).collect();
    assert_eq!(distinct.len(), 67);
    let source = Arc::new(DirSource::open(&dir, DuplicatePolicy::NewestWins).unwrap());
    assert_eq!(source.len(), 67);
    let cache = CachedStore::new(source, CacheConfig::default());
    for id in &distinct {
        let meta = cache
            .get(&ehrgate_templates::TemplateId::new(id))
            .await
            .unwrap();
        assert_eq!(meta.template_id.as_str(), id);
    }
    cache.run_pending_tasks().await;
    let stats = cache.stats();
    assert_eq!((stats.loads, stats.entries), (67, 67));
}

/// Every corpus OPT yields a web template whose FLAT paths are unique.
#[test]
fn every_corpus_opt_has_unique_flat_paths() {
    use ehrgate_templates::webtemplate::flat_paths;
    use std::collections::BTreeSet;
    for (path, _) in manifest_opts() {
        let meta = parse_opt(&std::fs::read(corpus().join(&path)).unwrap()).unwrap();
        let paths = flat_paths(&meta.web_template());
        let unique: BTreeSet<&str> = paths.iter().map(|p| p.flat.as_str()).collect();
        let mut seen = BTreeSet::new();
        let dups: Vec<&str> = paths
            .iter()
            .map(|p| p.flat.as_str())
            .filter(|p| !seen.insert(*p))
            .collect();
        assert_eq!(
            unique.len(),
            paths.len(),
            "{path}: duplicate FLAT paths {dups:?}"
        );
    }
}

/// Defaults set inside the definition and at template level are both found,
/// with the AQL path they apply to.
#[test]
fn default_values_are_collected() {
    let meta = load("IDCR - Adverse Reaction List.v1.opt");
    let defaults = meta.default_values();
    let confirmed = defaults
        .iter()
        .find(|(_, dv)| {
            dv.fields
                .iter()
                .any(|(k, v)| k == "value" && v == "Confirmed")
        })
        .unwrap();
    assert_eq!(confirmed.1.rm_type, "DV_CODED_TEXT");
    assert!(confirmed
        .1
        .fields
        .iter()
        .any(|(k, v)| k == "defining_code/code_string" && v == "at0065"));

    let meta = load("EHRN Vital signs.v2.opt");
    let (path, dv) = meta
        .default_values()
        .into_iter()
        .find(|(_, dv)| dv.rm_type == "DV_PROPORTION")
        .unwrap();
    assert_eq!(
        path,
        "/content[openEHR-EHR-SECTION.vital_signs.v1]/items[openEHR-EHR-OBSERVATION.pulse_oximetry.v1]/data[at0001]/events[at0002]/data[at0003]/items[at0006]/value"
    );
    assert!(dv
        .fields
        .contains(&("numerator".to_string(), "0.0".to_string())));
}
