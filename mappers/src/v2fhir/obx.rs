//! OBX -> Observation (IG OBX[Observation], OBX[Observation-Component]),
//! or DocumentReference for encapsulated data (ED, RP; IG
//! OBX[DocumentReference]).
//!
//! Value types: NM -> valueQuantity, ST/TX/FT -> valueString (repetitions
//! joined by line breaks), CE/CWE/CNE -> valueCodeableConcept, SN ->
//! valueQuantity with comparator / valueRange / valueRatio, DT/DTM/TS ->
//! valueDateTime, TM -> valueTime. Other repeated values become components.

use std::borrow::Cow;

use super::json::Json;

use crate::hl7v2::Value;

use super::ctx::{comps, txt, Ctx, Key, Loc, Seg, ALL};
use super::cwe;
use super::dates;
use super::json::{base64, decimal, push, set, set_opt, Obj};
use super::tables;
use super::{xcn, xon};

fn quantity<'a>(
    ctx: &mut Ctx<'_, 'a>,
    number: &str,
    units: Option<Value<'a>>,
    comparator: Option<&'static str>,
    loc: Loc<'a>,
) -> Option<Json<'a>> {
    let value = decimal(number)?;
    let mut q = Obj::new();
    set(&mut q, "value", value);
    set_opt(&mut q, "comparator", comparator);
    let code = units.and_then(|u| txt(u.component(1)));
    let text = units.and_then(|u| txt(u.component(2)));
    let system = units.and_then(|u| txt(u.component(3)));
    set_opt(&mut q, "unit", text.or_else(|| code.clone()));
    if let Some(c) = code {
        let uri = system.as_deref().and_then(tables::coding_system_uri);
        match uri {
            Some(u) => {
                set(&mut q, "system", u);
                set(&mut q, "code", c);
            }
            None if system.is_none() => {
                // no system named: UCUM by the v2 default for OBX-6
                set(&mut q, "system", "http://unitsofmeasure.org");
                set(&mut q, "code", c);
            }
            None => {
                let s = system.unwrap_or_default();
                let sys = cwe::system_for(ctx, &s, loc);
                set(&mut q, "system", sys);
                set(&mut q, "code", c);
            }
        }
    }
    Some(Json::Object(q))
}

/// One OBX-5 repetition as `(value[x] key, value)`.
fn value_of<'a>(
    ctx: &mut Ctx<'_, 'a>,
    kind: &str,
    v: Value<'a>,
    units: Value<'a>,
    seg: &Seg<'a>,
) -> Option<(&'static str, Json<'a>)> {
    let at = seg.at(5);
    match kind {
        "NM" => {
            let t = txt(v)?;
            match quantity(ctx, &t, Some(units), None, at) {
                Some(q) => Some(("valueQuantity", q)),
                None => {
                    ctx.warn(at, "NM value is not a number: kept as string");
                    Some(("valueString", Json::from(t)))
                }
            }
        }
        "ST" | "TX" | "FT" => txt(v).map(|t| ("valueString", Json::from(t))),
        "CE" | "CWE" | "CNE" | "CF" => {
            cwe::concept_of(ctx, v, at).map(|c| ("valueCodeableConcept", c))
        }
        "SN" => {
            let cmp = txt(v.component(1));
            let n1 = txt(v.component(2))?;
            let sep = txt(v.component(3));
            let n2 = txt(v.component(4));
            match (sep.as_deref(), n2) {
                (Some("-"), Some(n2)) => {
                    let mut r = Obj::new();
                    set_opt(&mut r, "low", quantity(ctx, &n1, Some(units), None, at));
                    set_opt(&mut r, "high", quantity(ctx, &n2, Some(units), None, at));
                    Some(("valueRange", Json::Object(r)))
                }
                (Some(":") | Some("/"), Some(n2)) => {
                    let mut r = Obj::new();
                    set_opt(
                        &mut r,
                        "numerator",
                        quantity(ctx, &n1, Some(units), None, at),
                    );
                    set_opt(&mut r, "denominator", quantity(ctx, &n2, None, None, at));
                    Some(("valueRatio", Json::Object(r)))
                }
                _ => {
                    let c = match cmp.as_deref() {
                        None | Some("=") => None,
                        Some(c @ ("<" | ">" | "<=" | ">=")) => Some(c),
                        Some(_) => {
                            ctx.warn(at, "SN comparator has no FHIR equivalent: kept as string");
                            return txt(v).map(|t| ("valueString", Json::from(t)));
                        }
                    };
                    let c: Option<&'static str> = c.map(|c| match c {
                        "<" => "<",
                        ">" => ">",
                        "<=" => "<=",
                        _ => ">=",
                    });
                    quantity(ctx, &n1, Some(units), c, at).map(|q| ("valueQuantity", q))
                }
            }
        }
        "DT" | "DTM" | "TS" => {
            dates::date_time(ctx, v, at).map(|d| ("valueDateTime", Json::from(d)))
        }
        "TM" => {
            let t = txt(v.component(1))?;
            let t = t.split(['+', '-']).next().unwrap_or("").to_owned();
            let ok = matches!(t.len(), 2 | 4 | 6) && t.bytes().all(|b| b.is_ascii_digit());
            if !ok {
                ctx.not_mapped(at, "not a valid HL7 time");
                return None;
            }
            let f = format!(
                "{}:{}:{}",
                &t[..2],
                t.get(2..4).unwrap_or("00"),
                t.get(4..6).unwrap_or("00")
            );
            Some(("valueTime", Json::from(f)))
        }
        other => {
            ctx.warn(
                at,
                format!("value type {other} has no Observation.value mapping: kept as string"),
            );
            txt(v).map(|t| ("valueString", Json::from(t)))
        }
    }
}

