//! HumanName -> XPN, Address -> XAD, ContactPoint -> XTN, practitioner
//! -> XCN, Organization -> XON (the IG data type maps in reverse).

use serde_json::Value;

use super::super::config::Version;
use super::super::ctx::{list, s, Ctx};
use super::super::er7::Rep;
use super::ident::hd_into;
use super::{code_in, dtm_at, hd, table_code};

/// A HumanName as an XPN: 1 family, 2 first given, 3 further given names,
/// 4 suffix, 5 prefix, 6 second suffix (degree), 7 use (table 0200),
/// 10 (v2.4-2.6) or 12/13 (v2.7+) period.
pub fn xpn(ctx: &mut Ctx<'_, '_>, n: &Value, path: &str) -> Rep {
    let mut r = Rep::default();
    r.opt(1, s(n, "family"));
    let given: Vec<&str> = list(n, "given").iter().filter_map(Value::as_str).collect();
    r.opt(2, given.first().copied());
    if given.len() > 1 {
        r.set(3, given[1..].join(" "));
    }
    let suffix: Vec<&str> = list(n, "suffix").iter().filter_map(Value::as_str).collect();
    r.opt(4, suffix.first().copied());
    if ctx.version().at_least(Version::V27) {
        // XPN-6 (degree) is withdrawn from v2.7
        if suffix.len() > 1 {
            ctx.not_mapped(format!("{path}.suffix[1]"), "XPN-6 is withdrawn from v2.7");
        }
    } else {
        r.opt(6, suffix.get(1).copied());
    }
    if suffix.len() > 2 {
        ctx.not_mapped(format!("{path}.suffix[2]"), "an XPN holds two suffixes");
    }
    let prefix: Vec<&str> = list(n, "prefix").iter().filter_map(Value::as_str).collect();
    r.opt(5, prefix.first().copied());
    if prefix.len() > 1 {
        r.set(5, prefix.join(" "));
    }
    if let Some(u) = s(n, "use") {
        r.opt(
            7,
            table_code(ctx, "name-use", u, &format!("{path}.use"), false),
        );
    }
    if s(n, "family").is_none() && given.is_empty() {
        if let Some(t) = s(n, "text") {
            // a name known only as text: the family component carries it
            r.set(1, t);
        }
    } else if n.get("text").is_some() {
        ctx.not_mapped(format!("{path}.text"), "an XPN has no full-text component");
    }
    if let Some(p) = n.get("period") {
        let (st, en) = (dtm_at(ctx, p, "start", path), dtm_at(ctx, p, "end", path));
        if ctx.version().at_least(Version::V27) {
            r.opt(12, st);
            r.opt(13, en);
        } else if !ctx.version().at_least(Version::V24) {
            // the v2.3 XPN has eight components: no validity range
            ctx.not_mapped(format!("{path}.period"), "an XPN before v2.4 has no period");
        } else {
            if let Some(st) = st {
                r.set_sub(10, 1, st);
            }
            if let Some(en) = en {
                r.set_sub(10, 2, en);
            }
        }
    }
    r
}

/// An Address as an XAD: 1 first line, 2 second line, 3 city, 4 state,
/// 5 postal code, 6 country, 7 type (table 0190 from use or type), 9
/// district.
pub fn xad(ctx: &mut Ctx<'_, '_>, a: &Value, path: &str) -> Rep {
    let mut r = Rep::default();
    let lines: Vec<&str> = list(a, "line").iter().filter_map(Value::as_str).collect();
    r.opt(1, lines.first().copied());
    if lines.len() > 1 {
        r.set(2, lines[1..].join(", "));
    }
    r.opt(3, s(a, "city"));
    r.opt(4, s(a, "state"));
    r.opt(5, s(a, "postalCode"));
    r.opt(6, s(a, "country"));
    r.opt(9, s(a, "district"));
    let kind = match (s(a, "use"), s(a, "type")) {
        (_, Some("postal")) => Some(("address-type", "postal", "type")),
        (Some(u), _) => Some(("address-use", u, "use")),
        (None, Some(t)) => Some(("address-type", t, "type")),
        (None, None) => None,
    };
    if let Some((map, code, key)) = kind {
        r.opt(
            7,
            table_code(ctx, map, code, &format!("{path}.{key}"), false),
        );
    }
    if a.get("text").is_some() && lines.is_empty() {
        r.opt(1, s(a, "text"));
    } else if a.get("text").is_some() {
        ctx.not_mapped(format!("{path}.text"), "an XAD has no full-text component");
    }
    r
}

