//! RXA -> Immunization (IG RXA[Immunization]) with the preceding ORC's
//! identifiers and ordering provider; RXR adds route and site
//! (RXR[Immunization]). With `Config::vxu_order_requests` the ORC is also
//! a ServiceRequest of its own (IG VXU_V04: optional; R4 Immunization has
//! no `basedOn`, so the request stands beside it).

use std::borrow::Cow;

use super::json::Json;

use super::ctx::{comps, txt, Ctx, Key, Seg, ALL};
use super::cwe;
use super::dates;
use super::json::{concept, decimal, push, set, set_opt, Obj};
use super::tables;
use super::xcn;

const FUNCTION: &str = "http://terminology.hl7.org/CodeSystem/v2-0443";

fn performer<'a>(ctx: &Ctx<'_, 'a>, who: usize, code: &'static str, display: &str) -> Json<'a> {
    let mut p = Obj::new();
    set(&mut p, "function", concept(FUNCTION, code, Some(display)));
    set(&mut p, "actor", ctx.reference(who));
    Json::Object(p)
}

/// Maps RXA.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(patient) = ctx.patient else { return };
    let orc = ctx.orc.take();
    if ctx.cfg.vxu_order_requests {
        // IG VXU_V04 ORC -> ServiceRequest, "only if the system wants to
        // know about the order that lead to the immunization event"
        if let Some(o) = &orc {
            let sr = super::orc::service_request(ctx, o, patient);
            ctx.focus.push(sr);
        }
    }
    if orc.as_ref().is_some_and(|o| o.timing.is_some()) {
        // Immunization has one occurrence, RXA-3's
        ctx.warn("TQ1", "order timing has no Immunization element: not kept");
    }
    seg.mark(1, ALL);
    seg.mark(2, ALL);
    let mut im = Obj::new();
    let key = orc.as_ref().and_then(|o| {
        [&o.filler, &o.placer]
            .into_iter()
            .flatten()
            .find_map(|i| i.system.clone().map(|s| (s, i.value.clone())))
    });
    if let Some(o) = &orc {
        for i in [&o.placer, &o.filler].into_iter().flatten() {
            push(&mut im, "identifier", i.json.clone());
        }
    }
    let action = txt(seg.take_c(21, comps(&[1])).component(1));
    let status = if action.as_deref() == Some("D") {
        "entered-in-error"
    } else {
        match txt(seg.take_c(20, comps(&[1])).component(1)) {
            Some(c) => match tables::lookup("immunization-status", &c) {
                Some(e) => e.code.as_str(),
                None => {
                    ctx.not_mapped(seg.at(20), "code not in the v2 table 0322 map");
                    "completed"
                }
            },
            None => "completed",
        }
    };
    set(&mut im, "status", status);
    let at = seg.at(18);
    set_opt(
        &mut im,
        "statusReason",
        cwe::concept_of(ctx, seg.take_c(18, cwe::MASK), at),
    );
    let at = seg.at(5);
    let vaccine = cwe::concept_of(ctx, seg.take_c(5, cwe::MASK), at).unwrap_or_else(|| {
        let mut c = Obj::new();
        set(&mut c, "text", "unknown");
        Json::Object(c)
    });
    set(&mut im, "vaccineCode", vaccine);
    set(&mut im, "patient", ctx.reference(patient));
    if let Some(e) = ctx.encounter_ref() {
        set(&mut im, "encounter", e);
    }
    let at = seg.at(3);
    match dates::date_time(ctx, seg.take(3), at) {
        Some(d) => set(&mut im, "occurrenceDateTime", d),
        None => set(&mut im, "occurrenceString", "unknown"),
    }
    let at = seg.at(22);
    set_opt(&mut im, "recorded", dates::date_time(ctx, seg.take(22), at));
    let notes = seg.take_c(9, cwe::MASK);
    for rep in notes.repetitions() {
        let code = txt(rep.component(1));
        let system = txt(rep.component(3));
        match (code.as_deref(), system.as_deref()) {
            (Some("00"), Some("NIP001")) => set(&mut im, "primarySource", true),
            (Some(c), Some("NIP001")) => {
                set(&mut im, "primarySource", false);
                let d = txt(rep.component(2));
                set(
                    &mut im,
                    "reportOrigin",
                    concept(
                        "urn:oid:2.16.840.1.114222.4.5.274",
                        c.to_owned(),
                        d.as_deref(),
                    ),
                );
            }
            _ => {
                let at = seg.at(9);
                if let Some(t) = txt(rep.component(2))
                    .or_else(|| txt(rep.component(9)))
                    .or(code)
                {
                    let mut a = Obj::new();
                    set(&mut a, "text", t);
                    push(&mut im, "note", a);
                } else {
                    ctx.not_mapped(at, "administration note without text");
                }
            }
        }
    }
    let manufacturer = seg.take_c(17, cwe::MASK);
    if let Some(name) = txt(manufacturer.component(2)).or_else(|| txt(manufacturer.component(1))) {
        let mut org = Obj::new();
        if let Some(code) = txt(manufacturer.component(1)) {
            let mut i = Obj::new();
            set(
                &mut i,
                "system",
                "http://terminology.hl7.org/CodeSystem/MVX",
            );
            set(&mut i, "value", code);
            push(&mut org, "identifier", i);
        }
        set(&mut org, "name", name.clone());
        let o = ctx.add("Organization", Key::Pos(&format!("MVX|{name}")), org);
        set(&mut im, "manufacturer", ctx.reference(o));
    }
    let lots: Vec<Cow<'_, str>> = seg.take(15).repetitions().filter_map(txt).collect();
    if let Some(l) = lots.first() {
        set(&mut im, "lotNumber", l.clone());
    }
    let at = seg.at(16);
    let exp = seg.take(16);
    set_opt(
        &mut im,
        "expirationDate",
        dates::date(ctx, exp.repetition(1), at),
    );
    let amount = seg.text(6);
    let units = seg.take_c(7, cwe::MASK);
    if let Some(a) = amount.filter(|a| a != "999") {
        if let Some(v) = decimal(&a) {
            let mut q = Obj::new();
            set(&mut q, "value", v);
            if let Some(u) = txt(units.component(1)) {
                set_opt(&mut q, "unit", txt(units.component(2)).or(Some(u.clone())));
                set(&mut q, "system", "http://unitsofmeasure.org");
                set(&mut q, "code", u);
            }
            set(&mut im, "doseQuantity", q);
        } else {
            ctx.not_mapped(seg.at(6), "administered amount is not a number");
        }
    }
    let mut performers = Vec::new();
    let at = seg.at(10);
    let admin = seg.take_c(10, xcn::MASK);
    for p in xcn::practitioners(ctx, admin, at) {
        performers.push(performer(ctx, p, "AP", "Administering Provider"));
    }
    if let Some(r) = orc.as_ref().and_then(|o| o.requester) {
        performers.push(performer(ctx, r, "OP", "Ordering Provider"));
    }
    if !performers.is_empty() {
        set(&mut im, "performer", Json::Array(performers));
    }
    let at = seg.at(19);
    for r in cwe::concepts(ctx, seg.take_c(19, cwe::MASK), at) {
        push(&mut im, "reasonCode", r);
    }
    let idx = match &key {
        Some((s, v)) => ctx.add("Immunization", Key::Ident(s, v), im),
        None => ctx.add(
            "Immunization",
            Key::Pos(&format!("RXA|{}", seg.index())),
            im,
        ),
    };
    ctx.immunization = Some(idx);
    ctx.medication = None;
    ctx.note_target = Some(idx);
    ctx.focus.push(idx);
}

/// Maps RXR into the current Immunization.
pub fn map_rxr<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(im) = ctx.immunization else { return };
    let at = seg.at(1);
    if let Some(r) = cwe::concept_of(ctx, seg.take_c(1, cwe::MASK), at) {
        set(ctx.res(im), "route", r);
    }
    let at = seg.at(2);
    if let Some(s) = cwe::concept_of(ctx, seg.take_c(2, cwe::MASK), at) {
        set(ctx.res(im), "site", s);
    }
}