fn document<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>, kind: &str) {
    let Some(patient) = ctx.patient else { return };
    let v = seg.take(5);
    let mut att = Obj::new();
    if kind == "ED" {
        let sub = txt(v.component(3)).unwrap_or_default().to_ascii_lowercase();
        let mime = match (txt(v.component(2)).as_deref(), sub.as_str()) {
            (_, "pdf") => "application/pdf".to_owned(),
            (_, "rtf") => "application/rtf".to_owned(),
            (_, "html") => "text/html".to_owned(),
            (_, "xml") => "application/xml".to_owned(),
            (Some("TEXT"), _) => "text/plain".to_owned(),
            (Some("IM") | Some("image"), s) if !s.is_empty() => format!("image/{s}"),
            _ => "application/octet-stream".to_owned(),
        };
        set(&mut att, "contentType", mime);
        let enc = txt(v.component(4)).unwrap_or_default();
        if let Some(data) = txt(v.component(5)) {
            if enc.eq_ignore_ascii_case("Base64") {
                set(&mut att, "data", data.replace(['\r', '\n', ' '], ""));
            } else {
                set(&mut att, "data", base64(data.as_bytes()));
            }
        }
    } else {
        set_opt(&mut att, "url", txt(v.component(1)));
    }
    let at = seg.at(3);
    let code = cwe::concept_of(ctx, seg.take_c(3, cwe::MASK), at);
    let mut d = Obj::new();
    set(&mut d, "status", "current");
    set_opt(&mut d, "type", code);
    set(&mut d, "subject", ctx.reference(patient));
    let mut content = Obj::new();
    set(&mut content, "attachment", att);
    push(&mut d, "content", content);
    let idx = ctx.add(
        "DocumentReference",
        Key::Pos(&format!("OBX-DOC|{}", seg.index())),
        d,
    );
    if let Some(dr) = ctx.report {
        // DiagnosticReport.result only takes Observations; the document is
        // linked from the report's media-independent presentedForm instead.
        let att = ctx.entries[idx]
            .resource
            .get("content")
            .and_then(|c| c.at(0))
            .and_then(|c| c.get("attachment"))
            .cloned();
        if let Some(a) = att {
            push(ctx.res(dr), "presentedForm", a);
        }
    }
}

