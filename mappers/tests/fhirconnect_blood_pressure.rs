//! Blood pressure, end to end with the openFHIR files as they are
//! (`mappings/openfhir/blood_pressure/`): the corpus FLAT composition ->
//! FHIR Bundle -> FLAT again. The corpus pairs this mapping with a FLAT
//! composition only (no FHIR input), so the golden comparison is: every
//! FLAT value the mapping carries into FHIR comes back at the same FLAT
//! path with the same value, and the FHIR side holds the expected values.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ehrgate_mappers::fhirconnect::flat::{from_flat, to_flat};
use serde_json::Value;

fn engine() -> ehrgate_mappers::fhirconnect::engine::Engine {
    let c = common::corpus();
    common::engine(
        &c.join("mappings/openfhir/blood_pressure"),
        &c.join("openehr/templates/Blood Pressure.opt"),
    )
}

#[test]
fn flat_to_fhir_to_flat_keeps_every_mapped_value() {
    let engine = engine();
    let index = engine.index().unwrap();
    let flat = common::json("mappings/openfhir/blood_pressure/blood-pressure_flat.json");
    let flat = flat.as_object().unwrap();
    let (inst, unknown) = from_flat(flat, index);
    if std::env::var_os("SHOW").is_some() {
        eprintln!("unknown FLAT keys: {unknown:#?}");
    }
    let fhir = engine.instance_to_fhir(&inst).unwrap();
    if std::env::var_os("SHOW").is_some() {
        eprintln!("{}", serde_json::to_string_pretty(&fhir.output).unwrap());
        eprintln!("unmapped: {:#?}", fhir.unmapped);
        eprintln!("warnings: {:#?}", fhir.warnings);
    }
    let back = engine.fhir_to_instance(&fhir.output).unwrap();
    let flat_back = to_flat(&back.output, index);
    if std::env::var_os("SHOW").is_some() {
        eprintln!("{}", serde_json::to_string_pretty(&flat_back).unwrap());
        eprintln!("unmapped back: {:#?}", back.unmapped);
    }
    // Every FLAT value the reverse carried into FHIR (not reported
    // unmapped) must come back at the same key with the same value.
    let unmapped: std::collections::HashSet<&str> =
        fhir.unmapped.iter().map(|u| u.location.as_str()).collect();
    let mut carried = 0;
    for (key, value) in flat {
        let (path, field) = key.split_once('|').unwrap_or((key.as_str(), ""));
        let inst_path = index.instance_path(path).unwrap();
        let loc = if field.is_empty() {
            inst_path.to_string()
        } else {
            format!("{inst_path}|{field}")
        };
        if unmapped.contains(loc.as_str()) {
            continue;
        }
        carried += 1;
        assert_eq!(flat_back.get(key), Some(value), "{key}");
    }
    // systolic, diastolic (magnitude + unit) x3, 2 interpretations,
    // 3 comments, location code/value/terminology.
    assert_eq!(carried, 12 + 2 + 3 + 3, "values carried into FHIR");
    let entries = fhir.output["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    let systolic: Vec<&Value> = entries
        .iter()
        .map(|e| {
            e["resource"]["component"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["code"]["coding"][0]["code"] == "8480-6")
                .map(|c| &c["valueQuantity"]["value"])
                .unwrap()
        })
        .collect();
    assert_eq!(
        systolic,
        [500.0, 600.0, 700.0]
            .map(Value::from)
            .iter()
            .collect::<Vec<_>>()
    );
}
