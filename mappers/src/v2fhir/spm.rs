//! SPM -> Specimen (IG SPM[Specimen]), linked from the current
//! ServiceRequest and DiagnosticReport.

use super::json::Json;

use super::ctx::{comps, txt, Ctx, Key, Seg, ALL};
use super::cwe;
use super::dates;
use super::hd::Hd;
use super::json::{push, set, set_opt, Obj};

/// Maps SPM.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    // Specimen.subject is optional: OUL and ORL may name no patient
    let patient = ctx.patient;
    seg.mark(1, ALL);
    let mut s = Obj::new();
    let ids = seg.take_c(2, comps(&[1, 2]));
    let mut key = None;
    for (c, kind) in [(1, "PLAC"), (2, "FILL")] {
        let ei = ids.component(c);
        if let Some(v) = txt(ei.subcomponent(1)) {
            let hd = Hd {
                namespace: txt(ei.subcomponent(2)),
                universal: txt(ei.subcomponent(3)),
                kind: txt(ei.subcomponent(4)),
            };
            let system = hd.system(ctx.cfg);
            let mut i = Obj::new();
            set(&mut i, "type", super::cx::id_type(kind));
            set_opt(&mut i, "system", system.clone());
            set(&mut i, "value", v.clone());
            if key.is_none() {
                key = system.map(|sy| (sy, v));
            }
            push(&mut s, "identifier", i);
        }
    }
    let at = seg.at(4);
    set_opt(
        &mut s,
        "type",
        cwe::concept_of(ctx, seg.take_c(4, cwe::MASK), at),
    );
    if let Some(p) = patient {
        set(&mut s, "subject", ctx.reference(p));
    }
    let at = seg.at(18);
    set_opt(
        &mut s,
        "receivedTime",
        dates::date_time(ctx, seg.take(18), at),
    );
    let mut col = Obj::new();
    let at = seg.at(17);
    let range = seg.take(17);
    let start = dates::date_time(ctx, range.component(1), at);
    let end = dates::date_time(ctx, range.component(2), at);
    match (start, end) {
        (Some(s0), Some(e)) => {
            let mut p = Obj::new();
            set(&mut p, "start", s0);
            set(&mut p, "end", e);
            set(&mut col, "collectedPeriod", p);
        }
        (Some(s0), None) => set(&mut col, "collectedDateTime", s0),
        _ => {}
    }
    let at = seg.at(7);
    set_opt(
        &mut col,
        "method",
        cwe::concept_of(ctx, seg.take_c(7, cwe::MASK), at),
    );
    let at = seg.at(8);
    set_opt(
        &mut col,
        "bodySite",
        cwe::concept_of(ctx, seg.take_c(8, cwe::MASK), at),
    );
    if !col.is_empty() {
        set(&mut s, "collection", col);
    }
    if let Some(o) = ctx.order {
        push(&mut s, "request", ctx.reference(o));
    }
    let idx = match &key {
        Some((sy, v)) => ctx.add("Specimen", Key::Ident(sy, v), s),
        None => ctx.add("Specimen", Key::Pos(&format!("SPM|{}", seg.index())), s),
    };
    let r: Json<'_> = ctx.reference(idx);
    if let Some(dr) = ctx.report {
        push(ctx.res(dr), "specimen", r.clone());
    }
    if let Some(o) = ctx.order {
        push(ctx.res(o), "specimen", r);
    }
    ctx.specimen = Some(idx);
    ctx.note_target = Some(idx);
}
