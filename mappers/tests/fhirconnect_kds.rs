//! FHIRconnect extensions: the KDS sets of the corpus and extension
//! methods executed end to end.
//!
//! The KDS projects (`mappings/openfhir/kds/core/projects/org.highmed/KDS/`)
//! are extension files and contexts; the model files they extend
//! (`EVALUATION.problem_diagnosis.v1`, `CLUSTER.case_identification.v0`, ...)
//! live in the FHIRconnect mapping library, which the corpus does not
//! ship. Each KDS set therefore loads or is refused with a named reason,
//! and `tests/expected/fhirconnect_kds.txt` records which: a set that
//! loads (its models supplied) runs its corpus pairs, FHIR input ->
//! canonical composition and FHIR bundle -> FLAT, comparing the values at
//! every path the mapping produced with the expected composition.
//!
//! Extension methods are executed on a set the corpus does ship whole
//! (blood pressure) with extension files written here: overwrite, append,
//! add and the order of several extensions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ehrgate_mappers::fhirconnect::canonical::{from_canonical, to_canonical, CanonicalDefaults};
use ehrgate_mappers::fhirconnect::engine::Engine;
use ehrgate_mappers::fhirconnect::flat::to_flat;
use ehrgate_mappers::fhirconnect::instance::Instance;
use ehrgate_mappers::fhirconnect::loader::{LoadLimits, MappingSet};
use serde_json::Value;

const KDS: &str = "mappings/openfhir/kds";
const PROJECT: &str = "mappings/openfhir/kds/core/projects/org.highmed/KDS";

/// Module folder -> template file.
const MODULES: &[(&str, &str)] = &[
    ("diagnose", "KDS_Diagnose.opt"),
    ("fall", "KDS_Fall_einfach.opt"),
    ("laborbericht", "KDS_Laborbericht.opt"),
    ("person", "KDS_Person.opt"),
    ("vitalstatus", "KDS_Vitalstatus.opt"),
];

fn yaml_in(dir: &Path) -> Vec<(String, String)> {
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
    files
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
        .collect();
    v.sort();
    v
}

fn defaults() -> CanonicalDefaults {
    CanonicalDefaults {
        language: "de".into(),
        territory: "DE".into(),
        composer: "ehrgate".into(),
        time: "2024-01-01T00:00:00Z".into(),
    }
}

/// Numbers compare as numbers (`120` and `120.0` are the same magnitude).
fn same_value(a: &Value, b: &Value) -> bool {
    a == b || (a.as_f64().is_some() && a.as_f64() == b.as_f64())
}

/// Compares `ours` with `expected` at every leaf field ours produced;
/// returns (fields compared, differences as `path|field`).
fn compare(ours: &Instance, expected: &Instance) -> (usize, Vec<String>) {
    let mut n = 0;
    let mut diffs = Vec::new();
    for (path, leaf) in &ours.leaves {
        for (field, value) in &leaf.fields {
            n += 1;
            let theirs = expected.leaves.get(path).and_then(|l| l.fields.get(field));
            if !theirs.is_some_and(|t| same_value(t, value)) {
                diffs.push(format!("{path}|{field}"));
            }
        }
    }
    (n, diffs)
}

