//! Patient care (PPR^PC1-PC3 problems, PPG/PPP pathways and goals): PRB
//! -> Condition (a problem-list item), GOL -> Goal, PTH -> CarePlan.
//!
//! The IG has no segment maps for them yet; the rows follow the v2.8
//! chapter 12 field definitions and the FHIR R4 elements they name. The
//! action code (PRB-1, GOL-1, PTH-1: table 0287) `DE` (delete) makes the
//! resource `entered-in-error`; the life cycle status (PRB-14, GOL-18,
//! PTH-5) is matched against the FHIR codes by name, and a value FHIR
//! does not know is reported, not guessed.

use std::borrow::Cow;

use super::ctx::{comps, txt, Ctx, Key, Seg, ALL};
use super::cwe;
use super::cx;
use super::dates;
use super::json::{concept, push, set, set_opt, Obj};

const CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
const CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";

/// The FHIR code among `codes` that the CWE-1 (or CWE-2) text of `seq`
/// names, compared without case.
fn named_code<'a>(seg: &Seg<'a>, seq: usize, codes: &[&'static str]) -> Option<&'static str> {
    let v = seg.peek(seq);
    [txt(v.component(1)), txt(v.component(2))]
        .into_iter()
        .flatten()
        .find_map(|t: Cow<'_, str>| codes.iter().copied().find(|c| c.eq_ignore_ascii_case(&t)))
}

fn is_delete(seg: &Seg<'_>) -> bool {
    txt(seg.peek(1)).as_deref() == Some("DE")
}

fn key<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>, seq: usize, obj: &mut Obj<'a>) -> String {
    let id = cx::entity(ctx, seg.take_c(seq, comps(&[1, 2, 3, 4])), None);
    match id {
        Some(i) => {
            let k = format!(
                "{}|{}|{}",
                seg.name(),
                i.system.as_deref().unwrap_or(""),
                i.value
            );
            push(obj, "identifier", i.json);
            k
        }
        None => format!("{}|{}", seg.name(), seg.index()),
    }
}

/// PRB -> Condition: PRB-3 code, PRB-4 identifier, PRB-7 recordedDate,
/// PRB-9 abatement, PRB-10 category, PRB-13 verification, PRB-14
/// clinical status, PRB-16/17 onset.
pub fn map_prb<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(patient) = ctx.patient else { return };
    let mut c = Obj::new();
    let k = key(ctx, seg, 4, &mut c);
    let deleted = is_delete(seg);
    seg.mark(1, ALL);
    let clinical = named_code(
        seg,
        14,
        &[
            "active",
            "recurrence",
            "relapse",
            "inactive",
            "remission",
            "resolved",
        ],
    );
    if deleted {
        set(
            &mut c,
            "verificationStatus",
            concept(VERIFICATION, "entered-in-error", None),
        );
        // FHIR: no clinical status on an entered-in-error Condition; a
        // life cycle status that says "deleted" agrees and is used
        if named_code(seg, 14, &["deleted"]).is_some() {
            seg.mark(14, cwe::MASK);
        }
    } else {
        if let Some(cs) = clinical {
            seg.mark(14, cwe::MASK);
            set(&mut c, "clinicalStatus", concept(CLINICAL, cs, None));
            // a problem-list item needs a clinical status (con-3)
            push(
                &mut c,
                "category",
                concept(CATEGORY, "problem-list-item", None),
            );
        } else if seg.peek(14).has_value() {
            ctx.not_mapped(
                seg.at(14),
                "life cycle status is not a FHIR clinical status",
            );
        }
        let ver = named_code(
            seg,
            13,
            &[
                "unconfirmed",
                "provisional",
                "differential",
                "confirmed",
                "refuted",
            ],
        );
        if let Some(v) = ver {
            seg.mark(13, cwe::MASK);
            set(&mut c, "verificationStatus", concept(VERIFICATION, v, None));
        }
    }
    let at = seg.at(10);
    if let Some(cat) = cwe::concept_of(ctx, seg.take_c(10, cwe::MASK), at) {
        push(&mut c, "category", cat);
    }
    let at = seg.at(3);
    set_opt(
        &mut c,
        "code",
        cwe::concept_of(ctx, seg.take_c(3, cwe::MASK), at),
    );
    set(&mut c, "subject", ctx.reference(patient));
    if let Some(e) = ctx.encounter_ref() {
        set(&mut c, "encounter", e);
    }
    let at = seg.at(16);
    match dates::date_time(ctx, seg.take(16), at) {
        Some(d) => set(&mut c, "onsetDateTime", d),
        None => set_opt(&mut c, "onsetString", seg.text(17)),
    }
    // FHIR con-4: an abated condition is inactive, resolved or in remission
    if matches!(clinical, Some("inactive" | "resolved" | "remission")) && !deleted {
        let at = seg.at(9);
        set_opt(
            &mut c,
            "abatementDateTime",
            dates::date_time(ctx, seg.take(9), at),
        );
    }
    let at = seg.at(7);
    set_opt(
        &mut c,
        "recordedDate",
        dates::date_time(ctx, seg.take(7), at),
    );
    let idx = ctx.add("Condition", Key::Pos(&k), c);
    ctx.note_target = Some(idx);
    ctx.focus.push(idx);
}

