//! FHIR date search: values and search parameters are ranges (a date
//! `2024-03` is the whole month), compared with the prefixes of the FHIR
//! search spec (eq, ne, gt, lt, ge, le; sa/eb/ap are not supported).

use serde_json::Value;

use crate::reference::openehr::aql::compare::instant;

/// `[lo, hi)` in seconds since 1970.
pub type Range = (f64, f64);

/// The range a FHIR date, dateTime or instant covers.
pub fn range(s: &str) -> Option<Range> {
    let s = s.trim();
    match s.len() {
        4 => {
            let y: i64 = s.parse().ok()?;
            Some((
                instant(&format!("{y:04}-01-01"))?,
                instant(&format!("{:04}-01-01", y + 1))?,
            ))
        }
        7 => {
            let (y, m) = s.split_once('-')?;
            let (y, m): (i64, i64) = (y.parse().ok()?, m.parse().ok()?);
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            Some((
                instant(&format!("{y:04}-{m:02}-01"))?,
                instant(&format!("{ny:04}-{nm:02}-01"))?,
            ))
        }
        10 => {
            let lo = instant(s)?;
            Some((lo, lo + 86_400.0))
        }
        _ => {
            let lo = instant(s)?;
            let clock = s.split_once('T')?.1;
            let clock = clock.split(['Z', '+']).next().unwrap_or(clock);
            let clock = clock.rsplit_once('-').map_or(clock, |(c, _)| c);
            let width = match clock.matches(':').count() {
                0 => 3600.0,
                1 => 60.0,
                _ if clock.contains('.') => 0.001,
                _ => 1.0,
            };
            Some((lo, lo + width))
        }
    }
}

/// The range of a resource element: a date/dateTime/instant string or a
/// Period.
pub fn value_range(v: &Value) -> Option<Range> {
    match v {
        Value::String(s) => range(s),
        Value::Object(o) => {
            let lo = o
                .get("start")
                .and_then(Value::as_str)
                .and_then(range)
                .map_or(f64::NEG_INFINITY, |r| r.0);
            let hi = o
                .get("end")
                .and_then(Value::as_str)
                .and_then(range)
                .map_or(f64::INFINITY, |r| r.1);
            (o.contains_key("start") || o.contains_key("end")).then_some((lo, hi))
        }
        _ => None,
    }
}

/// A search prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    /// eq (default)
    Eq,
    /// ne
    Ne,
    /// gt
    Gt,
    /// lt
    Lt,
    /// ge
    Ge,
    /// le
    Le,
}

/// Splits `ge2024-01-01` into prefix and range; `None` when unsupported.
pub fn parse_param(p: &str) -> Option<(Prefix, Range)> {
    let (prefix, rest) = match p.get(..2) {
        Some("eq") => (Prefix::Eq, &p[2..]),
        Some("ne") => (Prefix::Ne, &p[2..]),
        Some("gt") => (Prefix::Gt, &p[2..]),
        Some("lt") => (Prefix::Lt, &p[2..]),
        Some("ge") => (Prefix::Ge, &p[2..]),
        Some("le") => (Prefix::Le, &p[2..]),
        _ => (Prefix::Eq, p),
    };
    Some((prefix, range(rest)?))
}

/// Whether a target range matches the parameter (FHIR R4 search 3.1.1.4.6).
pub fn matches(prefix: Prefix, param: Range, target: Range) -> bool {
    let eq = param.0 <= target.0 && target.1 <= param.1;
    match prefix {
        Prefix::Eq => eq,
        Prefix::Ne => !eq,
        Prefix::Gt => target.1 > param.1,
        Prefix::Lt => target.0 < param.0,
        Prefix::Ge => target.1 > param.1 || eq,
        Prefix::Le => target.0 < param.0 || eq,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ranges_by_precision() {
        let day = range("2024-03-01").unwrap();
        assert_eq!(day.1 - day.0, 86_400.0);
        let month = range("2024-02").unwrap();
        assert_eq!(month.1 - month.0, 29.0 * 86_400.0);
        let year = range("2023").unwrap();
        assert_eq!(year.1 - year.0, 365.0 * 86_400.0);
        let t = range("2024-03-01T10:00:00+01:00").unwrap();
        assert_eq!(t.1 - t.0, 1.0);
        assert_eq!(t.0, range("2024-03-01T09:00:00Z").unwrap().0);
        assert!(range("yesterday").is_none());
    }

    #[test]
    fn prefixes() {
        let target = range("2024-03-01T10:00:00Z").unwrap();
        let p = |s: &str| parse_param(s).unwrap();
        let m = |s: &str| {
            let (pre, r) = p(s);
            matches(pre, r, target)
        };
        assert!(m("2024-03-01"));
        assert!(m("eq2024-03"));
        assert!(!m("2024-03-02"));
        assert!(m("ne2024-03-02"));
        assert!(m("ge2024-03-01"));
        assert!(m("gt2024-02-29"));
        assert!(!m("gt2024-03-01"));
        assert!(m("le2024-03-01"));
        assert!(m("lt2024-03-02"));
        assert!(!m("lt2024-03-01"));
        assert!(parse_param("ap2024").is_none());
    }
}