/// Runs one loaded KDS set over its corpus pairs; one report line each.
fn run_pairs(module: &str, engine: &Engine, report: &mut Vec<String>) {
    let c = common::corpus();
    let index = engine.index().unwrap();
    let inputs = json_files(&c.join(format!("{KDS}/{module}/toOpenEHR/input")));
    for input in inputs {
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        let suffix = name.split_once('-').map_or(name.as_str(), |(_, s)| s);
        let expected_path = c.join(format!(
            "{KDS}/{module}/toOpenEHR/output/Composition-{suffix}"
        ));
        let fhir: Value = serde_json::from_str(&std::fs::read_to_string(&input).unwrap()).unwrap();
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(&expected_path).unwrap()).unwrap();
        let line = match engine.fhir_to_instance(&fhir) {
            Ok(t) => {
                let ours = to_canonical(&t.output, index, &defaults());
                let (ours, _) = from_canonical(&ours);
                let (want, _) = from_canonical(&expected);
                let (n, diffs) = compare(&ours, &want);
                format!(
                    "pair {module}/{name}: canonical {n} fields, {} differ {diffs:?}",
                    diffs.len()
                )
            }
            Err(e) => format!("pair {module}/{name}: error {e}"),
        };
        report.push(line);
    }
    // The FLAT pair: the module's bundle -> the module's FLAT composition.
    let dir = c.join(format!("{KDS}/{module}"));
    let files = json_files(&dir);
    let flat = files
        .iter()
        .find(|p| p.to_string_lossy().ends_with(".flat.json"));
    let bundle = files.iter().find(|p| {
        let n = p.file_name().unwrap().to_string_lossy().to_lowercase();
        n.contains("bundle")
    });
    if let (Some(flat), Some(bundle)) = (flat, bundle) {
        let fhir: Value = serde_json::from_str(&std::fs::read_to_string(bundle).unwrap()).unwrap();
        let want: Value = serde_json::from_str(&std::fs::read_to_string(flat).unwrap()).unwrap();
        let line = match engine.fhir_to_instance(&fhir) {
            Ok(t) => {
                let ours = to_flat(&t.output, index);
                let diffs: Vec<&String> = ours
                    .iter()
                    .filter(|(k, v)| !want.get(k.as_str()).is_some_and(|w| same_value(w, v)))
                    .map(|(k, _)| k)
                    .collect();
                format!(
                    "flat {module}: {} keys, {} differ {diffs:?}",
                    ours.len(),
                    diffs.len()
                )
            }
            Err(e) => format!("flat {module}: error {e}"),
        };
        report.push(line);
    }
}

