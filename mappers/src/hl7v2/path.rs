//! Terser-style paths: `SEG[(occ)]-field[(rep)][-component[-subcomponent]]`.
//!
//! Every index is **1-based**, the segment occurrence and the repetition
//! included. This deliberately differs from HAPI's terser, whose
//! repetition index is 0-based (`PID-3(1)` there is the *second*
//! identifier); one convention for all indexes avoids off-by-one mappings.

use super::error::PathError;

/// A parsed terser path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerserPath {
    segment: [u8; 3],
    /// Segment occurrence, 1-based (default 1).
    pub occurrence: usize,
    /// Field sequence number, 1-based.
    pub field: usize,
    /// Repetition, 1-based; `None` means the whole field.
    pub repetition: Option<usize>,
    /// Component, 1-based.
    pub component: Option<usize>,
    /// Sub-component, 1-based.
    pub subcomponent: Option<usize>,
}

// === impl TerserPath ===

impl TerserPath {
    /// Parses `PID-3(2)-1`, `OBX(3)-5-2`, `MSH-9-1`...
    pub fn parse(path: &str) -> Result<Self, PathError> {
        let err = |reason| PathError::new(path, reason);
        let mut parts = path.split('-');
        let seg_part = parts.next().unwrap_or("");
        let (name, occurrence) =
            split_index(seg_part).ok_or_else(|| err("bad segment occurrence"))?;
        let nb = name.as_bytes();
        if nb.len() != 3
            || !nb
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(err(
                "segment name must be three upper-case letters or digits",
            ));
        }
        let segment = [nb[0], nb[1], nb[2]];
        let field_part = parts.next().ok_or_else(|| err("missing field number"))?;
        let (field, repetition) = split_index(field_part).ok_or_else(|| err("bad repetition"))?;
        let field = number(field).ok_or_else(|| err("field must be a number >= 1"))?;
        let component = match parts.next() {
            Some(c) => Some(number(c).ok_or_else(|| err("component must be a number >= 1"))?),
            None => None,
        };
        let subcomponent = match parts.next() {
            Some(s) => Some(number(s).ok_or_else(|| err("sub-component must be a number >= 1"))?),
            None => None,
        };
        if parts.next().is_some() {
            return Err(err("too many parts"));
        }
        Ok(Self {
            segment,
            occurrence: occurrence.unwrap_or(1),
            field,
            repetition,
            component,
            subcomponent,
        })
    }

    /// The segment name.
    pub fn segment(&self) -> &str {
        std::str::from_utf8(&self.segment).unwrap_or("")
    }
}

impl std::str::FromStr for TerserPath {
    type Err = PathError;

    fn from_str(s: &str) -> Result<Self, PathError> {
        Self::parse(s)
    }
}

/// Splits `NAME(n)` into `NAME` and `Some(n)`, or `NAME` into `NAME, None`.
/// `None` when the parenthesis part is malformed or zero.
fn split_index(s: &str) -> Option<(&str, Option<usize>)> {
    match s.find('(') {
        None => Some((s, None)),
        Some(open) => {
            let inner = s[open + 1..].strip_suffix(')')?;
            Some((&s[..open], Some(number(inner)?)))
        }
    }
}

/// A 1-based index: ASCII digits only, at least 1.
fn number(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|&n| n >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_forms() {
        let p = TerserPath::parse("PID-3(2)-1").unwrap();
        assert_eq!(
            (
                p.segment(),
                p.occurrence,
                p.field,
                p.repetition,
                p.component
            ),
            ("PID", 1, 3, Some(2), Some(1))
        );
        let p = TerserPath::parse("OBX(3)-5-2-4").unwrap();
        assert_eq!(
            (p.occurrence, p.field, p.component, p.subcomponent),
            (3, 5, Some(2), Some(4))
        );
        let p = TerserPath::parse("ZP1-1").unwrap();
        assert_eq!(p.segment(), "ZP1");
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "PID",
            "PI-3",
            "pid-3",
            "PID-0",
            "PID-3(0)",
            "PID-3(x)",
            "PID(2-3",
            "PID-3-1-1-1",
            "PID-",
            "PID-3--1",
            "PID-+3",
        ] {
            assert!(TerserPath::parse(bad).is_err(), "{bad}");
        }
    }
}
