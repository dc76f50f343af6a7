//! Observation -> OBX (+ NTE), IG OBX[Observation] in reverse: OBX-2 from
//! the value[x] type, OBX-5 the value, OBX-6 units as CWE with UCUM,
//! OBX-7 the reference range, OBX-8 the interpretation, OBX-11 the status.
//! Components and members become OBX rows of their own.

use serde_json::Value;

use super::config::Version;
use super::ctx::{list, s, Ctx};
use super::dt;
use super::er7::{Rep, Seg};
use super::error::FhirV2Error;
use super::lengths::coded_components;

/// The value[x] choices an Observation (or a component) may carry.
pub const VALUES: &[&str] = &[
    "valueQuantity",
    "valueCodeableConcept",
    "valueString",
    "valueBoolean",
    "valueInteger",
    "valueRange",
    "valueRatio",
    "valueSampledData",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
];

/// OBX-2 and the OBX-5 repetitions of one value[x]; `None` for a type v2
/// has no value type for (reported by the caller).
fn value(
    ctx: &mut Ctx<'_, '_>,
    key: &str,
    v: &Value,
    path: &str,
) -> Option<(&'static str, Vec<Rep>, Option<Rep>)> {
    let ver = ctx.version();
    match key {
        "valueQuantity" => {
            let n = v.get("value").and_then(dt::number)?;
            let units = dt::units(ctx, v, &format!("{path}.{key}"));
            match s(v, "comparator") {
                Some(c) => {
                    let mut r = Rep::default();
                    r.set(1, c);
                    r.set(2, n);
                    Some(("SN", vec![r], units))
                }
                None => Some(("NM", vec![Rep::text(n)], units)),
            }
        }
        "valueInteger" => Some(("NM", vec![Rep::text(dt::number(v)?)], None)),
        "valueCodeableConcept" => {
            let comps = if ver.at_least(Version::V25) { 9 } else { 6 };
            let r = dt::cwe(ctx, v, &format!("{path}.{key}"), comps);
            let kind = if ver.at_least(Version::V25) {
                "CWE"
            } else {
                "CE"
            };
            Some((kind, vec![r], None))
        }
        "valueBoolean" => {
            let b = v.as_bool()?;
            let mut r = Rep::default();
            r.set(1, if b { "Y" } else { "N" });
            r.set(2, if b { "Yes" } else { "No" });
            r.set(3, "HL70136");
            let kind = if ver.at_least(Version::V25) {
                "CWE"
            } else {
                "CE"
            };
            Some((kind, vec![r], None))
        }
        "valueString" => {
            let t = v.as_str()?;
            if t.contains('\n') || t.chars().count() > 199 {
                // TX: one repetition per line, which the v2 -> FHIR map
                // joins with line breaks again
                let reps = t.lines().map(Rep::text).collect();
                Some(("TX", reps, None))
            } else {
                Some(("ST", vec![Rep::text(t)], None))
            }
        }
        "valueRange" => {
            let lo = v
                .get("low")
                .and_then(|q| q.get("value"))
                .and_then(dt::number);
            let hi = v
                .get("high")
                .and_then(|q| q.get("value"))
                .and_then(dt::number);
            let units = v
                .get("low")
                .or_else(|| v.get("high"))
                .and_then(|q| dt::units(ctx, q, &format!("{path}.{key}")));
            let mut r = Rep::default();
            match (lo, hi) {
                (Some(l), Some(h)) => {
                    r.set(2, l);
                    r.set(3, "-");
                    r.set(4, h);
                }
                (Some(l), None) => {
                    r.set(1, ">=");
                    r.set(2, l);
                }
                (None, Some(h)) => {
                    r.set(1, "<=");
                    r.set(2, h);
                }
                (None, None) => return None,
            }
            Some(("SN", vec![r], units))
        }
        "valueRatio" => {
            let n = v
                .get("numerator")
                .and_then(|q| q.get("value"))
                .and_then(dt::number)?;
            let d = v
                .get("denominator")
                .and_then(|q| q.get("value"))
                .and_then(dt::number)?;
            let units = v
                .get("numerator")
                .and_then(|q| dt::units(ctx, q, &format!("{path}.{key}")));
            let mut r = Rep::default();
            r.set(2, n);
            r.set(3, ":");
            r.set(4, d);
            Some(("SN", vec![r], units))
        }
        "valueDateTime" => {
            let d = v.as_str().and_then(dt::dtm)?;
            let kind = if ver.at_least(Version::V25) {
                "DTM"
            } else {
                "TS"
            };
            Some((kind, vec![Rep::text(d)], None))
        }
        "valueTime" => Some(("TM", vec![Rep::text(v.as_str().and_then(dt::tm)?)], None)),
        _ => None,
    }
}