/// Every KDS set loads (and its pairs are compared) or is refused with the
/// file, line and reason; the outcome is the expected report.
#[test]
fn kds_sets_load_and_run_or_name_why_not() {
    let c = common::corpus();
    let mut report = Vec::new();
    for (module, opt) in MODULES {
        let files = yaml_in(&c.join(format!("{PROJECT}/{module}")));
        assert!(!files.is_empty(), "{module}: no mapping files");
        let set = MappingSet::from_sources(
            files.iter().map(|(n, t)| (n.as_str(), t.as_str())),
            &LoadLimits::default(),
        );
        match set {
            Ok(set) => {
                let meta = ehrgate_templates::parse_opt(
                    &std::fs::read(c.join("openehr/templates").join(opt)).unwrap(),
                )
                .unwrap();
                report.push(format!(
                    "set  ok   {module} ({} models, {} extensions)",
                    set.models.len(),
                    set.extensions.len()
                ));
                let engine = Engine::new(set, Some(&meta)).unwrap();
                run_pairs(module, &engine, &mut report);
            }
            Err(e) => report.push(format!("set  FAIL {module}: {e}")),
        }
    }
    let actual = report.join("\n") + "\n";
    let expected_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expected/fhirconnect_kds.txt");
    if std::env::var_os("UPDATE_EXPECTED").is_some() {
        std::fs::write(&expected_path, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    assert_eq!(actual, expected, "differs from {}", expected_path.display());
}

// === Extension methods executed ===

const EXT_HEAD: &str = "grammar: FHIRConnect/v1.0.0
type: extension
metadata:
  name: NAME
  version: 1
spec:
  system: FHIR
  version: R4
  extends: OBSERVATION.blood_pressure.v2
mappings:
";

/// Overwrites `description` with a method whose condition never holds (so
/// the code text is no longer mapped) and appends to `systolic` a method
/// writing the systolic value to the mean arterial pressure node as well.
const EXT_CHANGE: &str = "  - name: \"description\"
    extension: \"overwrite\"
    with:
      fhir: \"$resource.code.text\"
      openehr: \"$archetype/data[at0001]/events[at0006]/data[at0003]/items[at0033]\"
    fhirCondition:
      targetRoot: \"$resource.code\"
      targetAttribute: \"text\"
      operator: \"one of\"
      criteria: \"no such text\"
  - name: \"systolicToMean\"
    extension: \"append\"
    appendTo: \"systolic\"
    followedBy:
      mappings:
        - name: \"mean\"
          with:
            fhir: \"value\"
            openehr: \"items[at1006]\"
";

/// Adds the plain description method back: same paths as the overwritten
/// one, so it replaces it.
const EXT_ADD: &str = "  - name: \"descriptionAgain\"
    extension: \"add\"
    with:
      fhir: \"$resource.code.text\"
      openehr: \"$archetype/data[at0001]/events[at0006]/data[at0003]/items[at0033]\"
";

/// The corpus blood-pressure set with `extensions` applied (by name, in
/// this order).
fn bp_engine(extensions: &[(&str, &str)]) -> Engine {
    let c = common::corpus();
    let dir = c.join("mappings/openfhir/blood_pressure");
    let mut files = yaml_in(&dir);
    if !extensions.is_empty() {
        let list: String = extensions
            .iter()
            .map(|(n, _)| format!("    - {n}\n"))
            .collect();
        let ctx = files
            .iter_mut()
            .find(|(n, _)| n.contains(".context."))
            .unwrap();
        ctx.1 = ctx
            .1
            .replace("  start: ", &format!("  extensions:\n{list}  start: "));
        assert!(ctx.1.contains("extensions:"));
        for (name, body) in extensions {
            files.push((
                format!("{name}.yml"),
                format!("{}{body}", EXT_HEAD.replace("NAME", name)),
            ));
        }
    }
    let set = MappingSet::from_sources(
        files.iter().map(|(n, t)| (n.as_str(), t.as_str())),
        &LoadLimits::default(),
    )
    .unwrap();
    let meta = ehrgate_templates::parse_opt(
        &std::fs::read(c.join("openehr/templates/Blood Pressure.opt")).unwrap(),
    )
    .unwrap();
    Engine::new(set, Some(&meta)).unwrap()
}

/// The fields of the leaf whose path ends with `suffix`.
fn leaf_at(inst: &Instance, suffix: &str) -> Option<BTreeMap<String, Value>> {
    inst.leaves
        .iter()
        .find(|(p, _)| p.to_string().ends_with(suffix))
        .map(|(_, l)| l.fields.clone())
}

#[test]
fn extension_methods_change_what_the_model_maps() {
    use ehrgate_mappers::fhirconnect::flat::from_flat;
    let base = bp_engine(&[]);
    // A FHIR Bundle with the corpus values: the base set's own output for
    // the corpus FLAT composition.
    let flat = common::json("mappings/openfhir/blood_pressure/blood-pressure_flat.json");
    let (inst, _) = from_flat(flat.as_object().unwrap(), base.index().unwrap());
    let fhir = base.instance_to_fhir(&inst).unwrap().output;

    let plain = base.fhir_to_instance(&fhir).unwrap().output;
    let systolic = leaf_at(&plain, "items[at0004]").expect("systolic mapped");
    assert!(
        leaf_at(&plain, "items[at0033]").is_some(),
        "description mapped"
    );
    assert!(leaf_at(&plain, "items[at1006]").is_none());

    let changed = bp_engine(&[("P_change", EXT_CHANGE)]);
    let out = changed.fhir_to_instance(&fhir).unwrap().output;
    assert!(
        leaf_at(&out, "items[at0033]").is_none(),
        "overwritten description still mapped"
    );
    assert_eq!(
        leaf_at(&out, "items[at1006]"),
        Some(systolic.clone()),
        "appended method did not run"
    );
    assert_eq!(leaf_at(&out, "items[at0004]"), Some(systolic));

    // A second extension, applied after the first, adds the description
    // method back.
    let both = bp_engine(&[("P_change", EXT_CHANGE), ("P_add", EXT_ADD)]);
    let out = both.fhir_to_instance(&fhir).unwrap().output;
    assert_eq!(
        leaf_at(&out, "items[at0033]"),
        leaf_at(&plain, "items[at0033]")
    );
    assert!(leaf_at(&out, "items[at1006]").is_some());
    let names: Vec<&str> = both
        .set()
        .model("OBSERVATION.blood_pressure.v2")
        .unwrap()
        .doc
        .mappings
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names.last(), Some(&"descriptionAgain"));
    assert!(!names.contains(&"description"));
}