/// Maps OBX.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    if ctx.document.is_some() && ctx.code == "MDM" {
        super::txa::append(ctx, seg);
        return;
    }
    // Observation.subject is optional: an OUL specimen result may name
    // no patient
    let patient = ctx.patient;
    seg.mark(1, ALL);
    seg.mark(4, ALL); // sub-id: groups OBX rows, carries no data
    let kind = txt(seg.take(2)).unwrap_or(Cow::Borrowed("ST"));
    if kind == "ED" || kind == "RP" {
        document(ctx, seg, &kind);
        return;
    }
    let mut o = Obj::new();
    let status = match txt(seg.take_c(11, comps(&[1])).component(1)) {
        Some(s) => match tables::lookup("observation-status", &s) {
            Some(e) => e.code.as_str(),
            None => {
                ctx.not_mapped(seg.at(11), "code not in the v2 table 0085 map");
                "unknown"
            }
        },
        None => "unknown",
    };
    set(&mut o, "status", status);
    let in_results = ctx.report.is_some();
    if let (Some(r), true) = (ctx.order, in_results) {
        push(&mut o, "basedOn", ctx.reference(r));
    }
    if let Some(i) = ctx.immunization {
        push(&mut o, "partOf", ctx.reference(i));
    }
    let at = seg.at(3);
    let code = cwe::concept_of(ctx, seg.take_c(3, cwe::MASK), at).unwrap_or_else(|| {
        let mut c = Obj::new();
        set(&mut c, "text", "unknown");
        Json::Object(c)
    });
    set(&mut o, "code", code.clone());
    if let Some(p) = patient {
        set(&mut o, "subject", ctx.reference(p));
    }
    if let Some(e) = ctx.encounter_ref() {
        set(&mut o, "encounter", e);
    }
    let at = seg.at(14);
    set_opt(
        &mut o,
        "effectiveDateTime",
        dates::date_time(ctx, seg.take(14), at),
    );
    let mut performers = Vec::new();
    let at = seg.at(16);
    let f = seg.take_c(16, xcn::MASK);
    for p in xcn::practitioners(ctx, f, at) {
        performers.push(ctx.reference(p));
    }
    let f = seg.take_c(23, xon::MASK);
    if let Some(org) = xon::organization(ctx, f.repetition(1)) {
        performers.push(ctx.reference(org));
    }
    if !performers.is_empty() {
        set(&mut o, "performer", Json::Array(performers));
    }
    let units = seg.take_c(6, comps(&[1, 2, 3]));
    let values = seg.take(5);
    let reps: Vec<Value<'_>> = values.repetitions().filter(|r| r.has_value()).collect();
    let text_kind = matches!(&*kind, "ST" | "TX" | "FT");
    if text_kind && reps.len() > 1 {
        let joined: Vec<Cow<'_, str>> = reps.iter().filter_map(|r| txt(*r)).collect();
        set(&mut o, "valueString", joined.join("\n"));
    } else if reps.len() > 1 {
        for r in reps {
            if let Some((k, v)) = value_of(ctx, &kind, r, units, seg) {
                let mut c = Obj::new();
                set(&mut c, "code", code.clone());
                set(&mut c, k, v);
                push(&mut o, "component", c);
            }
        }
    } else if let Some(r) = reps.first() {
        if let Some((k, v)) = value_of(ctx, &kind, *r, units, seg) {
            set(&mut o, k, v);
        }
    }
    let at = seg.at(8);
    let interp = seg.take_c(8, cwe::MASK);
    for rep in interp.repetitions() {
        if let Some(c) = cwe::mapped_concept(ctx, "interpretation", rep, at) {
            push(&mut o, "interpretation", c);
        }
    }
    if let Some(range) = seg.text(7) {
        let mut r = Obj::new();
        set(&mut r, "text", range);
        push(&mut o, "referenceRange", r);
    }
    let idx = ctx.add("Observation", Key::Pos(&format!("OBX|{}", seg.index())), o);
    let r = ctx.reference(idx);
    if let Some(dr) = ctx.report {
        push(ctx.res(dr), "result", r);
    } else if let Some(sr) = ctx.order {
        // IG OML_O21 / ORM_O01: an OBX of an order is supporting information
        push(ctx.res(sr), "supportingInfo", r);
    }
    ctx.note_target = Some(idx);
    ctx.observation = Some(idx);
}
