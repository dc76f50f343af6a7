//! FHIR codes <-> archetype at-codes, per archetype node, from a table that
//! is data (`templates/mappings/terminology/at_codes.tsv`).

use std::sync::OnceLock;

const TABLE: &str = include_str!("../../../templates/mappings/terminology/at_codes.tsv");

/// One row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtCode {
    /// Archetype id (`openEHR-EHR-EVALUATION.adverse_reaction_risk.v1`).
    pub archetype: &'static str,
    /// Node id of the ELEMENT (`at0101`).
    pub node: &'static str,
    /// FHIR code system URI.
    pub system: &'static str,
    /// FHIR code.
    pub code: &'static str,
    /// The at-code.
    pub at_code: &'static str,
}

fn rows() -> &'static [AtCode] {
    static ROWS: OnceLock<Vec<AtCode>> = OnceLock::new();
    ROWS.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let c: Vec<&'static str> = l.split('\t').collect();
                match c.as_slice() {
                    [archetype, node, system, code, at_code] => Some(AtCode {
                        archetype,
                        node,
                        system,
                        code,
                        at_code,
                    }),
                    _ => None,
                }
            })
            .collect()
    })
}

/// The at-code for a FHIR code at an archetype node.
pub fn to_at_code(archetype: &str, node: &str, code: &str) -> Option<&'static AtCode> {
    rows()
        .iter()
        .find(|r| r.archetype == archetype && r.node == node && r.code == code)
}

/// The FHIR code for an at-code at an archetype node (first row wins).
pub fn from_at_code(archetype: &str, node: &str, at_code: &str) -> Option<&'static AtCode> {
    rows()
        .iter()
        .find(|r| r.archetype == archetype && r.node == node && r.at_code == at_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_parse_and_map_both_ways() {
        let n = TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count();
        assert_eq!(rows().len(), n, "a row has the wrong number of columns");
        let a = "openEHR-EHR-EVALUATION.adverse_reaction_risk.v1";
        assert_eq!(
            to_at_code(a, "at0101", "high").map(|r| r.at_code),
            Some("at0103")
        );
        assert_eq!(
            from_at_code(a, "at0120", "at0123").map(|r| r.code),
            Some("environment")
        );
        for r in rows() {
            assert!(
                r.at_code.starts_with("at") && r.system.contains("://"),
                "{r:?}"
            );
            // every at-code has a way back
            assert!(from_at_code(r.archetype, r.node, r.at_code).is_some());
        }
    }
}
