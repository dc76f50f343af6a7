//! RXA outside VXU -> MedicationAdministration (RAS, and RXA in any other
//! pharmacy message); RXR after it adds the route, site and method. In
//! VXU an RXA is an Immunization (`rxa`, IG RXA[Immunization]).
//!
//! The IG has ORC[MedicationAdministration] but no RXA sheet for it; the
//! RXA fields go to the elements v2.8 4.14.7 and FHIR R4 both define:
//! RXA-3/4 start and end (`effectiveDateTime`, or `effectivePeriod` when
//! the end differs), RXA-5 the medication, RXA-6/7 the dose, RXA-9 notes,
//! RXA-10 the administering provider (`performer`), RXA-18 refusal reason
//! (`statusReason`), RXA-19 indication (`reasonCode`), RXA-20 completion
//! status and RXA-21 action code (`status`, [`status`]). The ORC gives the
//! identifiers and, as the IG says, the ordering provider as a performer
//! with function `OP`. The request is the group's give (RXG) or order.
//!
//! FHIR requires a medication, a subject and an effective time: an RXA
//! without RXA-5 or RXA-3, or with no patient, makes no resource and its
//! fields stay in the report.

use super::ctx::{comps, txt, Ctx, Key, Seg, ALL};
use super::cwe;
use super::dates;
use super::json::{concept, decimal, push, set, Json, Obj};
use super::xcn;

const FUNCTION: &str = "http://terminology.hl7.org/CodeSystem/v2-0443";
const PERFORMER_FUNCTION: &str = "http://terminology.hl7.org/CodeSystem/med-admin-perform-function";

/// MedicationAdministration.status from RXA-20 completion status (table
/// 0322) and RXA-21 action code (table 0206): `D` (delete) is an entry in
/// error; CP complete -> completed, RE refused and NA not administered ->
/// not-done, PA partially administered -> stopped (begun, not finished).
/// `None` for a completion code outside table 0322.
pub fn status(completion: Option<&str>, action: Option<&str>) -> Option<&'static str> {
    if action == Some("D") {
        return Some("entered-in-error");
    }
    match completion {
        None | Some("CP") => Some("completed"),
        Some("RE") | Some("NA") => Some("not-done"),
        Some("PA") => Some("stopped"),
        Some(_) => None,
    }
}

fn performer<'a>(ctx: &Ctx<'_, 'a>, who: usize, function: Json<'a>) -> Json<'a> {
    let mut p = Obj::with_capacity(2);
    set(&mut p, "function", function);
    set(&mut p, "actor", ctx.reference(who));
    Json::Object(p)
}