/// GOL -> Goal: GOL-3 description, GOL-4 identifier, GOL-7 start date,
/// GOL-8 target due date, GOL-9 category, GOL-18 lifecycle status.
pub fn map_gol<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(patient) = ctx.patient else { return };
    let at = seg.at(3);
    let Some(description) = cwe::concept_of(ctx, seg.peek(3), at) else {
        ctx.not_mapped(
            seg.at(3),
            "goal without goal id: FHIR requires a description",
        );
        return;
    };
    seg.mark(3, cwe::MASK);
    let mut g = Obj::new();
    let k = key(ctx, seg, 4, &mut g);
    let status = if is_delete(seg) {
        Some("entered-in-error")
    } else {
        named_code(
            seg,
            18,
            &[
                "proposed",
                "planned",
                "accepted",
                "active",
                "on-hold",
                "completed",
                "cancelled",
                "rejected",
            ],
        )
    };
    let Some(status) = status else {
        ctx.not_mapped(
            seg.at(18),
            "goal life cycle status missing or not a FHIR lifecycleStatus",
        );
        return;
    };
    seg.mark(1, ALL);
    if status != "entered-in-error" {
        seg.mark(18, cwe::MASK);
    }
    set(&mut g, "lifecycleStatus", status);
    let at = seg.at(9);
    if let Some(cat) = cwe::concept_of(ctx, seg.take_c(9, cwe::MASK), at) {
        push(&mut g, "category", cat);
    }
    set(&mut g, "description", description);
    set(&mut g, "subject", ctx.reference(patient));
    let at = seg.at(7);
    set_opt(&mut g, "startDate", dates::date(ctx, seg.take(7), at));
    let at = seg.at(8);
    if let Some(due) = dates::date(ctx, seg.take(8), at) {
        let mut t = Obj::new();
        set(&mut t, "dueDate", due);
        push(&mut g, "target", t);
    }
    let idx = ctx.add("Goal", Key::Pos(&k), g);
    ctx.note_target = Some(idx);
    ctx.focus.push(idx);
}

/// PTH -> CarePlan (intent `plan`): PTH-2 pathway as category, PTH-3
/// identifier, PTH-4 period start, PTH-5 status (`unknown` when empty).
pub fn map_pth<'a>(ctx: &mut Ctx<'_, 'a>, seg: &mut Seg<'a>) {
    let Some(patient) = ctx.patient else { return };
    let mut p = Obj::new();
    let k = key(ctx, seg, 3, &mut p);
    let status = if is_delete(seg) {
        "entered-in-error"
    } else {
        match named_code(
            seg,
            5,
            &["draft", "active", "on-hold", "revoked", "completed"],
        ) {
            Some(s) => {
                seg.mark(5, cwe::MASK);
                s
            }
            None => {
                if seg.peek(5).has_value() {
                    ctx.not_mapped(seg.at(5), "life cycle status is not a FHIR CarePlan status");
                }
                "unknown"
            }
        }
    };
    seg.mark(1, ALL);
    set(&mut p, "status", status);
    set(&mut p, "intent", "plan");
    let at = seg.at(2);
    if let Some(c) = cwe::concept_of(ctx, seg.take_c(2, cwe::MASK), at) {
        push(&mut p, "category", c);
    }
    set(&mut p, "subject", ctx.reference(patient));
    let at = seg.at(4);
    if let Some(s) = dates::date_time(ctx, seg.take(4), at) {
        let mut per = Obj::new();
        set(&mut per, "start", s);
        set(&mut p, "period", per);
    }
    let idx = ctx.add("CarePlan", Key::Pos(&k), p);
    ctx.note_target = Some(idx);
    ctx.focus.push(idx);
}
