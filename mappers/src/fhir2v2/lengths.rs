//! Field lengths and data types per HL7 v2 version, as data
//! (`mappers/data/v2-fields/fields.csv`, generated from the Caristix
//! definitions; see the README beside it).
//!
//! v2.3 to v2.6 give every field a maximum length; v2.7 and later dropped
//! field lengths for conformance lengths per data type component, so the
//! table has 0 there and nothing is cut. The data type column tells the
//! writer whether a coded field is a CE (6 components) or a CWE (9) in the
//! chosen version.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::config::Version;
use super::er7::{Rep, Seg};

/// The embedded field table.
pub const FIELDS_CSV: &str = include_str!("../../data/v2-fields/fields.csv");
/// The embedded component table (composite data types).
pub const COMPONENTS_CSV: &str = include_str!("../../data/v2-fields/components.csv");

/// What a version says about one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// Maximum length of one repetition, separators included; 0 = none.
    pub length: usize,
    /// The data type (`CE`, `CWE`, `ST`, `XPN`...).
    pub data_type: &'static str,
    /// True when the field may repeat.
    pub repeats: bool,
    /// The usage code (`R`, `O`, `C`, `B`; `W` or `X`: withdrawn).
    pub usage: &'static str,
}

/// (version, data type, component) -> maximum length.
static COMPONENTS: LazyLock<HashMap<(&'static str, &'static str, usize), usize>> =
    LazyLock::new(|| {
        let mut map = HashMap::new();
        for line in COMPONENTS_CSV.lines().skip(1) {
            let cols: Vec<&'static str> = line.split(',').collect();
            let [version, data_type, comp, length, _] = cols[..] else {
                continue;
            };
            if let (Ok(comp), Ok(length)) = (comp.parse(), length.parse()) {
                map.insert((version, data_type, comp), length);
            }
        }
        map
    });

type Key = (&'static str, &'static str, usize);

static FIELDS: LazyLock<HashMap<Key, FieldSpec>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    for line in FIELDS_CSV.lines().skip(1) {
        let cols: Vec<&'static str> = line.split(',').collect();
        let [version, segment, field, length, data_type, repeats, usage] = cols[..] else {
            continue;
        };
        let (Ok(field), Ok(length)) = (field.parse(), length.parse()) else {
            continue;
        };
        map.insert(
            (version, segment, field),
            FieldSpec {
                length,
                data_type,
                repeats: repeats == "Y",
                usage,
            },
        );
    }
    map
});

/// The spec of `segment`-`field` in `version`, if the segment exists there.
pub fn spec(version: Version, segment: &str, field: usize) -> Option<FieldSpec> {
    lookup(version.as_str(), segment, field)
}

/// The map's keys borrow the embedded table; a lookup goes through the
/// static names below, so no key is allocated per query.
fn lookup(version: &str, segment: &str, field: usize) -> Option<FieldSpec> {
    let v = VERSIONS.iter().find(|s| **s == version)?;
    let s = SEGMENTS.iter().find(|s| **s == segment)?;
    FIELDS.get(&(*v, *s, field)).copied()
}

/// Every version in the table.
const VERSIONS: &[&str] = &[
    "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8",
];
/// Every segment in the table.
const SEGMENTS: &[&str] = &[
    "MSH", "EVN", "PID", "PD1", "NK1", "PV1", "PV2", "ORC", "OBR", "OBX", "NTE", "SPM", "RXA",
    "RXR", "PRB", "DG1", "AL1", "IAM", "TQ1",
];

/// True when `segment` exists in `version` (SPM and IAM came with v2.5).
pub fn segment_exists(version: Version, segment: &str) -> bool {
    lookup(version.as_str(), segment, 1).is_some()
}

/// Components of a coded field in `version`: 6 for CE, 9 for CWE/CNE, 0
/// for a field that is not coded.
pub fn coded_components(version: Version, segment: &str, field: usize) -> usize {
    match lookup(version.as_str(), segment, field).map(|s| s.data_type) {
        Some("CE") => 6,
        Some("CWE" | "CNE") => 9,
        _ => 0,
    }
}

/// What [`conform`] took out of a segment: where, from which FHIR path,
/// why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// `PID-5(2)`.
    pub field: String,
    /// The FHIR path it came from, when noted.
    pub source: Option<String>,
    /// Why.
    pub reason: String,
}

/// Makes `seg` fit `version`'s field definitions: a field the version
/// does not define (a later addition) or has withdrawn is cleared, and the
/// repetitions of a field that does not repeat there are cut to one.
/// Returns what was taken out, for the report.
pub fn conform(version: Version, seg: &mut Seg) -> Vec<Dropped> {
    let mut out = Vec::new();
    if !segment_exists(version, seg.name) {
        return out;
    }
    let first = if seg.name == "MSH" { 3 } else { 1 };
    for seq in first..=seg.fields.len() {
        let reps = seg.field(seq).iter().filter(|r| !r.is_empty()).count();
        if reps == 0 {
            continue;
        }
        let source = seg.source_of(seq).map(str::to_owned);
        let field = format!("{}-{seq}", seg.name);
        let spec = lookup(version.as_str(), seg.name, seq);
        let withdrawn = spec.is_some_and(|s| matches!(s.usage, "W" | "X"));
        if spec.is_none() || withdrawn {
            let why = if withdrawn {
                "is withdrawn in"
            } else {
                "does not exist in"
            };
            out.push(Dropped {
                reason: format!("{field} {why} v{version}"),
                field,
                source,
            });
            if let Some(f) = seg.field_mut(seq) {
                f.clear();
            }
        } else if reps > 1 && spec.is_some_and(|s| !s.repeats) {
            out.push(Dropped {
                reason: format!("{field} does not repeat in v{version}: the first is sent"),
                field: format!("{field}(2)"),
                source,
            });
            if let Some(f) = seg.field_mut(seq) {
                f.retain(|r| !r.is_empty());
                f.truncate(1);
            }
        }
    }
    out
}

