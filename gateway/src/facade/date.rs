//! The FHIR `date` search parameter as a half-open range of ISO 8601
//! strings, so AQL can compare the composition's `context/start_time`.
//!
//! A FHIR date value stands for the whole period its precision names:
//! `2024-03` is all of March. `eq` means "within the period", `ge` "at or
//! after its start", `gt` "after its end", `le` "before its end", `lt`
//! "before its start". A dateTime is an instant: `eq` is that instant,
//! `gt`/`le` compare with it directly. The AQL compares the bounds with
//! the DV_DATE_TIME itself (by instant, offsets applied), never with its
//! `value` text (see [`super::aql`]).

use super::error::FacadeError;

/// A comparison against a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `>` (after an instant)
    Gt,
    /// `<=` (at or before an instant)
    Le,
}

/// One `date=` parameter as AQL comparisons on the start time.
pub fn parse(value: &str) -> Result<Vec<(Cmp, String)>, FacadeError> {
    let bad = |reason: &str| FacadeError::BadSearch {
        name: "date".into(),
        reason: reason.into(),
    };
    let (prefix, rest) = match value.get(..2) {
        Some(p @ ("eq" | "ge" | "le" | "gt" | "lt")) => (p, &value[2..]),
        Some(p) if p.chars().all(|c| c.is_ascii_lowercase()) => {
            return Err(bad("prefix must be one of eq, ge, le, gt, lt"))
        }
        _ => ("eq", value),
    };
    let (lo, hi) = period(rest)
        .ok_or_else(|| bad("not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime)"))?;
    let instant = lo == hi;
    Ok(match prefix {
        "eq" if instant => vec![(Cmp::Ge, lo), (Cmp::Le, hi)],
        "eq" => vec![(Cmp::Ge, lo), (Cmp::Lt, hi)],
        "ge" => vec![(Cmp::Ge, lo)],
        "gt" if instant => vec![(Cmp::Gt, hi)],
        "gt" => vec![(Cmp::Ge, hi)],
        "le" if instant => vec![(Cmp::Le, hi)],
        "le" => vec![(Cmp::Lt, hi)],
        _ => vec![(Cmp::Lt, lo)],
    })
}

/// The period `[start, end)` a FHIR date names, or `(t, t)` for a
/// dateTime (an instant).
fn period(v: &str) -> Option<(String, String)> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let num = |s: &str| s.parse::<u32>().ok();
    let parts: Vec<&str> = v.splitn(3, '-').collect();
    match parts.as_slice() {
        [y] if digits(y, 4) => {
            let y = num(y)?;
            Some((format!("{y:04}"), format!("{:04}", y + 1)))
        }
        [y, m] if digits(y, 4) && digits(m, 2) => {
            let (y, m) = (num(y)?, num(m)?);
            if !(1..=12).contains(&m) {
                return None;
            }
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            Some((format!("{y:04}-{m:02}"), format!("{ny:04}-{nm:02}")))
        }
        [y, m, d] if digits(y, 4) && digits(m, 2) && digits(d, 2) => {
            let (y, m, d) = (num(y)?, num(m)?, num(d)?);
            if !(1..=12).contains(&m) || d == 0 || d > days_in(y, m) {
                return None;
            }
            let (ny, nm, nd) = if d < days_in(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
            Some((
                format!("{y:04}-{m:02}-{d:02}"),
                format!("{ny:04}-{nm:02}-{nd:02}"),
            ))
        }
        [y, m, rest] if digits(y, 4) && digits(m, 2) && rest.len() > 3 => {
            // A dateTime: an instant, as written.
            let date = &v[..10];
            period(date)?;
            let t = v.get(10..)?;
            if !t.starts_with('T') || t.len() < 9 || t.len() > 40 {
                return None;
            }
            if !t
                .bytes()
                .all(|b| b.is_ascii_digit() || b"T:.+-Z".contains(&b))
            {
                return None;
            }
            Some((v.to_owned(), v.to_owned()))
        }
        _ => None,
    }
}

fn days_in(y: u32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A clinical date from a resource as a full UTC dateTime for the
/// composition's start time (`2024-03-01` -> `2024-03-01T00:00:00Z`);
/// `None` when it is not a FHIR date.
pub fn to_start_time(v: &str) -> Option<String> {
    match v.len() {
        4 => Some(format!("{v}-01-01T00:00:00Z")),
        7 => Some(format!("{v}-01T00:00:00Z")),
        10 => Some(format!("{v}T00:00:00Z")),
        n if n > 10 && v.as_bytes().get(10) == Some(&b'T') => Some(v.to_owned()),
        _ => None,
    }
    .filter(|_| period(&v[..v.len().min(10)]).is_some())
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub use crate::telemetry::clock::now_rfc3339_seconds as now_rfc3339;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_become_bounds() {
        assert_eq!(
            parse("2024-02-28").unwrap(),
            [
                (Cmp::Ge, "2024-02-28".into()),
                (Cmp::Lt, "2024-02-29".into())
            ]
        );
        assert_eq!(parse("ge2023-12").unwrap(), [(Cmp::Ge, "2023-12".into())]);
        assert_eq!(parse("gt2023-12").unwrap(), [(Cmp::Ge, "2024-01".into())]);
        assert_eq!(parse("le2023").unwrap(), [(Cmp::Lt, "2024".into())]);
        assert_eq!(
            parse("lt2023-12-31").unwrap(),
            [(Cmp::Lt, "2023-12-31".into())]
        );
        assert_eq!(
            parse("eq2023-12-31").unwrap()[1],
            (Cmp::Lt, "2024-01-01".into())
        );
        assert_eq!(
            parse("eq2024-02-29").unwrap()[1],
            (Cmp::Lt, "2024-03-01".into())
        );
    }

    #[test]
    fn date_times_are_instants() {
        let t = "2024-03-01T10:00:00+01:00";
        assert_eq!(
            parse(t).unwrap(),
            [(Cmp::Ge, t.into()), (Cmp::Le, t.into())]
        );
        assert_eq!(parse(&format!("gt{t}")).unwrap(), [(Cmp::Gt, t.into())]);
        assert_eq!(parse(&format!("le{t}")).unwrap(), [(Cmp::Le, t.into())]);
        assert_eq!(parse(&format!("lt{t}")).unwrap(), [(Cmp::Lt, t.into())]);
    }

    #[test]
    fn bad_dates_are_refused() {
        for v in [
            "sa2024",
            "2024-13",
            "2024-02-30",
            "24",
            "2024-1-1",
            "ge",
            "2024-03-01Tx",
        ] {
            assert!(parse(v).is_err(), "{v}");
        }
        assert!(parse("2024-03-01T10:00:00Z").is_ok());
    }

    #[test]
    fn start_times_are_full_date_times() {
        assert_eq!(to_start_time("2024-03").unwrap(), "2024-03-01T00:00:00Z");
        assert_eq!(
            to_start_time("2024-03-01T10:00:00+01:00").unwrap(),
            "2024-03-01T10:00:00+01:00"
        );
        assert_eq!(to_start_time("yesterday"), None);
    }
}
