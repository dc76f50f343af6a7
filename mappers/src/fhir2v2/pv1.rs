//! Encounter -> PV1 and PV2 (IG PV1[Encounter], PV2[Encounter] in
//! reverse); Location -> PL.

use serde_json::Value;

use super::config::Version;
use super::ctx::{list, s, Ctx};
use super::dt;
use super::er7::{Rep, Seg};
use super::lengths::coded_components;

const V2: &str = "http://terminology.hl7.org/CodeSystem/v2-";

/// The PV1 of a message without a visit: PV1-2 `N` (not applicable), as
/// receivers expect where PV1 is required.
pub fn none() -> Seg {
    let mut s = Seg::new("PV1");
    s.set(1, "1");
    s.set(2, "N");
    s
}

/// A coded field: a CWE/CE where the version has one, else the code
/// alone (IS/ID fields before v2.7).
fn coded(ctx: &mut Ctx<'_, '_>, cc: &Value, seg: &str, field: usize, path: &str) -> Rep {
    let comps = coded_components(ctx.version(), seg, field);
    if comps > 0 {
        return dt::cwe(ctx, cc, path, comps);
    }
    let mut r = Rep::default();
    r.opt(1, dt::code_in(cc, None).or_else(|| s(cc, "code")));
    r
}

/// PV1 from Encounter `e`.
pub fn pv1(ctx: &mut Ctx<'_, '_>, e: usize) -> Seg {
    let base = ctx.res.list[e].path.clone();
    let mut seg = Seg::new("PV1");
    seg.set(1, "1");
    let _ = ctx.get(e, "subject"); // the PID of the message
    let _ = ctx.get(e, "status"); // the trigger event says it (A03 finished, A04 planned...)
    let class = ctx.get(e, "class");
    let code = class.and_then(|c| s(c, "code"));
    let v2class = match code {
        Some(c) => {
            let path = format!("{base}.class");
            dt::table_code(ctx, "encounter-class", c, &path, false)
        }
        None => None,
    };
    seg.set(2, v2class.unwrap_or_else(|| "U".to_owned()));
    let types = ctx.arr(e, "type");
    for (n, t) in types.iter().enumerate() {
        let path = format!("{base}.type[{n}]");
        let field = if dt::code_in(t, Some(format!("{V2}0018").as_str())).is_some() {
            18
        } else if seg.field(4).is_empty() {
            4
        } else {
            ctx.not_mapped(path, "PV1 holds one admission type and one patient type");
            continue;
        };
        let r = coded(ctx, t, "PV1", field, &path);
        seg.rep(field, r);
    }
    if let Some(st) = ctx.get(e, "serviceType") {
        let path = ctx.path(e, "serviceType");
        let r = coded(ctx, st, "PV1", 10, &path);
        seg.rep(10, r);
    }
    let parts = ctx.arr(e, "participant");
    for (n, p) in parts.iter().enumerate() {
        let path = format!("{base}.participant[{n}]");
        let code = list(p, "type")
            .iter()
            .find_map(|t| dt::code_in(t, None))
            .unwrap_or("PART");
        let field = match code {
            "ATND" => 7,
            "REF" => 8,
            "CON" => 9,
            "ADM" => 17,
            _ if ctx.version().at_least(Version::V25) => 52,
            _ => {
                ctx.not_mapped(path, "participant type without a PV1 field before v2.5");
                continue;
            }
        };
        match p.get("individual") {
            Some(ind) => {
                if let Some(r) = dt::xcn(ctx, e, ind, &format!("{path}.individual")) {
                    seg.push(field, r);
                }
            }
            None => ctx.not_mapped(path, "participant without an individual"),
        }
    }
    let locs = ctx.arr(e, "location");
    for (n, l) in locs.iter().enumerate() {
        let path = format!("{base}.location[{n}]");
        let field = match s(l, "status") {
            Some("completed") if seg.field(6).is_empty() => 6,
            Some("planned") if seg.field(42).is_empty() => 42,
            Some("active") | None if seg.field(3).is_empty() => 3,
            _ if seg.field(11).is_empty() => 11,
            _ => {
                ctx.not_mapped(path, "more locations than PV1 has fields for");
                continue;
            }
        };
        if let Some(r) = l.get("location").and_then(|r| pl(ctx, e, r)) {
            seg.rep(field, r);
        }
    }
    if let Some(h) = ctx.get(e, "hospitalization") {
        hospitalization(ctx, h, &format!("{base}.hospitalization"), &mut seg);
    }
    let ids = ctx.arr(e, "identifier");
    for (n, id) in ids.iter().enumerate() {
        let path = format!("{base}.identifier[{n}]");
        let kind = id.get("type").and_then(|t| dt::code_in(t, None));
        let field = match kind {
            Some("AN") if seg.field(50).is_empty() => 50,
            _ if seg.field(19).is_empty() => 19,
            _ => {
                ctx.not_mapped(path, "PV1 holds one visit number and one alternate id");
                continue;
            }
        };
        if let Some(r) = dt::cx(ctx, id, &path) {
            seg.rep(field, r);
        }
    }
    if let Some(p) = ctx.get(e, "period") {
        seg.opt(44, dt::dtm_at(ctx, p, "start", &format!("{base}.period")));
        seg.opt(45, dt::dtm_at(ctx, p, "end", &format!("{base}.period")));
    }
    seg
}

