//! FHIR codes and systems -> v2 codes and coding system names: the v2 ->
//! FHIR tables (`mappers/data/v2-tables/`) read in reverse, never a copy.
//!
//! A FHIR code several v2 codes map to (`other` <- `A`, `N`, `O`) goes
//! back to the first row of its map, which is the IG's own row for it;
//! the table test below pins every such choice.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use crate::v2fhir::tables::{self, TableEntry};

use super::config::Config;

/// map name -> FHIR code -> first entry.
static REVERSE: LazyLock<HashMap<&'static str, HashMap<&'static str, &'static TableEntry>>> =
    LazyLock::new(|| {
        let mut m: HashMap<&'static str, HashMap<&'static str, &'static TableEntry>> =
            HashMap::new();
        for e in tables::entries() {
            m.entry(e.map.as_str())
                .or_default()
                .entry(e.code.as_str())
                .or_insert(e);
        }
        m
    });

/// FHIR system URI -> the first v2 coding system name for it.
static SYSTEM_NAMES: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    let mut m = HashMap::new();
    for line in tables::CODING_SYSTEMS_CSV.lines().skip(1) {
        let mut cols = line.split(',');
        if let (Some(name), Some(uri)) = (cols.next(), cols.next()) {
            m.entry(uri).or_insert(name);
        }
    }
    m
});

/// The v2 code for FHIR `code` in the map `map` (`gender`, `male` -> `M`).
pub fn v2_code(map: &str, code: &str) -> Option<&'static str> {
    REVERSE
        .get(map)
        .and_then(|m| m.get(code))
        .map(|e| e.v2_code.as_str())
}

const V2_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v2-";

/// The v2 table number of a v2 code system URI (`...v2-0203` -> `0203`).
pub fn v2_table_of(system: &str) -> Option<&str> {
    system
        .strip_prefix(V2_SYSTEM)
        .filter(|t| t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()))
}

/// The v2 coding system name (CWE-3) for a FHIR system URI: the known
/// names (`http://loinc.org` -> `LN`), `HL7nnnn` for v2 tables, a local
/// name for the local base or a configured system; `None` when the URI
/// has no v2 name.
pub fn system_name<'s>(cfg: &Config, uri: &'s str) -> Option<Cow<'s, str>> {
    if let Some(n) = SYSTEM_NAMES.get(uri) {
        return Some(Cow::Borrowed(*n));
    }
    if let Some(t) = v2_table_of(uri) {
        return Some(Cow::Owned(format!("HL7{t}")));
    }
    local_name(cfg, uri)
}

/// The local name of a system URI: a configured one, or the part after
/// the local base, percent-decoded.
pub fn local_name<'s>(cfg: &Config, uri: &'s str) -> Option<Cow<'s, str>> {
    if let Some((name, _)) = cfg.systems.iter().find(|(_, u)| u.as_str() == uri) {
        return Some(Cow::Owned(name.clone()));
    }
    let rest = uri.strip_prefix(cfg.local_system_base.as_str())?;
    Some(percent_decode(rest))
}

/// Undoes the v2 -> FHIR direction's `query_escape` (`%20` -> space).
fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_maps_take_the_igs_first_row() {
        assert_eq!(v2_code("gender", "male"), Some("M"));
        assert_eq!(v2_code("gender", "other"), Some("O"));
        assert_eq!(v2_code("observation-status", "final"), Some("F"));
        assert_eq!(v2_code("observation-status", "entered-in-error"), Some("D"));
        assert_eq!(v2_code("report-status", "registered"), Some("O"));
        assert_eq!(v2_code("name-use", "official"), Some("L"));
        assert_eq!(v2_code("address-use", "work"), Some("B"));
        assert_eq!(v2_code("telecom-system", "email"), Some("Internet"));
        assert_eq!(v2_code("immunization-status", "not-done"), Some("RE"));
        assert_eq!(v2_code("encounter-class", "AMB"), Some("O"));
        assert_eq!(v2_code("gender", "nonsense"), None);
    }

    /// Every reverse entry maps forward to the FHIR code it came from: the
    /// reverse read can never invent a pairing the table does not have.
    #[test]
    fn every_reverse_entry_round_trips_forward() {
        for e in tables::entries() {
            let v2 = v2_code(&e.map, &e.code).unwrap();
            let fwd = tables::lookup(&e.map, v2).unwrap();
            assert_eq!(fwd.code, e.code, "{} {}", e.map, e.code);
        }
    }

    #[test]
    fn system_names() {
        let cfg = Config::default();
        assert_eq!(system_name(&cfg, "http://loinc.org").as_deref(), Some("LN"));
        assert_eq!(
            system_name(&cfg, "http://snomed.info/sct").as_deref(),
            Some("SCT")
        );
        assert_eq!(
            system_name(&cfg, "http://terminology.hl7.org/CodeSystem/v2-0203").as_deref(),
            Some("HL70203")
        );
        assert_eq!(
            system_name(&cfg, "urn:ehrgate:v2:local:GOOD%20HEALTH").as_deref(),
            Some("GOOD HEALTH")
        );
        assert_eq!(system_name(&cfg, "http://example.org/codes"), None);
    }
}