/// One repetition over its length: where, how long, the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlong {
    /// `PID-5`.
    pub field: String,
    /// The FHIR path the field came from, when noted.
    pub source: Option<String>,
    /// Its length.
    pub length: usize,
    /// The version's limit.
    pub limit: usize,
}

/// The repetitions (and components) of `seg` longer than `version`
/// allows: field lengths (v2.3 to v2.6) and the component lengths of
/// composite data types (`PID-5-1`).
pub fn overlong(version: Version, seg: &Seg) -> Vec<Overlong> {
    let mut out = Vec::new();
    let v = comp_key(version.as_str());
    for (i, reps) in seg.fields.iter().enumerate() {
        let seq = i + 1;
        let Some(spec) = lookup(version.as_str(), seg.name, seq) else {
            continue;
        };
        for r in reps {
            let length = r.text_len();
            if spec.length > 0 && length > spec.length {
                out.push(Overlong {
                    field: format!("{}-{seq}", seg.name),
                    source: seg.source_of(seq).map(str::to_owned),
                    length,
                    limit: spec.length,
                });
            }
            for (ci, c) in r.0.iter().enumerate() {
                // a leaf component (an HD inside a CX is covered by the
                // field length)
                let [leaf] = c.as_slice() else { continue };
                let Some(&limit) = COMPONENTS.get(&(v, spec.data_type, ci + 1)) else {
                    continue;
                };
                let length = leaf.chars().count();
                if length > limit {
                    out.push(Overlong {
                        field: format!("{}-{seq}-{}", seg.name, ci + 1),
                        source: seg.source_of(seq).map(str::to_owned),
                        length,
                        limit,
                    });
                }
            }
        }
    }
    out
}

/// The static version name (the component map's keys borrow the table).
fn comp_key(v: &str) -> &'static str {
    VERSIONS.iter().find(|s| **s == v).copied().unwrap_or("")
}

/// Cuts the repetitions of `seg` to `version`'s lengths: the longest part
/// is shortened first (display texts, not the short codes and coding
/// system names beside them), on character boundaries, until the
/// repetition fits. Returns what was cut.
pub fn truncate(version: Version, seg: &mut Seg) -> Vec<Overlong> {
    let found = overlong(version, seg);
    for o in &found {
        let mut parts = o
            .field
            .split('-')
            .skip(1)
            .filter_map(|s| s.parse::<usize>().ok());
        let (seq, comp) = (parts.next().unwrap_or(0), parts.next());
        if let Some(reps) = seg.field_mut(seq) {
            for r in reps.iter_mut() {
                match comp {
                    None => cut(r, o.limit),
                    Some(c) => {
                        if let Some([leaf]) = r.0.get_mut(c - 1).map(Vec::as_mut_slice) {
                            if leaf.chars().count() > o.limit {
                                *leaf = leaf.chars().take(o.limit).collect();
                            }
                        }
                    }
                }
            }
        }
    }
    found
}

fn cut(r: &mut Rep, limit: usize) {
    while r.text_len() > limit {
        let over = r.text_len() - limit;
        let Some(leaf) =
            r.0.iter_mut()
                .flat_map(|c| c.iter_mut())
                .filter(|s| !s.is_empty())
                .max_by_key(|s| s.chars().count())
        else {
            return;
        };
        let keep = leaf.chars().count().saturating_sub(over);
        *leaf = leaf.chars().take(keep).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_loaded_per_version() {
        let v251 = spec(Version::V251, "OBX", 7).unwrap();
        assert_eq!((v251.length, v251.data_type), (60, "ST"));
        assert_eq!(spec(Version::V23, "OBX", 7).unwrap().length, 10);
        assert_eq!(spec(Version::V28, "OBX", 7).unwrap().length, 0);
        assert_eq!(spec(Version::V251, "MSH", 10).unwrap().length, 20);
        assert!(spec(Version::V251, "OBX", 8).unwrap().repeats);
        assert_eq!(coded_components(Version::V251, "OBX", 3), 6);
        assert_eq!(coded_components(Version::V26, "OBX", 3), 9);
        assert_eq!(coded_components(Version::V251, "OBX", 5), 0);
        assert!(!segment_exists(Version::V24, "SPM"));
        assert!(segment_exists(Version::V251, "SPM"));
    }

    #[test]
    fn truncation_cuts_the_last_parts_to_the_limit() {
        let mut s = Seg::new("OBX");
        s.set(7, "x".repeat(70));
        s.source(7, "Observation.referenceRange");
        let mut r = Rep::default();
        r.set(1, "a".repeat(10));
        r.set(2, "b".repeat(10));
        s.rep(4, r);
        let found = truncate(Version::V251, &mut s);
        assert_eq!(
            found,
            vec![
                Overlong {
                    field: "OBX-4".into(),
                    source: None,
                    length: 21,
                    limit: 20
                },
                Overlong {
                    field: "OBX-7".into(),
                    source: Some("Observation.referenceRange".into()),
                    length: 70,
                    limit: 60
                }
            ]
        );
        assert_eq!(s.field(7)[0].text_len(), 60);
        // OBX-4 is 20 long in 2.5.1: 10 + 1 + 10 = 21, the (last) longest part loses one
        assert_eq!(s.field(4)[0].component(2).unwrap()[0].len(), 9);
        assert!(overlong(Version::V251, &s).is_empty());
        assert!(overlong(Version::V28, &s).is_empty());
    }
}
