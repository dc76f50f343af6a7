//! Every entry of the v2 code tables (`mappers/data/v2-tables/tables.csv`)
//! is checked:
//! 1. it agrees with the IG concept-map CSV row it came from (same v2 code,
//!    FHIR code and system), unless its `note` explains the difference;
//! 2. it targets a valid code: for FHIR core code systems bound to `code`
//!    elements, the code is in the element's enum in the official R4 JSON
//!    schema; for the 0001/0200/0190/0201/0202 tables it also agrees with
//!    the published FHIR R4 ConceptMaps; every system is an absolute URI.
//!
//! The coding-system-name table is checked for well-formed URIs and the
//! computed `HL7nnnn` names.

// Test code: a failed expectation is a panic with the reason.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use ehrgate_mappers::v2fhir::tables::{self, coding_system_uri};
use serde_json::Value;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/corpus")
}

/// Minimal CSV (quoted fields) for the IG sheets.
fn csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// v2 code -> (FHIR code, system) rows of one IG concept map sheet.
fn ig_rows(sheet: &str) -> HashMap<String, Vec<(String, String)>> {
    let path = corpus().join(format!(
        "mappings/hl7v2-fhir/v2-to-fhir-ig/codesystems/HL7 Concept Map_ {sheet} - Sheet1.csv"
    ));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows = csv(&text);
    let header = &rows[1];
    let find = |name: &str| -> Vec<usize> {
        header
            .iter()
            .enumerate()
            .filter(|(_, h)| h.trim() == name)
            .map(|(i, _)| i)
            .collect()
    };
    let (codes, systems) = (find("Code"), find("Code System"));
    let (fc, fs) = (codes[1], systems[1]);
    let mut out: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for r in &rows[2..] {
        let get = |i: usize| r.get(i).map(|s| s.trim().to_owned()).unwrap_or_default();
        if !get(0).is_empty() {
            out.entry(get(0)).or_default().push((get(fc), get(fs)));
        }
    }
    out
}

/// (schema definition, property) of the `code` element a map targets.
fn bound_element(map: &str) -> Option<(&'static str, &'static str)> {
    Some(match map {
        "gender" => ("Patient", "gender"),
        "name-use" => ("HumanName", "use"),
        "address-use" => ("Address", "use"),
        "address-type" => ("Address", "type"),
        "telecom-use" => ("ContactPoint", "use"),
        "telecom-system" => ("ContactPoint", "system"),
        "observation-status" => ("Observation", "status"),
        "report-status" => ("DiagnosticReport", "status"),
        "encounter-status" | "encounter-status-class" => ("Encounter", "status"),
        "allergy-category" => ("AllergyIntolerance", "category"),
        "allergy-criticality" => ("AllergyIntolerance", "criticality"),
        "appointment-status" => ("Appointment", "status"),
        "immunization-status" => ("Immunization", "status"),
        "order-status" | "order-control-status" => ("ServiceRequest", "status"),
        "request-priority" => ("ServiceRequest", "priority"),
        _ => return None,
    })
}

/// The codes allowed in a required-binding `code` element: the schema's
/// enum, or, where the R4 schema types the element as plain `code`
/// (Immunization.status, ServiceRequest.status and .priority), the codes of its R4
/// required value set (immunization-status, request-status).
fn schema_enum(schema: &Value, def: &str, prop: &str) -> HashSet<String> {
    let p = &schema["definitions"][def]["properties"][prop];
    let e = p.get("enum").or_else(|| p["items"].get("enum"));
    let from_schema: HashSet<String> = e
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if !from_schema.is_empty() {
        return from_schema;
    }
    let value_set: &[&str] = match (def, prop) {
        ("Immunization", "status") => &["completed", "entered-in-error", "not-done"],
        // R4 request-priority (required binding on every request's priority)
        ("ServiceRequest", "priority") => &["routine", "urgent", "asap", "stat"],
        ("ServiceRequest", "status") => &[
            "draft",
            "active",
            "on-hold",
            "revoked",
            "completed",
            "entered-in-error",
            "unknown",
        ],
        _ => &[],
    };
    value_set.iter().map(|s| (*s).to_owned()).collect()
}