/// OBX-7 from a referenceRange: its text, else `low-high`, `>low`, `<high`.
fn range(r: &Value) -> Option<String> {
    if let Some(t) = s(r, "text") {
        return Some(t.to_owned());
    }
    let lo = r
        .get("low")
        .and_then(|q| q.get("value"))
        .and_then(dt::number);
    let hi = r
        .get("high")
        .and_then(|q| q.get("value"))
        .and_then(dt::number);
    match (lo, hi) {
        (Some(l), Some(h)) => Some(format!("{l}-{h}")),
        (Some(l), None) => Some(format!(">{l}")),
        (None, Some(h)) => Some(format!("<{h}")),
        (None, None) => None,
    }
}

/// OBX-11 (required) from Observation.status (v2 table 0085 in reverse).
/// FHIR `registered` and `unknown` have no 0085 code: `registered` is
/// sent as `I` (specimen received, result pending), `unknown` as `R`
/// (entered, not verified: the weakest claim 0085 makes, and the code
/// the v2 -> FHIR map reads back as `unknown`), each with a warning.
fn status(ctx: &mut Ctx<'_, '_>, st: &str, path: &str) -> Option<String> {
    match st {
        "registered" => {
            ctx.warn(path, "status registered sent as OBX-11 I (result pending)");
            Some("I".to_owned())
        }
        "unknown" => {
            ctx.warn(path, "status unknown sent as OBX-11 R (not verified)");
            Some("R".to_owned())
        }
        "amended" => Some("C".to_owned()),
        other => dt::table_code(ctx, "observation-status", other, path, false),
    }
}

/// Writes the OBX rows (and NTEs) of Observation `o` into `out`,
/// numbering them from `*set_id`. `sub` is the OBX-4 of a member.
pub fn obx(
    ctx: &mut Ctx<'_, '_>,
    o: usize,
    set_id: &mut usize,
    out: &mut Vec<Seg>,
) -> Result<(), FhirV2Error> {
    let base = ctx.res.list[o].path.clone();
    let ver = ctx.version();
    let code = ctx.require(o, "code", "OBX-3")?;
    let code_comps = coded_components(ver, "OBX", 3);
    let code_rep = dt::cwe(ctx, code, &format!("{base}.code"), code_comps);
    let _ = ctx.get(o, "subject"); // the PID
    let _ = ctx.get(o, "encounter"); // the PV1
    let st = ctx.str(o, "status").unwrap_or("unknown");
    let st_path = ctx.path(o, "status");
    let obx11 = status(ctx, st, &st_path);
    if obx11.is_none() {
        ctx.not_mapped(st_path.clone(), "status without a v2 table 0085 code");
    }
    let effective = ctx
        .choice(
            o,
            &["effectiveDateTime", "effectiveInstant", "effectivePeriod"],
        )
        .and_then(|(k, v)| match k {
            "effectivePeriod" => s(v, "start").and_then(dt::dtm),
            _ => v.as_str().and_then(dt::dtm),
        });
    let mut performer: Option<Rep> = None;
    let mut org: Option<Rep> = None;
    let performers = ctx.arr(o, "performer");
    for (n, p) in performers.iter().enumerate() {
        let path = format!("{base}.performer[{n}]");
        let t = ctx.resolve(o, p);
        if t.is_some_and(|t| ctx.kind(t) == "Organization") && ver.at_least(Version::V251) {
            if let Some(t) = t {
                ctx.include(t);
                org.get_or_insert_with(|| dt::xon(ctx, t));
            }
        } else if performer.is_none() {
            performer = dt::xcn(ctx, o, p, &path);
        } else {
            ctx.not_mapped(path, "OBX-16 holds one responsible observer");
        }
    }
    let interp: Vec<Rep> = ctx
        .arr(o, "interpretation")
        .iter()
        .enumerate()
        .filter_map(|(n, c)| interpretation(ctx, c, &format!("{base}.interpretation[{n}]")))
        .collect();
    let ranges = ctx.arr(o, "referenceRange");
    let obx7 = ranges.first().and_then(range);
    if ranges.len() > 1 {
        ctx.not_mapped(format!("{base}.referenceRange[1]"), "OBX-7 holds one range");
    }
    let method = ctx.get(o, "method").map(|m| {
        let comps = coded_components(ver, "OBX", 17);
        dt::cwe(ctx, m, &format!("{base}.method"), comps)
    });
    let site = match ctx.get(o, "bodySite") {
        Some(b) if ver.at_least(Version::V26) => {
            let comps = coded_components(ver, "OBX", 20);
            Some(dt::cwe(ctx, b, &format!("{base}.bodySite"), comps))
        }
        Some(_) => {
            // v2.5.1 reserves OBX-20 to 22 for v2.6
            ctx.not_mapped(format!("{base}.bodySite"), "OBX-20 came with v2.6");
            None
        }
        None => None,
    };
    let common = |seg: &mut Seg| {
        seg.opt(11, obx11.clone());
        seg.opt(14, effective.clone());
        seg.opt_rep(16, performer.clone());
        seg.opt_rep(17, method.clone());
        seg.opt_rep(20, site.clone());
        seg.opt_rep(23, org.clone());
    };

    let main = ctx.choice(o, VALUES);
    let components = ctx.arr(o, "component");
    let mut seg = Seg::new("OBX");
    seg.set(1, set_id.to_string());
    *set_id += 1;
    seg.rep(3, code_rep);
    seg.source(3, format!("{base}.code"));
    match main {
        Some((k, v)) => match value(ctx, k, v, &base) {
            Some((kind, reps, units)) => {
                seg.set(2, kind);
                for r in reps {
                    seg.push(5, r);
                }
                seg.source(5, format!("{base}.{k}"));
                seg.opt_rep(6, units);
            }
            None => ctx.not_mapped(format!("{base}.{k}"), "value type without a v2 OBX-2 type"),
        },
        None => {
            if let Some(d) = ctx.get(o, "dataAbsentReason") {
                // no value: OBX-5 empty; the reason as text keeps it visible
                let comps = if ver.at_least(Version::V25) { 9 } else { 6 };
                let r = dt::cwe(ctx, d, &format!("{base}.dataAbsentReason"), comps);
                seg.set(
                    2,
                    if ver.at_least(Version::V25) {
                        "CWE"
                    } else {
                        "CE"
                    },
                );
                seg.push(5, r);
                ctx.warn(
                    format!("{base}.dataAbsentReason"),
                    "no value: the data-absent reason is sent as the coded OBX-5",
                );
            }
        }
    }
    // OBX-2 and OBX-4 are conditional (on a value, on rows sharing a
    // code); receivers validating strictly want both on every row
    if seg.field(2).is_empty() {
        seg.set(2, "ST");
    }
    seg.set(4, "1");
    seg.opt(7, obx7);
    seg.source(7, format!("{base}.referenceRange"));
    for r in interp {
        seg.push(8, r);
    }
    common(&mut seg);
    out.push(seg);
    notes(ctx, o, out);
    for (n, c) in components.iter().enumerate() {
        let cpath = format!("{base}.component[{n}]");
        let Some(ccode) = c.get("code") else {
            return Err(FhirV2Error::MissingElement {
                path: format!("{cpath}.code"),
                field: "OBX-3",
                message: ctx.message.to_owned(),
            });
        };
        let mut cs = Seg::new("OBX");
        cs.set(1, set_id.to_string());
        *set_id += 1;
        cs.rep(3, dt::cwe(ctx, ccode, &format!("{cpath}.code"), code_comps));
        cs.set(4, (n + 2).to_string());
        let cv = VALUES.iter().find_map(|k| c.get(*k).map(|v| (*k, v)));
        if let Some((k, v)) = cv {
            match value(ctx, k, v, &cpath) {
                Some((kind, reps, units)) => {
                    cs.set(2, kind);
                    for r in reps {
                        cs.push(5, r);
                    }
                    cs.opt_rep(6, units);
                }
                None => {
                    ctx.not_mapped(format!("{cpath}.{k}"), "value type without a v2 OBX-2 type");
                }
            }
        }
        if cs.field(2).is_empty() {
            cs.set(2, "ST");
        }
        if let Some(r) = list(c, "referenceRange").first().and_then(range) {
            cs.set(7, r);
        }
        for (k, i) in list(c, "interpretation").iter().enumerate() {
            if let Some(r) = interpretation(ctx, i, &format!("{cpath}.interpretation[{k}]")) {
                cs.push(8, r);
            }
        }
        common(&mut cs);
        out.push(cs);
    }
    Ok(())
}

