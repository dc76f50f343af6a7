//! Ordering of values in conditions and `ORDER BY`, as EHRbase 2.x orders
//! them: numbers by value, booleans by value, text by code point (a
//! `.../value` string is text there, so `2024-03-01T00:30:00+01:00` sorts
//! after `2024-03` although it is February in UTC), and a `DV_DATE_TIME`,
//! `DV_DATE` or `DV_TIME` object by instant (EHRbase compares `DV_ORDERED`
//! values by magnitude and turns a string operand into one), offsets
//! applied, a date being its midnight UTC. Values of different kinds do
//! not compare (the condition is false).

use std::cmp::Ordering;

use serde_json::Value;

/// Orders two values, or `None` when they do not compare.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::String(x), Value::String(y)) => Some(x.as_str().cmp(y.as_str())),
        (Value::Object(_), _) | (_, Value::Object(_)) => {
            instant_of(a)?.partial_cmp(&instant_of(b)?)
        }
        (Value::String(s), Value::Number(n)) => s.parse::<f64>().ok()?.partial_cmp(&n.as_f64()?),
        (Value::Number(n), Value::String(s)) => n.as_f64()?.partial_cmp(&s.parse::<f64>().ok()?),
        _ => None,
    }
}

/// The instant of a temporal data value (`{"_type": "DV_DATE_TIME",
/// "value": ...}`) or of an ISO 8601 string compared with one.
fn instant_of(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => instant(s),
        Value::Object(o) => {
            let temporal = o
                .get("_type")
                .and_then(Value::as_str)
                .is_some_and(|t| matches!(t, "DV_DATE_TIME" | "DV_DATE" | "DV_TIME"));
            if !temporal {
                return None;
            }
            instant(o.get("value")?.as_str()?)
        }
        _ => None,
    }
}

/// Seconds since 1970 of an ISO 8601 date or date-time
/// (`2024-01-02`, `2024-01-02T10:00`, `2024-01-02T10:00:00.5+01:00`,
/// basic format `20240102T100000Z` too), or `None` for other text.
pub fn instant(s: &str) -> Option<f64> {
    let s = s.trim();
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let digits: String = date.chars().filter(|c| *c != '-').collect();
    if digits.len() != 8 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if date.contains('-') && date.len() != 10 {
        return None;
    }
    let y: i64 = digits[0..4].parse().ok()?;
    let m: i64 = digits[4..6].parse().ok()?;
    let d: i64 = digits[6..8].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) as f64 * 86_400.0;
    if let Some(t) = time {
        let (clock, offset) = split_offset(t)?;
        let parts: Vec<&str> = if clock.contains(':') {
            clock.split(':').collect()
        } else {
            // basic format: hh, hhmm, hhmmss[.fff]
            let whole = clock.split('.').next().unwrap_or("");
            if !whole.is_ascii() {
                return None;
            }
            match whole.len() {
                2 => vec![&clock[0..2]],
                4 => vec![&clock[0..2], &clock[2..4]],
                6 => vec![&clock[0..2], &clock[2..4], &clock[4..]],
                _ => return None,
            }
        };
        let h: f64 = parts.first()?.parse().ok()?;
        let mi: f64 = parts.get(1).map_or(Some(0.0), |p| p.parse().ok())?;
        let se: f64 = parts.get(2).map_or(Some(0.0), |p| p.parse().ok())?;
        secs += h * 3600.0 + mi * 60.0 + se - offset;
    }
    Some(secs)
}

/// Splits `10:00:00+01:00` into the clock and the offset in seconds.
fn split_offset(t: &str) -> Option<(&str, f64)> {
    if let Some(c) = t.strip_suffix('Z') {
        return Some((c, 0.0));
    }
    if let Some(i) = t.rfind(['+', '-']) {
        let (c, off) = t.split_at(i);
        let sign = if off.starts_with('-') { -1.0 } else { 1.0 };
        let digits: String = off[1..].chars().filter(|c| *c != ':').collect();
        if digits.len() != 4 && digits.len() != 2 {
            return None;
        }
        let h: f64 = digits.get(0..2)?.parse().ok()?;
        let m: f64 = digits.get(2..4).map_or(Some(0.0), |x| x.parse().ok())?;
        return Some((c, sign * (h * 3600.0 + m * 60.0)));
    }
    Some((t, 0.0))
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_compare_by_instant() {
        assert_eq!(instant("1970-01-01"), Some(0.0));
        assert_eq!(instant("1970-01-02T00:00:00Z"), Some(86_400.0));
        assert_eq!(
            instant("2024-01-01T10:00:00+01:00"),
            instant("2024-01-01T09:00:00Z")
        );
        assert_eq!(instant("20240101T090000Z"), instant("2024-01-01T09:00:00Z"));
        assert_eq!(instant("hello"), None);
        let dt = |v: &str| json!({"_type": "DV_DATE_TIME", "value": v});
        assert_eq!(
            compare(
                &dt("2024-01-01T10:00:00+01:00"),
                &json!("2024-01-01T09:30:00Z")
            ),
            Some(Ordering::Less)
        );
        assert_eq!(
            compare(&dt("2024-03-01T00:30:00+01:00"), &json!("2024-03-01")),
            Some(Ordering::Less)
        );
        // As text (EHRbase on `.../value`): the same pair orders the other way.
        assert_eq!(
            compare(&json!("2024-03-01T00:30:00+01:00"), &json!("2024-03-01")),
            Some(Ordering::Greater)
        );
        assert_eq!(compare(&json!({"value": "2024"}), &json!("2024")), None);
        assert_eq!(compare(&json!(2), &json!(10)), Some(Ordering::Less));
        assert_eq!(compare(&json!("b"), &json!("a")), Some(Ordering::Greater));
        assert_eq!(compare(&json!(true), &json!("a")), None);
    }
}
