//! Exact UCUM conversions (data: `templates/mappings/terminology/
//! ucum_conversions.tsv`) for a Quantity whose unit the template does not
//! allow but can take in another unit (`840 g` into a node that allows
//! `kg` only becomes `0.84 kg`, as the template demands).
//!
//! The factors are rationals so that common cases stay exact in binary
//! floating point (`840 * 1 / 1000`, not `840 * 0.001`).

use std::sync::OnceLock;

const TABLE: &str = include_str!("../../../templates/mappings/terminology/ucum_conversions.tsv");

/// One conversion row.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Row {
    from: &'static str,
    to: &'static str,
    numerator: f64,
    denominator: f64,
}

fn rows() -> &'static [Row] {
    static ROWS: OnceLock<Vec<Row>> = OnceLock::new();
    ROWS.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let c: Vec<&'static str> = l.split('\t').collect();
                match c.as_slice() {
                    [from, to, n, d] => Some(Row {
                        from,
                        to,
                        numerator: n.parse().ok()?,
                        denominator: d.parse().ok().filter(|d: &f64| *d != 0.0)?,
                    }),
                    _ => None,
                }
            })
            .collect()
    })
}

/// `magnitude` in `from`, converted to the first of `allowed` the table
/// reaches: `(magnitude, unit)`, or `None` when none is reachable.
pub fn convert<'a>(magnitude: f64, from: &str, allowed: &'a [String]) -> Option<(f64, &'a str)> {
    allowed.iter().find_map(|to| {
        rows()
            .iter()
            .find(|r| r.from == from && r.to == to)
            .map(|r| (magnitude * r.numerator / r.denominator, to.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(u: &[&str]) -> Vec<String> {
        u.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn every_row_parses() {
        let n = TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count();
        assert_eq!(rows().len(), n, "a row does not parse");
    }

    #[test]
    fn converts_exactly_where_decimal_arithmetic_is_exact() {
        assert_eq!(convert(840.0, "g", &units(&["kg"])), Some((0.84, "kg")));
        assert_eq!(
            convert(84.0, "[lb_av]", &units(&["kg"])),
            Some((38.10175908, "kg"))
        );
        assert_eq!(convert(10.0, "[in_i]", &units(&["cm"])), Some((25.4, "cm")));
        // the first allowed unit that is reachable wins
        assert_eq!(
            convert(1.0, "kg", &units(&["[lb_av]", "g"])),
            Some((1000.0, "g"))
        );
        assert_eq!(convert(37.0, "Cel", &units(&["[degF]"])), None);
        assert_eq!(convert(1.0, "g", &units(&[])), None);
    }

    #[test]
    fn every_pair_that_goes_both_ways_is_inverse() {
        for r in rows() {
            if let Some(back) = rows().iter().find(|b| b.from == r.to && b.to == r.from) {
                let x = 123.0 * r.numerator / r.denominator * back.numerator / back.denominator;
                assert!((x - 123.0).abs() < 1e-9, "{r:?} / {back:?}");
            }
        }
    }
}
