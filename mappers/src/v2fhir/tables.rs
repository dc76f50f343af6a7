//! HL7 v2 tables -> FHIR codes, loaded from `mappers/data/v2-tables/`.
//!
//! The maps are data (derived from the v2-to-FHIR IG vocabulary sheets) so a
//! correction is a one-line CSV change with a test, not a code change. They
//! are parsed once, on first use.

use super::fxhash::FxHashMap;
use std::borrow::Cow;
use std::sync::LazyLock;

use super::csv;

/// The embedded table file.
pub const TABLES_CSV: &str = include_str!("../../data/v2-tables/tables.csv");
/// The embedded coding-system-name file.
pub const CODING_SYSTEMS_CSV: &str = include_str!("../../data/v2-tables/coding-systems.csv");

/// One mapped v2 code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableEntry {
    /// The map name (`gender`, `encounter-class`...).
    pub map: String,
    /// The v2 table number (`0001`).
    pub v2_table: String,
    /// The IG concept map sheet the row came from.
    pub ig_concept_map: String,
    /// The v2 code.
    pub v2_code: String,
    /// The FHIR code.
    pub code: String,
    /// The FHIR display (may be empty).
    pub display: String,
    /// The FHIR code system URI.
    pub system: String,
    /// Why the row differs from the IG, if it does.
    pub note: String,
}

struct Tables {
    entries: Vec<TableEntry>,
    /// map name -> v2 code -> entry index (looked up by `&str`, no allocation).
    index: FxHashMap<String, FxHashMap<String, usize>>,
    tables: FxHashMap<String, String>,
    coding_systems: FxHashMap<String, String>,
    /// v2 table number -> its code system URI, for every table the maps
    /// name (built once: a message names tens of them).
    systems: FxHashMap<String, String>,
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let mut entries = Vec::new();
    let mut index: FxHashMap<String, FxHashMap<String, usize>> = FxHashMap::default();
    let mut tables = FxHashMap::default();
    for row in csv::parse(TABLES_CSV).into_iter().skip(1) {
        if row.len() < 8 {
            continue;
        }
        let entry = TableEntry {
            map: row[0].clone(),
            v2_table: row[1].clone(),
            ig_concept_map: row[2].clone(),
            v2_code: row[3].clone(),
            code: row[4].clone(),
            display: row[5].clone(),
            system: row[6].clone(),
            note: row[7].clone(),
        };
        tables.insert(entry.map.clone(), entry.v2_table.clone());
        index
            .entry(entry.map.clone())
            .or_default()
            .insert(entry.v2_code.clone(), entries.len());
        entries.push(entry);
    }
    let coding_systems = csv::parse(CODING_SYSTEMS_CSV)
        .into_iter()
        .skip(1)
        .filter(|r| r.len() >= 2)
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let systems = tables
        .values()
        .map(String::as_str)
        .chain(TABLES_IN_CODE.iter().copied())
        .map(|t| (t.to_owned(), format_v2_system(t)))
        .collect();
    Tables {
        entries,
        index,
        tables,
        coding_systems,
        systems,
    }
});

/// Every entry of every map, in file order (for tests and documentation).
pub fn entries() -> &'static [TableEntry] {
    &TABLES.entries
}

/// Looks up `code` in the map named `map`. Case-sensitive, as HL7 codes are.
pub fn lookup(map: &str, code: &str) -> Option<&'static TableEntry> {
    TABLES
        .index
        .get(map)
        .and_then(|m| m.get(code))
        .map(|&i| &TABLES.entries[i])
}

/// The v2 table number behind a map (`gender` -> `0001`).
pub fn v2_table(map: &str) -> Option<&'static str> {
    TABLES.tables.get(map).map(String::as_str)
}

/// The code system URI of a v2 table: `http://terminology.hl7.org/CodeSystem/v2-0001`.
pub fn v2_system(table: &str) -> Cow<'static, str> {
    match TABLES.systems.get(table) {
        Some(uri) => Cow::Borrowed(uri.as_str()),
        None => Cow::Owned(format_v2_system(table)),
    }
}

/// Tables the maps name in code rather than through `tables.csv`.
const TABLES_IN_CODE: &[&str] = &[
    "0003", "0004", "0052", "0069", "0074", "0203", "0270", "0272", "0443",
];

fn format_v2_system(table: &str) -> String {
    format!("http://terminology.hl7.org/CodeSystem/v2-{table}")
}

/// The FHIR system URI for an HL7 v2 coding system name (CWE-3): known
/// names from `coding-systems.csv`, `HL7nnnn` computed; `None` when unknown.
pub fn coding_system_uri(name: &str) -> Option<Cow<'static, str>> {
    if let Some(uri) = TABLES.coding_systems.get(name) {
        return Some(Cow::Borrowed(uri.as_str()));
    }
    let digits = name
        .strip_prefix("HL7")
        .or_else(|| name.strip_prefix("hl7"))
        .map(str::trim_start);
    match digits {
        Some(d) if d.len() == 4 && d.bytes().all(|b| b.is_ascii_digit()) => Some(v2_system(d)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gender_map_is_loaded() {
        let m = lookup("gender", "M").map(|e| e.code.as_str());
        assert_eq!(m, Some("male"));
        assert_eq!(v2_table("gender"), Some("0001"));
        assert!(lookup("gender", "Q").is_none());
    }

    #[test]
    fn coding_system_names() {
        assert_eq!(coding_system_uri("LN").as_deref(), Some("http://loinc.org"));
        assert_eq!(
            coding_system_uri("HL70203").as_deref(),
            Some("http://terminology.hl7.org/CodeSystem/v2-0203")
        );
        assert_eq!(coding_system_uri("99LOCAL"), None);
    }
}