/// A ContactPoint as an XTN: 2 use (table 0201), 3 equipment (table
/// 0202), 4 address for email, else 1 (to v2.6) and 12 (v2.5+) the number,
/// 18 rank (v2.7+).
pub fn xtn(ctx: &mut Ctx<'_, '_>, c: &Value, path: &str) -> Option<Rep> {
    let value = s(c, "value")?;
    let system = s(c, "system").unwrap_or("phone");
    let mut r = Rep::default();
    let equip = match system {
        "phone" if s(c, "use") == Some("mobile") => Some("CP".to_owned()),
        other => table_code(
            ctx,
            "telecom-system",
            other,
            &format!("{path}.system"),
            false,
        ),
    };
    let use_code = match s(c, "use") {
        Some("mobile") => Some("PRS".to_owned()),
        Some(u) => table_code(ctx, "telecom-use", u, &format!("{path}.use"), false),
        None => None,
    };
    r.opt(2, use_code);
    r.opt(3, equip);
    let v = ctx.version();
    if system == "email" {
        r.set(4, value);
    } else if !v.at_least(Version::V25) && !is_tn(value) {
        // XTN-1 is a TN before v2.5: a number in another form is text
        ctx.warn(
            format!("{path}.value"),
            "not in the v2.3/2.4 TN form [NN ][(999)]999-9999: sent as XTN-9 text",
        );
        r.set(9, value);
    } else {
        // XTN-1 (TN) is gone from the v2.6 definitions; XTN-12 since v2.5
        if !v.at_least(Version::V26) {
            r.set(1, value);
        }
        if v.at_least(Version::V25) {
            r.set(12, value);
        }
    }
    if let Some(rank) = c.get("rank").and_then(Value::as_u64) {
        if v.at_least(Version::V27) {
            r.set(18, rank.to_string());
        }
    }
    Some(r)
}

/// True for a number in the TN form `[NN ][(999)]999[-]9999[X99999][B99999][C text]`.
pub(super) fn is_tn(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    // country code: two digits and a space
    if b.len() > 3 && b[0].is_ascii_digit() && b[1].is_ascii_digit() && b[2] == b' ' {
        i = 3;
    }
    if b.get(i) == Some(&b'(') {
        i += 1;
        if digits(&mut i) == 0 || b.get(i) != Some(&b')') {
            return false;
        }
        i += 1;
    }
    let first = digits(&mut i);
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    if first + digits(&mut i) < 2 {
        return false;
    }
    for tag in [b'X', b'B'] {
        if b.get(i) == Some(&tag) {
            i += 1;
            if digits(&mut i) == 0 {
                return false;
            }
        }
    }
    i == b.len() || (b[i] == b'C' && i + 1 < b.len())
}

/// A practitioner (a Reference from resource `from`) as an XCN: 1 id,
/// 2-6 name, 9 assigning authority, 13 identifier type. A Reference to a
/// resource not in the input gives its identifier and display.
pub fn xcn(ctx: &mut Ctx<'_, '_>, from: usize, reference: &Value, path: &str) -> Option<Rep> {
    let target = ctx.resolve(from, reference);
    let target = match target {
        Some(t) if ctx.kind(t) == "PractitionerRole" => {
            ctx.include(t);
            let p = ctx.get(t, "practitioner");
            p.and_then(|p| ctx.resolve(t, p)).or(Some(t))
        }
        other => other,
    };
    let mut r = Rep::default();
    match target {
        Some(t) if ctx.kind(t) == "Practitioner" || ctx.kind(t) == "RelatedPerson" => {
            let pp = ctx.res.list[t].path.clone();
            let ids = ctx.arr(t, "identifier");
            if let Some(id) = ids.first() {
                fill_xcn_id(ctx, &mut r, id);
            }
            let names = ctx.arr(t, "name");
            if let Some(n) = names.first() {
                name_into_xcn(ctx, &mut r, n, &format!("{pp}.name[0]"));
            }
        }
        Some(t) if ctx.kind(t) == "Organization" => {
            ctx.include(t);
            r.opt(2, ctx.str(t, "name"));
        }
        _ => {
            if let Some(id) = reference.get("identifier") {
                fill_xcn_id(ctx, &mut r, id);
            }
            if let Some(d) = s(reference, "display") {
                r.set(2, d);
            }
            if r.is_empty() && reference.get("reference").is_some() {
                ctx.not_mapped(path, "reference to a resource that is not in the input");
            }
        }
    }
    (!r.is_empty()).then_some(r)
}

fn fill_xcn_id(ctx: &mut Ctx<'_, '_>, r: &mut Rep, id: &Value) {
    r.opt(1, s(id, "value"));
    if let Some(sys) = s(id, "system") {
        let h = hd(ctx.cfg, sys);
        hd_into(r, 9, &h);
    }
    if let Some(t) = id.get("type").and_then(|t| code_in(t, None)) {
        r.set(13, t);
    }
}

fn name_into_xcn(ctx: &mut Ctx<'_, '_>, r: &mut Rep, n: &Value, path: &str) {
    let x = xpn(ctx, n, path);
    // XCN = id, then the XPN components shifted by one (family in 2)
    for (src, dst) in [(1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7)] {
        if let Some(v) = x.component(src).and_then(|c| c.first()) {
            r.set(dst, v.clone());
        }
    }
}

/// An Organization as an XON: 1 name, 6 assigning authority and 10
/// identifier (v2.5+), else 3 the id.
pub fn xon(ctx: &mut Ctx<'_, '_>, org: usize) -> Rep {
    let mut r = Rep::default();
    r.opt(1, ctx.str(org, "name"));
    let ids = ctx.arr(org, "identifier");
    if let Some(id) = ids.first() {
        if let Some(v) = s(id, "value") {
            if ctx.version().at_least(Version::V25) {
                r.set(10, v);
            } else if v.bytes().all(|b| b.is_ascii_digit()) {
                // XON-3 (the id before v2.5) is an NM
                r.set(3, v);
            } else {
                let p = format!("{}.identifier[0]", ctx.res.list[org].path);
                ctx.not_mapped(p, "XON-3 takes a number before v2.5");
            }
            if let Some(sys) = s(id, "system") {
                let h = hd(ctx.cfg, sys);
                hd_into(&mut r, 6, &h);
            }
        }
    }
    r
}
