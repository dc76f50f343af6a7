//! Base models: model files a mapping set uses without carrying them.
//!
//! FHIRconnect projects (the MII KDS files of the corpus) ship extension
//! files and a context only; the models they extend and the slot models
//! they name live in a shared mapping library. The loader completes such a
//! set from a *search path*: a list of libraries, each a list of
//! `(file name, YAML)`, searched in order after the set's own files (a
//! model the set carries always wins). Which directories make up the
//! search path is the caller's choice (this crate does no I/O);
//! [`SHIPPED`] is ehrgate's own library (`templates/mappings/fhirconnect-base/`,
//! written for ehrgate from the KDS templates and the FHIR R4 resources,
//! not copied from the FHIRconnect mapping library).
//!
//! A library model is taken only when the set needs it: an archetype or
//! the start of the context, the model an applied extension extends, or a
//! slot archetype of a model already taken (followed until nothing new is
//! needed).

use super::loader::{load_file, short_archetype, LoadError, LoadLimits, LoadedFile};
use super::model::FileKind;

/// One library of the search path: `(file name, YAML)` of its models.
pub type Library<'a> = &'a [(&'a str, &'a str)];

macro_rules! base {
    ($($file:literal),* $(,)?) => {
        &[$(($file, include_str!(concat!("../../../templates/mappings/fhirconnect-base/", $file)))),*]
    };
}

/// ehrgate's base models (`templates/mappings/fhirconnect-base/`).
pub const SHIPPED: Library<'static> = base![
    "CLUSTER.anatomical_location.v1.model.yml",
    "CLUSTER.case_identification.v0.model.yml",
    "CLUSTER.laboratory_test_analyte.v1.model.yml",
    "CLUSTER.lebensphase.v0.model.yml",
    "CLUSTER.multiple_coding_icd10gm.v1.model.yml",
    "CLUSTER.problem_qualifier.v2.model.yml",
    "CLUSTER.specimen.v1.model.yml",
    "EVALUATION.problem_diagnosis.v1.model.yml",
    "EVALUATION.vital_status.v1.model.yml",
    "OBSERVATION.laboratory_test_result.v1.model.yml",
];

/// The archetypes (short form) a set needs models for: the context's
/// archetypes and start, the models its applied extensions extend, and the
/// slots of `models`.
fn needed(context: &LoadedFile, extensions: &[LoadedFile], models: &[LoadedFile]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |a: &str| {
        let a = short_archetype(a.trim()).to_owned();
        if !out.contains(&a) {
            out.push(a);
        }
    };
    if let Some(ctx) = &context.doc.context {
        for a in ctx.archetypes.iter().chain(std::iter::once(&ctx.start)) {
            push(a);
        }
        for name in &ctx.extensions {
            let ext = extensions
                .iter()
                .find(|e| e.doc.metadata.name.trim() == name.trim());
            if let Some(extends) = ext.and_then(|e| e.doc.spec.extends.as_deref()) {
                push(extends);
            }
        }
    }
    let mut slots = Vec::new();
    for m in models.iter().chain(extensions) {
        for mapping in &m.doc.mappings {
            super::loader::collect_slots(mapping, &mut slots);
        }
    }
    for s in slots {
        push(s);
    }
    out
}

/// Whether `model` maps `archetype` (short form), by metadata name or
/// archetype id.
fn maps(model: &LoadedFile, archetype: &str) -> bool {
    short_archetype(model.doc.metadata.name.trim()) == archetype
        || model
            .doc
            .spec
            .open_ehr_config
            .as_ref()
            .is_some_and(|c| short_archetype(&c.archetype) == archetype)
}

