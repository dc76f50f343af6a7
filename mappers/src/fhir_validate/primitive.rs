//! FHIR R4 primitive values in JSON (R4 `datatypes.html#primitive`,
//! `json.html#primitive`): the JSON kind each type takes and its lexical
//! form. Written by hand to the regular expressions of the spec (no regex
//! engine: the forms are short and fixed).

use serde_json::Value;

/// Why a primitive value is not valid for its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bad {
    /// The JSON kind is wrong (a number where a string belongs); names
    /// the kind R4 wants.
    Kind(&'static str),
    /// The JSON kind is right, the lexical form is not.
    Form,
}

/// Whether `ty` is a FHIR primitive type.
pub fn is_primitive(ty: &str) -> bool {
    ty.starts_with(|c: char| c.is_ascii_lowercase())
}

/// Checks `value` as a FHIR `ty`.
pub fn check(ty: &str, value: &Value) -> Result<(), Bad> {
    match ty {
        "boolean" => value.as_bool().map(|_| ()).ok_or(Bad::Kind("boolean")),
        "integer" | "positiveInt" | "unsignedInt" => {
            let Some(n) = value.as_i64() else {
                return Err(Bad::Kind("integer number"));
            };
            let ok = match ty {
                "positiveInt" => (1..=i64::from(i32::MAX)).contains(&n),
                "unsignedInt" => (0..=i64::from(i32::MAX)).contains(&n),
                _ => (i64::from(i32::MIN)..=i64::from(i32::MAX)).contains(&n),
            };
            ok.then_some(()).ok_or(Bad::Form)
        }
        "decimal" => value
            .as_f64()
            .filter(|f| f.is_finite())
            .map(|_| ())
            .ok_or(Bad::Kind("number")),
        _ => {
            let Some(s) = value.as_str() else {
                return Err(Bad::Kind("string"));
            };
            string_form(ty, s).then_some(()).ok_or(Bad::Form)
        }
    }
}

/// The lexical form of the string-valued types.
fn string_form(ty: &str, s: &str) -> bool {
    match ty {
        // R4: strings SHALL NOT be empty and carry at least one non-space.
        "string" | "markdown" => !s.trim().is_empty(),
        "code" => !s.is_empty() && s.trim() == s && !s.contains("  "),
        "id" => {
            (1..=64).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        }
        "uri" | "url" | "canonical" => !s.is_empty() && !s.chars().any(char::is_whitespace),
        "uuid" => s.strip_prefix("urn:uuid:").is_some_and(is_uuid),
        "oid" => s.strip_prefix("urn:oid:").is_some_and(is_oid),
        "date" => is_date(s),
        "dateTime" => match s.split_once('T') {
            None => is_date(s),
            Some((d, t)) => d.len() == 10 && is_date(d) && is_zoned_time(t),
        },
        "instant" => s
            .split_once('T')
            .is_some_and(|(d, t)| d.len() == 10 && is_date(d) && is_zoned_time(t)),
        "time" => is_clock(s),
        "base64Binary" => s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b' ' | b'\n' | b'\r')
        }),
        "xhtml" => s.trim_start().starts_with("<div"),
        _ => true,
    }
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, with a valid month and day.
fn is_date(s: &str) -> bool {
    fn digits(p: &str, n: usize) -> bool {
        p.len() == n && p.bytes().all(|b| b.is_ascii_digit())
    }
    fn num(p: &str) -> u32 {
        p.parse().unwrap_or(0)
    }
    let parts: Vec<&str> = s.split('-').collect();
    match *parts.as_slice() {
        [y] => digits(y, 4),
        [y, m] => digits(y, 4) && digits(m, 2) && (1..=12).contains(&num(m)),
        [y, m, d] => {
            digits(y, 4)
                && digits(m, 2)
                && digits(d, 2)
                && (1..=12).contains(&num(m))
                && (1..=days_in(num(y), num(m))).contains(&num(d))
        }
        _ => false,
    }
}

fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `hh:mm:ss(.f+)?` followed by `Z` or `+hh:mm` / `-hh:mm` (R4 requires a
/// zone when a time is given).
fn is_zoned_time(t: &str) -> bool {
    let (clock, zone) = match t.find(['Z', '+', '-']) {
        Some(i) => t.split_at(i),
        None => return false,
    };
    let zone_ok = zone == "Z"
        || (zone.len() == 6
            && zone[1..].split_once(':').is_some_and(|(h, m)| {
                two_digits(h, 14) && two_digits(m, 59) && (h != "14" || m == "00")
            }));
    zone_ok && is_clock(clock)
}

/// `hh:mm:ss(.f+)?`.
fn is_clock(s: &str) -> bool {
    let (hms, fraction) = s.split_once('.').unwrap_or((s, "0"));
    let fraction_ok = !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = hms.split(':').collect();
    fraction_ok
        && matches!(*parts.as_slice(), [h, m, sec] if two_digits(h, 23) && two_digits(m, 59) && two_digits(sec, 60))
}

fn two_digits(s: &str, max: u32) -> bool {
    s.len() == 2
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u32>().is_ok_and(|n| n <= max)
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    groups.len() == 5
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_oid(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_follow_the_json_representation() {
        assert_eq!(check("boolean", &json!("true")), Err(Bad::Kind("boolean")));
        assert_eq!(check("string", &json!(1)), Err(Bad::Kind("string")));
        assert_eq!(check("decimal", &json!("1.5")), Err(Bad::Kind("number")));
        assert_eq!(
            check("integer", &json!(1.5)),
            Err(Bad::Kind("integer number"))
        );
        assert_eq!(check("positiveInt", &json!(0)), Err(Bad::Form));
        assert_eq!(check("unsignedInt", &json!(0)), Ok(()));
        assert_eq!(check("decimal", &json!(72)), Ok(()));
    }

    #[test]
    fn dates_and_times_follow_the_spec() {
        for ok in ["2024", "2024-02", "2024-02-29", "2023-12-31"] {
            assert_eq!(check("date", &json!(ok)), Ok(()), "{ok}");
        }
        for bad in ["2023-02-29", "2024-13", "24-01-01", "2024-1-01", ""] {
            assert_eq!(check("date", &json!(bad)), Err(Bad::Form), "{bad}");
        }
        for ok in [
            "2024-01-05",
            "2024-01-05T10:00:00Z",
            "2024-01-05T10:00:00.123+01:00",
            "2024-01-05T23:59:60-14:00",
        ] {
            assert_eq!(check("dateTime", &json!(ok)), Ok(()), "{ok}");
        }
        for bad in [
            "2024-01-05T10:00:00",
            "2024-01-05T10:00Z",
            "2024-01-05T25:00:00Z",
        ] {
            assert_eq!(check("dateTime", &json!(bad)), Err(Bad::Form), "{bad}");
        }
        assert_eq!(check("instant", &json!("2024-01-05")), Err(Bad::Form));
        assert_eq!(check("time", &json!("10:30:00")), Ok(()));
        assert_eq!(check("time", &json!("10:30")), Err(Bad::Form));
    }

    #[test]
    fn codes_ids_and_uris_have_their_forms() {
        assert_eq!(check("code", &json!("final")), Ok(()));
        assert_eq!(check("code", &json!(" final")), Err(Bad::Form));
        assert_eq!(check("id", &json!("a-1.B")), Ok(()));
        assert_eq!(check("id", &json!("a_1")), Err(Bad::Form));
        assert_eq!(check("id", &json!("x".repeat(65))), Err(Bad::Form));
        assert_eq!(check("uri", &json!("http://loinc.org")), Ok(()));
        assert_eq!(check("uri", &json!("http://a b")), Err(Bad::Form));
        assert_eq!(check("string", &json!("   ")), Err(Bad::Form));
        assert_eq!(
            check(
                "uuid",
                &json!("urn:uuid:8f7c1c1e-0000-4000-8000-000000000000")
            ),
            Ok(())
        );
        assert_eq!(check("oid", &json!("urn:oid:1.2.3")), Ok(()));
        assert!(is_primitive("dateTime") && !is_primitive("Quantity"));
    }
}