/// v2 code -> FHIR codes per an R4 ConceptMap (which maps FHIR -> v2).
fn concept_map(file: &str) -> HashMap<String, HashSet<String>> {
    let path = corpus()
        .join("mappings/hl7v2-fhir/fhir-r4-conceptmaps")
        .join(file);
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let cm: Value = serde_json::from_str(&text).unwrap_or_default();
    let mut out: HashMap<String, HashSet<String>> = HashMap::new();
    for g in cm["group"].as_array().into_iter().flatten() {
        for e in g["element"].as_array().into_iter().flatten() {
            let fhir = e["code"].as_str().unwrap_or_default().to_owned();
            for t in e["target"].as_array().into_iter().flatten() {
                if let Some(v2) = t["code"].as_str() {
                    out.entry(v2.to_owned()).or_default().insert(fhir.clone());
                }
            }
        }
    }
    assert!(!out.is_empty(), "ConceptMap {file} not loaded");
    out
}

#[test]
fn every_table_entry_agrees_with_its_ig_row() {
    let entries = tables::entries();
    assert!(
        entries.len() > 250,
        "table file not loaded: {}",
        entries.len()
    );
    let mut sheets: HashMap<String, HashMap<String, Vec<(String, String)>>> = HashMap::new();
    let mut failures = Vec::new();
    for e in entries {
        let rows = sheets
            .entry(e.ig_concept_map.clone())
            .or_insert_with(|| ig_rows(&e.ig_concept_map));
        let Some(candidates) = rows.get(&e.v2_code) else {
            failures.push(format!("{} {}: no IG row", e.map, e.v2_code));
            continue;
        };
        let same = candidates
            .iter()
            .any(|(c, s)| *c == e.code && *s == e.system);
        match (same, e.note.is_empty()) {
            (true, true) | (false, false) => {}
            (true, false) => failures.push(format!(
                "{} {}: note present but the row equals the IG",
                e.map, e.v2_code
            )),
            (false, true) => failures.push(format!(
                "{} {}: differs from IG {candidates:?} without a note",
                e.map, e.v2_code
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_table_entry_targets_a_valid_code() {
    let path = corpus().join("fhir/schema/fhir.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default())
        .unwrap_or_default();
    let cms = [
        (
            "gender",
            concept_map("ConceptMap-cm-administrative-gender-v2.json"),
        ),
        ("name-use", concept_map("ConceptMap-cm-name-use-v2.json")),
        (
            "address-use",
            concept_map("ConceptMap-cm-address-use-v2.json"),
        ),
        (
            "telecom-system",
            concept_map("ConceptMap-cm-contact-point-system-v2.json"),
        ),
        (
            "telecom-use",
            concept_map("ConceptMap-cm-contact-point-use-v2.json"),
        ),
    ];
    let mut failures = Vec::new();
    for e in tables::entries() {
        if e.code.is_empty() || e.code.contains(char::is_whitespace) {
            failures.push(format!(
                "{} {}: code {:?} is not a FHIR code",
                e.map, e.v2_code, e.code
            ));
        }
        if !(e.system.starts_with("http://") || e.system.starts_with("urn:")) {
            failures.push(format!(
                "{} {}: system {:?} is not an absolute URI",
                e.map, e.v2_code, e.system
            ));
        }
        if e.map == "yes-no" {
            if e.code != "true" && e.code != "false" {
                failures.push(format!(
                    "yes-no {}: {:?} is not a boolean",
                    e.v2_code, e.code
                ));
            }
            continue;
        }
        if let Some((def, prop)) = bound_element(&e.map) {
            let allowed = schema_enum(&schema, def, prop);
            assert!(!allowed.is_empty(), "schema has no enum for {def}.{prop}");
            if !allowed.contains(&e.code) {
                failures.push(format!(
                    "{} {}: {:?} is not a valid {def}.{prop} code",
                    e.map, e.v2_code, e.code
                ));
            }
        }
        if let Some((_, cm)) = cms.iter().find(|(m, _)| *m == e.map) {
            if let Some(fhir) = cm.get(&e.v2_code) {
                if !fhir.contains(&e.code) && e.note.is_empty() {
                    failures.push(format!(
                        "{} {}: {:?} disagrees with the R4 ConceptMap {fhir:?}",
                        e.map, e.v2_code, e.code
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn coding_system_names_resolve_to_uris() {
    let mut n = 0;
    for line in tables::CODING_SYSTEMS_CSV.lines().skip(1) {
        let name = line.split(',').next().unwrap_or_default();
        let uri = coding_system_uri(name);
        assert!(
            uri.as_deref()
                .is_some_and(|u| u.starts_with("http://") || u.starts_with("urn:")),
            "{name}"
        );
        n += 1;
    }
    assert!(n > 20);
    assert_eq!(
        coding_system_uri("HL70005").as_deref(),
        Some("http://terminology.hl7.org/CodeSystem/v2-0005")
    );
}