fn hospitalization(ctx: &mut Ctx<'_, '_>, h: &Value, path: &str, seg: &mut Seg) {
    for (key, field) in [
        ("reAdmission", 13),
        ("admitSource", 14),
        ("dischargeDisposition", 36),
    ] {
        if let Some(c) = h.get(key) {
            let r = coded(ctx, c, "PV1", field, &format!("{path}.{key}"));
            seg.rep(field, r);
        }
    }
    for (n, c) in list(h, "specialCourtesy").iter().enumerate() {
        let r = coded(ctx, c, "PV1", 16, &format!("{path}.specialCourtesy[{n}]"));
        if seg.field(16).is_empty() {
            seg.rep(16, r);
        }
    }
    for (n, c) in list(h, "dietPreference").iter().enumerate() {
        let r = coded(ctx, c, "PV1", 38, &format!("{path}.dietPreference[{n}]"));
        if seg.field(38).is_empty() {
            seg.rep(38, r);
        }
    }
    if let Some(d) = h.get("destination") {
        let name = s(d, "display").map(str::to_owned);
        let mut r = Rep::default();
        r.opt(1, name);
        if r.is_empty() {
            ctx.not_mapped(
                format!("{path}.destination"),
                "destination without a display",
            );
        }
        seg.rep(37, r);
    }
    let known = [
        "reAdmission",
        "admitSource",
        "dischargeDisposition",
        "specialCourtesy",
        "dietPreference",
        "destination",
    ];
    if let Some(o) = h.as_object() {
        for k in o.keys().filter(|k| !known.contains(&k.as_str())) {
            ctx.not_mapped(format!("{path}.{k}"), "no v2 field takes it");
        }
    }
}

/// PL from a Location reference (IG PL[Location] in reverse): the chain
/// of `partOf` placed by physical type (site PL-4, building 7, point of
/// care 1, level 8, room 2, bed 3), each level's name as HD-1.
pub fn pl(ctx: &mut Ctx<'_, '_>, from: usize, reference: &Value) -> Option<Rep> {
    let mut r = Rep::default();
    let mut at = ctx.resolve(from, reference);
    if at.is_none() {
        r.opt(1, s(reference, "display"));
        return (!r.is_empty()).then_some(r);
    }
    let mut first = true;
    let mut guard = 0;
    while let Some(l) = at {
        guard += 1;
        if guard > 8 || ctx.kind(l) != "Location" {
            break;
        }
        ctx.include(l);
        let name = ctx
            .str(l, "name")
            .or_else(|| ctx.arr(l, "identifier").first().and_then(|i| s(i, "value")));
        let kind = ctx
            .get(l, "physicalType")
            .and_then(|t| dt::code_in(t, None));
        let comp = match kind {
            Some("si") => 4,
            Some("bu") => 7,
            Some("lvl") => 8,
            Some("ro") => 2,
            Some("bd") => 3,
            _ => 1,
        };
        if let Some(n) = name {
            if r.component(comp).is_none_or(|c| c.is_empty()) {
                r.set_sub(comp, 1, n);
            }
        }
        if first {
            r.opt(9, ctx.str(l, "description"));
            first = false;
        }
        let _ = ctx.get(l, "mode");
        let _ = ctx.get(l, "identifier");
        at = ctx.get(l, "partOf").and_then(|p| ctx.resolve(l, p));
    }
    (!r.is_empty()).then_some(r)
}

/// PV2 from Encounter `e`: PV2-3 the admit reason. `None` without one.
pub fn pv2(ctx: &mut Ctx<'_, '_>, e: usize) -> Option<Seg> {
    let base = ctx.res.list[e].path.clone();
    let reasons = ctx.arr(e, "reasonCode");
    let first = reasons.first()?;
    let comps = coded_components(ctx.version(), "PV2", 3);
    let mut seg = Seg::new("PV2");
    let r = dt::cwe(ctx, first, &format!("{base}.reasonCode[0]"), comps);
    seg.rep(3, r);
    if reasons.len() > 1 {
        ctx.not_mapped(
            format!("{base}.reasonCode[1]"),
            "PV2-3 holds one admit reason",
        );
    }
    Some(seg)
}