/// Adds to `models` the library models the set needs and does not carry,
/// from the first library of `search` that has each. Library files are
/// parsed only when needed; one that is not a model file is refused.
pub fn complete(
    context: &LoadedFile,
    extensions: &[LoadedFile],
    models: &mut Vec<LoadedFile>,
    search: &[Library<'_>],
    limits: &LoadLimits,
) -> Result<(), LoadError> {
    // Each round may take models whose slots need more; bounded by the
    // number of library files.
    let total: usize = search.iter().map(|l| l.len()).sum();
    for _ in 0..=total {
        let missing: Vec<String> = needed(context, extensions, models)
            .into_iter()
            .filter(|a| !models.iter().any(|m| maps(m, a)))
            .collect();
        let mut added = false;
        for archetype in missing {
            if let Some(found) = find(search, &archetype, limits)? {
                models.push(found);
                added = true;
            }
        }
        if !added {
            break;
        }
    }
    Ok(())
}

/// The first library model mapping `archetype`, matched on the file name
/// (`<archetype>.model.yml`, or any file whose name starts with the
/// archetype) before parsing.
fn find(
    search: &[Library<'_>],
    archetype: &str,
    limits: &LoadLimits,
) -> Result<Option<LoadedFile>, LoadError> {
    for library in search {
        for (name, text) in *library {
            let file_name = name.rsplit('/').next().unwrap_or(name);
            if !short_archetype(file_name).starts_with(&format!("{archetype}.")) {
                continue;
            }
            let f = load_file(name, text, limits)?;
            if f.doc.kind != FileKind::Model {
                return Err(f.invalid("type:", "base library file is not a model file"));
            }
            if maps(&f, archetype) {
                return Ok(Some(f));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhirconnect::loader::MappingSet;

    const CTX: &str = "grammar: FHIRConnect/v1.0.0\ntype: context\nmetadata:\n  name: c\n  version: 1\nspec:\n  system: FHIR\n  version: R4\ncontext:\n  profile:\n    url: Observation\n  template:\n    id: T\n  archetypes:\n    - EVALUATION.vital_status.v1\n  start: EVALUATION.vital_status.v1\n";

    fn model(arch: &str, slot: Option<&str>) -> String {
        let mut s = format!("grammar: FHIRConnect/v1.0.0\ntype: model\nmetadata:\n  name: {arch}\n  version: 1\nspec:\n  system: FHIR\n  version: R4\n  openEhrConfig:\n    archetype: openEHR-EHR-{arch}\nmappings:\n  - name: own\n    with:\n      fhir: \"$resource.status\"\n      openehr: \"$archetype/data[at0001]/items[at0001]\"\n");
        if let Some(slot) = slot {
            s.push_str(&format!("  - name: slot\n    with:\n      fhir: \"$resource.code\"\n      openehr: \"$archetype/data[at0001]/items[openEHR-EHR-{slot}]\"\n    slotArchetype: \"{slot}\"\n"));
        }
        s
    }

    #[test]
    fn sets_take_missing_models_from_the_search_path() {
        // Without a search path the set is refused, naming the archetype.
        let e =
            MappingSet::from_sources([("c.context.yml", CTX)], &LoadLimits::default()).unwrap_err();
        assert!(e.to_string().contains("EVALUATION.vital_status.v1"), "{e}");
        // The shipped library has it.
        let set = MappingSet::from_sources_with_base(
            [("c.context.yml", CTX)],
            &[SHIPPED],
            &LoadLimits::default(),
        )
        .unwrap();
        assert_eq!(set.models.len(), 1);
        assert_eq!(set.models[0].file, "EVALUATION.vital_status.v1.model.yml");
    }

    #[test]
    fn own_files_win_then_libraries_in_order_and_slots_are_followed() {
        let own = model("EVALUATION.vital_status.v1", Some("CLUSTER.a.v1"));
        let first_a = model("CLUSTER.a.v1", Some("CLUSTER.b.v1"));
        let second_a = model("CLUSTER.a.v1", None);
        let b = model("CLUSTER.b.v1", None);
        let first: Library<'_> = &[("CLUSTER.a.v1.model.yml", first_a.as_str())];
        let second: Library<'_> = &[
            ("CLUSTER.a.v1.model.yml", second_a.as_str()),
            ("CLUSTER.b.v1.model.yml", b.as_str()),
        ];
        let set = MappingSet::from_sources_with_base(
            [("c.context.yml", CTX), ("own.yml", own.as_str())],
            &[first, second, SHIPPED],
            &LoadLimits::default(),
        )
        .unwrap();
        let files: Vec<&str> = set.models.iter().map(|m| m.file.as_str()).collect();
        // The set's own vital_status model, not the shipped one; CLUSTER.a
        // from the first library (its slot pulls CLUSTER.b from the second).
        assert_eq!(
            files,
            [
                "own.yml",
                "CLUSTER.a.v1.model.yml",
                "CLUSTER.b.v1.model.yml"
            ]
        );
        assert!(set.model("CLUSTER.a.v1").unwrap().doc.mappings.len() == 2);
    }

    #[test]
    fn library_files_must_be_models() {
        let lib: Library<'_> = &[("EVALUATION.vital_status.v1.context.yml", CTX)];
        let e = MappingSet::from_sources_with_base(
            [("c.context.yml", CTX)],
            &[lib],
            &LoadLimits::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("not a model file"), "{e}");
    }

    #[test]
    fn shipped_base_models_load() {
        for (name, text) in SHIPPED {
            let f = load_file(name, text, &LoadLimits::default()).unwrap();
            assert_eq!(f.doc.kind, FileKind::Model, "{name}");
            let arch = short_archetype(&f.doc.metadata.name).to_owned();
            assert!(maps(&f, &arch), "{name}");
            assert!(name.starts_with(&format!("{arch}.")), "{name}");
        }
    }
}
