//! The patient-level clinical segments of ADT messages: AL1 ->
//! AllergyIntolerance, DG1 -> Condition, PR1 -> Procedure (IG AL1, DG1,
//! PR1 segment maps).

use super::json::Json;

use super::ctx::{comps, txt, Ctx, Key, Seg, ALL};
use super::cwe;
use super::cx;
use super::dates;
use super::json::{concept, push, set, set_opt, Obj};
use super::xcn;

/// DG1-3 / PR1-3 (the code, CWE) with DG1-4 / PR1-4 (its description, kept
/// from older versions) as `CodeableConcept.text` when the code has none.
fn code_with_description<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) -> Option<Json<'a>> {
    let at = seg.at(3);
    let code = seg.take_c(3, cwe::MASK);
    let description = seg.text(4);
    cwe::concept_or_text(ctx, code, at, description)
}

fn key<'a>(seg: &Seg<'a>) -> String {
    format!("{}|{}", seg.name(), seg.index())
}

/// AL1 -> AllergyIntolerance.
pub fn map_al1<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(patient) = ctx.patient else { return };
    let mut a = Obj::new();
    seg.mark(1, ALL);
    set(
        &mut a,
        "clinicalStatus",
        concept(
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
            "active",
            None,
        ),
    );
    if let Some(t) = txt(seg.take_c(2, comps(&[1])).component(1)) {
        if let Some(cat) = super::tables::lookup("allergy-category", &t) {
            push(&mut a, "category", cat.code.as_str());
        } else {
            ctx.not_mapped(seg.at(2), "code not in the v2 table 0127 map");
        }
    }
    if let Some(s) = txt(seg.take_c(4, comps(&[1])).component(1)) {
        if let Some(c) = super::tables::lookup("allergy-criticality", &s) {
            set(&mut a, "criticality", c.code.as_str());
        } else {
            ctx.not_mapped(seg.at(4), "code not in the v2 table 0128 map");
        }
    }
    let at = seg.at(3);
    set_opt(
        &mut a,
        "code",
        cwe::concept_of(ctx, seg.take_c(3, cwe::MASK), at),
    );
    set(&mut a, "patient", ctx.reference(patient));
    let at = seg.at(6);
    set_opt(
        &mut a,
        "onsetDateTime",
        dates::date_time(ctx, seg.take(6), at),
    );
    let reactions: Vec<Json<'_>> = seg
        .take(5)
        .repetitions()
        .filter_map(|r| txt(r))
        .map(|t| {
            let mut m = Obj::new();
            set(&mut m, "text", t);
            Json::Object(m)
        })
        .collect();
    if !reactions.is_empty() {
        let mut r = Obj::new();
        set(&mut r, "manifestation", Json::Array(reactions));
        push(&mut a, "reaction", r);
    }
    let idx = ctx.add("AllergyIntolerance", Key::Pos(&key(seg)), a);
    ctx.note_target = Some(idx);
}

/// DG1 -> Condition, referenced from Encounter.diagnosis.
pub fn map_dg1<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(patient) = ctx.patient else { return };
    let mut c = Obj::new();
    seg.mark(1, ALL);
    let at = seg.at(20);
    let ident = cx::entity(ctx, seg.take_c(20, comps(&[1, 2, 3, 4])), None);
    if let Some(i) = &ident {
        push(&mut c, "identifier", i.json.clone());
    }
    set_opt(&mut c, "code", code_with_description(ctx, seg));
    set(&mut c, "subject", ctx.reference(patient));
    if let Some(e) = ctx.encounter_ref() {
        set(&mut c, "encounter", e);
    }
    let at5 = seg.at(5);
    set_opt(
        &mut c,
        "onsetDateTime",
        dates::date_time(ctx, seg.take(5), at5),
    );
    let at19 = seg.at(19);
    set_opt(
        &mut c,
        "recordedDate",
        dates::date_time(ctx, seg.take(19), at19),
    );
    let at16 = seg.at(16);
    let f = seg.take_c(16, xcn::MASK);
    if let Some(p) = xcn::practitioner(ctx, f.repetition(1), at16) {
        set(&mut c, "asserter", ctx.reference(p));
    }
    let _ = at;
    let idx = match ident
        .as_ref()
        .and_then(|i| i.system.clone().map(|s| (s, i.value.clone())))
    {
        Some((s, v)) => ctx.add("Condition", Key::Ident(&s, &v), c),
        None => ctx.add("Condition", Key::Pos(&key(seg)), c),
    };
    if let Some(enc) = ctx.encounter {
        let mut d = Obj::new();
        set(&mut d, "condition", ctx.reference(idx));
        if let Some(t) = txt(seg.take_c(6, comps(&[1, 2, 3])).component(1)) {
            let disp = txt(seg.peek(6).component(2));
            set(
                &mut d,
                "use",
                concept(super::tables::v2_system("0052"), t, disp.as_deref()),
            );
        }
        push(ctx.res(enc), "diagnosis", d);
    }
    ctx.note_target = Some(idx);
}

/// PR1 -> Procedure (status `completed`: PR1 reports procedures performed).
pub fn map_pr1<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(patient) = ctx.patient else { return };
    let mut p = Obj::new();
    seg.mark(1, ALL);
    let ident = cx::entity(ctx, seg.take_c(19, comps(&[1, 2, 3, 4])), None);
    if let Some(i) = &ident {
        push(&mut p, "identifier", i.json.clone());
    }
    set(&mut p, "status", "completed");
    let at = seg.at(6);
    set_opt(
        &mut p,
        "category",
        cwe::concept_of(ctx, seg.take_c(6, cwe::MASK), at),
    );
    set_opt(&mut p, "code", code_with_description(ctx, seg));
    set(&mut p, "subject", ctx.reference(patient));
    if let Some(e) = ctx.encounter_ref() {
        set(&mut p, "encounter", e);
    }
    let at = seg.at(5);
    set_opt(
        &mut p,
        "performedDateTime",
        dates::date_time(ctx, seg.take(5), at),
    );
    let mut performers = Vec::new();
    for (seq, func) in [(8, "anesthesiologist"), (11, "surgeon"), (12, "assistant")] {
        let at = seg.at(seq);
        let f = seg.take_c(seq, xcn::MASK);
        for pr in xcn::practitioners(ctx, f, at) {
            let mut o = Obj::new();
            let mut fc = Obj::new();
            set(&mut fc, "text", func);
            set(&mut o, "function", fc);
            set(&mut o, "actor", ctx.reference(pr));
            performers.push(Json::Object(o));
        }
    }
    if !performers.is_empty() {
        set(&mut p, "performer", Json::Array(performers));
    }
    let at = seg.at(15);
    if let Some(r) = cwe::concept_of(ctx, seg.take_c(15, cwe::MASK), at) {
        push(&mut p, "reasonCode", r);
    }
    let idx = match ident
        .as_ref()
        .and_then(|i| i.system.clone().map(|s| (s, i.value.clone())))
    {
        Some((s, v)) => ctx.add("Procedure", Key::Ident(&s, &v), p),
        None => ctx.add("Procedure", Key::Pos(&key(seg)), p),
    };
    ctx.procedure = Some(idx);
    ctx.note_target = Some(idx);
}
