//! FHIR date, dateTime, instant and time -> v2 DTM/TS and TM.

use serde_json::Value;

use super::super::ctx::{s, Ctx};

/// A FHIR `date`, `dateTime` or `instant` as a v2 DTM/TS
/// (`2024-01-02T10:11:12.5+01:00` -> `20240102101112.5+0100`); `None`
/// for text that is not one.
pub fn dtm(fhir: &str) -> Option<String> {
    let (date, time) = match fhir.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (fhir, None),
    };
    let mut out = String::with_capacity(24);
    let parts: Vec<&str> = date.split('-').collect();
    let widths = [4, 2, 2];
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    for (p, w) in parts.iter().zip(widths) {
        if p.len() != w || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        out.push_str(p);
    }
    let Some(time) = time else {
        return Some(out);
    };
    if parts.len() != 3 {
        return None;
    }
    let (clock, zone) = split_zone(time)?;
    let (hms, frac) = match clock.split_once('.') {
        Some((h, f)) => (h, Some(f)),
        None => (clock, None),
    };
    let t: Vec<&str> = hms.split(':').collect();
    if t.len() < 2 || t.len() > 3 {
        return None;
    }
    for p in &t {
        if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        out.push_str(p);
    }
    if let Some(f) = frac {
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        out.push('.');
        // DTM allows four fraction digits
        out.push_str(&f[..f.len().min(4)]);
    }
    if let Some(z) = zone {
        out.push_str(&z);
    }
    Some(out)
}

/// `hh:mm:ss[.f]` and its zone in v2 form (`Z` -> `+0000`).
fn split_zone(t: &str) -> Option<(&str, Option<String>)> {
    if let Some(c) = t.strip_suffix('Z') {
        return Some((c, Some("+0000".into())));
    }
    match t.rfind(['+', '-']) {
        Some(i) => {
            let z = &t[i + 1..];
            let (h, m) = z.split_once(':')?;
            let ok = h.len() == 2 && m.len() == 2;
            let digits = h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit());
            if !ok || !digits {
                return None;
            }
            Some((&t[..i], Some(format!("{}{h}{m}", &t[i..=i]))))
        }
        None => Some((t, None)),
    }
}

/// A FHIR `time` (`hh:mm:ss`) as a v2 TM (`hhmmss`).
pub fn tm(fhir: &str) -> Option<String> {
    let (hms, frac) = fhir.split_once('.').unwrap_or((fhir, ""));
    let parts: Vec<&str> = hms.split(':').collect();
    let two_digits = |p: &&str| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit());
    if parts.len() != 3
        || !parts.iter().all(two_digits)
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut out = parts.concat();
    if !frac.is_empty() {
        out.push('.');
        out.push_str(&frac[..frac.len().min(4)]);
    }
    Some(out)
}

/// [`dtm`] of `v[key]`, reporting text that is no FHIR date.
pub fn dtm_at(ctx: &mut Ctx<'_, '_>, v: &Value, key: &str, path: &str) -> Option<String> {
    let t = s(v, key)?;
    let d = dtm(t);
    if d.is_none() {
        ctx.not_mapped(format!("{path}.{key}"), "not a FHIR date/time");
    }
    d
}

/// [`dtm`] of a resource element, marked used.
pub fn dtm_of(ctx: &mut Ctx<'_, '_>, i: usize, key: &str) -> Option<String> {
    let t = ctx.str(i, key)?;
    let d = dtm(t);
    if d.is_none() {
        let p = ctx.path(i, key);
        ctx.not_mapped(p, "not a FHIR date/time");
    }
    d
}