/// OBX-8 from one interpretation concept (v2 table 0078: the IG maps the
/// v3 codes one to one): the code alone before v2.7 (IS), a CWE after.
fn interpretation(ctx: &mut Ctx<'_, '_>, c: &Value, path: &str) -> Option<Rep> {
    let code = dt::code_in(c, None)?;
    let v2 = dt::table_code(ctx, "interpretation", code, path, true)?;
    let mut r = Rep::default();
    r.set(1, v2);
    if ctx.version().at_least(Version::V27) {
        r.opt(2, list(c, "coding").first().and_then(|x| s(x, "display")));
        r.set(3, "HL70078");
    }
    Some(r)
}

/// NTE segments from `note` of resource `i`, one per Annotation, one NTE-3
/// repetition per line.
pub fn notes(ctx: &mut Ctx<'_, '_>, i: usize, out: &mut Vec<Seg>) {
    let notes = ctx.arr(i, "note");
    for (n, a) in notes.iter().enumerate() {
        if let Some(t) = s(a, "text") {
            out.push(nte(n + 1, t));
        }
        for k in a.as_object().into_iter().flat_map(|o| o.keys()) {
            if k != "text" {
                let p = format!("{}.note[{n}].{k}", ctx.res.list[i].path);
                ctx.not_mapped(p, "NTE carries the note text only");
            }
        }
    }
}

/// One NTE with `text`, one NTE-3 repetition per line.
pub fn nte(set_id: usize, text: &str) -> Seg {
    let mut seg = Seg::new("NTE");
    seg.set(1, set_id.to_string());
    for line in text.lines() {
        seg.push(3, Rep::text(line));
    }
    seg
}