/// Maps an RXA outside VXU.
pub fn map<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(patient) = ctx.patient else { return };
    let at5 = seg.at(5);
    let Some(med) = cwe::concept_of(ctx, seg.peek(5), at5) else {
        ctx.not_mapped(seg.at(5), "administration without medication code");
        return;
    };
    let at3 = seg.at(3);
    let start = dates::date_time(ctx, seg.peek(3), at3);
    let Some(start) = start else {
        ctx.not_mapped(seg.at(3), "administration without start time");
        return;
    };
    seg.mark(5, cwe::MASK);
    seg.mark(3, ALL);
    seg.mark(1, ALL);
    seg.mark(2, ALL);
    let orc = ctx.orc.take();
    let mut a = Obj::new();
    if let Some(o) = &orc {
        for i in [&o.placer, &o.filler].into_iter().flatten() {
            push(&mut a, "identifier", i.json.clone());
        }
        if o.timing.is_some() {
            ctx.warn(
                "TQ1",
                "order timing has no MedicationAdministration element: not kept",
            );
        }
    }
    let completion = txt(seg.peek(20).component(1));
    let action = txt(seg.take_c(21, comps(&[1])).component(1));
    let st = match status(completion.as_deref(), action.as_deref()) {
        Some(s) => {
            seg.mark(20, comps(&[1]));
            s
        }
        None => {
            ctx.not_mapped(seg.at(20), "code not in the v2 table 0322 map");
            "unknown"
        }
    };
    set(&mut a, "status", st);
    let at = seg.at(18);
    for r in cwe::concepts(ctx, seg.take_c(18, cwe::MASK), at) {
        push(&mut a, "statusReason", r);
    }
    set(&mut a, "medicationCodeableConcept", med);
    set(&mut a, "subject", ctx.reference(patient));
    if let Some(e) = ctx.encounter_ref() {
        set(&mut a, "context", e);
    }
    let at4 = seg.at(4);
    let end = dates::date_time(ctx, seg.take(4), at4);
    match end.filter(|e| *e != start) {
        Some(e) => {
            let mut p = Obj::with_capacity(2);
            set(&mut p, "start", start);
            set(&mut p, "end", e);
            set(&mut a, "effectivePeriod", p);
        }
        None => set(&mut a, "effectiveDateTime", start),
    }
    let mut performers = Vec::new();
    let at = seg.at(10);
    let admin = seg.take_c(10, xcn::MASK);
    for p in xcn::practitioners(ctx, admin, at) {
        let f = concept(PERFORMER_FUNCTION, "performer", Some("Performer"));
        performers.push(performer(ctx, p, f));
    }
    if let Some(r) = orc.as_ref().and_then(|o| o.requester) {
        let f = concept(FUNCTION, "OP", Some("Ordering Provider"));
        performers.push(performer(ctx, r, f));
    }
    if !performers.is_empty() {
        set(&mut a, "performer", Json::Array(performers));
    }
    let at = seg.at(19);
    for r in cwe::concepts(ctx, seg.take_c(19, cwe::MASK), at) {
        push(&mut a, "reasonCode", r);
    }
    if let Some(m) = ctx.medication {
        if ctx.entries[m].rtype == "MedicationRequest" {
            set(&mut a, "request", ctx.reference(m));
        }
    }
    let notes = seg.take_c(9, cwe::MASK);
    for rep in notes.repetitions() {
        if let Some(t) = txt(rep.component(9))
            .or_else(|| txt(rep.component(2)))
            .or_else(|| txt(rep.component(1)))
        {
            let mut n = Obj::with_capacity(1);
            set(&mut n, "text", t);
            push(&mut a, "note", n);
        }
    }
    if let Some(amount) = txt(seg.peek(6)).filter(|a| a != "999") {
        match decimal(&amount) {
            Some(v) => {
                seg.mark(6, ALL);
                let units = seg.take_c(7, cwe::MASK);
                let mut q = Obj::new();
                set(&mut q, "value", v);
                let code = txt(units.component(1));
                if let Some(u) = txt(units.component(2)).or_else(|| code.clone()) {
                    set(&mut q, "unit", u);
                }
                if let Some(c) = code {
                    if let Some(name) = txt(units.component(3)) {
                        let at = seg.at(7);
                        set(&mut q, "system", cwe::system_for(ctx, &name, at));
                    }
                    set(&mut q, "code", c);
                }
                let mut d = Obj::with_capacity(1);
                set(&mut d, "dose", q);
                set(&mut a, "dosage", d);
            }
            None => ctx.not_mapped(seg.at(6), "administered amount is not a number"),
        }
    } else if seg.peek(6).has_value() {
        // 999: amount unknown (v2.8 RXA-6), nothing to state
        seg.mark(6, ALL);
    }
    let idx = ctx.add(
        "MedicationAdministration",
        Key::Pos(&format!("RXA|{}", seg.index())),
        a,
    );
    ctx.administration = Some(idx);
    ctx.immunization = None;
    ctx.note_target = Some(idx);
    ctx.focus.push(idx);
}

/// RXR after an RXA outside VXU -> `dosage.route`, `site` and `method`
/// (RXR-1, 2, 4); FHIR has one of each per administration, so a second
/// RXR's fields stay in the report.
pub fn map_rxr<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(a) = ctx.administration else { return };
    for (seq, key) in [(1, "route"), (2, "site"), (4, "method")] {
        let taken = matches!(
            ctx.entries[a].resource.get("dosage"),
            Some(Json::Object(d)) if d.contains_key(key)
        );
        if taken {
            continue;
        }
        let at = seg.at(seq);
        if let Some(c) = cwe::concept_of(ctx, seg.take_c(seq, cwe::MASK), at) {
            let d = ctx
                .res(a)
                .get_or_insert_with("dosage", || Json::Object(Obj::new()));
            if let Json::Object(d) = d {
                set(d, key, c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::status;

    #[test]
    fn completion_status_table() {
        assert_eq!(status(None, None), Some("completed"));
        assert_eq!(status(Some("CP"), None), Some("completed"));
        assert_eq!(status(Some("RE"), None), Some("not-done"));
        assert_eq!(status(Some("NA"), None), Some("not-done"));
        assert_eq!(status(Some("PA"), None), Some("stopped"));
        assert_eq!(status(Some("XX"), None), None);
        assert_eq!(status(Some("CP"), Some("D")), Some("entered-in-error"));
        assert_eq!(status(Some("CP"), Some("A")), Some("completed"));
    }
}
