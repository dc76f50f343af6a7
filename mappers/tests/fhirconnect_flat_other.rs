//! FLAT `|other`: the free text of an open coded list (a term outside the
//! list) is a DV_TEXT, not a coded text without a code. The corpus's
//! `multi_occurrence` composition gives its second body temperature's
//! location that way; EHRbase stores it as `DV_TEXT`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ehrgate_mappers::fhirconnect::check::check;
use ehrgate_mappers::fhirconnect::flat::{from_flat, to_flat};
use ehrgate_mappers::fhirconnect::template_index::TemplateIndex;

const LOCATION: &str = "encounter/body_temperature:1/location_of_measurement";

fn index() -> TemplateIndex {
    let opt = common::corpus().join("openehr/templates/ehrbase_multi_occurrence.de.opt");
    let meta = ehrgate_templates::parse_opt(&std::fs::read(opt).unwrap()).unwrap();
    TemplateIndex::new(&meta)
}

#[test]
fn other_text_reads_as_dv_text_and_passes_the_check() {
    let index = index();
    let flat = common::json("openehr/compositions/flat/multi_occurrence.json");
    let (inst, unknown) = from_flat(flat.as_object().unwrap(), &index);
    assert!(unknown.is_empty(), "{unknown:?}");
    let path = index.instance_path(LOCATION).unwrap();
    let leaf = &inst.leaves[&path];
    assert_eq!(leaf.rm_type.as_deref(), Some("DV_TEXT"));
    assert_eq!(leaf.text(""), Some("location"));
    assert_eq!(leaf.fields.len(), 1, "{leaf:?}");
    let issues = check(&inst, &index);
    assert!(issues.is_empty(), "{issues:#?}");
    // The coded sibling in the first temperature stays coded.
    let coded = index
        .instance_path("encounter/body_temperature:0/location_of_measurement")
        .unwrap();
    assert_eq!(
        inst.leaves[&coded].rm_type.as_deref(),
        Some("DV_CODED_TEXT")
    );
}

#[test]
fn open_list_text_is_written_back_as_other() {
    let index = index();
    let flat = common::json("openehr/compositions/flat/multi_occurrence.json");
    let (inst, _) = from_flat(flat.as_object().unwrap(), &index);
    let out = to_flat(&inst, &index);
    assert_eq!(out[&format!("{LOCATION}|other")], "location");
    assert!(!out.contains_key(LOCATION), "{out:#?}");
    let (again, unknown) = from_flat(&out, &index);
    assert!(unknown.is_empty(), "{unknown:?}");
    assert_eq!(again.leaves, inst.leaves);
}
